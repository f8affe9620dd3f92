package handler_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const manualCase = "IR-2026-0142"

func TestManualContain(t *testing.T) {
	e := newEnv(t, victim, nil)
	dl := e.handle(events.Must("manual-contain.json"))
	if dl.err != nil {
		t.Fatalf("Handle: %v", dl.err)
	}
	rep := dl.only(t)
	if rep.Decision != report.Contain || rep.Source != finding.SourceManual || rep.DryRun || rep.CaseID != manualCase {
		t.Fatalf("decision %q source %q dryRun %v case %q, want a real manual containment for case %s",
			rep.Decision, rep.Source, rep.DryRun, rep.CaseID, manualCase)
	}
	if !strings.Contains(rep.Reason, "Outbound C2 traffic confirmed") {
		t.Errorf("reason %q does not quote the person's reason", rep.Reason)
	}
	for _, s := range rep.Steps {
		if s.Status != report.Done {
			t.Errorf("step %s: %s (%s %s), want done", s.Name, s.Status, s.Error, s.Detail)
		}
	}
	// A manual containment has no finding: the case id stands in for it.
	e.contained(victim, manualCase)
	if len(dl.published) != 1 {
		t.Fatalf("published %d messages, want 1", len(dl.published))
	}
	checkMessage(t, dl.published[0], e.d.Topic, rep)
}

// TestDryRun: a dry run reads, plans and reports, and leaves AWS as it was,
// whether a person asked for it or the deployment is observe-only. The
// deployment's setting wins over a request's "dryRun": false.
func TestDryRun(t *testing.T) {
	cases := []struct {
		name  string
		event string
		vars  map[string]string
	}{
		{"request asks for a dry run", "manual-dry-run.json", nil},
		{"FIREBREAK_DRY_RUN wins over dryRun false", "manual-contain.json", map[string]string{dryRunVar: "true"}},
		{"FIREBREAK_DRY_RUN on a GuardDuty finding", "guardduty-backdoor-c2.json", map[string]string{dryRunVar: "true"}},
		{"dry run with the network ACL cut", "manual-dry-run.json", map[string]string{isolateVar: "sg+nacl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, victim, tc.vars)
			before := e.state()
			dl := e.handle(events.Must(tc.event))
			if dl.err != nil {
				t.Fatalf("Handle: %v", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Contain || !rep.DryRun {
				t.Fatalf("decision %q dryRun %v, want a dry-run containment", rep.Decision, rep.DryRun)
			}
			if len(rep.Steps) != len(report.StepNames) {
				t.Errorf("%d steps, want %d", len(rep.Steps), len(report.StepNames))
			}
			for _, s := range rep.Steps {
				if s.Status != report.Planned {
					t.Errorf("step %s: %s (%s %s), want planned", s.Name, s.Status, s.Error, s.Detail)
				}
			}
			if iso := rep.Step(report.StepIsolate); iso == nil || len(iso.Actions) == 0 {
				t.Errorf("the isolate step plans no action: %+v", iso)
			}
			if rep.Evidence != nil {
				t.Errorf("a dry run reports evidence at %s", rep.Evidence.Key)
			}
			e.unchanged(before)
			if len(dl.published) != 1 {
				t.Fatalf("published %d messages, want 1", len(dl.published))
			}
			m := dl.published[0]
			checkMessage(t, m, e.d.Topic, rep)
			if attr(m, notify.AttrDryRun) != "true" || !strings.Contains(m.Subject, "DRY RUN") {
				t.Errorf("message does not say dry run: subject %q, %s=%q", m.Subject, notify.AttrDryRun, attr(m, notify.AttrDryRun))
			}
		})
	}
}

// TestMalformedPayloads: whatever cannot be read safely is refused with an
// error, before any AWS call.
func TestMalformedPayloads(t *testing.T) {
	cases := []struct {
		name    string
		payload string
		want    error
		message string
	}{
		{"not JSON", `{"instanceId": "i-0abc1234def567890", "reason": "c2", "dryRun": false`, finding.ErrUnrecognized, "not JSON"},
		{"empty", ``, finding.ErrUnrecognized, "empty payload"},
		{"JSON array", `[{"instanceId": "i-0abc1234def567890"}]`, finding.ErrUnrecognized, "array"},
		{"typo'd dryRun key", `{"instanceId": "i-0abc1234def567890", "reason": "c2", "dryrun": false}`, finding.ErrInvalid, `did you mean "dryRun"`},
		{"typo'd instanceId key", `{"instanceID": "i-0abc1234def567890", "reason": "c2", "dryRun": false}`, finding.ErrInvalid, `did you mean "instanceId"`},
		{"dryRun as a string", `{"instanceId": "i-0abc1234def567890", "reason": "c2", "dryRun": "false"}`, finding.ErrInvalid, "JSON boolean"},
		{"dryRun missing", `{"instanceId": "i-0abc1234def567890", "reason": "c2"}`, finding.ErrInvalid, "dryRun is required"},
		{"instanceId as a number", `{"instanceId": 42, "reason": "c2", "dryRun": false}`, finding.ErrInvalid, "instanceId must be a JSON string"},
		{"instanceId not an instance", `{"instanceId": "vol-0abc1234def567890", "reason": "c2", "dryRun": false}`, finding.ErrInvalid, "not an EC2 instance id"},
		{"unknown shape", `{"message": "contain web-1 please"}`, finding.ErrInvalid, `unknown field "message"`},
		{"other event source", `{"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {"instance-id": "i-0abc1234def567890"}}`,
			finding.ErrUnrecognized, `unsupported event source "aws.ec2"`},
		{"findings array instead of one finding", `{"source": "aws.guardduty", "detail-type": "GuardDuty Finding", "detail": {"findings": [{"Type": "Backdoor:EC2/C&CActivity.B"}]}}`,
			finding.ErrInvalid, "no type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, victim, nil)
			before := e.state()
			dl := e.handle([]byte(tc.payload))
			if !errors.Is(dl.err, tc.want) || !strings.Contains(dl.err.Error(), tc.message) {
				t.Fatalf("error %v, want %v mentioning %q", dl.err, tc.want, tc.message)
			}
			if !strings.Contains(dl.err.Error(), "nothing was changed") {
				t.Errorf("error %q does not tell the caller that nothing was changed", dl.err)
			}
			if len(dl.reports) != 0 {
				t.Errorf("got %d reports for a refused payload", len(dl.reports))
			}
			if len(dl.calls) != 0 || len(dl.published) != 0 {
				t.Errorf("a refused payload reached AWS: calls %v, %d published", dl.calls, len(dl.published))
			}
			e.unchanged(before)
		})
	}
}

func TestSecurityHubCustomAction(t *testing.T) {
	t.Run("one instance", func(t *testing.T) {
		e := newEnv(t, victim, nil)
		dl := e.handle(events.Must("securityhub-custom-action.json"))
		if dl.err != nil {
			t.Fatalf("Handle: %v", dl.err)
		}
		rep := dl.only(t)
		if rep.Decision != report.Contain || rep.Source != finding.SourceSecurityHub || rep.InstanceID != victim {
			t.Fatalf("decision %q source %q instance %q (%s), want containment of %s", rep.Decision, rep.Source, rep.InstanceID, rep.Reason, victim)
		}
		if rep.Finding == nil || rep.Finding.ID != backdoorID || rep.Finding.Type != "Backdoor:EC2/C&CActivity.B" {
			t.Errorf("finding %+v, want the GuardDuty finding behind the Security Hub one", rep.Finding)
		}
		e.contained(victim, backdoorID)
		if len(dl.published) != 1 {
			t.Fatalf("published %d messages, want 1", len(dl.published))
		}
		checkMessage(t, dl.published[0], e.d.Topic, rep)
	})
	t.Run("two instances", func(t *testing.T) {
		e := newEnv(t, victim, nil)
		raw := edit(t, "securityhub-custom-action.json", func(ev map[string]any) {
			f := ev["detail"].(map[string]any)["findings"].([]any)[0].(map[string]any)
			f["Resources"] = append(f["Resources"].([]any), map[string]any{
				"Type": "AwsEc2Instance", "Partition": "aws", "Region": region,
				"Id": fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", region, account, e.d.Bystander),
			})
		})
		dl := e.handle(raw)
		if dl.err != nil {
			t.Fatalf("Handle: %v", dl.err)
		}
		want := []string{victim, e.d.Bystander}
		if len(dl.reports) != len(want) {
			t.Fatalf("%d reports, want one per instance %v", len(dl.reports), want)
		}
		for i, id := range want {
			rep := dl.reports[i]
			if rep.Decision != report.Contain || rep.InstanceID != id {
				t.Errorf("report %d: decision %q instance %q, want containment of %s", i, rep.Decision, rep.InstanceID, id)
			}
			e.contained(id, backdoorID)
		}
		if len(dl.published) != len(want) {
			t.Errorf("published %d messages, want %d", len(dl.published), len(want))
		}
	})
}
