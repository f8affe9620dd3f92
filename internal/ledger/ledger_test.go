package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/dynalite"
	"github.com/firebreak-ir/firebreak/internal/ledger"
)

var real *dynalite.Server

func TestMain(m *testing.M) {
	s, err := dynalite.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	real = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

var scope = ledger.Scope{Account: "123456789012", Region: "us-east-1"}

// backend is a fresh table, in the model or in dynalite, with a clock the
// test moves and a count of the write requests the table was sent.
type backend struct {
	db     awsapi.DynamoDB
	name   string
	writes *atomic.Int64
	clock  *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// counting counts write requests on the way to any DynamoDB.
type counting struct {
	awsapi.DynamoDB
	writes *atomic.Int64
}

func (c counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.writes.Add(1)
	return c.DynamoDB.PutItem(ctx, in, o...)
}

func (c counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.writes.Add(1)
	return c.DynamoDB.UpdateItem(ctx, in, o...)
}

func (c counting) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.writes.Add(1)
	return c.DynamoDB.DeleteItem(ctx, in, o...)
}

// each runs the test once on the model and once on dynalite.
func each(t *testing.T, f func(t *testing.T, b backend, w *awsfake.World)) {
	for _, name := range []string{"model", "dynalite"} {
		t.Run(name, func(t *testing.T) {
			b := backend{writes: &atomic.Int64{}, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
			var w *awsfake.World
			var db awsapi.DynamoDB
			if name == "model" {
				w = awsfake.New(scope.Account, scope.Region)
				w.AddTable(awsfake.TableSpec{Name: "guard", PartitionKey: contract.GuardPartitionKey, SortKey: contract.GuardSortKey})
				db, b.name = w.Clients().DynamoDB, "guard"
			} else {
				c, tbl, err := real.NewGuardTable(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				db, b.name = c, tbl
			}
			b.db = counting{db, b.writes}
			f(t, b, w)
		})
	}
}

func (b backend) guard(capacity int) *ledger.Guard {
	return ledger.NewGuard(b.db, b.name, capacity, time.Hour, ledger.GuardOptions{Now: b.clock.Now, Lease: 5 * time.Second, Poll: 5 * time.Millisecond})
}

func instance(i int) string { return fmt.Sprintf("i-%017x", i) }

func TestCapAndSlidingWindow(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(3)
		for i := range 3 {
			tok, err := g.Take(ctx, scope, instance(i), "case-"+instance(i))
			if err != nil || tok.Outcome != ledger.Taken || tok.Count != i+1 {
				t.Fatalf("take %d = %+v, %v; want taken, count %d", i, tok, err, i+1)
			}
			b.clock.Advance(10 * time.Minute)
		}
		tok, err := g.Take(ctx, scope, instance(3), "case-3")
		if err != nil || tok.Outcome != ledger.Held || tok.Count != 3 {
			t.Fatalf("fourth take = %+v, %v; want held with 3 in the window", tok, err)
		}
		// Another account or Region has its own cap.
		other := ledger.Scope{Account: scope.Account, Region: "eu-west-1"}
		if tok, err := g.Take(ctx, other, instance(3), "case-3"); err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("take in another Region = %+v, %v; want taken", tok, err)
		}
		// 60 minutes after the first take, its token has expired: exactly one
		// more fits, and the one after it is held again.
		b.clock.Advance(30 * time.Minute)
		if tok, err := g.Take(ctx, scope, instance(3), "case-3"); err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("take after the first token expired = %+v, %v; want taken", tok, err)
		}
		if tok, err := g.Take(ctx, scope, instance(4), "case-4"); err != nil || tok.Outcome != ledger.Held {
			t.Fatalf("next take = %+v, %v; want held", tok, err)
		}
	})
}

func TestOneTokenPerInstance(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(2)
		first, err := g.Take(ctx, scope, instance(1), "finding-a")
		if err != nil || first.Outcome != ledger.Taken {
			t.Fatalf("first take = %+v, %v", first, err)
		}
		// A retry, a re-published finding, a new finding for the instance.
		for _, c := range []string{"finding-a", "finding-a", "finding-b"} {
			tok, err := g.Take(ctx, scope, instance(1), c)
			if err != nil || tok.Outcome != ledger.AlreadyCounted || tok.Slot != first.Slot || tok.Count != 1 {
				t.Fatalf("take for %s = %+v, %v; want already counted on slot %d", c, tok, err, first.Slot)
			}
		}
		if tok, err := g.Take(ctx, scope, instance(2), "finding-c"); err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("a second instance = %+v, %v; want the second token", tok, err)
		}
	})
}

// 60 invocations at once for 40 instances (20 of them delivered twice),
// cap 10: exactly 10 instances contained, never two tokens for one.
func TestConcurrentTakes(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(10)
		const instances, dupes = 40, 20
		type result struct {
			inst int
			tok  ledger.Token
			err  error
		}
		results := make(chan result, instances+dupes)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range instances + dupes {
			wg.Go(func() {
				<-start
				inst := i % instances
				tok, err := g.Take(ctx, scope, instance(inst), "case")
				results <- result{inst, tok, err}
			})
		}
		close(start)
		wg.Wait()
		close(results)
		taken := map[int]int{}
		slots := map[int]int{}
		outcomes := map[string]int{}
		for r := range results {
			if r.err != nil {
				t.Fatalf("take for %d: %v", r.inst, r.err)
			}
			outcomes[r.tok.Outcome]++
			if r.tok.Outcome == ledger.Taken {
				taken[r.inst]++
				slots[r.tok.Slot]++
			}
		}
		if len(taken) != 10 || len(slots) != 10 {
			t.Fatalf("%d instances took %d slots (outcomes %v), want 10 and 10", len(taken), len(slots), outcomes)
		}
		for inst, n := range taken {
			if n != 1 {
				t.Errorf("instance %d took %d tokens", inst, n)
			}
		}
		// Every duplicate of a contained instance found its token.
		if outcomes[ledger.AlreadyCounted]+outcomes[ledger.Held]+outcomes[ledger.Taken] != instances+dupes {
			t.Errorf("outcomes %v", outcomes)
		}
		t.Logf("writes per take: %.2f (%v)", float64(b.writes.Load())/float64(instances+dupes), outcomes)
	})
}

func TestGiveBack(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(1)
		tok, err := g.Take(ctx, scope, instance(1), "case-1")
		if err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("take = %+v, %v", tok, err)
		}
		if err := g.Give(ctx, &tok); err != nil || tok.Outcome != ledger.Returned {
			t.Fatalf("give = %+v, %v", tok, err)
		}
		// Only what this invocation took is given back.
		again, err := g.Take(ctx, scope, instance(2), "case-2")
		if err != nil || again.Outcome != ledger.Taken {
			t.Fatalf("take after give = %+v, %v", again, err)
		}
		dup, err := g.Take(ctx, scope, instance(2), "case-2")
		if err != nil || dup.Outcome != ledger.AlreadyCounted {
			t.Fatalf("duplicate = %+v, %v", dup, err)
		}
		if err := g.Give(ctx, &dup); err != nil || dup.Outcome != ledger.AlreadyCounted {
			t.Fatalf("giving back an already-counted token = %+v, %v: must keep it", dup, err)
		}
		if tok, err := g.Take(ctx, scope, instance(3), "case-3"); err != nil || tok.Outcome != ledger.Held {
			t.Fatalf("take at the cap = %+v, %v; want held", tok, err)
		}
	})
}

// An invocation that died after its hold and before its slot leaves a hold
// without a token: after the hold's lease, the instance's next event takes
// it over.
func TestAbandonedHoldIsTakenOver(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(2)
		now := b.clock.Now()
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.name), Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "hold#" + scope.Account + "#" + scope.Region + "#" + instance(1)},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "hold"}, "owner": &ddbtypes.AttributeValueMemberS{Value: "dead"},
			"leaseUntil": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(now.Add(2 * time.Second).UnixMilli())},
			"expiresAt":  &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(now.Add(time.Hour).Unix())}}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var tok ledger.Token
		go func() {
			defer close(done)
			tok, err = g.Take(ctx, scope, instance(1), "case-1")
		}()
		time.Sleep(20 * time.Millisecond)
		b.clock.Advance(3 * time.Second) // the dead invocation's lease ends
		<-done
		if err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("take = %+v, %v; want the abandoned hold taken over", tok, err)
		}
	})
}

// The table unreachable or throttled: an error, never a token.
func TestUnavailable(t *testing.T) {
	for _, op := range []string{"PutItem"} {
		t.Run(op, func(t *testing.T) {
			w := awsfake.New(scope.Account, scope.Region)
			w.AddTable(awsfake.TableSpec{Name: "guard", PartitionKey: "pk", SortKey: "sk"})
			w.FailAlways(op, "ThrottlingException")
			g := ledger.NewGuard(w.Clients().DynamoDB, "guard", 10, time.Hour, ledger.GuardOptions{})
			tok, err := g.Take(context.Background(), scope, instance(1), "case")
			if err == nil || tok.Outcome != ledger.Unavailable || ledger.Code(err) != "ThrottlingException" {
				t.Fatalf("take = %+v, %v; want unavailable with ThrottlingException", tok, err)
			}
			w.FailAlways(op, "")
			for _, it := range w.Items("guard") {
				t.Errorf("left behind: %v", it)
			}
		})
	}
	w := awsfake.New(scope.Account, scope.Region)
	g := ledger.NewGuard(w.Clients().DynamoDB, "no-such-table", 10, time.Hour, ledger.GuardOptions{})
	if _, err := g.Take(context.Background(), scope, instance(1), "case"); ledger.Code(err) != "ResourceNotFoundException" {
		t.Fatalf("take on a missing table: %v", err)
	}
}

func TestPeekOnlyReads(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(1)
		if tok, err := g.Peek(ctx, scope, instance(1)); err != nil || tok.Outcome != ledger.WouldTake {
			t.Fatalf("peek on an empty table = %+v, %v", tok, err)
		}
		if b.writes.Load() != 0 {
			t.Fatalf("a dry run wrote %d times", b.writes.Load())
		}
		if _, err := g.Take(ctx, scope, instance(1), "case"); err != nil {
			t.Fatal(err)
		}
		if tok, err := g.Peek(ctx, scope, instance(2)); err != nil || tok.Outcome != ledger.WouldHold || tok.Count != 1 {
			t.Fatalf("peek at the cap = %+v, %v", tok, err)
		}
		if tok, err := g.Peek(ctx, scope, instance(1)); err != nil || tok.Outcome != ledger.AlreadyCounted {
			t.Fatalf("peek for the instance holding the token = %+v, %v", tok, err)
		}
	})
}

// A person's request is recorded and never capped, and takes no slot.
func TestCountedNeverCapped(t *testing.T) {
	each(t, func(t *testing.T, b backend, w *awsfake.World) {
		ctx := context.Background()
		g := b.guard(1)
		for i := range 3 {
			for range 2 { // a repeat is recorded once
				if tok, err := g.Count(ctx, scope, instance(i), "IR-1"); err != nil || tok.Outcome != ledger.Counted {
					t.Fatalf("count = %+v, %v", tok, err)
				}
			}
		}
		if tok, err := g.Take(ctx, scope, instance(9), "case"); err != nil || tok.Outcome != ledger.Taken {
			t.Fatalf("automatic take after people's containments = %+v, %v; want taken", tok, err)
		}
		if w != nil && len(w.Items("guard")) != 3+2 {
			t.Errorf("items: %v, want three records, one slot and one hold", w.Items("guard"))
		}
	})
}

func TestOneReportPerCaseAndOutcome(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		r := ledger.NewReports(b.db, b.name, time.Minute, 90*24*time.Hour, b.clock.Now)
		k := ledger.ReportKey{Scope: scope, Instance: instance(1), Case: "finding-a", Outcome: "contained"}
		c, err := r.Claim(ctx, k)
		if err != nil || c == nil {
			t.Fatalf("first claim = %v, %v", c, err)
		}
		if c2, err := r.Claim(ctx, k); err != nil || c2 != nil {
			t.Fatalf("claim while the first publishes = %v, %v; want none", c2, err)
		}
		if err := c.Failed(ctx); err != nil {
			t.Fatal(err)
		}
		c, err = r.Claim(ctx, k)
		if err != nil || c == nil {
			t.Fatalf("claim after a failed publish = %v, %v; want one (the retry publishes)", c, err)
		}
		if err := c.Published(ctx); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Hour)
		if c2, err := r.Claim(ctx, k); err != nil || c2 != nil {
			t.Fatalf("claim after publishing = %v, %v; want none", c2, err)
		}
		other := k
		other.Outcome = "partial"
		if c2, err := r.Claim(ctx, other); err != nil || c2 == nil {
			t.Fatalf("claim of another outcome = %v, %v; want one", c2, err)
		}
		// A claimant that died: after its lease, the claim is taken over.
		dead := k
		dead.Case = "finding-b"
		if c2, err := r.Claim(ctx, dead); err != nil || c2 == nil {
			t.Fatal(err)
		}
		b.clock.Advance(2 * time.Minute)
		if c2, err := r.Claim(ctx, dead); err != nil || c2 == nil {
			t.Fatalf("claim after the first claimant's lease = %v, %v; want one", c2, err)
		}
		for want := 1; want <= 3; want++ {
			if n, err := r.Attempt(ctx, other); err != nil || n != want {
				t.Fatalf("attempt = %d, %v; want %d", n, err, want)
			}
		}
	})
}

func TestCode(t *testing.T) {
	if got := ledger.Code(fmt.Errorf("x: %w", context.DeadlineExceeded)); got != "Timeout" {
		t.Errorf("Code = %q", got)
	}
	if got := ledger.Code(errors.New("x")); got != "Error" {
		t.Errorf("Code = %q", got)
	}
}

// A slot an abandoned take left for the instance (its write landed after the
// take gave up) is adopted by the instance's next take, not lost: the
// instance is contained, with no second token.
func TestAbandonedSlotIsAdopted(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		ctx := context.Background()
		g := b.guard(1)
		now := b.clock.Now()
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(b.name), Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "slots#" + scope.Account + "#" + scope.Region},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "slot#0000"}, "owner": &ddbtypes.AttributeValueMemberS{Value: "gone"},
			"instance":  &ddbtypes.AttributeValueMemberS{Value: instance(1)},
			"expiresAt": &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(now.Add(time.Hour).Unix())}}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := g.Take(ctx, scope, instance(1), "case-1")
		if err != nil || tok.Outcome != ledger.Taken || tok.Slot != 0 || tok.Count != 1 {
			t.Fatalf("take = %+v, %v; want the left-behind slot adopted", tok, err)
		}
		if tok, err := g.Take(ctx, scope, instance(2), "case-2"); err != nil || tok.Outcome != ledger.Held {
			t.Fatalf("another instance = %+v, %v; want held at the cap", tok, err)
		}
	})
}
