package notify_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func releaseReport(decision report.Decision, dryRun bool, failed string) *report.Report {
	r := &report.Report{Kind: report.KindRelease, Decision: decision, DryRun: dryRun, InstanceID: "i-0abc1234def567890", Source: "manual",
		Reason: "false positive: the red team's implant", CaseID: "411647294fc69b66beba1f3f7bbbc43d",
		StartedAt: time.Date(2026, 3, 14, 9, 26, 57, 0, time.UTC), FinishedAt: time.Date(2026, 3, 14, 9, 26, 58, 0, time.UTC)}
	for _, name := range report.ReleaseStepNames {
		s := report.Step{Name: name, Status: report.Done}
		if name == failed {
			s.Status, s.Error, s.Message = report.Failed, "InvalidGroup.NotFound", "a recorded group no longer exists"
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}

func TestReleaseSubjectsAndStatus(t *testing.T) {
	already := releaseReport(report.Notify, false, "")
	already.AlreadyReleased = true
	refused := releaseReport(report.Notify, false, report.StepEvidence)
	for _, tc := range []struct {
		name    string
		r       *report.Report
		status  string
		subject string
		head    string
	}{
		{"released", releaseReport(report.Release, false, ""), notify.StatusReleased, "Firebreak RELEASED i-0abc1234def567890", "Firebreak released instance"},
		{"dry run", releaseReport(report.Release, true, ""), notify.StatusPlanned, "[DRY RUN] Firebreak WOULD RELEASE i-0abc1234def567890", "Nothing was changed"},
		{"a step failed", releaseReport(report.Release, false, report.StepSecurityGroups), notify.StatusFailed,
			"Firebreak RELEASE FAILED (security-groups) i-0abc1234def567890", "these steps FAILED: security-groups"},
		{"already released", already, notify.StatusAlreadyReleased, "Firebreak ALREADY RELEASED i-0abc1234def567890", "already released and changed nothing"},
		{"refused", refused, notify.StatusRefused, "Firebreak RELEASE REFUSED i-0abc1234def567890", "did not release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := notify.Status(tc.r); got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			m := notify.Render(tc.r)
			if m.Subject != tc.subject {
				t.Errorf("subject %q, want %q", m.Subject, tc.subject)
			}
			if v := m.Attributes[notify.AttrStatus].StringValue; v == nil || *v != tc.status {
				t.Errorf("status attribute %v, want %s", v, tc.status)
			}
			summary, js := split(t, m.Body)
			if !strings.Contains(summary, tc.head) {
				t.Errorf("summary does not say %q:\n%s", tc.head, summary)
			}
			if got := decode(t, js); got.Kind != report.KindRelease || len(got.Steps) != len(report.ReleaseStepNames) {
				t.Errorf("report JSON kind %s with %d steps", got.Kind, len(got.Steps))
			}
		})
	}
}
