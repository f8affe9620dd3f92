package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// The organization's accounts: the function runs in the sample events'
// account; B has the member role, C is listed without it, D is not listed.
const (
	memberB  = "222222222222"
	memberC  = "333333333333"
	unlisted = "444444444444"
	victimC  = "i-0bcd2345ef678901a"
)

// orgEnv is the security account (env) with members B and C in one
// organization, each member a demo world of its own.
type orgEnv struct {
	*env
	b, c *env
}

func newOrgEnv(t *testing.T) *orgEnv {
	t.Helper()
	o := &orgEnv{env: newEnv(t, "i-0aaaaaaaaaaaaaaa1", nil)}
	o.b, o.c = memberEnv(t, memberB, victim), memberEnv(t, memberC, victimC)
	awsfake.NewOrganization("o-exampleorg1", o.w, o.b.w, o.c.w, awsfake.New(unlisted, region))
	o.b.w.AddRole(contract.DefaultMemberRole, awsfake.Trust{Account: account,
		PrincipalARNs: []string{awsfake.FunctionPrincipal(account).RoleARN()}, OrgID: "o-exampleorg1"})
	f := &awsfake.OrgFactory{Own: o.w, Members: awsclient.MembersOf(o.cfg, "firebreak-contain")}
	f.Members.Accounts = []string{memberB, memberC}
	o.h = handler.New(o.cfg, f, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(o.w.Now))
	return o
}

func memberEnv(t *testing.T, acct, victimID string) *env {
	w := awsfake.New(acct, region)
	return &env{t: t, w: w, d: w.SeedDemo(victimID)}
}

// inAccount is a sample event whose finding names an instance of account.
func inAccount(t *testing.T, acct, instanceID string) []byte {
	return edit(t, "guardduty-backdoor-c2.json", func(ev map[string]any) {
		d := ev["detail"].(map[string]any)
		d["accountId"] = acct
		d["resource"].(map[string]any)["instanceDetails"].(map[string]any)["instanceId"] = instanceID
	})
}

func TestContainsInAMemberAccount(t *testing.T) {
	o := newOrgEnv(t)
	before, beforeC := o.state(), o.c.state()
	dl := o.handle(inAccount(t, memberB, victim))
	if dl.err != nil {
		t.Fatalf("Handle: %v", dl.err)
	}
	rep := dl.only(t)
	if rep.Decision != report.Contain || rep.AccountID != memberB || len(rep.Failed()) > 0 {
		t.Fatalf("decision %q in %q, failed %v (%s); want a containment in %s", rep.Decision, rep.AccountID, rep.Failed(), rep.Reason, memberB)
	}
	o.b.contained(victim, backdoorID)
	if n := len(o.b.snapshotsOf(victim)); n != 2 {
		t.Errorf("%d snapshots in %s, want one per volume there", n, memberB)
	}
	// Only the evidence bucket of the security account changes there.
	delete(before, "objects")
	o.unchanged(before)
	o.c.unchanged(beforeC)
	// Evidence and the report belong to the security account, under the member's prefix.
	if _, ok := o.object(rep.Evidence.Key); !ok || !strings.HasPrefix(rep.Evidence.Key, memberB+"/"+region+"/"+victim+"/") {
		t.Errorf("evidence %q not in the security account's bucket under %s/", rep.Evidence.Key, memberB)
	}
	if len(o.b.w.Objects()) != 0 || len(o.b.w.Published()) != 0 {
		t.Errorf("the member's own bucket or topic was used: %d objects, %d messages", len(o.b.w.Objects()), len(o.b.w.Published()))
	}
	if len(dl.published) != 1 {
		t.Errorf("published %d messages to the security account's topic, want 1", len(dl.published))
	}
}

// A member without the role, or an account not served at all, gets a
// notification that says so, changes nothing and is no function error.
func TestMembersFirebreakCannotReach(t *testing.T) {
	tests := []struct {
		name, account, says string
		roleMissing         int
	}{
		{"member without the role", memberC, "member role missing in " + memberC + "; deploy the member stack there", 1},
		{"account not listed", unlisted, unlisted + " is not one of the member accounts Firebreak serves", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newOrgEnv(t)
			before, beforeC := o.state(), o.c.state()
			dl := o.handle(inAccount(t, tt.account, victimC))
			if dl.err != nil {
				t.Fatalf("Handle returned %v: a retry cannot help, so no error", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Notify || !strings.Contains(rep.Reason, tt.says) || rep.MemberRoleMissing != tt.roleMissing {
				t.Errorf("decision %q, memberRoleMissing %d, reason %q; want notify saying %q", rep.Decision, rep.MemberRoleMissing, rep.Reason, tt.says)
			}
			if len(dl.published) != 1 {
				t.Errorf("published %d messages, want the notification", len(dl.published))
			}
			o.unchanged(before)
			o.c.unchanged(beforeC)
		})
	}
}

// One custom action may name instances in several member accounts: each is
// handled in its own account with its own report; an instance of another
// Region is reported for that Region's Firebreak.
func TestSecurityHubActionAcrossAccounts(t *testing.T) {
	o := newOrgEnv(t)
	o.c.w.AddRole(contract.DefaultMemberRole, awsfake.Trust{Account: account})
	raw := edit(t, "securityhub-custom-action-organization.json", func(ev map[string]any) {
		findings := ev["detail"].(map[string]any)["findings"].([]any)
		third := strings.ReplaceAll(mustJSON(t, findings[1]), "us-east-1", "eu-west-1")
		third = strings.ReplaceAll(third, victimC, "i-0ddddddddddddddd4")
		ev["detail"].(map[string]any)["findings"] = append(findings, fromJSON(t, third))
	})
	dl := o.handle(raw)
	if dl.err != nil {
		t.Fatalf("Handle: %v", dl.err)
	}
	if len(dl.reports) != 3 {
		t.Fatalf("%d reports, want one per instance", len(dl.reports))
	}
	for i, want := range []struct {
		account, instance, findingID string
		decision                     report.Decision
	}{
		{memberB, victim, "5e2f7c1a9b3d4e6f8a0b1c2d3e4f5a6b", report.Contain},
		{memberC, victimC, "7a1b2c3d4e5f60718293a4b5c6d7e8f9", report.Contain},
		{memberC, "i-0ddddddddddddddd4", "7a1b2c3d4e5f60718293a4b5c6d7e8f9", report.Notify},
	} {
		rep := dl.reports[i]
		if rep.AccountID != want.account || rep.InstanceID != want.instance || rep.Decision != want.decision || rep.Finding.ID != want.findingID {
			t.Errorf("report %d: %s %s %s (finding %s; %s), want %s %s %s (finding %s)", i, rep.AccountID, rep.InstanceID, rep.Decision,
				rep.Finding.ID, rep.Reason, want.account, want.instance, want.decision, want.findingID)
		}
	}
	if r := dl.reports[2]; !strings.Contains(r.Reason, "send the finding from Security Hub in eu-west-1") {
		t.Errorf("the other Region's instance: %q", r.Reason)
	}
	o.b.contained(victim, "5e2f7c1a9b3d4e6f8a0b1c2d3e4f5a6b")
	o.c.contained(victimC, "7a1b2c3d4e5f60718293a4b5c6d7e8f9")
	if got := o.b.tag(victim, contract.TagCaseID); got != "5e2f7c1a9b3d4e6f8a0b1c2d3e4f5a6b" {
		t.Errorf("case tag in %s = %q", memberB, got)
	}
}

// Every client the handler asks for is asked under the case, which the
// factory's clients put in each request's User-Agent.
func TestRequestsCarryTheirCase(t *testing.T) {
	e := newEnv(t, victim, nil)
	rec := &caseRecorder{Clients: awsfake.Factory{W: e.w}}
	h := handler.New(e.cfg, rec, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(e.w.Now))
	if _, err := h.Handle(context.Background(), events.Must("manual-contain.json")); err != nil {
		t.Fatal(err)
	}
	if len(rec.cases) == 0 {
		t.Fatal("no clients asked")
	}
	for _, c := range rec.cases {
		if c != "IR-2026-0142" {
			t.Errorf("clients asked under case %q, want the request's IR-2026-0142", c)
		}
	}
}

// caseRecorder notes the case in the context of every request for clients.
type caseRecorder struct {
	handler.Clients
	mu    sync.Mutex
	cases []string
}

func (r *caseRecorder) For(ctx context.Context, account, region string) (awsapi.Clients, error) {
	r.mu.Lock()
	r.cases = append(r.cases, awsclient.CaseOf(ctx))
	r.mu.Unlock()
	return r.Clients.For(ctx, account, region)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fromJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
