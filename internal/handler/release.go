package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/metrics"
	"github.com/firebreak-ir/firebreak/internal/release"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
	"github.com/firebreak-ir/firebreak/internal/securityhub"
)

// ErrReleaseIncomplete is returned when a release step failed on throttling
// or a server error: a retry repeats nothing that succeeded.
var ErrReleaseIncomplete = errors.New("release incomplete")

// Release is the release Lambda's logic: decode a person's request, release
// each instance it names from its verified evidence, and report to the same
// topic, by the same rules, as a containment.
type Release struct {
	h *Handler

	mu        sync.Mutex
	releasers map[string]*release.Releaser
}

// NewRelease returns the release function's handler.
func NewRelease(cfg config.Config, clients Clients, log *slog.Logger, opts ...Option) *Release {
	return &Release{h: New(cfg, clients, log, opts...), releasers: map[string]*release.Releaser{}}
}

// Handle processes one request: one report per instance it names. The error
// is non-nil for bad input (nothing changed), a step that failed transiently,
// or a report that was not published or stored.
func (rl *Release) Handle(ctx context.Context, raw json.RawMessage) ([]*report.Report, error) {
	start := rl.h.now().UTC()
	ctx, calls := awsclient.CountCalls(ctx)
	reports, err := rl.handle(ctx, raw)
	rl.h.emit(ctx, metrics.Invocation{Kind: report.KindRelease, Start: start, Reports: reports, AWSCalls: calls.Load()})
	return reports, err
}

func (rl *Release) handle(ctx context.Context, raw json.RawMessage) ([]*report.Report, error) {
	in, err := finding.ParseRelease(raw)
	if err != nil {
		rl.h.log.ErrorContext(ctx, "rejecting release request", "error", err)
		return nil, fmt.Errorf("nothing was changed: %w", err)
	}
	who := requester(ctx, in)
	reports := make([]*report.Report, len(in.Targets))
	var errs []error
	for i, id := range in.Targets {
		rep, err := rl.one(ctx, in, id, who)
		reports[i] = rep
		errs = append(errs, err)
	}
	return reports, errors.Join(errs...)
}

func (rl *Release) one(ctx context.Context, in *finding.ReleaseInput, instanceID string, who *report.Requester) (*report.Report, error) {
	h := rl.h
	now := h.now().UTC()
	rep := &report.Report{Kind: report.KindRelease, Decision: report.Release, Reason: releaseReason(in), InstanceID: instanceID,
		// The deployment's dry-run setting wins, as for containments.
		DryRun: h.cfg.DryRun || (in.Manual != nil && in.Manual.DryRun), Source: in.Source, Steps: []report.Step{}, StartedAt: now,
		AccountID: in.AccountID(), Region: orDefault(in.Region(), h.clients.Region()), RequestedBy: who,
		Reattach: in.Manual != nil && in.Manual.Reattach}
	log := h.log.With("instance", instanceID, "kind", rep.Kind, "source", in.Source)
	runErr := rl.release(ctx, in, rep)
	rep.FinishedAt = h.now().UTC()
	log.InfoContext(ctx, "decided", "finalDecision", rep.Decision, "reason", rep.Reason, "alreadyReleased", rep.AlreadyReleased, "failed", len(rep.Failed()))
	stored := async(func() error {
		if rep.DryRun || rep.Evidence == nil {
			return nil
		}
		return h.storeReport(ctx, rep, runbook.EvidenceKey(rep.AccountID, rep.Region, rep.InstanceID, rep.CaseID,
			"release-"+rep.StartedAt.Format("20060102T150405.000Z")+".json"))
	})
	err := h.publish(ctx, rep)
	if err != nil {
		log.ErrorContext(ctx, "report not published", "error", err)
	}
	serr := <-stored
	if serr != nil {
		log.ErrorContext(ctx, "report not stored with the evidence", "error", serr)
	}
	return rep, errors.Join(runErr, err, serr)
}

// release runs the release for rep.InstanceID and folds its outcome into rep.
func (rl *Release) release(ctx context.Context, in *finding.ReleaseInput, rep *report.Report) error {
	h := rl.h
	refuse := func(why string) {
		rep.Decision = report.Notify
		rep.Reason = "not released: " + why + " (asked: " + rep.Reason + ")"
	}
	if in.IsSample() {
		refuse("the finding is a GuardDuty sample naming a placeholder instance")
		return nil
	}
	if rep.AccountID == "" {
		own, err := h.clients.OwnAccount(ctx)
		if err != nil {
			refuse("could not tell which account this is: " + err.Error())
			return fmt.Errorf("%w: %w", ErrReleaseIncomplete, err)
		}
		rep.AccountID = own
	}
	api, err := h.clients.For(ctx, rep.AccountID, rep.Region)
	if errors.Is(err, awsclient.ErrOtherAccount) {
		refuse(err.Error())
		return nil
	}
	if errors.Is(err, awsclient.ErrMemberRoleMissing) {
		// As for a containment: a retry cannot help until the role exists.
		h.log.ErrorContext(ctx, "member role missing", "account", rep.AccountID, "error", err)
		rep.MemberRoleMissing = 1
		refuse(err.Error())
		return nil
	}
	if err != nil {
		refuse("could not reach AWS: " + err.Error())
		return fmt.Errorf("%w: %w", ErrReleaseIncomplete, err)
	}
	out := rl.releaser(rep.AccountID, rep.Region, api).Run(ctx, release.Request{InstanceID: rep.InstanceID, AccountID: rep.AccountID,
		Region: rep.Region, Reason: rep.Reason, DryRun: rep.DryRun, Reattach: rep.Reattach, RequestedBy: requestedByTag(rep.RequestedBy),
		FindingIDs: in.FindingIDs()})
	rep.Steps, rep.CaseID, rep.Evidence = out.Steps, out.CaseID, out.Evidence
	switch {
	case out.Refused != "":
		refuse(out.Refused)
	case out.AlreadyReleased:
		rep.Decision, rep.AlreadyReleased = report.Notify, true
		rep.Reason = "already released: nothing left to change (" + rep.Reason + ")"
	case !rep.DryRun:
		rl.noteRelease(ctx, api, rep, out.Event)
	}
	if out.Incomplete {
		return fmt.Errorf("%w for %s: a step failed transiently; a retry repeats nothing that succeeded", ErrReleaseIncomplete, rep.InstanceID)
	}
	return nil
}

func (rl *Release) releaser(account, region string, api awsapi.Clients) *release.Releaser {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	key := account + "/" + region
	r, ok := rl.releasers[key]
	if !ok {
		r = release.New(api, release.Options{EvidenceBucket: rl.h.cfg.EvidenceBucket, Now: rl.h.now, Logger: rl.h.log,
			RoleLockTable: rl.h.cfg.GuardTable})
		rl.releasers[key] = r
	}
	return r
}

func releaseReason(in *finding.ReleaseInput) string {
	if in.Manual != nil {
		return in.Manual.Reason
	}
	reason := fmt.Sprintf("a person chose the Security Hub custom action %q in account %s", contract.ReleaseActionName, in.Envelope.Account)
	if ids := in.FindingIDs(); len(ids) > 0 {
		reason += " for finding " + strings.Join(ids, ", ")
	}
	return reason
}

// requester says what is really known of who asked. Lambda gives a function
// no identity for a direct Invoke (its context holds the request id, and a
// Cognito identity only for mobile SDK calls), and Security Hub's custom
// action event names the action and the account, not the person.
func requester(ctx context.Context, in *finding.ReleaseInput) *report.Requester {
	r := &report.Requester{}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.LambdaRequestID = lc.AwsRequestID
	}
	if in.Manual != nil {
		r.Via, r.Stated = "lambda-invoke", in.Manual.RequestedBy
		r.Note = "Lambda passes the function no caller identity: the invoker is in CloudTrail only where Lambda data events (Invoke) are logged, under this request id; requestedBy is the requester's own word"
		return r
	}
	r.Via, r.Account = "securityhub-action", in.Envelope.Account
	if len(in.Envelope.Resources) > 0 {
		r.Action = in.Envelope.Resources[0]
	}
	r.Note = "Security Hub's custom action event carries no user identity: the person is the one whose console session chose the action in this account at this time (CloudTrail)"
	return r
}

// requestedByTag is the released-by tag: what is known, in a tag's 256 characters.
func requestedByTag(r *report.Requester) string {
	if r == nil {
		return ""
	}
	var parts []string
	switch r.Via {
	case "lambda-invoke":
		if r.Stated != "" {
			parts = append(parts, "stated: "+r.Stated+" (unverified)")
		} else {
			parts = append(parts, "unknown: direct invoke (Lambda passes no caller)")
		}
	default:
		parts = append(parts, "securityhub-action in "+r.Account+" (no user in the event)")
	}
	if r.LambdaRequestID != "" {
		parts = append(parts, "lambda request "+r.LambdaRequestID)
	}
	return strings.Join(parts, "; ")
}

// noteRelease tells the finding the instance was contained for, in Security
// Hub, that a person released it. Only a person resolves a finding: the note
// changes no status. It never fails the release; the report says what
// happened.
func (rl *Release) noteRelease(ctx context.Context, api awsapi.Clients, rep *report.Report, event []byte) {
	in, err := finding.Parse(event)
	if err != nil || api.SecurityHub == nil {
		return
	}
	text := fmt.Sprintf("Firebreak released %s (case %s) at %s: %s", rep.InstanceID, rep.CaseID,
		rl.h.now().UTC().Format(time.RFC3339), rep.Reason)
	entry := securityhub.Writer{API: api.SecurityHub, Mode: rl.h.cfg.SecurityHub}.Note(ctx, securityhub.Findings(in, rep.InstanceID), text)
	rep.SecurityHub = &entry
}
