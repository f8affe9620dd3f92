package runbook

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// unsafeAttempts bounds the retries of calls that are not idempotent.
const unsafeAttempts = 6

var retryable = retry.IsErrorRetryables(retry.DefaultRetryables)

// once runs a call that AWS does not make idempotent (CreateSnapshots,
// DetachInstances) without the SDK's blind retries: when an attempt fails in a
// way a retry could fix, the request may still have been carried out with its
// answer lost, so done() is asked before trying again. It returns the last
// error, or nil when an attempt succeeded or done() found the work done.
//
// done() is asked even after a non-retryable error: a concurrent invocation
// for the same instance may have done the work first.
func (r *run) once(ctx context.Context, call func() error, done func() bool) error {
	wait := r.opt.RetryBase
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil {
			return nil
		}
		if retryable.IsErrorRetryable(err) != aws.TrueTernary || attempt == unsafeAttempts {
			if done() {
				return nil
			}
			return err
		}
		// Describe calls are eventually consistent: look more than once
		// before deciding the work was not done.
		for look := 0; look < 3; look++ {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
			if done() {
				return nil
			}
		}
		wait = min(2*wait, 5*time.Second)
	}
}
