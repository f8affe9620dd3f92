package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/loadtest"
)

// coldStartEvent is a GuardDuty event that is not a finding: the function
// ignores it without an AWS call, so the figure is the start-up alone.
const coldStartEvent = "guardduty-cloudtrail-api-call.json"

// initEvent is a GuardDuty sample finding: the function reports it, so the
// first invocation builds its clients and publishes once, as a real first
// event would, without changing anything.
const initEvent = "guardduty-sample-backdoor.json"

// coldStart reports the shipped bootstrap's size (linux/arm64, stripped),
// the median time from starting the Lambda emulator to the first invocation
// served (internal/e2e's harness), and the bootstrap's own init (initTimes).
func coldStart(ctx context.Context, runs, initRuns int) (loadtest.Result, error) {
	dir, err := os.MkdirTemp("", "loadbench-coldstart-")
	if err != nil {
		return loadtest.Result{}, fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	_, size, err := e2e.BuildRelease(ctx, dir)
	if err != nil {
		return loadtest.Result{}, err
	}
	bins, err := e2e.Build(ctx, dir)
	if err != nil {
		return loadtest.Result{}, err
	}
	world, err := demoWorld(ctx)
	if err != nil {
		return loadtest.Result{}, err
	}
	defer world.Close()
	payload, err := events.Load(coldStartEvent)
	if err != nil {
		return loadtest.Result{}, err
	}
	cs, err := e2e.MeasureColdStart(ctx, bins, world.FunctionConfig(), payload, runs)
	if err != nil {
		return loadtest.Result{}, err
	}
	samples := make([]string, len(cs.Samples))
	for i, s := range cs.Samples {
		samples[i] = fmt.Sprintf("%.0f", ms(s))
	}
	var r loadtest.Result
	r.Metrics = append(r.Metrics,
		loadtest.Metric{Name: "bootstrap-bytes", Value: fmt.Sprint(size)},
		loadtest.Metric{Name: "cold-start-ms", Value: fmt.Sprintf("%.0f", ms(cs.FirstInvoke))},
		loadtest.Metric{Name: "cold-start-emulator-ready-ms", Value: fmt.Sprintf("%.0f", ms(cs.Ready))},
		loadtest.Metric{Name: "cold-start-samples-ms", Value: strings.Join(samples, " ")})
	in, err := initTimes(ctx, world, dir, "", initRuns)
	r.Metrics = append(r.Metrics, in.Metrics...)
	return r, err
}

// initTimes measures the bootstrap's own start: from exec to its first
// request for an invocation, on a runtime API served by loadtest.MeasureInit
// (no emulator), and the first invocation after it. bootstrap is a prebuilt
// one to measure (another commit's); empty builds this tree's as it ships,
// for this machine's CPU.
func initTimes(ctx context.Context, world *e2e.World, dir, bootstrap string, runs int) (loadtest.Result, error) {
	if bootstrap == "" {
		var err error
		if bootstrap, _, err = e2e.BuildReleaseFor(ctx, dir, runtime.GOARCH); err != nil {
			return loadtest.Result{}, err
		}
	}
	first, err := events.Load(initEvent)
	if err != nil {
		return loadtest.Result{}, err
	}
	inits, err := loadtest.MeasureInit(ctx, bootstrap, world.FunctionConfig().Environ(dir), first, runs)
	if err != nil {
		return loadtest.Result{}, err
	}
	var r loadtest.Result
	r.Metrics = append(r.Metrics,
		loadtest.Metric{Name: "init-ms", Value: fmt.Sprintf("%.1f", ms(inits.Quantile(0.5, false)))},
		loadtest.Metric{Name: "init-p90-ms", Value: fmt.Sprintf("%.1f", ms(inits.Quantile(0.9, false)))},
		loadtest.Metric{Name: "first-invoke-ms", Value: fmt.Sprintf("%.1f", ms(inits.Quantile(0.5, true)))},
		loadtest.Metric{Name: "first-invoke-p90-ms", Value: fmt.Sprintf("%.1f", ms(inits.Quantile(0.9, true)))},
		loadtest.Metric{Name: "init-runs", Value: fmt.Sprint(len(inits))})
	return r, nil
}

// initOnly is the init scenario: initTimes alone, a few seconds.
func initOnly(ctx context.Context, bootstrap string, runs int) (loadtest.Result, error) {
	dir, err := os.MkdirTemp("", "loadbench-init-")
	if err != nil {
		return loadtest.Result{}, fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	world, err := demoWorld(ctx)
	if err != nil {
		return loadtest.Result{}, err
	}
	defer world.Close()
	return initTimes(ctx, world, dir, bootstrap, runs)
}

func demoWorld(ctx context.Context) (*e2e.World, error) {
	w := awsfake.New(loadtest.Account, loadtest.Region)
	return e2e.StartWorld(ctx, w, w.SeedDemo("i-0abc1234def567890"))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
