package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStockDuckDBClientReadsFile opens a DuckDB file written by jsync with
// the official DuckDB Node.js client, a DuckDB 1.5 build we did not compile.
// .ci/run installs it (npm install @duckdb/node-api) and points
// JSYNC_STOCK_DUCKDB_NODE at the directory holding node_modules; without it
// the test is skipped.
func TestStockDuckDBClientReadsFile(t *testing.T) {
	nodeDir := os.Getenv("JSYNC_STOCK_DUCKDB_NODE")
	if nodeDir == "" {
		t.Skip("JSYNC_STOCK_DUCKDB_NODE not set: run .ci/run, or npm install @duckdb/node-api in a directory and point it there")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	dir := t.TempDir()
	cfg := `
source "jira" "demo" {
  simulator {
    issues = 80
  }
  start_date = "2000-01-01"
}
destination "duckdb" "local" { path = "jira.duckdb" }
sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.local
}
`
	if err := os.WriteFile(filepath.Join(dir, "jsync.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := realMain([]string{"-chdir=" + dir, "apply", "-auto-approve"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("apply exited %d: %s", code, errb.String())
	}
	// Our own counts, through duckdb-go.
	db, err := sql.Open("duckdb", filepath.Join(dir, "jira.duckdb")+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	rows, err := db.Query(`SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'demo'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		var est int64
		if err := rows.Scan(&n, &est); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		var c int64
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM demo."%s"`, n)).Scan(&c); err != nil {
			t.Fatal(err)
		}
		want[n] = c
	}
	db.Close()

	script, err := os.ReadFile(filepath.Join("testdata", "stockclient", "check.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	mjs := filepath.Join(nodeDir, "jsync-check.mjs")
	if err := os.WriteFile(mjs, script, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", mjs, filepath.Join(dir, "jira.duckdb"), "demo")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stock client failed: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if !strings.HasPrefix(lines[0], "version\tv1.5") {
		t.Fatalf("expected a DuckDB 1.5 client, got %q", lines[0])
	}
	seen := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		switch f[0] {
		case "count":
			seen++
			if fmt.Sprint(want[f[1]]) != f[2] {
				t.Errorf("%s: stock client counts %s rows, jsync wrote %d", f[1], f[2], want[f[1]])
			}
		case "types":
			if l != "types\tTIMESTAMP WITH TIME ZONE\tVARCHAR[]\tJSON\tDATE" {
				t.Errorf("stock client sees column types %q", l)
			}
		}
	}
	if seen != len(want) || seen < 23 {
		t.Fatalf("stock client saw %d tables, jsync wrote %d", seen, len(want))
	}
}
