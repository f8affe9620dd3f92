package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processGroup puts the emulator in a process group of its own. The
// parent-death signal makes it shut down (stopping the bootstrap) when the
// test binary dies without cleaning up, e.g. on a test timeout.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// children lists the processes pid started (the bootstrap, once invoked).
func children(pid int) []int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for f := range strings.FieldsSeq(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}
