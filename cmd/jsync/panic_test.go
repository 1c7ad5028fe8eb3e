package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/engine/dag"
)

// TestRunCommandRecoversPanic: a bug that panics in a command (or in a
// worker of the dependency walk) ends in an error message and exit code 1,
// with the Go stack trace only when JSYNC_DEBUG is set.
func TestRunCommandRecoversPanic(t *testing.T) {
	inWalk := func(ctx context.Context, env *cliEnv, args []string) int {
		g := dag.New()
		g.Add("sync.s.issues")
		_, _ = g.Walk(ctx, 1, func(ctx context.Context, v string) error {
			var m map[string]int
			m["x"]++
			return nil
		})
		return exitOK
	}
	tests := []struct {
		name      string
		run       func(ctx context.Context, env *cliEnv, args []string) int
		debug     string
		wantMsg   string
		wantStack bool
	}{
		{"main goroutine", func(context.Context, *cliEnv, []string) int { panic("boom") }, "", "internal error in jsync apply: boom", false},
		{"walk worker", inWalk, "", "internal error in jsync apply: sync.s.issues: assignment to entry in nil map", false},
		{"with JSYNC_DEBUG", func(context.Context, *cliEnv, []string) int { panic("boom") }, "1", "internal error in jsync apply: boom", true},
		{"walk worker with JSYNC_DEBUG", inWalk, "1", "assignment to entry in nil map", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := &cliEnv{stderr: &stderr, getenv: func(k string) (string, bool) {
				if k == debugEnv && tt.debug != "" {
					return tt.debug, true
				}
				return "", false
			}}
			code := env.runCommand(context.Background(), command{name: "apply", run: tt.run}, nil)
			out := stderr.String()
			if code != exitError {
				t.Errorf("exit code %d, want %d", code, exitError)
			}
			if !strings.Contains(out, tt.wantMsg) {
				t.Errorf("stderr %q does not contain %q", out, tt.wantMsg)
			}
			if !strings.Contains(out, "Please report it") {
				t.Errorf("stderr %q does not ask for a report", out)
			}
			if hasStack := strings.Contains(out, "goroutine "); hasStack != tt.wantStack {
				t.Errorf("stack trace shown: %v, want %v:\n%s", hasStack, tt.wantStack, out)
			}
		})
	}
}
