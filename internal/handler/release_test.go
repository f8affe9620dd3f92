package handler_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func (e *env) releaser() *handler.Release {
	return handler.NewRelease(e.cfg, awsfake.Factory{W: e.w}, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithClock(e.w.Now))
}

func instanceTags(e *env) map[string]string {
	out := map[string]string{}
	for _, t := range e.w.Instance(victim).Tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// The release function records what it really knows of who asked: a
// manual request's requestedBy as the requester's word, with the Lambda
// request id; a Security Hub action's account and action, no person.
func TestReleaseRecordsWhoAsked(t *testing.T) {
	for _, tc := range []struct {
		name, event string
		via, tag    string
	}{
		{"manual request", "manual-release.json", "lambda-invoke", "stated: alice@example.com (on call, SOC) (unverified); lambda request req-1"},
		{"Security Hub action", "securityhub-release-action.json", "securityhub-action", "securityhub-action in 123456789012 (no user in the event); lambda request req-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, victim, nil)
			if dl := e.handle(events.Must(events.Default)); dl.err != nil {
				t.Fatal(dl.err)
			}
			ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
			sent := len(e.w.Published())

			reps, err := e.releaser().Handle(ctx, events.Must(tc.event))

			if err != nil || len(reps) != 1 || reps[0].Decision != report.Release || reps[0].Kind != report.KindRelease {
				t.Fatalf("release: %v %+v", err, reps)
			}
			rep := reps[0]
			if rep.RequestedBy == nil || rep.RequestedBy.Via != tc.via || rep.RequestedBy.LambdaRequestID != "req-1" || rep.RequestedBy.Note == "" {
				t.Errorf("requestedBy %+v", rep.RequestedBy)
			}
			tags := instanceTags(e)
			if tags[contract.TagReleasedBy] != tc.tag || tags[contract.TagStatus] != contract.StatusReleased || tags[contract.TagCaseID] != backdoorID {
				t.Errorf("tags %v: want released by %q, the case id kept", tags, tc.tag)
			}
			if got := tags[contract.TagReleasedFindings]; got != backdoorID {
				t.Errorf("released findings %q, want %s", got, backdoorID)
			}
			msgs := e.w.Published()[sent:]
			if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Firebreak RELEASED "+victim) || aws.ToString(msgs[0].Attributes[notify.AttrStatus].StringValue) != notify.StatusReleased {
				t.Errorf("published %+v", msgs)
			}
			var stored bool
			for _, o := range e.w.Objects() {
				stored = stored || strings.Contains(o.Key, "/"+backdoorID+"/release-")
			}
			if !stored {
				t.Error("the release report is not stored beside the evidence")
			}
		})
	}
}

func TestReleaseRefusesBadInputAndChangesNothing(t *testing.T) {
	e := newEnv(t, victim, nil)
	for _, raw := range []string{`{"instanceId":"` + victim + `","reason":"x","dryrun":false}`, `not json`, string(events.Must(events.Default))} {
		before := e.w.Calls()
		reps, err := e.releaser().Handle(context.Background(), []byte(raw))
		if err == nil || reps != nil || !strings.Contains(err.Error(), "nothing was changed") {
			t.Errorf("%.40s: %v %v; want an error and no report", raw, reps, err)
		}
		if !errors.Is(err, finding.ErrInvalid) && !errors.Is(err, finding.ErrUnrecognized) {
			t.Errorf("%.40s: error %v wraps neither ErrInvalid nor ErrUnrecognized", raw, err)
		}
		if after := e.w.Calls(); len(after) != len(before) {
			t.Errorf("%.40s: AWS was called: %v", raw, after)
		}
	}
}

func TestReleaseInAnotherAccountIsRefused(t *testing.T) {
	e := newEnv(t, victim, nil)
	reps, err := e.releaser().Handle(context.Background(),
		[]byte(`{"instanceId":"`+victim+`","reason":"x","dryRun":false,"accountId":"`+otherAccount+`"}`))
	if err != nil || len(reps) != 1 || reps[0].Decision != report.Notify || !strings.Contains(reps[0].Reason, "is in another account") {
		t.Fatalf("%v %+v", err, reps)
	}
	if notify.Status(reps[0]) != notify.StatusRefused {
		t.Errorf("status %s, want refused", notify.Status(reps[0]))
	}
}

// A release tells the finding the instance was contained for, in both
// Security Hubs, and changes no status: only a person resolves a finding.
func TestReleaseNotesTheFindingInSecurityHub(t *testing.T) {
	e := hubEnv(t, true, nil)
	if dl := e.handle(events.Must(events.Default)); dl.err != nil {
		t.Fatal(dl.err)
	}
	before := e.hubFinding()
	e.w.ResetCalls()

	reps, err := e.releaser().Handle(context.Background(), events.Must("manual-release.json"))

	if err != nil || len(reps) != 1 || reps[0].Decision != report.Release {
		t.Fatalf("release: %v %+v", err, reps)
	}
	if h := reps[0].SecurityHub; h == nil || h.Status != report.Done {
		t.Fatalf("the release report's Security Hub entry: %+v", h)
	}
	after := e.hubFinding()
	if after.Note == nil || !strings.Contains(aws.ToString(after.Note.Text), "Firebreak released "+victim) {
		t.Errorf("CSPM note %+v, want the release", after.Note)
	}
	if after.Workflow != before.Workflow || len(after.UserDefinedFields) != len(before.UserDefinedFields) {
		t.Errorf("the release changed the workflow (%s -> %s) or the fields", before.Workflow, after.Workflow)
	}
	v2, ok := e.w.SecurityHubV2Finding(account, backdoorARN, gdProductV2)
	if !ok || !strings.Contains(v2.Comment, "Firebreak released "+victim) || v2.StatusID != 2 {
		t.Errorf("Security Hub finding %+v: want the release's comment, status still In Progress (2)", v2)
	}
	if n := securityHubCalls(e.w.Calls()); n != 2 {
		t.Errorf("%d Security Hub calls, want one note per hub", n)
	}
}

// A dry run of a release writes nothing to Security Hub.
func TestReleaseDryRunWritesNoNote(t *testing.T) {
	e := hubEnv(t, true, nil)
	if dl := e.handle(events.Must(events.Default)); dl.err != nil {
		t.Fatal(dl.err)
	}
	e.w.ResetCalls()
	if _, err := e.releaser().Handle(context.Background(), events.Must("manual-release-dry-run.json")); err != nil {
		t.Fatal(err)
	}
	if n := securityHubCalls(e.w.Calls()); n != 0 {
		t.Errorf("a dry-run release made %d Security Hub calls", n)
	}
}
