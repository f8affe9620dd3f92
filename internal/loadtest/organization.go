package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// OrgID is the simulated organization's id.
const OrgID = "o-firebreakload"

// OrgFleet is an organization: the security account, where the function
// runs and the report topic and evidence bucket are, and member accounts,
// each a Fleet with its own victims and bystanders and the member role.
type OrgFleet struct {
	Org      *awsfake.Organization
	Security *awsfake.World
	Members  []*Fleet
	Topic    string
	Bucket   string
	// GuardTable is the blast-radius guard's table, in the security account.
	GuardTable string
}

// MemberAccount is the id of the i-th member account (from 0).
func MemberAccount(i int) string { return fmt.Sprintf("2%011d", i+1) }

// NewOrgFleet spreads spec's victims and bystanders over members member
// accounts, round robin, each laid out as NewFleet lays out one account.
func NewOrgFleet(spec FleetSpec, members int) *OrgFleet {
	sec := awsfake.New(Account, Region)
	sec.SetClock(time.Now)
	o := &OrgFleet{Org: awsfake.NewOrganization(OrgID, sec), Security: sec, Topic: sec.AddTopic("firebreak-reports"),
		Bucket: "firebreak-evidence-" + Account, GuardTable: "firebreak-guard"}
	sec.AddBucket(o.Bucket)
	sec.AddGuardTable(o.GuardTable)
	function := awsfake.FunctionPrincipal(Account).RoleARN()
	for i := range members {
		share := func(n int) int { return n/members + btoi(i < n%members) }
		f := NewFleet(FleetSpec{Victims: share(spec.Victims), Bystanders: share(spec.Bystanders), Seed: spec.Seed + uint64(i),
			Account: MemberAccount(i), IDBase: uint64(i+1) << 40})
		f.Topic, f.Bucket, f.GuardTable, f.Reports = o.Topic, o.Bucket, o.GuardTable, sec
		f.World.AddRole(contract.DefaultMemberRole, awsfake.Trust{Account: Account, PrincipalARNs: []string{function}, OrgID: OrgID})
		o.Org.Add(f.World)
		o.Members = append(o.Members, f)
	}
	return o
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Accounts lists the member accounts.
func (o *OrgFleet) Accounts() []string {
	out := make([]string, len(o.Members))
	for i, m := range o.Members {
		out[i] = m.World.Account()
	}
	return out
}

// Events interleaves the members' events (first victim of each member,
// then the second, ...), so that a burst reaches every account at once.
// Account returns the account of each event.
func (o *OrgFleet) Events() (evs [][]byte, account []string, err error) {
	per := make([][][]byte, len(o.Members))
	most := 0
	for i, m := range o.Members {
		if per[i], err = m.Events(); err != nil {
			return nil, nil, err
		}
		most = max(most, len(per[i]))
	}
	for k := range most {
		for i, m := range o.Members {
			if k < len(per[i]) {
				evs = append(evs, per[i][k])
				account = append(account, m.World.Account())
			}
		}
	}
	return evs, account, nil
}

// Inspect is Fleet.Inspect over every member, in Events' order.
func (o *OrgFleet) Inspect() []State {
	per := make([][]State, len(o.Members))
	most := 0
	for i, m := range o.Members {
		per[i] = m.Inspect()
		most = max(most, len(per[i]))
	}
	var out []State
	for k := range most {
		for i := range o.Members {
			if k < len(per[i]) {
				out = append(out, per[i][k])
			}
		}
	}
	return out
}

// BystandersTouched is Fleet.BystandersTouched over every member.
func (o *OrgFleet) BystandersTouched() []string {
	var out []string
	for _, m := range o.Members {
		out = append(out, m.BystandersTouched()...)
	}
	return out
}

// burstOrganization is Burst over an organization: spec.Findings findings
// spread over spec.Accounts member accounts, contained by the function in
// the security account through each member's role. EC2 throttles per
// account, so the lower bound is that of the busiest member. It also
// counts the AssumeRole calls: each execution environment should assume a
// member's role once per credentials lifetime, however many of the
// member's findings it handles.
func burstOrganization(ctx context.Context, o Options, spec BurstSpec) (Result, error) {
	if o.TimeScale <= 0 {
		return Result{}, fmt.Errorf("time scale %v: must be positive", o.TimeScale)
	}
	warm := 0
	if spec.GroupsExist {
		warm = 2 * spec.Accounts // each member's fleet alternates between its two VPCs
	}
	org := NewOrgFleet(FleetSpec{Victims: warm + spec.Findings, Bystanders: spec.Findings / 10, Seed: o.Seed}, spec.Accounts)
	org.Org.AddAccessKey(simulatorKey, awsfake.FunctionPrincipal(Account))
	sim, fn, err := serve(ctx, o, awssim.Backend{}, map[string]string{
		contract.EnvTopicARN: org.Topic, contract.EnvEvidenceBucket: org.Bucket, contract.EnvGuardTable: org.GuardTable,
		contract.EnvMaxAutomaticContainment: strconv.Itoa(contract.MaxAutomaticContainmentsLimit),
		contract.EnvMemberAccounts:          strings.Join(org.Accounts(), ","),
	}, awssim.WithDirectory(org.Org), awssim.WithTokenBuckets(o.TimeScale))
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = sim.Close() }()
	evs, accounts, err := org.Events()
	if err != nil {
		return Result{}, err
	}
	b := &bench{sim: sim, fn: fn}
	run, err := b.burstRun(ctx, o, spec, evs, warm)
	if err != nil {
		return Result{}, err
	}
	states := org.Inspect()[warm:]
	st := sim.Stats()

	// The busiest member's fullest bucket bounds the burst.
	var uses []BucketUse
	where := ""
	for _, a := range org.Accounts() {
		if u := BucketUses(sim.AccountStats(a)); len(u) > 0 && (len(uses) == 0 || u[0].Wait > uses[0].Wait) {
			uses, where = u, a+"/"
		}
	}
	pairs := map[string]bool{}
	for i, inv := range run.Invocations {
		for _, env := range inv.Environments {
			pairs[fmt.Sprintf("%d/%s", env, accounts[warm+i])] = true
		}
	}
	assumed := st["sts:AssumeRole"].Calls
	name := func(s string) string { return "burst-" + s + spec.Suffix() }
	var r Result
	r.burst(name, time.Duration(float64(run.Elapsed)*o.TimeScale), run.Elapsed, uses, where, states, spec.Findings)
	r.add(name("assume-role-calls"), "%d (%.3f per execution environment and member it served: %d pairs; %.3f per finding)",
		assumed, float64(assumed)/float64(max(1, len(pairs))), len(pairs), float64(assumed)/float64(max(1, spec.Findings)))
	r.add(name("attempts-per-call"), "%.3f", attemptsPerCall(st))
	r.add(name("cold-starts"), "%d", run.ColdStarts)
	r.containment(name, run, states, st, org)
	r.add(name("ec2-calls-per-finding"), "%s", perOp(st, "ec2:", spec.Findings))
	return r, nil
}
