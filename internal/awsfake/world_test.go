package awsfake_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func TestIDsLookLikeAWSAndAreDeterministic(t *testing.T) {
	a, b := awsfake.New(account, region), awsfake.New(account, region)
	da, db := a.SeedDemo(victimID), b.SeedDemo(victimID)
	patterns := map[string]string{
		da.VPC: `^vpc-[0-9a-f]{17}$`, da.SubnetA: `^subnet-[0-9a-f]{17}$`, da.NetworkACL: `^acl-[0-9a-f]{17}$`,
		da.WebGroup: `^sg-[0-9a-f]{17}$`, da.VictimENIs[0]: `^eni-[0-9a-f]{17}$`, da.VictimVolumes[0]: `^vol-[0-9a-f]{17}$`,
		da.Bystander: `^i-[0-9a-f]{17}$`,
	}
	for id, p := range patterns {
		if !regexp.MustCompile(p).MatchString(id) {
			t.Errorf("id %q does not match %s", id, p)
		}
	}
	rules := a.SecurityGroupRules(da.WebGroup)
	if len(rules) == 0 || !regexp.MustCompile(`^sgr-[0-9a-f]{17}$`).MatchString(*rules[0].SecurityGroupRuleId) {
		t.Errorf("rule ids = %v, want sgr- ids", rules)
	}
	if da.VPC != db.VPC || da.Bystander != db.Bystander || da.VictimENIs[1] != db.VictimENIs[1] || da.TargetGroup != db.TargetGroup {
		t.Errorf("two identically seeded worlds differ: %+v vs %+v", da, db)
	}
}

func TestFailNextQueuesPerOperation(t *testing.T) {
	w, _, c := demo(t)
	boom := errors.New("boom")
	w.FailNext("DescribeInstances", boom)
	w.FailNext("DescribeInstances", boom)
	ctx := context.Background()

	if _, err := c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}); err != nil {
		t.Fatalf("another operation failed: %v", err)
	}
	for i := range 2 {
		if _, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); !errors.Is(err, boom) {
			t.Fatalf("call %d: err = %v, want the injected error", i, err)
		}
	}
	if _, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatalf("third call: %v, want success once the queue is empty", err)
	}
}

func TestFailAlwaysUntilCleared(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	in := &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(d.VictimENIs[0]), Groups: []string{d.AppGroup}}
	for range 3 {
		_, err := c.EC2.ModifyNetworkInterfaceAttribute(ctx, in)
		wantCode(t, err, "RequestLimitExceeded")
	}
	if got := w.NetworkInterface(d.VictimENIs[0]).Groups; len(got) != 2 {
		t.Fatalf("groups changed under an injected fault: %v", got)
	}
	w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	if _, err := c.EC2.ModifyNetworkInterfaceAttribute(ctx, in); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
}

func TestDenyUsesEachServicesCode(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	tests := []struct {
		op   string
		call func() error
		want string
	}{
		{"ModifyInstanceAttribute", func() error {
			_, err := c.EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(d.Victim),
				DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}, DryRun: aws.Bool(true)})
			return err
		}, "UnauthorizedOperation"},
		{"DetachInstances", func() error {
			_, err := c.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(d.ASG),
				InstanceIds: []string{d.Victim}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
			return err
		}, "AccessDenied"},
		{"DescribeLoadBalancers", func() error {
			_, err := c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
			return err
		}, "AccessDenied"},
		{"Publish", func() error {
			_, err := c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.Topic), Message: aws.String("x")})
			return err
		}, "AuthorizationError"},
		{"PutObject", func() error {
			_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("k")})
			return err
		}, "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			w.Deny(tc.op)
			err := tc.call()
			wantCode(t, err, tc.want)
			if !regexp.MustCompile(`not authorized to perform: \w+:` + tc.op).MatchString(message(err)) {
				t.Errorf("message %q does not name the action", message(err))
			}
			w.Allow(tc.op)
			if err := tc.call(); code(t, err) == tc.want {
				t.Errorf("still denied after Allow: %v", err)
			}
		})
	}
	if w.Instance(d.Victim).InstanceId == nil || w.AutoScalingGroup(d.ASG).Instances[0].InstanceId == nil {
		t.Fatal("demo world damaged")
	}
}

func TestCallsCountsEveryAttemptAndResets(t *testing.T) {
	w, _, c := demo(t)
	ctx := context.Background()
	var seen []string
	var mu sync.Mutex
	w.OnCall(func(op string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, op)
		_ = w.Calls() // the observer may use the world without deadlocking
	})
	w.FailNext("GetCallerIdentity", errors.New("boom"))
	_, _ = w.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	_, _ = w.STS().GetCallerIdentity(ctx, nil)
	_, _ = c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000bad"}})

	calls := w.Calls()
	if calls["GetCallerIdentity"] != 2 || calls["DescribeInstances"] != 1 {
		t.Fatalf("Calls() = %v, want 2 GetCallerIdentity and 1 DescribeInstances", calls)
	}
	if want := []string{"GetCallerIdentity", "GetCallerIdentity", "DescribeInstances"}; !slices.Equal(seen, want) {
		t.Fatalf("observer saw %v, want %v", seen, want)
	}
	calls["DescribeInstances"] = 99
	if w.Calls()["DescribeInstances"] != 1 {
		t.Fatal("Calls() returned the live map")
	}
	w.ResetCalls()
	if len(w.Calls()) != 0 {
		t.Fatalf("after ResetCalls: %v", w.Calls())
	}
}

func TestLatencyStopsAtCancelledContext(t *testing.T) {
	w, _, _ := demo(t)
	w.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.STS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestConcurrentCallsAreSafe(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				_, _ = c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
				_, _ = c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{d.Victim},
					Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String(string(rune('a' + i)))}}})
				_ = w.Instance(d.Victim)
			}
		})
	}
	wg.Wait()
	if got := w.Calls()["CreateTags"]; got != 160 {
		t.Fatalf("CreateTags calls = %d, want 160", got)
	}
}

func TestSTSNamesTheAccount(t *testing.T) {
	w := awsfake.New("210987654321", "eu-west-1")
	out, err := w.STS().GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != "210987654321" || !regexp.MustCompile(`^arn:aws:sts::210987654321:assumed-role/`).MatchString(*out.Arn) {
		t.Fatalf("identity = %s %s", *out.Account, *out.Arn)
	}
}

func TestClockDrivesTimestamps(t *testing.T) {
	w, d, c := demo(t)
	if !w.Now().Equal(awsfake.Epoch) {
		t.Fatalf("a new world starts at %v, want %v", w.Now(), awsfake.Epoch)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w.SetClock(func() time.Time { return at })
	out, err := c.EC2.CreateSnapshots(context.Background(), &ec2.CreateSnapshotsInput{InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(d.Victim)}})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Snapshots[0].StartTime.Equal(at) {
		t.Fatalf("snapshot started %v, want the clock's %v", out.Snapshots[0].StartTime, at)
	}
	w.SetClock(nil)
	if !w.Now().Equal(awsfake.Epoch) {
		t.Fatalf("after SetClock(nil): %v", w.Now())
	}
}
