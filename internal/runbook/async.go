package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// future is a value computed in its own goroutine: steps start as soon as
// what they depend on is known, so independent AWS calls overlap.
type future[T any] struct {
	done chan struct{}
	val  T
	err  error
}

func async[T any](f func() (T, error)) *future[T] {
	fu := &future[T]{done: make(chan struct{})}
	go func() {
		defer close(fu.done)
		fu.val, fu.err = f()
	}()
	return fu
}

func (f *future[T]) wait() (T, error) {
	<-f.done
	return f.val, f.err
}

// each runs f for every item concurrently and returns the errors in item order.
func each[T any](items []T, f func(T) error) []error {
	errs := make([]error, len(items))
	done := make(chan struct{}, len(items))
	for i, it := range items {
		go func() {
			errs[i] = f(it)
			done <- struct{}{}
		}()
	}
	for range items {
		<-done
	}
	return errs
}

// errorCode is the AWS error code of err, or a short cause for non-AWS errors.
func errorCode(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	default:
		return "Error"
	}
}

func hasCode(err error, codes ...string) bool {
	c := errorCode(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// dryRunOK reads the answer to a DryRun call: DryRunOperation means the real
// call would have been allowed.
func dryRunOK(err error) error {
	if hasCode(err, "DryRunOperation") {
		return nil
	}
	if err == nil {
		return errors.New("dry run was not honoured: the call succeeded")
	}
	return err
}

func failed(name, detail string, err error, actions []string) report.Step {
	return report.Step{Name: name, Status: report.Failed, Detail: detail, Error: errorCode(err), Message: err.Error(), Actions: actions}
}

func step(name string, status report.Status, actions []string, format string, args ...any) report.Step {
	return report.Step{Name: name, Status: status, Detail: fmt.Sprintf(format, args...), Actions: actions}
}

// joinErrs keeps the first error for its code and all messages for the human.
func joinErrs(errs []error) error {
	var first error
	var msgs []string
	for _, e := range errs {
		if e == nil {
			continue
		}
		if first == nil {
			first = e
		}
		msgs = append(msgs, e.Error())
	}
	if first == nil {
		return nil
	}
	if len(msgs) == 1 {
		return first
	}
	return fmt.Errorf("%w (and: %s)", first, strings.Join(msgs[1:], "; "))
}

// Transient reports whether an error code is one a later retry can fix:
// throttling, server errors, timeouts.
func Transient(code string) bool {
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
		"SlowDown", "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "Timeout", "RequestTimeout":
		return true
	}
	return false
}
