//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/jsonscan"
	"github.com/jsync-dev/jsync/engine/schema"
)

// feed is one Arrow view that a Write registers on its connection once,
// and the prepared statements that append what the view holds to a table
// (the table itself, its written-keys table, or its pending table). Before each
// run of a statement, the feed puts a batch in the view, which the scan
// reads once.
//
// DuckDB leaks the Arrow schema it asks a view's stream for: once when the
// view is registered (duckdb_arrow_scan never releases it) and once more
// every time a statement that reads the view is bound (the arrow_scan bind
// does not either). Both copies stay in C memory for the life of the
// process: about 50 KB per registration and 12 KB per bind for a
// 60-column table. Registering a view per batch was most of DuckDB's memory
// growth over a 200,000-issue sync, and binding a statement per batch the
// rest. So a feed registers once per Write, and binds each statement once:
// it is prepared, and it takes no parameters (DuckDB binds a statement with
// parameters again on every run), so the batch's sequence number travels
// as a column of the batch. DuckDB also binds a prepared statement again on
// every run after any catalog change committed since it was prepared; the
// feed sees that as a schema export during the run, and prepares the
// statement anew. TestFeedBindsOnce and TestFeedPreparesAgain hold it to
// that.
//
// A feed serves records of its schema only; appendDirect and appendPending
// register a view of their own for any other.
type feed struct {
	name    string
	schema  *arrow.Schema // of the records it carries
	view    *arrow.Schema // schema and seqColumn
	json    []int         // the indexes of schema's JSON columns
	valid   jsonscan.Validator
	checked arrow.RecordBatch // the last record whose JSON values run checked
	rdr     *feedReader
	release func()               // the stream, once the view is dropped
	stmts   map[string]*sql.Stmt // by SQL text, each prepared at its first run
}

// openFeed registers a feed on conn for records of schema s. It must run
// outside any transaction, so that no rollback takes the view away.
func openFeed(conn *sql.Conn, s *arrow.Schema) (*feed, error) {
	f := &feed{schema: s, view: viewSchema(s), json: jsonColumns(s)}
	f.rdr = &feedReader{schema: f.view}
	var err error
	if f.name, f.release, err = registerView(conn, "_jsync_feed_", f.rdr); err != nil {
		return nil, err
	}
	f.stmts = map[string]*sql.Stmt{}
	return f, nil
}

// insertInto is the statement that appends the columns cols (quoted,
// comma-separated) of the feed's batch to the table qualified.
func (f *feed) insertInto(qualified, cols string) string {
	return "INSERT INTO " + qualified + " (" + cols + ") SELECT " + cols + " FROM " + quoteIdent(f.name)
}

// fits reports whether f can carry rec.
func (f *feed) fits(rec arrow.RecordBatch) bool {
	return f != nil && rec.Schema().Equal(f.schema)
}

// run runs query, one of the feed's insertInto statements, on rec's rows,
// each with sequence number seq. rec stays owned by the caller.
func (f *feed) run(ctx context.Context, conn *sql.Conn, query string, rec arrow.RecordBatch, seq int64) error {
	stmt := f.stmts[query]
	if stmt == nil {
		var err error
		if stmt, err = conn.PrepareContext(ctx, query); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		f.stmts[query] = stmt
	}
	// A Write runs two statements on each record (into the table and
	// into its written keys): check it once. f.checked keeps the record's
	// Go value alive, so no other record can take its address meanwhile.
	if rec != f.checked {
		if err := validJSON(&f.valid, rec, f.json); err != nil {
			return err
		}
		f.checked = rec
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
	if _, err := stmt.ExecContext(ctx); err != nil {
		return err
	}
	if f.rdr.exports.Load() != exports {
		// Bound again: the catalog changed since the statement was
		// prepared. Prepare it anew, or every run would bind.
		delete(f.stmts, query)
		return stmt.Close()
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
	for _, stmt := range f.stmts {
		err = errors.Join(err, stmt.Close())
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

// viewSchema is the schema of a feed's view for records of schema s: s's
// fields, with JSON columns marked as Arrow's canonical JSON extension
// type, and seqColumn.
func viewSchema(s *arrow.Schema) *arrow.Schema {
	fields := make([]arrow.Field, 0, s.NumFields()+1)
	for _, f := range s.Fields() {
		if schema.IsJSON(f) {
			keys := append(slices.Clone(f.Metadata.Keys()), "ARROW:extension:name", "ARROW:extension:metadata")
			vals := append(slices.Clone(f.Metadata.Values()), "arrow.json", "")
			f.Metadata = arrow.NewMetadata(keys, vals)
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(append(fields, arrow.Field{Name: seqColumn, Type: arrow.PrimitiveTypes.Int64}), nil)
}

// jsonColumns is the indexes of s's JSON columns.
func jsonColumns(s *arrow.Schema) []int {
	var cols []int
	for i, f := range s.Fields() {
		if schema.IsJSON(f) {
			cols = append(cols, i)
		}
	}
	return cols
}

// validJSON checks that every value of rec's columns cols is a JSON
// document, as encoding/json.Valid would. DuckDB takes a column of Arrow's
// JSON extension type as JSON without parsing it, so this check is the
// one that keeps a value that is not JSON out of the table
// (jsonscan.Validator, about four times encoding/json's speed).
func validJSON(v *jsonscan.Validator, rec arrow.RecordBatch, cols []int) error {
	for _, c := range cols {
		col, ok := rec.Column(c).(array.StringLike)
		if !ok {
			return fmt.Errorf("column %s: JSON in an Arrow %s column, want a string column", rec.ColumnName(c), rec.Column(c).DataType())
		}
		for i := range col.Len() {
			if col.IsNull(i) {
				continue
			}
			if s := col.Value(i); !v.Valid(unsafe.Slice(unsafe.StringData(s), len(s))) {
				return fmt.Errorf("column %s, row %d: not a JSON document: %.80q", rec.ColumnName(c), i, s)
			}
		}
	}
	return nil
}
