// Package e2e runs the real containment Lambda end to end, offline: the built
// `bootstrap` under the AWS Lambda Runtime Interface Emulator (RIE), with the
// SDK pointed at the wire-level simulator (internal/awssim) serving an
// in-memory AWS (internal/awsfake). The end-to-end tests, `make demo
// MODE=lambda` and the benchmarks share this harness.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Packages the harness builds. Import paths, not ./ paths, so a build works
// from any directory inside the module (tests run in their package's).
const (
	FunctionPackage = "github.com/firebreak-ir/firebreak/functions/contain"
	ReleasePackage  = "github.com/firebreak-ir/firebreak/functions/release"
	RIEPackage      = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
)

// InvokePath is where the emulator takes invocations, as the Lambda Invoke API.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Credentials handed to the function: the simulator reads the SigV4 scope but
// does not check signatures.
const (
	AccessKeyID     = "AKIDE2EHARNESS"
	SecretAccessKey = "e2e-harness-secret"
)

// Binaries are the executables an end-to-end run needs.
type Binaries struct {
	Dir       string
	Bootstrap string // the contain function, for this machine's OS and CPU
	Release   string // the release function, built the same way
	RIE       string // aws-lambda-rie
}

// BuildOption changes how Build compiles the function.
type BuildOption func(*buildConfig)

type buildConfig struct{ race bool }

// WithRace chooses whether the bootstrap is built with the race detector,
// whatever this binary was built with.
func WithRace(on bool) BuildOption { return func(c *buildConfig) { c.race = on } }

// RaceEnabled reports whether this binary was built with the race detector.
func RaceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// Build compiles the function for this machine's OS and CPU (as Lambda's
// provided.al2023 runs it, minus the cross-compilation) and the emulator into
// dir, both at once. The bootstrap is built as it ships (CGO_ENABLED=0,
// -trimpath), or with the race detector when this binary has it (a `go test
// -race` binary): the packages are then those the test run already compiled,
// so the build is a link rather than a second compile of the SDK, and a data
// race in the function shows in its output. Repeated builds are served by the
// Go build cache.
func Build(ctx context.Context, dir string, opts ...BuildOption) (Binaries, error) {
	bc := buildConfig{race: RaceEnabled()}
	for _, o := range opts {
		o(&bc)
	}
	b := Binaries{Dir: dir, Bootstrap: filepath.Join(dir, "bootstrap"), Release: filepath.Join(dir, "bootstrap-release"), RIE: filepath.Join(dir, "aws-lambda-rie")}
	local := []string{"GOOS=" + runtime.GOOS, "GOARCH=" + runtime.GOARCH}
	fn := slices.Concat(local, []string{"CGO_ENABLED=0"})
	flags := []string{"-tags", "lambda.norpc", "-trimpath"}
	if bc.race {
		fn, flags = local, []string{"-tags", "lambda.norpc", "-race"}
	}
	var wg sync.WaitGroup
	var errBootstrap, errRelease, errRIE error
	wg.Go(func() { errBootstrap = goBuild(ctx, fn, append(flags, "-o", b.Bootstrap, FunctionPackage)...) })
	wg.Go(func() { errRelease = goBuild(ctx, fn, append(flags, "-o", b.Release, ReleasePackage)...) })
	wg.Go(func() { errRIE = goBuild(ctx, local, "-o", b.RIE, RIEPackage) })
	wg.Wait()
	if err := errors.Join(errBootstrap, errRelease, errRIE); err != nil {
		return Binaries{}, err
	}
	return b, nil
}

// BuildRelease builds the bootstrap exactly as it ships (linux/arm64,
// stripped, reproducible) into dir and returns its path and size in bytes.
func BuildRelease(ctx context.Context, dir string) (string, int64, error) {
	return BuildReleaseFor(ctx, dir, "arm64")
}

// BuildReleaseFor builds the bootstrap with the release flags for a Linux
// CPU (this machine's, to run it here).
func BuildReleaseFor(ctx context.Context, dir, goarch string) (string, int64, error) {
	out := filepath.Join(dir, "bootstrap-linux-"+goarch)
	err := goBuild(ctx, []string{"GOOS=linux", "GOARCH=" + goarch, "CGO_ENABLED=0"},
		"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", out, FunctionPackage)
	if err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return "", 0, fmt.Errorf("reading the release bootstrap: %w", err)
	}
	return out, fi.Size(), nil
}

func goBuild(ctx context.Context, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", args[len(args)-1], err, stderr.String())
	}
	return nil
}

// World is an in-memory AWS served over the wire by the simulator.
type World struct {
	AWS      *awsfake.World
	Demo     awsfake.Demo
	Sim      *awssim.Server
	Endpoint string
	// Org is set by StartOrganization: AWS is then the security account,
	// where the function's credentials belong.
	Org *awsfake.Organization
}

// StartWorld serves w (seeded by the caller, e.g. with SeedDemo, whose result
// is d) on a loopback port until ctx is done or Close is called. The world's
// clock becomes the wall clock, the one the function reads, so the timestamps
// it writes and the world's own agree.
func StartWorld(ctx context.Context, w *awsfake.World, d awsfake.Demo, opts ...awssim.Option) (*World, error) {
	w.SetClock(time.Now)
	sim := awssim.New(awssim.Backend{Clients: w.Clients(), STS: w.STS()}, opts...)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the simulator: %w", err)
	}
	return &World{AWS: w, Demo: d, Sim: sim, Endpoint: endpoint}, nil
}

// StartOrganization is StartWorld for several accounts: every world of org
// is served, each request in the account its access key belongs to, and the
// function's credentials (AccessKeyID) are those of its role in security,
// the account w and d describe.
func StartOrganization(ctx context.Context, org *awsfake.Organization, security *awsfake.World, d awsfake.Demo, opts ...awssim.Option) (*World, error) {
	for _, a := range org.Accounts() {
		org.World(a).SetClock(time.Now)
	}
	org.AddAccessKey(AccessKeyID, awsfake.FunctionPrincipal(security.Account()))
	sim := awssim.New(awssim.Backend{}, append(opts, awssim.WithDirectory(org))...)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the simulator: %w", err)
	}
	return &World{AWS: security, Demo: d, Sim: sim, Endpoint: endpoint, Org: org}, nil
}

// Close stops the simulator.
func (w *World) Close() error { return w.Sim.Close() }

// FunctionConfig is the function's configuration for this world: the
// simulator's endpoint, the demo topic and bucket, and the account id (clear
// AccountID to make the function ask STS instead).
func (w *World) FunctionConfig() FunctionConfig {
	return FunctionConfig{
		Endpoint:       w.Endpoint,
		Region:         w.AWS.Region(),
		TopicARN:       w.Demo.Topic,
		EvidenceBucket: w.Demo.Bucket,
		GuardTable:     w.Demo.GuardTable,
		AccountID:      w.AWS.Account(),
	}
}

// FunctionConfig is what the function and the emulator are started with.
type FunctionConfig struct {
	Endpoint       string // AWS_ENDPOINT_URL: every service goes there
	Region         string // us-east-1 when empty
	TopicARN       string
	EvidenceBucket string
	GuardTable     string
	// DynamoDBEndpoint is AWS_ENDPOINT_URL_DYNAMODB: the guard table there
	// (dynalite), every other service at Endpoint.
	DynamoDBEndpoint string
	// AccountID is FIREBREAK_ACCOUNT_ID; empty makes the function ask STS
	// GetCallerIdentity.
	AccountID string
	// Env adds or overrides variables (FIREBREAK_DRY_RUN, AWS_MAX_ATTEMPTS...).
	Env map[string]string
	// Output receives the emulator's and the function's output as it comes;
	// the last part is also kept for Function.Output.
	Output io.Writer
	// Release runs the release function instead of the contain function.
	Release bool
}

// Environ is the environment the function starts with, for running the
// bootstrap without the emulator (dir is its home).
func (c FunctionConfig) Environ(dir string) []string { return c.environ(dir) }

// environ is the whole environment of the emulator, which passes it on to
// the function. It is built from nothing, not inherited: a developer's
// AWS_PROFILE, session token or per-service endpoint must never send the
// function to a real account.
func (c FunctionConfig) environ(dir string) []string {
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	env := map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        dir,
		"AWS_ENDPOINT_URL":            c.Endpoint,
		"AWS_REGION":                  region,
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_LAMBDA_LOG_FORMAT":       "JSON",
		"AWS_LAMBDA_FUNCTION_NAME":    c.functionName(),
		// The deadline of the invocation's context, as a deployed timeout.
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "120",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		contract.EnvTopicARN:              c.TopicARN,
		contract.EnvEvidenceBucket:        c.EvidenceBucket,
		contract.EnvAccountID:             c.AccountID,
		contract.EnvGuardTable:            c.GuardTable,
		"AWS_ENDPOINT_URL_DYNAMODB":       c.DynamoDBEndpoint,
	}
	maps.Copy(env, c.Env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if env[k] != "" {
			out = append(out, k+"="+env[k])
		}
	}
	return out
}

func (c FunctionConfig) functionName() string {
	if c.Release {
		return "firebreak-release"
	}
	return "firebreak-contain"
}

// Function is one emulator process running the bootstrap: one Lambda
// execution environment. The emulator serves one invocation at a time (like
// a Lambda environment), so Invoke calls queue.
type Function struct {
	cmd     *exec.Cmd
	url     string
	started time.Time
	out     *tail
	client  *http.Client

	invoking sync.Mutex

	exited  chan struct{}
	waitErr error
	closing sync.Once
}

// startAttempts bounds retries when a free port was taken by someone else
// between choosing it and the emulator binding it.
const startAttempts = 3

// StartFunction starts the emulator with the bootstrap on free loopback ports
// (the emulator's 0.0.0.0:8080 and runtime API's 9001 defaults would collide
// between tests) and returns once it accepts connections. The emulator starts
// the bootstrap on the first invocation, as Lambda does. Close, or ctx being
// done, stops both.
func StartFunction(ctx context.Context, bins Binaries, cfg FunctionConfig) (*Function, error) {
	var errs []error
	for range startAttempts {
		f, err := startOnce(ctx, bins, cfg)
		if err == nil {
			return f, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("starting the Lambda runtime emulator: %w", errors.Join(errs...))
}

func startOnce(ctx context.Context, bins Binaries, cfg FunctionConfig) (*Function, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	rieAddr, runtimeAddr := ports[0], ports[1]
	bootstrap := bins.Bootstrap
	if cfg.Release {
		bootstrap = bins.Release
	}
	cmd := exec.Command(bins.RIE,
		"--runtime-interface-emulator-address", rieAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Dir = bins.Dir
	cmd.Env = cfg.environ(bins.Dir)
	cmd.SysProcAttr = processGroup()
	out := &tail{max: 1 << 20, tee: cfg.Output}
	cmd.Stdout, cmd.Stderr = out, out

	f := &Function{
		cmd: cmd, url: "http://" + rieAddr + InvokePath, out: out, exited: make(chan struct{}),
		// No keep-alive: each invocation is its own request, as the Invoke
		// API's are. No proxy from the environment: the emulator is local.
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
	f.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bins.RIE, err)
	}
	go func() {
		f.waitErr = cmd.Wait()
		close(f.exited)
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = f.Close()
		case <-f.exited:
		}
	}()
	if err := f.waitReady(ctx, rieAddr); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// readyTimeout bounds the wait for the emulator's port; it listens within
// milliseconds when it starts at all.
const readyTimeout = 15 * time.Second

func (f *Function) waitReady(ctx context.Context, addr string) error {
	deadline := time.NewTimer(readyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.exited:
			return fmt.Errorf("the emulator exited before listening on %s (%v):\n%s", addr, f.waitErr, f.out.String())
		case <-deadline.C:
			return fmt.Errorf("the emulator did not listen on %s within %s:\n%s", addr, readyTimeout, f.out.String())
		case <-tick.C:
		}
	}
}

// Started is when the emulator process was started.
func (f *Function) Started() time.Time { return f.started }

// Output is the last part (up to 1 MiB) of what the emulator and the function
// printed: START/END/REPORT lines and the function's JSON logs.
func (f *Function) Output() string { return f.out.String() }

// FunctionError is an invocation the function answered with an error, as
// Lambda reports it (errorType, errorMessage).
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Invoke sends one event and returns the function's response payload. A
// function error comes back as a *FunctionError (with the payload); a failure
// of the emulator itself as another error.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.invoking.Lock()
	defer f.invoking.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		select {
		case <-f.exited:
			return nil, fmt.Errorf("invoking the function: the emulator exited (%v): %w\n%s", f.waitErr, err, f.out.String())
		default:
		}
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the function's response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoking the function: HTTP %d from the emulator: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	if fe := functionError(resp.Header, body); fe != nil {
		return body, fe
	}
	if !json.Valid(body) {
		// The emulator answers a timeout with plain text and status 200.
		return body, fmt.Errorf("invoking the function: not a JSON response: %s", bytes.TrimSpace(body))
	}
	return body, nil
}

// functionError recognizes Lambda's error payload: the X-Amz-Function-Error
// header when the emulator sets it, otherwise an object made of errorType and
// errorMessage (and optionally stackTrace) only, which no report looks like.
func functionError(h http.Header, body []byte) *FunctionError {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		if h.Get("X-Amz-Function-Error") != "" {
			return &FunctionError{Type: h.Get("X-Amz-Function-Error"), Message: string(bytes.TrimSpace(body))}
		}
		return nil
	}
	_, hasType := fields["errorType"]
	_, hasMessage := fields["errorMessage"]
	delete(fields, "stackTrace")
	if h.Get("X-Amz-Function-Error") == "" && !(hasType && hasMessage && len(fields) == 2) {
		return nil
	}
	var fe FunctionError
	_ = json.Unmarshal(body, &fe)
	if fe.Type == "" {
		fe.Type = h.Get("X-Amz-Function-Error")
	}
	return &fe
}

// stopGrace is how long the emulator gets to stop the bootstrap and exit
// after SIGTERM before both are killed.
const stopGrace = 5 * time.Second

// Close stops the emulator and the bootstrap and waits for the emulator to be
// reaped. It is safe to call more than once.
func (f *Function) Close() error {
	f.closing.Do(func() {
		stop(f.cmd, f.exited)
		f.client.CloseIdleConnections()
	})
	<-f.exited
	return nil
}

// stop asks the emulator to shut down (on SIGTERM it stops the runtime, then
// exits), and kills whatever is left after stopGrace. The emulator starts the
// bootstrap in a process group of its own, so killing the emulator's group
// alone would leave the bootstrap running: its group is killed too.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	if cmd.Process == nil {
		return
	}
	pid := cmd.Process.Pid
	runtimes := children(pid)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-exited:
		return
	case <-grace.C:
	}
	for _, c := range runtimes {
		_ = syscall.Kill(-c, syscall.SIGKILL)
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}

// freePorts picks n distinct free loopback ports below Linux's default
// ephemeral range (32768-60999). The emulator binds its runtime API only at
// the first invocation, seconds after the choice; a port from the ephemeral
// range could be handed meanwhile to any connection or listener on port 0
// (the simulator's, the SDK's), one below it only to another such choice.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	var addrs []string
	for tries := 0; len(addrs) < n; tries++ {
		if tries == 1000 {
			return nil, errors.New("choosing a free port: none free in 20000-32767")
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+mrand.IntN(12768)))
		if err != nil {
			continue // taken
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// ColdStart is the cold-start measurement: from starting the emulator (which
// starts the bootstrap on the first invocation, like Lambda's init) to that
// first invocation being answered.
type ColdStart struct {
	Runs int
	// Ready is the median time until the emulator accepted connections.
	Ready time.Duration
	// FirstInvoke is the median time until the first invocation was served.
	FirstInvoke time.Duration
	// Samples are the FirstInvoke times of every run, in run order.
	Samples []time.Duration
}

// MeasureColdStart starts a fresh emulator and bootstrap runs times, invokes
// payload once on each, and reports the medians. payload should be one the
// function answers without error; an event it ignores keeps AWS calls out of
// the figure.
func MeasureColdStart(ctx context.Context, bins Binaries, cfg FunctionConfig, payload []byte, runs int) (ColdStart, error) {
	if runs < 1 {
		return ColdStart{}, fmt.Errorf("measuring cold starts: runs must be at least 1, got %d", runs)
	}
	res := ColdStart{Runs: runs}
	var ready []time.Duration
	for i := range runs {
		f, err := StartFunction(ctx, bins, cfg)
		if err != nil {
			return ColdStart{}, fmt.Errorf("cold start %d: %w", i+1, err)
		}
		up := time.Since(f.Started())
		_, err = f.Invoke(ctx, payload)
		served := time.Since(f.Started())
		_ = f.Close()
		if err != nil {
			return ColdStart{}, fmt.Errorf("cold start %d: %w", i+1, err)
		}
		ready = append(ready, up)
		res.Samples = append(res.Samples, served)
	}
	res.Ready = Median(ready)
	res.FirstInvoke = Median(res.Samples)
	return res, nil
}

// Median is the middle value (the mean of the two middle ones for an even
// count); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// tail keeps the last max bytes written and copies everything to tee.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
	tee io.Writer
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	if t.tee != nil {
		_, _ = t.tee.Write(p)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
