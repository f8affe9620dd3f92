package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runtimeAPI is the part of the Lambda Runtime API a Go function uses, served
// here so the bootstrap can be timed on its own: no emulator in the figure.
const runtimeAPI = "/2018-06-01/runtime/"

// InitRun is one cold start of the bootstrap.
type InitRun struct {
	// Init is from exec to the bootstrap's first request for an invocation:
	// what Lambda reports as Init Duration.
	Init time.Duration
	// FirstInvoke is from handing out the first event to its response.
	FirstInvoke time.Duration
}

// InitTimes are the runs of MeasureInit, in run order.
type InitTimes []InitRun

// Quantile of the init or first-invocation times (nearest rank).
func (ts InitTimes) Quantile(q float64, first bool) time.Duration {
	ds := make([]time.Duration, len(ts))
	for i, r := range ts {
		ds[i] = r.Init
		if first {
			ds[i] = r.FirstInvoke
		}
	}
	return quantile(ds, q)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// MeasureInit starts the bootstrap runs times against a runtime API served on
// loopback, hands each its first event, and stops it once it answered. env is
// the function's environment (AWS_LAMBDA_RUNTIME_API is added).
func MeasureInit(ctx context.Context, bootstrap string, env []string, event []byte, runs int) (InitTimes, error) {
	if runs < 1 {
		return nil, fmt.Errorf("measuring init: runs must be at least 1, got %d", runs)
	}
	var out InitTimes
	for i := range runs {
		r, err := initOnce(ctx, bootstrap, env, event)
		if err != nil {
			return nil, fmt.Errorf("init run %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// runTimeout bounds one run: a start-up takes tens of milliseconds.
const runTimeout = 30 * time.Second

func initOnce(ctx context.Context, bootstrap string, env []string, event []byte) (InitRun, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return InitRun{}, fmt.Errorf("serving the runtime API: %w", err)
	}
	type mark struct {
		at  time.Time
		err error
	}
	polled, answered := make(chan mark, 1), make(chan mark, 1)
	var mu sync.Mutex
	served := false
	var handedOut time.Time
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+runtimeAPI+"invocation/next", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		again := served
		served = true
		mu.Unlock()
		if again {
			<-r.Context().Done() // no second event: the run is over
			return
		}
		polled <- mark{at: time.Now()}
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", "init-bench-1")
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(runTimeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+Region+":"+Account+":function:firebreak-contain")
		mu.Lock()
		handedOut = time.Now()
		mu.Unlock()
		_, _ = w.Write(event)
	})
	mux.HandleFunc("POST "+runtimeAPI+"invocation/{id}/{result}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		m := mark{at: time.Now()}
		if r.PathValue("result") != "response" {
			m.err = fmt.Errorf("the first invocation failed: %s", body)
		}
		answered <- m
	})
	mux.HandleFunc("POST "+runtimeAPI+"init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusAccepted)
		polled <- mark{err: fmt.Errorf("the bootstrap failed to start: %s", body)}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: runTimeout}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	var output lockedBuffer
	cmd := exec.Command(bootstrap)
	cmd.Env = append(slices.Clone(env), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	cmd.Stdout, cmd.Stderr = &output, &output
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return InitRun{}, fmt.Errorf("starting %s: %w", bootstrap, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}()
	wait := func(ch <-chan mark, what string) (time.Time, error) {
		select {
		case m := <-ch:
			return m.at, m.err
		case err := <-exited:
			exited <- err
			// What it said before exiting (an init error) comes first.
			select {
			case m := <-ch:
				return m.at, m.err
			default:
			}
			return time.Time{}, fmt.Errorf("the bootstrap exited before %s (%v):\n%s", what, err, output.String())
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
	at, err := wait(polled, "asking for an invocation")
	if err != nil {
		return InitRun{}, err
	}
	done, err := wait(answered, "answering the first invocation")
	if err != nil {
		return InitRun{}, errors.Join(err, fmt.Errorf("output:\n%s", output.String()))
	}
	mu.Lock()
	defer mu.Unlock()
	return InitRun{Init: at.Sub(started), FirstInvoke: done.Sub(handedOut)}, nil
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
