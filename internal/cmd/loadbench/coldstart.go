package main

import (
	"context"
	"fmt"
	"os"
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

// coldStart reports the shipped bootstrap's size (linux/arm64, stripped) and
// the median time from starting the Lambda emulator to the first invocation
// served, with internal/e2e's harness.
func coldStart(ctx context.Context, runs int) (loadtest.Result, error) {
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
	w := awsfake.New(loadtest.Account, loadtest.Region)
	world, err := e2e.StartWorld(ctx, w, w.SeedDemo("i-0abc1234def567890"))
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
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
