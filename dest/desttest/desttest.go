// Package desttest is the conformance suite every dest.Destination passes.
//
// A destination's test calls Run with a function that opens the destination
// in a directory, and Options that tell the suite how to read a table back:
//
//	desttest.Run(t, func(t *testing.T, dir string) dest.Destination {
//		d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(dir, "jsync.duckdb")})
//		if err != nil {
//			t.Fatal(err)
//		}
//		return d
//	}, desttest.Options{Relation: …})
//
// open may be called more than once with the same dir (reopen, two
// instances on one path for the lock); the suite closes every destination it
// opens exactly once.
//
// # Reading back
//
// The suite reads everything through DuckDB SQL, so both destinations are
// checked by a reader other than their writer and compared with one code
// path. Options.Relation returns a *sql.DB of the duckdb-go driver and a
// relation: any SQL that may follow FROM. The DuckDB destination returns its
// own handle and "schema"."table"; the Parquet destination returns an
// in-memory DuckDB and read_parquet('<dir>/<ns>/<table>/**/*.parquet',
// hive_partitioning = true). A table with no rows must read as empty, not as
// an error. Relation is also called with ns "_jsync" and table "runs" for the
// run log, whose columns are named like state.Run's JSON tags. Columns the
// suite did not ask for (hive partition columns, say) are ignored.
//
// # What a destination must do
//
//   - Migrations: PlanMigrations on a new table reports CreateTable, after
//     Migrate it reports nothing. A new column is AddColumn and reads NULL in
//     existing rows; int32→int64 is WidenColumn and keeps values; string→int64
//     is IncompatibleColumn, refused by Migrate unless AllowIncompatible; a
//     column missing from the definition is ExtraColumn, reported on every
//     plan and never dropped (rows rewritten without it may keep their value
//     or read NULL there).
//   - Write upserts by primary key: the newer values win; a key repeated
//     within one batch keeps its last row. WriteStats count Inserted (new
//     keys) and Updated (existing keys).
//   - Types round-trip exactly as DuckDB reads them: list<string>, struct,
//     timestamp[µs, UTC] (TIMESTAMP WITH TIME ZONE), date32 (DATE),
//     decimal128 (DECIMAL(p,s)), float64, bool, int32/int64, JSON strings
//     (JSON or VARCHAR, the text unchanged), unicode, and empty strings,
//     empty lists and all-null structs distinct from NULL.
//   - Replace leaves exactly the new rows, atomically: a Replace that fails
//     (a bad batch, a cancelled ctx) leaves the old rows and state.
//   - MarkDeleted sets _jsync_deleted_at on the given keys that are not marked
//     yet, returns how many, ignores unknown keys, keeps an earlier mark, and
//     commits its state with it. Upserting the row again with a NULL
//     _jsync_deleted_at clears the mark. A record with other columns than
//     the primary key (a child table's issue_id; one or several columns)
//     marks every row equal to one of its rows in all of them; NULLs match
//     nothing, and an unknown column or a wrong type is an error that
//     commits nothing. With Mark.SyncedBefore only rows whose
//     _jsync_synced_at is before it are marked.
//   - State: a batch's rows and state commit together or not at all, each
//     batch by itself; a State-only batch commits the state. Snapshot.Serial
//     grows by exactly one per committed state change (CommitState call,
//     batch with State, MarkDeleted with state) and not otherwise. State
//     survives a reopen, LastSuccess to the microsecond.
//   - Lock: a second Lock, also from a second instance on the same dir,
//     fails with *dest.ErrLocked naming the holder, or waits up to its
//     timeout and gets the lock once released; a cancelled ctx stops the wait.
//   - RecordRun upserts by Run.ID.
//   - Writes to different tables may run concurrently.
//
// Diff and SameRows compare two relations with EXCEPT ALL in both
// directions, for tests that check two destinations (or a crashed and an
// uninterrupted run) hold the same rows.
//
// Ownership: a Batch sent to Write or Replace gives its Record to the
// destination, which releases it, also on error. On error Write and Replace
// return without draining the channel. MarkDeleted's keys stay the caller's.
// Records are built with a memory.CheckedAllocator and every test asserts
// that all of them were released.
package desttest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// Options configures Run.
type Options struct {
	// Relation returns a duckdb-go database handle and a relation (SQL that
	// may follow FROM) through which the suite reads ns.table as d wrote it.
	// Required. See the package doc.
	Relation func(t *testing.T, d dest.Destination, ns dest.Namespace, table string) (db *sql.DB, from string)
	// Namespace is the namespace the suite writes to; default "acme".
	Namespace dest.Namespace
	// Skip maps the names of subtests a destination cannot pass (Run's
	// list: Create, UpsertTwice, RoundTrip, …) to the reason, which the
	// subtest reports when it skips.
	Skip map[string]string
}

// Open opens a destination stored in dir.
type Open func(t *testing.T, dir string) dest.Destination

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, open Open, opts Options) {
	if opts.Relation == nil {
		t.Fatal("desttest: Options.Relation is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "acme"
	}
	tests := []struct {
		name string
		fn   func(h *harness)
	}{
		{"Create", testCreate},
		{"UpsertTwice", testUpsertTwice},
		{"RoundTrip", testRoundTrip},
		{"Replace", testReplace},
		{"ReplaceAtomic", testReplaceAtomic},
		{"MarkDeleted", testMarkDeleted},
		{"MarkDeletedByColumn", testMarkDeletedByColumn},
		{"MarkDeletedStale", testMarkDeletedStale},
		{"AddColumn", testAddColumn},
		{"Evolve", testEvolve},
		{"StateAtomic", testStateAtomic},
		{"Flushed", testFlushed},
		{"Serial", testSerial},
		{"Reopen", testReopen},
		{"Lock", testLock},
		{"RecordRun", testRecordRun},
		{"ConcurrentTables", testConcurrentTables},
		{"ConcurrentMigrate", testConcurrentMigrate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if reason, ok := opts.Skip[tc.name]; ok {
				t.Skip(reason)
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			h := &harness{t: t, open: open, opts: opts, ns: opts.Namespace, dir: t.TempDir(), mem: mem, ctx: t.Context()}
			h.d = h.reopen(nil)
			t.Cleanup(func() {
				h.closeAll()
				mem.AssertSize(t, 0)
			})
			tc.fn(h)
		})
	}
}

// harness is one subtest's destination and helpers.
type harness struct {
	t    *testing.T
	open Open
	opts Options
	ns   dest.Namespace
	dir  string
	mem  *memory.CheckedAllocator
	ctx  context.Context
	d    dest.Destination
	// opened holds every destination not closed yet.
	opened []dest.Destination
}

// reopen opens another instance on the same dir, first closing old if not
// nil.
func (h *harness) reopen(old dest.Destination) dest.Destination {
	h.t.Helper()
	if old != nil {
		h.close(old)
	}
	d := h.open(h.t, h.dir)
	if d == nil {
		h.t.Fatal("open returned a nil destination")
	}
	h.opened = append(h.opened, d)
	return d
}

func (h *harness) close(d dest.Destination) {
	h.t.Helper()
	for i, o := range h.opened {
		if o == d {
			h.opened = append(h.opened[:i], h.opened[i+1:]...)
			if err := d.Close(); err != nil {
				h.t.Errorf("Close: %v", err)
			}
			return
		}
	}
	h.t.Fatal("close of a destination not opened by the harness")
}

func (h *harness) closeAll() {
	for len(h.opened) > 0 {
		h.close(h.opened[len(h.opened)-1])
	}
}

// migrate plans and applies migrations for tables, failing the test on error,
// and returns the plan.
func (h *harness) migrate(tables ...*schema.Table) []schema.TableChange {
	h.t.Helper()
	changes, err := h.d.PlanMigrations(h.ctx, h.ns, tables)
	if err != nil {
		h.t.Fatalf("PlanMigrations: %v", err)
	}
	if err := h.d.Migrate(h.ctx, h.ns, changes, dest.MigrateOptions{}); err != nil {
		h.t.Fatalf("Migrate: %v", err)
	}
	return changes
}

// batch builds a Batch from rows (each a value per column of tbl, in order)
// and an optional state.
func (h *harness) batch(tbl *schema.Table, st *state.TableState, rows ...[]any) dest.Batch {
	h.t.Helper()
	rec, err := buildRecord(h.mem, tbl, rows)
	if err != nil {
		h.t.Fatalf("build record for %s: %v", tbl.Name, err)
	}
	return dest.Batch{Record: rec, State: st}
}

type streamFunc func(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (dest.WriteStats, error)

// stream sends batches to fn over an unbuffered channel and closes it, or,
// with cancel, cancels fn's ctx after the last send instead. Batches fn did
// not take are released here.
func (h *harness) stream(fn streamFunc, tbl *schema.Table, cancel bool, batches ...dest.Batch) (dest.WriteStats, error) {
	ctx, stop := context.WithCancel(h.ctx)
	defer stop()
	ch := make(chan dest.Batch)
	done := make(chan struct{})
	var stats dest.WriteStats
	var err error
	go func() {
		defer close(done)
		stats, err = fn(ctx, h.ns, tbl, ch)
	}()
	sent := 0
send:
	for _, b := range batches {
		select {
		case ch <- b:
			sent++
		case <-done:
			break send
		}
	}
	for _, b := range batches[sent:] {
		if b.Record != nil {
			b.Record.Release()
		}
	}
	if cancel {
		stop()
		<-done
		close(ch)
	} else {
		close(ch)
		<-done
	}
	return stats, err
}

func (h *harness) write(tbl *schema.Table, batches ...dest.Batch) (dest.WriteStats, error) {
	return h.stream(h.d.Write, tbl, false, batches...)
}

func (h *harness) mustWrite(tbl *schema.Table, batches ...dest.Batch) dest.WriteStats {
	h.t.Helper()
	s, err := h.write(tbl, batches...)
	if err != nil {
		h.t.Fatalf("Write %s: %v", tbl.Name, err)
	}
	return s
}

func (h *harness) replace(tbl *schema.Table, batches ...dest.Batch) (dest.WriteStats, error) {
	return h.stream(h.d.Replace, tbl, false, batches...)
}

func (h *harness) state() *state.Snapshot {
	h.t.Helper()
	s, err := h.d.State(h.ctx)
	if err != nil {
		h.t.Fatalf("State: %v", err)
	}
	if s == nil {
		h.t.Fatal("State returned nil")
	}
	return s
}

// cursor returns the committed cursor of tbl in sync "s".
func (h *harness) cursor(tbl string) string {
	h.t.Helper()
	return h.state().Get(syncName, tbl).Cursor
}

// rows reads tbl back through Options.Relation, ordered by primary key, with
// values in tbl's column order (see normalize).
func (h *harness) rows(tbl *schema.Table) [][]any {
	h.t.Helper()
	return h.rowsOf(tbl, h.d)
}

func (h *harness) rowsOf(tbl *schema.Table, d dest.Destination) [][]any {
	h.t.Helper()
	db, from := h.opts.Relation(h.t, d, h.ns, tbl.Name)
	exprs := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		exprs[i] = quote(c.Name)
		if c.JSON || c.Type.ID() == arrow.DECIMAL128 {
			exprs[i] = "CAST(" + quote(c.Name) + " AS VARCHAR)"
		}
	}
	order := make([]string, 0, len(tbl.Columns))
	for _, k := range tbl.PrimaryKey() {
		order = append(order, quote(k))
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + from
	if len(order) > 0 {
		q += " ORDER BY " + strings.Join(order, ", ")
	}
	return h.query(db, q)
}

func (h *harness) query(db *sql.DB, q string, args ...any) [][]any {
	h.t.Helper()
	rs, err := db.QueryContext(h.ctx, q, args...)
	if err != nil {
		h.t.Fatalf("query %s: %v", q, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		h.t.Fatal(err)
	}
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			h.t.Fatalf("scan %s: %v", q, err)
		}
		for i := range vals {
			vals[i] = normalize(vals[i])
		}
		out = append(out, vals)
	}
	if err := rs.Err(); err != nil {
		h.t.Fatalf("query %s: %v", q, err)
	}
	return out
}

// columnTypes returns DuckDB's type of every column of ns.table.
func (h *harness) columnTypes(tbl string) map[string]string {
	h.t.Helper()
	db, from := h.opts.Relation(h.t, h.d, h.ns, tbl)
	types := map[string]string{}
	for _, r := range h.query(db, "DESCRIBE SELECT * FROM "+from) {
		name, _ := r[0].(string)
		typ, _ := r[1].(string)
		types[name] = typ
	}
	return types
}

// normalize makes scanned values comparable: times in UTC.
func normalize(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC()
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

func (h *harness) wantRows(tbl *schema.Table, want [][]any) {
	h.t.Helper()
	h.wantRowsOf(tbl, h.d, want)
}

func (h *harness) wantRowsOf(tbl *schema.Table, d dest.Destination, want [][]any) {
	h.t.Helper()
	got := h.rowsOf(tbl, d)
	want = normalizeRows(want)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		h.t.Errorf("rows of %s:\n%s", tbl.Name, diffRows(got, want))
	}
}

func normalizeRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, v := range r {
			out[i][j] = normalize(v)
		}
	}
	return out
}

func diffRows(got, want [][]any) string {
	var b strings.Builder
	for i := 0; i < max(len(got), len(want)); i++ {
		var g, w []any
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if reflect.DeepEqual(g, w) {
			continue
		}
		fmt.Fprintf(&b, "  row %d:\n    got  %#v\n    want %#v\n", i, g, w)
	}
	return b.String()
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func isLocked(err error) (*dest.ErrLocked, bool) {
	return errors.AsType[*dest.ErrLocked](err)
}
