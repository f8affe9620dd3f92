package e2e

// EmulatorPID is the emulator's process id.
func EmulatorPID(f *Function) int { return f.cmd.Process.Pid }

// Children lists the processes a process started.
var Children = children
