//go:build unix

package parquet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// The SIGKILL test runs crashWorkload in a child process that kills itself
// with SIGKILL at the n-th step of the commit protocol (d.crashPoint), then
// re-runs the workload until it completes, like a re-run apply. After the
// crash the committed state must match the data exactly, and the final
// dataset must equal an uninterrupted run, checked with EXCEPT ALL in both
// directions.

const (
	crashEnvDir  = "JSYNC_PARQUET_CRASH_DIR"
	crashEnvKill = "JSYNC_PARQUET_CRASH_AT"
)

var crashOpts = Options{PartitionBy: map[string]string{"issues": "project_key"}}

func crashProjects() *schema.Table {
	return &schema.Table{Name: "projects", Replication: schema.FullTable, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "name", Type: arrow.BinaryTypes.String},
	}}
}

func crashIssuesV2() *schema.Table {
	t := issuesTable(schema.Incremental)
	t.Columns = append(t.Columns, schema.Column{Name: "story_points", Type: arrow.PrimitiveTypes.Float64})
	return t
}

func issueRange(from, to int, version string, projects int) []string {
	var rows []string
	for id := from; id <= to; id++ {
		rows = append(rows, issue(id, fmt.Sprintf("P%d", (id+len(version))%projects), fmt.Sprintf("%d %s", id, version)))
	}
	return rows
}

// crashSteps is the workload: each step commits cursor "step-<i>" with its
// data, so a re-run resumes after the last committed step.
func crashSteps(ctx context.Context, d *Destination, mem memory.Allocator) []func() error {
	iss := issuesTable(schema.Incremental)
	projects := crashProjects()
	st := func(i int) *state.TableState {
		return &state.TableState{Sync: "s", Table: "issues", Cursor: fmt.Sprintf("step-%d", i)}
	}
	rec := func(tbl *schema.Table, rows []string) arrow.RecordBatch {
		r, _, err := array.RecordFromJSON(mem, tbl.ArrowSchema(), strings.NewReader("["+strings.Join(rows, ",")+"]"))
		if err != nil {
			panic(err)
		}
		return r
	}
	write := func(tbl *schema.Table, i int, rows []string) error {
		_, err := d.Write(ctx, testNS, tbl, send(dest.Batch{Record: rec(tbl, rows)}, dest.Batch{State: st(i)}))
		return err
	}
	return []func() error{
		func() error { return write(iss, 1, issueRange(1, 40, "v1", 4)) },
		// Updates that move issues between projects, plus new issues.
		func() error { return write(iss, 2, issueRange(20, 60, "v22", 3)) },
		func() error {
			keys := rec(&schema.Table{Columns: []schema.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}}, []string{`{"id": 5}`, `{"id": 25}`, `{"id": 55}`})
			defer keys.Release()
			_, err := d.MarkDeleted(ctx, testNS, iss, keys, dest.Mark{At: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}, st(3))
			return err
		},
		func() error {
			_, err := d.Replace(ctx, testNS, projects, send(
				dest.Batch{Record: rec(projects, []string{`{"id": 1, "name": "one"}`, `{"id": 2, "name": "two"}`})},
				dest.Batch{State: st(4)}))
			return err
		},
		func() error {
			v2 := crashIssuesV2()
			changes, err := d.PlanMigrations(ctx, testNS, []*schema.Table{v2})
			if err != nil {
				return err
			}
			if err := d.Migrate(ctx, testNS, changes, dest.MigrateOptions{}); err != nil {
				return err
			}
			return write(v2, 5, issueRange(50, 70, "v333", 5))
		},
		func() error {
			_, err := d.Replace(ctx, testNS, projects, send(
				dest.Batch{Record: rec(projects, []string{`{"id": 2, "name": "two v2"}`, `{"id": 3, "name": "three"}`})},
				dest.Batch{State: st(6)}))
			return err
		},
	}
}

// crashStepCount is len(crashSteps(...)).
const crashStepCount = 6

// runCrashWorkload opens dir, takes the lock (which recovers), and runs the
// steps after the committed cursor, up to step upto.
func runCrashWorkload(t testing.TB, dir string, upto int, crashAt int) {
	ctx := context.Background()
	mem := memory.NewGoAllocator()
	opts := crashOpts
	opts.Path, opts.Allocator = dir, mem
	d, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()
	n := 0
	if crashAt > 0 {
		d.crashPoint = func(string) {
			if n++; n == crashAt {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	if _, err := d.Lock(ctx, dest.LockInfo{PID: os.Getpid(), Op: "crash-test"}, time.Minute); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	snap, err := d.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	if c := snap.Get("s", "issues").Cursor; c != "" {
		done, _ = strconv.Atoi(strings.TrimPrefix(c, "step-"))
	}
	steps := crashSteps(ctx, d, mem)
	for i := done; i < upto; i++ {
		if err := steps[i](); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
}

// TestCrashChild is the child process of TestCrashKill; it does nothing
// unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("child of TestCrashKill")
	}
	at, _ := strconv.Atoi(os.Getenv(crashEnvKill))
	runCrashWorkload(t, dir, crashStepCount, at)
}

func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// References: the dataset after each step, without crashes.
	refs := map[int]string{}
	work := t.TempDir()
	for step := 0; step <= crashStepCount; step++ {
		runCrashWorkload(t, work, step, 0)
		refs[step] = t.TempDir()
		if err := os.CopyFS(refs[step], os.DirFS(work)); err != nil {
			t.Fatalf("snapshot step %d: %v", step, err)
		}
	}
	// Count the crash points of a full run to spread the kills over it.
	total := 0
	{
		dir := t.TempDir()
		mem := memory.NewGoAllocator()
		opts := crashOpts
		opts.Path, opts.Allocator = dir, mem
		d, err := Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		d.crashPoint = func(string) { total++ }
		for _, s := range crashSteps(context.Background(), d, mem) {
			if err := s(); err != nil {
				t.Fatal(err)
			}
		}
		d.Close()
	}
	kills := 5
	if os.Getenv("JSYNC_LONG") != "" {
		kills = total
	}
	r := rand.New(rand.NewPCG(7, 7)) // deterministic by seed
	points := r.Perm(total)[:min(kills, total)]
	slices.Sort(points)
	t.Logf("%d crash points in a run; killing at %v", total, points)
	for _, p := range points {
		at := p + 1
		dir := t.TempDir()
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvKill+"="+strconv.Itoa(at))
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("kill at %d: child did not die by SIGKILL: %v\n%s", at, err, out)
		}
		// After recovery (Open + Lock), data matches the committed cursor.
		step := recoveredStep(t, dir)
		equalDatasets(t, fmt.Sprintf("kill at %d, recovered at step %d", at, step), dir, refs[step])
		// A re-run completes the work.
		runCrashWorkload(t, dir, crashStepCount, 0)
		equalDatasets(t, fmt.Sprintf("kill at %d, after re-run", at), dir, refs[crashStepCount])
	}
}

func recoveredStep(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	opts := crashOpts
	opts.Path = dir
	d, err := Open(ctx, opts)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer d.Close()
	unlock, err := d.Lock(ctx, dest.LockInfo{PID: 1}, time.Minute)
	if err != nil {
		t.Fatalf("lock after kill: %v", err)
	}
	defer unlock()
	snap, _ := d.State(ctx)
	step, _ := strconv.Atoi(strings.TrimPrefix(snap.Get("s", "issues").Cursor, "step-"))
	if left, _ := os.ReadDir(filepath.Join(dir, "_jsync", "tmp")); len(left) != 0 {
		t.Errorf("%d temporary files left after recovery", len(left))
	}
	return step
}

// equalDatasets compares every table of two destinations with EXCEPT ALL
// in both directions, through DuckDB's reader. A column only got has (a
// migration committed before the step that uses it) must be all NULL.
func equalDatasets(t *testing.T, what, got, want string) {
	t.Helper()
	for _, table := range []string{"issues", "projects"} {
		g := filepath.Join(got, testNS, table)
		w := filepath.Join(want, testNS, table)
		_, gerr := os.Stat(g)
		_, werr := os.Stat(w)
		rel := func(dir string) string {
			return fmt.Sprintf("read_parquet('%s', hive_partitioning = true)", filepath.Join(dir, "**", "*.parquet"))
		}
		if os.IsNotExist(gerr) || os.IsNotExist(werr) {
			// A table created by a step whose data did not commit is empty.
			for _, dir := range []string{g, w} {
				if _, err := os.Stat(dir); err == nil {
					if n := duck(t, got, "", "SELECT count(*) FROM "+rel(dir)); n[0][0] != "0" {
						t.Errorf("%s: table %s has %s rows in %s and does not exist in the other dataset", what, table, n[0][0], dir)
					}
				}
			}
			continue
		}
		cols := func(dir string) []string {
			var names []string
			for _, r := range duck(t, got, "", "DESCRIBE SELECT * FROM "+rel(dir)) {
				names = append(names, `"`+r[0]+`"`)
			}
			return names
		}
		gc, wc := cols(g), cols(w)
		for _, c := range gc {
			if !slices.Contains(wc, c) {
				if n := duck(t, got, "", fmt.Sprintf("SELECT count(%s) FROM %s", c, rel(g))); n[0][0] != "0" {
					t.Errorf("%s: table %s: column %s not in the reference has %s values", what, table, c, n[0][0])
				}
			}
		}
		list := strings.Join(wc, ", ")
		q := fmt.Sprintf(`SELECT (SELECT count(*) FROM (SELECT %[3]s FROM %[1]s EXCEPT ALL SELECT %[3]s FROM %[2]s)),
			(SELECT count(*) FROM (SELECT %[3]s FROM %[2]s EXCEPT ALL SELECT %[3]s FROM %[1]s)),
			(SELECT count(*) - count(DISTINCT id) FROM %[1]s)`, rel(g), rel(w), list)
		rows := duck(t, got, "", q)
		if rows[0][0] != "0" || rows[0][1] != "0" || rows[0][2] != "0" {
			t.Errorf("%s: table %s differs: %v rows only in got, %v only in want, %v duplicate keys", what, table, rows[0][0], rows[0][1], rows[0][2])
		}
	}
}
