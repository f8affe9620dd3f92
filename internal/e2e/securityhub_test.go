package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const backdoorARN = "arn:aws:guardduty:us-east-1:123456789012:detector/4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6/finding/" + backdoorID

// withSecurityHub turns both Security Hubs on; imported says whether
// GuardDuty's finding has reached them before the event is handled.
func withSecurityHub(imported bool) func(*awsfake.World) {
	return func(w *awsfake.World) {
		w.EnableSecurityHub()
		w.EnableSecurityHubV2()
		if imported {
			w.ImportGuardDutyFinding(backdoorARN)
		}
	}
}

// TestWritesBackToSecurityHubAndLocksTheSnapshots runs the real bootstrap
// and reads the result from the simulated world: the finding in both hubs,
// the snapshots' locks, and the cost of a re-delivery.
func TestWritesBackToSecurityHubAndLocksTheSnapshots(t *testing.T) {
	t.Parallel()
	e := start(t, setup{seed: withSecurityHub(true)})
	rep := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	e.contained(backdoorID)
	aw := e.w.AWS

	f, _ := aw.SecurityHubFinding(awsfake.GuardDutyProductArn("aws", region), backdoorARN)
	note := aws.ToString(f.Note.Text)
	if f.Workflow != shtypes.WorkflowStatusNotified || !strings.Contains(note, victim) || aws.ToString(f.Note.UpdatedBy) != "Firebreak" ||
		f.UserDefinedFields[contract.TagStatus] != contract.StatusContained {
		t.Errorf("Security Hub CSPM finding: %+v, note %q", f, note)
	}
	v2, _ := aw.SecurityHubV2Finding(account, backdoorARN, awsfake.GuardDutyProductUID("aws", region))
	if v2.StatusID != 2 || v2.Comment != note {
		t.Errorf("Security Hub (OCSF) finding: %+v", v2)
	}
	if rep.SecurityHub == nil || rep.SecurityHub.Status != report.Done {
		t.Errorf("report securityHub: %+v", rep.SecurityHub)
	}

	// Both snapshots are locked while pending: governance, 90 days from completion.
	var ids []string
	for _, s := range aw.Snapshots() {
		id := aws.ToString(s.SnapshotId)
		ids = append(ids, id)
		l, ok := aw.SnapshotLock(id)
		if !ok || l.LockState != ec2types.LockStateGovernance || aws.ToInt32(l.LockDuration) != 90 || l.LockExpiresOn != nil {
			t.Errorf("lock of %s: %+v, want governance for 90 days, no expiry while pending", id, l)
		}
	}
	if len(ids) != 2 || len(rep.Snapshots) != 2 {
		t.Fatalf("snapshots %v, reported %+v", ids, rep.Snapshots)
	}
	aw.CompleteSnapshots()
	done := aw.Now()
	for _, id := range ids {
		if l, _ := aw.SnapshotLock(id); l.LockExpiresOn == nil || l.LockExpiresOn.Sub(done.AddDate(0, 0, 90)).Abs() > time.Minute {
			t.Errorf("after completion %s expires %v, want 90 days after %s", id, l.LockExpiresOn, done)
		}
	}

	// A re-publication finds the write-back recorded: the verification's reads only.
	e.w.Sim.ResetStats()
	e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2-update.json"))
	if st := e.w.Sim.Stats(); st.Total().Calls != 3 || st["ec2:DescribeInstances"].Calls != 1 || len(mutating(st)) > 0 {
		t.Errorf("re-delivery after the write-back: %v, want the verification's three reads", st)
	}
}

// TestSecurityHubImportAfterTheContainment: the finding reaches Security Hub
// after the event (as GuardDuty's import lags it); the re-publication writes it.
func TestSecurityHubImportAfterTheContainment(t *testing.T) {
	t.Parallel()
	e := start(t, setup{seed: withSecurityHub(false)})
	rep := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	e.contained(backdoorID)
	if rep.SecurityHub == nil || rep.SecurityHub.Status != report.Pending {
		t.Fatalf("securityHub before the import: %+v", rep.SecurityHub)
	}
	e.w.AWS.ImportGuardDutyFinding(backdoorARN)
	e.w.Sim.ResetStats()
	rep = e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2-update.json"))
	st := e.w.Sim.Stats()
	if rep.SecurityHub.Status != report.Done || st["securityhub:BatchUpdateFindings"].Calls != 1 || st["securityhub:BatchUpdateFindingsV2"].Calls != 1 ||
		st["ec2:CreateTags"].Calls != 1 || st.Total().Calls != 6 {
		t.Errorf("re-delivery after the import: %+v, calls %v", rep.SecurityHub, st)
	}
	if f, _ := e.w.AWS.SecurityHubFinding(awsfake.GuardDutyProductArn("aws", region), backdoorARN); f.Workflow != shtypes.WorkflowStatusNotified {
		t.Errorf("finding after the re-delivery: %+v", f)
	}
	t.Logf("calls of the re-delivery that writes: %v", st)
}
