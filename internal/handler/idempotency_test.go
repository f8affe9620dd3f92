package handler_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// TestRedelivery: once an instance is contained, a later event about it costs
// its verification's three reads, in one round trip. A re-delivery of the finding it was contained for is not
// published again; a new finding is, saying the instance is already contained.
func TestRedelivery(t *testing.T) {
	cases := []struct {
		name    string
		second  string
		publish bool
		// exact: the second event costs exactly one DescribeInstances (and the
		// Publish). A manual request names no account, so it gets a runbook of
		// its own whose isolation-group cache is still cold: reads only.
		exact bool
	}{
		{"same event twice", "guardduty-backdoor-c2.json", false, true},
		{"re-published update of the same finding", "guardduty-backdoor-c2-update.json", false, true},
		{"new finding for the contained instance", "guardduty-cryptocurrency-dns.json", true, true},
		{"manual request for the contained instance", "manual-contain.json", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, victim, nil)
			if dl := e.handle(events.Must("guardduty-backdoor-c2.json")); dl.err != nil || dl.only(t).Decision != report.Contain {
				t.Fatalf("first delivery: %v", dl.err)
			}
			snapshots := e.snapshotsOf(victim)
			before := e.state()

			dl := e.handle(events.Must(tc.second))
			if dl.err != nil {
				t.Fatalf("second delivery: %v", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != report.Contain || !rep.AlreadyContained || !strings.Contains(rep.Reason, "already contained") {
				t.Fatalf("decision %q alreadyContained %v (%s), want already contained", rep.Decision, rep.AlreadyContained, rep.Reason)
			}
			for _, s := range rep.Steps[:len(report.StepNames)] {
				if s.Status != report.Skipped {
					t.Errorf("step %s: %s, want skipped", s.Name, s.Status)
				}
			}
			wantCalls := maps.Clone(verifyReads)
			if tc.publish {
				wantCalls["Publish"] = 1
			}
			if tc.exact && !maps.Equal(dl.calls, wantCalls) {
				t.Errorf("calls %v, want %v", dl.calls, wantCalls)
			}
			if m := dl.mutating(tc.publish); len(m) > 0 || dl.calls["DescribeInstances"] != 1 || dl.calls["Publish"] != wantCalls["Publish"] {
				t.Errorf("calls %v: want one DescribeInstances, %d Publish and no change", dl.calls, wantCalls["Publish"])
			}
			e.unchanged(before)
			if got := e.snapshotsOf(victim); len(got) != len(snapshots) {
				t.Errorf("snapshots %v after the second event, want the first set only %v", got, snapshots)
			}
			if !tc.publish {
				if len(dl.published) != 0 {
					t.Errorf("re-delivery published %q", dl.published[0].Subject)
				}
				return
			}
			if len(dl.published) != 1 {
				t.Fatalf("published %d messages, want 1", len(dl.published))
			}
			m := dl.published[0]
			checkMessage(t, m, e.d.Topic, rep)
			if got := attr(m, notify.AttrStatus); got != notify.StatusAlreadyContained {
				t.Errorf("status attribute %q, want %q", got, notify.StatusAlreadyContained)
			}
		})
	}
}

// TestRedeliveryColdStart: a re-delivery that lands on a new Lambda container
// (nothing cached) still changes nothing and publishes nothing.
func TestRedeliveryColdStart(t *testing.T) {
	e := newEnv(t, victim, nil)
	if dl := e.handle(events.Must("guardduty-backdoor-c2.json")); dl.err != nil {
		t.Fatalf("first delivery: %v", dl.err)
	}
	before := e.state()
	dl := e.handleWith(e.newHandler(), events.Must("guardduty-backdoor-c2-update.json"))
	if dl.err != nil || !dl.only(t).AlreadyContained {
		t.Fatalf("second delivery: %v, want already contained", dl.err)
	}
	if m := dl.mutating(false); len(m) > 0 || dl.calls["DescribeInstances"] != 1 {
		t.Errorf("calls %v: want one DescribeInstances and no change", dl.calls)
	}
	if len(dl.published) != 0 {
		t.Errorf("re-delivery published %q", dl.published[0].Subject)
	}
	e.unchanged(before)
}

// TestRetryConverges: isolation that fails makes Handle fail, so Lambda
// retries; the retry finishes the job without taking a second snapshot set.
func TestRetryConverges(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.FailNext("ModifyNetworkInterfaceAttribute", awsError("UnauthorizedOperation",
		"You are not authorized to perform this operation."))

	first := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if !errors.Is(first.err, handler.ErrIsolationFailed) {
		t.Fatalf("first delivery: error %v, want one wrapping ErrIsolationFailed", first.err)
	}
	rep := first.only(t)
	if iso := rep.Step(report.StepIsolate); iso == nil || iso.Status != report.Failed || iso.Error != "UnauthorizedOperation" {
		t.Errorf("isolate step %+v, want failed with UnauthorizedOperation", iso)
	}
	if got := e.tag(victim, contract.TagStatus); got != contract.StatusIsolationFailed {
		t.Errorf("%s = %q after the failed delivery, want %q", contract.TagStatus, got, contract.StatusIsolationFailed)
	}
	// The failure is reported at once, not only after the retries.
	if len(first.published) != 1 || attr(first.published[0], notify.AttrStatus) != notify.StatusFailed {
		t.Errorf("first delivery published %d messages, want one with status %q", len(first.published), notify.StatusFailed)
	}
	snapshots := e.snapshotsOf(victim)
	if len(snapshots) != len(e.d.VictimVolumes) {
		t.Fatalf("snapshots after the first delivery: %v, want one per volume", snapshots)
	}

	second := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if second.err != nil {
		t.Fatalf("second delivery: %v", second.err)
	}
	rep = second.only(t)
	if rep.AlreadyContained {
		t.Error("the retry was taken for a re-delivery: isolation never completed")
	}
	if failed := rep.Failed(); len(failed) > 0 {
		t.Errorf("steps failed on the retry: %+v", failed)
	}
	if s := rep.Step(report.StepSnapshot); s == nil || s.Status != report.Skipped {
		t.Errorf("snapshot step on the retry: %+v, want skipped (set already taken)", s)
	}
	if got := e.snapshotsOf(victim); len(got) != len(snapshots) {
		t.Errorf("snapshots after the retry: %v, want the first set only %v", got, snapshots)
	}
	e.contained(victim, backdoorID)
	if len(second.published) != 1 || attr(second.published[0], notify.AttrStatus) != notify.StatusContained {
		t.Errorf("retry published %d messages, want one with status %q", len(second.published), notify.StatusContained)
	}
}
