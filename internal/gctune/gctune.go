// Package gctune sets the Go garbage collector for a Lambda execution
// environment, whose memory is fixed and reserved: collect when the heap
// nears the function's memory, not every time it doubles from 4 MB. A cold
// start then runs no collection before its first invocation is answered.
package gctune

import (
	"fmt"
	"runtime/debug"
	"strconv"
)

// share is the part of the function's memory the heap may grow to; the rest
// is left to the runtime, goroutine stacks and the HTTP buffers.
const share = 0.75

// minMemoryMB is Lambda's smallest memory size; below it the setting is not
// Lambda's and nothing is changed.
const minMemoryMB = 128

// ForLambda sets a soft memory limit of three quarters of the function's
// memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE) and turns the proportional
// trigger off. GOGC or GOMEMLIMIT set in the environment win. It returns what
// it did, for the log.
func ForLambda(getenv func(string) string) string {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return "GOGC or GOMEMLIMIT set: left as configured"
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb < minMemoryMB {
		return "not in a Lambda execution environment: Go's defaults"
	}
	limit := int64(float64(mb) * share * (1 << 20))
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(-1)
	return fmt.Sprintf("garbage collection when the heap nears %d MiB of %d MB", limit>>20, mb)
}
