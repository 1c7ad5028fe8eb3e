package engine

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
)

// coalesceBytes is the size (dest.RecordBytes) a table's writer gathers
// its records to before it hands them to the destination as one.
//
// A source builds a batch for every table in each of its concurrent
// fetchers (a backfill's time slices), so the batches being built
// multiply by fetchers × tables, and a batch's size is what bounds them.
// A destination, though, pays per batch it receives (DuckDB runs an
// INSERT for each, and one for its keys). So sources build small
// batches and the sink puts them back together: measured at 200,000
// issues, 8 slices, batches of 128 KiB built and written as they come
// took 11% more time than batches of 1 MiB, with a peak 92 MB lower
// (BENCHMARKS.md, twenty-seventh round).
const coalesceBytes = 1 << 20

// coalescer gathers consecutive record batches of one schema, in order,
// and returns them as one batch once they reach coalesceBytes. Rows keep
// their order, so a key repeated across the batches still keeps its last
// row, as destinations do within a batch.
type coalescer struct {
	mem   memory.Allocator
	limit int64
	recs  []arrow.RecordBatch
	bytes int64
}

func newCoalescer(mem memory.Allocator, limit int64) *coalescer {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &coalescer{mem: mem, limit: limit}
}

// add takes rec (owned by the coalescer from now on) and returns the
// batches ready to write, in order: what was gathered before rec, when
// rec's schema differs from theirs, and the gathered batches with rec
// once they reach the limit. The caller owns what it returns.
func (c *coalescer) add(rec arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	var out []arrow.RecordBatch
	if len(c.recs) > 0 && !c.recs[0].Schema().Equal(rec.Schema()) {
		prev, err := c.take()
		if err != nil {
			rec.Release()
			return nil, err
		}
		out = append(out, prev)
	}
	c.recs = append(c.recs, rec)
	c.bytes += dest.RecordBytes(rec)
	if c.bytes < c.limit {
		return out, nil
	}
	all, err := c.take()
	if err != nil {
		releaseAll(out)
		return nil, err
	}
	return append(out, all), nil
}

// take returns what was gathered as one batch (nil when nothing was), and
// starts over. The caller owns the batch.
func (c *coalescer) take() (arrow.RecordBatch, error) {
	recs := c.recs
	c.recs, c.bytes = nil, 0
	switch len(recs) {
	case 0:
		return nil, nil
	case 1:
		return recs[0], nil
	}
	defer releaseAll(recs)
	return concatRecords(c.mem, recs)
}

// release frees what was gathered and not taken.
func (c *coalescer) release() {
	releaseAll(c.recs)
	c.recs, c.bytes = nil, 0
}

// concatRecords joins record batches of one schema into one, column by
// column, in order.
func concatRecords(mem memory.Allocator, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	sc := recs[0].Schema()
	cols := make([]arrow.Array, sc.NumFields())
	defer releaseAll(cols)
	parts := make([]arrow.Array, len(recs))
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("join batches of column %s: %w", sc.Field(i).Name, err)
		}
		cols[i] = col
	}
	return array.NewRecordBatch(sc, cols, rows), nil
}

// releaseAll releases every non-nil value.
func releaseAll[T interface{ Release() }](xs []T) {
	for _, x := range xs {
		if any(x) != nil {
			x.Release()
		}
	}
}
