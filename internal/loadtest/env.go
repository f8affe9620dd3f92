package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// Settings of the deployed function (infra/stack) and of the runbook that
// the time scale shrinks with everything else.
const (
	FunctionTimeout     = 5 * time.Minute
	runbookRetryBase    = 500 * time.Millisecond
	snapshotRateBackoff = 15 * time.Second
	guardLease          = 20 * time.Second
	guardPoll           = 100 * time.Millisecond
	reportLease         = 30 * time.Second
)

// simulatorKey is the access key id of the function's role: in an
// organization, the simulator knows it as the security account's.
const simulatorKey = "AKIDSIMULATOR"

// Function is what every execution environment of the function shares:
// its configuration and how its SDK clients reach the simulator.
type Function struct {
	Config   config.Config
	Endpoint string
	// RetryMode is the SDK's retry mode (standard unless set), as
	// AWS_RETRY_MODE would set it.
	RetryMode aws.RetryMode
	// MaxAttempts defaults to awsclient.DefaultMaxAttempts, as in production.
	MaxAttempts int
	// TimeScale runs simulated time that many times faster than real time:
	// the SDK's backoff, the runbook's own waits and the function timeout
	// are divided by it, as the simulator's bucket refills are multiplied.
	TimeScale float64
	// Timeout is the function timeout in simulated time (FunctionTimeout
	// when zero).
	Timeout time.Duration
	Logger  *slog.Logger
}

func (f Function) scaled(d time.Duration) time.Duration {
	if f.TimeScale <= 0 {
		return d
	}
	return time.Duration(float64(d) / f.TimeScale)
}

// Environment is one Lambda execution environment: its own handler, client
// factory, retryers and connection pool, handling one event at a time.
type Environment struct {
	fn      Function
	handler *handler.Handler
	http    aws.HTTPClient
	id      int
}

// NewEnvironment builds an environment the way functions/contain does at
// init: configuration read once, clients built once.
func (f Function) NewEnvironment() *Environment {
	log := f.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	// The SDK's default HTTP client, as config.LoadDefaultConfig builds it in
	// the Lambda, with more idle connections to the one simulator host than
	// its default 10, which stands for several AWS endpoints here.
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) { t.MaxIdleConnsPerHost = 64 }).Freeze()
	cfg := aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(simulatorKey, "simulator-secret", ""),
		BaseEndpoint: aws.String(f.Endpoint),
		HTTPClient:   shielded{hc},
		Retryer:      f.retryer(),
	}
	clients := awsclient.New(cfg, f.Config.AccountID, awsclient.WithMembers(awsclient.MembersOf(f.Config, "firebreak-contain")))
	h := handler.New(f.Config, clients, log, handler.WithRunbookOptions(func(o *runbook.Options) {
		o.RetryBase = f.scaled(runbookRetryBase)
		o.SnapshotBackoff = f.scaled(snapshotRateBackoff)
	}), handler.WithLedgerTimings(handler.LedgerTimings{
		// A take's deadline stays in real time: it bounds the real latency of
		// requests, which the host's load sets, not the time scale.
		Guard:       ledger.GuardOptions{Lease: guardLease, Poll: f.scaled(guardPoll)},
		ReportLease: f.scaled(reportLease),
	}))
	return &Environment{fn: f, handler: h, http: hc}
}

// retryer is awsclient's production retryer (standard or adaptive mode,
// DefaultMaxAttempts, no client-side retry quota) with the SDK's own
// backoff divided by the time scale.
func (f Function) retryer() func() aws.Retryer {
	attempts := f.MaxAttempts
	if attempts == 0 {
		attempts = awsclient.DefaultMaxAttempts
	}
	production := func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.RateLimiter = ratelimit.None
	}
	// The SDK's default delays (throttles from 1 s, other errors from 50 ms,
	// doubling with full jitter, at most 20 s) come from a standard retryer
	// left at its defaults; only their length changes.
	delays := retry.NewStandard(production)
	scaled := func(o *retry.StandardOptions) {
		production(o)
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
			d, derr := delays.RetryDelay(attempt, err)
			return f.scaled(d), derr
		})
	}
	if f.RetryMode == aws.RetryModeAdaptive {
		return func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, scaled)
			})
		}
	}
	return func() aws.Retryer { return retry.NewStandard(scaled) }
}

// Invoke runs one event under the function's timeout, as the runtime would.
func (e *Environment) Invoke(ctx context.Context, event []byte) ([]*report.Report, error) {
	timeout := e.fn.Timeout
	if timeout == 0 {
		timeout = FunctionTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, e.fn.scaled(timeout))
	defer cancel()
	reps, err := e.handler.Handle(ctx, json.RawMessage(event))
	if err != nil {
		return reps, fmt.Errorf("invoking the handler: %w", err)
	}
	return reps, nil
}

// Close drops the environment's idle connections, as a frozen and
// reclaimed environment would.
func (e *Environment) Close() {
	if c, ok := e.http.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// shielded hides io.WriterTo on request bodies, as awsclient.Load does in
// production: without it net/http may drop a connection under a response
// the server already sent (aws-sdk-go-v2 #2737) and the SDK would retry a
// call that succeeded, which is not the behaviour under test.
type shielded struct{ next aws.HTTPClient }

func (c shielded) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return c.next.Do(r)
}
