//go:build duckdb_arrow

package duckdb

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// TestFeedBindsOnce checks that a Write of many batches registers one
// Arrow view (its feed), not one per batch, and that DuckDB asks for the
// view's schema as often for 50 batches as for one: DuckDB leaks each
// schema it is given (see feed). The rows, the last key's last value and
// Arrow memory are checked too.
func TestFeedBindsOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, _, tbl := openItems(t)

	tests := []struct {
		name  string
		write func(bs ...dest.Batch) error
	}{
		{"write", func(bs ...dest.Batch) error { _, err := d.Write(ctx, "acme", tbl, batches(bs...)); return err }},
		{"replace", func(bs ...dest.Batch) error { _, err := d.Replace(ctx, "acme", tbl, batches(bs...)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exports := map[int]uint64{}
			for _, n := range []int64{1, 50} {
				var bs []dest.Batch
				for i := range n {
					// Key 1 repeats in every batch: the last batch's value wins.
					bs = append(bs, dest.Batch{Record: itemsRecord(mem, "v"+string(rune('a'+i%26)), 1, 100+i)})
				}
				bs[len(bs)-1].State = st("c")
				views, before := viewSeq.Load(), schemaExports.Load()
				if err := tt.write(bs...); err != nil {
					t.Fatal(err)
				}
				if v := viewSeq.Load() - views; v != 1 {
					t.Errorf("%d Arrow views registered for %d batches, want 1", v, n)
				}
				exports[int(n)] = schemaExports.Load() - before
			}
			if exports[1] == 0 {
				t.Error("DuckDB never asked for the feed's schema: the count that detects binds is not wired")
			}
			if exports[50] != exports[1] {
				t.Errorf("DuckDB asked for the feed's schema %d times for 50 batches, %d times for 1", exports[50], exports[1])
			}
			var rows int
			var v string
			if err := d.DB().QueryRowContext(ctx, "SELECT count(*), max(v) FILTER (WHERE id = 1) FROM acme.items").Scan(&rows, &v); err != nil {
				t.Fatal(err)
			}
			if rows != 51 { // keys 1 and 100-149
				t.Errorf("%d rows, want 51", rows)
			}
			if v != "vx" { // batch 49: 'a'+49%26
				t.Errorf("key 1 = %q, want the last batch's vx", v)
			}
		})
	}
}

// TestFeedPreparesAgain checks that a catalog change committed by another
// connection costs a feed one more bind, not one per batch: DuckDB binds a
// prepared statement again on every run after such a change, so the feed
// prepares it anew.
func TestFeedPreparesAgain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, _, tbl := openItems(t)
	conn, err := d.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w, err := d.openPending(ctx, conn, "acme", tbl)
	if err != nil {
		t.Fatal(err)
	}
	f, err := openFeed(conn, tbl.ArrowSchema())
	insert := f.insertInto(w.qualified, columnList(f.view))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.close(ctx, conn); err != nil {
			t.Error(err)
		}
	}()
	// group appends n batches in one transaction and reports how often
	// DuckDB asked for the schema meanwhile.
	group := func(n int) uint64 {
		t.Helper()
		before := f.rdr.exports.Load()
		err := d.runTx(ctx, conn, func() error {
			for i := range n {
				rec := itemsRecord(mem, "v", int64(i))
				err := f.run(ctx, conn, insert, rec, int64(i))
				rec.Release()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return f.rdr.exports.Load() - before
	}
	if n := group(10); n != 1 {
		t.Errorf("first group: %d schema requests, want 1 (the prepare)", n)
	}
	if n := group(10); n != 0 {
		t.Errorf("second group: %d schema requests, want 0", n)
	}
	for i := range 2 {
		if _, err := d.DB().ExecContext(ctx, fmt.Sprintf("CREATE TABLE acme.other%d (a INT)", i)); err != nil {
			t.Fatal(err)
		}
		if n := group(10); n != 2 {
			t.Errorf("group after catalog change %d: %d schema requests, want 2 (the bind it forced, the new prepare)", i, n)
		}
	}
	var rows int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+w.qualified).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 40 {
		t.Errorf("%d pending rows, want 40", rows)
	}
}

// TestFeedJSON checks that JSON columns reach DuckDB as Arrow's JSON
// extension type: they are stored as DuckDB's JSON type with their text
// unchanged, and a value that is not a JSON document fails its Write
// (DuckDB does not parse such a column itself) and leaves the table and
// the state as they were.
func TestFeedJSON(t *testing.T) {
	docs := &schema.Table{Name: "docs", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "doc", Type: arrow.BinaryTypes.String, JSON: true},
	}}
	record := func(mem memory.Allocator, vals ...*string) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, docs.ArrowSchema())
		defer b.Release()
		for i, v := range vals {
			b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
			if v == nil {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.StringBuilder).Append(*v)
			}
		}
		return b.NewRecordBatch()
	}
	ptr := func(s string) *string { return &s }
	good := []*string{ptr(`{"a": [1, 2.5e3, "é\u00e9"], "b": {"c": null}}`), nil, ptr(`"text"`), ptr(`-0.5`), ptr(`[]`)}

	tests := []struct {
		name    string
		vals    []*string
		wantErr string // "" = the Write succeeds
	}{
		{"documents", good, ""},
		{"truncated", append(good[:1:1], ptr(`{"a": [1, 2`)), `column doc, row 1: not a JSON document: "{\"a\": [1, 2"`},
		{"bare word", []*string{ptr(`true`), ptr(`nope`)}, `column doc, row 1: not a JSON document`},
		{"empty", []*string{ptr(``)}, `column doc, row 0: not a JSON document`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			d, _ := openTable(t, docs)
			rec := record(mem, tt.vals...)
			defer rec.Release()
			rec.Retain() // the Write releases its batches
			_, err := d.Write(ctx, "acme", docs, batches(dest.Batch{Record: rec, State: &state.TableState{Sync: "s", Table: "docs", Cursor: "c"}}))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Write: %v, want an error containing %q", err, tt.wantErr)
				}
				var n int
				if err := d.DB().QueryRowContext(ctx, "SELECT count(*) FROM acme.docs").Scan(&n); err != nil {
					t.Fatal(err)
				}
				snap, err := d.State(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n != 0 || snap.Get("s", "docs").Cursor != "" {
					t.Errorf("after the failed Write: %d rows and cursor %q, want none", n, snap.Get("s", "docs").Cursor)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rows, err := d.DB().QueryContext(ctx, "SELECT id, doc::VARCHAR, typeof(doc), json_valid(doc) FROM acme.docs ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var id int
				var doc sql.NullString
				var typ string
				var valid sql.NullBool
				if err := rows.Scan(&id, &doc, &typ, &valid); err != nil {
					t.Fatal(err)
				}
				want := tt.vals[id-1]
				if typ != "JSON" {
					t.Errorf("id %d: typeof(doc) = %s, want JSON", id, typ)
				}
				if want == nil {
					if doc.Valid {
						t.Errorf("id %d: doc = %q, want NULL", id, doc.String)
					}
				} else if doc.String != *want || !valid.Bool {
					t.Errorf("id %d: doc = %q (json_valid %v), want %q unchanged", id, doc.String, valid.Bool, *want)
				}
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != len(tt.vals) {
				t.Errorf("%d rows, want %d", n, len(tt.vals))
			}
			var a string
			if err := d.DB().QueryRowContext(ctx, "SELECT doc->>'$.a[2]' FROM acme.docs WHERE id = 1").Scan(&a); err != nil || a != "éé" {
				t.Errorf("doc->>'$.a[2]' = %q (%v), want éé", a, err)
			}
		})
	}
}
