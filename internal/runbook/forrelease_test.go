package runbook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// storedRecord is the capture.json the victim's tags name, and whether
// the tags match it.
func storedRecord(t *testing.T, e *env) runbook.Record {
	t.Helper()
	tags := tagsOf(e.w, e.d.Victim)
	key := runbook.EvidenceKey(account, region, e.d.Victim, caseID, "capture.json")
	for _, o := range e.w.Objects() {
		if o.Key != key {
			continue
		}
		sum := sha256.Sum256(o.Body)
		if got := tags[contract.TagEvidenceSHA256]; got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s = %q, want the SHA-256 of the stored record", contract.TagEvidenceSHA256, got)
		}
		if got := tags[contract.TagEvidenceVersion]; got == "" || got != o.VersionID {
			t.Errorf("%s = %q, want the stored version %q", contract.TagEvidenceVersion, got, o.VersionID)
		}
		var rec runbook.Record
		if err := json.Unmarshal(o.Body, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	t.Fatalf("no %s stored", key)
	return runbook.Record{}
}

// Protect changes termination protection and shutdown behaviour; the record
// keeps them as the owner had them, not as Firebreak left them.
func TestCaptureRecordsTheAttributesBeforeProtectChangesThem(t *testing.T) {
	for _, owner := range []awsfake.InstanceAttributes{
		{ShutdownBehavior: ec2types.ShutdownBehaviorTerminate},
		{DisableAPITermination: true, ShutdownBehavior: ec2types.ShutdownBehaviorStop},
	} {
		t.Run(string(owner.ShutdownBehavior), func(t *testing.T) {
			e := newEnv(t)
			e.w.SetInstanceAttributes(e.d.Victim, owner)

			out := e.contain()

			wantSteps(t, out, nil)
			if got := e.w.InstanceAttributes(e.d.Victim); !got.DisableAPITermination || got.ShutdownBehavior != ec2types.ShutdownBehaviorStop {
				t.Fatalf("protect left %+v", got)
			}
			rec := storedRecord(t, e)
			if rec.Attributes == nil || aws.ToBool(rec.Attributes.DisableAPITermination) != owner.DisableAPITermination ||
				rec.Attributes.ShutdownBehavior != string(owner.ShutdownBehavior) {
				t.Errorf("recorded attributes %+v, want the owner's %+v", rec.Attributes, owner)
			}
			if n := e.w.Calls()["DescribeInstanceAttribute"]; n != 2 {
				t.Errorf("%d DescribeInstanceAttribute calls, want one per attribute (2)", n)
			}
		})
	}
}

// With the hard cut, the record holds the ACLs as they were before any
// entry was added, and the report marks every entry it created as added.
func TestCaptureRecordsTheNetworkACLsBeforeTheHardCut(t *testing.T) {
	e := newEnv(t)
	e.opt.NACL = true
	_, acl, _ := e.addThirdSubnet()
	addEntries(t, e.w, acl, ownerRules...)
	before := []ec2types.NetworkAcl{e.w.NetworkACL(e.d.NetworkACL), e.w.NetworkACL(acl)}

	out := e.contain()

	wantSteps(t, out, nil)
	rec := storedRecord(t, e)
	if got, want := jsonOf(t, rec.NetworkACLs), jsonOf(t, before); got != want {
		t.Errorf("recorded ACLs differ from the pre-change ones:\n got %s\nwant %s", got, want)
	}
	if len(out.NACLEntries) == 0 || slices.ContainsFunc(out.NACLEntries, func(n report.NACLEntry) bool { return !n.Added }) {
		t.Errorf("entries %+v: want every one the run created marked added", out.NACLEntries)
	}
}

// A retry never names its own (post-change) record on the instance.
func TestRetryKeepsTheFirstRecordNamed(t *testing.T) {
	e := newEnv(t)
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	first := e.contain()
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	if !first.IsolationFailed {
		t.Fatalf("first run did not fail isolation: %+v", first.Steps)
	}
	named := tagsOf(e.w, e.d.Victim)[contract.TagEvidenceVersion]

	second := e.contain()

	wantSteps(t, second, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepSnapshot: report.Skipped})
	if got := tagsOf(e.w, e.d.Victim)[contract.TagEvidenceVersion]; got != named || named == "" {
		t.Errorf("evidence version tag %q after the retry, want the first record's %q", got, named)
	}
	storedRecord(t, e)
}

// After a release deleted a VPC's Firebreak groups, a warm function still
// remembers their ids: the swap finds them gone, and the same invocation
// looks them up again (or makes them) and isolates, without a Lambda retry.
func TestWarmFunctionRecoversGroupsDeletedByARelease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		delete []string // roles whose group the "release" deleted
	}{
		{"both groups deleted", []string{contract.RoleIsolation, contract.RoleAllTraffic}},
		{"isolation group deleted", []string{contract.RoleIsolation}},
		{"all-traffic group deleted", []string{contract.RoleAllTraffic}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rb := e.runbook()
			warm := rb.Run(context.Background(), e.target(e.d.Bystander))
			wantSteps(t, warm, map[string]report.Status{report.StepDetach: report.NotApplicable})
			// The bystander goes back to its groups and the groups go, as a release does it.
			eni := aws.ToString(e.w.Instance(e.d.Bystander).NetworkInterfaces[0].NetworkInterfaceId)
			if _, err := e.api.EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(eni), Groups: []string{e.d.WebGroup, e.d.AppGroup}}); err != nil {
				t.Fatal(err)
			}
			iso, open := firebreakGroups(t, e.w, e.d.VPC)
			for _, role := range tc.delete {
				id := map[string]string{contract.RoleIsolation: iso, contract.RoleAllTraffic: open}[role]
				if _, err := e.api.EC2.DeleteSecurityGroup(context.Background(), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)}); err != nil {
					t.Fatal(err)
				}
			}
			e.w.ResetCalls()

			out := rb.Run(context.Background(), e.target(e.d.Victim))

			wantSteps(t, out, nil)
			if out.IsolationFailed || out.Incomplete {
				t.Errorf("the recovery needed a retry: isolation failed %v, incomplete %v", out.IsolationFailed, out.Incomplete)
			}
			newIso, newOpen := firebreakGroups(t, e.w, e.d.VPC)
			if slices.Contains(tc.delete, contract.RoleIsolation) == (newIso == iso) || slices.Contains(tc.delete, contract.RoleAllTraffic) == (newOpen == open) {
				t.Errorf("groups after recovery %s, %s (before %s, %s): want only the deleted ones replaced", newIso, newOpen, iso, open)
			}
			for _, id := range e.d.VictimENIs {
				if got := groupsOf(e.w, id); !slices.Equal(got, []string{newIso}) {
					t.Errorf("%s in %v, want the isolation group %s", id, got, newIso)
				}
			}
			if rules := ruleSet(e.w, newIso); len(rules) != 0 {
				t.Errorf("the isolation group has rules %v", rules)
			}
		})
	}
}

// A GuardDuty re-publication of a finding a person released the instance
// from changes nothing; a person's request, or a new finding, contains it.
func TestReleasedFindingIsNotContainedAgain(t *testing.T) {
	released := func(e *env) {
		if _, err := e.api.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{e.d.Victim}, Tags: []ec2types.Tag{
			{Key: aws.String(contract.TagStatus), Value: aws.String(contract.StatusReleased)},
			{Key: aws.String(contract.TagReleasedFindings), Value: aws.String("0000older " + findingID)},
			{Key: aws.String(contract.TagReleasedAt), Value: aws.String("2026-01-15T08:00:00Z")},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name      string
		guardDuty bool
		finding   string
		contained bool
	}{
		{"re-publication", true, findingID, false},
		{"new finding", true, "5fd6e7f8a9b0c1d2e3f4a5b6c7d8e9f0", true},
		{"a person's request", false, findingID, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			released(e)
			e.w.ResetCalls()
			tgt := e.target(e.d.Victim)
			tgt.FromGuardDuty, tgt.FindingID = tc.guardDuty, tc.finding

			out := e.runbook().Run(context.Background(), tgt)

			if out.Released == tc.contained {
				t.Errorf("Released = %v, want %v", out.Released, !tc.contained)
			}
			if !tc.contained {
				if ops := mutatingOps(e.w.Calls()); len(ops) > 0 {
					t.Errorf("a released re-publication changed things: %v", ops)
				}
				if d := stepOf(t, out, report.StepCapture).Detail; !strings.Contains(d, "re-publication of finding "+findingID+" ignored") {
					t.Errorf("capture detail %q does not say the re-publication was ignored", d)
				}
				return
			}
			wantSteps(t, out, nil)
		})
	}
}

func TestReleasedFindingsStayWithinATag(t *testing.T) {
	v := ""
	for i := range 20 {
		v = runbook.WithReleasedFindings(v, strings.Repeat(string(rune('a'+i)), 32))
	}
	ids := runbook.ReleasedFindings(map[string]string{contract.TagReleasedFindings: v})
	if len(v) > 256 || len(ids) != 7 || ids[len(ids)-1] != strings.Repeat("t", 32) || ids[0] != strings.Repeat("n", 32) {
		t.Errorf("value of %d characters holds %v: want the 7 most recent, newest last", len(v), ids)
	}
	if again := runbook.WithReleasedFindings(v, ids[0]); runbook.ReleasedFindings(map[string]string{contract.TagReleasedFindings: again})[6] != ids[0] {
		t.Errorf("a repeated id is not moved to the end: %q", again)
	}
}
