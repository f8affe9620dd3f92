package runbook_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

func TestIsolationSwapsEachInterfaceThroughAllTrafficToIsolation(t *testing.T) {
	e := newEnv(t)
	rec := e.record()
	bystanderGroups := groupsOf(e.w, aws.ToString(e.w.Instance(e.d.Bystander).NetworkInterfaces[0].NetworkInterfaceId))

	out := e.contain()

	wantSteps(t, out, nil)
	if out.IsolationFailed {
		t.Error("IsolationFailed set after a clean isolation")
	}
	iso, open := firebreakGroups(t, e.w, e.d.VPC)
	if iso == "" || open == "" {
		t.Fatalf("Firebreak's groups in %s: isolation %q, all-traffic %q", e.d.VPC, iso, open)
	}
	swaps := rec.swaps()
	for _, eni := range e.d.VictimENIs {
		if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
			t.Errorf("%s is in %v, want only the isolation group %s", eni, got, iso)
		}
		if got, want := swaps[eni], [][]string{{open}, {iso}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s was moved to %v, want %v (all-traffic first, then isolation)", eni, got, want)
		}
	}
	for _, c := range rec.recorded() {
		if in, ok := c.in.(*ec2.ModifyInstanceAttributeInput); ok && len(in.Groups) > 0 {
			t.Errorf("ModifyInstanceAttribute called with Groups %v: it fails on instances with several interfaces", in.Groups)
		}
	}
	if got := ruleSet(e.w, iso); len(got) != 0 {
		t.Errorf("isolation group %s has rules %v, want none", iso, got)
	}
	if got := ruleSet(e.w, open); !slices.Equal(got, allTrafficRules) {
		t.Errorf("all-traffic group %s has rules %v, want %v", open, got, allTrafficRules)
	}
	eni := aws.ToString(e.w.Instance(e.d.Bystander).NetworkInterfaces[0].NetworkInterfaceId)
	if got := groupsOf(e.w, eni); !slices.Equal(got, bystanderGroups) {
		t.Errorf("bystander's %s moved from %v to %v", eni, bystanderGroups, got)
	}
}

func TestIsolationGroupsInEveryKindOfVPC(t *testing.T) {
	for _, tc := range []struct {
		name string
		ipv6 bool
	}{
		{"dual-stack VPC: IPv4 and IPv6 default egress revoked", true},
		{"IPv4-only VPC: no IPv6 egress to revoke", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			vpc := e.w.AddVPC("172.16.0.0/16", tc.ipv6)
			subnet := e.w.AddSubnet(vpc, "172.16.1.0/24", "")
			nic := awsfake.NICSpec{Subnet: subnet}
			if tc.ipv6 {
				nic.IPv6s = 1
			}
			id := e.w.AddInstance(awsfake.InstanceSpec{NICs: []awsfake.NICSpec{nic}})

			out := e.runbook().Run(context.Background(), e.target(id))

			wantSteps(t, out, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepDeregister: report.NotApplicable})
			iso, open := firebreakGroups(t, e.w, vpc)
			if got := ruleSet(e.w, iso); len(got) != 0 {
				t.Errorf("isolation group %s has rules %v, want none", iso, got)
			}
			if got := ruleSet(e.w, open); !slices.Equal(got, allTrafficRules) {
				t.Errorf("all-traffic group %s has rules %v, want %v", open, got, allTrafficRules)
			}
			eni := aws.ToString(e.w.Instance(id).NetworkInterfaces[0].NetworkInterfaceId)
			if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
				t.Errorf("%s is in %v, want [%s]", eni, got, iso)
			}
		})
	}
}

func TestIsolationUsesEachVPCsOwnGroups(t *testing.T) {
	e := newEnv(t)
	rec := e.record()
	other := e.w.AddVPC("172.16.0.0/16", false)
	subnet := e.w.AddSubnet(other, "172.16.1.0/24", "")
	id := e.w.AddInstance(awsfake.InstanceSpec{NICs: []awsfake.NICSpec{{Subnet: e.d.SubnetA, IPv6s: 1}, {Subnet: subnet}}})
	inst := e.w.Instance(id)

	out := e.runbook().Run(context.Background(), e.target(id))

	wantSteps(t, out, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepDeregister: report.NotApplicable})
	if d := stepOf(t, out, report.StepIsolate).Detail; !strings.Contains(d, "2 interfaces in 2 VPCs") {
		t.Errorf("isolate detail %q does not say 2 interfaces in 2 VPCs", d)
	}
	seen := map[string]bool{}
	for _, ni := range inst.NetworkInterfaces {
		eni, vpc := aws.ToString(ni.NetworkInterfaceId), aws.ToString(ni.VpcId)
		iso, open := firebreakGroups(t, e.w, vpc)
		if iso == "" || seen[iso] {
			t.Fatalf("%s (%s): isolation group %q is missing or shared with another VPC", eni, vpc, iso)
		}
		seen[iso] = true
		if got := aws.ToString(e.w.SecurityGroup(iso).VpcId); got != vpc {
			t.Errorf("isolation group %s is in %s, want %s", iso, got, vpc)
		}
		if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
			t.Errorf("%s is in %v, want its own VPC's isolation group %s", eni, got, iso)
		}
		if got, want := rec.swaps()[eni], [][]string{{open}, {iso}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s was moved to %v, want %v", eni, got, want)
		}
	}
}

func TestOneInterfaceFailingLeavesTheOthersIsolated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env, rec *recordingEC2)
		code  string
		// where each victim interface must end: "isolated", "original" (its
		// groups before the run) or "not isolated".
		want    [2]string
		message string
	}{
		{
			name:  "requester-managed interface refuses every change",
			setup: func(e *env, _ *recordingEC2) { e.w.MarkRequesterManaged(e.d.VictimENIs[1], "ecs.amazonaws.com") },
			code:  "UnauthorizedOperation", want: [2]string{"isolated", "original"},
		},
		{
			name: "final swap of one interface refused",
			setup: func(e *env, rec *recordingEC2) {
				rec.before = func(op string, in any) error {
					mi, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput)
					if ok && aws.ToString(mi.NetworkInterfaceId) == e.d.VictimENIs[1] && isIsolationGroup(e.w, mi.Groups) {
						return apiErr("IncorrectState")
					}
					return nil
				}
			},
			code: "IncorrectState", want: [2]string{"isolated", "not isolated"},
		},
		{
			name: "first swap refused: isolated, but tracked flows may survive",
			setup: func(e *env, _ *recordingEC2) {
				e.w.FailNext("ModifyNetworkInterfaceAttribute", apiErr("RequestLimitExceeded"))
			},
			code: "RequestLimitExceeded", want: [2]string{"isolated", "isolated"}, message: "without the all-traffic step",
		},
		{
			name: "every interface refuses",
			setup: func(e *env, _ *recordingEC2) {
				e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
			},
			code: "RequestLimitExceeded", want: [2]string{"original", "original"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.record()
			var before [2][]string
			for i, eni := range e.d.VictimENIs {
				before[i] = groupsOf(e.w, eni)
			}
			tc.setup(e, rec)

			out := e.contain()

			wantSteps(t, out, map[string]report.Status{report.StepIsolate: report.Failed})
			s := stepOf(t, out, report.StepIsolate)
			if s.Error != tc.code || !strings.Contains(s.Message, tc.message) {
				t.Errorf("isolate: error %q message %q, want %q containing %q", s.Error, s.Message, tc.code, tc.message)
			}
			if !out.IsolationFailed {
				t.Error("IsolationFailed not set")
			}
			iso, _ := firebreakGroups(t, e.w, e.d.VPC)
			for i, eni := range e.d.VictimENIs {
				got := groupsOf(e.w, eni)
				var ok bool
				switch tc.want[i] {
				case "isolated":
					ok = slices.Equal(got, []string{iso})
				case "original":
					ok = slices.Equal(got, before[i])
				case "not isolated":
					ok = !slices.Contains(got, iso)
				}
				if !ok {
					t.Errorf("%s is in %v, want %s (isolation group %s, original %v)", eni, got, tc.want[i], iso, before[i])
				}
			}
			if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; got != contract.StatusIsolationFailed {
				t.Errorf("status tag %q, want %q", got, contract.StatusIsolationFailed)
			}
		})
	}
}

// isIsolationGroup tells whether groups is exactly Firebreak's isolation group.
func isIsolationGroup(w *awsfake.World, groups []string) bool {
	if len(groups) != 1 {
		return false
	}
	for _, tag := range w.SecurityGroup(groups[0]).Tags {
		if aws.ToString(tag.Key) == contract.TagRole && aws.ToString(tag.Value) == contract.RoleIsolation {
			return true
		}
	}
	return false
}

func TestAnIsolationGroupWithARuleIsEmptiedBeforeUse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fresh bool
	}{
		{"same runbook, group cached", false},
		{"new runbook, group found by its tag", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.record()
			rb := e.runbook()
			rb.Run(context.Background(), e.target(e.d.Bystander))
			iso, _ := firebreakGroups(t, e.w, e.d.VPC)
			ctx := context.Background()
			if _, err := e.w.Clients().EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(iso),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.w.Clients().EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(iso),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}}}); err != nil {
				t.Fatal(err)
			}
			// Every move into the isolation group must find it empty.
			var mu sync.Mutex
			var dirty []string
			rec.before = func(op string, in any) error {
				if mi, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput); ok && slices.Equal(mi.Groups, []string{iso}) {
					if rules := ruleSet(e.w, iso); len(rules) > 0 {
						mu.Lock()
						dirty = append(dirty, aws.ToString(mi.NetworkInterfaceId)+": "+strings.Join(rules, ", "))
						mu.Unlock()
					}
				}
				return nil
			}
			if tc.fresh {
				rb = e.runbook()
			}

			out := rb.Run(ctx, e.target(e.d.Victim))

			wantSteps(t, out, nil)
			if len(dirty) > 0 {
				t.Errorf("interfaces moved into a non-empty isolation group: %v", dirty)
			}
			if got := ruleSet(e.w, iso); len(got) != 0 {
				t.Errorf("isolation group %s still has %v", iso, got)
			}
			for _, eni := range e.d.VictimENIs {
				if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
					t.Errorf("%s is in %v, want [%s]", eni, got, iso)
				}
			}
		})
	}
}

func TestIsolationGroupsAreMadeOncePerVPCAndReused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	third := e.w.AddInstance(awsfake.InstanceSpec{Subnet: e.d.SubnetA, Groups: []string{e.d.WebGroup}})
	rb := e.runbook()

	rb.Run(ctx, e.target(e.d.Victim))
	iso, open := firebreakGroups(t, e.w, e.d.VPC)
	if n := e.w.Calls()["CreateSecurityGroup"]; n != 2 {
		t.Fatalf("first run: %d CreateSecurityGroup calls, want 2", n)
	}
	for _, run := range []struct {
		name     string
		rb       *runbook.Runbook
		instance string
	}{
		{"second run of the same runbook", rb, e.d.Bystander},
		{"a new runbook (a cold Lambda)", e.runbook(), third},
	} {
		e.w.ResetCalls()
		out := run.rb.Run(ctx, e.target(run.instance))
		if s := stepOf(t, out, report.StepIsolate); s.Status != report.Done {
			t.Fatalf("%s: isolate %s: %s", run.name, s.Status, s.Message)
		}
		if n := e.w.Calls()["CreateSecurityGroup"]; n != 0 {
			t.Errorf("%s: %d CreateSecurityGroup calls, want 0", run.name, n)
		}
		eni := aws.ToString(e.w.Instance(run.instance).NetworkInterfaces[0].NetworkInterfaceId)
		if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
			t.Errorf("%s: %s is in %v, want the existing isolation group %s", run.name, eni, got, iso)
		}
	}
	if i2, o2 := firebreakGroups(t, e.w, e.d.VPC); i2 != iso || o2 != open {
		t.Errorf("groups changed from %s/%s to %s/%s", iso, open, i2, o2)
	}
}

func TestGroupsMadeByAConcurrentCreatorAreAdopted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup arranges for the two groups to exist under Firebreak's names
		// without Firebreak's tags, and returns them once the run is over.
		setup func(e *env) func() (iso, open string)
	}{
		{
			name: "made by hand before the run, untagged, with a rule",
			setup: func(e *env) func() (string, string) {
				iso := e.w.AddSecurityGroup(e.d.VPC, "firebreak-isolation", ec2types.IpPermission{IpProtocol: aws.String("tcp"),
					FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}})
				open := e.w.AddSecurityGroup(e.d.VPC, "firebreak-all-traffic")
				return func() (string, string) { return iso, open }
			},
		},
		{
			name: "made by another invocation between the lookup and the create",
			setup: func(e *env) func() (string, string) {
				// sync.Once also holds the other create until both groups exist.
				var once sync.Once
				var iso, open string
				e.w.OnCall(func(op string) {
					if op == "CreateSecurityGroup" {
						once.Do(func() {
							iso = e.w.AddSecurityGroup(e.d.VPC, "firebreak-isolation")
							open = e.w.AddSecurityGroup(e.d.VPC, "firebreak-all-traffic")
						})
					}
				})
				return func() (string, string) { return iso, open }
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			groups := tc.setup(e)

			out := e.contain()

			wantSteps(t, out, nil)
			iso, open := groups()
			if got := groupByName(t, e.w, e.d.VPC, "firebreak-isolation"); got != iso {
				t.Errorf("firebreak-isolation is %s, want the adopted %s", got, iso)
			}
			if got := groupByName(t, e.w, e.d.VPC, "firebreak-all-traffic"); got != open {
				t.Errorf("firebreak-all-traffic is %s, want the adopted %s", got, open)
			}
			if got := ruleSet(e.w, iso); len(got) != 0 {
				t.Errorf("adopted isolation group %s has rules %v, want none", iso, got)
			}
			if got := ruleSet(e.w, open); !slices.Equal(got, allTrafficRules) {
				t.Errorf("adopted all-traffic group %s has rules %v, want %v", open, got, allTrafficRules)
			}
			for _, eni := range e.d.VictimENIs {
				if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
					t.Errorf("%s is in %v, want the adopted isolation group %s", eni, got, iso)
				}
			}
		})
	}
}

// The outcome says when AWS answered the last final swap: time to isolation
// is measured to it, not to the end of the run.
func TestIsolatedAtIsWhenTheLastFinalSwapWasAnswered(t *testing.T) {
	start := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		dryRun bool
		fail   bool
		want   time.Time
	}{
		{name: "isolated", want: start.Add(14 * time.Second)},
		{name: "dry run swaps nothing", dryRun: true},
		{name: "a final swap failed", fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var mu sync.Mutex
			now := start
			e.opt.Now = func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			}
			rec := e.record()
			swaps := map[string]int{}
			rec.before = func(op string, in any) error {
				sw, ok := in.(*ec2.ModifyNetworkInterfaceAttributeInput)
				if !ok || len(sw.Groups) == 0 || aws.ToBool(sw.DryRun) {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				id := aws.ToString(sw.NetworkInterfaceId)
				swaps[id]++
				if swaps[id] == 2 {
					// Each final swap takes 7 s: the answer to the second is the one.
					now = now.Add(7 * time.Second)
					if tc.fail {
						return apiErr("UnauthorizedOperation")
					}
				}
				return nil
			}
			tgt := e.target(e.d.Victim)
			tgt.DryRun = tc.dryRun
			out := e.runbook().Run(context.Background(), tgt)
			if !out.IsolatedAt.Equal(tc.want) {
				t.Errorf("IsolatedAt = %v, want %v (isolate: %+v)", out.IsolatedAt, tc.want, stepOf(t, out, report.StepIsolate))
			}
		})
	}
}
