package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// LambdaOptions are the lambda mode's extra outputs.
type LambdaOptions struct {
	// Status receives progress lines (building, starting); nil discards them.
	Status io.Writer
	// FunctionOutput receives the emulator's and the function's output
	// (START/END/REPORT lines, JSON logs); nil discards it.
	FunctionOutput io.Writer
}

// RunLambda is Run through the real function: it builds the bootstrap and the
// Lambda Runtime Interface Emulator into a temporary directory, serves the
// demo world with the wire-level AWS simulator, invokes the function with
// each event over HTTP and prints what Run prints. Everything it started is
// stopped and removed when it returns, ctx being cancelled included.
func RunLambda(ctx context.Context, names []string, format string, out io.Writer, opts LambdaOptions) error {
	names, raws, err := prepare(names, format)
	if err != nil {
		return err
	}
	w, d := World(raws[0])
	// Checked here as in-process, so a bad setting fails before any build.
	if _, err := Config(d, os.Getenv); err != nil {
		return err
	}
	status := opts.Status
	if status == nil {
		status = io.Discard
	}

	dir, err := os.MkdirTemp("", "firebreak-demo-")
	if err != nil {
		return fmt.Errorf("making a build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(status, "building bootstrap and the Lambda Runtime Interface Emulator...")
	bins, err := e2e.Build(ctx, dir)
	if err != nil {
		return err
	}
	world, err := e2e.StartWorld(ctx, w, d)
	if err != nil {
		return err
	}
	defer world.Close()
	cfg := world.FunctionConfig()
	cfg.Env = firebreakEnv(os.Environ())
	if opts.FunctionOutput != nil {
		// The contain and the release function write to it at the same time.
		cfg.Output = &lockedWriter{w: opts.FunctionOutput}
	}
	fn, err := e2e.StartFunction(ctx, bins, cfg)
	if err != nil {
		return err
	}
	defer fn.Close()
	// The release function, in its own execution environment, when an event is for it.
	release := fn
	if slices.ContainsFunc(names, ForRelease) {
		cfg.Release = true
		if release, err = e2e.StartFunction(ctx, bins, cfg); err != nil {
			return err
		}
		defer release.Close()
	}
	fmt.Fprintf(status, "function under the emulator, AWS simulator at %s\n", world.Endpoint)

	if format == "text" {
		fmt.Fprintf(out, "Demo world: victim %s (2 interfaces, 2 volumes, in %s, %s, 2 target groups); bystander %s\n\n",
			d.Victim, d.ASG, d.ClassicLB, d.Bystander)
	}
	for i, raw := range raws {
		before := len(w.Published())
		target := fn
		if ForRelease(names[i]) {
			target = release
		}
		body, err := target.Invoke(ctx, raw)
		var fe *e2e.FunctionError
		if err != nil && !errors.As(err, &fe) {
			if opts.FunctionOutput == nil {
				// Not streamed: show how the function ended, without a rerun.
				return fmt.Errorf("%s: %w\nthe function's last output:\n%s", names[i], err, lastLines(target.Output(), 20))
			}
			return fmt.Errorf("%s: %w", names[i], err)
		}
		var reports []*report.Report
		if fe == nil {
			if reports, err = decodeReports(body); err != nil {
				return fmt.Errorf("%s: %w", names[i], err)
			}
		}
		if format == "json" {
			for _, r := range reports {
				b, _ := json.Marshal(r)
				fmt.Fprintln(out, string(b))
			}
			if fe != nil {
				fmt.Fprintf(os.Stderr, "%s: %s\n", names[i], fe.Message)
			}
			continue
		}
		fmt.Fprintf(out, "== %s\n", names[i])
		if fe != nil {
			// Lambda returns the error alone: the reports were published,
			// not returned.
			fmt.Fprintf(out, "   handler error: %s\n", fe.Message)
		}
		for _, r := range reports {
			writeReport(out, r)
		}
		for _, m := range w.Published()[before:] {
			fmt.Fprintf(out, "   SNS: %q\n", m.Subject)
		}
		fmt.Fprintln(out)
	}
	if format == "text" {
		writeWorld(out, w, d)
	}
	return nil
}

// decodeReports reads the function's answer: one report, or an array of
// them for a Security Hub action naming several instances.
func decodeReports(body []byte) ([]*report.Report, error) {
	body = bytes.TrimSpace(body)
	var reports []*report.Report
	if bytes.HasPrefix(body, []byte("[")) {
		if err := json.Unmarshal(body, &reports); err != nil {
			return nil, fmt.Errorf("decoding the function's reports: %w", err)
		}
		return reports, nil
	}
	var r report.Report
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding the function's report: %w", err)
	}
	return []*report.Report{&r}, nil
}

// firebreakEnv passes the FIREBREAK_* settings of the environment on to the
// function, as the in-process demo reads them.
func firebreakEnv(environ []string) map[string]string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "FIREBREAK_") && v != "" {
			env[k] = v
		}
	}
	return env
}

// lastLines returns the last n lines of s, each cut to a readable width
// (stack traces in the runtime's error lines are long).
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	lines = lines[max(0, len(lines)-n):]
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "..."
		}
	}
	return strings.Join(lines, "\n")
}

// lockedWriter serializes writes from several emulators to one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
