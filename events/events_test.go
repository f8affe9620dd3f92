package events_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/policy"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const victim = "i-0abc1234def567890"

// Every file, the decision it gets at the default thresholds, and the rule.
var want = map[string]struct {
	decision report.Decision
	rule     string
}{
	"guardduty-accesskey-credential-exfiltration.json":  {report.Contain, policy.RuleExfiltration},
	"guardduty-credential-exfiltration-inside-aws.json": {report.Contain, policy.RuleExfiltration},
	"guardduty-attack-sequence-instance-group.json":     {report.Notify, policy.RuleAttackSequence},
	"guardduty-backdoor-c2-update.json":                 {report.Contain, policy.RuleCompromise},
	"guardduty-backdoor-c2.json":                        {report.Contain, policy.RuleCompromise},
	"guardduty-cloudtrail-api-call.json":                {report.Ignore, policy.RuleNotAFinding},
	"guardduty-cryptocurrency-dns.json":                 {report.Contain, policy.RuleCompromise},
	"guardduty-low-severity.json":                       {report.Ignore, policy.RuleBelowNotify},
	"guardduty-malware-ec2.json":                        {report.Contain, policy.RuleCompromise},
	"guardduty-malware-snapshot.json":                   {report.Ignore, policy.RuleNotRunningInstance},
	"guardduty-portprobe-unprotected-port.json":         {report.Ignore, policy.RuleBelowNotify},
	"guardduty-rdp-bruteforce-target.json":              {report.Ignore, policy.RuleBelowNotify},
	"guardduty-recon-portscan.json":                     {report.Notify, policy.RuleBelowContain},
	"guardduty-runtime-reverse-shell.json":              {report.Contain, policy.RuleCompromise},
	"guardduty-sample-backdoor.json":                    {report.Notify, policy.RuleSample},
	"guardduty-ssh-bruteforce-actor.json":               {report.Contain, policy.RuleCompromise},
	"guardduty-ssh-bruteforce-target.json":              {report.Ignore, policy.RuleBelowNotify},
	"guardduty-trojan-dns-exfiltration.json":            {report.Contain, policy.RuleCompromise},
	"manual-contain.json":                               {report.Contain, policy.RuleManual},
	"manual-dry-run.json":                               {report.Contain, policy.RuleManual},
	"securityhub-custom-action.json":                    {report.Contain, policy.RuleCustomAction},
	"securityhub-custom-action-organization.json":       {report.Contain, policy.RuleCustomAction},
}

func TestEveryEventParsesAndGetsItsDecision(t *testing.T) {
	names := events.Names()
	if len(names) < 16 {
		t.Fatalf("have %d event files, want at least 16", len(names))
	}
	for _, name := range names {
		if events.IsRelease(name) {
			continue // TestReleaseEvents
		}
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s has no expected decision in this table", name)
			}
			in, err := finding.Parse(events.Must(name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			v := policy.Decide(in, policy.DefaultThresholds)
			if v.Decision != w.decision || v.Rule != w.rule {
				t.Errorf("Decide = %s (%s), want %s (%s); reason: %s", v.Decision, v.Rule, w.decision, w.rule, v.Reason)
			}
			if v.Decision == report.Contain && v.InstanceID != victim {
				t.Errorf("contains %q, want the demo victim %s", v.InstanceID, victim)
			}
		})
	}
	for name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("expected file %s is not embedded", name)
		}
	}
}

// The release function's files: each decodes as a release of the demo
// victim, and the contain function refuses each, so that sending one to the
// wrong function never contains (or releases) anything.
func TestReleaseEvents(t *testing.T) {
	want := map[string]struct {
		source           string
		dryRun, reattach bool
	}{
		"manual-release.json":             {finding.SourceManual, false, true},
		"manual-release-dry-run.json":     {finding.SourceManual, true, true},
		"securityhub-release-action.json": {finding.SourceSecurityHub, false, false},
	}
	var seen []string
	for _, name := range events.Names() {
		if !events.IsRelease(name) {
			continue
		}
		seen = append(seen, name)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s has no expectation in this table", name)
			}
			in, err := finding.ParseRelease(events.Must(name))
			if err != nil {
				t.Fatalf("ParseRelease: %v", err)
			}
			if in.Source != w.source || !slices.Equal(in.Targets, []string{victim}) {
				t.Errorf("source %s, targets %v; want %s and the victim", in.Source, in.Targets, w.source)
			}
			if in.Manual != nil && (in.Manual.DryRun != w.dryRun || in.Manual.Reattach != w.reattach || in.Manual.RequestedBy == "") {
				t.Errorf("request %+v: want dryRun %v, reattach %v, a requestedBy", in.Manual, w.dryRun, w.reattach)
			}
			if _, err := finding.Parse(events.Must(name)); err == nil {
				t.Error("the contain function's parser accepts a release event")
			}
		})
	}
	if len(seen) != len(want) {
		t.Errorf("release files %v, want %d", seen, len(want))
	}
	for _, name := range events.Names() {
		if !events.IsRelease(name) {
			if _, err := finding.ParseRelease(events.Must(name)); err == nil {
				t.Errorf("the release function's parser accepts %s", name)
			}
		}
	}
}

// The brute-force and probe files are Low: at the defaults they are ignored
// for severity. With every severity let through, the role rules decide.
func TestTargetEventsNotifyWhenLowSeveritiesAreLetThrough(t *testing.T) {
	all := policy.Thresholds{Contain: 7, Notify: 0}
	for _, name := range []string{
		"guardduty-ssh-bruteforce-target.json",
		"guardduty-rdp-bruteforce-target.json",
		"guardduty-portprobe-unprotected-port.json",
	} {
		t.Run(name, func(t *testing.T) {
			in, err := finding.Parse(events.Must(name))
			if err != nil {
				t.Fatal(err)
			}
			v := policy.Decide(in, all)
			if v.Decision != report.Notify || v.Rule != policy.RuleTarget {
				t.Errorf("Decide = %s (%s), want notify (%s): %s", v.Decision, v.Rule, policy.RuleTarget, v.Reason)
			}
		})
	}
}

// Each file is a complete EventBridge event as the Lambda console expects,
// except the manual requests, which are what a person sends.
func TestEventBridgeEnvelopes(t *testing.T) {
	seenIDs := map[string]string{}
	for _, name := range events.Names() {
		var env map[string]json.RawMessage
		if err := json.Unmarshal(events.Must(name), &env); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.HasPrefix(name, "manual-") {
			if _, ok := env["source"]; ok {
				t.Errorf("%s: a manual request has no envelope", name)
			}
			continue
		}
		var e struct {
			Version    string         `json:"version"`
			ID         string         `json:"id"`
			DetailType string         `json:"detail-type"`
			Source     string         `json:"source"`
			Account    string         `json:"account"`
			Time       string         `json:"time"`
			Region     string         `json:"region"`
			Resources  []string       `json:"resources"`
			Detail     map[string]any `json:"detail"`
		}
		if err := json.Unmarshal(events.Must(name), &e); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if e.Version != "0" || e.Account != "123456789012" || e.Region != "us-east-1" || e.Time == "" || e.DetailType == "" || e.Detail == nil {
			t.Errorf("%s: incomplete envelope %+v", name, e)
		}
		if e.Resources == nil {
			t.Errorf("%s: resources must be present (an array)", name)
		}
		if other, dup := seenIDs[e.ID]; dup {
			t.Errorf("%s reuses the envelope id of %s: every delivery has a fresh id", name, other)
		}
		seenIDs[e.ID] = name
		if e.Source == "aws.guardduty" && e.DetailType == "GuardDuty Finding" {
			if _, ok := e.Detail["findings"]; ok {
				t.Errorf("%s: detail must be ONE finding, not a findings array", name)
			}
			if _, ok := e.Detail["Type"]; ok {
				t.Errorf("%s: finding keys are camelCase", name)
			}
		}
	}
}

// The re-published update keeps the finding id and carries a larger count and
// a later updatedAt, in a new envelope.
func TestUpdateIsARepublishedFinding(t *testing.T) {
	first, err := finding.Parse(events.Must(events.Default))
	if err != nil {
		t.Fatal(err)
	}
	update, err := finding.Parse(events.Must("guardduty-backdoor-c2-update.json"))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case update.Finding.ID != first.Finding.ID:
		t.Errorf("finding id %s, want %s", update.Finding.ID, first.Finding.ID)
	case update.Envelope.ID == first.Envelope.ID:
		t.Errorf("envelope id %s reused", update.Envelope.ID)
	case update.Finding.Count() <= first.Finding.Count():
		t.Errorf("count %d, want more than %d", update.Finding.Count(), first.Finding.Count())
	case !update.Finding.UpdatedAt.After(first.Finding.UpdatedAt.Time):
		t.Errorf("updatedAt %v, want after %v", update.Finding.UpdatedAt, first.Finding.UpdatedAt)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		wantErr bool
	}{
		{events.Default, false},
		{"manual-dry-run.json", false},
		{"no-such-event.json", true},
		{"../go.mod", true},
	}
	for _, tt := range tests {
		b, err := events.Load(tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("Load(%q) error = %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err == nil && !json.Valid(b) {
			t.Errorf("Load(%q) is not JSON", tt.name)
		}
	}
}

func TestMustPanicsOnUnknownName(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Must on an unknown name did not panic")
		}
	}()
	events.Must("no-such-event.json")
}
