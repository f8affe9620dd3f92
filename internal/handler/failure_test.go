package handler_test

import (
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// TestDetachFailure: a step that fails after isolation succeeded is reported,
// not retried: the instance is already cut off, and a Lambda retry would
// only find it contained.
func TestDetachFailure(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.FailNext("DetachInstances", awsError("ResourceContention",
		"You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer)."))
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if dl.err != nil {
		t.Fatalf("Handle: %v, want nil so that Lambda does not retry", dl.err)
	}
	rep := dl.only(t)
	for _, s := range rep.Steps {
		want := report.Done
		if s.Name == report.StepDetach {
			want = report.Failed
		}
		if s.Status != want {
			t.Errorf("step %s: %s (%s), want %s", s.Name, s.Status, s.Detail, want)
		}
	}
	detach := rep.Step(report.StepDetach)
	if detach == nil || detach.Error != "ResourceContention" || !strings.Contains(detach.Message, "pending update") {
		t.Errorf("detach step %+v, want the AWS code ResourceContention and its message", detach)
	}
	if members := e.w.AutoScalingGroup(e.d.ASG).Instances; len(members) != 1 {
		t.Errorf("%s has %d members, want the victim still in it", e.d.ASG, len(members))
	}
	if got := e.tag(victim, contract.TagStatus); got != contract.StatusContained {
		t.Errorf("%s = %q: isolation succeeded, want %q", contract.TagStatus, got, contract.StatusContained)
	}
	if len(dl.published) != 1 {
		t.Fatalf("published %d messages, want 1", len(dl.published))
	}
	m := dl.published[0]
	checkMessage(t, m, e.d.Topic, rep)
	if attr(m, notify.AttrStatus) != notify.StatusFailed || !strings.Contains(m.Subject, "FAILED detach") {
		t.Errorf("subject %q status %q: a failed step must stand out", m.Subject, attr(m, notify.AttrStatus))
	}
}

// TestPublishFailure: a report nobody receives fails the invocation, so the
// Errors alarm and the on-failure destination catch it. The work is kept.
func TestPublishFailure(t *testing.T) {
	cases := []struct {
		event    string
		decision report.Decision
	}{
		{"guardduty-backdoor-c2.json", report.Contain},
		{"guardduty-recon-portscan.json", report.Notify},
		{"manual-dry-run.json", report.Contain},
	}
	for _, tc := range cases {
		t.Run(tc.event, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, victim, nil)
			e.w.Deny("Publish")
			dl := e.handle(events.Must(tc.event))
			if errorCode(dl.err) != "AuthorizationError" {
				t.Fatalf("Handle: error %v, want SNS's AuthorizationError", dl.err)
			}
			rep := dl.only(t)
			if rep.Decision != tc.decision {
				t.Errorf("decision %q, want %q", rep.Decision, tc.decision)
			}
			if tc.decision == report.Contain && !rep.DryRun {
				e.contained(victim, backdoorID)
				if _, ok := e.object(handler.ReportKey(rep)); !ok {
					t.Error("report not stored beside the evidence")
				}
			}
		})
	}
}

// TestReportStoreFailure: the stored report is what an undo works from, so
// failing to store it fails the invocation even though SNS got it.
func TestReportStoreFailure(t *testing.T) {
	e := newEnv(t, victim, nil)
	var puts atomic.Int32
	e.w.OnCall(func(op string) {
		// PutObjects: the snapshot claim and the evidence, then the report.
		if op == "PutObject" && puts.Add(1) == 3 {
			e.w.FailNext("PutObject", awsError("AccessDenied", "Access Denied"))
		}
	})
	dl := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if errorCode(dl.err) != "AccessDenied" || !strings.Contains(dl.err.Error(), "storing the report") {
		t.Fatalf("Handle: error %v, want the report storage failure", dl.err)
	}
	rep := dl.only(t)
	if _, ok := e.object(rep.Evidence.Key); !ok {
		t.Error("evidence not stored")
	}
	if len(dl.published) != 1 {
		t.Errorf("published %d messages, want the report published all the same", len(dl.published))
	}
	e.contained(victim, backdoorID)
}

// TestUnpublishedReportIsPublishedByTheRetry: Lambda retries an invocation
// whose report did not reach SNS; the retry finds the instance contained, and
// must publish rather than take the event for a quiet re-delivery.
func TestUnpublishedReportIsPublishedByTheRetry(t *testing.T) {
	e := newEnv(t, victim, nil)
	e.w.Deny("Publish")
	first := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if errorCode(first.err) != "AuthorizationError" || len(first.published) != 0 {
		t.Fatalf("first delivery: error %v, %d published; want AuthorizationError and nothing", first.err, len(first.published))
	}
	if got := e.tag(victim, contract.TagReport); got != "unpublished" {
		t.Fatalf("%s = %q after the failed publish, want unpublished", contract.TagReport, got)
	}
	e.w.Allow("Publish")

	retry := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if retry.err != nil || len(retry.published) != 1 || !retry.only(t).AlreadyContained {
		t.Fatalf("retry: error %v, %d published; want one 'already contained' report", retry.err, len(retry.published))
	}
	if got := e.tag(victim, contract.TagReport); got != "published" {
		t.Errorf("%s = %q after the retry published, want published", contract.TagReport, got)
	}

	// From then on a re-delivery is quiet again: its verification's reads, nothing published.
	again := e.handle(events.Must("guardduty-backdoor-c2.json"))
	if len(again.published) != 0 || !maps.Equal(again.calls, verifyReads) {
		t.Errorf("re-delivery after recovery: %d published, calls %v; want none and %v", len(again.published), again.calls, verifyReads)
	}
}
