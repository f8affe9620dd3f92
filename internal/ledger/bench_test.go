package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/ledger"
)

// BenchmarkWorm: 300 invocations take a token at once for 300 instances
// with cap 10, over the in-memory DynamoDB with 5 ms per call so they
// overlap as concurrent Lambdas do. It reports DynamoDB writes and reads
// per take (mean and worst) and the tokens handed out, which must be 10.
func BenchmarkWorm(b *testing.B) {
	const takers, capacity = 300, 10
	var writes, reads, worst, taken float64
	for b.Loop() {
		w := awsfake.New(scope.Account, scope.Region)
		w.AddGuardTable("guard")
		w.SetLatency(5 * time.Millisecond)
		var wg sync.WaitGroup
		var won atomic.Int64
		perTake := make([]int64, takers)
		for i := range takers {
			wg.Go(func() {
				c := counting{w.Clients().DynamoDB, &atomic.Int64{}}
				g := ledger.NewGuard(c, "guard", capacity, time.Hour, ledger.GuardOptions{})
				tok, err := g.Take(context.Background(), scope, instance(i), "case")
				if err != nil {
					b.Error(err)
				}
				if tok.Outcome == ledger.Taken {
					won.Add(1)
				}
				perTake[i] = c.writes.Load()
			})
		}
		wg.Wait()
		calls := w.Calls()
		writes += float64(calls["PutItem"]+calls["DeleteItem"]+calls["UpdateItem"]) / takers
		reads += float64(calls["Query"]+calls["GetItem"]) / takers
		for _, n := range perTake {
			worst = max(worst, float64(n))
		}
		taken += float64(won.Load())
	}
	n := float64(b.N)
	b.ReportMetric(writes/n, "writes/take")
	b.ReportMetric(reads/n, "reads/take")
	b.ReportMetric(worst, "max-writes/take")
	b.ReportMetric(taken/n, "tokens")
}
