package runbook_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

func snapshotTags(s ec2types.Snapshot) map[string]string {
	out := map[string]string{}
	for _, t := range s.Tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func TestSnapshotOnePerVolumeTaggedAndNotWaitedFor(t *testing.T) {
	e := newEnv(t)

	out := e.contain()

	wantSteps(t, out, nil)
	snaps := e.w.Snapshots()
	var volumes, ids []string
	for _, s := range snaps {
		volumes = append(volumes, aws.ToString(s.VolumeId))
		ids = append(ids, aws.ToString(s.SnapshotId))
		tags := snapshotTags(s)
		for k, v := range map[string]string{contract.TagInstanceID: e.d.Victim, contract.TagFindingID: findingID, contract.TagCaseID: caseID} {
			if tags[k] != v {
				t.Errorf("%s: tag %s=%q, want %q", aws.ToString(s.SnapshotId), k, tags[k], v)
			}
		}
		if s.State != ec2types.SnapshotStatePending {
			t.Errorf("%s is %s: the runbook must not wait for completion", aws.ToString(s.SnapshotId), s.State)
		}
	}
	slices.Sort(volumes)
	if want := sorted(e.d.VictimVolumes...); !slices.Equal(volumes, want) {
		t.Errorf("snapshots of %v, want one of each of %v", volumes, want)
	}
	if got := stepOf(t, out, report.StepSnapshot).Actions; !slices.Equal(sorted(got...), sorted(ids...)) {
		t.Errorf("snapshot actions %v, want the snapshot ids %v", got, ids)
	}
}

func TestSnapshotRetryNeverTakesASecondSet(t *testing.T) {
	e := newEnv(t)
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	first := e.contain()
	if !first.IsolationFailed || len(e.w.Snapshots()) != 2 {
		t.Fatalf("first run: IsolationFailed %v and %d snapshots; want a failed isolation and 2 snapshots", first.IsolationFailed, len(e.w.Snapshots()))
	}
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	e.w.ResetCalls()

	// A new runbook: nothing is remembered in memory, only the tags tell.
	second := e.contain()

	if s := stepOf(t, second, report.StepSnapshot); s.Status != report.Skipped || !slices.Equal(sorted(s.Actions...), sorted(stepOf(t, first, report.StepSnapshot).Actions...)) {
		t.Errorf("second snapshot step: %s %v, want skipped naming the first set %v", s.Status, s.Actions, stepOf(t, first, report.StepSnapshot).Actions)
	}
	if n := e.w.Calls()["CreateSnapshots"]; n != 0 || len(e.w.Snapshots()) != 2 {
		t.Errorf("second run: %d CreateSnapshots calls, %d snapshots in all; want 0 and 2", n, len(e.w.Snapshots()))
	}
}

func TestSnapshotRateExceeded(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup makes CreateSnapshots refuse with SnapshotCreationPerVolumeRateExceeded.
		setup     func(e *env)
		want      report.Status
		calls     int
		snapshots int
	}{
		{
			name:  "once: backs off and succeeds",
			setup: func(e *env) { e.w.FailNext("CreateSnapshots", apiErr("SnapshotCreationPerVolumeRateExceeded")) },
			want:  report.Done, calls: 2, snapshots: 2,
		},
		{
			name: "every time: a backup just snapshotted the volumes",
			setup: func(e *env) {
				e.w.SetSnapshotRateLimit(time.Hour)
				if _, err := e.w.Clients().EC2.CreateSnapshots(context.Background(), &ec2.CreateSnapshotsInput{
					InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(e.d.Victim)}}); err != nil {
					e.t.Fatal(err)
				}
			},
			// The backup's call, then three attempts.
			want: report.Failed, calls: 1 + 3, snapshots: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)

			out := e.contain()

			want := map[string]report.Status{report.StepSnapshot: tc.want}
			wantSteps(t, out, want)
			if s := stepOf(t, out, report.StepSnapshot); tc.want == report.Failed && s.Error != "SnapshotCreationPerVolumeRateExceeded" {
				t.Errorf("snapshot error %q, want SnapshotCreationPerVolumeRateExceeded", s.Error)
			}
			if n := e.w.Calls()["CreateSnapshots"]; n != tc.calls {
				t.Errorf("%d CreateSnapshots calls, want %d", n, tc.calls)
			}
			if n := len(e.w.Snapshots()); n != tc.snapshots {
				t.Errorf("%d snapshots, want %d", n, tc.snapshots)
			}
		})
	}
}

// Two findings for one instance handled at once (two Lambda environments,
// two runbooks): both see no earlier snapshot, but only one takes the set.
func TestConcurrentFindingsTakeOneSnapshotSet(t *testing.T) {
	e := newEnv(t)
	// With latency, both runs read the instance before either changes it.
	e.w.SetLatency(5 * time.Millisecond)
	var wg sync.WaitGroup
	outs := make([]runbook.Outcome, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg := e.target(e.d.Victim)
			tg.CaseID = fmt.Sprintf("case-%d", i)
			outs[i] = e.runbook().Run(context.Background(), tg)
		}()
	}
	wg.Wait()
	e.w.SetLatency(0)
	if n := len(e.w.Snapshots()); n != len(e.d.VictimVolumes) {
		t.Errorf("%d snapshots after two concurrent runs, want one set of %d", n, len(e.d.VictimVolumes))
	}
	var took int
	for _, out := range outs {
		if s := stepOf(t, out, report.StepSnapshot); s.Status == report.Done {
			took++
		} else if s.Status != report.Skipped {
			t.Errorf("snapshot step %s: %s %s", s.Status, s.Error, s.Message)
		}
	}
	if took != 1 {
		t.Errorf("%d runs took snapshots, want exactly 1", took)
	}
}
