// Package runbook contains a compromised EC2 instance: capture, protect,
// isolate, detach, deregister, snapshot and tag, in that order of reporting,
// each step starting as soon as what it depends on is known.
package runbook

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// Options are the runbook's settings; they do not change between runs.
type Options struct {
	EvidenceBucket string
	// NACL adds the network-ACL hard cut to the security-group isolation.
	NACL bool
	// SnapshotBackoff is how long to wait after SnapshotCreationPerVolumeRateExceeded
	// (AWS asks for at least 15 s).
	SnapshotBackoff time.Duration
	// SnapshotReuseWindow: snapshots Firebreak took of the instance within this
	// window are this containment's set, so retries never take a second set.
	SnapshotReuseWindow time.Duration
	// RetryBase is the first wait before retrying a call that is not
	// idempotent (doubling, up to 5 s).
	RetryBase time.Duration
	// RoleLockTable is the ledger table that serialises writes of a role's
	// deny policies ("" turns credential containment off).
	RoleLockTable string
	// Lock is the EBS snapshot lock put on the evidence snapshots.
	Lock   SnapshotLock
	Now    func() time.Time
	Logger *slog.Logger
}

// Target is one instance to contain and why.
type Target struct {
	InstanceID string
	AccountID  string
	Region     string
	// CaseID names this containment in evidence keys: the finding id, or a
	// manual request's id.
	CaseID      string
	FindingID   string
	FindingType string
	Reason      string
	DryRun      bool
	// FromGuardDuty is set for GuardDuty's own events (not a person's
	// request): their re-publications after a release are ignored.
	FromGuardDuty bool
	// Event is the raw event, kept with the evidence.
	Event []byte
	// CredentialRole, when set, is the role a credential exfiltration finding
	// names: the live instance's role must be it.
	CredentialRole string
	// CredentialsOnly runs the capture and the credentials step alone.
	CredentialsOnly bool
	// Gate, when set, is waited for once the live instance shows there is
	// something to change, before the first change: an error stops the run
	// with nothing changed (the blast-radius guard).
	Gate func(context.Context) error
}

// Outcome is what the runbook did.
type Outcome struct {
	Steps            []report.Step
	Evidence         *report.Evidence
	Snapshots        []report.Snapshot
	NACLEntries      []report.NACLEntry
	Credentials      *report.Credentials
	AlreadyContained bool
	// Verification is what verifying an already contained instance found.
	Verification *Verification
	// Exempt is set when the live instance carries firebreak:exempt=true:
	// nothing was changed.
	Exempt bool
	// NotFound is set when the instance does not exist in this account and Region.
	NotFound bool
	// Released is set when a GuardDuty finding the instance was released
	// from came again: nothing was changed.
	Released bool
	// IsolationFailed tells the caller to let Lambda retry.
	IsolationFailed bool
	// Incomplete is set when the instance is isolated but a step failed in a
	// way a retry can fix: the caller should let Lambda retry.
	Incomplete bool
	// Note is something the report's reader must know (e.g. a release undone).
	Note string
	// Tags are the instance's tags as read before any change.
	Tags map[string]string
	// IsolatedAt is when AWS answered the last final swap of a successful
	// isolation (zero when nothing was swapped).
	IsolatedAt time.Time
	// Stopped is the gate's error: nothing was changed.
	Stopped error
	// Mismatch says why an exfiltration finding's role is not the
	// instance's: nothing was changed.
	Mismatch string
}

// Runbook runs containments in one account and Region. It is safe for
// concurrent use and remembers the isolation groups it found or made.
type Runbook struct {
	api    awsapi.Clients
	opt    Options
	groups *groupCache
}

// New returns a runbook over the given clients.
func New(api awsapi.Clients, opt Options) *Runbook {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.SnapshotBackoff == 0 {
		opt.SnapshotBackoff = 15 * time.Second
	}
	if opt.RetryBase == 0 {
		opt.RetryBase = 500 * time.Millisecond
	}
	if opt.SnapshotReuseWindow == 0 {
		opt.SnapshotReuseWindow = 24 * time.Hour
	}
	return &Runbook{api: api, opt: opt, groups: newGroupCache()}
}

// run is one containment's state.
type run struct {
	*Runbook
	t    Target
	inst *instance
	log  *slog.Logger
	now  time.Time
	// reads are those of a verification, made beside the first DescribeInstances.
	reads verifyReads
	// record is the evidence record, read once for all the checks that need it.
	recordOnce sync.Once
	record     *Record
	recordErr  error
}

// Run contains t.InstanceID. It never returns early on a step's failure: every
// step that does not depend on the failed one still runs, and all are reported.
func (rb *Runbook) Run(ctx context.Context, t Target) Outcome {
	r := &run{Runbook: rb, t: t, now: rb.opt.Now().UTC(),
		log: rb.opt.Logger.With("instance", t.InstanceID, "case", t.CaseID, "dryRun", t.DryRun)}

	// Round trip 1: the live instance, (on a cold start) the isolation groups,
	// and what verifying a contained instance reads.
	groups := rb.groups.prefetch(ctx, rb.api.EC2)
	r.reads = rb.startVerifyReads(ctx, t.InstanceID, nil)
	inst, err := describeInstance(ctx, rb.api.EC2, t.InstanceID)
	if err != nil {
		out := Outcome{Steps: r.allSteps(failed(report.StepCapture, "could not read the live instance; nothing was changed", err, nil),
			report.Skipped, "not attempted: the instance could not be read")}
		out.NotFound = hasCode(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")
		// Not found will not get better with a retry; anything else might.
		out.IsolationFailed = !out.NotFound
		return out
	}
	r.inst = inst
	if v := inst.Tags[contract.TagExempt]; v == "true" {
		return Outcome{Exempt: true, Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil, "instance is exempt (%s=true): nothing captured or changed", contract.TagExempt),
			report.Skipped, "instance is exempt: nothing changed")}
	}
	if releasedRepublication(inst, t) {
		return Outcome{Released: true, Tags: inst.Tags, Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil,
			"released by a person at %s (%s): re-publication of finding %s ignored", inst.Tags[contract.TagReleasedAt], inst.Tags[contract.TagReleasedBy], t.FindingID),
			report.Skipped, "released by a person: nothing changed")}
	}
	if inst.Tags[contract.TagStatus] == contract.StatusContained && !t.DryRun {
		return r.alreadyContained(ctx, r.reads)
	}
	if inst.contained() {
		out := Outcome{AlreadyContained: true, Tags: inst.Tags, Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil,
			"already contained at %s (case %s): nothing repeated", inst.Tags[contract.TagContainedAt], inst.Tags[contract.TagCaseID]),
			report.Skipped, "already contained: nothing repeated")}
		r.finishLocks(ctx, &out)
		return out
	}
	var note string
	if inst.Tags[contract.TagStatus] == contract.StatusContained {
		note = "the instance was tagged contained, but an interface is no longer in the isolation group alone (released or tampered with): contained again"
		r.log.WarnContext(ctx, note)
	}
	if inst.State == "terminated" || inst.State == "shutting-down" {
		return Outcome{Steps: r.allSteps(step(report.StepCapture, report.NotApplicable, nil, "instance is %s: nothing left to contain", inst.State),
			report.NotApplicable, "instance is "+inst.State)}
	}
	if t.CredentialRole != "" {
		// An exfiltration finding names the role whose credentials were
		// used: contain only an instance that still has it.
		why, err := r.credentialRoleMismatch(ctx)
		switch {
		case err != nil:
			return Outcome{IsolationFailed: true, Tags: inst.Tags, Steps: r.allSteps(failed(report.StepCapture,
				"could not read the instance's role to check the finding's; nothing was changed", err, nil), report.Skipped, "not attempted: the role could not be checked")}
		case why != "":
			return Outcome{Mismatch: why, Tags: inst.Tags, Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil, "not captured: %s", why),
				report.Skipped, "nothing changed: "+why)}
		}
	}
	if t.Gate != nil {
		if err := t.Gate(ctx); err != nil {
			return Outcome{Stopped: err, Tags: inst.Tags, Note: note, Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil, "not captured: %v", err),
				report.Skipped, "nothing changed: "+err.Error())}
		}
	}

	// Round trip 2 onwards. Reads for the evidence run beside the changes that
	// do not alter what they read; detach is issued together with the final
	// isolation swap so the group never sees an isolated member.
	f := r.gather(ctx)
	if t.CredentialsOnly {
		return r.credentialsOnly(ctx, f, note)
	}
	protect := async(func() (report.Step, error) { return r.protect(ctx, f), nil })
	detach := async(func() (report.Step, error) { return r.detach(ctx, f), nil })
	isolate := async(func() (isolation, error) { return r.isolate(ctx, groups, f), nil })
	deregister := async(func() (report.Step, error) { return r.deregister(ctx, f), nil })
	snapshot := async(func() (snapshotted, error) { return r.snapshot(ctx, f), nil })
	capture := async(func() (captured, error) { return r.capture(ctx, f), nil })
	creds := async(func() (credentialsDone, error) {
		// The deny starts now (IAM); the instance's own EC2 writes wait for
		// isolation and protection, which need EC2's mutating rate more.
		s, c := r.credentials(ctx, f, func() { isolate.wait(); protect.wait() })
		return credentialsDone{s, c}, nil
	})

	// The status tag is written beside the final swap; if isolation then
	// fails, it is overwritten (and a retry checks the groups, not only the tag).
	tagged := async(func() (report.Step, error) {
		if <-f.swapIssued {
			return r.tag(ctx, contract.StatusContained), nil
		}
		return report.Step{}, nil
	})
	iso, _ := isolate.wait()
	tag, _ := tagged.wait()
	if iso.swapFailed {
		tag = r.tag(ctx, contract.StatusIsolationFailed)
	}
	cap, _ := capture.wait()
	snap, _ := snapshot.wait()
	cred, _ := creds.wait()
	steps := []report.Step{cap.step, must(protect), iso.step, must(detach), must(deregister), snap.step, tag, cred.step}
	// A step that failed on throttling or a server error after the SDK's
	// retries is worth a Lambda retry: the status says "partial", so the retry
	// is not taken for "already contained" and redoes what is missing.
	incomplete := !iso.swapFailed && slices.ContainsFunc(steps, func(s report.Step) bool {
		return s.Status == report.Failed && Transient(s.Error)
	})
	if incomplete {
		steps[6] = r.tag(ctx, contract.StatusPartial)
	}
	r.recordLocks(ctx, snap)
	for _, s := range steps {
		r.log.InfoContext(ctx, "step", "step", s.Name, "status", s.Status, "error", s.Error)
	}
	return Outcome{Steps: steps, Evidence: cap.evidence, Snapshots: snap.snapshots, NACLEntries: iso.nacl, Credentials: cred.creds,
		IsolationFailed: iso.swapFailed, Incomplete: incomplete, Note: note, IsolatedAt: iso.isolatedAt.UTC(), Tags: inst.Tags}
}

type credentialsDone struct {
	step  report.Step
	creds *report.Credentials
}

func must(f *future[report.Step]) report.Step {
	s, _ := f.wait()
	return s
}

// allSteps reports the first step as given and every other step with one status.
func (r *run) allSteps(first report.Step, rest report.Status, detail string) []report.Step {
	steps := []report.Step{first}
	for _, name := range report.StepNames[1:] {
		steps = append(steps, report.Step{Name: name, Status: rest, Detail: detail})
	}
	return steps
}

// plan is the status a step reports for work it did (or, in a dry run, would do).
func (r *run) plan() report.Status {
	if r.t.DryRun {
		return report.Planned
	}
	return report.Done
}
