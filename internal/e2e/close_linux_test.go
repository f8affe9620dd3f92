package e2e_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/e2e"
)

// TestCloseLeavesNoProcess: the emulator starts the bootstrap in a process
// group of its own; Close must end both, or every test run would leave
// functions behind.
func TestCloseLeavesNoProcess(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	// An ignored event starts the bootstrap without touching AWS.
	e.mustInvoke(e.f, events.Must("guardduty-cloudtrail-api-call.json"))
	emulator := e2e.EmulatorPID(e.f)
	runtimes := e2e.Children(emulator)
	if len(runtimes) != 1 {
		t.Fatalf("emulator %d has children %v, want the bootstrap", emulator, runtimes)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", runtimes[0])); exe != bins.Bootstrap {
		t.Fatalf("emulator's child runs %q, want %s", exe, bins.Bootstrap)
	}
	if err := e.f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range append(runtimes, emulator) {
		if !gone(pid) {
			t.Errorf("process %d still runs after Close", pid)
		}
	}
	if _, err := e.f.Invoke(context.Background(), events.Must("guardduty-cloudtrail-api-call.json")); err == nil {
		t.Error("a closed function still answers")
	}
}

// gone waits (briefly: a killed process is reaped within milliseconds) until
// pid no longer exists or is a zombie no one has reaped yet.
func gone(pid int) bool {
	for range 200 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// The state follows the command name in parentheses.
		if _, rest, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(rest, "Z") {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return false
}
