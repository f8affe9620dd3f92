package handler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

const (
	// sweepConcurrency bounds the verifications in flight: each is a few
	// reads, and EC2's request rate is shared with the account's owners.
	sweepConcurrency = 8
	// sweepReserve is kept back from the invocation's deadline: a page in
	// flight finishes, the reports go out and the cursor is recorded.
	sweepReserve = 30 * time.Second
	// cursorRetention: a cursor older than this is dropped (its NextToken
	// would be stale) and the sweep starts over.
	cursorRetention = 24 * time.Hour
)

// sweepPage is how many contained instances one listing page holds (a
// variable for the tests of the cursor).
var sweepPage int32 = 100

// sweep verifies every instance tagged contained, in this account and each
// member account, in this Region, and repairs what drifted. It reports only
// what drifted or failed (one report per instance); the summary is returned,
// logged and counted (InstancesVerified). When the deadline nears it records
// where it stopped in the table, and the next sweep continues from there.
func (h *Handler) sweep(ctx context.Context, start time.Time) ([]*report.Report, error) {
	region := h.clients.Region()
	sum := &report.SweepSummary{}
	summary := &report.Report{Kind: report.KindSweep, Decision: report.Notify, Source: finding.SourceSchedule, Region: region,
		Steps: []report.Step{}, StartedAt: start, Sweep: sum, Reason: "scheduled verification of every contained instance"}
	done := func(found []*report.Report, err error) ([]*report.Report, error) {
		summary.FinishedAt = h.now().UTC()
		h.log.InfoContext(ctx, "sweep", "accounts", sum.Accounts, "verified", sum.Verified, "drifted", sum.Drifted,
			"failed", sum.Failed, "continues", sum.Continues, "errors", sum.Errors)
		return append([]*report.Report{summary}, found...), err
	}
	if h.cfg.DryRun {
		// An observe-only deployment never changes anything, repairs included.
		summary.Reason = "not swept: this deployment is a dry run, and a verification repairs what it finds"
		return done(nil, nil)
	}
	own, err := h.clients.OwnAccount(ctx)
	if err != nil {
		sum.Errors = append(sum.Errors, "could not tell which account this is: "+err.Error())
		return done(nil, fmt.Errorf("sweeping: %w", err))
	}
	accounts := append([]string{own}, h.cfg.MemberAccounts...)
	sum.Accounts = accounts
	cursors, cerr := h.sweepCursors(ctx)
	var cur ledger.Cursor
	if cerr == nil {
		cur, cerr = cursors.Load(ctx, region)
	}
	if cerr != nil {
		h.log.WarnContext(ctx, "sweep cursor unreadable: starting from the beginning", "error", cerr)
	}
	first := max(0, slices.Index(accounts, cur.Account))
	if accounts[first] != cur.Account {
		cur.Token = ""
	}

	var s sweeper
	s.h, s.start, s.sum = h, start, sum
	if dl, ok := ctx.Deadline(); ok {
		s.stopAt = dl.Add(-sweepReserve)
	}
	var next ledger.Cursor
	for i := first; i < len(accounts); i++ {
		token := ""
		if i == first {
			token = cur.Token
		}
		left, err := s.account(ctx, accounts[i], region, token)
		if err != nil {
			sum.Errors = append(sum.Errors, err.Error())
		}
		if left != "" {
			next = ledger.Cursor{Account: accounts[i], Token: left}
			break
		}
		if i+1 < len(accounts) && s.late() {
			next = ledger.Cursor{Account: accounts[i+1]}
			break
		}
	}
	sum.Continues = next.Account != ""
	if cursors != nil {
		var err error
		if sum.Continues {
			err = cursors.Save(ctx, region, next)
		} else if cur.Account != "" {
			err = cursors.Clear(ctx, region)
		}
		if err != nil {
			sum.Errors = append(sum.Errors, err.Error())
		}
	}
	var errs []error
	for _, rep := range s.found {
		errs = append(errs, h.publishFound(ctx, rep))
	}
	return done(s.found, errors.Join(errs...))
}

// sweeper is one sweep's progress.
type sweeper struct {
	h      *Handler
	start  time.Time
	stopAt time.Time
	mu     sync.Mutex
	sum    *report.SweepSummary
	found  []*report.Report
}

func (s *sweeper) late() bool { return !s.stopAt.IsZero() && time.Now().After(s.stopAt) }

// account verifies one account's contained instances, page by page, from
// token. It returns the token to continue from when the deadline came first.
func (s *sweeper) account(ctx context.Context, account, region, token string) (string, error) {
	api, err := s.h.clients.For(ctx, account, region)
	if err != nil {
		return "", fmt.Errorf("sweeping %s: %w", account, err)
	}
	rb := s.h.runbook(account, region, api)
	// One read of the isolation groups for every instance of this invocation.
	iso := rb.ReadIsolation(ctx)
	in := &ec2.DescribeInstancesInput{MaxResults: aws.Int32(sweepPage), Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + contract.TagStatus), Values: []string{contract.StatusContained}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}}}}
	if token != "" {
		in.NextToken = aws.String(token)
	}
	for {
		page, err := api.EC2.DescribeInstances(ctx, in)
		if err != nil && in.NextToken != nil && token != "" && awserr.Is(err, "InvalidParameterValue", "InvalidNextToken") {
			// A recorded cursor gone stale: this account starts over.
			token, in.NextToken = "", nil
			continue
		}
		if err != nil {
			return "", fmt.Errorf("listing the contained instances of %s: %w", account, err)
		}
		var insts []ec2types.Instance
		for _, r := range page.Reservations {
			insts = append(insts, r.Instances...)
		}
		sem := make(chan struct{}, sweepConcurrency)
		var wg sync.WaitGroup
		for i := range insts {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.verify(ctx, rb, iso, account, region, &insts[i])
			}()
		}
		wg.Wait()
		if page.NextToken == nil || aws.ToString(page.NextToken) == "" {
			return "", nil
		}
		in.NextToken = page.NextToken
		if s.late() {
			return aws.ToString(page.NextToken), nil
		}
	}
}

func (s *sweeper) verify(ctx context.Context, rb *runbook.Runbook, iso *runbook.Isolation, account, region string, inst *ec2types.Instance) {
	id := aws.ToString(inst.InstanceId)
	v, tags, err := rb.Verify(ctx, runbook.VerifyTarget{InstanceID: id, AccountID: account, Region: region, Recorded: true}, iso)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Not contained after all (tagged since the listing): nothing to verify.
		s.h.log.InfoContext(ctx, "not verified", "instance", id, "why", err)
		return
	}
	s.sum.Verified++
	if !v.Drifted() && !v.Failed {
		return
	}
	rep := &report.Report{Kind: report.KindSweep, Decision: report.Contain, AlreadyContained: true, Source: finding.SourceSchedule,
		InstanceID: id, AccountID: account, Region: region, CaseID: tags[contract.TagCaseID], Steps: v.Checks, Drift: v.Drift,
		NACLEntries: v.NACLEntries, StartedAt: s.start, FinishedAt: s.h.now().UTC()}
	switch {
	case v.Failed:
		s.sum.Failed++
		rep.Reason = "scheduled verification: a check or a repair failed (see the verify steps)"
	default:
		rep.Reason = "scheduled verification: drift found and repaired: " + strings.Join(v.Drift, "; ")
	}
	if v.Drifted() {
		s.sum.Drifted++
		rep.Evidence = &report.Evidence{Bucket: s.h.cfg.EvidenceBucket,
			Key: runbook.EvidenceKey(account, region, id, rep.CaseID, "capture.json")}
	}
	s.found = append(s.found, rep)
}

// publishFound publishes a sweep's report of one instance and keeps it
// beside the evidence (a release removes the ACL entries a repair made).
func (h *Handler) publishFound(ctx context.Context, rep *report.Report) error {
	var serr error
	if rep.Evidence != nil {
		serr = h.storeReport(ctx, rep, reportKeyOf(rep))
	}
	_, perr := h.publishOnce(ctx, rep, nil)
	return errors.Join(serr, perr)
}

func (h *Handler) sweepCursors(ctx context.Context) (*ledger.SweepCursors, error) {
	api, err := h.clients.For(ctx, "", h.clients.Region())
	if err != nil {
		return nil, fmt.Errorf("reaching the guard table: %w", err)
	}
	return ledger.NewSweepCursors(api.DynamoDB, h.cfg.GuardTable, cursorRetention, h.now), nil
}
