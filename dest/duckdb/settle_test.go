//go:build duckdb_arrow

package duckdb

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
)

// itemRow is one row of the items table: id=v.
type itemRow struct {
	id int64
	v  string
}

func itemRows(mem memory.Allocator, rows ...itemRow) dest.Batch {
	b := array.NewRecordBuilder(mem, crashTable().ArrowSchema())
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(r.v)
		b.Field(2).AppendNull()
	}
	return dest.Batch{Record: b.NewRecordBatch()}
}

// TestSettleKeepsNewest: Write appends rows to the table itself and
// settles repeated keys at the end of each group. Whichever way a key
// repeats (within a record, across the records of a group, or against a
// row stored by an earlier Write), the last row written wins, the counts
// say what was new and what replaced a stored row, and the written-keys
// table is left empty.
func TestSettleKeepsNewest(t *testing.T) {
	many := make([]int64, 150_000) // more than a row group: DuckDB writes them out before the commit
	for i := range many {
		many[i] = int64(i + 100)
	}
	for _, tc := range []struct {
		name   string
		before []itemRow // stored by an earlier Write
		write  func(mem memory.Allocator) []dest.Batch
		want   string // rows
		stats  dest.WriteStats
	}{{
		name: "no repeats",
		write: func(mem memory.Allocator) []dest.Batch {
			return []dest.Batch{itemRows(mem, itemRow{1, "a"}, itemRow{2, "a"}), itemRows(mem, itemRow{3, "b"})}
		},
		want:  "1=a/-,2=a/-,3=b/-",
		stats: dest.WriteStats{Inserted: 3},
	}, {
		name: "across records",
		write: func(mem memory.Allocator) []dest.Batch {
			return []dest.Batch{
				itemRows(mem, itemRow{1, "a"}, itemRow{2, "a"}),
				itemRows(mem, itemRow{2, "b"}, itemRow{3, "b"}),
				itemRows(mem, itemRow{3, "c"}, itemRow{2, "c"}),
			}
		},
		want:  "1=a/-,2=c/-,3=c/-",
		stats: dest.WriteStats{Inserted: 3},
	}, {
		name: "within a record",
		write: func(mem memory.Allocator) []dest.Batch {
			return []dest.Batch{itemRows(mem, itemRow{5, "x"}, itemRow{6, "x"}, itemRow{5, "y"})}
		},
		want:  "5=y/-,6=x/-",
		stats: dest.WriteStats{Inserted: 2},
	}, {
		name:   "against stored rows",
		before: []itemRow{{1, "old"}, {2, "old"}},
		write: func(mem memory.Allocator) []dest.Batch {
			return []dest.Batch{itemRows(mem, itemRow{2, "a"}, itemRow{3, "a"}), itemRows(mem, itemRow{2, "b"}, itemRow{4, "b"})}
		},
		want:  "1=old/-,2=b/-,3=a/-,4=b/-",
		stats: dest.WriteStats{Inserted: 2, Updated: 1},
	}, {
		name:   "after a row group",
		before: []itemRow{{7, "old"}},
		write: func(mem memory.Allocator) []dest.Batch {
			return []dest.Batch{{Record: itemsRecord(mem, "a", many...)}, itemRows(mem, itemRow{7, "new"}, itemRow{150_000, "z"})}
		},
		want:  "7=new/-,100=a/-,150000=z/-,150099=a/-",
		stats: dest.WriteStats{Inserted: int64(len(many)), Updated: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d, _, tbl := openItems(t)
			ctx := t.Context()
			if tc.before != nil {
				if _, err := d.Write(ctx, "acme", tbl, batches(itemRows(mem, tc.before...))); err != nil {
					t.Fatal(err)
				}
			}
			stats, err := d.Write(ctx, "acme", tbl, batches(tc.write(mem)...))
			if err != nil {
				t.Fatal(err)
			}
			if stats != tc.stats {
				t.Errorf("stats = %+v, want %+v", stats, tc.stats)
			}
			// The ids the cases look at, and whether any id repeats.
			var got string
			var rows, ids int64
			if err := d.DB().QueryRowContext(ctx, `SELECT coalesce(string_agg(id || '=' || v || '/-', ',' ORDER BY id) FILTER (WHERE id < 100 OR id IN (100, 150000, 150099)), ''),
				count(*), count(DISTINCT id) FROM acme.items`).Scan(&got, &rows, &ids); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("rows = %s, want %s", got, tc.want)
			}
			if rows != ids {
				t.Errorf("%d rows for %d ids", rows, ids)
			}
			var written int
			if err := d.DB().QueryRowContext(ctx, `SELECT count(*) FROM _jsync."written:acme.items"`).Scan(&written); err != nil {
				t.Fatal(err)
			}
			if written != 0 {
				t.Errorf("written-keys table holds %d rows after the Write", written)
			}
		})
	}
}

// TestSettleRollsBack: a group that fails leaves neither its rows nor its
// keys behind, and the next Write of the table works.
func TestSettleRollsBack(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, _, tbl := openItems(t)
	ctx := t.Context()
	if _, err := d.Write(ctx, "acme", tbl, batches(itemRows(mem, itemRow{1, "a"}))); err != nil {
		t.Fatal(err)
	}
	// The second record has a NULL key: the group fails after the first
	// record was appended.
	bad := array.NewRecordBuilder(mem, crashTable().ArrowSchema())
	bad.Field(0).AppendNull()
	bad.Field(1).(*array.StringBuilder).Append("bad")
	bad.Field(2).AppendNull()
	badRec := bad.NewRecordBatch()
	bad.Release()
	_, err := d.Write(ctx, "acme", tbl, batches(itemRows(mem, itemRow{1, "b"}, itemRow{2, "b"}), dest.Batch{Record: badRec}))
	if err == nil || !strings.Contains(err.Error(), "null values") {
		t.Fatalf("write with a NULL key: err = %v, want the NULL key refused", err)
	}
	if got := snapshot(t, d); !strings.HasPrefix(got, "rows 1=a/- |") {
		t.Errorf("after the failed group: %s, want only the row 1=a", got)
	}
	if _, err := d.Write(ctx, "acme", tbl, batches(itemRows(mem, itemRow{1, "c"}, itemRow{3, "c"}))); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := d.DB().QueryRowContext(ctx, `SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM acme.items`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1=c,3=c"; got != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
}
