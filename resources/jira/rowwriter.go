package jira

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/schema"
)

// DefaultBatchRows bounds the rows of one record batch.
const DefaultBatchRows = 2000

// batchBytes bounds the string bytes of one record batch: issue rows carry
// their raw fields JSON (tens of KB for some), so a row count alone would
// let every concurrent fetcher hold tens of MB per table. Each backfill
// slice builds its own batch of every table, so this bounds the batches
// being built to a few MB per slice. Measured at 50,000 issues against
// 4 MB: Go's live heap 85-100 MB against 100-130 MB mid-run.
const batchBytes = 1 << 20

// rowWriter appends rows to a reused RecordBuilder for one (possibly
// projected) table. Values for columns the table does not have are ignored,
// so decoders can always set every column they know. Each row is begun with
// begin and finished with end; columns not set in a row are NULL.
type rowWriter struct {
	table    *schema.Table
	b        *array.RecordBuilder
	idx      map[string]int
	set      []bool
	rows     int
	bytes    int // string bytes appended since the last flush
	source   string
	syncedAt time.Time
}

func newRowWriter(mem memory.Allocator, t *schema.Table, source string, syncedAt time.Time) *rowWriter {
	w := &rowWriter{
		table:    t,
		b:        array.NewRecordBuilder(mem, t.ArrowSchema()),
		idx:      make(map[string]int, len(t.Columns)),
		set:      make([]bool, len(t.Columns)),
		source:   source,
		syncedAt: syncedAt.UTC(),
	}
	for i, c := range t.Columns {
		w.idx[c.Name] = i
	}
	return w
}

// Release frees the builder and any rows not yet flushed.
func (w *rowWriter) Release() { w.b.Release() }

// Len is the number of rows appended since the last flush.
func (w *rowWriter) Len() int { return w.rows }

// full reports whether the pending rows reach maxRows or batchBytes.
func (w *rowWriter) full(maxRows int) bool { return w.rows >= maxRows || w.bytes >= batchBytes }

// has reports whether the table has the column.
func (w *rowWriter) has(col string) bool { _, ok := w.idx[col]; return ok }

func (w *rowWriter) begin() { clear(w.set) }

// end completes the row: meta columns are filled, unset columns get NULL.
func (w *rowWriter) end() {
	_ = w.put(schema.ColSource, w.source)
	_ = w.put(schema.ColSyncedAt, w.syncedAt)
	for i, done := range w.set {
		if !done {
			w.b.Field(i).AppendNull()
		}
	}
	w.rows++
}

// put appends v to the column. nil appends NULL. It is a no-op for unknown
// columns and for columns already set in this row (first value wins, so the
// builders never go out of step). A Go value that does not fit the column's
// Arrow type is an error and the column stays unset (NULL).
func (w *rowWriter) put(col string, v any) error {
	i, ok := w.idx[col]
	if !ok || w.set[i] {
		return nil
	}
	fb := w.b.Field(i)
	if v == nil {
		fb.AppendNull()
		w.set[i] = true
		return nil
	}
	switch b := fb.(type) {
	case *array.StringBuilder:
		switch s := v.(type) {
		case string:
			b.Append(s)
			w.bytes += len(s)
		case []byte: // JSON text (compactJSON), copied as received
			b.BinaryBuilder.Append(s)
			w.bytes += len(s)
		default:
			return typeMismatch(col, v, b.Type())
		}
	case *array.Int64Builder:
		n, ok := v.(int64)
		if !ok {
			return typeMismatch(col, v, b.Type())
		}
		b.Append(n)
	case *array.Float64Builder:
		f, ok := v.(float64)
		if !ok {
			return typeMismatch(col, v, b.Type())
		}
		b.Append(f)
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return typeMismatch(col, v, b.Type())
		}
		b.Append(x)
	case *array.TimestampBuilder:
		t, ok := v.(time.Time)
		if !ok {
			return typeMismatch(col, v, b.Type())
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
	case *array.Date32Builder:
		t, ok := v.(time.Time)
		if !ok {
			return typeMismatch(col, v, b.Type())
		}
		b.Append(arrow.Date32FromTime(t))
	case *array.ListBuilder:
		switch vb := b.ValueBuilder().(type) {
		case *array.StringBuilder:
			var ss []string
			var valid []bool
			switch l := v.(type) {
			case []string:
				ss = l
			case stringList:
				ss, valid = l.vals, l.valid
			default:
				return typeMismatch(col, v, b.Type())
			}
			b.Append(true)
			vb.AppendValues(ss, valid)
			for _, s := range ss {
				w.bytes += len(s)
			}
		case *array.Int64Builder:
			ns, ok := v.([]int64)
			if !ok {
				return typeMismatch(col, v, b.Type())
			}
			b.Append(true)
			vb.AppendValues(ns, nil)
		default:
			return fmt.Errorf("column %s: unsupported list type %s", col, b.Type())
		}
	default:
		return fmt.Errorf("column %s: unsupported type %s", col, fb.Type())
	}
	w.set[i] = true
	return nil
}

func typeMismatch(col string, v any, t arrow.DataType) error {
	return fmt.Errorf("column %s: Go value %T does not fit %s", col, v, t)
}

// flush returns the rows appended so far as a record batch (nil when there
// are none). The caller owns the batch.
func (w *rowWriter) flush() arrow.RecordBatch {
	if w.rows == 0 {
		return nil
	}
	w.rows, w.bytes = 0, 0
	return w.b.NewRecordBatch()
}
