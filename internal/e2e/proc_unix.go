//go:build unix && !linux

package e2e

import "syscall"

// processGroup puts the emulator in a process group of its own.
func processGroup() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// children is unknown without /proc: the emulator's own shutdown, on
// SIGTERM, stops the bootstrap.
func children(int) []int { return nil }
