package e2e_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// The organization of these tests: the function runs in the security
// account (the sample events' account); members B and C have the member
// role, member D does not. Each account is a demo world of its own.
const (
	memberB = "222222222222"
	memberC = "333333333333"
	memberD = "444444444444"
	victimC = "i-0bcd2345ef678901a"
	victimD = "i-0ddddddddddddddd4"
	orgID   = "o-exampleorg1"
)

// member is one member account's world.
type member struct {
	aw   *awsfake.World
	demo awsfake.Demo
}

func (a member) state() map[string]string { return a.aw.State(a.demo) }

type orgEnv struct {
	*env
	members map[string]member

	mu         sync.Mutex
	userAgents map[string][]string // by account
}

func startOrg(t *testing.T) *orgEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	o := &orgEnv{members: map[string]member{}, userAgents: map[string][]string{}}
	sec := awsfake.New(account, region)
	d := sec.SeedDemo("i-0aaaaaaaaaaaaaaa1")
	org := awsfake.NewOrganization(orgID, sec)
	function := awsfake.FunctionPrincipal(account).RoleARN()
	for id, victimID := range map[string]string{memberB: victim, memberC: victimC, memberD: victimD} {
		w := awsfake.New(id, region)
		o.members[id] = member{w, w.SeedDemo(victimID)}
		org.Add(w)
		if id != memberD {
			w.AddRole(contract.DefaultMemberRole, awsfake.Trust{Account: account, PrincipalARNs: []string{function}, OrgID: orgID})
		}
	}
	w, err := e2e.StartOrganization(ctx, org, sec, d, awssim.WithObserver(func(r awssim.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.userAgents[r.Account] = append(o.userAgents[r.Account], r.UserAgent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	cfg := w.FunctionConfig()
	cfg.Env = map[string]string{contract.EnvMemberAccounts: strings.Join([]string{memberB, memberC, memberD}, ",")}
	o.env = &env{t: t, w: w}
	o.f = o.newFunction(ctx, cfg)
	return o
}

// states reads every account's world.
func (o *orgEnv) states() map[string]map[string]string {
	out := map[string]map[string]string{account: o.state()}
	for id, a := range o.members {
		out[id] = a.state()
	}
	return out
}

// unchangedExcept fails for every account whose world changed, but those
// named; in the security account, the evidence and the notifications may.
func (o *orgEnv) unchangedExcept(before map[string]map[string]string, changed ...string) {
	o.t.Helper()
	after := o.states()
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if slices.Contains(changed, id) {
			continue
		}
		for k, v := range before[id] {
			if id == account && (k == "objects" || k == "published") {
				continue
			}
			if after[id][k] != v {
				o.t.Errorf("%s in account %s changed:\n before %s\n after  %s", k, id, v, after[id][k])
			}
		}
	}
}

func (o *orgEnv) agents(acct string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.userAgents[acct])
}

func inMember(t *testing.T, name, acct, instanceID string) []byte {
	return edit(t, name, func(detail map[string]any) {
		detail["accountId"] = acct
		detail["resource"].(map[string]any)["instanceDetails"].(map[string]any)["instanceId"] = instanceID
	})
}

// TestContainsInAMemberAccount: the function in the security account
// contains B's instance: B's world changes, the others' do not; the evidence
// and the report stay in the security account; B sees one role session,
// named for the function, and every request there names the case.
func TestContainsInAMemberAccount(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	before := o.states()
	rep := o.mustInvoke(o.f, inMember(t, "guardduty-backdoor-c2.json", memberB, victim))
	if rep.Decision != report.Contain || rep.AccountID != memberB || len(rep.Failed()) > 0 {
		t.Fatalf("decision %q in %s, failed %v (%s); want a containment in %s", rep.Decision, rep.AccountID, rep.Failed(), rep.Reason, memberB)
	}
	b := o.members[memberB]
	containedIn(t, b.aw, b.demo, o.w.AWS, o.w.Demo.Bucket, backdoorID)
	o.unchangedExcept(before, memberB)

	evidence := false
	for _, obj := range o.w.AWS.Objects() {
		evidence = evidence || obj.Key == rep.Evidence.Key && strings.HasPrefix(obj.Key, memberB+"/"+region+"/"+victim+"/")
	}
	if !evidence || len(b.aw.Objects()) != 0 {
		t.Errorf("evidence %s: in the security account's bucket %v, objects in %s's own %d", rep.Evidence.Key, evidence, memberB, len(b.aw.Objects()))
	}
	if msgs := o.published(0); len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "CONTAINED") {
		t.Errorf("published %v in the security account, want one CONTAINED report", msgs)
	}
	sessions := o.w.Org.Sessions()
	if len(sessions) != 1 || sessions[0].Principal.Account != memberB || sessions[0].Principal.Session != "firebreak-contain" {
		t.Fatalf("role sessions %+v, want one in %s named firebreak-contain", sessions, memberB)
	}
	if left := time.Until(sessions[0].Expires); left > awsclient.MemberSessionDuration || left < awsclient.MemberSessionDuration-time.Minute {
		t.Errorf("the member session lasts %v, want %v", left, awsclient.MemberSessionDuration)
	}
	ua := o.agents(memberB)
	if len(ua) == 0 {
		t.Fatal("no request reached the member")
	}
	for _, u := range ua {
		if !strings.Contains(u, " firebreak-case/"+backdoorID) {
			t.Errorf("a request in %s does not name the case: User-Agent %q", memberB, u)
		}
	}

	// A second finding for the member on the warm function: the credentials
	// are reused, not assumed again.
	o.mustInvoke(o.f, inMember(t, "guardduty-backdoor-c2-update.json", memberB, victim))
	if n := o.w.Sim.Stats()["sts:AssumeRole"].Calls; n != 1 {
		t.Errorf("sts:AssumeRole called %d times for two findings, want once per credentials lifetime", n)
	}
}

// TestMemberRoleMissing: D has no member role: the finding is reported as
// such, nothing in any account changes, no request reaches D, and the
// invocation succeeds (retrying cannot help).
func TestMemberRoleMissing(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	before := o.states()
	rep := o.mustInvoke(o.f, inMember(t, "guardduty-backdoor-c2.json", memberD, victimD))
	want := "member role missing in " + memberD + "; deploy the member stack there"
	if rep.Decision != report.Notify || !strings.Contains(rep.Reason, want) || rep.MemberRoleMissing != 1 {
		t.Errorf("decision %q, memberRoleMissing %d, reason %q; want notify saying %q", rep.Decision, rep.MemberRoleMissing, rep.Reason, want)
	}
	o.unchangedExcept(before)
	if st := o.w.Sim.AccountStats(memberD); len(st) > 0 {
		t.Errorf("requests reached %s: %v", memberD, st)
	}
	if n := o.w.Sim.AccountStats(account)["sts:AssumeRole"].Errors; n != 1 {
		t.Errorf("%d refused AssumeRole calls, want the one", n)
	}
	if msgs := o.published(0); len(msgs) != 1 || !strings.Contains(msgs[0].Body, want) {
		t.Errorf("published %d messages, want one saying %q", len(msgs), want)
	}
}

// TestSecurityHubActionAcrossMembers: one custom action naming instances in
// B and C contains both, each in its own account with its own finding.
func TestSecurityHubActionAcrossMembers(t *testing.T) {
	t.Parallel()
	o := startOrg(t)
	before := o.states()
	body, err := o.invoke(o.f, events.Must("securityhub-custom-action-organization.json"))
	if err != nil {
		t.Fatalf("invocation failed: %v", err)
	}
	var reps []report.Report
	if err := json.Unmarshal(body, &reps); err != nil {
		t.Fatalf("response is not a list of reports: %v\n%s", err, body)
	}
	findings := map[string]string{memberB: "5e2f7c1a9b3d4e6f8a0b1c2d3e4f5a6b", memberC: "7a1b2c3d4e5f60718293a4b5c6d7e8f9"}
	if len(reps) != 2 {
		t.Fatalf("%d reports, want one per instance", len(reps))
	}
	for _, rep := range reps {
		if rep.Decision != report.Contain || rep.Finding == nil || rep.Finding.ID != findings[rep.AccountID] {
			t.Errorf("report for %s in %s: %q (%s)", rep.InstanceID, rep.AccountID, rep.Decision, rep.Reason)
		}
	}
	for id, findingID := range findings {
		m := o.members[id]
		containedIn(t, m.aw, m.demo, o.w.AWS, o.w.Demo.Bucket, findingID)
	}
	o.unchangedExcept(before, memberB, memberC)
	if n := o.w.Sim.Stats()["sts:AssumeRole"].Calls; n != 2 {
		t.Errorf("sts:AssumeRole called %d times, want once per member", n)
	}
}
