package securityhub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/securityhub"
)

const (
	account = "123456789012"
	region  = "us-east-1"
	arn     = "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/411647294fc69b66beba1f3f7bbbc43d"
)

var product = awsfake.GuardDutyProductArn("aws", region)
var productV2 = awsfake.GuardDutyProductUID("aws", region)

func world(cspm, v2, imported bool) *awsfake.World {
	w := awsfake.New(account, region)
	if cspm {
		w.EnableSecurityHub()
	}
	if v2 {
		w.EnableSecurityHubV2()
	}
	if imported {
		w.ImportGuardDutyFinding(arn)
	}
	return w
}

func update(t *testing.T) securityhub.Update {
	t.Helper()
	f, ok := securityhub.GuardDuty(arn)
	if !ok {
		t.Fatal("not a GuardDuty ARN")
	}
	return securityhub.Update{Findings: []securityhub.Finding{f}, Note: "Firebreak contained i-0abc", InProgress: true,
		Fields: map[string]string{"firebreak:status": "contained"}, Key: "contained"}
}

func outcomes(e report.SecurityHub) map[string]string {
	m := map[string]string{}
	for _, u := range e.Updates {
		m[u.API] = u.Outcome
	}
	return m
}

func TestGuardDutyIdentifiers(t *testing.T) {
	f, ok := securityhub.GuardDuty(arn)
	want := securityhub.Finding{ProductArn: product, ID: arn, AccountID: account, UID: arn, ProductUID: productV2}
	if !ok || f != want {
		t.Errorf("GuardDuty(%s) = %+v, want %+v", arn, f, want)
	}
	gov, _ := securityhub.GuardDuty("arn:aws-us-gov:guardduty:us-gov-west-1:123456789012:detector/d/finding/f")
	if gov.ProductArn != "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty" {
		t.Errorf("GovCloud product ARN %s", gov.ProductArn)
	}
	for _, bad := range []string{"", "411647294fc69b66beba1f3f7bbbc43d", "arn:aws:guardduty:us-east-1:123456789012:detector/d1"} {
		if _, ok := securityhub.GuardDuty(bad); ok {
			t.Errorf("GuardDuty(%q) accepted", bad)
		}
	}
	inspector := securityhub.ASFF("arn:aws:securityhub:us-east-1::product/aws/inspector", "arn:aws:inspector2:us-east-1:123456789012:finding/abc")
	if inspector.UID != "" || inspector.ID == "" {
		t.Errorf("an Inspector finding has no OCSF name here: %+v", inspector)
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name            string
		mode            string
		cspm, v2, found bool
		wantStatus      report.Status
		want            map[string]string
		wantTag         string
	}{
		{"both hubs", contract.SecurityHubAuto, true, true, true, report.Done,
			map[string]string{securityhub.APIFindings: securityhub.Written, securityhub.APIFindingsV2: securityhub.Written}, "cspm:* v2:*"},
		{"CSPM only, auto", contract.SecurityHubAuto, true, false, true, report.Done,
			map[string]string{securityhub.APIFindings: securityhub.Written, securityhub.APIFindingsV2: securityhub.NotEnabled}, "cspm:* v2:off"},
		{"Security Hub only, auto", contract.SecurityHubAuto, false, true, true, report.Done,
			map[string]string{securityhub.APIFindings: securityhub.NotEnabled, securityhub.APIFindingsV2: securityhub.Written}, "cspm:off v2:*"},
		{"neither hub", contract.SecurityHubAuto, false, false, false, report.NotApplicable,
			map[string]string{securityhub.APIFindings: securityhub.NotEnabled, securityhub.APIFindingsV2: securityhub.NotEnabled}, "cspm:off v2:off"},
		{"not imported yet", contract.SecurityHubAuto, true, true, false, report.Pending,
			map[string]string{securityhub.APIFindings: securityhub.NotImported, securityhub.APIFindingsV2: securityhub.NotImported}, ""},
		{"cspm chosen, not enabled: not remembered", contract.SecurityHubCSPM, false, true, true, report.NotApplicable,
			map[string]string{securityhub.APIFindings: securityhub.NotEnabled}, ""},
		{"v2 chosen", contract.SecurityHubV2, true, true, true, report.Done,
			map[string]string{securityhub.APIFindingsV2: securityhub.Written}, "v2:*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := world(tc.cspm, tc.v2, tc.found)
			wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: tc.mode}
			e, rec := wr.Write(context.Background(), update(t), securityhub.Record{})
			if e.Status != tc.wantStatus || fmt.Sprint(outcomes(e)) != fmt.Sprint(tc.want) {
				t.Errorf("entry %s %v (%s), want %s %v", e.Status, outcomes(e), e.Detail, tc.wantStatus, tc.want)
			}
			if got := shape(rec.String()); got != tc.wantTag {
				t.Errorf("record %q, want the shape %q", rec.String(), tc.wantTag)
			}
			if f, ok := w.SecurityHubFinding(product, arn); ok && tc.want[securityhub.APIFindings] == securityhub.Written {
				if f.Workflow != shtypes.WorkflowStatusNotified || aws.ToString(f.Note.Text) != "Firebreak contained i-0abc" ||
					aws.ToString(f.Note.UpdatedBy) != "Firebreak" || f.UserDefinedFields["firebreak:status"] != "contained" {
					t.Errorf("CSPM finding %+v", f)
				}
			}
			if f, ok := w.SecurityHubV2Finding(account, arn, productV2); ok && tc.want[securityhub.APIFindingsV2] == securityhub.Written {
				if f.StatusID != 2 || f.Comment != "Firebreak contained i-0abc" {
					t.Errorf("OCSF finding %+v", f)
				}
			}
		})
	}
}

// shape replaces entry hashes with *, for stable comparisons.
func shape(tag string) string {
	var out []string
	for _, e := range strings.Fields(tag) {
		if api, rest, _ := strings.Cut(e, ":"); rest != "off" {
			e = api + ":*"
		}
		out = append(out, e)
	}
	return strings.Join(out, " ")
}

func TestRecordedWritesAreNotRepeated(t *testing.T) {
	w := world(true, false, true)
	wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	u := update(t)
	_, rec := wr.Write(context.Background(), u, securityhub.Record{})
	w.ResetCalls()
	// The record survives the tag round trip.
	rec = securityhub.ParseRecord(rec.String())
	e, again := wr.Write(context.Background(), u, rec)
	if e.Status != report.Skipped || len(w.Calls()) != 0 || again.String() != rec.String() || wr.Pending(u, rec) {
		t.Errorf("second write: %s (%s), calls %v: want skipped without calling Security Hub", e.Status, e.Detail, w.Calls())
	}
	// A new status is a new update.
	u.Key, u.Fields = "partial", map[string]string{"firebreak:status": "partial"}
	if !wr.Pending(u, rec) {
		t.Fatal("a new status is not pending")
	}
	if e, _ := wr.Write(context.Background(), u, rec); e.Status != report.Done || w.Calls()["BatchUpdateFindings"] != 1 {
		t.Errorf("new status: %s, %v", e.Status, w.Calls())
	}
}

func TestNotImportedIsWrittenByALaterCall(t *testing.T) {
	w := world(true, true, false)
	wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	u := update(t)
	e, rec := wr.Write(context.Background(), u, securityhub.Record{})
	if e.Status != report.Pending || rec.String() != "" || !wr.Pending(u, rec) {
		t.Fatalf("before the import: %s %q", e.Status, rec.String())
	}
	w.ImportGuardDutyFinding(arn)
	if e, rec = wr.Write(context.Background(), u, rec); e.Status != report.Done || wr.Pending(u, rec) {
		t.Errorf("after the import: %s (%s)", e.Status, e.Detail)
	}
}

func TestThrottledAndRefused(t *testing.T) {
	w := world(true, true, true)
	wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	w.FailAlways("BatchUpdateFindings", "LimitExceededException")
	w.FailAlways("BatchUpdateFindingsV2", "ThrottlingException")
	e, rec := wr.Write(context.Background(), update(t), securityhub.Record{})
	if e.Status != report.Pending || outcomes(e)[securityhub.APIFindings] != securityhub.Throttled ||
		outcomes(e)[securityhub.APIFindingsV2] != securityhub.Throttled || rec.String() != "" {
		t.Errorf("throttled: %s %v %q", e.Status, outcomes(e), rec.String())
	}
	w.FailAlways("BatchUpdateFindings", "")
	w.FailAlways("BatchUpdateFindingsV2", "")
	w.Deny("BatchUpdateFindings")
	e, _ = wr.Write(context.Background(), update(t), securityhub.Record{})
	if e.Status != report.Failed || e.Updates[0].Error != "AccessDeniedException" || outcomes(e)[securityhub.APIFindingsV2] != securityhub.Written {
		t.Errorf("denied CSPM: %s %+v: want failed with the code, Security Hub still written", e.Status, e.Updates)
	}
}

func TestCustomActionFindings(t *testing.T) {
	w := world(true, true, true)
	inspectorProduct := "arn:aws:securityhub:us-east-1::product/aws/inspector"
	inspectorID := "arn:aws:inspector2:us-east-1:123456789012:finding/abc"
	w.ImportFinding(inspectorProduct, inspectorID)
	wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	u := update(t)
	u.Findings = []securityhub.Finding{securityhub.ASFF(product, arn), securityhub.ASFF(inspectorProduct, inspectorID)}
	e, _ := wr.Write(context.Background(), u, securityhub.Record{})
	if e.Status != report.Done || len(e.Updates) != 3 {
		t.Fatalf("entry %s %+v: want both findings in CSPM and the GuardDuty one in Security Hub", e.Status, e.Updates)
	}
	if f, _ := w.SecurityHubFinding(inspectorProduct, inspectorID); f.Workflow != shtypes.WorkflowStatusNotified {
		t.Errorf("Inspector finding %+v", f)
	}
}

func TestNoteIsBoundedAndNeverResolves(t *testing.T) {
	w := world(true, true, true)
	wr := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	// A note built from attacker-chosen text (a finding title, a process
	// name) must still be accepted: one line, 512 characters at most.
	hostile := strings.Repeat("ünïcødé \u202e\u200b\x1b[31m\r\nforged line ", 80)
	e := wr.Note(context.Background(), []securityhub.Finding{{ProductArn: product, ID: arn, AccountID: account, UID: arn, ProductUID: productV2}}, hostile)
	if e.Status != report.Done {
		t.Fatalf("note: %s %+v", e.Status, e.Updates)
	}
	f, _ := w.SecurityHubFinding(product, arn)
	text := aws.ToString(f.Note.Text)
	if n := utf8.RuneCountInString(text); n > securityhub.MaxNoteChars || strings.ContainsAny(text, "\r\n\x1b\u202e\u200b") {
		t.Errorf("note of %d characters with control characters: %q", n, text)
	}
	if f.Workflow != shtypes.WorkflowStatusNew || len(f.UserDefinedFields) != 0 {
		t.Errorf("a note must change nothing else: %+v", f)
	}
	for _, touched := range f.Touched {
		if touched == "Workflow.Status" || touched == "Severity" || touched == "VerificationState" {
			t.Errorf("Firebreak changed %s", touched)
		}
	}
	if securityhub.Bound(" \n\t ") == "" {
		t.Error("a blank note is refused by Security Hub: Bound must not return one")
	}
}

func TestOffAndNoFinding(t *testing.T) {
	w := world(true, true, true)
	off := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubOff}
	if e, _ := off.Write(context.Background(), update(t), securityhub.Record{}); e.Status != report.NotApplicable || len(w.Calls()) != 0 {
		t.Errorf("off: %s, %v", e.Status, w.Calls())
	}
	on := securityhub.Writer{API: w.Clients().SecurityHub, Mode: contract.SecurityHubAuto}
	if e, _ := on.Write(context.Background(), securityhub.Update{Note: "x"}, securityhub.Record{}); e.Status != report.NotApplicable || len(w.Calls()) != 0 {
		t.Errorf("no finding: %s, %v", e.Status, w.Calls())
	}
}

func TestRecordKeepsTheNewestEntriesWithinATag(t *testing.T) {
	var rec securityhub.Record
	for i := range 40 {
		rec = rec.With(fmt.Sprintf("cspm:%08x", i))
	}
	s := rec.String()
	if len(s) > 256 || !strings.HasSuffix(s, "cspm:00000027") || strings.Contains(s, "cspm:00000000") {
		t.Errorf("record of %d characters %q: want the newest entries in 256", len(s), s)
	}
}
