package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// runnerEnv switches this binary into runner mode: it runs its arguments
// as a command and writes the command's resource usage as JSON to the file
// the variable names.
//
// Why a runner: Go starts children with vfork (CLONE_VM), and on exec Linux
// folds the high-water RSS of the replaced address space — the parent's —
// into the child's ru_maxrss. A harness holding DuckDB and read_json's
// memory would inflate jsync's peak RSS. The runner is a fresh, small
// process, so what it hands down is below any jsync process's own peak.
const runnerEnv = "JSYNCBENCH_RUNNER_OUT"

// childUsage is what the runner reports about the command it ran.
type childUsage struct {
	ExitCode int           `json:"exit_code"`
	Wall     time.Duration `json:"wall_ns"`
	MaxRSS   int64         `json:"max_rss_bytes"`
	UserCPU  time.Duration `json:"user_ns"`
	SysCPU   time.Duration `json:"sys_ns"`
}

// runnerMain runs args, forwards SIGINT and SIGTERM to it, and writes its
// usage to out. It returns the command's exit code (125 if it could not
// run or the usage could not be written).
func runnerMain(out string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "jsyncbench runner: no command")
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutEnv(os.Environ(), runnerEnv)
	setParentDeathSignal(cmd)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "jsyncbench runner:", err)
		return 125
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	u := childUsage{Wall: time.Since(start), ExitCode: cmd.ProcessState.ExitCode()}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "jsyncbench runner:", err)
		return 125
	}
	u.MaxRSS = maxRSS(cmd.ProcessState)
	u.UserCPU, u.SysCPU = cmd.ProcessState.UserTime(), cmd.ProcessState.SystemTime()
	b, err := json.Marshal(u)
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsyncbench runner: write usage:", err)
		return 125
	}
	if u.ExitCode < 0 {
		return 125 // killed by a signal
	}
	return u.ExitCode
}

// runMeasured runs name+args through the runner (this executable) and
// returns the child's usage. The error is non-nil when the child failed.
func runMeasured(cmd *exec.Cmd, usageFile string) (childUsage, error) {
	var u childUsage
	self, err := os.Executable()
	if err != nil {
		return u, fmt.Errorf("find the harness executable for the runner: %w", err)
	}
	cmd.Args = append([]string{self}, append([]string{cmd.Path}, cmd.Args[1:]...)...)
	cmd.Path = self
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, runnerEnv+"="+usageFile)
	_ = os.Remove(usageFile)
	runErr := cmd.Run()
	b, err := os.ReadFile(usageFile)
	if err != nil {
		if runErr != nil {
			return u, runErr
		}
		return u, fmt.Errorf("read child usage: %w", err)
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return u, fmt.Errorf("decode child usage: %w", err)
	}
	return u, runErr
}

func withoutEnv(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
