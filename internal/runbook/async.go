package runbook

import (
	"fmt"

	conc "github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// future is a value and its error computed in its own goroutine: steps start
// as soon as what they depend on is known, so independent AWS calls overlap.
type future[T any] struct{ f *conc.Future[outcome[T]] }

type outcome[T any] struct {
	val T
	err error
}

func async[T any](f func() (T, error)) *future[T] {
	return &future[T]{conc.Go(func() outcome[T] {
		v, err := f()
		return outcome[T]{v, err}
	})}
}

func (f *future[T]) wait() (T, error) {
	o := f.f.Wait()
	return o.val, o.err
}

// each runs f for every item concurrently and returns the errors in item order.
func each[T any](items []T, f func(T) error) []error { return conc.Each(items, f) }

// The runbook reads AWS errors the way the release function does: one
// implementation in awserr, short names here.
func errorCode(err error) string              { return awserr.Code(err) }
func hasCode(err error, codes ...string) bool { return awserr.Is(err, codes...) }
func dryRunOK(err error) error                { return awserr.DryRunOK(err) }
func joinErrs(errs []error) error             { return awserr.Join(errs) }

// Transient reports whether an error code is one a later retry can fix:
// throttling, server errors, timeouts.
func Transient(code string) bool { return awserr.Transient(code) }

func failed(name, detail string, err error, actions []string) report.Step {
	return report.Step{Name: name, Status: report.Failed, Detail: detail, Error: errorCode(err), Message: err.Error(), Actions: actions}
}

func step(name string, status report.Status, actions []string, format string, args ...any) report.Step {
	return report.Step{Name: name, Status: status, Detail: fmt.Sprintf(format, args...), Actions: actions}
}
