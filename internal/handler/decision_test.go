package handler_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Instances named by the sample events other than the demo victim.
const (
	bastion    = "i-0b45e1d2c3a4f5061" // SSH brute force and port probe target
	rdpTarget  = "i-0d1e2f3a4b5c6d7e8"
	sampleID   = "i-99999999" // GuardDuty's placeholder in sample findings
	lowNotify  = "1"          // a deployment that mails Low findings too
	notifyVar  = contract.EnvNotifyMinSeverity
	dryRunVar  = contract.EnvDryRun
	isolateVar = contract.EnvIsolation
)

func TestContainDecisions(t *testing.T) {
	cases := []struct {
		event     string
		findingID string
	}{
		{"guardduty-backdoor-c2.json", backdoorID},
		{"guardduty-cryptocurrency-dns.json", "9f6be4e8e5321353c43a617654c772fe"},
		{"guardduty-runtime-reverse-shell.json", "dd6a5f8203e5cc7a5d251f7158a0bc11"},
		{"guardduty-malware-ec2.json", "3c708586a2fd24be8aba4511af37b0d9"},
		{"guardduty-ssh-bruteforce-actor.json", "fe8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b"},
		{"guardduty-trojan-dns-exfiltration.json", "ed9927b1eddd97a1197ff02b0329f616"},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, victim, nil)
			dl := e.handle(events.Must(tc.event))
			if dl.err != nil {
				t.Fatalf("Handle: %v", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Contain || rep.InstanceID != victim || rep.DryRun || rep.AlreadyContained {
				t.Fatalf("report: decision %q instance %q dryRun %v alreadyContained %v (%s), want a real containment of %s",
					rep.Decision, rep.InstanceID, rep.DryRun, rep.AlreadyContained, rep.Reason, victim)
			}
			if rep.Finding == nil || rep.Finding.ID != tc.findingID || rep.CaseID != tc.findingID {
				t.Errorf("finding %+v, case %q: want both %s", rep.Finding, rep.CaseID, tc.findingID)
			}
			var names []string
			for _, s := range rep.Steps {
				names = append(names, s.Name)
				if s.Status != report.Done {
					t.Errorf("step %s: %s (%s %s), want done", s.Name, s.Status, s.Error, s.Detail)
				}
			}
			if !slices.Equal(names, report.StepNames) {
				t.Errorf("steps %v, want %v", names, report.StepNames)
			}
			e.contained(victim, tc.findingID)
			if got := e.snapshotsOf(victim); len(got) != len(e.d.VictimVolumes) {
				t.Errorf("snapshots of %s: %v, want one per volume (%d)", victim, got, len(e.d.VictimVolumes))
			}
			if rep.Evidence == nil {
				t.Fatal("no evidence location in the report")
			}
			if _, ok := e.object(rep.Evidence.Key); !ok {
				t.Errorf("evidence %s not stored", rep.Evidence.Key)
			}
			if len(dl.published) != 1 {
				t.Fatalf("published %d messages, want 1", len(dl.published))
			}
			checkMessage(t, dl.published[0], e.d.Topic, rep)
		})
	}
}

func TestNotifyDecisions(t *testing.T) {
	otherAccountBackdoor := edit(t, "guardduty-backdoor-c2.json", func(ev map[string]any) {
		// A member account's finding seen by the delegated administrator: the
		// envelope is the administrator's, the finding names the member.
		ev["detail"].(map[string]any)["accountId"] = otherAccount
	})
	cases := []struct {
		name      string
		raw       []byte
		seed      string
		vars      map[string]string
		setup     func(e *env)
		reason    string
		instances []string
		// steps is the status every runbook step must report; "" means no steps.
		steps report.Status
	}{
		{name: "sample finding", raw: events.Must("guardduty-sample-backdoor.json"), seed: sampleID,
			reason: "GuardDuty sample finding"},
		{name: "SSH brute force target", raw: events.Must("guardduty-ssh-bruteforce-target.json"), seed: bastion,
			vars: map[string]string{notifyVar: lowNotify}, reason: "names " + bastion + " as TARGET"},
		{name: "RDP brute force target", raw: events.Must("guardduty-rdp-bruteforce-target.json"), seed: rdpTarget,
			vars: map[string]string{notifyVar: lowNotify}, reason: "names " + rdpTarget + " as TARGET"},
		{name: "port probe", raw: events.Must("guardduty-portprobe-unprotected-port.json"), seed: bastion,
			vars: map[string]string{notifyVar: lowNotify}, reason: "is being probed"},
		{name: "severity between thresholds", raw: events.Must("guardduty-recon-portscan.json"), seed: victim,
			reason: "Below the contain threshold"},
		{name: "attack sequence", raw: events.Must("guardduty-attack-sequence-instance-group.json"), seed: victim,
			reason: "Attack sequence", instances: []string{victim, "i-0fedcba9876543210", "i-07f3e2d1c0b9a8765"}},
		{name: "exempt live instance", raw: events.Must("guardduty-backdoor-c2.json"), seed: victim,
			setup:  func(e *env) { e.setTag(victim, contract.TagExempt, "true") },
			reason: "carries firebreak:exempt=true", steps: report.Skipped},
		{name: "finding for another account", raw: otherAccountBackdoor, seed: victim,
			reason: "cross-account containment is not configured"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.seed, tc.vars)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := e.state()
			dl := e.handle(tc.raw)
			if dl.err != nil {
				t.Fatalf("Handle: %v", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Notify || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("decision %q (%s), want notify because %q", rep.Decision, rep.Reason, tc.reason)
			}
			if !slices.Equal(rep.Instances, tc.instances) {
				t.Errorf("instances %v, want %v", rep.Instances, tc.instances)
			}
			for _, s := range rep.Steps {
				if s.Status != tc.steps {
					t.Errorf("step %s is %s, want %q", s.Name, s.Status, tc.steps)
				}
			}
			if tc.steps != "" && len(rep.Steps) != len(report.StepNames) {
				t.Errorf("%d steps reported, want all %d", len(rep.Steps), len(report.StepNames))
			}
			if m := dl.mutating(true); len(m) > 0 {
				t.Errorf("mutating calls reached AWS: %v (all calls %v)", m, dl.calls)
			}
			e.unchanged(before)
			if dl.calls["Publish"] != 1 || len(dl.published) != 1 {
				t.Fatalf("%d Publish calls, %d messages; want exactly one", dl.calls["Publish"], len(dl.published))
			}
			checkMessage(t, dl.published[0], e.d.Topic, rep)
		})
	}
}

func TestIgnoreDecisions(t *testing.T) {
	cases := []struct {
		event, seed, reason string
	}{
		{"guardduty-cloudtrail-api-call.json", victim, "Not a finding"},
		{"guardduty-malware-snapshot.json", victim, "Not a running instance"},
		{"guardduty-low-severity.json", victim, "Below the notify threshold"},
		// With the default thresholds, Low findings against a target are noise.
		{"guardduty-ssh-bruteforce-target.json", bastion, "Below the notify threshold"},
		{"guardduty-rdp-bruteforce-target.json", rdpTarget, "Below the notify threshold"},
		{"guardduty-portprobe-unprotected-port.json", bastion, "Below the notify threshold"},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.seed, nil)
			before := e.state()
			dl := e.handle(events.Must(tc.event))
			if dl.err != nil {
				t.Fatalf("Handle: %v", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Ignore || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("decision %q (%s), want ignore because %q", rep.Decision, rep.Reason, tc.reason)
			}
			if len(dl.calls) != 0 {
				t.Errorf("an ignored event called AWS: %v", dl.calls)
			}
			if len(dl.published) != 0 {
				t.Errorf("an ignored event was published: %q", dl.published[0].Subject)
			}
			e.unchanged(before)
		})
	}
}
