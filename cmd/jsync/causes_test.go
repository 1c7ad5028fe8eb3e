package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestCauses(t *testing.T) {
	oom := errors.New("commit: Out of Memory Error\nPossible solutions: raise memory_limit")
	ctxErr := errors.New("context canceled")
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"one error", errors.New("boom"), []string{"boom"}},
		{"wrapped", fmt.Errorf("sync.a: %w", oom), []string{"sync.a: " + oom.Error()}},
		{"joined", errors.Join(errors.New("a"), errors.New("b")), []string{"a", "b"}},
		{"prefix over a join",
			fmt.Errorf("sync.x: %w", errors.Join(fmt.Errorf("write t1: %w", oom), fmt.Errorf("write t2: %w", oom))),
			[]string{"sync.x: write t1: " + oom.Error(), "sync.x: write t2: " + oom.Error()}},
		{"nested joins",
			errors.Join(fmt.Errorf("sync.x: %w", errors.Join(oom, oom)), errors.New("c")),
			[]string{"sync.x: " + oom.Error(), "sync.x: " + oom.Error(), "c"}},
		{"several %w is one cause", fmt.Errorf("%w: %w", ctxErr, oom), []string{ctxErr.Error() + ": " + oom.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := causes(tt.err); !slices.Equal(got, tt.want) {
				t.Errorf("causes =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestFailPrintsEachCauseOnce: tables failing for one reason print it once.
func TestFailPrintsEachCauseOnce(t *testing.T) {
	cause := errors.New("write issues: commit: out of memory")
	err := errors.Join(
		fmt.Errorf("sync.s: %w", errors.Join(cause, cause, cause)),
		errors.New("sync.t: HTTP 401"),
		fmt.Errorf("sync.s: %w", cause),
	)
	var stderr bytes.Buffer
	env := &cliEnv{stderr: &stderr}
	if code := env.fail(err); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	want := "Error: sync.s: write issues: commit: out of memory\nError: sync.t: HTTP 401\n(3 more of the errors above, reported again by other tables)\n"
	if got := stderr.String(); got != want {
		t.Errorf("printed\n%s\nwant\n%s", got, want)
	}
}
