// Command loadbench measures Firebreak under faults and load: the real
// handler and SDK clients against the wire-level AWS simulator, with
// Lambda's environments and retries modelled (internal/loadtest), plus the
// bootstrap's size and cold start. It prints one `name: value` line per
// figure; `make bench` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// Scenarios in the order they run; "all" selects the default ones.
var (
	allScenarios     = []string{"throttled", "errors", "lost", "burst", "burst-reserved", "burst-adaptive", "burst-first-ever", "burst-org", "burst-org-reserved", "burst-shared-role", "burst-shared-role-reserved", "guard", "guard-throttled", "repeat", "sweep", "coldstart", "init"}
	defaultScenarios = []string{"throttled", "errors", "lost", "burst", "burst-reserved", "burst-org", "burst-org-reserved", "burst-shared-role", "burst-shared-role-reserved", "guard", "guard-throttled", "repeat", "sweep", "coldstart"}
)

type options struct {
	scenarios      []string
	scale          float64
	o              loadtest.Options
	victims        int
	burst          int
	reserved       int
	accounts       int
	worm           int
	guardCap       int
	repeat         int
	repeatVictims  int
	sweepVictims   int
	sweepDrifted   int
	coldStartRuns  int
	initRuns       int
	initBootstrap  string
	verbose        bool
	latencyMin     time.Duration
	latencyMax     time.Duration
	scenarioString string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{o: loadtest.DefaultOptions()}
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenarioString, "scenarios", "all", "comma-separated scenarios: "+strings.Join(allScenarios, ", ")+", or all")
	fs.Float64Var(&o.scale, "scale", 1, "multiplies every scenario's size (findings, deliveries)")
	fs.IntVar(&o.victims, "victims", 100, "findings in the throttled, errors and lost scenarios")
	fs.IntVar(&o.burst, "burst", 300, "findings in the burst")
	// infra/stack's default reservedConcurrency.
	fs.IntVar(&o.reserved, "reserved-concurrency", 5, "execution environments in burst-reserved, as the function's reserved concurrency")
	fs.IntVar(&o.accounts, "accounts", 20, "member accounts the burst-org scenarios spread the burst over")
	fs.IntVar(&o.worm, "guard-findings", 300, "findings at once in the guard scenarios (one execution environment each)")
	fs.IntVar(&o.guardCap, "guard-cap", 10, "maxAutomaticContainments in the guard scenarios")
	fs.IntVar(&o.repeat, "repeat", 1000, "re-deliveries in the repeat storm")
	fs.IntVar(&o.repeatVictims, "repeat-victims", 50, "contained instances the repeat storm re-delivers findings for")
	fs.IntVar(&o.sweepVictims, "sweep-victims", 500, "contained instances the sweep verifies (30% of requests throttled)")
	fs.IntVar(&o.sweepDrifted, "sweep-drifted", 5, "of them, changed behind Firebreak's back before the sweep")
	fs.IntVar(&o.o.Concurrency, "concurrency", o.o.Concurrency, "execution environments, in every scenario but the burst")
	fs.Float64Var(&o.o.TimeScale, "time-scale", o.o.TimeScale, "simulated seconds per real second (bucket refills, latency, SDK backoff, runbook and Lambda waits)")
	fs.DurationVar(&o.latencyMin, "latency-min", o.o.Latency[0], "least simulated AWS latency per request")
	fs.DurationVar(&o.latencyMax, "latency-max", o.o.Latency[1], "greatest simulated AWS latency per request")
	fs.Uint64Var(&o.o.Seed, "seed", o.o.Seed, "seed of the fleet layout and of the fault choices")
	fs.IntVar(&o.o.MaxAttempts, "max-attempts", 0, "SDK attempts per call, as AWS_MAX_ATTEMPTS (0: production's default)")
	fs.IntVar(&o.coldStartRuns, "cold-start-runs", 5, "runs the cold-start median is taken over")
	fs.IntVar(&o.initRuns, "init-runs", 20, "runs the bootstrap's init median and p90 are taken over")
	fs.StringVar(&o.initBootstrap, "init-bootstrap", "", "a prebuilt bootstrap (this machine's CPU) for the init scenario; empty builds this tree's")
	fs.BoolVar(&o.verbose, "v", false, "log the handler's warnings and errors to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.o.Latency = [2]time.Duration{o.latencyMin, o.latencyMax}
	switch {
	case o.scale <= 0:
		return o, fmt.Errorf("-scale must be positive, got %v", o.scale)
	case o.o.TimeScale <= 0:
		return o, fmt.Errorf("-time-scale must be positive, got %v", o.o.TimeScale)
	case o.reserved < 1:
		return o, fmt.Errorf("-reserved-concurrency must be at least 1, got %d", o.reserved)
	case o.accounts < 1:
		return o, fmt.Errorf("-accounts must be at least 1, got %d", o.accounts)
	case o.o.Concurrency < 1:
		return o, fmt.Errorf("-concurrency must be at least 1, got %d", o.o.Concurrency)
	case o.latencyMin < 0 || o.latencyMax < o.latencyMin:
		return o, fmt.Errorf("need 0 <= -latency-min <= -latency-max, got %v and %v", o.latencyMin, o.latencyMax)
	case o.guardCap < 1:
		return o, fmt.Errorf("-guard-cap must be at least 1, got %d", o.guardCap)
	case o.coldStartRuns < 1:
		return o, fmt.Errorf("-cold-start-runs must be at least 1, got %d", o.coldStartRuns)
	case o.initRuns < 1:
		return o, fmt.Errorf("-init-runs must be at least 1, got %d", o.initRuns)
	}
	for s := range strings.SplitSeq(o.scenarioString, ",") {
		s = strings.TrimSpace(s)
		switch {
		case s == "all":
			o.scenarios = append(o.scenarios, defaultScenarios...)
		case slices.Contains(allScenarios, s):
			o.scenarios = append(o.scenarios, s)
		default:
			return o, fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(allScenarios, ", "))
		}
	}
	// Run in the documented order, each once.
	o.scenarios = slices.DeleteFunc(slices.Clone(allScenarios), func(s string) bool { return !slices.Contains(o.scenarios, s) })
	return o, nil
}

func (o options) sized(n int) int { return max(1, int(float64(n)*o.scale+0.5)) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level := slog.Level(100) // nothing
	if o.verbose {
		level = slog.LevelWarn
	}
	o.o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	fmt.Fprintf(stdout, "time-scale: %g (simulated seconds per real second; SDK backoff, runbook and Lambda waits divided by it)\n", o.o.TimeScale)
	fmt.Fprintf(stdout, "simulated-latency: %v-%v per request\n", o.o.Latency[0], o.o.Latency[1])
	for _, s := range o.scenarios {
		// Simulated time is real time multiplied: a host busy with other
		// work stretches it, and this line shows when that happened.
		if load, err := os.ReadFile("/proc/loadavg"); err == nil && len(strings.Fields(string(load))) >= 3 {
			fmt.Fprintf(stdout, "%s-host-load: %s on %d CPUs\n", s, strings.Join(strings.Fields(string(load))[:3], " "), runtime.NumCPU())
		}
		started := time.Now()
		res, err := scenario(ctx, s, o)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", s, err)
		}
		if err := res.Write(stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s-run-seconds: %.1f\n", s, time.Since(started).Seconds())
	}
	return nil
}

func scenario(ctx context.Context, name string, o options) (loadtest.Result, error) {
	switch name {
	case "throttled":
		return loadtest.Throttled(ctx, o.o, o.sized(o.victims))
	case "errors":
		return loadtest.ServerErrors(ctx, o.o, o.sized(o.victims), false)
	case "lost":
		return loadtest.ServerErrors(ctx, o.o, o.sized(o.victims), true)
	case "burst":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, GroupsExist: true})
	case "burst-reserved":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, Concurrency: o.reserved, GroupsExist: true})
	case "burst-shared-role-reserved":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, Concurrency: o.reserved, GroupsExist: true, SharedRole: true})
	case "burst-shared-role":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, GroupsExist: true, SharedRole: true})
	case "burst-adaptive":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: aws.RetryModeAdaptive, GroupsExist: true})
	case "burst-first-ever":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode})
	case "burst-org":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, GroupsExist: true, Accounts: o.accounts})
	case "burst-org-reserved":
		return loadtest.Burst(ctx, o.o, loadtest.BurstSpec{Findings: o.sized(o.burst), RetryMode: awsclient.DefaultRetryMode, Concurrency: o.reserved,
			GroupsExist: true, Accounts: o.accounts})
	case "guard":
		return loadtest.Worm(ctx, o.o, loadtest.WormSpec{Findings: o.sized(o.worm), Cap: o.guardCap})
	case "guard-throttled":
		return loadtest.Worm(ctx, o.o, loadtest.WormSpec{Findings: o.sized(o.worm), Cap: o.guardCap, Throttle: 0.3})
	case "repeat":
		return loadtest.RepeatStorm(ctx, o.o, min(o.sized(o.repeatVictims), o.sized(o.repeat)), o.sized(o.repeat))
	case "sweep":
		return loadtest.Sweep(ctx, o.o, o.sized(o.sweepVictims), o.sweepDrifted, 0.3)
	case "coldstart":
		return coldStart(ctx, o.coldStartRuns, o.initRuns)
	case "init":
		return initOnly(ctx, o.initBootstrap, o.initRuns)
	}
	return loadtest.Result{}, fmt.Errorf("unknown scenario %q", name)
}
