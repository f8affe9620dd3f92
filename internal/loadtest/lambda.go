package loadtest

import (
	"context"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// AsyncRetryDelays are Lambda's waits before the two retries of a failed
// asynchronous invocation (about one minute, then two).
var AsyncRetryDelays = []time.Duration{time.Minute, 2 * time.Minute}

// Lambda models the service in front of the function for asynchronous
// invocations: up to Concurrency execution environments, each handling one
// event at a time and kept warm between events, and a failed invocation
// retried once per entry of RetryDelays, after that (scaled) wait.
type Lambda struct {
	Function    Function
	Concurrency int
	// RetryDelays are in simulated time; nil means AsyncRetryDelays.
	RetryDelays []time.Duration

	mu   sync.Mutex
	idle []*Environment
	made int
}

// Invocation is what became of one event.
type Invocation struct {
	// Attempts counts invocations of the function for the event (1 to 3).
	Attempts int
	// Err is the last attempt's error: non-nil means the event failed for good
	// (it would go to the on-failure destination).
	Err     error
	Reports []*report.Report
	// Environments are the execution environments (numbered from 1 in
	// creation order) that ran each attempt.
	Environments []int
}

// Run sums up one InvokeAll.
type Run struct {
	Invocations []Invocation
	Elapsed     time.Duration
	// ColdStarts counts environments created during the run.
	ColdStarts int
}

// Failed counts events that failed after every retry.
func (r Run) Failed() int {
	n := 0
	for _, inv := range r.Invocations {
		if inv.Err != nil {
			n++
		}
	}
	return n
}

// Retries counts invocations beyond each event's first.
func (r Run) Retries() int {
	n := 0
	for _, inv := range r.Invocations {
		n += inv.Attempts - 1
	}
	return n
}

// InvokeAll delivers every event at once, as EventBridge would on a burst,
// and returns when each has succeeded or exhausted its retries.
func (l *Lambda) InvokeAll(ctx context.Context, evs [][]byte) Run {
	type job struct {
		i       int
		attempt int
	}
	out := Run{Invocations: make([]Invocation, len(evs))}
	// Buffered for every event, so a retry timer never blocks.
	queue := make(chan job, len(evs))
	var pending sync.WaitGroup
	pending.Add(len(evs))
	for i := range evs {
		queue <- job{i: i}
	}
	l.mu.Lock()
	madeBefore := l.made
	l.mu.Unlock()

	delays := l.RetryDelays
	if delays == nil {
		delays = AsyncRetryDelays
	}
	start := time.Now()
	var workers sync.WaitGroup
	for range max(1, l.Concurrency) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			var env *Environment
			defer func() {
				if env != nil {
					l.release(env)
				}
			}()
			for j := range queue {
				if env == nil {
					env = l.acquire()
				}
				reps, err := env.Invoke(ctx, evs[j.i])
				inv := &out.Invocations[j.i]
				inv.Attempts, inv.Err, inv.Reports = j.attempt+1, err, reps
				inv.Environments = append(inv.Environments, env.id)
				if err == nil || j.attempt >= len(delays) || ctx.Err() != nil {
					pending.Done()
					continue
				}
				next := job{i: j.i, attempt: j.attempt + 1}
				time.AfterFunc(l.Function.scaled(delays[j.attempt]), func() { queue <- next })
			}
		}()
	}
	pending.Wait()
	out.Elapsed = time.Since(start)
	close(queue)
	workers.Wait()
	l.mu.Lock()
	out.ColdStarts = l.made - madeBefore
	l.mu.Unlock()
	return out
}

// acquire takes a warm environment, or starts a new one (a cold start).
func (l *Lambda) acquire() *Environment {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.idle); n > 0 {
		env := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return env
	}
	l.made++
	env := l.Function.NewEnvironment()
	env.id = l.made
	return env
}

func (l *Lambda) release(env *Environment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.idle = append(l.idle, env)
}

// Close reclaims every idle environment.
func (l *Lambda) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, env := range l.idle {
		env.Close()
	}
	l.idle = nil
}
