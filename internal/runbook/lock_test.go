package runbook_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

var governance90 = runbook.SnapshotLock{Mode: contract.SnapshotLockGovernance, Days: 90}

func lockingEnv(t *testing.T, l runbook.SnapshotLock) *env {
	e := newEnv(t)
	e.opt.Lock = l
	return e
}

// tag is a tag of the demo victim, read from the world.
func (e *env) tag(key string) string {
	for _, tg := range e.w.Instance(e.d.Victim).Tags {
		if aws.ToString(tg.Key) == key {
			return aws.ToString(tg.Value)
		}
	}
	return ""
}

func injectedThrottle() error {
	return &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
}

// lockOf reads a snapshot's lock from the world, not from the report.
func (e *env) lockOf(id string) (ec2types.LockedSnapshotsInfo, bool) { return e.w.SnapshotLock(id) }

func TestSnapshotsLockedWhilePending(t *testing.T) {
	e := lockingEnv(t, governance90)
	out := e.contain()
	wantSteps(t, out, nil)
	if len(out.Snapshots) != 2 {
		t.Fatalf("reported snapshots %+v, want the set of 2", out.Snapshots)
	}
	for _, s := range out.Snapshots {
		info, ok := e.lockOf(s.ID)
		if !ok || info.LockState != ec2types.LockStateGovernance || aws.ToInt32(info.LockDuration) != 90 || info.LockExpiresOn != nil {
			t.Errorf("%s in the world: %+v, %v; want governance for 90 days, no expiry while pending", s.ID, info, ok)
		}
		if s.LockState != "governance" || s.LockMode != "governance" || s.LockDuration != 90 || !s.Locked || s.VolumeID == "" || s.LockExpiresOn != nil {
			t.Errorf("reported %+v", s)
		}
	}
	if n := e.w.Calls()["DescribeLockedSnapshots"]; n != 0 {
		t.Errorf("%d DescribeLockedSnapshots for a set just taken, want 0", n)
	}
	if d := stepOf(t, out, report.StepSnapshot).Detail; !strings.Contains(d, "governance for 90 days from its completion") {
		t.Errorf("snapshot step detail %q does not say how the snapshots are locked", d)
	}
	// The duration runs from completion.
	e.w.Advance(time.Hour)
	e.w.CompleteSnapshots()
	info, _ := e.lockOf(out.Snapshots[0].ID)
	if want := awsfake.Epoch.Add(time.Hour).AddDate(0, 0, 90); !aws.ToTime(info.LockExpiresOn).Equal(want) {
		t.Errorf("expiry after completion %v, want %v", info.LockExpiresOn, want)
	}
}

func TestSnapshotLockComplianceWithCoolOff(t *testing.T) {
	e := lockingEnv(t, runbook.SnapshotLock{Mode: contract.SnapshotLockCompliance, Days: 30, CoolOffHours: 24})
	out := e.contain()
	wantSteps(t, out, nil)
	for _, s := range out.Snapshots {
		info, _ := e.lockOf(s.ID)
		if info.LockState != ec2types.LockStateComplianceCooloff || aws.ToInt32(info.CoolOffPeriod) != 24 {
			t.Errorf("%s: %+v, want compliance in its 24-hour cooling-off period", s.ID, info)
		}
		if s.LockMode != "compliance" || s.CoolOffExpiresOn == nil || !s.CoolOffExpiresOn.Equal(awsfake.Epoch.Add(24*time.Hour)) {
			t.Errorf("reported %+v", s)
		}
	}
}

func TestThrottledLocksAreFinishedByTheNextEventAndKeepExistingLocks(t *testing.T) {
	e := lockingEnv(t, governance90)
	// The first run locks nothing: its locks are throttled past the SDK's retries.
	e.w.FailAlways("LockSnapshot", "RequestLimitExceeded")
	first := e.contain()
	s := stepOf(t, first, report.StepSnapshot)
	if s.Status != report.Pending || s.Error != "RequestLimitExceeded" || first.Incomplete || first.IsolationFailed {
		t.Fatalf("first snapshot step %+v, incomplete %v: want pending, without a Lambda retry of the whole containment", s, first.Incomplete)
	}
	if got := e.tag(contract.TagSnapshotLock); got != contract.LockPending || e.tag(contract.TagStatus) != contract.StatusContained {
		t.Fatalf("instance tags: snapshot-lock %q, status %q; want pending and contained", got, e.tag(contract.TagStatus))
	}
	e.w.FailAlways("LockSnapshot", "")
	ids := s.Actions
	// A person locked one of them in compliance mode meanwhile.
	if _, err := e.api.EC2.LockSnapshot(context.Background(), &ec2.LockSnapshotInput{SnapshotId: aws.String(ids[0]),
		LockMode: ec2types.LockModeCompliance, LockDuration: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	e.w.Advance(48 * time.Hour) // past the reuse window: the case's set is still found
	e.w.ResetCalls()

	// The next event for the instance (already contained) finishes the locks.
	second := e.contain()

	s = stepOf(t, second, report.StepSnapshot)
	// (A new runbook may also look up the isolation groups.)
	want := map[string]int{"DescribeInstances": 1, "DescribeInstanceAttribute": 1, "DescribeSnapshots": 1, "DescribeLockedSnapshots": 1, "LockSnapshot": 1, "CreateTags": 1}
	got := e.w.Calls()
	delete(got, "DescribeSecurityGroups")
	if !second.AlreadyContained || s.Status != report.Done || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("next event: already contained %v, step %+v, calls %v; want %v", second.AlreadyContained, s, got, want)
	}
	kept, _ := e.lockOf(ids[0])
	if kept.LockState != ec2types.LockStateCompliance || aws.ToInt32(kept.LockDuration) != 7 {
		t.Errorf("the person's lock became %+v: an existing lock is never changed", kept)
	}
	locked, _ := e.lockOf(ids[1])
	if locked.LockState != ec2types.LockStateGovernance || aws.ToInt32(locked.LockDuration) != 90 {
		t.Errorf("the snapshot left unlocked: %+v, want governance for 90 days", locked)
	}
	if e.tag(contract.TagSnapshotLock) != contract.LockDone {
		t.Errorf("snapshot-lock tag %q after the locks, want %q", e.tag(contract.TagSnapshotLock), contract.LockDone)
	}

	// Everything locked: the next event costs its verification's reads,
	// DescribeInstances, the termination protection (and the groups).
	e.w.ResetCalls()
	e.contain()
	calls := e.w.Calls()
	delete(calls, "DescribeSecurityGroups")
	if fmt.Sprint(calls) != fmt.Sprint(map[string]int{"DescribeInstanceAttribute": 1, "DescribeInstances": 1}) {
		t.Errorf("event after the locks: calls %v, want DescribeInstances and DescribeInstanceAttribute", calls)
	}
}

func TestRetryOfAPartialContainmentLocksWhatIsLeft(t *testing.T) {
	e := lockingEnv(t, governance90)
	// Protect throttled: the containment is partial; one lock is throttled too.
	e.w.FailAlways("ModifyInstanceAttribute", "RequestLimitExceeded")
	e.w.FailNext("LockSnapshot", injectedThrottle())
	first := e.contain()
	if !first.Incomplete || e.tag(contract.TagSnapshotLock) != contract.LockPending {
		t.Fatalf("first run: incomplete %v, snapshot-lock %q", first.Incomplete, e.tag(contract.TagSnapshotLock))
	}
	e.w.FailAlways("ModifyInstanceAttribute", "")
	e.w.ResetCalls()
	second := e.contain()
	if s := stepOf(t, second, report.StepSnapshot); s.Status != report.Done || e.w.Calls()["CreateSnapshots"] != 0 || e.w.Calls()["LockSnapshot"] != 1 {
		t.Errorf("Lambda's retry: %+v, calls %v; want the set reused and the one lock left taken", s, e.w.Calls())
	}
	if e.tag(contract.TagSnapshotLock) != contract.LockDone {
		t.Errorf("snapshot-lock tag %q, want %q", e.tag(contract.TagSnapshotLock), contract.LockDone)
	}
}

func TestSnapshotLockRefusedIsReportedNotRetried(t *testing.T) {
	e := lockingEnv(t, governance90)
	e.w.Deny("LockSnapshot")
	out := e.contain()
	s := stepOf(t, out, report.StepSnapshot)
	if s.Status != report.Failed || s.Error != "UnauthorizedOperation" || out.Incomplete || out.IsolationFailed {
		t.Errorf("step %+v, incomplete %v: a refused lock fails the step without a retry", s, out.Incomplete)
	}
	if len(e.w.Snapshots()) != 2 || !strings.Contains(s.Detail, "2 snapshots started") {
		t.Errorf("the set must still be taken and named: %d snapshots, %q", len(e.w.Snapshots()), s.Detail)
	}
	if st := stepOf(t, out, report.StepIsolate); st.Status != report.Done {
		t.Errorf("isolate %s: a lock failure must not touch the other steps", st.Status)
	}
}

func TestSnapshotLockDryRunLocksNothing(t *testing.T) {
	e := lockingEnv(t, governance90)
	// A set from an earlier, real run is there: the dry run proves LockSnapshot on it.
	e.opt.Lock = runbook.SnapshotLock{}
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	e.contain()
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	e.opt.Lock = governance90
	dry := e.target(e.d.Victim)
	dry.DryRun = true
	e.w.ResetCalls()

	out := e.runbook().Run(context.Background(), dry)

	s := stepOf(t, out, report.StepSnapshot)
	if s.Status != report.Planned || e.w.Calls()["LockSnapshot"] != 2 {
		t.Errorf("dry run: %+v, %d LockSnapshot; want planned after a DryRun per snapshot", s, e.w.Calls()["LockSnapshot"])
	}
	for _, snap := range e.w.Snapshots() {
		if _, locked := e.lockOf(aws.ToString(snap.SnapshotId)); locked {
			t.Errorf("a dry run locked %s", aws.ToString(snap.SnapshotId))
		}
	}

	// Without a set, the plan says what would be locked.
	fresh := lockingEnv(t, governance90)
	dry = fresh.target(fresh.d.Victim)
	dry.DryRun = true
	out = fresh.runbook().Run(context.Background(), dry)
	s = stepOf(t, out, report.StepSnapshot)
	if s.Status != report.Planned || len(s.Actions) != 2 || !strings.Contains(s.Actions[1], "lock each snapshot in governance mode for 90 days") {
		t.Errorf("dry run without a set: %+v", s)
	}
	if fresh.w.Calls()["LockSnapshot"] != 0 || len(fresh.w.Snapshots()) != 0 {
		t.Error("a dry run took or locked snapshots")
	}
}

func TestNoLockWhenTurnedOff(t *testing.T) {
	e := lockingEnv(t, runbook.SnapshotLock{Mode: contract.SnapshotLockNone, Days: 90})
	out := e.contain()
	wantSteps(t, out, nil)
	if n := e.w.Calls()["LockSnapshot"]; n != 0 {
		t.Errorf("%d LockSnapshot with the lock off", n)
	}
}
