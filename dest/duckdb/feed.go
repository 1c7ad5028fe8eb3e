//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"

	"github.com/apache/arrow-go/v18/arrow"
)

// feed is one Arrow view that a Write registers on its connection once and
// scans for every batch: before each statement that reads the view, put
// hands it the batch, which the next scan reads once.
//
// Registering a view per batch leaks: DuckDB's duckdb_arrow_scan asks the
// stream for its schema and never releases it, and neither does the
// arrow_scan bind that asks again for every statement that reads the view.
// Both copies stay in C memory for the life of the process: about 50 KB
// per registration and 12 KB per statement for a 60-column table. Over a
// 200,000-issue sync the registrations were most of DuckDB's memory
// growth. A feed pays for one registration per Write; one statement per
// batch remains. TestWriteRegistersOneView holds it to that.
//
// A feed serves records of its schema only; appendPending registers a view
// of its own for any other.
type feed struct {
	name    string
	schema  *arrow.Schema
	rdr     *feedReader
	release func() // the stream, once the view is dropped
}

// openFeed registers a feed for records of schema s on conn, outside any
// transaction, so that no rollback takes the view away.
func openFeed(conn *sql.Conn, s *arrow.Schema) (*feed, error) {
	f := &feed{schema: s, rdr: &feedReader{schema: s}}
	var err error
	if f.name, f.release, err = registerView(conn, "_jsync_feed_", f.rdr); err != nil {
		return nil, err
	}
	return f, nil
}

// fits reports whether f can carry rec.
func (f *feed) fits(rec arrow.RecordBatch) bool {
	return f != nil && rec.Schema().Equal(f.schema)
}

// exec runs query, which reads f's view once, with rec as the view's rows.
// rec stays owned by the caller.
func (f *feed) exec(ctx context.Context, conn *sql.Conn, rec arrow.RecordBatch, query string) error {
	f.rdr.put(rec)
	defer f.rdr.clear()
	_, err := conn.ExecContext(ctx, query)
	return err
}

// close drops the view and then releases its stream. If the view cannot be
// dropped the stream is kept alive, not left dangling, and the connection
// is discarded.
func (f *feed) close(ctx context.Context, conn *sql.Conn) {
	if f == nil {
		return
	}
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+quoteIdent(f.name)); err != nil {
		discard(conn)
		return
	}
	f.release()
}

// feedReader is the feed's record stream: each scan reads the record put
// since the last one, then ends.
// The feed owns it from registration to close, so Retain and Release have
// nothing to count.
type feedReader struct {
	schema *arrow.Schema
	next   arrow.RecordBatch // put, not scanned yet
	cur    arrow.RecordBatch // being scanned
}

func (r *feedReader) put(rec arrow.RecordBatch) {
	rec.Retain()
	r.next = rec
}

// clear drops what the last scan left, scanned or not.
func (r *feedReader) clear() {
	for _, rec := range []arrow.RecordBatch{r.cur, r.next} {
		if rec != nil {
			rec.Release()
		}
	}
	r.cur, r.next = nil, nil
}

func (r *feedReader) Retain()               {}
func (r *feedReader) Release()              {}
func (r *feedReader) Schema() *arrow.Schema { return r.schema }
func (r *feedReader) Err() error            { return nil }

func (r *feedReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.next == nil {
		return false
	}
	r.cur, r.next = r.next, nil
	return true
}

func (r *feedReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch; array.RecordReader still requires it.
func (r *feedReader) Record() arrow.RecordBatch { return r.cur }
