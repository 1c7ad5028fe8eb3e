//go:build duckdb_arrow

package parquet

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestTextKeyRanges: a table keyed by a single text column, as every
// incremental Jira table is (ids are strings of digits), gets key ranges
// like an integer key, so that the files of old ids are not rewritten
// when recent issues change; keys that are not decimal numbers go to hash
// buckets of their own. Such tables used to get hash buckets only, which
// spread every range over all of them, contrary to docs/parquet.md.
func TestTextKeyRanges(t *testing.T) {
	tbl := &schema.Table{Name: "issues", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true},
		{Name: "summary", Type: arrow.BinaryTypes.String},
	}}
	d, mem := newDest(t, Options{BucketWidth: 100, Buckets: 4})
	rec := func(ids []string, summary string) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
		defer b.Release()
		for _, id := range ids {
			b.Field(0).(*array.StringBuilder).Append(id)
			b.Field(1).(*array.StringBuilder).Append(summary)
		}
		return b.NewRecordBatch()
	}
	var ids []string
	for i := range 300 {
		ids = append(ids, fmt.Sprint(10_000+i))
	}
	ids = append(ids, "ABC-1", "-5", "")
	write(t, d, tbl, dest.Batch{Record: rec(ids, "v1")})
	e := d.table(testNS, "issues")
	if e.BucketWidth != 100 || e.Buckets != 4 {
		t.Fatalf("layout: width %d, %d hash buckets; want 100 and 4", e.BucketWidth, e.Buckets)
	}
	var buckets []int
	for _, f := range e.Files {
		if f.Bucket >= 0 {
			buckets = append(buckets, f.Bucket)
		}
	}
	slices.Sort(buckets)
	if want := []int{100, 101, 102}; !reflect.DeepEqual(buckets, want) {
		t.Errorf("range buckets = %v, want %v (ids 10000-10299 by 100)", buckets, want)
	}
	// A change of recent ids rewrites only their range's file.
	before := map[int]string{}
	for _, f := range e.Files {
		before[f.Bucket] = f.ID
	}
	write(t, d, tbl, dest.Batch{Record: rec([]string{"10250", "10299"}, "v2")})
	for _, f := range d.table(testNS, "issues").Files {
		if changed := before[f.Bucket] != f.ID; changed != (f.Bucket == 102) {
			t.Errorf("bucket %d rewritten: %v; only 102 should be", f.Bucket, changed)
		}
	}
	rows := duck(t, d.root, "issues", "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE summary = 'v2') FROM {T}")
	if want := []string{"303", "303", "2"}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("count, distinct ids, updated = %v, want %v", rows[0], want)
	}
}
