// Package release undoes a containment from its verified evidence: it loads
// the pre-change record the instance names, checks it is intact and about
// this instance, records the release on the instance, then puts back the
// security groups, network ACL entries, attributes, and (when asked) the Auto
// Scaling group and load balancer memberships. Snapshots and evidence are
// never deleted.
package release

import (
	"context"
	"log/slog"
	"slices"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Options are the release function's settings.
type Options struct {
	EvidenceBucket string
	// RoleLockTable is the ledger table whose role locks serialise deny
	// policy writes ("" when the containment's deny cannot be removed here).
	RoleLockTable string
	Now           func() time.Time
	Logger        *slog.Logger
}

// Request is one release and why.
type Request struct {
	InstanceID string
	AccountID  string
	Region     string
	Reason     string
	DryRun     bool
	// Reattach puts the instance back in its Auto Scaling group and load
	// balancers; off by default, because the group has launched a replacement.
	Reattach bool
	// RequestedBy is what is known of who asked, for the released-by tag.
	RequestedBy string
	// FindingIDs are GuardDuty findings the person released the instance
	// from, besides the one it was contained for.
	FindingIDs []string
}

// Outcome is what the release did.
type Outcome struct {
	Steps []report.Step
	// Refused says why nothing was changed (never contained, exempt, the
	// evidence missing, altered or foreign); empty when the release ran.
	Refused string
	// AlreadyReleased: the instance was released and nothing was left to do.
	AlreadyReleased bool
	CaseID          string
	Evidence        *report.Evidence
	// Event is the event the instance was contained for, as its verified
	// record keeps it: the release's note goes to that finding.
	Event []byte
	// Incomplete: a step failed on throttling or a server error, and a
	// retry (which repeats nothing that succeeded) can finish the work.
	Incomplete bool
}

// Releaser releases instances in one account and Region.
type Releaser struct {
	api awsapi.Clients
	opt Options
}

// New returns a Releaser over the given clients.
func New(api awsapi.Clients, opt Options) *Releaser {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	return &Releaser{api: api, opt: opt}
}

// run is one release's state.
type run struct {
	*Releaser
	req  Request
	inst ec2types.Instance
	tags map[string]string
	ev   *evidence
	now  time.Time
	log  *slog.Logger
}

// Run releases req.InstanceID. Nothing changes until the evidence is
// verified; after that every step runs and reports, and a failure in one never
// stops a step that does not depend on it.
func (rl *Releaser) Run(ctx context.Context, req Request) Outcome {
	r := &run{Releaser: rl, req: req, now: rl.opt.Now().UTC(),
		log: rl.opt.Logger.With("instance", req.InstanceID, "dryRun", req.DryRun, "reattach", req.Reattach)}

	// Round trip 1: the live instance.
	if why, retry := r.describe(ctx); why != "" {
		return refused(why, retry, report.Step{Name: report.StepEvidence, Status: report.Skipped, Detail: "not read: " + why})
	}
	// Round trips 2 and 3: the record the instance names, verified, and the
	// hard-cut entries the containment's reports list.
	evidenceStep, why, retry := r.evidence(ctx)
	if why != "" {
		out := refused(why, retry, evidenceStep)
		out.CaseID = r.tags[contract.TagCaseID]
		return out
	}

	// The release is recorded first, so that a re-publication of the finding
	// arriving while it runs is not taken for a reason to contain again.
	tag := async.Go(func() report.Step { return r.tag(ctx) })
	groups := async.Go(func() report.Step { return r.securityGroups(ctx) })
	// Firebreak's groups go once no interface uses them any more.
	isolationGroups := async.Go(func() report.Step { return r.isolationGroups(ctx, groups.Wait()) })
	acl := async.Go(func() report.Step { return r.networkACL(ctx) })
	attributes := async.Go(func() report.Step { return r.attributes(ctx) })
	credentials := async.Go(func() report.Step { return r.credentials(ctx) })
	// Back into the group and behind the load balancers only on a restored
	// network: an isolated member fails its health checks and is replaced.
	network := async.Go(func() bool { return restored(groups.Wait()) && restored(acl.Wait()) })
	autoScaling := async.Go(func() report.Step { return r.autoScaling(ctx, network.Wait()) })
	// After the group: attaching registers the instance with the group's
	// own load balancers, and this step only adds what is still missing.
	loadBalancers := async.Go(func() report.Step {
		autoScaling.Wait()
		return r.loadBalancers(ctx, network.Wait())
	})

	steps := []report.Step{evidenceStep, tag.Wait(), groups.Wait(), isolationGroups.Wait(), acl.Wait(),
		attributes.Wait(), credentials.Wait(), autoScaling.Wait(), loadBalancers.Wait()}
	for _, s := range steps {
		r.log.InfoContext(ctx, "step", "step", s.Name, "status", s.Status, "error", s.Error)
	}
	out := Outcome{Steps: steps, CaseID: r.ev.caseID, Evidence: r.ev.report, Event: r.ev.record.Event}
	out.AlreadyReleased = r.tags[contract.TagStatus] == contract.StatusReleased && !slices.ContainsFunc(steps[1:], func(s report.Step) bool {
		return s.Status == report.Done || s.Status == report.Planned || s.Status == report.Failed
	})
	out.Incomplete = slices.ContainsFunc(steps, func(s report.Step) bool { return s.Status == report.Failed && awserr.Transient(s.Error) })
	return out
}

// refused reports a release that changed nothing: the first step says why,
// the others were not attempted.
func refused(why string, retry bool, first report.Step) Outcome {
	steps := []report.Step{first}
	for _, name := range report.ReleaseStepNames[1:] {
		steps = append(steps, report.Step{Name: name, Status: report.Skipped, Detail: "not attempted: nothing is changed without verified evidence"})
	}
	return Outcome{Refused: why, Steps: steps, Incomplete: retry}
}

// restored reports whether a network step left nothing isolated.
func restored(s report.Step) bool { return s.Status != report.Failed }

// plan is the status of a step that changed (or, in a dry run, would change) something.
func (r *run) plan() report.Status {
	if r.req.DryRun {
		return report.Planned
	}
	return report.Done
}

// outcome ends a step that changes several things: failed when any change
// failed, skipped when there was nothing to change, else done (planned in a
// dry run) with what it changed.
type outcome struct {
	name    string
	changed int
	err     error
	actions []string
	// failed, unchanged and done are the details of each case.
	failed, unchanged, done string
}

func (r *run) finish(o outcome) report.Step {
	switch {
	case o.err != nil:
		return failedStep(o.name, o.failed, o.err, o.actions)
	case o.changed == 0:
		return report.Step{Name: o.name, Status: report.Skipped, Actions: o.actions, Detail: o.unchanged}
	}
	return report.Step{Name: o.name, Status: r.plan(), Actions: o.actions, Detail: o.done}
}

// verb is how actions are worded: done, or in a dry run what would be done.
func (r *run) verb(done string) string {
	if r.req.DryRun {
		return "would " + done
	}
	return done
}
