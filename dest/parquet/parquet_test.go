package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// layouts are the file layouts every behaviour is tested with.
var layouts = []struct {
	name string
	opts Options
	repl schema.Replication
}{
	{"key-ranges", Options{BucketWidth: 2}, schema.Incremental},
	{"hash-buckets", Options{BucketWidth: -1, Buckets: 4}, schema.Incremental},
	{"single-file", Options{}, schema.FullTable},
	{"hive", Options{PartitionBy: map[string]string{"issues": "project_key"}}, schema.Incremental},
}

func TestUpsertKeepsOneRowPerKey(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			tbl := issuesTable(l.repl)
			d, mem := newDest(t, l.opts)
			sc := tbl.ArrowSchema()
			got := write(t, d, tbl,
				dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "A", "two"), issue(3, "B", "three"))},
				dest.Batch{State: tableState("c1")})
			if want := (dest.WriteStats{Inserted: 3}); got != want {
				t.Errorf("first write stats = %+v, want %+v", got, want)
			}
			// Same key twice in one write, a key moving to another project,
			// and a new key.
			got = write(t, d, tbl,
				dest.Batch{Record: record(t, mem, sc, issue(2, "A", "two v2"), issue(4, "B", "four"))},
				dest.Batch{Record: record(t, mem, sc, issue(2, "A", "two v3"), issue(1, "B", "one moved"))},
				dest.Batch{State: tableState("c2")})
			if want := (dest.WriteStats{Inserted: 1, Updated: 2}); got != want {
				t.Errorf("second write stats = %+v, want %+v", got, want)
			}
			rows := duck(t, d.root, "issues", "SELECT id, project_key, summary FROM {T} ORDER BY id")
			want := [][]string{{"1", "B", "one moved"}, {"2", "A", "two v3"}, {"3", "B", "three"}, {"4", "B", "four"}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows = %v, want %v", rows, want)
			}
			snap, err := d.State(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if c := snap.Get("s", "issues").Cursor; c != "c2" {
				t.Errorf("cursor = %q, want c2", c)
			}
		})
	}
}

func TestUpsertRewritesOnlyTouchedFiles(t *testing.T) {
	tbl := issuesTable(schema.Incremental)
	d, mem := newDest(t, Options{PartitionBy: map[string]string{"issues": "project_key"}})
	sc := tbl.ArrowSchema()
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "a"), issue(2, "B", "b"), issue(3, "C", "c"))})
	before := d.table(testNS, "issues").Files
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(2, "B", "b2"))})
	after := d.table(testNS, "issues").Files
	if len(before) != 3 || len(after) != 3 {
		t.Fatalf("files before/after = %d/%d, want 3/3", len(before), len(after))
	}
	for i := range before {
		changed := before[i].ID != after[i].ID
		if want := before[i].Partition == "project_key=B"; changed != want {
			t.Errorf("%s rewritten = %v, want %v", before[i].Path, changed, want)
		}
	}
}

func TestReplaceRemovesStaleRows(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			tbl := issuesTable(l.repl)
			d, mem := newDest(t, l.opts)
			sc := tbl.ArrowSchema()
			write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "B", "two"), issue(3, "C", "three"))})
			stats, err := d.Replace(context.Background(), testNS, tbl, send(
				dest.Batch{Record: record(t, mem, sc, issue(2, "B", "two v2"), issue(5, "A", "five"))},
				dest.Batch{Record: record(t, mem, sc, issue(5, "A", "five v2"))},
				dest.Batch{State: tableState("full")}))
			if err != nil {
				t.Fatalf("Replace: %v", err)
			}
			if want := (dest.WriteStats{Inserted: 1, Updated: 1, Deleted: 2}); stats != want {
				t.Errorf("Replace stats = %+v, want %+v (2 kept, 5 new, 1 and 3 gone)", stats, want)
			}
			rows := duck(t, d.root, "issues", "SELECT id, summary FROM {T} ORDER BY id")
			if want := [][]string{{"2", "two v2"}, {"5", "five v2"}}; !reflect.DeepEqual(rows, want) {
				t.Errorf("rows = %v, want %v", rows, want)
			}
			// An empty replace leaves an empty, still readable table.
			if _, err := d.Replace(context.Background(), testNS, tbl, send()); err != nil {
				t.Fatalf("empty Replace: %v", err)
			}
			if rows := duck(t, d.root, "issues", "SELECT count(*) FROM {T}"); rows[0][0] != "0" {
				t.Errorf("count after empty replace = %v", rows)
			}
			if got := d.man.State.Get("s", "issues").Cursor; got != "full" {
				t.Errorf("cursor = %q, want full", got)
			}
		})
	}
}

func TestMarkDeleted(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			tbl := issuesTable(l.repl)
			d, mem := newDest(t, l.opts)
			sc := tbl.ArrowSchema()
			write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "B", "two"), issue(3, "C", "three"))})
			keySchema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
			keys := record(t, mem, keySchema, `{"id": 2}`, `{"id": 3}`, `{"id": 99}`)
			defer keys.Release()
			at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
			n, err := d.MarkDeleted(context.Background(), testNS, tbl, keys, dest.Mark{At: at}, tableState("del"))
			if err != nil {
				t.Fatalf("MarkDeleted: %v", err)
			}
			if n != 2 {
				t.Errorf("marked %d rows, want 2", n)
			}
			rows := duck(t, d.root, "issues", "SELECT id, summary, strftime(_jsync_deleted_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') FROM {T} ORDER BY id")
			want := [][]string{{"1", "one", "NULL"}, {"2", "two", "2024-05-06T07:08:09"}, {"3", "three", "2024-05-06T07:08:09"}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows = %v, want %v", rows, want)
			}
			if got := d.man.State.Get("s", "issues").Cursor; got != "del" {
				t.Errorf("cursor = %q, want del", got)
			}
		})
	}
}

func TestMigrateAddsColumnReadingNull(t *testing.T) {
	ctx := context.Background()
	tbl := issuesTable(schema.Incremental)
	d, mem := newDest(t, Options{PartitionBy: map[string]string{"issues": "project_key"}})
	write(t, d, tbl, dest.Batch{Record: record(t, mem, tbl.ArrowSchema(), issue(1, "A", "one"), issue(2, "B", "two"))})

	v2 := issuesTable(schema.Incremental)
	v2.Columns = append(v2.Columns, schema.Column{Name: "story_points", Type: arrow.PrimitiveTypes.Float64})
	v2.Column("score").Type = arrow.PrimitiveTypes.Float64 // unchanged
	changes, err := d.PlanMigrations(ctx, testNS, []*schema.Table{v2})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || changes[0].Kind != schema.AddColumn {
		t.Fatalf("changes = %v, want one add column", changes)
	}
	if err := d.Migrate(ctx, testNS, changes, dest.MigrateOptions{}); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if again, _ := d.PlanMigrations(ctx, testNS, []*schema.Table{v2}); len(again) != 0 {
		t.Errorf("changes after migrate = %v, want none", again)
	}
	row3 := strings.Replace(issue(3, "A", "three"), `"id": 3,`, `"id": 3, "story_points": 5,`, 1)
	write(t, d, v2, dest.Batch{Record: record(t, mem, v2.ArrowSchema(), row3)})
	// Every file has the new column, so a plain read_parquet (no
	// union_by_name) sees it whichever file comes first.
	rows := duck(t, d.root, "issues", "SELECT id, story_points FROM {T} ORDER BY id")
	if want := [][]string{{"1", "NULL"}, {"2", "NULL"}, {"3", "5"}}; !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
	// The old definition (column dropped from the resource) keeps the column.
	changes, _ = d.PlanMigrations(ctx, testNS, []*schema.Table{tbl})
	if len(changes) != 1 || changes[0].Kind != schema.ExtraColumn {
		t.Errorf("changes for old definition = %v, want one extra column", changes)
	}
}

func TestMigrateTypeChanges(t *testing.T) {
	ctx := context.Background()
	base := &schema.Table{Name: "t", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}}
	with := func(col string, typ arrow.DataType) *schema.Table {
		c := *base
		c.Columns = append([]schema.Column(nil), base.Columns...)
		c.Column(col).Type = typ
		return &c
	}
	tests := []struct {
		name       string
		table      *schema.Table
		kind       schema.ChangeKind
		allow      bool
		wantErr    bool
		wantValues [][]string
	}{
		{"widen int32 to int64", with("n", arrow.PrimitiveTypes.Int64), schema.WidenColumn, false, false, [][]string{{"1", "7", "x"}}},
		{"incompatible refused", with("s", arrow.PrimitiveTypes.Int64), schema.IncompatibleColumn, false, true, [][]string{{"1", "7", "x"}}},
		{"incompatible allowed", with("s", arrow.PrimitiveTypes.Int64), schema.IncompatibleColumn, true, false, [][]string{{"1", "7", "NULL"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, mem := newDest(t, Options{})
			write(t, d, base, dest.Batch{Record: record(t, mem, base.ArrowSchema(), `{"id": 1, "n": 7, "s": "x"}`)})
			changes, err := d.PlanMigrations(ctx, testNS, []*schema.Table{tc.table})
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != 1 || changes[0].Kind != tc.kind {
				t.Fatalf("changes = %v, want one %s", changes, tc.kind)
			}
			err = d.Migrate(ctx, testNS, changes, dest.MigrateOptions{AllowIncompatible: tc.allow})
			if (err != nil) != tc.wantErr {
				t.Fatalf("Migrate error = %v, want error %v", err, tc.wantErr)
			}
			if rows := duck(t, d.root, "t", "SELECT id, n, s FROM {T}"); !reflect.DeepEqual(rows, tc.wantValues) {
				t.Errorf("rows = %v, want %v", rows, tc.wantValues)
			}
		})
	}
}

// TestTypesRoundTripThroughDuckDB proves that DuckDB's Parquet reader (not
// arrow-go) reads every type exactly.
func TestTypesRoundTripThroughDuckDB(t *testing.T) {
	tbl := issuesTable(schema.Incremental)
	d, mem := newDest(t, Options{})
	rows := []string{
		`{"id": 1, "key": "ÄÖ-1", "project_key": "ÄÖ", "summary": "héllo wörld ✓ 日本語 🚀", "labels": ["x", "", null],
		  "assignee": {"account_id": "", "active": false}, "created": "2024-02-29T23:59:59.123456Z", "due": "1970-01-01",
		  "budget": "-9999999999999999.99", "score": -0.5, "flagged": true, "fields": "{\"a\":[1,2,{\"b\":null}]}"}`,
		`{"id": 2, "key": "", "project_key": null, "summary": "", "labels": [], "assignee": null, "created": null,
		  "due": null, "budget": null, "score": null, "flagged": null, "fields": null}`,
		`{"id": 3, "labels": null, "assignee": {"account_id": null, "active": null}, "score": 1e300, "due": "9999-12-31",
		  "created": "1900-01-01T00:00:00Z", "budget": "0.01"}`,
	}
	write(t, d, tbl, dest.Batch{Record: record(t, mem, tbl.ArrowSchema(), rows...)})
	got := duck(t, d.root, "issues", `SELECT id, key, project_key, summary, labels::VARCHAR, assignee::VARCHAR,
		strftime(created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), due::VARCHAR, budget::VARCHAR, score::VARCHAR, flagged::VARCHAR,
		json_extract(fields::JSON, '$.a[2]')::VARCHAR, typeof(created), typeof(budget)
		FROM {T} ORDER BY id`)
	want := [][]string{
		{"1", "ÄÖ-1", "ÄÖ", "héllo wörld ✓ 日本語 🚀", "[x, '', NULL]", "{'account_id': '', 'active': false}",
			"2024-02-29T23:59:59.123456", "1970-01-01", "-9999999999999999.99", "-0.5", "true", `{"b":null}`,
			"TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)"},
		{"2", "", "NULL", "", "[]", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)"},
		{"3", "NULL", "NULL", "NULL", "NULL", "{'account_id': NULL, 'active': NULL}", "1900-01-01T00:00:00.000000",
			"9999-12-31", "0.01", "1e+300", "NULL", "NULL", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)"},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range max(len(got), len(want)) {
			if i >= len(got) || i >= len(want) || !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("row %d:\n got %q\nwant %q", i, at(got, i), at(want, i))
			}
		}
	}
}

func at(rows [][]string, i int) []string {
	if i < len(rows) {
		return rows[i]
	}
	return nil
}

func TestStateCommitsWithData(t *testing.T) {
	ctx := context.Background()
	tbl := issuesTable(schema.Incremental)
	dir := t.TempDir()
	d, mem := newDest(t, Options{Path: dir})
	write(t, d, tbl, dest.Batch{Record: record(t, mem, tbl.ArrowSchema(), issue(1, "A", "one"))}, dest.Batch{State: tableState("c1")})
	before, _ := d.State(ctx)
	if err := d.CommitState(ctx, &state.TableState{Sync: "s", Table: "projects", Cursor: "p1"}); err != nil {
		t.Fatal(err)
	}
	after, _ := d.State(ctx)
	if after.Serial != before.Serial+1 {
		t.Errorf("serial %d → %d, want +1", before.Serial, after.Serial)
	}
	// A second process sees the same state, from manifest.json; state.json
	// mirrors it.
	d2, _ := newDest(t, Options{Path: dir})
	snap, _ := d2.State(ctx)
	if !reflect.DeepEqual(snap, after) {
		t.Errorf("reopened state = %+v, want %+v", snap, after)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "_jsync", "state.json"))
	if err != nil || !strings.Contains(string(raw), `"cursor": "p1"`) {
		t.Errorf("state.json = %s, %v", raw, err)
	}
}

// TestCrashBeforeCommitPoint injects a failure after the new data files are
// written and before the manifest swap: the previous dataset and state stay,
// and the next write completes.
func TestCrashBeforeCommitPoint(t *testing.T) {
	ctx := context.Background()
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			tbl := issuesTable(l.repl)
			dir := t.TempDir()
			o := l.opts
			o.Path = dir
			d, mem := newDest(t, o)
			sc := tbl.ArrowSchema()
			write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "B", "two"))}, dest.Batch{State: tableState("c1")})

			crash := errors.New("injected crash")
			d.beforeCommit = func() error { return crash }
			_, err := d.Write(ctx, testNS, tbl, send(dest.Batch{Record: record(t, mem, sc, issue(1, "B", "one v2"), issue(3, "C", "three"))}, dest.Batch{State: tableState("c2")}))
			if !errors.Is(err, crash) {
				t.Fatalf("Write error = %v, want injected crash", err)
			}
			want := [][]string{{"1", "one"}, {"2", "two"}}
			if rows := duck(t, dir, "issues", "SELECT id, summary FROM {T} ORDER BY id"); !reflect.DeepEqual(rows, want) {
				t.Errorf("rows after crash = %v, want %v", rows, want)
			}
			// Leave a stray temp file like a killed process would.
			if err := os.WriteFile(filepath.Join(dir, "_jsync", "tmp", "stray.parquet"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}

			d2, mem2 := newDest(t, o)
			if c := d2.man.State.Get("s", "issues").Cursor; c != "c1" {
				t.Errorf("cursor after crash = %q, want c1", c)
			}
			unlock, err := d2.Lock(ctx, dest.LockInfo{PID: 1, Op: "apply"}, 0)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			defer unlock()
			if left, _ := os.ReadDir(filepath.Join(dir, "_jsync", "tmp")); len(left) != 0 {
				t.Errorf("temp files after recovery: %d", len(left))
			}
			write(t, d2, tbl, dest.Batch{Record: record(t, mem2, sc, issue(1, "B", "one v2"), issue(3, "C", "three"))}, dest.Batch{State: tableState("c2")})
			want = [][]string{{"1", "one v2"}, {"2", "two"}, {"3", "three"}}
			if rows := duck(t, dir, "issues", "SELECT id, summary FROM {T} ORDER BY id"); !reflect.DeepEqual(rows, want) {
				t.Errorf("rows after retry = %v, want %v", rows, want)
			}
		})
	}
}

// TestCrashAfterCommitPoint stops right after the manifest swap, before the
// new files are moved into place: the next open finishes the commit.
func TestCrashAfterCommitPoint(t *testing.T) {
	ctx := context.Background()
	tbl := issuesTable(schema.Incremental)
	dir := t.TempDir()
	opts := Options{Path: dir, PartitionBy: map[string]string{"issues": "project_key"}}
	d, mem := newDest(t, opts)
	sc := tbl.ArrowSchema()
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "B", "two"))}, dest.Batch{State: tableState("c1")})
	crash := errors.New("injected crash")
	d.afterManifest = func() error { return crash }
	_, err := d.Write(ctx, testNS, tbl, send(dest.Batch{Record: record(t, mem, sc, issue(1, "B", "one v2"))}, dest.Batch{State: tableState("c2")}))
	if !errors.Is(err, crash) {
		t.Fatalf("Write error = %v, want injected crash", err)
	}
	d2, _ := newDest(t, opts)
	if c := d2.man.State.Get("s", "issues").Cursor; c != "c2" {
		t.Errorf("cursor = %q, want c2 (committed)", c)
	}
	unlock, err := d2.Lock(ctx, dest.LockInfo{PID: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	want := [][]string{{"1", "B", "one v2"}, {"2", "B", "two"}}
	if rows := duck(t, dir, "issues", "SELECT id, project_key, summary FROM {T} ORDER BY id"); !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
	if _, err := os.Stat(filepath.Join(dir, testNS, "issues", "project_key=A")); !os.IsNotExist(err) {
		t.Errorf("emptied partition directory still exists: %v", err)
	}
}

func TestLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d1, _ := newDest(t, Options{Path: dir})
	d2, _ := newDest(t, Options{Path: dir})
	holder := dest.LockInfo{PID: 4242, Host: "h1", Since: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Op: "apply"}
	unlock, err := d1.Lock(ctx, holder, 0)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	_, err = d2.Lock(ctx, dest.LockInfo{PID: 1}, 0)
	var locked *dest.ErrLocked
	if !errors.As(err, &locked) {
		t.Fatalf("second Lock error = %v, want *dest.ErrLocked", err)
	}
	if locked.Holder != holder {
		t.Errorf("holder = %+v, want %+v", locked.Holder, holder)
	}
	// A waiting Lock gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		u, err := d2.Lock(ctx, dest.LockInfo{PID: 2}, time.Minute)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Errorf("waiting Lock: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := t.TempDir()
	if err := os.MkdirAll(filepath.Join(corrupt, "_jsync"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "_jsync", "manifest.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"empty path", Options{}, "path is empty"},
		{"path under a file", Options{Path: filepath.Join(file, "data")}, "not writable"},
		{"bad compression", Options{Path: t.TempDir(), Compression: "brotli9"}, "unknown compression"},
		{"corrupt manifest", Options{Path: corrupt}, "corrupt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRecordRun(t *testing.T) {
	d, _ := newDest(t, Options{})
	for _, id := range []string{"r1", "r2"} {
		if err := d.RecordRun(context.Background(), state.Run{ID: id, Sync: "s", Table: "issues", Status: "success"}); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(d.runsPath())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"id":"r2"`) {
		t.Errorf("runs.jsonl = %q", raw)
	}
}

func TestWriteRejectsBadRecords(t *testing.T) {
	tbl := issuesTable(schema.Incremental)
	d, mem := newDest(t, Options{})
	bad := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "nope", Type: arrow.BinaryTypes.String}}, nil)
	_, err := d.Write(context.Background(), testNS, tbl, send(dest.Batch{Record: record(t, mem, bad, `{"id": 1, "nope": "x"}`)}))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Write error = %v, want unknown column", err)
	}
}

// TestInsertsAddFilesAndCompact checks that new keys cost only their rows
// (no existing file is rewritten) and that a slot's files are compacted
// once there are more than maxSlotFiles, keeping one row per key.
func TestInsertsAddFilesAndCompact(t *testing.T) {
	tbl := issuesTable(schema.Incremental)
	d, mem := newDest(t, Options{BucketWidth: 1000})
	sc := tbl.ArrowSchema()
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"))})
	for i := 2; i <= 3*maxSlotFiles; i++ {
		before := d.table(testNS, "issues").Files
		// A new key and an update of the first one, in one commit.
		write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(i, "A", "new"), issue(1, "A", fmt.Sprint("one v", i)))})
		after := d.table(testNS, "issues").Files
		if len(after) > maxSlotFiles {
			t.Fatalf("after insert %d: %d files in one slot, want <= %d", i, len(after), maxSlotFiles)
		}
		// Without compaction, the commit rewrote one file (the one holding
		// key 1) and added one.
		if len(after) == len(before)+1 {
			changed := 0
			for j := range before {
				if before[j].ID != after[j].ID {
					changed++
				}
			}
			if changed != 1 {
				t.Errorf("insert %d rewrote %d existing files, want 1", i, changed)
			}
		}
	}
	rows := duck(t, d.root, "issues", "SELECT count(*), count(DISTINCT id), max(summary) FILTER (WHERE id = 1) FROM {T}")
	want := []string{fmt.Sprint(3 * maxSlotFiles), fmt.Sprint(3 * maxSlotFiles), fmt.Sprint("one v", 3*maxSlotFiles)}
	if !reflect.DeepEqual(rows[0], want) {
		t.Errorf("count, distinct ids, summary of 1 = %v, want %v", rows[0], want)
	}
}

// TestReplaceAdoptsNewPartitioning: partitioning is fixed at creation for
// upserts, and a replace re-lays the table out by the current options.
func TestReplaceAdoptsNewPartitioning(t *testing.T) {
	ctx := context.Background()
	tbl := issuesTable(schema.FullTable)
	dir := t.TempDir()
	d, mem := newDest(t, Options{Path: dir})
	write(t, d, tbl, dest.Batch{Record: record(t, mem, tbl.ArrowSchema(), issue(1, "A", "one"), issue(2, "B", "two"))})
	d2, mem2 := newDest(t, Options{Path: dir, PartitionBy: map[string]string{"issues": "project_key"}})
	if _, err := d2.Replace(ctx, testNS, tbl, send(dest.Batch{Record: record(t, mem2, tbl.ArrowSchema(), issue(1, "A", "one"), issue(3, "C", "three"))})); err != nil {
		t.Fatal(err)
	}
	rows := duck(t, dir, "issues", "SELECT id, project_key, regexp_extract(filename, 'project_key=[^/]+') FROM read_parquet('"+filepath.Join(dir, testNS, "issues", "**", "*.parquet")+"', filename = true) ORDER BY id")
	want := [][]string{{"1", "A", "project_key=A"}, {"3", "C", "project_key=C"}}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
}

// TestWriteCommitsAtGroupBound: batches without a state commit once a
// group reaches groupRows or groupBytes, so a table being written holds at
// most about a group in memory; a state commits at once, and the end of
// the batches commits the rest.
func TestWriteCommitsAtGroupBound(t *testing.T) {
	tests := []struct {
		name                  string
		groupRows, groupBytes int64
		midState              bool // a state after the first batch
		wantCommits           int64
	}{
		{name: "default bounds: one commit at the end", groupRows: groupRows, groupBytes: groupBytes, wantCommits: 1},
		{name: "default bounds, a state: a commit at the state and at the end", groupRows: groupRows, groupBytes: groupBytes, midState: true, wantCommits: 2},
		{name: "bytes bound of one batch: a commit per batch", groupRows: groupRows, groupBytes: 1, wantCommits: 3},
		{name: "rows bound of two batches", groupRows: 4, groupBytes: groupBytes, wantCommits: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := issuesTable(schema.Incremental)
			d, mem := newDest(t, Options{})
			d.groupRows, d.groupBytes = tt.groupRows, tt.groupBytes
			sc := tbl.ArrowSchema()
			// The table's creation and first rows are commits of their own.
			write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(7, "A", "seven"))}, dest.Batch{State: tableState("c0")})
			version := func() int64 { d.mu.Lock(); defer d.mu.Unlock(); return d.man.Version }
			before := version()
			batches := []dest.Batch{{Record: record(t, mem, sc, issue(1, "A", "one"), issue(2, "A", "two"))}}
			if tt.midState {
				batches = append(batches, dest.Batch{State: tableState("c1")})
			}
			batches = append(batches,
				dest.Batch{Record: record(t, mem, sc, issue(3, "A", "three"), issue(4, "B", "four"))},
				dest.Batch{Record: record(t, mem, sc, issue(5, "B", "five"), issue(6, "B", "six"))})
			write(t, d, tbl, batches...)
			if got := version() - before; got != tt.wantCommits {
				t.Errorf("%d commits, want %d", got, tt.wantCommits)
			}
			if rows := duck(t, d.root, "issues", "SELECT count(*) FROM {T}"); rows[0][0] != "7" {
				t.Errorf("%s rows, want 7", rows[0][0])
			}
		})
	}
}
