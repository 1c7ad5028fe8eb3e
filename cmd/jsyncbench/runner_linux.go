package main

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the command if the runner dies first.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
