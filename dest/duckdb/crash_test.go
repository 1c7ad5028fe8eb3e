//go:build duckdb_arrow

package duckdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

var errCrash = errors.New("simulated crash before commit")

func crashTable() *schema.Table {
	return &schema.Table{Name: "items", Replication: schema.Incremental, TracksDeletes: true, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "v", Type: arrow.BinaryTypes.String},
		{Name: schema.ColDeletedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}}
}

func itemsRecord(mem memory.Allocator, v string, ids ...int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, crashTable().ArrowSchema())
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(v)
		b.Field(2).AppendNull()
	}
	return b.NewRecordBatch()
}

func batches(bs ...dest.Batch) <-chan dest.Batch {
	ch := make(chan dest.Batch, len(bs))
	for _, b := range bs {
		ch <- b
	}
	close(ch)
	return ch
}

func st(cursor string) *state.TableState {
	return &state.TableState{Sync: "s", Table: "items", Cursor: cursor}
}

// snapshot is everything a crash must not change.
func snapshot(t *testing.T, d *Destination) string {
	t.Helper()
	var rows string
	err := d.DB().QueryRowContext(t.Context(), `SELECT coalesce(string_agg(id || '=' || v || '/' || coalesce(_jsync_deleted_at::VARCHAR, '-'), ',' ORDER BY id), '')
		FROM acme.items`).Scan(&rows)
	if err != nil {
		t.Fatal(err)
	}
	var cols string
	if err := d.DB().QueryRowContext(t.Context(), `SELECT string_agg(column_name, ',' ORDER BY column_index) FROM duckdb_columns()
		WHERE schema_name = 'acme' AND table_name = 'items'`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	snap, err := d.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("rows %s | columns %s | serial %d cursor %q", rows, cols, snap.Serial, snap.Get("s", "items").Cursor)
}

// openItems opens a new database with crashTable migrated into namespace
// acme; the test's cleanup closes it.
func openItems(t *testing.T) (*Destination, string, *schema.Table) {
	t.Helper()
	tbl := crashTable()
	d, path := openTable(t, tbl)
	return d, path, tbl
}

// openTable opens a new file with table tbl created in schema acme.
func openTable(t *testing.T, tbl *schema.Table) (*Destination, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	d, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	changes, err := d.PlanMigrations(t.Context(), "acme", []*schema.Table{tbl})
	if err == nil {
		err = d.Migrate(t.Context(), "acme", changes, dest.MigrateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

// TestCrashBeforeCommit fails every kind of write transaction at its last
// moment, after all its statements ran, and checks that nothing of it is
// visible, now or after a reopen, and that no Arrow memory leaks.
func TestCrashBeforeCommit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, path, tbl := openItems(t)
	if _, err := d.Write(ctx, "acme", tbl, batches(dest.Batch{Record: itemsRecord(mem, "a", 1, 2, 3), State: st("c1")})); err != nil {
		t.Fatal(err)
	}
	wider := crashTable()
	wider.Columns = append(wider.Columns, schema.Column{Name: "extra", Type: arrow.BinaryTypes.String})
	wideChanges, err := d.PlanMigrations(ctx, "acme", []*schema.Table{wider})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		op   func() error
	}{
		{"write", func() error {
			_, err := d.Write(ctx, "acme", tbl, batches(dest.Batch{Record: itemsRecord(mem, "b", 1, 4), State: st("c2")}))
			return err
		}},
		{"write state only", func() error {
			_, err := d.Write(ctx, "acme", tbl, batches(dest.Batch{State: st("c2")}))
			return err
		}},
		{"replace", func() error {
			_, err := d.Replace(ctx, "acme", tbl, batches(
				dest.Batch{Record: itemsRecord(mem, "r", 7)},
				dest.Batch{Record: itemsRecord(mem, "r", 8), State: st("c2")}))
			return err
		}},
		{"mark deleted", func() error {
			keys := itemsRecord(mem, "", 1, 2)
			defer keys.Release()
			_, err := d.MarkDeleted(ctx, "acme", tbl, keys, dest.Mark{At: time.Now()}, st("c2"))
			return err
		}},
		{"commit state", func() error { return d.CommitState(ctx, st("c2")) }},
		{"migrate", func() error { return d.Migrate(ctx, "acme", wideChanges, dest.MigrateOptions{}) }},
	}
	want := snapshot(t, d)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d.beforeCommit = func(string) error { return errCrash }
			err := tc.op()
			d.beforeCommit = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("error = %v, want the simulated crash", err)
			}
			if got := snapshot(t, d); got != want {
				t.Errorf("after a crash:\n got %s\nwant %s", got, want)
			}
			// The same operation succeeds afterwards on the same pool.
			if err := tc.op(); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := snapshot(t, d); got == want {
				t.Errorf("retry changed nothing: %s", got)
			}
			want = snapshot(t, d)
		})
	}

	// The crashes left nothing for a reopen to find.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	if got := snapshot(t, d); got != want {
		t.Errorf("after reopen:\n got %s\nwant %s", got, want)
	}
	var views int
	if err := d.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM duckdb_views() WHERE starts_with(view_name, '_jsync_')`).Scan(&views); err != nil || views != 0 {
		t.Errorf("%d Arrow views left behind (err %v)", views, err)
	}
}

func TestWidens(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"INTEGER", "BIGINT", true},
		{"BIGINT", "INTEGER", false},
		{"UINTEGER", "BIGINT", true},
		{"UBIGINT", "BIGINT", false},
		{"INTEGER", "DOUBLE", true},
		{"BIGINT", "DOUBLE", false},
		{"FLOAT", "DOUBLE", true},
		{"DECIMAL(10,2)", "DECIMAL(12,2)", true},
		{"DECIMAL(10,2)", "DECIMAL(12,4)", true},
		{"DECIMAL(10,2)", "DECIMAL(10,3)", false},
		{"INTEGER", "DECIMAL(12,2)", true},
		{"BIGINT", "DECIMAL(18,0)", false},
		{"JSON", "VARCHAR", true},
		{"VARCHAR", "JSON", false},
		{"VARCHAR", "BIGINT", false},
		{"DATE", "TIMESTAMP", true},
		{"VARCHAR[]", "VARCHAR[]", true},
		{"STRUCT(a INTEGER)", "STRUCT(a INTEGER, b VARCHAR)", false},
	}
	for _, tc := range tests {
		if got := widens(tc.from, tc.to); got != tc.want {
			t.Errorf("widens(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestSplitDuplicateKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		ids  []int64
		want []int64 // chunk lengths
	}{
		{nil, []int64{0}},
		{[]int64{1}, []int64{1}},
		{[]int64{1, 2, 3}, []int64{3}},
		{[]int64{1, 2, 1, 3, 1}, []int64{2, 2, 1}},
		{[]int64{5, 5, 5}, []int64{1, 1, 1}},
	}
	for _, tc := range tests {
		rec := itemsRecord(mem, "x", tc.ids...)
		chunks := splitDuplicateKeys(rec, []string{"id"})
		var got []int64
		for _, c := range chunks {
			got = append(got, c.NumRows())
			c.Release()
		}
		rec.Release()
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("split %v = chunks of %v, want %v", tc.ids, got, tc.want)
		}
	}
}

// TestKeyConstraintTables: tables that earlier versions of jsync created
// with a PRIMARY KEY constraint keep working: the key is read from the
// constraint, upserts replace rows, Replace rebuilds the table without the
// constraint and records the key in _jsync.keys.
func TestKeyConstraintTables(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "old.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = d.Close() }()
	if err := execAll(ctx, d.DB(), `CREATE SCHEMA acme`,
		`CREATE TABLE acme.items (id BIGINT PRIMARY KEY, v VARCHAR, _jsync_deleted_at TIMESTAMP WITH TIME ZONE)`); err != nil {
		t.Fatal(err)
	}
	tbl := crashTable()
	if changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl}); err != nil || len(changes) != 0 {
		t.Fatalf("plan = %v, %v; want no change", changes, err)
	}
	for _, b := range []dest.Batch{
		{Record: itemsRecord(mem, "a", 1, 2), State: st("c1")},
		{Record: itemsRecord(mem, "b", 2, 3), State: st("c2")},
	} {
		if _, err := d.Write(ctx, "acme", tbl, batches(b)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := snapshot(t, d), `rows 1=a/-,2=b/-,3=b/- | columns id,v,_jsync_deleted_at | serial 2 cursor "c2"`; got != want {
		t.Errorf("after upserts:\n got %s\nwant %s", got, want)
	}
	stats, err := d.Replace(ctx, "acme", tbl, batches(dest.Batch{Record: itemsRecord(mem, "r", 3, 4, 4), State: st("c3")}))
	if err != nil {
		t.Fatal(err)
	}
	if stats != (dest.WriteStats{Inserted: 1, Updated: 1, Deleted: 2}) {
		t.Errorf("replace stats = %+v, want 1 inserted, 1 updated, 2 deleted", stats)
	}
	var constraints int
	var key string
	if err := d.DB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'items' AND constraint_type = 'PRIMARY KEY'),
		(SELECT array_to_string(columns, ',') FROM _jsync.keys WHERE schema_name = 'acme' AND table_name = 'items')`).Scan(&constraints, &key); err != nil {
		t.Fatal(err)
	}
	if constraints != 0 || key != "id" {
		t.Errorf("after replace: %d key constraints, key %q; want none, id", constraints, key)
	}
	if got, want := snapshot(t, d), `rows 3=r/-,4=r/- | columns id,v,_jsync_deleted_at | serial 3 cursor "c3"`; got != want {
		t.Errorf("after replace:\n got %s\nwant %s", got, want)
	}
}
