package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// ErrGuardUnavailable is returned when the blast-radius guard's table could
// not answer: nothing was changed, and Lambda's retry asks again.
var ErrGuardUnavailable = errors.New("blast-radius guard unavailable")

// errHeld stops a run the guard holds back.
var errHeld = errors.New("held back by the blast-radius guard")

// Timings of the ledger (WithLedgerTimings scales them for load tests).
type LedgerTimings struct {
	// Guard: a take's deadline, and the first wait for a concurrent take.
	Guard ledger.GuardOptions
	// ReportLease is how long a publisher holds its claim on a report.
	ReportLease time.Duration
}

// reportRetention is how long a published report is remembered: GuardDuty
// re-publishes a finding for as long as its activity lasts.
const reportRetention = 90 * 24 * time.Hour

// WithLedgerTimings overrides the guard's and the report record's timings.
func WithLedgerTimings(t LedgerTimings) Option { return func(h *Handler) { h.ledgerTimings = t } }

func (h *Handler) ledger(ctx context.Context) (*ledger.Guard, *ledger.Reports, error) {
	api, err := h.clients.For(ctx, "", h.clients.Region())
	if err != nil {
		return nil, nil, fmt.Errorf("reaching the guard table: %w", err)
	}
	opt := h.ledgerTimings.Guard
	opt.Now = h.now
	lease := h.ledgerTimings.ReportLease
	if lease == 0 {
		lease = 30 * time.Second
	}
	return ledger.NewGuard(api.DynamoDB, h.cfg.GuardTable, h.cfg.MaxAutomatic, h.cfg.GuardWindow, opt),
		ledger.NewReports(api.DynamoDB, h.cfg.GuardTable, lease, reportRetention, h.now), nil
}

// guardRun is the guard's part in one containment. Automatic containments
// (GuardDuty) take a token beside the instance's description, and the run
// waits for it before its first change; a person's request is counted; a dry
// run only reads. A token taken for a run that then changed nothing (already
// contained, exempt, not found, ...) is given back.
type guardRun struct {
	g      *ledger.Guard
	auto   bool
	done   chan struct{}
	tok    ledger.Token
	err    error
	waited atomic.Bool
}

func (h *Handler) startGuard(ctx context.Context, rep *report.Report) *guardRun {
	gr := &guardRun{auto: rep.Source == finding.SourceGuardDuty && !rep.DryRun, done: make(chan struct{})}
	g, _, err := h.ledger(ctx)
	if err != nil {
		gr.err, gr.tok.Outcome = err, ledger.Unavailable
		close(gr.done)
		return gr
	}
	gr.g = g
	scope := ledger.Scope{Account: rep.AccountID, Region: rep.Region}
	go func() {
		defer close(gr.done)
		switch {
		case rep.DryRun:
			gr.tok, gr.err = g.Peek(ctx, scope, rep.InstanceID)
		case gr.auto:
			gr.tok, gr.err = g.Take(ctx, scope, rep.InstanceID, rep.CaseID)
		default:
			gr.tok, gr.err = g.Count(ctx, scope, rep.InstanceID, rep.CaseID)
		}
	}()
	return gr
}

// gate is the runbook's wait before its first change (automatic runs only).
func (gr *guardRun) gate(ctx context.Context) error {
	gr.waited.Store(true)
	select {
	case <-gr.done:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrGuardUnavailable, ctx.Err())
	}
	switch {
	case gr.err != nil:
		return fmt.Errorf("%w: %w", ErrGuardUnavailable, gr.err)
	case gr.tok.Outcome == ledger.Held:
		return errHeld
	}
	return nil
}

// finish gives back a token the run did not use and says in the report what
// the guard did.
func (gr *guardRun) finish(ctx context.Context, h *Handler, rep *report.Report) {
	<-gr.done
	if gr.auto && !gr.waited.Load() {
		// The run changed nothing: a token taken goes back, and any other
		// answer (held, unavailable) held nothing back.
		switch {
		case gr.err == nil && gr.tok.Outcome == ledger.Taken:
			if err := gr.g.Give(context.WithoutCancel(ctx), &gr.tok); err != nil {
				// The token stays until it expires: one containment fewer allowed.
				h.log.WarnContext(ctx, "could not give back the guard's token", "instance", rep.InstanceID, "error", err)
				gr.err = fmt.Errorf("giving back the token: %w", err)
			}
		case gr.tok.Outcome != ledger.AlreadyCounted:
			gr.tok.Outcome, gr.err = ledger.NotNeeded, nil
		}
	}
	g := &report.Guard{Outcome: gr.tok.Outcome, Cap: h.cfg.MaxAutomatic, WindowMinutes: int(h.cfg.GuardWindow / time.Minute)}
	if gr.tok.Outcome != ledger.Counted && gr.tok.Outcome != ledger.Unavailable && gr.tok.Outcome != ledger.NotNeeded {
		n := gr.tok.Count
		g.Count = &n
	}
	if gr.err != nil {
		g.Error, g.Message = ledger.Code(gr.err), gr.err.Error()
	}
	rep.Guard = g
}

// held turns a run the guard held back into the decision for a person.
func (h *Handler) held(rep *report.Report) {
	would := rep.Reason
	rep.Decision = report.Notify
	rep.Reason = fmt.Sprintf("blast-radius guard: %d automatic containments in the last %d minutes (cap %d); a person must decide",
		*rep.Guard.Count, rep.Guard.WindowMinutes, rep.Guard.Cap)
	req := finding.Request{InstanceID: rep.InstanceID, AccountID: rep.AccountID, Region: rep.Region, CaseID: rep.CaseID,
		Reason: "held back by the blast-radius guard; would have contained: " + would}
	rep.ManualRequest, _ = json.Marshal(req)
}

// Outcomes a report is recorded under: one report per case and outcome.
const (
	outcomeContained        = "contained"
	outcomeAlreadyContained = "already-contained"
	outcomeDrift            = "drift-"
	outcomePartial          = "partial"
	outcomeIsolationFailed  = "isolation-failed"
	outcomeFailed           = "failed"
	outcomeHeld             = report.GuardHeld
	outcomeGuardUnavailable = "guard-unavailable"
)

// onlyTransient reports whether every failed step failed on throttling, a
// server error or a timeout: what Lambda's retry can fix.
func onlyTransient(rep *report.Report) bool {
	failed := rep.Failed()
	for _, s := range failed {
		if !runbook.Transient(s.Error) {
			return false
		}
	}
	return len(failed) > 0
}

func outcomeOf(rep *report.Report, runErr error) string {
	switch {
	case rep.DryRun:
		return "dry-run-" + string(rep.Decision)
	case rep.Guard != nil && rep.Guard.Outcome == ledger.Held:
		return outcomeHeld
	case errors.Is(runErr, ErrGuardUnavailable):
		return outcomeGuardUnavailable
	case rep.Decision != report.Contain:
		return string(rep.Decision)
	case rep.AlreadyContained && len(rep.Drift) == 0 && errors.Is(runErr, ErrIncomplete):
		// A verification's read throttled: Lambda's retry verifies again.
		return outcomePartial
	case rep.AlreadyContained && (len(rep.Drift) > 0 || len(rep.Failed()) > 0):
		// Each verification that found something is its own report, even
		// when the case was reported already.
		return outcomeDrift + rep.StartedAt.Format("20060102T150405.000Z")
	case rep.AlreadyContained:
		return outcomeAlreadyContained
	case errors.Is(runErr, ErrIsolationFailed):
		return outcomeIsolationFailed
	case errors.Is(runErr, ErrIncomplete):
		return outcomePartial
	case len(rep.Failed()) > 0:
		return outcomeFailed
	}
	return outcomeContained
}

// publishOnce publishes the report unless one with the same case and outcome
// was published already. A containment left partial, stopped because the
// guard could not answer, or whose isolation failed on throttling or server
// errors alone is published only on Lambda's last attempt (events from
// EventBridge are retried): the retry usually finishes it, and its outcome is
// the one report. An isolation refused for good is published at once.
// Without the table, it publishes every time. It returns whether the report
// was published (or tried), and the publish error.
func (h *Handler) publishOnce(ctx context.Context, rep *report.Report, runErr error) (bool, error) {
	outcome := outcomeOf(rep, runErr)
	log := h.log.With("instance", rep.InstanceID, "case", rep.CaseID, "outcome", outcome)
	instance := rep.InstanceID
	if instance == "" {
		instance = "-"
	}
	key := ledger.ReportKey{Scope: ledger.Scope{Account: rep.AccountID, Region: rep.Region}, Instance: instance, Case: rep.CaseID, Outcome: outcome}
	_, reports, err := h.ledger(ctx)
	var claim *ledger.Claim
	retried := outcome == outcomePartial || outcome == outcomeGuardUnavailable ||
		(outcome == outcomeIsolationFailed && onlyTransient(rep))
	if err == nil && retried && rep.Source != finding.SourceManual {
		n, aerr := reports.Attempt(ctx, key)
		if aerr == nil && n <= contract.AsyncRetryAttempts {
			log.InfoContext(ctx, "not published yet: Lambda retries the event", "attempt", n)
			return false, nil
		}
		err = aerr
	}
	if err == nil {
		claim, err = reports.Claim(ctx, key)
		if err == nil && claim == nil {
			log.InfoContext(ctx, "not published: this case's report with this outcome was published already")
			return false, nil
		}
	}
	if err != nil {
		// A duplicate is better than no report.
		log.WarnContext(ctx, "publishing without the report record", "error", err)
	}
	perr := h.publish(ctx, rep)
	if claim != nil {
		rec := claim.Published
		if perr != nil {
			rec = claim.Failed
		}
		if err := rec(context.WithoutCancel(ctx)); err != nil {
			log.WarnContext(ctx, "could not update the report record", "error", err)
		}
	}
	return true, perr
}
