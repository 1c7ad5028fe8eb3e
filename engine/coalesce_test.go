package engine

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
)

// coalesceRecord builds a batch of (id, name) rows, ids from..from+n-1;
// extra adds a column, for a batch of another schema.
func coalesceRecord(mem memory.Allocator, from, n int, extra bool) arrow.RecordBatch {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String, Nullable: true}}
	if extra {
		fields = append(fields, arrow.Field{Name: "more", Type: arrow.FixedWidthTypes.Boolean, Nullable: true})
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if i%3 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row %d", i))
		}
		if extra {
			b.Field(2).(*array.BooleanBuilder).Append(i%2 == 0)
		}
	}
	return b.NewRecordBatch()
}

// coalesceRows lists a batch's rows as text, in order.
func coalesceRows(rec arrow.RecordBatch) []string {
	var rows []string
	for i := range int(rec.NumRows()) {
		row := ""
		for _, c := range rec.Columns() {
			row += c.ValueStr(i) + "|"
		}
		rows = append(rows, row)
	}
	return rows
}

func TestCoalescer(t *testing.T) {
	one := func() int64 {
		mem := memory.NewGoAllocator()
		r := coalesceRecord(mem, 0, 10, false)
		defer r.Release()
		return dest.RecordBytes(r)
	}()
	type batch struct {
		from, n int
		extra   bool
	}
	tests := []struct {
		name  string
		limit int64
		in    []batch
		// out is the rows of each batch returned, by add or by the final
		// take, as [from, to) ranges of ids.
		out [][2]int
	}{
		{"under the limit: one batch at the end", 10 * one, []batch{{0, 10, false}, {10, 10, false}, {20, 10, false}}, [][2]int{{0, 30}}},
		{"at the limit: joined in order", 2 * one, []batch{{0, 10, false}, {10, 10, false}, {20, 10, false}, {30, 10, false}, {40, 5, false}}, [][2]int{{0, 20}, {20, 40}, {40, 45}}},
		{"a batch over the limit alone passes as is", 1, []batch{{0, 10, false}, {10, 10, false}}, [][2]int{{0, 10}, {10, 20}}},
		{"another schema ends the gathered batches", 10 * one, []batch{{0, 10, false}, {10, 10, false}, {20, 10, true}, {30, 10, true}, {40, 10, false}}, [][2]int{{0, 20}, {20, 40}, {40, 50}}},
		{"nothing in, nothing out", one, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			c := newCoalescer(mem, tt.limit)
			defer c.release()
			var got []arrow.RecordBatch
			for _, b := range tt.in {
				out, err := c.add(coalesceRecord(mem, b.from, b.n, b.extra))
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out...)
			}
			last, err := c.take()
			if err != nil {
				t.Fatal(err)
			}
			if last != nil {
				got = append(got, last)
			}
			defer releaseAll(got)
			if len(got) != len(tt.out) {
				t.Fatalf("got %d batches, want %d", len(got), len(tt.out))
			}
			for i, rng := range tt.out {
				extra := got[i].Schema().NumFields() == 3
				want := coalesceRecord(mem, rng[0], rng[1]-rng[0], extra)
				if w, g := coalesceRows(want), coalesceRows(got[i]); fmt.Sprint(w) != fmt.Sprint(g) {
					t.Errorf("batch %d: got rows %v, want %v", i, g, w)
				}
				want.Release()
			}
		})
	}
}

// TestCoalescerRelease: what is gathered and never taken is freed.
func TestCoalescerRelease(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := newCoalescer(mem, 1<<30)
	for i := range 3 {
		if out, err := c.add(coalesceRecord(mem, 10*i, 10, false)); err != nil || len(out) != 0 {
			t.Fatalf("add: %d batches, %v", len(out), err)
		}
	}
	c.release()
}
