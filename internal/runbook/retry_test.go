package runbook_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// lostAnswerASG carries out the first DetachInstances and then loses the
// answer, as a timed-out connection would.
type lostAnswerASG struct {
	awsapi.AutoScaling
	lost atomic.Bool
}

func (l *lostAnswerASG) DetachInstances(ctx context.Context, in *autoscaling.DetachInstancesInput, o ...func(*autoscaling.Options)) (*autoscaling.DetachInstancesOutput, error) {
	out, err := l.AutoScaling.DetachInstances(ctx, in, o...)
	if err == nil && l.lost.CompareAndSwap(false, true) {
		return nil, apiErr("RequestTimeout")
	}
	return out, err
}

// lostAnswerEC2 does the same to the first CreateSnapshots.
type lostAnswerEC2 struct {
	awsapi.EC2
	lost atomic.Bool
}

func (l *lostAnswerEC2) CreateSnapshots(ctx context.Context, in *ec2.CreateSnapshotsInput, o ...func(*ec2.Options)) (*ec2.CreateSnapshotsOutput, error) {
	out, err := l.EC2.CreateSnapshots(ctx, in, o...)
	if err == nil && l.lost.CompareAndSwap(false, true) {
		return nil, apiErr("RequestTimeout")
	}
	return out, err
}

// DetachInstances and CreateSnapshots are not idempotent: a retry after a lost
// answer would fail (not in the group any more) or take a second set.
func TestCallsThatAreNotIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
		// calls of each operation the world must have seen
		detaches, snapshotCalls int
	}{
		{
			name:     "detach answer lost after the detach",
			setup:    func(e *env) { e.api.AutoScaling = &lostAnswerASG{AutoScaling: e.api.AutoScaling} },
			detaches: 1, snapshotCalls: 1,
		},
		{
			name:     "snapshot answer lost after the snapshots started",
			setup:    func(e *env) { e.api.EC2 = &lostAnswerEC2{EC2: e.api.EC2} },
			detaches: 1, snapshotCalls: 1,
		},
		{
			name:     "detach throttled before anything happened",
			setup:    func(e *env) { e.w.FailNext("DetachInstances", apiErr("Throttling")) },
			detaches: 2, snapshotCalls: 1,
		},
		{
			name:     "snapshots throttled before anything happened",
			setup:    func(e *env) { e.w.FailNext("CreateSnapshots", apiErr("RequestLimitExceeded")) },
			detaches: 1, snapshotCalls: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)

			out := e.contain()

			wantSteps(t, out, nil)
			calls := e.w.Calls()
			if calls["DetachInstances"] != tc.detaches || calls["CreateSnapshots"] != tc.snapshotCalls {
				t.Errorf("%d DetachInstances and %d CreateSnapshots calls, want %d and %d",
					calls["DetachInstances"], calls["CreateSnapshots"], tc.detaches, tc.snapshotCalls)
			}
			var ids []string
			for _, s := range e.w.Snapshots() {
				ids = append(ids, aws.ToString(s.SnapshotId))
			}
			if len(ids) != len(e.d.VictimVolumes) || !slices.Equal(sorted(stepOf(t, out, report.StepSnapshot).Actions...), sorted(ids...)) {
				t.Errorf("snapshots %v, step reports %v; want one set, reported", ids, stepOf(t, out, report.StepSnapshot).Actions)
			}
			g := e.w.AutoScalingGroup(e.d.ASG)
			if len(g.Instances) != 1 || aws.ToString(g.Instances[0].InstanceId) == e.d.Victim || aws.ToInt32(g.DesiredCapacity) != 1 {
				t.Errorf("group %s: members %+v, desired %d; want one replacement, desired 1", e.d.ASG, g.Instances, aws.ToInt32(g.DesiredCapacity))
			}
		})
	}
}

// A step that fails on throttling after the SDK's retries leaves the instance
// isolated but "partial": the next run (Lambda's retry) redoes what is missing
// and nothing else.
func TestTransientStepFailureIsFinishedByTheRetry(t *testing.T) {
	e := newEnv(t)
	e.w.FailAlways("ModifyInstanceAttribute", "RequestLimitExceeded")
	first := e.contain()
	if !first.Incomplete || first.IsolationFailed {
		t.Fatalf("first run: incomplete %v, isolation failed %v; want incomplete only", first.Incomplete, first.IsolationFailed)
	}
	if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; got != contract.StatusPartial {
		t.Fatalf("status %q after a throttled protect, want %q", got, contract.StatusPartial)
	}
	e.w.FailAlways("ModifyInstanceAttribute", "")
	snaps := len(e.w.Snapshots())

	second := e.contain()

	if second.Incomplete || second.AlreadyContained {
		t.Fatalf("second run: incomplete %v, already contained %v; want it to finish the work", second.Incomplete, second.AlreadyContained)
	}
	if !e.w.InstanceAttributes(e.d.Victim).DisableAPITermination {
		t.Error("termination protection still off after the retry")
	}
	if n := len(e.w.Snapshots()); n != snaps {
		t.Errorf("%d snapshots after the retry, want the first run's %d", n, snaps)
	}
	if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; got != contract.StatusContained {
		t.Errorf("status %q after the retry, want %q", got, contract.StatusContained)
	}
	if third := e.contain(); !third.AlreadyContained {
		t.Error("a third run is not 'already contained'")
	}
}
