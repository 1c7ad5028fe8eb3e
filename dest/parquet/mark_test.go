//go:build duckdb_arrow

package parquet

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestMarkStaleChildrenRewritesOnlyHits: marking the stale children of
// re-read issues, which an incremental run does after every flush, reads
// the match and mark columns of the files that may hold them and rewrites
// only a file with a row to mark. It used to re-encode every such file
// in full, and then throw the copy away when nothing was marked.
func TestMarkStaleChildrenRewritesOnlyHits(t *testing.T) {
	ctx := context.Background()
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	tbl := &schema.Table{Name: "issue_comments", Replication: schema.Incremental, TracksDeletes: true, Columns: []schema.Column{
		{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true},
		{Name: "issue_id", Type: arrow.BinaryTypes.String},
		{Name: "body", Type: arrow.BinaryTypes.String},
		{Name: schema.ColSyncedAt, Type: ts},
		{Name: schema.ColDeletedAt, Type: ts},
	}}
	d, mem := newDest(t, Options{})
	rec := func(mem memory.Allocator, synced time.Time, comments ...[2]string) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
		defer b.Release()
		for _, c := range comments {
			b.Field(0).(*array.StringBuilder).Append(c[0])
			b.Field(1).(*array.StringBuilder).Append(c[1])
			b.Field(2).(*array.StringBuilder).Append("body of " + c[0])
			b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(synced.UnixMicro()))
			b.Field(4).AppendNull()
		}
		return b.NewRecordBatch()
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var all [][2]string
	for i := range 40 {
		all = append(all, [2]string{fmt.Sprint(1000 + i), fmt.Sprint(10 + i%4)})
	}
	write(t, d, tbl, dest.Batch{Record: rec(mem, t0, all...)})
	mark := func(now time.Time, issues ...string) int64 {
		t.Helper()
		kb := array.NewStringBuilder(mem)
		defer kb.Release()
		kb.AppendValues(issues, nil)
		ka := kb.NewArray()
		defer ka.Release()
		keys := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "issue_id", Type: arrow.BinaryTypes.String, Nullable: true}}, nil), []arrow.Array{ka}, int64(ka.Len()))
		defer keys.Release()
		n, err := d.MarkDeleted(ctx, testNS, tbl, keys, dest.Mark{At: now, SyncedBefore: now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Issue 10 re-read with all its comments: nothing is stale.
	now := t0.Add(time.Hour)
	var ten [][2]string
	for _, c := range all {
		if c[1] == "10" {
			ten = append(ten, c)
		}
	}
	write(t, d, tbl, dest.Batch{Record: rec(mem, now, ten...)})
	before := slotWriters.Load()
	if n := mark(now, "10"); n != 0 {
		t.Errorf("marked %d comments of issue 10, want 0", n)
	}
	if n := slotWriters.Load() - before; n != 0 {
		t.Errorf("marking nothing began %d files, want none", n)
	}
	// Issue 11 re-read without its comment 1001: that one is marked, in
	// one rewritten file.
	later := now.Add(time.Hour)
	var eleven [][2]string
	for _, c := range all {
		if c[1] == "11" && c[0] != "1001" {
			eleven = append(eleven, c)
		}
	}
	write(t, d, tbl, dest.Batch{Record: rec(mem, later, eleven...)})
	before = slotWriters.Load()
	if n := mark(later, "11"); n != 1 {
		t.Errorf("marked %d comments of issue 11, want 1", n)
	}
	if n := slotWriters.Load() - before; n != 1 {
		t.Errorf("marking one comment began %d files, want 1", n)
	}
	want := [][]string{{"1001", "11"}}
	if rows := duck(t, d.root, "issue_comments", "SELECT id, issue_id FROM {T} WHERE _jsync_deleted_at IS NOT NULL ORDER BY id"); !reflect.DeepEqual(rows, want) {
		t.Errorf("marked rows = %v, want %v", rows, want)
	}
}
