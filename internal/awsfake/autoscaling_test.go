package awsfake_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func TestDescribeAutoScalingInstances(t *testing.T) {
	_, d, c := demo(t)
	out, err := c.AutoScaling.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{
		InstanceIds: []string{d.Victim, d.Bystander}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingInstances) != 1 {
		t.Fatalf("got %+v, want only the victim (the bystander is in no group)", out.AutoScalingInstances)
	}
	i := out.AutoScalingInstances[0]
	if *i.InstanceId != d.Victim || *i.AutoScalingGroupName != d.ASG || *i.LifecycleState != "InService" {
		t.Fatalf("victim = %+v", i)
	}
	_, err = c.AutoScaling.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{MaxRecords: aws.Int32(51)})
	wantCode(t, err, "ValidationError")
}

func TestDescribeAutoScalingInstancesPaginator(t *testing.T) {
	w, d, c := demo(t)
	var members []string
	for range 4 {
		members = append(members, w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA}))
	}
	w.AddAutoScalingGroup(awsfake.ASGSpec{Name: "batch", Min: 0, Max: 10, Desired: 4, Instances: members})
	p := autoscaling.NewDescribeAutoScalingInstancesPaginator(c.AutoScaling, &autoscaling.DescribeAutoScalingInstancesInput{},
		func(o *autoscaling.DescribeAutoScalingInstancesPaginatorOptions) { o.Limit = 2 })
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, i := range out.AutoScalingInstances {
			got = append(got, *i.InstanceId)
		}
	}
	if want := append([]string{d.Victim}, members...); pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages: %v, want 3 pages: %v", pages, got, want)
	}
	_, err := c.AutoScaling.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{NextToken: aws.String("nope")})
	wantCode(t, err, "InvalidNextToken")
}

func detach(group string, decrement *bool, ids ...string) *autoscaling.DetachInstancesInput {
	return &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(group), ShouldDecrementDesiredCapacity: decrement, InstanceIds: ids}
}

func TestDetachInstancesErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(w *awsfake.World, d awsfake.Demo)
		in      func(d awsfake.Demo) *autoscaling.DetachInstancesInput
		wantMsg string
	}{
		{"decrement flag missing", nil, func(d awsfake.Demo) *autoscaling.DetachInstancesInput { return detach(d.ASG, nil, d.Victim) },
			"1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null"},
		{"more than 20 instances", nil, func(d awsfake.Demo) *autoscaling.DetachInstancesInput {
			ids := make([]string, 21)
			for i := range ids {
				ids[i] = d.Victim
			}
			return detach(d.ASG, aws.Bool(false), ids...)
		}, "at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 20"},
		{"not in service", func(w *awsfake.World, d awsfake.Demo) { w.SetLifecycleState(d.Victim, astypes.LifecycleStatePending) },
			func(d awsfake.Demo) *autoscaling.DetachInstancesInput {
				return detach(d.ASG, aws.Bool(false), d.Victim)
			},
			"The instance i-0abc123def4567890 is not in InService or Standby."},
		{"below min size", nil, func(d awsfake.Demo) *autoscaling.DetachInstancesInput { return detach(d.ASG, aws.Bool(true), d.Victim) },
			"Currently, desiredSize equals minSize (1)."},
		{"not a member", nil, func(d awsfake.Demo) *autoscaling.DetachInstancesInput {
			return detach(d.ASG, aws.Bool(false), d.Bystander)
		},
			"is not part of Auto Scaling group web-asg."},
		{"unknown group", nil, func(d awsfake.Demo) *autoscaling.DetachInstancesInput {
			return detach("nope", aws.Bool(false), d.Victim)
		},
			"AutoScalingGroup name not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			if tc.setup != nil {
				tc.setup(w, d)
			}
			_, err := c.AutoScaling.DetachInstances(context.Background(), tc.in(d))
			wantCode(t, err, "ValidationError")
			if !strings.Contains(message(err), tc.wantMsg) {
				t.Errorf("message %q does not contain %q", message(err), tc.wantMsg)
			}
			if g := w.AutoScalingGroup(d.ASG); len(g.Instances) != 1 || *g.DesiredCapacity != 1 {
				t.Errorf("group changed: %+v", g)
			}
		})
	}
}

func TestDetachWithoutDecrementLaunchesAReplacement(t *testing.T) {
	w, d, c := demo(t)
	out, err := c.AutoScaling.DetachInstances(context.Background(), detach(d.ASG, aws.Bool(false), d.Victim))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Activities) != 1 || out.Activities[0].StatusCode != astypes.ScalingActivityStatusCodeInProgress ||
		!strings.Contains(*out.Activities[0].Cause, "instance "+d.Victim+" was detached in response to a user request") {
		t.Fatalf("activities = %+v", out.Activities)
	}
	g := w.AutoScalingGroup(d.ASG)
	if *g.DesiredCapacity != 1 || len(g.Instances) != 1 || *g.Instances[0].InstanceId == d.Victim || g.Instances[0].LifecycleState != astypes.LifecycleStatePending {
		t.Fatalf("group after detach = %+v, want one Pending replacement", g)
	}
	replacement := w.Instance(*g.Instances[0].InstanceId)
	if v, _ := tagValue(replacement.Tags, awsfake.GroupTagKey); v != d.ASG || *replacement.SubnetId != d.SubnetA {
		t.Errorf("replacement = tags %v in %s", replacement.Tags, *replacement.SubnetId)
	}
	if slices.Contains(w.ClassicLBInstances(d.ClassicLB), d.Victim) || !slices.Contains(w.ClassicLBInstances(d.ClassicLB), d.Bystander) {
		t.Errorf("classic LB instances = %v, want the victim gone and the bystander kept", w.ClassicLBInstances(d.ClassicLB))
	}
	for _, th := range w.Targets(d.TargetGroup) {
		want := elbv2types.TargetHealthStateEnumHealthy
		if *th.Target.Id == d.Victim {
			want = elbv2types.TargetHealthStateEnumDraining
		}
		if th.TargetHealth.State != want {
			t.Errorf("target %s is %s, want %s", *th.Target.Id, th.TargetHealth.State, want)
		}
	}
	asgOut, _ := c.AutoScaling.DescribeAutoScalingInstances(context.Background(), &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{d.Victim}})
	if len(asgOut.AutoScalingInstances) != 0 {
		t.Error("the detached victim is still reported in a group")
	}
}

func TestDetachWithDecrementShrinksTheGroup(t *testing.T) {
	w, d, c := demo(t)
	standby := w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA})
	w.AddAutoScalingGroup(awsfake.ASGSpec{Name: "pair", Min: 1, Max: 2, Desired: 2, Instances: []string{standby, w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA})}})
	w.SetLifecycleState(standby, astypes.LifecycleStateStandby)
	if _, err := c.AutoScaling.DetachInstances(context.Background(), detach("pair", aws.Bool(true), standby)); err != nil {
		t.Fatal(err)
	}
	if g := w.AutoScalingGroup("pair"); *g.DesiredCapacity != 1 || len(g.Instances) != 1 {
		t.Fatalf("group = %+v, want desired 1 and no replacement", g)
	}
}
