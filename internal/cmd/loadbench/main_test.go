package main

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		args          []string
		wantScenarios []string
		wantErr       string
	}{
		{nil, defaultScenarios, ""},
		{[]string{"-scenarios", "repeat,throttled"}, []string{"throttled", "repeat"}, ""},
		{[]string{"-scenarios", "burst-first-ever,all"}, []string{"throttled", "errors", "lost", "burst", "burst-reserved", "burst-first-ever", "burst-org", "burst-org-reserved", "burst-shared-role", "burst-shared-role-reserved", "guard", "guard-throttled", "repeat", "sweep", "coldstart"}, ""},
		{[]string{"-guard-cap", "0"}, nil, "-guard-cap must be at least 1"},
		{[]string{"-scenarios", "errors,errors"}, []string{"errors"}, ""},
		{[]string{"-scenarios", "soak"}, nil, `unknown scenario "soak"`},
		{[]string{"-scale", "0"}, nil, "-scale must be positive"},
		{[]string{"-time-scale", "-1"}, nil, "-time-scale must be positive"},
		{[]string{"-concurrency", "0"}, nil, "-concurrency must be at least 1"},
		{[]string{"-reserved-concurrency", "0"}, nil, "-reserved-concurrency must be at least 1"},
		{[]string{"-accounts", "0"}, nil, "-accounts must be at least 1"},
		{[]string{"-latency-min", "50ms", "-latency-max", "10ms"}, nil, "-latency-min <= -latency-max"},
		{[]string{"extra"}, nil, "unexpected arguments"},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if !slices.Equal(o.scenarios, tt.wantScenarios) {
			t.Errorf("%v: scenarios %v, want %v", tt.args, o.scenarios, tt.wantScenarios)
		}
	}
}

func TestScaleSizesScenarios(t *testing.T) {
	o, err := parseFlags([]string{"-scale", "0.1"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.sized(o.burst); got != 30 {
		t.Errorf("burst at scale 0.1 = %d findings, want 30", got)
	}
	if got := o.sized(3); got != 1 {
		t.Errorf("a size never drops below 1, got %d", got)
	}
}

// TestPrintsNameValueLines runs one small scenario through the command.
func TestPrintsNameValueLines(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-scenarios", "errors", "-victims", "3", "-time-scale", "50", "-latency-min", "0", "-latency-max", "0"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		name, value, ok := strings.Cut(line, ": ")
		if !ok || strings.ContainsAny(name, " \t") || value == "" {
			t.Errorf("line %q is not `name: value`", line)
		}
		names[name] = value
	}
	for name, want := range map[string]string{"errors-contained": "1.000", "snapshot-sets-per-instance": "1.000 (min 1, max 1)", "errors-findings": "3"} {
		if names[name] != want {
			t.Errorf("%s = %q, want %q\n%s", name, names[name], want, out.String())
		}
	}
}
