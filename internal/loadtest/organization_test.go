package loadtest

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestBurstOrganizationSmoke: findings of three members, each contained in
// its own account; every execution environment assumes a member's role once,
// however many of the member's findings it handles.
func TestBurstOrganizationSmoke(t *testing.T) {
	spec := BurstSpec{Findings: 9, RetryMode: aws.RetryModeStandard, GroupsExist: true, Concurrency: 2, Accounts: 3}
	r, err := Burst(context.Background(), smoke(), spec)
	if err != nil {
		t.Fatal(err)
	}
	name := func(s string) string { return "burst-" + s + "-concurrency-2-3-accounts" }
	if got := number(t, r, name("contained")); got != 1 {
		t.Errorf("contained = %v, want 1: %s", got, r.Get(name("problems")))
	}
	calls := r.Get(name("assume-role-calls"))
	if !strings.Contains(calls, "(1.000 per execution environment and member it served") {
		t.Errorf("assume-role-calls = %q, want one per environment and member", calls)
	}
	// Two environments over three members: at most six AssumeRole for nine findings.
	if got := number(t, r, name("assume-role-calls")); got < 3 || got > 6 {
		t.Errorf("assume-role-calls = %v, want between 3 (one environment per member) and 6", got)
	}
	if got := r.Get(name("sns-messages-per-finding")); !strings.HasPrefix(got, "1.000 (max 1,") {
		t.Errorf("sns-messages-per-finding = %q, want exactly one per finding", got)
	}
	for _, m := range []string{"failed-invocations", "bystanders-touched", "instances-with-extra-snapshot-sets"} {
		if got := number(t, r, name(m)); got != 0 {
			t.Errorf("%s = %v, want 0", m, got)
		}
	}
}

// TestOrgFleet: victims and bystanders are spread over the members, each
// member has the member role, and reports go to the security account.
func TestOrgFleet(t *testing.T) {
	o := NewOrgFleet(FleetSpec{Victims: 7, Bystanders: 3, Seed: 2}, 3)
	evs, accounts, err := o.Events()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{MemberAccount(0), MemberAccount(1), MemberAccount(2), MemberAccount(0), MemberAccount(1), MemberAccount(2), MemberAccount(0)}
	if strings.Join(accounts, ",") != strings.Join(want, ",") || len(evs) != 7 {
		t.Errorf("event accounts %v, want round robin %v", accounts, want)
	}
	for i, ev := range evs {
		if !strings.Contains(string(ev), `"accountId":"`+accounts[i]+`"`) {
			t.Errorf("event %d does not name its account %s", i, accounts[i])
		}
	}
	ids := map[string]bool{}
	for _, m := range o.Members {
		for _, v := range m.Victims {
			if ids[v.InstanceID] {
				t.Errorf("instance id %s in two member accounts", v.InstanceID)
			}
			ids[v.InstanceID] = true
		}
	}
	for i, m := range o.Members {
		if m.Reports != o.Security || m.Bucket != o.Bucket || len(m.Bystanders) != 1 {
			t.Errorf("member %d: reports in %v, bucket %s, %d bystanders", i, m.Reports.Account(), m.Bucket, len(m.Bystanders))
		}
	}
}
