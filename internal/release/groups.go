package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// maxGroupsPerENI is EC2's default quota of security groups per interface.
const maxGroupsPerENI = 5

// securityGroups puts every recorded interface back in exactly the groups
// it had, by interface id. A group the owner added to the isolated interface
// after the containment is kept beside them: it was a person's decision
// about that interface, taken knowing it was isolated. An interface whose
// recorded group no longer exists stays isolated (the safe side) and fails
// the step; an interface that is gone is reported, not fatal.
func (r *run) securityGroups(ctx context.Context) report.Step {
	live := r.liveENIs()
	type change struct {
		id         string
		from, to   []string
		ownerAdded []string
	}
	var todo []change
	var notes, actions []string
	var errs []error
	for _, rec := range r.ev.record.NetworkInterfaces {
		cur, attached := live[rec.ID]
		if !attached {
			notes = append(notes, fmt.Sprintf("%s is no longer attached to the instance (deleted or moved): not restored", rec.ID))
			continue
		}
		var firebreak, owner []string
		for i, g := range cur.groups {
			switch {
			case cur.names[i] == contract.IsolationGroupName || cur.names[i] == contract.AllTrafficGroupName:
				firebreak = append(firebreak, g)
			case !slices.Contains(rec.Groups, g):
				owner = append(owner, g)
			}
		}
		want := slices.Concat(rec.Groups, owner)
		if len(firebreak) == 0 && sameSet(cur.groups, want) {
			notes = append(notes, fmt.Sprintf("%s already in %v", rec.ID, cur.groups))
			continue
		}
		if len(want) > maxGroupsPerENI {
			errs = append(errs, fmt.Errorf("%s left isolated: its %d recorded groups and the %d the owner added (%v) exceed %d per interface; choose by hand",
				rec.ID, len(rec.Groups), len(owner), owner, maxGroupsPerENI))
			continue
		}
		todo = append(todo, change{id: rec.ID, from: cur.groups, to: want, ownerAdded: owner})
	}
	for id := range live {
		if !slices.ContainsFunc(r.ev.record.NetworkInterfaces, func(e runbook.ENIRecord) bool { return e.ID == id }) {
			notes = append(notes, fmt.Sprintf("%s was attached after the containment: left as it is", id))
		}
	}
	results := async.Each(todo, func(c change) error {
		_, err := r.api.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: aws.String(c.id), Groups: c.to, DryRun: aws.Bool(r.req.DryRun)})
		if r.req.DryRun {
			err = awserr.DryRunOK(err)
		}
		switch {
		case awserr.Is(err, "InvalidGroup.NotFound"):
			return fmt.Errorf("%s left isolated: a recorded group of %v no longer exists: %w", c.id, c.to, err)
		case err != nil:
			return fmt.Errorf("restoring %s to %v: %w", c.id, c.to, err)
		}
		return nil
	})
	for i, c := range todo {
		if results[i] != nil {
			errs = append(errs, results[i])
			continue
		}
		a := r.verb(fmt.Sprintf("restore %s: %v -> %v", c.id, c.from, c.to))
		if len(c.ownerAdded) > 0 {
			a += fmt.Sprintf(" (kept %v, added by the owner after the containment)", c.ownerAdded)
		}
		actions = append(actions, a)
	}
	actions = append(actions, notes...)
	return r.finish(outcome{name: report.StepSecurityGroups, changed: len(todo), err: awserr.Join(errs), actions: actions,
		failed: "some interfaces are still isolated; see the error", unchanged: "every recorded interface is already in its own groups",
		done: fmt.Sprintf("%d interfaces %s in their recorded groups", len(todo), r.past("put back", "would be put back"))})
}

// past words a detail for a real run or a dry run.
func (r *run) past(done, planned string) string {
	if r.req.DryRun {
		return planned
	}
	return done
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
