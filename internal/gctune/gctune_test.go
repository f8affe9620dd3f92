package gctune

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func TestForLambda(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	tests := []struct {
		name      string
		env       map[string]string
		wantLimit int64
		wantGC    int
		says      string
	}{
		{"256 MB function", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"}, 192 << 20, -1, "192 MiB of 256 MB"},
		{"GOGC set by the operator", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOGC": "200"}, math.MaxInt64, 100, "left as configured"},
		{"GOMEMLIMIT set by the operator", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOMEMLIMIT": "100MiB"}, math.MaxInt64, 100, "left as configured"},
		{"not Lambda", map[string]string{}, math.MaxInt64, 100, "Go's defaults"},
		{"nonsense size", map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "12"}, math.MaxInt64, 100, "Go's defaults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			said := ForLambda(func(k string) string { return tt.env[k] })
			limit := debug.SetMemoryLimit(-1) // reads without changing
			gc := debug.SetGCPercent(100)
			if limit != tt.wantLimit || gc != tt.wantGC || !strings.Contains(said, tt.says) {
				t.Errorf("limit %d, GC percent %d, said %q; want %d, %d, %q", limit, gc, said, tt.wantLimit, tt.wantGC, tt.says)
			}
		})
	}
}
