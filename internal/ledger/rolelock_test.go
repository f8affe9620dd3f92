package ledger_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
)

// 300 containments of instances sharing one role at once: every ARN ends up
// denied, none lost to a race, the IAM writes never overlap, and group commit
// makes them a handful of writes instead of 300. Then 300 releases at once
// remove every policy again.
func TestRoleLockGroupCommit(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		iamWorld := awsfake.New(scope.Account, scope.Region)
		d := iamWorld.SeedDemo("i-0abc123def4567890")
		wr := rolepolicy.Writer{IAM: iamWorld.Clients().IAM, Account: scope.Account, Partition: "aws"}
		lock := ledger.NewRoleLock(b.db, b.name).WithTiming(5*time.Second, 20*time.Millisecond, time.Minute)
		var inside, overlaps, applies atomic.Int64
		apply := func(ctx context.Context, want []string) ([]string, error) {
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			defer inside.Add(-1)
			applies.Add(1)
			res, err := wr.Set(ctx, d.Role, want)
			return res.Written, err
		}
		run := func(add bool) {
			var wg sync.WaitGroup
			errs := make(chan error, 300)
			for i := range 300 {
				wg.Go(func() {
					arn := rolepolicy.InstanceARN("aws", scope.Region, scope.Account, instance(i))
					var err error
					if add {
						_, err = lock.Add(context.Background(), scope.Account, d.Role, arn, apply)
					} else {
						_, err = lock.Remove(context.Background(), scope.Account, d.Role, arn, apply)
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		run(true)
		var denied []string
		for _, p := range iamWorld.AttachedPolicies(d.Role) {
			if doc, ok := iamWorld.PolicyDocument(p); ok {
				arns, _ := rolepolicy.ARNs(doc)
				denied = append(denied, arns...)
			}
		}
		slices.Sort(denied)
		if len(slices.Compact(denied)) != 300 {
			t.Fatalf("%d instances denied after 300 concurrent containments, want 300", len(denied))
		}
		if overlaps.Load() != 0 {
			t.Fatalf("%d IAM writes overlapped", overlaps.Load())
		}
		t.Logf("300 containments: %d IAM writes (group commit)", applies.Load())
		if applies.Load() > 60 {
			t.Errorf("%d writes for 300 containments: group commit is not batching", applies.Load())
		}
		applies.Store(0)
		run(false)
		if got := iamWorld.AttachedPolicies(d.Role); len(got) != 1 {
			t.Fatalf("after 300 releases the role still has %v", got)
		}
		t.Logf("300 releases: %d IAM writes", applies.Load())
	})
}

// A holder that died with the lease is taken over once the lease runs out.
func TestRoleLockExpiredLeaseIsTakenOver(t *testing.T) {
	each(t, func(t *testing.T, b backend, _ *awsfake.World) {
		lock := ledger.NewRoleLock(b.db, b.name).WithTiming(200*time.Millisecond, 10*time.Millisecond, 10*time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		started := make(chan struct{})
		go func() {
			_, _ = lock.Add(ctx, scope.Account, "r", "arn:a", func(ctx context.Context, want []string) ([]string, error) {
				close(started)
				<-ctx.Done() // dies holding the lease
				return nil, ctx.Err()
			})
		}()
		<-started
		cancel()
		var got []string
		if _, err := lock.Add(context.Background(), scope.Account, "r", "arn:b", func(_ context.Context, want []string) ([]string, error) {
			got = want
			return want, nil
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(got, "arn:a") || !slices.Contains(got, "arn:b") {
			t.Fatalf("the next holder wrote %v, want both ARNs", got)
		}
	})
}
