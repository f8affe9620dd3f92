package handler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/metrics"
)

// Every invocation that produced a report writes its metric line; the
// outcome and the time to isolation come from the report.
func TestEachInvocationWritesItsMetricLine(t *testing.T) {
	tests := []struct {
		name, event string
		vars        map[string]string
		want        []string // metrics the line must hold
		lines       int
	}{
		{"containment", "guardduty-backdoor-c2.json", nil, []string{contract.MetricContained, contract.MetricTimeToIsolation, contract.MetricFindingAge, contract.MetricAWSCalls}, 1},
		{"dry run", "guardduty-backdoor-c2.json", map[string]string{contract.EnvDryRun: "true"}, []string{contract.MetricWouldContain}, 1},
		{"sample finding", "guardduty-sample-backdoor.json", nil, []string{contract.MetricNotified}, 1},
		{"not a finding", "guardduty-cloudtrail-api-call.json", nil, []string{contract.MetricIgnored}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, victim, tt.vars)
			var buf bytes.Buffer
			h := handler.New(e.cfg, awsfake.Factory{W: e.w}, slog.New(slog.NewTextHandler(io.Discard, nil)),
				handler.WithClock(e.w.Now), handler.WithMetrics(metrics.Emitter{W: &buf}))
			if _, err := h.Handle(context.Background(), events.Must(tt.event)); err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if len(lines) != tt.lines {
				t.Fatalf("%d metric lines, want %d: %s", len(lines), tt.lines, buf.Bytes())
			}
			var doc map[string]any
			if err := json.Unmarshal(lines[0], &doc); err != nil {
				t.Fatal(err)
			}
			for _, m := range tt.want {
				if _, ok := doc[m].(float64); !ok {
					t.Errorf("line has no %s: %s", m, lines[0])
				}
			}
		})
	}
	var buf bytes.Buffer
	e := newEnv(t, victim, nil)
	h := handler.New(e.cfg, awsfake.Factory{W: e.w}, slog.New(slog.NewTextHandler(io.Discard, nil)), handler.WithMetrics(metrics.Emitter{W: &buf}))
	if _, err := h.Handle(context.Background(), []byte(`{"not": "an event"`)); err == nil || buf.Len() != 0 {
		t.Errorf("a rejected payload: error %v, metric lines %q", err, buf.String())
	}
}
