package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestQuickSmoke runs `jsyncbench -quick` end to end against the built
// binaries (make build). It takes a minute or two, so it runs only with
// JSYNC_LONG=1.
func TestQuickSmoke(t *testing.T) {
	if os.Getenv("JSYNC_LONG") == "" {
		t.Skip("set JSYNC_LONG=1 (and run make build) to run the benchmark smoke test")
	}
	binDir, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"jsync", "jirasim"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Skipf("no %s in %s: run make build", b, binDir)
		}
	}
	out := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	o, err := parseFlags([]string{"-quick", "-scenarios", "1,3,4", "-bin", binDir, "-out", out, "-budget", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), o, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{"| 1. Backfill, local | 1,000 |", "| 3. Request efficiency | 1,000 |", "| 4. Incremental (1% changed) |",
		"| 4. Incremental, no change |", "| 4. Incremental, runs in a row |", "| Run | Changed issues |", "## API minimum (scenario 3)", "read_json", "`go tool pprof -top`"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// Peak RSS and the database file's size, both measured.
	if !regexp.MustCompile(`\| 1\. Backfill, local \| 1,000 \|( [^|]+ \|){4} \d+ MB \| \d+ MB \|`).MatchString(md) {
		t.Errorf("scenario 1 lacks its peak RSS or database size:\n%s", md)
	}
	if strings.Contains(md, "## Scenarios that could not run") || strings.Contains(md, "**FAILED**") {
		t.Errorf("the smoke run failed:\n%s", md)
	}
}
