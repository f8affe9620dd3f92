package handler_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const backdoorARN = "arn:aws:guardduty:us-east-1:123456789012:detector/4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6/finding/411647294fc69b66beba1f3f7bbbc43d"

var (
	gdProduct   = awsfake.GuardDutyProductArn("aws", region)
	gdProductV2 = awsfake.GuardDutyProductUID("aws", region)
)

// hubEnv is the demo world with both Security Hubs on; imported says
// whether GuardDuty's finding has reached them yet.
func hubEnv(t *testing.T, imported bool, vars map[string]string) *env {
	t.Helper()
	e := newEnv(t, victim, vars)
	e.w.EnableSecurityHub()
	e.w.EnableSecurityHubV2()
	if imported {
		e.w.ImportGuardDutyFinding(backdoorARN)
	}
	return e
}

func (e *env) hubFinding() awsfake.Finding {
	f, _ := e.w.SecurityHubFinding(gdProduct, backdoorARN)
	return f
}

func (e *env) instanceTag(key string) string {
	for _, tg := range e.w.Instance(e.d.Victim).Tags {
		if aws.ToString(tg.Key) == key {
			return aws.ToString(tg.Value)
		}
	}
	return ""
}

func securityHubCalls(calls map[string]int) int {
	return calls["BatchUpdateFindings"] + calls["BatchUpdateFindingsV2"]
}

func TestContainmentWritesBackToBothHubs(t *testing.T) {
	e := hubEnv(t, true, nil)
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if dl.err != nil {
		t.Fatal(dl.err)
	}
	rep := dl.only(t)
	if rep.SecurityHub == nil || rep.SecurityHub.Status != report.Done || len(rep.SecurityHub.Updates) != 2 {
		t.Fatalf("securityHub = %+v, want both updates written", rep.SecurityHub)
	}
	f := e.hubFinding()
	note := aws.ToString(f.Note.Text)
	if f.Workflow != shtypes.WorkflowStatusNotified || !strings.Contains(note, "Firebreak contained instance "+victim) ||
		!strings.Contains(note, "s3://"+e.d.Bucket+"/"+rep.Evidence.Key) || !strings.Contains(note, rep.Snapshots[0].ID) {
		t.Errorf("CSPM finding: workflow %s, note %q", f.Workflow, note)
	}
	want := map[string]string{contract.TagStatus: "contained", contract.TagCaseID: backdoorID, contract.TagInstanceID: victim,
		contract.TagContainedAt: "2026-01-15T09:00:00Z", "firebreak:evidence": "s3://" + e.d.Bucket + "/" + rep.Evidence.Key}
	if !maps.Equal(f.UserDefinedFields, want) {
		t.Errorf("user-defined fields %v, want %v", f.UserDefinedFields, want)
	}
	for _, touched := range f.Touched {
		if !slices.Contains([]string{"Workflow.Status", "Note", "UserDefinedFields"}, touched) {
			t.Errorf("Firebreak changed %s on the finding", touched)
		}
	}
	v2, _ := e.w.SecurityHubV2Finding(account, backdoorARN, gdProductV2)
	if v2.StatusID != 2 || v2.Comment != note {
		t.Errorf("OCSF finding %+v, want In Progress with the same comment", v2)
	}
	if e.instanceTag(contract.TagSecurityHub) == "" {
		t.Error("the write-back is not recorded on the instance")
	}
	// The published report says what was written.
	if !strings.Contains(dl.published[0].Body, `"securityHub"`) {
		t.Error("the published report has no securityHub entry")
	}
}

// TestReDeliveryCostsNoSecurityHubCall measures calls per re-delivery: one
// DescribeInstances once the write-back is recorded.
func TestReDeliveryCostsNoSecurityHubCall(t *testing.T) {
	e := hubEnv(t, true, nil)
	e.handle(events.Must("guardduty-backdoor-c2.json"))
	for _, h := range []string{"warm", "cold"} {
		handler := e.h
		if h == "cold" {
			handler = e.newHandler()
		}
		dl := e.handleWith(handler, events.Must("guardduty-backdoor-c2-update.json"))
		// A cold environment also looks up the isolation groups once.
		if dl.err != nil || dl.calls["DescribeInstances"] != 1 || len(dl.mutating(false)) != 0 || h == "warm" && !maps.Equal(dl.calls, verifyReads) {
			t.Errorf("%s re-delivery: calls %v, want the verification's reads %v and no write", h, dl.calls, verifyReads)
		}
		if n := securityHubCalls(dl.calls); n != 0 {
			t.Errorf("%s re-delivery called Security Hub %d times", h, n)
		}
		if s := dl.only(t).SecurityHub; s == nil || s.Status != report.Skipped {
			t.Errorf("%s re-delivery: securityHub %+v, want skipped", h, s)
		}
	}
}

func TestFindingNotYetImportedIsWrittenByTheReDelivery(t *testing.T) {
	e := hubEnv(t, false, nil)
	first := e.handle(events.Must("guardduty-backdoor-c2.json"))
	rep := first.only(t)
	if first.err != nil || rep.SecurityHub.Status != report.Pending || len(rep.Failed()) != 0 {
		t.Fatalf("containment: err %v, securityHub %+v, failed %v: the containment must not suffer", first.err, rep.SecurityHub, rep.Failed())
	}
	if e.instanceTag(contract.TagSecurityHub) != "" {
		t.Errorf("nothing was written, yet a record %q", e.instanceTag(contract.TagSecurityHub))
	}
	// GuardDuty's import arrives, then GuardDuty re-publishes the finding.
	e.w.ImportGuardDutyFinding(backdoorARN)
	second := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if second.err != nil || second.only(t).SecurityHub.Status != report.Done || len(second.published) != 0 {
		t.Fatalf("re-delivery: %v, %+v, %d published: want written, and still not published", second.err, second.only(t).SecurityHub, len(second.published))
	}
	if f := e.hubFinding(); f.Workflow != shtypes.WorkflowStatusNotified {
		t.Errorf("finding after the re-delivery: %+v", f)
	}
	if want := map[string]int{"DescribeInstances": 1, "DescribeSecurityGroups": 1, "DescribeInstanceAttribute": 1, "BatchUpdateFindings": 1, "BatchUpdateFindingsV2": 1, "CreateTags": 1}; !maps.Equal(second.calls, want) {
		t.Errorf("re-delivery that writes: calls %v, want %v", second.calls, want)
	}
	third := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if !maps.Equal(third.calls, verifyReads) {
		t.Errorf("re-delivery after the write: calls %v, want %v", third.calls, verifyReads)
	}
}

func TestSecurityHubThrottledOrDeniedNeverFailsTheContainment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  func(*awsfake.World)
		status report.Status
	}{
		{"throttled", func(w *awsfake.World) {
			w.FailAlways("BatchUpdateFindings", "LimitExceededException")
			w.FailAlways("BatchUpdateFindingsV2", "ThrottlingException")
		}, report.Pending},
		{"denied", func(w *awsfake.World) { w.Deny("BatchUpdateFindings"); w.Deny("BatchUpdateFindingsV2") }, report.Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := hubEnv(t, true, nil)
			tc.fault(e.w)
			dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
			rep := dl.only(t)
			if dl.err != nil || len(rep.Failed()) != 0 || e.instanceTag(contract.TagStatus) != contract.StatusContained {
				t.Fatalf("err %v, failed steps %v, status %q: the containment must be whole", dl.err, rep.Failed(), e.instanceTag(contract.TagStatus))
			}
			if rep.SecurityHub.Status != tc.status || len(dl.published) != 1 {
				t.Errorf("securityHub %+v, %d published", rep.SecurityHub, len(dl.published))
			}
		})
	}
}

func TestCustomActionWritesToTheActionsFindings(t *testing.T) {
	e := hubEnv(t, true, nil)
	dl := e.handle(events.Must("securityhub-custom-action.json"))
	rep := dl.only(t)
	if dl.err != nil || rep.SecurityHub.Status != report.Done {
		t.Fatalf("err %v, securityHub %+v", dl.err, rep.SecurityHub)
	}
	if f := e.hubFinding(); f.Workflow != shtypes.WorkflowStatusNotified || aws.ToString(f.Note.Text) == "" {
		t.Errorf("finding %+v", f)
	}
	// The finding's title (chosen by whoever wrote the finding) is not echoed.
	if note := aws.ToString(e.hubFinding().Note.Text); strings.Contains(note, "Command & Control") || utf8.RuneCountInString(note) > 512 {
		t.Errorf("note %q", note)
	}
}

func TestNothingWrittenWithoutAContainment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  string
		vars   map[string]string
		status report.Status
	}{
		{"manual request", "manual-contain.json", nil, report.NotApplicable},
		{"dry run", "guardduty-backdoor-c2.json", map[string]string{contract.EnvDryRun: "true"}, report.Planned},
		{"sample finding", "guardduty-sample-backdoor.json", nil, ""},
		{"target of brute force", "guardduty-ssh-bruteforce-target.json", nil, ""},
		{"write-back off", "guardduty-backdoor-c2.json", map[string]string{contract.EnvSecurityHubWriteBack: "off"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := hubEnv(t, true, tc.vars)
			dl := e.handle(events.Must(tc.event))
			for _, rep := range dl.reports {
				got := report.Status("")
				if rep.SecurityHub != nil {
					got = rep.SecurityHub.Status
				}
				if got != tc.status {
					t.Errorf("securityHub %+v, want status %q", rep.SecurityHub, tc.status)
				}
			}
			if n := securityHubCalls(dl.calls); n != 0 || len(e.hubFinding().Touched) != 0 {
				t.Errorf("%d Security Hub calls, finding touched %v: want none", n, e.hubFinding().Touched)
			}
		})
	}
}

func TestIsolationFailedWritesNothing(t *testing.T) {
	e := hubEnv(t, true, nil)
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "UnauthorizedOperation")
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if rep := dl.only(t); rep.SecurityHub == nil || rep.SecurityHub.Status != report.Skipped || securityHubCalls(dl.calls) != 0 {
		t.Errorf("securityHub %+v, %d calls: nothing is written about an instance that is not isolated", rep.SecurityHub, securityHubCalls(dl.calls))
	}
}

func TestNewFindingOnAContainedInstanceIsNotedOnce(t *testing.T) {
	e := hubEnv(t, true, nil)
	e.handle(events.Must("guardduty-backdoor-c2.json"))
	// Another finding for the same instance: a new id and ARN.
	var ev map[string]any
	if err := json.Unmarshal(events.Must("guardduty-backdoor-c2.json"), &ev); err != nil {
		t.Fatal(err)
	}
	detail := ev["detail"].(map[string]any)
	other := strings.Replace(backdoorARN, backdoorID, "0123456789abcdef0123456789abcdef", 1)
	detail["id"], detail["arn"] = "0123456789abcdef0123456789abcdef", other
	raw, _ := json.Marshal(ev)
	e.w.ImportGuardDutyFinding(other)
	for i := range 2 {
		dl := e.handle(raw)
		if want := 1 - i; securityHubCalls(dl.calls) != 2*want {
			t.Errorf("delivery %d of the new finding: %d Security Hub calls, want %d", i+1, securityHubCalls(dl.calls), 2*want)
		}
	}
	f, _ := e.w.SecurityHubFinding(gdProduct, other)
	if note := aws.ToString(f.Note.Text); !strings.Contains(note, "already contained") || !strings.Contains(note, backdoorID) {
		t.Errorf("note on the new finding %q: want 'already contained' and the original case", note)
	}
	// The original finding's record survives the second one's.
	if dl := e.handle(events.Must("guardduty-backdoor-c2-update.json")); securityHubCalls(dl.calls) != 0 {
		t.Errorf("re-delivery of the first finding called Security Hub: %v", dl.calls)
	}
}
