package e2e_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
)

var scope = ledger.Scope{Account: account, Region: region}

// tokens counts the live guard tokens in the function's table in dynalite.
func (e *env) tokens() int {
	e.t.Helper()
	out, err := e.guard.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(e.table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("#pk = :pk"), ExpressionAttributeNames: map[string]string{"#pk": contract.GuardPartitionKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: "slots#" + account + "#" + region}}})
	if err != nil {
		e.t.Fatalf("reading the guard table: %v", err)
	}
	return int(out.Count)
}

// The guard, in dynalite, holds back the containment over the cap: the
// simulated account sees no change, and the report carries the request
// that contains the instance by hand.
func TestGuardHoldsBackOverTheCap(t *testing.T) {
	t.Parallel()
	e := start(t, setup{vars: map[string]string{contract.EnvMaxAutomaticContainment: "1"}})
	g := ledger.NewGuard(e.guard, e.table, 1, time.Hour, ledger.GuardOptions{})
	if tok, err := g.Take(context.Background(), scope, "i-0fffffffffffffff0", "an earlier finding"); err != nil || tok.Outcome != ledger.Taken {
		t.Fatalf("filling the guard: %+v, %v", tok, err)
	}
	before := e.state()
	rep := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	want := "blast-radius guard: 1 automatic containments in the last 60 minutes (cap 1); a person must decide"
	if rep.Decision != report.Notify || rep.Reason != want || rep.Guard == nil || rep.Guard.Outcome != ledger.Held {
		t.Fatalf("decision %s, reason %q, guard %+v; want notify, %q", rep.Decision, rep.Reason, rep.Guard, want)
	}
	if m := mutating(e.w.Sim.Stats()); len(m) > 0 {
		t.Errorf("a held containment reached the simulator with %v", m)
	}
	e.unchanged(before, "published")
	if msgs := e.published(0); len(msgs) != 1 {
		t.Errorf("published %d messages, want 1", len(msgs))
	}
	if n := e.tokens(); n != 1 {
		t.Errorf("%d tokens, want the one taken before", n)
	}
	// A person sends the request from the report: never capped.
	manual := e.mustInvoke(e.f, rep.ManualRequest)
	if manual.Decision != report.Contain || manual.Guard == nil || manual.Guard.Outcome != ledger.Counted {
		t.Fatalf("manual request: decision %s, guard %+v", manual.Decision, manual.Guard)
	}
	e.contained(backdoorID)
}

// The guard's table unreachable: a function error (Lambda retries, then the
// on-failure queue), nothing changed, and a report that says so.
func TestGuardUnavailable(t *testing.T) {
	t.Parallel()
	e := start(t, setup{guardTable: "no-such-table"})
	before := e.state()
	body, err := e.invoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	var fe *e2e.FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "blast-radius guard unavailable") {
		t.Fatalf("invocation: %v (%s), want a function error naming the guard", err, body)
	}
	if m := mutating(e.w.Sim.Stats()); len(m) > 0 {
		t.Errorf("an unguarded containment reached the simulator with %v", m)
	}
	e.unchanged(before, "published")
	msgs := e.published(0)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "ResourceNotFoundException") {
		t.Errorf("published %d messages, want the one report naming ResourceNotFoundException", len(msgs))
	}
}
