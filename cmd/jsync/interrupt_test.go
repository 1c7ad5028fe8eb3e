package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// TestInterruptEndsCleanly sends SIGINT to a running apply: it stops
// fetching, lets the batches in flight commit, exits non-zero with a message
// saying what happened, and the next apply completes the sync exactly.
//
// With load = "after_fetch" the interrupted apply writes none of what it
// staged and leaves no staged file.
func TestInterruptEndsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end sync")
	}
	for _, load := range []string{"while_fetching", "after_fetch"} {
		t.Run(load, func(t *testing.T) { testInterrupt(t, load) })
	}
}

func testInterrupt(t *testing.T, load string) {
	srv, err := jirasim.Start(jirasim.Options{Issues: 400, Seed: 3, Rate: -1, Latency: 40 * time.Millisecond,
		Email: "int@example.com", Token: "int-token-123456"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
source "jira" "acme" {
  base_url   = %q
  email      = "int@example.com"
  api_token  = "int-token-123456"
  ca_file    = "ca.pem"
  start_date = "2000-01-01"
}
destination "duckdb" "w" { path = "jira.duckdb" }
sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.w
  tables      = ["issues", "issue_comments", "worklogs", "projects"]
  load        = %q
}
`, srv.URL(), load)
	if err := os.WriteFile(filepath.Join(dir, "jsync.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := jsyncCommand(ctx, dir, "apply", "-auto-approve", "-parallelism=2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt as soon as the first table is done: the issues are still
	// being fetched then.
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		if !sent && strings.Contains(line, ": done,") {
			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			sent = true
		}
	}
	err = cmd.Wait()
	out := log.String()
	if !sent {
		t.Fatalf("no table finished before the run ended:\n%s", out)
	}
	if err == nil {
		t.Fatalf("the run finished before the interrupt took effect, so nothing was tested:\n%s", out)
	}
	if !strings.Contains(out, "Interrupt received") {
		t.Fatalf("exit %v without the interrupt message:\n%s", err, out)
	}
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("stack trace on interrupt:\n%s", out)
	}
	// Reported as an interruption, not as failures: exit 130, the tables
	// it stopped as stopped, no "context canceled" error.
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Errorf("exit %v, want status 130", err)
	}
	summary := stdout.String()
	if !strings.Contains(summary, "Apply interrupted after") || !strings.Contains(summary, "stopped (interrupted; committed rows kept)") ||
		strings.Contains(summary, "FAILED") {
		t.Errorf("summary of the interrupted apply:\n%s", summary)
	}
	if !strings.Contains(out, "Interrupted: the rows and checkpoints committed are kept") || strings.Contains(out, "context canceled") ||
		strings.Contains(out, "failed after") {
		t.Errorf("stderr of the interrupted apply:\n%s", out)
	}

	if load == "after_fetch" {
		if !strings.Contains(out, "staged rows not loaded") {
			t.Errorf("the interrupted apply does not say that its staged rows were not loaded:\n%s", out)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "jira.duckdb.staging", "*")); len(left) > 0 {
			t.Errorf("staged files left after the interrupt: %v", left)
		}
		if n := duckCount(t, filepath.Join(dir, "jira.duckdb"), "SELECT count(*) FROM acme.issues"); n != 0 {
			t.Errorf("the interrupted apply wrote %d staged issues", n)
		}
	}

	// The next apply completes the sync, with exactly the expected rows.
	again := jsyncCommand(ctx, dir, "apply", "-auto-approve", "-force")
	if b, err := again.CombinedOutput(); err != nil {
		t.Fatalf("apply after the interrupt: %v\n%s", err, b)
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, "jira.duckdb")+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := srv.Expected(time.Time{}).Tables
	for _, table := range []string{"issues", "issue_comments", "worklogs", "projects"} {
		var n, distinct int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*), count(DISTINCT id) FROM acme."%s" WHERE _jsync_deleted_at IS NULL`, table)).Scan(&n, &distinct); err != nil {
			if strings.Contains(err.Error(), "_jsync_deleted_at") {
				err = db.QueryRow(fmt.Sprintf(`SELECT count(*), count(DISTINCT id) FROM acme."%s"`, table)).Scan(&n, &distinct)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if n != want[table] || distinct != n {
			t.Errorf("%s: %d rows (%d distinct), want %d", table, n, distinct, want[table])
		}
	}
}
