//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// feed is one Arrow view that a Write registers on its connection once,
// and one prepared statement that appends what the view holds to the
// pending table. Before each run of the statement, the feed puts a batch
// in the view, which the scan reads once.
//
// DuckDB leaks the Arrow schema it asks a view's stream for: once when the
// view is registered (duckdb_arrow_scan never releases it) and once more
// every time a statement that reads the view is bound (the arrow_scan bind
// does not either). Both copies stay in C memory for the life of the
// process: about 50 KB per registration and 12 KB per bind for a
// 60-column table. Registering a view per batch was most of DuckDB's memory
// growth over a 200,000-issue sync, and binding a statement per batch the
// rest. So a feed registers once per Write, and binds once: its statement
// is prepared, and it takes no parameters (DuckDB binds a statement with
// parameters again on every run), so the batch's sequence number travels
// as a column of the batch. DuckDB also binds a prepared statement again on
// every run after any catalog change committed since it was prepared; the
// feed sees that as a schema export during the run, and prepares the
// statement anew. TestFeedBindsOnce and TestFeedPreparesAgain hold it to
// that.
//
// A feed serves records of its schema only; appendPending registers a view
// of its own for any other.
type feed struct {
	name    string
	schema  *arrow.Schema // of the records it carries
	view    *arrow.Schema // schema and seqColumn
	rdr     *feedReader
	release func() // the stream, once the view is dropped
	insert  string
	stmt    *sql.Stmt // insert, prepared at the first batch
}

// openFeed registers a feed on conn for records of schema s, to be
// appended to the pending table qualified. It must run outside any
// transaction, so that no rollback takes the view away.
func openFeed(conn *sql.Conn, s *arrow.Schema, qualified string) (*feed, error) {
	f := &feed{schema: s, view: arrow.NewSchema(append(s.Fields(), arrow.Field{Name: seqColumn, Type: arrow.PrimitiveTypes.Int64}), nil)}
	f.rdr = &feedReader{schema: f.view}
	var err error
	if f.name, f.release, err = registerView(conn, "_jsync_feed_", f.rdr); err != nil {
		return nil, err
	}
	colList := columnList(f.view)
	f.insert = "INSERT INTO " + qualified + " (" + colList + ") SELECT " + colList + " FROM " + quoteIdent(f.name)
	return f, nil
}

// fits reports whether f can carry rec.
func (f *feed) fits(rec arrow.RecordBatch) bool {
	return f != nil && rec.Schema().Equal(f.schema)
}

// appendRows appends rec's rows to the pending table, each with sequence
// number seq. rec stays owned by the caller.
func (f *feed) appendRows(ctx context.Context, conn *sql.Conn, rec arrow.RecordBatch, seq int64) error {
	if f.stmt == nil {
		stmt, err := conn.PrepareContext(ctx, f.insert)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		f.stmt = stmt
	}
	seqs := make([]int64, rec.NumRows())
	for i := range seqs {
		seqs[i] = seq
	}
	seqCol := array.NewInt64Data(array.NewData(arrow.PrimitiveTypes.Int64, len(seqs),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(seqs))}, nil, 0, 0))
	defer seqCol.Release()
	withSeq := array.NewRecordBatch(f.view, append(rec.Columns(), seqCol), rec.NumRows())
	defer withSeq.Release()

	f.rdr.put(withSeq)
	defer f.rdr.clear()
	exports := f.rdr.exports.Load()
	if _, err := f.stmt.ExecContext(ctx); err != nil {
		return err
	}
	if f.rdr.exports.Load() != exports {
		// Bound again: the catalog changed since the statement was
		// prepared. Prepare it anew, or every run would bind.
		err := f.stmt.Close()
		f.stmt = nil
		return err
	}
	return nil
}

// close closes the statement, drops the view and then releases its stream.
// If the view cannot be dropped the stream is kept alive, not left
// dangling, and the connection is discarded.
func (f *feed) close(ctx context.Context, conn *sql.Conn) error {
	if f == nil {
		return nil
	}
	var err error
	if f.stmt != nil {
		err = f.stmt.Close()
	}
	if _, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+quoteIdent(f.name)); derr != nil {
		discard(conn)
		return errors.Join(err, derr)
	}
	f.release()
	return err
}

// schemaExports counts the schemas feeds gave DuckDB, each one leaked.
var schemaExports atomic.Uint64

// feedReader is the feed's record stream: each scan reads the record put
// since the last one, then ends.
// The feed owns it from registration to close, so Retain and Release have
// nothing to count.
type feedReader struct {
	schema  *arrow.Schema
	next    arrow.RecordBatch // put, not scanned yet
	cur     arrow.RecordBatch // being scanned
	exports atomic.Uint64     // calls to Schema: DuckDB asking for it
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

func (r *feedReader) Retain()  {}
func (r *feedReader) Release() {}
func (r *feedReader) Err() error {
	return nil
}

// Schema is called by the exported stream when DuckDB asks for the schema.
func (r *feedReader) Schema() *arrow.Schema {
	r.exports.Add(1)
	schemaExports.Add(1)
	return r.schema
}

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
