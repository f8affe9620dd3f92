package handler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const backdoor = "guardduty-backdoor-c2.json"

// fill takes n tokens for other instances, as earlier containments would.
func (e *env) fill(n int) {
	e.t.Helper()
	g := ledger.NewGuard(e.w.Clients().DynamoDB, e.d.GuardTable, e.cfg.MaxAutomatic, e.cfg.GuardWindow, ledger.GuardOptions{Now: e.w.Now})
	for i := range n {
		tok, err := g.Take(context.Background(), ledger.Scope{Account: account, Region: region}, fmt.Sprintf("i-%017x", 0xf000+i), "earlier")
		if err != nil || tok.Outcome != ledger.Taken {
			e.t.Fatalf("filling the guard: %+v, %v", tok, err)
		}
	}
}

// liveSlots counts the guard's live tokens in the world's table.
func (e *env) liveSlots() int {
	n := 0
	for _, it := range e.w.Items(e.d.GuardTable) {
		pk := it["pk"].(*ddbtypes.AttributeValueMemberS).Value
		if strings.HasPrefix(pk, "slots#") {
			n++
		}
	}
	return n
}

func TestGuardHoldsBackOverTheCap(t *testing.T) {
	e := newEnv(t, victim, map[string]string{contract.EnvMaxAutomaticContainment: "2", contract.EnvGuardWindowMinutes: "30"})
	e.fill(2)
	before := e.state()
	dl := e.handle(events.Must(backdoor))
	if dl.err != nil {
		t.Fatalf("held containment failed the invocation: %v", dl.err)
	}
	rep := dl.only(t)
	want := "blast-radius guard: 2 automatic containments in the last 30 minutes (cap 2); a person must decide"
	if rep.Decision != report.Notify || rep.Reason != want {
		t.Fatalf("decision %s, reason %q; want notify, %q", rep.Decision, rep.Reason, want)
	}
	if rep.Guard == nil || rep.Guard.Outcome != ledger.Held || *rep.Guard.Count != 2 {
		t.Errorf("guard %+v, want held at 2", rep.Guard)
	}
	if m := dl.mutating(true); len(m) > 0 {
		t.Errorf("a held containment called %v", m)
	}
	e.unchanged(before)
	if len(dl.published) != 1 {
		t.Fatalf("published %d messages, want 1", len(dl.published))
	}
	if e.liveSlots() != 2 {
		t.Errorf("%d tokens, want the 2 taken before", e.liveSlots())
	}

	// The same finding again while held: nothing new to say.
	again := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if again.err != nil || len(again.published) != 0 || again.only(t).Decision != report.Notify {
		t.Errorf("re-delivery while held: error %v, %d published; want held again, quiet", again.err, len(again.published))
	}

	// The report carries the request a person sends to contain it anyway.
	in, err := finding.Parse(rep.ManualRequest)
	if err != nil || in.Manual == nil || in.Manual.InstanceID != victim || in.Manual.DryRun || in.Manual.CaseID != rep.CaseID {
		t.Fatalf("manual request %s: %+v, %v", rep.ManualRequest, in, err)
	}
	manual := e.handle(rep.ManualRequest)
	if manual.err != nil {
		t.Fatalf("manual request: %v", manual.err)
	}
	if got := manual.only(t); got.Guard == nil || got.Guard.Outcome != ledger.Counted || got.Decision != report.Contain {
		t.Fatalf("manual request: decision %s, guard %+v; want contained and counted", got.Decision, got.Guard)
	}
	e.contained(victim, backdoorID)
	if e.liveSlots() != 2 {
		t.Errorf("a person's containment took a token: %d", e.liveSlots())
	}
}

func TestGuardTableThrottled(t *testing.T) {
	e := newEnv(t, victim, nil)
	for _, op := range ledgerOps {
		e.w.FailAlways(op, "ProvisionedThroughputExceededException")
	}
	before := e.state()
	dl := e.handle(events.Must(backdoor))
	if !errors.Is(dl.err, handler.ErrGuardUnavailable) {
		t.Fatalf("error %v, want ErrGuardUnavailable so Lambda retries", dl.err)
	}
	if m := dl.mutating(true); len(m) > 0 {
		t.Errorf("an unguarded containment called %v", m)
	}
	e.unchanged(before)
	rep := dl.only(t)
	if rep.Guard == nil || rep.Guard.Outcome != ledger.Unavailable || rep.Guard.Error != "ProvisionedThroughputExceededException" ||
		!strings.Contains(rep.Reason, "could not answer (ProvisionedThroughputExceededException), so nothing was changed") {
		t.Errorf("guard %+v, reason %q", rep.Guard, rep.Reason)
	}
	// Reported even though the record of reports is unreachable too.
	if len(dl.published) != 1 {
		t.Errorf("published %d, want the report that says so", len(dl.published))
	}
	for _, op := range ledgerOps {
		e.w.FailAlways(op, "")
	}
	retry := e.handle(events.Must(backdoor))
	if retry.err != nil {
		t.Fatalf("retry: %v", retry.err)
	}
	e.contained(victim, backdoorID)
}

func TestGuardDryRunOnlyReads(t *testing.T) {
	for _, tc := range []struct {
		fill int
		want string
	}{{0, ledger.WouldTake}, {10, ledger.WouldHold}} {
		t.Run(tc.want, func(t *testing.T) {
			e := newEnv(t, victim, map[string]string{contract.EnvDryRun: "true"})
			e.fill(tc.fill)
			dl := e.handle(events.Must(backdoor))
			if dl.err != nil {
				t.Fatal(dl.err)
			}
			rep := dl.only(t)
			if rep.Guard == nil || rep.Guard.Outcome != tc.want || *rep.Guard.Count != tc.fill {
				t.Errorf("guard %+v, want %s with %d", rep.Guard, tc.want, tc.fill)
			}
			// Only the record of the published report is written.
			if dl.ledger["Query"] != 1 || dl.ledger["PutItem"] != 1 || dl.ledger["DeleteItem"] != 0 {
				t.Errorf("ledger calls %v: want one read of the slots and the report record", dl.ledger)
			}
			if e.liveSlots() != tc.fill {
				t.Errorf("a dry run took a token")
			}
		})
	}
}

// A run that changes nothing gives its token back.
func TestGuardTokenGivenBack(t *testing.T) {
	e := newEnv(t, victim, map[string]string{contract.EnvMaxAutomaticContainment: "1"})
	e.setTag(victim, contract.TagExempt, "true")
	if dl := e.handle(events.Must(backdoor)); dl.err != nil || dl.only(t).Guard.Outcome != ledger.Returned {
		t.Fatalf("exempt: %v, guard %+v; want the token returned", dl.err, dl.only(t).Guard)
	}
	if e.liveSlots() != 0 {
		t.Fatalf("%d tokens left after a run that changed nothing", e.liveSlots())
	}
	e.setTag(victim, contract.TagExempt, "false")
	first := e.handle(events.Must(backdoor))
	if first.err != nil || first.only(t).Guard.Outcome != ledger.Taken {
		t.Fatalf("containment: %v, guard %+v", first.err, first.only(t).Guard)
	}
	// A re-publication within the window finds the instance's token.
	again := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if again.err != nil || again.only(t).Guard.Outcome != ledger.AlreadyCounted || e.liveSlots() != 1 {
		t.Fatalf("re-delivery: %v, guard %+v, %d tokens", again.err, again.only(t).Guard, e.liveSlots())
	}
	// After the window, the re-publication takes and gives back a token.
	e.w.Advance(61 * time.Minute)
	late := e.handle(events.Must("guardduty-backdoor-c2-update.json"))
	if late.err != nil || late.only(t).Guard.Outcome != ledger.Returned {
		t.Fatalf("re-delivery after the window: %v, guard %+v", late.err, late.only(t).Guard)
	}
}

// Duplicate deliveries of one finding at once: one containment, one report.
func TestOneReportForConcurrentDuplicates(t *testing.T) {
	e := newEnv(t, victim, nil)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.h.Handle(context.Background(), events.Must(backdoor)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, handler.ErrIncomplete) {
			t.Errorf("delivery: %v", err)
		}
	}
	e.contained(victim, backdoorID)
	byStatus := map[string]int{}
	for _, m := range e.w.Published() {
		byStatus[attr(m, "status")]++
	}
	if byStatus["contained"] != 1 {
		t.Errorf("published %v, want exactly one contained report", byStatus)
	}
	if e.liveSlots() != 1 {
		t.Errorf("%d tokens for one instance", e.liveSlots())
	}
}

// A containment left partial is reported once, by the attempt that ends it.
func TestPartialReportedOnce(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.FailAlways("ModifyInstanceAttribute", "RequestLimitExceeded")
	first := e.handle(events.Must(backdoor))
	if !errors.Is(first.err, handler.ErrIncomplete) || len(first.published) != 0 {
		t.Fatalf("first attempt: %v, %d published; want incomplete, nothing published yet", first.err, len(first.published))
	}
	e.w.FailAlways("ModifyInstanceAttribute", "")
	retry := e.handle(events.Must(backdoor))
	if retry.err != nil || len(retry.published) != 1 || attr(retry.published[0], "status") != "contained" {
		t.Fatalf("retry: %v, %d published; want the one contained report", retry.err, len(retry.published))
	}

	// Partial on every attempt: published by the last one.
	e2 := newEnv(t, victim, nil)
	e2.w.FailAlways("ModifyInstanceAttribute", "RequestLimitExceeded")
	published := 0
	for attempt := 1; attempt <= 1+contract.AsyncRetryAttempts; attempt++ {
		dl := e2.handle(events.Must(backdoor))
		published += len(dl.published)
		if want := 0; attempt <= contract.AsyncRetryAttempts && len(dl.published) != want {
			t.Errorf("attempt %d published %d", attempt, len(dl.published))
		}
	}
	if published != 1 {
		t.Errorf("published %d partial reports over %d attempts, want 1", published, 1+contract.AsyncRetryAttempts)
	}
	// A person's request is not retried by Lambda: reported at once.
	manual := e2.handle(events.Must("manual-contain.json"))
	if !errors.Is(manual.err, handler.ErrIncomplete) || len(manual.published) != 1 {
		t.Errorf("manual partial: %v, %d published; want reported at once", manual.err, len(manual.published))
	}
}

// Only the guard's writes throttled: Lambda's attempts fail, and the last
// one reports it (the record of attempts still answers).
func TestGuardUnavailableReportedByTheLastAttempt(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.FailAlways("PutItem", "ProvisionedThroughputExceededException")
	published := 0
	for attempt := 1; attempt <= 1+contract.AsyncRetryAttempts; attempt++ {
		dl := e.handle(events.Must(backdoor))
		if !errors.Is(dl.err, handler.ErrGuardUnavailable) {
			t.Fatalf("attempt %d: %v", attempt, dl.err)
		}
		if attempt <= contract.AsyncRetryAttempts && len(dl.published) != 0 {
			t.Errorf("attempt %d published", attempt)
		}
		published += len(dl.published)
	}
	if published != 1 {
		t.Errorf("published %d over the attempts, want 1", published)
	}
}

// Isolation that failed on throttling alone is Lambda's to retry: reported
// once, by the attempt that ends it. Refused for good, it is reported at once.
func TestIsolationFailureReports(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "RequestLimitExceeded")
	first := e.handle(events.Must(backdoor))
	if !errors.Is(first.err, handler.ErrIsolationFailed) || len(first.published) != 0 {
		t.Fatalf("throttled isolation: %v, %d published; want a retry and nothing published yet", first.err, len(first.published))
	}
	e.w.FailAlways("ModifyNetworkInterfaceAttribute", "")
	retry := e.handle(events.Must(backdoor))
	if retry.err != nil || len(retry.published) != 1 {
		t.Fatalf("retry: %v, %d published; want the one contained report", retry.err, len(retry.published))
	}

	refused := newEnv(t, victim, nil)
	refused.w.Deny("ModifyNetworkInterfaceAttribute")
	dl := refused.handle(events.Must(backdoor))
	if !errors.Is(dl.err, handler.ErrIsolationFailed) || len(dl.published) != 1 {
		t.Fatalf("refused isolation: %v, %d published; want it reported at once", dl.err, len(dl.published))
	}
}

// An instance already contained needs no token: a full guard holds nothing
// back, and the report does not say it did.
func TestGuardNotNeededForAContainedInstance(t *testing.T) {
	e := newEnv(t, victim, map[string]string{contract.EnvMaxAutomaticContainment: "1"})
	if dl := e.handle(events.Must(backdoor)); dl.err != nil {
		t.Fatal(dl.err)
	}
	e.w.Advance(2 * time.Hour) // its token expired
	e.fill(1)
	dl := e.handle(edit(t, backdoor, func(ev map[string]any) { ev["detail"].(map[string]any)["id"] = "a-new-finding-for-the-instance" }))
	rep := dl.only(t)
	if dl.err != nil || !rep.AlreadyContained || rep.Decision != report.Contain || rep.Guard.Outcome != ledger.NotNeeded {
		t.Fatalf("error %v, decision %s, already contained %v, guard %+v; want already contained, guard not needed",
			dl.err, rep.Decision, rep.AlreadyContained, rep.Guard)
	}
}
