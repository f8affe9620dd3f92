// Package handler is the containment Lambda's logic: decode the event, decide,
// run the runbook, report. functions/contain only wires it to the Lambda runtime.
package handler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/metrics"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/policy"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// Clients gives the AWS clients for an account and Region
// (awsclient.Factory in production, an in-memory AWS in tests and the demo).
type Clients interface {
	For(ctx context.Context, account, region string) (awsapi.Clients, error)
	Region() string
	// OwnAccount is the account the function runs in.
	OwnAccount(ctx context.Context) (string, error)
}

// ErrIsolationFailed is returned (after the report is published) when the
// instance could not be isolated, so that Lambda retries the event.
var ErrIsolationFailed = errors.New("isolation failed")

// ErrIncomplete is returned when the instance is isolated but a step failed
// on throttling or a server error: Lambda's retry finishes the work.
var ErrIncomplete = errors.New("containment incomplete")

// Handler handles one event at a time; it is safe for concurrent use.
type Handler struct {
	cfg     config.Config
	clients Clients
	log     *slog.Logger
	now     func() time.Time
	runOpts runbook.Options
	metrics metrics.Emitter

	ledgerTimings LedgerTimings

	mu       sync.Mutex
	runbooks map[string]*runbook.Runbook
}

// Option changes a Handler's defaults (tests, benchmarks, the demo).
type Option func(*Handler)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithMetrics writes one EMF line per invocation (metrics.Lambda() in the
// function); without it no metrics are written.
func WithMetrics(e metrics.Emitter) Option { return func(h *Handler) { h.metrics = e } }

// WithRunbookOptions overrides runbook settings such as the snapshot back-off.
func WithRunbookOptions(f func(*runbook.Options)) Option {
	return func(h *Handler) { f(&h.runOpts) }
}

// New returns a Handler.
func New(cfg config.Config, clients Clients, log *slog.Logger, opts ...Option) *Handler {
	h := &Handler{cfg: cfg, clients: clients, log: log, now: time.Now, runbooks: map[string]*runbook.Runbook{}}
	h.runOpts = runbook.Options{EvidenceBucket: cfg.EvidenceBucket, NACL: cfg.NACL(), Logger: log, Lock: runbook.SnapshotLock(cfg.SnapshotLock),
		RoleLockTable: cfg.GuardTable}
	for _, o := range opts {
		o(h)
	}
	h.runOpts.Now = h.now
	return h
}

// Handle processes one event. It returns one report, or several for a
// Security Hub action naming several instances. The error is non-nil only
// when retrying can help: bad input, isolation failure, or an unpublished report.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) ([]*report.Report, error) {
	start := h.now().UTC()
	ctx, calls := awsclient.CountCalls(ctx)
	reports, err := h.handle(ctx, raw, start)
	kind := report.KindContain
	if len(reports) > 0 && reports[0] != nil && reports[0].Kind == report.KindSweep {
		kind = report.KindSweep
	}
	h.emit(ctx, metrics.Invocation{Kind: kind, Start: start, Reports: reports, AWSCalls: calls.Load()})
	return reports, err
}

// emit writes the invocation's metric line; a failure to write it is logged,
// never the invocation's failure.
func (h *Handler) emit(ctx context.Context, inv metrics.Invocation) {
	if err := h.metrics.Emit(inv); err != nil {
		h.log.ErrorContext(ctx, "metrics not written", "error", err)
	}
}

func (h *Handler) handle(ctx context.Context, raw json.RawMessage, start time.Time) ([]*report.Report, error) {
	in, err := finding.Parse(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "rejecting event", "error", err)
		return nil, fmt.Errorf("nothing was changed: %w", err)
	}
	if in.Sweep {
		return h.sweep(ctx, start)
	}
	v := policy.Decide(in, policy.Thresholds{Contain: h.cfg.ContainMin, Notify: h.cfg.NotifyMin, Credentials: h.cfg.CredentialFindings})
	targets := []string{v.InstanceID}
	if in.Source == finding.SourceSecurityHub && v.Decision == report.Contain && len(v.Instances) > 0 {
		// One report per instance, each about that instance alone.
		targets, v.Instances = v.Instances, nil
	}
	reports := make([]*report.Report, len(targets))
	var errs []error
	for i, id := range targets {
		rep, err := h.one(ctx, in, raw, v, id, start)
		reports[i] = rep
		errs = append(errs, err)
	}
	return reports, errors.Join(errs...)
}

func (h *Handler) one(ctx context.Context, in *finding.Input, raw []byte, v policy.Verdict, instanceID string, start time.Time) (*report.Report, error) {
	rep := h.base(in, v, instanceID, start)
	// Every AWS request for the case names it, in CloudTrail of whichever
	// account it reaches.
	ctx = awsclient.WithCase(ctx, rep.CaseID)
	log := h.log.With("instance", rep.InstanceID, "decision", rep.Decision, "finding", findingIDOf(rep), "source", in.Source)
	var runErr error
	var prior map[string]string
	if rep.Decision == report.Contain {
		prior, runErr = h.contain(ctx, rep, raw)
	}
	keepRecord := h.writeBack(ctx, in, rep, prior, runErr)
	rep.FinishedAt = h.now().UTC()
	log.InfoContext(ctx, "decided", "finalDecision", rep.Decision, "reason", rep.Reason, "alreadyContained", rep.AlreadyContained, "failed", len(rep.Failed()))
	if quiet := quiet(rep, prior); quiet != "" {
		log.InfoContext(ctx, "not published", "why", quiet)
		if keepRecord != nil {
			keepRecord()
		}
		return rep, runErr
	}
	kept := async(func() error {
		if keepRecord != nil {
			keepRecord()
		}
		return nil
	})
	// The report goes to SNS and beside the evidence at the same time.
	stored := async(func() error {
		if rep.DryRun || rep.Evidence == nil {
			return nil
		}
		return h.storeReport(ctx, rep, reportKeyOf(rep))
	})
	tried, err := h.publishOnce(ctx, rep, runErr)
	switch {
	case err != nil:
		log.ErrorContext(ctx, "report not published", "error", err)
	case tried:
		log.InfoContext(ctx, "report published", "topic", h.cfg.TopicARN)
	}
	if tried {
		h.markReport(ctx, rep, prior, err)
	}
	// A report that could not be kept beside the evidence fails the
	// invocation, so the Errors alarm and the on-failure queue show it.
	serr := <-stored
	if serr != nil {
		log.ErrorContext(ctx, "report not stored with the evidence", "error", serr)
	}
	<-kept
	return rep, errors.Join(runErr, err, serr)
}

func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// quiet says why a report is not worth a notification, or "" when it is.
// Ignored events are noise, and GuardDuty re-publishes a finding every 15 min
// to 6 h: a re-delivery for an instance already contained for that same
// finding costs one read and no write.
func quiet(rep *report.Report, prior map[string]string) string {
	switch {
	case rep.Decision == report.Ignore:
		return "ignored"
	case rep.AlreadyContained && rep.Source == finding.SourceGuardDuty && rep.Finding != nil && len(rep.Drift) == 0 && len(rep.Failed()) == 0 &&
		rep.Finding.ID == prior[contract.TagFindingID] && prior[contract.TagReport] != "unpublished":
		return "re-delivery of the finding the instance was contained for"
	}
	return ""
}

// base fills what is known before touching AWS; now is the invocation's start.
func (h *Handler) base(in *finding.Input, v policy.Verdict, instanceID string, now time.Time) *report.Report {
	rep := &report.Report{Kind: report.KindContain, Decision: v.Decision, Reason: v.Reason, InstanceID: instanceID, Instances: v.Instances,
		// The deployment's dry-run setting wins: an observe-only deployment
		// never mutates, whatever a request asks.
		DryRun: h.cfg.DryRun || in.DryRun(), Source: in.Source, Steps: []report.Step{}, StartedAt: now}
	account, region := in.ScopeOf(instanceID)
	rep.AccountID, rep.Region = account, orDefault(region, h.clients.Region())
	if f := in.FindingOf(instanceID); f != nil {
		rep.Finding = &report.Finding{ID: f.ID, Type: f.Type, Severity: f.Severity, AccountID: f.AccountID, Region: f.Region,
			ResourceRole: f.ResourceRole(), Title: f.Title, Count: f.Count(), Sample: f.IsSample(), UpdatedAt: f.UpdatedAt.Time.UTC()}
		rep.CaseID = f.ID
	}
	if in.Manual != nil {
		rep.CaseID = in.Manual.CaseID
	}
	if rep.CaseID == "" {
		rep.CaseID = in.Source + "-" + now.Format("20060102T150405Z")
	}
	rep.CaseID = safeKey(rep.CaseID)
	if v.CredentialRole != "" {
		rep.Exfiltration = &report.Exfiltration{Role: v.CredentialRole, CredentialsOnly: v.CredentialsOnly, Suggested: revokeCommand(v.CredentialRole)}
	}
	return rep
}

// revokeCommand is the role-wide revocation a person may choose after an
// exfiltration: it denies every session of the role issued before now, the
// healthy instances' included, until they fetch new credentials. Firebreak
// never runs it: its own deny is scoped to the one instance.
func revokeCommand(role string) string {
	return fmt.Sprintf(`aws iam put-role-policy --role-name %s --policy-name firebreak-revoke-older-sessions --policy-document `+
		`'{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:TokenIssueTime":"'"$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ)"'"}}}]}'`, role)
}

// contain runs the runbook for rep.InstanceID and folds its outcome into rep.
// It returns the instance's tags as found when it was already contained.
func (h *Handler) contain(ctx context.Context, rep *report.Report, raw []byte) (map[string]string, error) {
	if rep.AccountID == "" {
		// A manual request may leave the account out: it means this one.
		own, err := h.clients.OwnAccount(ctx)
		if err != nil {
			rep.Steps = []report.Step{{Name: report.StepCapture, Status: report.Failed, Error: errorCode(err), Message: err.Error(),
				Detail: "could not tell which account this is; nothing was changed"}}
			return nil, fmt.Errorf("%w: %w", ErrIsolationFailed, err)
		}
		rep.AccountID = own
	}
	if rep.Source == finding.SourceSecurityHub && rep.Region != h.clients.Region() {
		// This function's role, evidence bucket and isolation groups are
		// those of its own Region; each Region's deployment acts on its own.
		rep.Decision = report.Notify
		addReason(rep, fmt.Sprintf("not contained: the instance is in %s and this Firebreak acts in %s; send the finding from Security Hub in %s, where that Region's Firebreak contains it",
			rep.Region, h.clients.Region(), rep.Region))
		return nil, nil
	}
	api, err := h.clients.For(ctx, rep.AccountID, rep.Region)
	if errors.Is(err, awsclient.ErrOtherAccount) {
		rep.Decision = report.Notify
		addReason(rep, "not contained: "+err.Error())
		return nil, nil
	}
	if errors.Is(err, awsclient.ErrMemberRoleMissing) {
		// Nothing was changed and a retry cannot help until someone deploys
		// the role: a notification and the MemberRoleMissing alarm, no error.
		h.log.ErrorContext(ctx, "member role missing", "account", rep.AccountID, "error", err)
		rep.Decision = report.Notify
		rep.MemberRoleMissing = 1
		addReason(rep, "not contained: "+err.Error())
		return nil, nil
	}
	if err != nil {
		rep.Steps = []report.Step{{Name: report.StepCapture, Status: report.Failed, Error: "ClientSetup", Message: err.Error(),
			Detail: "could not reach AWS; nothing was changed"}}
		return nil, fmt.Errorf("%w: %w", ErrIsolationFailed, err)
	}
	rb := h.runbook(rep.AccountID, rep.Region, api)
	// The guard answers while the instance is described; only an automatic
	// run waits for it, and only before its first change.
	guard := h.startGuard(ctx, rep)
	target := runbook.Target{InstanceID: rep.InstanceID, AccountID: rep.AccountID, Region: rep.Region,
		CaseID: rep.CaseID, FindingID: findingIDOf(rep), FindingType: findingTypeOf(rep), Reason: rep.Reason, DryRun: rep.DryRun,
		FromGuardDuty: rep.Source == finding.SourceGuardDuty, Event: raw}
	if x := rep.Exfiltration; x != nil {
		target.CredentialRole, target.CredentialsOnly = x.Role, x.CredentialsOnly
	}
	if guard.auto {
		target.Gate = guard.gate
	}
	out := rb.Run(ctx, target)
	guard.finish(ctx, h, rep)
	rep.Steps, rep.Evidence, rep.NACLEntries, rep.AlreadyContained = out.Steps, out.Evidence, out.NACLEntries, out.AlreadyContained
	rep.IsolatedAt, rep.Snapshots, rep.Credentials = out.IsolatedAt, out.Snapshots, out.Credentials
	if v := out.Verification; v != nil {
		rep.Steps, rep.Drift = append(rep.Steps, v.Checks...), v.Drift
		if v.Drifted() {
			// Kept beside the containment's evidence: a release reads every
			// report there, and removes the ACL entries a repair re-created.
			rep.Evidence = &report.Evidence{Bucket: h.cfg.EvidenceBucket,
				Key: runbook.EvidenceKey(rep.AccountID, rep.Region, rep.InstanceID, out.Tags[contract.TagCaseID], "capture.json")}
		}
	}
	switch {
	case errors.Is(out.Stopped, errHeld):
		h.held(rep)
		return out.Tags, nil
	case out.Stopped != nil:
		h.log.WarnContext(ctx, "blast-radius guard unavailable: nothing changed, Lambda retries", "instance", rep.InstanceID, "error", out.Stopped)
		addReason(rep, fmt.Sprintf("not contained: the blast-radius guard could not answer (%s), so nothing was changed; Lambda retries", rep.Guard.Error))
		return out.Tags, out.Stopped
	}
	switch {
	case out.Mismatch != "":
		rep.Decision = report.Notify
		rep.Reason = "not contained: " + out.Mismatch + "; a person must decide (" + rep.Reason + ")"
	case out.Exempt:
		rep.Decision = report.Notify
		rep.Reason = fmt.Sprintf("the instance carries %s=true: reported, never changed (would have contained: %s)", contract.TagExempt, rep.Reason)
	case out.Released:
		// Published: GuardDuty re-publishes a finding only when it saw the
		// activity again, which the person who released it should know.
		rep.Decision = report.Notify
		rep.Reason = fmt.Sprintf("released by a person at %s; re-publication ignored: finding %s was released, nothing changed (%s)",
			out.Tags[contract.TagReleasedAt], findingIDOf(rep), rep.Reason)
	case out.AlreadyContained && out.Verification.Drifted():
		rep.Reason = "already contained; drift found and repaired: " + strings.Join(out.Verification.Drift, "; ") + " (" + rep.Reason + ")"
	case out.AlreadyContained:
		rep.Reason = "already contained: nothing repeated (" + rep.Reason + ")"
	case out.NotFound:
		addReason(rep, fmt.Sprintf("the instance was not found in account %s, Region %s", rep.AccountID, rep.Region))
	}
	if out.Note != "" {
		addReason(rep, out.Note)
	}
	switch {
	case out.IsolationFailed:
		return out.Tags, fmt.Errorf("%w for %s", ErrIsolationFailed, rep.InstanceID)
	case out.Incomplete:
		return out.Tags, fmt.Errorf("%w: %s is isolated, a step failed transiently", ErrIncomplete, rep.InstanceID)
	}
	return out.Tags, nil
}

// markReport remembers on the instance that its containment report did not
// reach SNS (and clears that once a later one does), so the retry Lambda makes
// publishes rather than taking the event for a quiet re-delivery. It only
// writes on those two rare paths.
func (h *Handler) markReport(ctx context.Context, rep *report.Report, prior map[string]string, published error) {
	var value string
	switch {
	case rep.DryRun || rep.Decision != report.Contain || rep.InstanceID == "":
		return
	case published != nil:
		value = "unpublished"
	case prior[contract.TagReport] == "unpublished":
		value = "published"
	default:
		return
	}
	api, err := h.clients.For(ctx, rep.AccountID, rep.Region)
	if err == nil {
		_, err = api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{rep.InstanceID},
			Tags: []ec2types.Tag{{Key: aws.String(contract.TagReport), Value: aws.String(value)}}})
	}
	if err != nil {
		h.log.ErrorContext(ctx, "could not mark the report state on the instance", "instance", rep.InstanceID, "error", err)
	}
}

// storeReport keeps the final report beside the evidence: it records what was
// changed (groups, ACL entries) for whoever undoes the containment.
func (h *Handler) storeReport(ctx context.Context, rep *report.Report, key string) error {
	api, err := h.clients.For(ctx, rep.AccountID, rep.Region)
	var body []byte
	if err == nil {
		body, err = json.MarshalIndent(rep, "", "  ")
	}
	if err == nil {
		sum := sha256.Sum256(body)
		_, err = api.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(rep.Evidence.Bucket),
			Key:  aws.String(key),
			Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
			ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(b64(sum[:]))})
	}
	if err != nil {
		return fmt.Errorf("storing the report of %s beside the evidence: %w", rep.InstanceID, err)
	}
	return nil
}

func (h *Handler) publish(ctx context.Context, rep *report.Report) error {
	api, err := h.clients.For(ctx, "", h.clients.Region())
	if err != nil {
		return fmt.Errorf("publishing report for %s: %w", rep.InstanceID, err)
	}
	_, err = notify.Publish(ctx, api.SNS, h.cfg.TopicARN, rep)
	return err
}

func (h *Handler) runbook(account, region string, api awsapi.Clients) *runbook.Runbook {
	h.mu.Lock()
	defer h.mu.Unlock()
	key := account + "/" + region
	rb, ok := h.runbooks[key]
	if !ok {
		rb = runbook.New(api, h.runOpts)
		h.runbooks[key] = rb
	}
	return rb
}

// ReportKey is where a report is kept beside its evidence: one per attempt,
// so a retry never erases what an earlier attempt changed.
func ReportKey(rep *report.Report) string {
	return runbook.EvidenceKey(rep.AccountID, rep.Region, rep.InstanceID, rep.CaseID, "report-"+rep.StartedAt.Format("20060102T150405.000Z")+".json")
}

// reportKeyOf is ReportKey, except that a drift report is kept with the
// containment it repaired (its case may be another finding's).
func reportKeyOf(rep *report.Report) string {
	if rep.AlreadyContained && rep.Evidence != nil {
		// Named apart: never over the containment's own report of that instant.
		return path.Join(path.Dir(rep.Evidence.Key), "report-"+rep.StartedAt.Format("20060102T150405.000Z")+"-drift.json")
	}
	return ReportKey(rep)
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "Error"
}

func findingIDOf(rep *report.Report) string {
	if rep.Finding != nil {
		return rep.Finding.ID
	}
	return rep.CaseID
}

func findingTypeOf(rep *report.Report) string {
	if rep.Finding != nil {
		return rep.Finding.Type
	}
	return "manual"
}

func addReason(rep *report.Report, more string) {
	rep.Reason = strings.TrimSuffix(rep.Reason, ".") + "; " + more + "."
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

var unsafeKey = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeKey keeps case ids usable as one S3 key segment and one tag value.
func safeKey(s string) string {
	s = unsafeKey.ReplaceAllString(s, "-")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
