package runbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

type isolation struct {
	step report.Step
	nacl []report.NACLEntry
	// swapFailed is set when an interface did not reach the isolation group,
	// or the hard cut failed in a way a retry can fix.
	swapFailed bool
	// isolatedAt is when AWS answered the last final swap.
	isolatedAt time.Time
}

const (
	// maxOpenWait bounds how long an interface may sit in the all-traffic
	// group waiting for detach to be sent.
	maxOpenWait = 2 * time.Second
	// finalSwapTimeout bounds the final swap and restores, which run even
	// past the invocation's deadline.
	finalSwapTimeout = 20 * time.Second
)

// isolate cuts every interface off the network, each on its own: interfaces
// can sit in different VPCs, and one refusing the change must not stop the rest.
// Groups are changed per interface, never with ModifyInstanceAttribute, which
// fails on instances with several interfaces.
func (r *run) isolate(ctx context.Context, prefetch *future[map[string]vpcGroups], f *facts) isolation {
	prefetched, perr := prefetch.wait()
	if perr != nil {
		r.log.WarnContext(ctx, "prefetching isolation groups failed; looking up per VPC", "error", perr)
	}
	if len(r.inst.ENIs) == 0 {
		f.markDetachIssued()
		f.swapIssued <- true
		return isolation{step: step(report.StepIsolate, report.NotApplicable, nil, "the instance has no network interface")}
	}
	nacl := async(func() (naclResult, error) { return r.hardCut(ctx, f), nil })

	type outcome struct {
		actions []string
		note    string
	}
	vpcs := r.inst.vpcs()
	results := make([]outcome, len(vpcs))
	// Once every VPC has sent its final swaps (or given up), the tag step may go.
	var reached sync.WaitGroup
	var lastSwap struct {
		sync.Mutex
		at time.Time
	}
	var allSent atomic.Bool
	allSent.Store(true)
	reached.Add(len(vpcs))
	go func() {
		reached.Wait()
		f.swapIssued <- allSent.Load()
	}()
	errs := each(indexes(len(vpcs)), func(i int) error {
		vpc := vpcs[i]
		sent := false
		reach := sync.OnceFunc(func() {
			if !sent {
				allSent.Store(false)
			}
			reached.Done()
		})
		defer reach()
		var enis []eni
		for _, e := range r.inst.ENIs {
			if e.VPC == vpc {
				enis = append(enis, e)
			}
		}
		if r.t.DryRun {
			sent = true
			acts, err := r.planIsolation(ctx, vpc, enis, prefetched)
			results[i].actions = acts
			return err
		}
		g, err := r.groupsFor(ctx, vpc, prefetched)
		if err != nil {
			return fmt.Errorf("preparing isolation groups in %s: %w", vpc, err)
		}
		verify := async(func() (struct{}, error) {
			if g.verified {
				return struct{}{}, nil
			}
			return struct{}{}, r.emptyGroup(ctx, g.isolation)
		})
		var todo []eni
		for _, e := range enis {
			if slices.Equal(e.Groups, []string{g.isolation}) {
				results[i].actions = append(results[i].actions, fmt.Sprintf("%s already in %s", e.ID, g.isolation))
				continue
			}
			todo = append(todo, e)
		}
		// First swap: all traffic allowed both ways, so flows tracked under
		// the owner's groups become untracked and die with the second swap.
		first := each(todo, func(e eni) error { return r.setGroups(ctx, e.ID, g.allTraffic) })
		if groupGone(first) {
			// Deleted since it was looked up (a release deletes the groups
			// no interface uses): find or make the pair again, now.
			_, _ = verify.wait()
			if g, err = r.regroup(ctx, vpc); err != nil {
				final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSwapTimeout)
				defer cancel()
				restored := r.restore(final, todo, first, nil)
				return fmt.Errorf("isolation groups of %s were deleted and could not be replaced; interfaces put back in their own groups (%s): %w", vpc, restored, err)
			}
			verify = async(func() (struct{}, error) { return struct{}{}, nil })
			again(todo, first, func(e eni) error { return r.setGroups(ctx, e.ID, g.allTraffic) })
		}
		if _, err := verify.wait(); err != nil {
			r.groups.forget(vpc)
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSwapTimeout)
			defer cancel()
			restored := r.restore(final, todo, first, nil)
			return fmt.Errorf("isolation group %s could not be verified empty; interfaces put back in their own groups (%s): %w", g.isolation, restored, err)
		}
		// Detach goes out with the final swap; but an interface must not sit
		// open to everything while a slow scan holds detach back.
		select {
		case <-f.detachIssued:
		case <-time.After(maxOpenWait):
			r.log.WarnContext(ctx, "detach not sent yet; isolating anyway", "waited", maxOpenWait)
		}
		sent = true
		reach()
		// The final swap and any restore must happen even if the invocation's
		// deadline passes now: leaving an interface open is the worst outcome.
		final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalSwapTimeout)
		defer cancel()
		second := each(todo, func(e eni) error { return r.setGroups(final, e.ID, g.isolation) })
		if groupGone(second) {
			if g2, err := r.regroup(final, vpc); err == nil {
				again(todo, second, func(e eni) error { return r.setGroups(final, e.ID, g2.isolation) })
				g = g2
			}
		}
		if len(todo) > 0 {
			answered := r.opt.Now()
			lastSwap.Lock()
			lastSwap.at = later(lastSwap.at, answered)
			lastSwap.Unlock()
		}
		var failures []error
		for k, e := range todo {
			switch {
			case second[k] != nil:
				failures = append(failures, second[k])
			case first[k] != nil:
				failures = append(failures, fmt.Errorf("%s isolated, but without the all-traffic step: connections tracked before may survive: %w", e.ID, first[k]))
			default:
				results[i].actions = append(results[i].actions, fmt.Sprintf("%s: %v -> %s -> %s", e.ID, e.Groups, g.allTraffic, g.isolation))
			}
		}
		if len(failures) > 0 {
			if restored := r.restore(final, todo, first, second); restored != "" {
				failures = append(failures, fmt.Errorf("interfaces left open by the failure put back in their own groups: %s", restored))
			}
		}
		if hasCode(joinErrs(first), "InvalidGroup.NotFound") || hasCode(joinErrs(second), "InvalidGroup.NotFound") {
			r.groups.forget(vpc)
		}
		return joinErrs(failures)
	})
	// If no VPC got as far as detach, nothing else will release the barrier.
	f.markDetachIssued()

	var actions []string
	for _, res := range results {
		actions = append(actions, res.actions...)
	}
	n, _ := nacl.wait()
	actions = append(actions, n.actions...)
	// A hard cut that failed on something a retry can fix (throttling) is
	// retried like a failed swap; one that cannot (no free rule number, the
	// entry quota) is reported and left to a person.
	out := isolation{nacl: n.entries, swapFailed: joinErrs(errs) != nil || retryable.IsErrorRetryable(n.err) == aws.TrueTernary}
	err := joinErrs(append(errs, n.err))
	switch {
	case err != nil:
		out.step = failed(report.StepIsolate, "isolation incomplete; see the error and act by hand on the interfaces not listed", err, actions)
	case r.t.DryRun:
		out.step = step(report.StepIsolate, report.Planned, actions, "%d interfaces in %d VPCs would be isolated (two-step swap)%s", len(r.inst.ENIs), len(vpcs), n.summary)
	default:
		out.step = step(report.StepIsolate, report.Done, actions, "%d interfaces in %d VPCs isolated (two-step swap)%s", len(r.inst.ENIs), len(vpcs), n.summary)
		out.isolatedAt = lastSwap.at
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// groupGone reports whether a swap failed because its group no longer exists.
func groupGone(errs []error) bool {
	return slices.ContainsFunc(errs, func(err error) bool { return hasCode(err, "InvalidGroup.NotFound") })
}

// again repeats the swaps that failed because their group was gone, in place.
func again(todo []eni, errs []error, swap func(eni) error) {
	var redo []int
	for k := range todo {
		if hasCode(errs[k], "InvalidGroup.NotFound") {
			redo = append(redo, k)
		}
	}
	res := each(redo, func(k int) error { return swap(todo[k]) })
	for i, k := range redo {
		errs[k] = res[i]
	}
}

// regroup replaces a VPC's remembered groups once a swap found one deleted:
// it looks them up again, or creates them, and verifies the isolation group
// before anything is moved to it.
func (r *run) regroup(ctx context.Context, vpc string) (vpcGroups, error) {
	r.groups.forget(vpc)
	g, err := r.groupsFor(ctx, vpc, nil)
	if err == nil && !g.verified {
		err = r.emptyGroup(ctx, g.isolation)
	}
	if err != nil {
		r.groups.forget(vpc)
		return g, fmt.Errorf("replacing the isolation groups of %s: %w", vpc, err)
	}
	g.verified = true
	return g, nil
}

func (r *run) setGroups(ctx context.Context, eniID string, groups ...string) error {
	_, err := r.api.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(eniID), Groups: groups})
	if err != nil {
		return fmt.Errorf("moving %s to %v: %w", eniID, groups, err)
	}
	return nil
}

// restore puts interfaces that reached the all-traffic group but not the
// isolation group back in their own groups: open to everything is worse than
// where they started. It says what it did, for the report.
func (r *run) restore(ctx context.Context, enis []eni, first, second []error) string {
	var open []eni
	for k, e := range enis {
		if first[k] == nil && (second == nil || second[k] != nil) {
			open = append(open, e)
		}
	}
	errs := each(open, func(e eni) error { return r.setGroups(ctx, e.ID, e.Groups...) })
	var out []string
	for k, e := range open {
		if errs[k] != nil {
			out = append(out, fmt.Sprintf("%s STILL IN THE ALL-TRAFFIC GROUP (%s)", e.ID, errorCode(errs[k])))
		} else {
			out = append(out, fmt.Sprintf("%s -> %v", e.ID, e.Groups))
		}
	}
	return strings.Join(out, ", ")
}

// planIsolation proves with EC2's DryRun flag that the changes are permitted,
// and lists them, without creating or changing anything.
func (r *run) planIsolation(ctx context.Context, vpc string, enis []eni, prefetched map[string]vpcGroups) ([]string, error) {
	g, ok := prefetched[vpc]
	if !ok {
		g, ok = r.groups.get(vpc)
	}
	if !ok {
		found, err := findGroups(ctx, r.api.EC2, []string{vpc})
		if err != nil {
			return nil, err
		}
		g = found[vpc]
	}
	var acts []string
	var errs []error
	if g.isolation == "" || g.allTraffic == "" {
		acts = append(acts, fmt.Sprintf("create %s and %s in %s", contract.IsolationGroupName, contract.AllTrafficGroupName, vpc))
		// The same tags as the real call: IAM allows creation only with them.
		_, err := r.api.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{DryRun: aws.Bool(true),
			GroupName: aws.String(contract.IsolationGroupName), VpcId: aws.String(vpc), Description: aws.String("dry run"),
			TagSpecifications: groupTags(contract.IsolationGroupName, contract.RoleIsolation)})
		errs = append(errs, dryRunOK(err))
	}
	target := g.isolation
	if target == "" {
		target = "<" + contract.IsolationGroupName + ">"
	}
	for _, e := range enis {
		acts = append(acts, fmt.Sprintf("%s: %v -> all-traffic -> %s", e.ID, e.Groups, target))
		groups := e.Groups
		if g.isolation != "" {
			groups = []string{g.isolation}
		}
		_, err := r.api.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{DryRun: aws.Bool(true),
			NetworkInterfaceId: aws.String(e.ID), Groups: groups})
		if err = dryRunOK(err); err != nil {
			errs = append(errs, fmt.Errorf("dry run of moving %s: %w", e.ID, err))
		}
	}
	return acts, joinErrs(errs)
}

type naclResult struct {
	entries []report.NACLEntry
	actions []string
	summary string
	err     error
}

// hardCut adds DENY entries for every private address of the instance to the
// network ACLs of the OTHER subnets of its VPCs. A network ACL matches the
// source on ingress and the destination on egress, so an entry naming the
// instance only bites where its traffic crosses another subnet's boundary
// (other subnets, NAT gateways, load balancers, endpoints); its own subnet's
// ACL cannot single it out.
func (r *run) hardCut(ctx context.Context, f *facts) naclResult {
	if !r.opt.NACL {
		return naclResult{}
	}
	acls, err := f.nacls.wait()
	if err != nil {
		return naclResult{err: err}
	}
	var todo []report.NACLEntry
	var res naclResult
	for _, acl := range acls {
		vpc := aws.ToString(acl.VpcId)
		var cidrs []string
		for _, e := range r.inst.ENIs {
			// An interface's traffic crosses this ACL when the ACL guards any
			// subnet other than the interface's own (even another of the
			// instance's subnets).
			crosses := slices.ContainsFunc(acl.Associations, func(a ec2types.NetworkAclAssociation) bool {
				return aws.ToString(a.SubnetId) != e.Subnet
			})
			if e.VPC != vpc || !crosses {
				continue
			}
			for _, ip := range e.IPv4 {
				cidrs = append(cidrs, ip+"/32")
			}
			for _, ip := range e.IPv6 {
				cidrs = append(cidrs, ip+"/128")
			}
		}
		if len(cidrs) == 0 {
			continue
		}
		for _, egress := range []bool{false, true} {
			present, missing, err := planDenies(acl, egress, cidrs)
			if err != nil {
				res.err = joinErrs([]error{res.err, err})
			}
			for _, e := range present {
				res.entries = append(res.entries, e)
				res.actions = append(res.actions, fmt.Sprintf("%s already denies %s (rule %d, egress=%v)", e.NetworkACLID, e.CIDR, e.RuleNumber, e.Egress))
			}
			todo = append(todo, missing...)
		}
	}
	if len(todo) == 0 && len(res.entries) == 0 && res.err == nil {
		res.summary = "; no network ACL outside the instance's own subnets to add a hard cut to"
		return res
	}
	verb := "add"
	if r.t.DryRun {
		verb = "would add"
	}
	errs := each(todo, func(e report.NACLEntry) error {
		if r.t.DryRun {
			return nil
		}
		in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(e.NetworkACLID), RuleNumber: aws.Int32(e.RuleNumber),
			Egress: aws.Bool(e.Egress), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny}
		if strings.Contains(e.CIDR, ":") {
			in.Ipv6CidrBlock = aws.String(e.CIDR)
		} else {
			in.CidrBlock = aws.String(e.CIDR)
		}
		if _, err := r.api.EC2.CreateNetworkAclEntry(ctx, in); err != nil {
			return fmt.Errorf("adding deny %s (rule %d, egress %v) to %s: %w", e.CIDR, e.RuleNumber, e.Egress, e.NetworkACLID, err)
		}
		return nil
	})
	for i, e := range todo {
		if errs[i] == nil {
			if !r.t.DryRun {
				res.entries = append(res.entries, e)
			}
			res.actions = append(res.actions, fmt.Sprintf("%s deny %s rule %d egress=%v in %s", verb, e.CIDR, e.RuleNumber, e.Egress, e.NetworkACLID))
		}
	}
	res.err = joinErrs(append(errs, res.err))
	n := len(res.entries)
	if r.t.DryRun {
		n = len(todo) + len(res.entries)
	}
	res.summary = fmt.Sprintf("; network ACL hard cut: %d deny entries", n)
	return res
}

// planDenies picks rule numbers below the ACL's first ALLOW in one direction,
// never reusing a number the owner has; entries already there are returned apart.
func planDenies(acl ec2types.NetworkAcl, egress bool, cidrs []string) (present, missing []report.NACLEntry, err error) {
	id := aws.ToString(acl.NetworkAclId)
	firstAllow := int32(32767)
	used := map[int32]bool{}
	existing := map[string]int32{}
	for _, e := range acl.Entries {
		if aws.ToBool(e.Egress) != egress {
			continue
		}
		n := aws.ToInt32(e.RuleNumber)
		used[n] = true
		if e.RuleAction == ec2types.RuleActionAllow && n < firstAllow {
			firstAllow = n
		}
	}
	for _, e := range acl.Entries {
		n := aws.ToInt32(e.RuleNumber)
		if aws.ToBool(e.Egress) == egress && e.RuleAction == ec2types.RuleActionDeny && aws.ToString(e.Protocol) == "-1" && n < firstAllow {
			existing[aws.ToString(e.CidrBlock)+aws.ToString(e.Ipv6CidrBlock)] = n
		}
	}
	next := firstAllow - 1
	for _, cidr := range cidrs {
		if n, ok := existing[cidr]; ok {
			present = append(present, report.NACLEntry{NetworkACLID: id, RuleNumber: n, Egress: egress, CIDR: cidr})
			continue
		}
		for next > 0 && used[next] {
			next--
		}
		if next <= 0 {
			return present, missing, fmt.Errorf("network ACL %s has no free rule number below its first ALLOW (%d) for %s", id, firstAllow, cidr)
		}
		used[next] = true
		missing = append(missing, report.NACLEntry{NetworkACLID: id, RuleNumber: next, Egress: egress, CIDR: cidr, Added: true})
	}
	return present, missing, nil
}
