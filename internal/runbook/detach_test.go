package runbook_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// recordingASG keeps DetachInstances inputs and can hold the membership read.
type recordingASG struct {
	awsapi.AutoScaling
	// hold, when set, is waited for before the membership is read.
	hold  chan struct{}
	known atomic.Bool // the membership read has returned
	// sent closes when the first DetachInstances request is made.
	sent chan struct{}
	once sync.Once
	mu   sync.Mutex
	in   []*autoscaling.DetachInstancesInput
}

func (r *recordingASG) DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, o ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error) {
	if r.hold != nil {
		// Bounded, so a runbook that waits for this read before its first
		// swap is slower here but never hangs.
		select {
		case <-r.hold:
		case <-time.After(5 * time.Second):
		}
	}
	defer r.known.Store(true)
	return r.AutoScaling.DescribeAutoScalingInstances(ctx, in, o...)
}

func (r *recordingASG) DetachInstances(ctx context.Context, in *autoscaling.DetachInstancesInput, o ...func(*autoscaling.Options)) (*autoscaling.DetachInstancesOutput, error) {
	r.mu.Lock()
	r.in = append(r.in, in)
	r.mu.Unlock()
	r.once.Do(func() { close(r.sent) })
	return r.AutoScaling.DetachInstances(ctx, in, o...)
}

func (e *env) recordASG() *recordingASG {
	r := &recordingASG{AutoScaling: e.api.AutoScaling, sent: make(chan struct{})}
	e.api.AutoScaling = r
	return r
}

func TestDetachKeepsCapacityAndLetsTheGroupReplace(t *testing.T) {
	e := newEnv(t)
	asg := e.recordASG()

	out := e.contain()

	wantSteps(t, out, nil)
	if len(asg.in) != 1 || aws.ToString(asg.in[0].AutoScalingGroupName) != e.d.ASG ||
		!slices.Equal(asg.in[0].InstanceIds, []string{e.d.Victim}) || asg.in[0].ShouldDecrementDesiredCapacity == nil || *asg.in[0].ShouldDecrementDesiredCapacity {
		t.Fatalf("DetachInstances inputs %+v, want one for the victim without decrement", asg.in)
	}
	g := e.w.AutoScalingGroup(e.d.ASG)
	if aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Errorf("desired capacity %d, want 1 (unchanged)", aws.ToInt32(g.DesiredCapacity))
	}
	if len(g.Instances) != 1 || aws.ToString(g.Instances[0].InstanceId) == e.d.Victim || g.Instances[0].LifecycleState != astypes.LifecycleStatePending {
		t.Errorf("group members %+v, want only a Pending replacement", g.Instances)
	}
}

func TestDetachByLifecycleState(t *testing.T) {
	for _, tc := range []struct {
		name     string
		state    astypes.LifecycleState // "" leaves InService
		instance func(e *env) string
		want     report.Status
		code     string
		detached bool
	}{
		{name: "InService", want: report.Done, detached: true},
		{name: "Standby", state: astypes.LifecycleStateStandby, want: report.Done, detached: true},
		{name: "Pending", state: astypes.LifecycleStatePending, want: report.Failed, code: "LifecycleState"},
		{name: "Terminating:Wait", state: astypes.LifecycleStateTerminatingWait, want: report.Failed, code: "LifecycleState"},
		{name: "not in a group", instance: func(e *env) string { return e.d.Bystander }, want: report.NotApplicable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			asg := e.recordASG()
			id := e.d.Victim
			if tc.instance != nil {
				id = tc.instance(e)
			}
			if tc.state != "" {
				e.w.SetLifecycleState(id, tc.state)
			}

			out := e.runbook().Run(context.Background(), e.target(id))

			if s := stepOf(t, out, report.StepDetach); s.Status != tc.want || s.Error != tc.code {
				t.Errorf("detach: %s %q (%s), want %s %q", s.Status, s.Error, s.Detail, tc.want, tc.code)
			}
			if got := len(asg.in) == 1; got != tc.detached {
				t.Errorf("DetachInstances called: %v, want %v", got, tc.detached)
			}
			// Isolation does not wait for a detach that cannot happen.
			if s := stepOf(t, out, report.StepIsolate); s.Status != report.Done {
				t.Errorf("isolate: %s (%s)", s.Status, s.Message)
			}
			iso, _ := firebreakGroups(t, e.w, e.d.VPC)
			for _, ni := range e.w.Instance(id).NetworkInterfaces {
				if got := groupsOf(e.w, aws.ToString(ni.NetworkInterfaceId)); !slices.Equal(got, []string{iso}) {
					t.Errorf("%s is in %v, want [%s]", aws.ToString(ni.NetworkInterfaceId), got, iso)
				}
			}
			member := slices.ContainsFunc(e.w.AutoScalingGroup(e.d.ASG).Instances, func(i astypes.Instance) bool { return aws.ToString(i.InstanceId) == id })
			if tc.instance == nil && member == tc.detached {
				t.Errorf("still a member of %s: %v, want %v", e.d.ASG, member, !tc.detached)
			}
		})
	}
}

// An isolated instance fails its health checks: the group must be told to let
// go of it before, or together with, the final swap, never after.
func TestFinalSwapWaitsForTheDetach(t *testing.T) {
	e := newEnv(t)
	// A first containment makes the groups, so the swaps start at once.
	e.runbook().Run(context.Background(), e.target(e.d.Bystander))
	iso, open := firebreakGroups(t, e.w, e.d.VPC)

	asg := e.recordASG()
	asg.hold = make(chan struct{})
	rec := e.record()
	var mu sync.Mutex
	var firstSwaps int
	var early []string
	rec.before = func(op string, in any) error {
		mi, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput)
		if !ok {
			return nil
		}
		switch {
		case slices.Equal(mi.Groups, []string{open}):
			mu.Lock()
			if firstSwaps++; firstSwaps == len(e.d.VictimENIs) {
				close(asg.hold) // the membership read returns only now
			}
			mu.Unlock()
		case slices.Equal(mi.Groups, []string{iso}):
			// The final swap must wait for the membership read (held until
			// the first swaps are out), and the detach request must be on its
			// way; bounded so a runbook that detaches later fails, not hangs.
			known := asg.known.Load()
			select {
			case <-asg.sent:
			case <-time.After(5 * time.Second):
			}
			select {
			case <-asg.sent:
				if !known {
					mu.Lock()
					early = append(early, aws.ToString(mi.NetworkInterfaceId)+" before the group membership was known")
					mu.Unlock()
				}
			default:
				mu.Lock()
				early = append(early, aws.ToString(mi.NetworkInterfaceId)+" with no detach request on its way")
				mu.Unlock()
			}
		}
		return nil
	}
	// A new runbook over the wrapped clients; it finds the groups by tag.
	out := e.runbook().Run(context.Background(), e.target(e.d.Victim))

	wantSteps(t, out, nil)
	if len(early) > 0 {
		t.Errorf("final swaps issued too early: %v", early)
	}
	if len(asg.in) != 1 {
		t.Errorf("%d DetachInstances calls, want 1", len(asg.in))
	}
}
