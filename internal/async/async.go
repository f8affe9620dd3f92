// Package async runs independent AWS calls at the same time: a value computed
// in its own goroutine, and a function run for every item of a list at once.
package async

// Future is a value computed in its own goroutine.
type Future[T any] struct {
	done chan struct{}
	val  T
}

// Go starts f and returns its future value.
func Go[T any](f func() T) *Future[T] {
	fu := &Future[T]{done: make(chan struct{})}
	go func() {
		defer close(fu.done)
		fu.val = f()
	}()
	return fu
}

// Wait blocks until the value is known.
func (f *Future[T]) Wait() T {
	<-f.done
	return f.val
}

// Each runs f for every item concurrently and returns the errors in item order.
func Each[T any](items []T, f func(T) error) []error {
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
