package runbook_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// ownerEntry is a network ACL entry the VPC's owner put there.
type ownerEntry struct {
	rule   int32
	egress bool
	action ec2types.RuleAction
	cidr   string
}

// addEntries writes owner entries through the API, as the owner would have.
func addEntries(t *testing.T, w *awsfake.World, acl string, entries ...ownerEntry) {
	t.Helper()
	for _, o := range entries {
		in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(o.rule), Egress: aws.Bool(o.egress),
			Protocol: aws.String("-1"), RuleAction: o.action}
		if strings.Contains(o.cidr, ":") {
			in.Ipv6CidrBlock = aws.String(o.cidr)
		} else {
			in.CidrBlock = aws.String(o.cidr)
		}
		if _, err := w.Clients().EC2.CreateNetworkAclEntry(context.Background(), in); err != nil {
			t.Fatalf("seeding %+v: %v", o, err)
		}
	}
}

// ownerRules surround the numbers Firebreak may use: the first ALLOW is 100,
// and 90, 95 and 97 are taken, so denies must squeeze in between.
var ownerRules = []ownerEntry{
	{90, false, ec2types.RuleActionDeny, "203.0.113.0/24"},
	{95, false, ec2types.RuleActionDeny, "198.51.100.0/24"},
	{97, false, ec2types.RuleActionDeny, "192.0.2.0/24"},
	{100, false, ec2types.RuleActionAllow, "0.0.0.0/0"},
	{101, false, ec2types.RuleActionAllow, "::/0"},
	{98, true, ec2types.RuleActionDeny, "203.0.113.0/24"},
	{100, true, ec2types.RuleActionAllow, "0.0.0.0/0"},
	{101, true, ec2types.RuleActionAllow, "::/0"},
}

// victimCIDRs is every address of the demo victim as a host CIDR.
func victimCIDRs(d awsfake.Demo) []string {
	var out []string
	for _, ip := range d.VictimIPs {
		if strings.Contains(ip, ":") {
			out = append(out, ip+"/128")
		} else {
			out = append(out, ip+"/32")
		}
	}
	slices.Sort(out)
	return out
}

// addedEntries lists the entries of acl that are not in before, as NACLEntry
// (recorded as added: the run created them).
func addedEntries(w *awsfake.World, acl string, before ec2types.NetworkAcl) []report.NACLEntry {
	key := func(e ec2types.NetworkAclEntry) string {
		return fmt.Sprint(aws.ToBool(e.Egress), aws.ToInt32(e.RuleNumber))
	}
	old := map[string]bool{}
	for _, e := range before.Entries {
		old[key(e)] = true
	}
	var out []report.NACLEntry
	for _, e := range w.NetworkACL(acl).Entries {
		if !old[key(e)] {
			out = append(out, report.NACLEntry{NetworkACLID: acl, RuleNumber: aws.ToInt32(e.RuleNumber), Egress: aws.ToBool(e.Egress),
				CIDR: aws.ToString(e.CidrBlock) + aws.ToString(e.Ipv6CidrBlock) + "|" + string(e.RuleAction) + "|" + aws.ToString(e.Protocol), Added: true})
		}
	}
	return out
}

func sortEntries(es []report.NACLEntry) []report.NACLEntry {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b report.NACLEntry) int {
		return strings.Compare(fmt.Sprint(a.NetworkACLID, a.Egress, a.RuleNumber), fmt.Sprint(b.NetworkACLID, b.Egress, b.RuleNumber))
	})
	return es
}

func TestHardCutDeniesTheInstanceWhereItCrossesASubnetBoundary(t *testing.T) {
	e := newEnv(t)
	e.opt.NACL = true
	_, acl, bystander := e.addThirdSubnet()
	addEntries(t, e.w, acl, ownerRules...)
	before := e.w.NetworkACL(acl)
	own := e.w.NetworkACL(e.d.NetworkACL)
	bystanderENI := aws.ToString(e.w.Instance(bystander).NetworkInterfaces[0].NetworkInterfaceId)
	bystanderGroups := groupsOf(e.w, bystanderENI)

	out := e.contain()

	wantSteps(t, out, nil)
	// The victim's two subnets share the default ACL: each interface's
	// traffic crosses it on the way to the other subnet, so it gets the
	// denies too, for every address.
	ownAdded := addedEntries(e.w, e.d.NetworkACL, own)
	if len(ownAdded) != 2*len(e.d.VictimIPs) {
		t.Errorf("shared ACL %s got %d entries, want %d (a pair per address): %v", e.d.NetworkACL, len(ownAdded), 2*len(e.d.VictimIPs), ownAdded)
	}
	added := addedEntries(e.w, acl, before)
	owner := map[string]bool{}
	for _, o := range ownerRules {
		owner[fmt.Sprint(o.egress, o.rule)] = true
	}
	for _, egress := range []bool{false, true} {
		var cidrs []string
		for _, a := range added {
			if a.Egress != egress {
				continue
			}
			cidr, rest, _ := strings.Cut(a.CIDR, "|")
			cidrs = append(cidrs, cidr)
			if rest != "deny|-1" {
				t.Errorf("entry %d egress=%v for %s is %s, want a DENY of all protocols", a.RuleNumber, egress, cidr, rest)
			}
			if a.RuleNumber >= 100 {
				t.Errorf("entry %d egress=%v for %s is not below the first ALLOW (100)", a.RuleNumber, egress, cidr)
			}
			if owner[fmt.Sprint(egress, a.RuleNumber)] {
				t.Errorf("entry %d egress=%v reuses an owner's rule number", a.RuleNumber, egress)
			}
		}
		slices.Sort(cidrs)
		if want := victimCIDRs(e.d); !slices.Equal(cidrs, want) {
			t.Errorf("egress=%v: denies for %v, want one per address %v", egress, cidrs, want)
		}
	}
	var recorded []report.NACLEntry
	for _, a := range slices.Concat(added, ownAdded) {
		a.CIDR, _, _ = strings.Cut(a.CIDR, "|")
		recorded = append(recorded, a)
	}
	if got, want := sortEntries(out.NACLEntries), sortEntries(recorded); !slices.Equal(got, want) {
		t.Errorf("Outcome.NACLEntries = %v, want what was added %v", got, want)
	}
	if got := groupsOf(e.w, bystanderENI); !slices.Equal(got, bystanderGroups) {
		t.Errorf("bystander's interface moved from %v to %v", bystanderGroups, got)
	}
}

func TestHardCutRerunAddsNothingNew(t *testing.T) {
	for _, tc := range []struct {
		name string
		// first breaks the first run so that a second one is needed.
		first     func(e *env)
		wantAdded int
	}{
		{"first run complete but its tag failed", func(e *env) { e.w.FailAlways("CreateTags", "RequestLimitExceeded") }, 0},
		{"first run missed one entry", func(e *env) { e.w.FailNext("CreateNetworkAclEntry", apiErr("RequestLimitExceeded")) }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.opt.NACL = true
			_, acl, _ := e.addThirdSubnet()
			addEntries(t, e.w, acl, ownerRules...)
			before, shared := e.w.NetworkACL(acl), e.w.NetworkACL(e.d.NetworkACL)
			tc.first(e)
			first := e.contain()
			e.w.FailAlways("CreateTags", "")
			if got := tagsOf(e.w, e.d.Victim)[contract.TagStatus]; got == contract.StatusContained {
				t.Fatalf("first run tagged the victim contained: the second run would not happen (%+v)", first.Steps)
			}
			e.w.ResetCalls()
			midACL, midShared := e.w.NetworkACL(acl), e.w.NetworkACL(e.d.NetworkACL)

			second := e.contain()

			// The first run detached the victim and took its snapshots.
			wantSteps(t, second, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepSnapshot: report.Skipped})
			if n := e.w.Calls()["CreateNetworkAclEntry"]; n != tc.wantAdded {
				t.Errorf("second run made %d CreateNetworkAclEntry calls, want %d", n, tc.wantAdded)
			}
			// A pair per address in the third subnet's ACL and in the shared one.
			added := slices.Concat(addedEntries(e.w, acl, before), addedEntries(e.w, e.d.NetworkACL, shared))
			if len(added) != 4*len(e.d.VictimIPs) {
				t.Errorf("%d entries added over two runs, want %d: %v", len(added), 4*len(e.d.VictimIPs), added)
			}
			// Only what the second run created is recorded as added by it;
			// what the first made it found in place.
			again := slices.Concat(addedEntries(e.w, acl, midACL), addedEntries(e.w, e.d.NetworkACL, midShared))
			var recorded []report.NACLEntry
			for _, a := range added {
				a.Added = slices.ContainsFunc(again, func(x report.NACLEntry) bool {
					return x.NetworkACLID == a.NetworkACLID && x.Egress == a.Egress && x.RuleNumber == a.RuleNumber
				})
				a.CIDR, _, _ = strings.Cut(a.CIDR, "|")
				recorded = append(recorded, a)
			}
			if got, want := sortEntries(second.NACLEntries), sortEntries(recorded); !slices.Equal(got, want) {
				t.Errorf("second Outcome.NACLEntries = %v, want every entry in place %v", got, want)
			}
		})
	}
}

func TestHardCutWithoutAFreeRuleNumberFails(t *testing.T) {
	e := newEnv(t)
	e.opt.NACL = true
	_, acl, _ := e.addThirdSubnet()
	addEntries(t, e.w, acl,
		ownerEntry{1, false, ec2types.RuleActionDeny, "203.0.113.0/24"},
		ownerEntry{2, false, ec2types.RuleActionAllow, "0.0.0.0/0"})

	out := e.contain()

	wantSteps(t, out, map[string]report.Status{report.StepIsolate: report.Failed})
	s := stepOf(t, out, report.StepIsolate)
	if !strings.Contains(s.Message, "no free rule number below its first ALLOW (2)") || !strings.Contains(s.Message, acl) {
		t.Errorf("isolate message %q does not name the ACL and the lack of a free rule number", s.Message)
	}
	// No retry can create a free rule number: reported, not retried.
	if out.IsolationFailed {
		t.Error("IsolationFailed set for a failure a retry cannot fix")
	}
	// The security-group isolation does not depend on the hard cut.
	iso, _ := firebreakGroups(t, e.w, e.d.VPC)
	for _, eni := range e.d.VictimENIs {
		if got := groupsOf(e.w, eni); !slices.Equal(got, []string{iso}) {
			t.Errorf("%s is in %v, want [%s]", eni, got, iso)
		}
	}
	for _, entry := range e.w.NetworkACL(acl).Entries {
		if !aws.ToBool(entry.Egress) && aws.ToInt32(entry.RuleNumber) > 2 && aws.ToInt32(entry.RuleNumber) < 32767 {
			t.Errorf("ingress entry %d added above the first ALLOW", aws.ToInt32(entry.RuleNumber))
		}
	}
}
