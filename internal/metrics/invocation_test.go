package metrics_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/metrics"
	"github.com/firebreak-ir/firebreak/internal/report"
)

var start = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

func steps(status map[string]report.Status) []report.Step {
	var out []report.Step
	for _, name := range report.StepNames {
		st, ok := status[name]
		if !ok {
			st = report.Done
		}
		s := report.Step{Name: name, Status: st}
		if st == report.Failed {
			s.Error = "RequestLimitExceeded"
		}
		out = append(out, s)
	}
	return out
}

func contained(mod func(r *report.Report)) *report.Report {
	r := &report.Report{Kind: report.KindContain, Decision: report.Contain, Source: "guardduty", InstanceID: "i-0abc1234def567890",
		Finding:   &report.Finding{Type: "Backdoor:EC2/C&CActivity.B!DNS", Severity: 8, UpdatedAt: start.Add(-95 * time.Second)},
		Steps:     steps(nil),
		StartedAt: start, IsolatedAt: start.Add(1830 * time.Millisecond), FinishedAt: start.Add(4 * time.Second)}
	if mod != nil {
		mod(r)
	}
	return r
}

// emitted runs the emitter and returns what CloudWatch would extract from
// each line written, one string per datum.
func emitted(t *testing.T, inv metrics.Invocation, level string) ([]string, [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := (metrics.Emitter{W: &buf, Level: level}).Emit(inv); err != nil {
		t.Fatal(err)
	}
	var got []string
	var lines [][]byte
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		lines = append(lines, line)
		for _, d := range extract(t, line) {
			got = append(got, d.String())
		}
	}
	slices.Sort(got)
	return got, lines
}

func TestOneLinePerInvocationGolden(t *testing.T) {
	inv := metrics.Invocation{Kind: report.KindContain, Start: start, AWSCalls: 31,
		Reports: []*report.Report{contained(func(r *report.Report) { r.Steps = steps(map[string]report.Status{report.StepSnapshot: report.Failed}) })}}
	got, lines := emitted(t, inv, "INFO")
	if len(lines) != 1 {
		t.Fatalf("want one line, got %d", len(lines))
	}
	golden(t, "contained.json", string(lines[0]))
	want := []string{
		"Firebreak/AwsCalls{Kind=contain} [31] Count",
		"Firebreak/Contained{FindingFamily=Backdoor} [1] Count",
		"Firebreak/Contained{} [1] Count",
		"Firebreak/FindingAgeSeconds{} [95] Seconds",
		"Firebreak/StepFailed{Step=snapshot} [1] Count",
		"Firebreak/TimeToIsolationMs{} [1830] Milliseconds",
	}
	if !slices.Equal(got, want) {
		t.Errorf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOutcomesAndDimensions(t *testing.T) {
	failed := func(names ...string) map[string]report.Status {
		m := map[string]report.Status{}
		for _, n := range names {
			m[n] = report.Failed
		}
		return m
	}
	tests := []struct {
		name    string
		reports []*report.Report
		kind    report.Kind
		want    []string
		lines   int
	}{
		{
			name:  "two failed steps: a second line for the second step",
			lines: 2, reports: []*report.Report{contained(func(r *report.Report) {
				r.Steps = steps(failed(report.StepDetach, report.StepSnapshot))
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Backdoor} [1]", "Contained{} [1]", "FindingAgeSeconds{} [95]",
				"StepFailed{Step=detach} [1]", "StepFailed{Step=snapshot} [1]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name: "a role's deny budget full: counted for its alarm",
			reports: []*report.Report{contained(func(r *report.Report) {
				r.Steps = steps(failed(report.StepCredentials))
				r.Credentials = &report.Credentials{Role: "web-server", BudgetFull: true}
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Backdoor} [1]", "Contained{} [1]", "CredentialBudgetFull{} [1]",
				"FindingAgeSeconds{} [95]", "StepFailed{Step=credentials} [1]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name: "isolation failed: no time to isolation",
			reports: []*report.Report{contained(func(r *report.Report) {
				r.Steps, r.IsolatedAt = steps(failed(report.StepIsolate)), time.Time{}
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "FindingAgeSeconds{} [95]", "IsolationFailed{FindingFamily=Backdoor} [1]",
				"IsolationFailed{} [1]", "StepFailed{Step=isolate} [1]"},
		},
		{
			name: "instance unreadable on throttling: isolation failed",
			reports: []*report.Report{contained(func(r *report.Report) {
				r.Steps, r.IsolatedAt = []report.Step{{Name: report.StepCapture, Status: report.Failed, Error: "RequestLimitExceeded"},
					{Name: report.StepIsolate, Status: report.Skipped}}, time.Time{}
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "FindingAgeSeconds{} [95]", "IsolationFailed{FindingFamily=Backdoor} [1]",
				"IsolationFailed{} [1]", "StepFailed{Step=capture} [1]"},
		},
		{
			name: "instance gone: nothing to isolate, a person is told",
			reports: []*report.Report{contained(func(r *report.Report) {
				r.Steps, r.IsolatedAt = []report.Step{{Name: report.StepCapture, Status: report.Failed, Error: "InvalidInstanceID.NotFound"},
					{Name: report.StepIsolate, Status: report.Skipped}}, time.Time{}
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "FindingAgeSeconds{} [95]", "Notified{FindingFamily=Backdoor} [1]", "Notified{} [1]",
				"StepFailed{Step=capture} [1]"},
		},
		{
			name:    "dry run",
			reports: []*report.Report{contained(func(r *report.Report) { r.DryRun, r.IsolatedAt = true, time.Time{} })},
			want:    []string{"AwsCalls{Kind=contain} [7]", "FindingAgeSeconds{} [95]", "WouldContain{FindingFamily=Backdoor} [1]", "WouldContain{} [1]"},
		},
		{
			name:    "re-delivery for a contained instance",
			reports: []*report.Report{contained(func(r *report.Report) { r.AlreadyContained, r.IsolatedAt = true, time.Time{} })},
			want: []string{"AlreadyContained{FindingFamily=Backdoor} [1]", "AlreadyContained{} [1]", "AwsCalls{Kind=contain} [7]",
				"FindingAgeSeconds{} [95]"},
		},
		{
			name: "Security Hub action on three instances: counts and times per instance, no finding age",
			reports: []*report.Report{
				contained(func(r *report.Report) { r.Source = "securityhub" }),
				contained(func(r *report.Report) { r.Source, r.IsolatedAt = "securityhub", start.Add(2500*time.Millisecond) }),
				contained(func(r *report.Report) {
					r.Source, r.Steps, r.IsolatedAt = "securityhub", steps(failed(report.StepIsolate)), time.Time{}
				}),
			},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Backdoor} [2]", "Contained{} [2]",
				"IsolationFailed{FindingFamily=Backdoor} [1]", "IsolationFailed{} [1]", "StepFailed{Step=isolate} [1]", "TimeToIsolationMs{} [1830 2500]"},
		},
		{
			name:    "ignored event without a finding",
			reports: []*report.Report{{Kind: report.KindContain, Decision: report.Ignore, Source: "guardduty"}},
			want:    []string{"AwsCalls{Kind=contain} [7]", "Ignored{FindingFamily=None} [1]", "Ignored{} [1]"},
		},
		{
			name:    "manual request",
			reports: []*report.Report{contained(func(r *report.Report) { r.Source, r.Finding = "manual", nil })},
			want:    []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Manual} [1]", "Contained{} [1]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name: "a type GuardDuty does not document and an odd step name stay bounded",
			reports: []*report.Report{contained(func(r *report.Report) {
				r.Finding.Type = "Évil\n:EC2/x"
				r.Steps = append(r.Steps, report.Step{Name: "Step\u202e!", Status: report.Failed})
			})},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Other} [1]", "Contained{} [1]", "FindingAgeSeconds{} [95]",
				"StepFailed{Step=other} [1]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name:    "family spelled in another case",
			reports: []*report.Report{contained(func(r *report.Report) { r.Finding.Type = "cryptocurrency:EC2/BitcoinTool.B" })},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=CryptoCurrency} [1]", "Contained{} [1]",
				"FindingAgeSeconds{} [95]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name:    "a finding updated after the invocation began (clock skew) is 0 s old",
			reports: []*report.Report{contained(func(r *report.Report) { r.Finding.UpdatedAt = start.Add(time.Second) })},
			want: []string{"AwsCalls{Kind=contain} [7]", "Contained{FindingFamily=Backdoor} [1]", "Contained{} [1]",
				"FindingAgeSeconds{} [0]", "TimeToIsolationMs{} [1830]"},
		},
		{
			name: "release", kind: report.KindRelease,
			reports: []*report.Report{{Kind: report.KindRelease, Decision: report.Release, Source: "manual", Steps: []report.Step{{Name: "restore", Status: report.Done}}}},
			want:    []string{"AwsCalls{Kind=release} [7]", "Released{FindingFamily=Manual} [1]", "Released{} [1]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := tt.kind
			if kind == "" {
				kind = report.KindContain
			}
			got, lines := emitted(t, metrics.Invocation{Kind: kind, Start: start, Reports: tt.reports, AWSCalls: 7}, "")
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = "Firebreak/" + w
			}
			for i := range got {
				got[i] = got[i][:strings.LastIndexByte(got[i], ' ')]
			}
			if !slices.Equal(got, want) {
				t.Errorf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if n := max(tt.lines, 1); len(lines) != n {
				t.Errorf("%d lines, want %d", len(lines), n)
			}
		})
	}
}

// Lambda files a JSON line without a level under INFO and drops it when the
// function logs at WARN or ERROR; the metric line must survive every setting.
func TestTheLinePassesLambdasLogLevelFilter(t *testing.T) {
	for configured, want := range map[string]string{"": "INFO", "DEBUG": "INFO", "INFO": "INFO", "WARN": "WARN", "ERROR": "ERROR"} {
		_, lines := emitted(t, metrics.Invocation{Kind: report.KindContain, Start: start, Reports: []*report.Report{contained(nil)}}, configured)
		var line struct {
			Level     string `json:"level"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(lines[0], &line); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, line.Timestamp)
		if line.Level != want || err != nil || !ts.Equal(start) {
			t.Errorf("log level %q: line level %q, timestamp %q (%v); want %q and %s", configured, line.Level, line.Timestamp, err, want, start.Format(time.RFC3339))
		}
	}
}

func TestNoReportNoLine(t *testing.T) {
	got, lines := emitted(t, metrics.Invocation{Kind: report.KindContain, Start: start}, "")
	if len(got) != 0 || len(lines) != 0 {
		t.Errorf("an invocation without a report wrote %q", lines)
	}
}
