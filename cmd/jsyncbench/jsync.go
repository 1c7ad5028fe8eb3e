package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver
)

// benchNamespace is the source name, and so the DuckDB schema of the tables.
const benchNamespace = "bench"

// dbFile is the destination file inside a config dir. It is not named
// after the namespace: DuckDB names the catalog after the file, and a
// catalog and schema both called "bench" make "bench.issues" ambiguous.
const dbFile = "jira.duckdb"

// tokenEnv carries the API token to jsync, as a user would (no secret in a file).
const tokenEnv = "JSYNC_BENCH_TOKEN"

// writeConfig writes a jsync configuration into dir that syncs every table
// of the simulator at url into dir/jira.duckdb (dbFile). caFile is copied into dir.
// load, when set, is the sync's load attribute.
func writeConfig(dir, url, caFile, load string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("read simulator CA: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), pem, 0o644); err != nil {
		return fmt.Errorf("write CA into config dir: %w", err)
	}
	// No tables attribute: a sync defaults to every table the source offers.
	loadLine := ""
	if load != "" {
		loadLine = fmt.Sprintf("  load        = %q\n", load)
	}
	hcl := fmt.Sprintf(`source "jira" %[1]q {
  base_url   = %[2]q
  email      = %[3]q
  api_token  = env(%[4]q)
  ca_file    = "ca.pem"
  start_date = "2000-01-01"
}

destination "duckdb" "bench" {
  path = %[5]q
}

sync "bench" {
  source      = source.jira.%[1]s
  destination = destination.duckdb.bench
%[6]s}
`, benchNamespace, url, benchEmail, tokenEnv, dbFile, loadLine)
	if err := os.WriteFile(filepath.Join(dir, "jsync.hcl"), []byte(hcl), 0o644); err != nil {
		return fmt.Errorf("write jsync config: %w", err)
	}
	return nil
}

// applyRun is one measured `jsync apply`.
type applyRun struct {
	Wall    time.Duration
	MaxRSS  int64 // bytes; 0 when the platform does not report it
	UserCPU time.Duration
	SysCPU  time.Duration
	Output  string // combined stdout and stderr, for failures and the log
}

// applyOptions are the flags of one apply.
type applyOptions struct {
	Parallelism int
	CPUProfile  string // file name inside the config dir; "" = none
	MemProfile  string
}

// runApply runs `bin -chdir=dir apply -auto-approve -force -parallelism=N` as a
// separate process, through the runner, and measures it.
func runApply(ctx context.Context, bin, dir string, o applyOptions) (applyRun, error) {
	args := []string{"-chdir=" + dir, "apply", "-auto-approve", "-force"}
	if o.Parallelism > 0 {
		args = append(args, fmt.Sprintf("-parallelism=%d", o.Parallelism))
	}
	if o.CPUProfile != "" {
		args = append(args, "-cpuprofile="+o.CPUProfile)
	}
	if o.MemProfile != "" {
		args = append(args, "-memprofile="+o.MemProfile)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), tokenEnv+"="+benchToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	u, err := runMeasured(cmd, filepath.Join(dir, "usage.json"))
	run := applyRun{Wall: u.Wall, MaxRSS: u.MaxRSS, UserCPU: u.UserCPU, SysCPU: u.SysCPU, Output: out.String()}
	if err != nil {
		return run, fmt.Errorf("jsync apply in %s: %w\n%s", dir, err, tail(run.Output, 40))
	}
	return run, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// countRows counts the live rows (not marked deleted) of each table in the
// destination's namespace. It opens the file read-only after jsync exited.
func countRows(ctx context.Context, dbPath, namespace string) (map[string]int64, error) {
	db, err := sql.Open("duckdb", dbPath+"?access_mode=read_only")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dbPath, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name, bool_or(column_name = '_jsync_deleted_at')
		FROM information_schema.columns WHERE table_schema = ? GROUP BY table_name`, namespace)
	if err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", namespace, err)
	}
	deletedCol := map[string]bool{}
	for rows.Next() {
		var name string
		var hasDeleted bool
		if err := rows.Scan(&name, &hasDeleted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tables of %s: %w", namespace, err)
		}
		deletedCol[name] = hasDeleted
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list tables of %s: %w", namespace, err)
	}
	counts := map[string]int64{}
	for name, hasDeleted := range deletedCol {
		q := fmt.Sprintf(`SELECT count(*) FROM %s.%s`, quoteIdent(namespace), quoteIdent(name))
		if hasDeleted {
			q += ` WHERE _jsync_deleted_at IS NULL`
		}
		var n int64
		if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s.%s: %w", namespace, name, err)
		}
		counts[name] = n
	}
	return counts, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// mismatch is a table whose row count differs from the simulator's.
type mismatch struct {
	Table     string
	Want, Got int64
	Missing   bool // the table does not exist in the destination
}

func (m mismatch) String() string {
	if m.Missing {
		return fmt.Sprintf("%s: table missing (want %d rows)", m.Table, m.Want)
	}
	return fmt.Sprintf("%s: %d rows, want %d", m.Table, m.Got, m.Want)
}

// compareCounts lists every expected table whose count differs, sorted.
func compareCounts(want, got map[string]int64) []mismatch {
	var out []mismatch
	for t, w := range want {
		g, ok := got[t]
		if !ok || g != w {
			out = append(out, mismatch{Table: t, Want: w, Got: g, Missing: !ok})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}
