//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// Write merges the batches into the table by key, in groups: each group
// of batches is appended to the table itself, and its keys to the table's
// written-keys table in the _jsync schema; in the same transaction, settle
// then deletes the older rows of any key that the group appended twice or
// that the table already held, and the group is committed with the state
// of its last batch. A group ends when batches closes, or once mergeRows
// rows or mergeBytes bytes have gathered. The written-keys table is empty
// whenever no transaction is open: it never holds committed rows.
//
// Rows are written once: a backfill, where keys rarely repeat, costs one
// append per row and one scan of the table's key columns per group. (Write
// appended to a pending table and then moved the rows into the table; at
// 20,000 issues that move was a quarter of DuckDB's time in Write.)
//
// Readers therefore see the table change in whole groups. On error the
// open group is rolled back; the groups before it stay committed, so the
// committed state never runs ahead of the committed rows. A batch that
// lacks some of the table's columns is merged by UPDATE and INSERT,
// keeping the columns it lacks.
//
// Write releases every record it receives. On error it returns at once
// without draining batches.
func (d *Destination) Write(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (stats dest.WriteStats, err error) {
	if err := d.checkWritable(ns, t); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("write %s.%s: get connection: %w", ns, t.Name, err)
	}
	defer func() { err = joinCleanup(err, conn.Close()) }()
	// Creating a side table and registering or dropping the feed's view
	// change the catalog: they run outside the checkpoint gate's
	// checkpoints, which DuckDB would decline beside them.
	in := &inbox{ch: batches, total: &d.held}
	defer in.release()
	var w *pending
	if err := d.outsideCheckpoint(ctx, in, func() (err error) {
		w, err = d.openWrite(ctx, conn, ns, t)
		return err
	}); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	// Committed or rolled back, the side tables are empty again.
	defer d.release(w)
	written, err := d.fitMemory(ctx, conn, w)
	if err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	defer written()
	if err := d.outsideCheckpoint(ctx, in, func() error { return d.attachFeed(conn, w, t) }); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	defer func() {
		err = joinCleanup(err, d.outsideCheckpoint(ctx, in, func() error { return w.detachFeed(ctx, conn) }))
	}()
	n := 0 // batches received
	for {
		b, ok, err := in.next(ctx, nil)
		if err != nil {
			return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
		}
		if !ok {
			return stats, nil
		}
		n++
		s, more, err := d.writeGroup(ctx, conn, w, t, b, in, &n)
		if err != nil {
			return stats, fmt.Errorf("write %s.%s batch %d: %w", ns, t.Name, n, d.outOfMemory(err, w))
		}
		stats = stats.Add(s)
		if !more {
			return stats, nil
		}
	}
}

// writeGroup commits one group of batches, starting with first, in one
// transaction. It reports whether batches may hold more. n counts the
// batches received.
func (d *Destination) writeGroup(ctx context.Context, conn *sql.Conn, w *pending, t *schema.Table, first dest.Batch, in *inbox, n *int) (stats dest.WriteStats, more bool, err error) {
	var views viewSet
	var last *state.TableState
	var merging bool
	var flushed []dest.Batch // batches whose Flushed waits for the commit
	defer func() {
		for _, b := range flushed {
			b.Answer(err)
		}
	}()
	asked := d.enter(ctx, in)
	began := false // the transaction began: first is appendBatch's
	err = d.txOn(ctx, conn, t.Name, func() error {
		began = true
		b := first
		for {
			if b.Flushed != nil {
				flushed = append(flushed, b)
			}
			s, err := d.appendBatch(ctx, conn, w, t, b, &views)
			if err != nil {
				return err
			}
			stats = stats.Add(s)
			if b.State != nil {
				last = b.State
			}
			if b.Flushed != nil {
				// Commit now; the Write goes on with the next group.
				more = true
				break
			}
			if w.rows >= mergeRows || w.bytes >= mergeBytes {
				more = true
				break
			}
			var ok bool
			if b, ok, err = in.next(ctx, asked); err == errAsked {
				// A checkpoint is asked for (checkpointGate): end the
				// group here; the Write goes on with the next one.
				more = true
				break
			} else if err != nil {
				return err
			}
			if !ok {
				break
			}
			*n++
		}
		d.beginMerge(&merging)
		s, err := d.flushGroup(ctx, conn, w)
		if err != nil {
			return err
		}
		stats = stats.Add(s)
		return writeStates(ctx, conn, last)
	})
	if !began {
		if first.Record != nil {
			first.Record.Release()
		}
		flushed = append(flushed, first)
	}
	// Give the merge turn back, then drop the group's views, before exit,
	// which may run the gate's checkpoint.
	d.endMerge(&merging)
	views.release(ctx, conn)
	d.exit(ctx)
	if err != nil {
		w.rows, w.bytes, w.direct = 0, 0, 0 // rolled back with the transaction
		return dest.WriteStats{}, false, err
	}
	return stats, more, nil
}

// appendBatch adds b's rows to the open transaction: appended to the table,
// or, for a record that lacks some of the table's columns, merged into the
// table at once (after settling the rows appended before it). It releases
// b.Record.
func (d *Destination) appendBatch(ctx context.Context, conn *sql.Conn, w *pending, t *schema.Table, b dest.Batch, views *viewSet) (dest.WriteStats, error) {
	var stats dest.WriteStats
	if b.Record == nil {
		return stats, nil
	}
	defer b.Record.Release()
	if err := dest.CheckRecord(t, b.Record); err != nil {
		return stats, err
	}
	if b.Record.NumRows() == 0 {
		return stats, nil
	}
	if err := d.noteWritten(ctx, dest.RecordBytes(b.Record)); err != nil {
		return stats, err
	}
	if w.whole(b.Record) {
		if w.qualified != "" {
			return stats, views.appendPending(ctx, conn, w, b.Record)
		}
		return stats, views.appendDirect(ctx, conn, w, b.Record)
	}
	var merging bool
	defer d.endMerge(&merging)
	d.beginMerge(&merging)
	s, err := d.flushGroup(ctx, conn, w)
	if err != nil {
		return stats, err
	}
	p, err := views.upsertPartial(ctx, conn, w.tgt, b.Record)
	return s.Add(p), err
}

// A Write commits a group of batches once mergeRows rows or mergeBytes
// bytes (as Arrow holds them) have gathered, or when its batches end (the
// engine ends them at each checkpoint of the source). Each settle scans
// the table's key columns once, so larger groups cost less in total; a
// group's rows live in DuckDB's buffer pool, which spills to disk, so the
// group size bounds the work a failure rolls back, not memory.
const (
	mergeRows  = 200_000
	mergeBytes = 64 << 20 // well within DefaultMemoryLimit, so a group rarely spills
)

func (d *Destination) checkWritable(ns dest.Namespace, t *schema.Table) error {
	if d.readOnly {
		return errors.New("destination is open read-only")
	}
	return checkTable(ns, t)
}

// pending is a table being written and its side table in the _jsync
// schema: a written-keys table for a Write, a pending table for a Replace
// (and for a Write to a table with a PRIMARY KEY constraint, which cannot
// hold two rows of a key even until settle).
type pending struct {
	tgt       target
	qualified string   // the pending table, quoted, or ""
	keys      string   // the written-keys table, quoted, or "" (also for a table without a key)
	cols      []string // the table's columns, quoted
	key       []string // the key columns, quoted
	rows      int64    // rows appended since the last merge or settle
	bytes     int64    // their size in Arrow
	direct    int64    // rows appended to the table itself since the last settle
	seq       int64    // sequence of the last appended chunk
	feed      *feed    // the running Write's feed, on its connection
	// extras are the table's columns, quoted, that the definition being
	// written no longer has (schema.ExtraColumn: a custom field deleted
	// in Jira, a narrower columns selection). They are kept: a row
	// written again keeps their stored values (keepExtras).
	extras []string

	// The feed's statements: the batch into the table, its key columns
	// into the written-keys table, the batch with its sequence into the
	// pending table ("" when w has no such table).
	toTable, toKeys, toPending string
}

// attachFeed gives w a feed for t's records on conn, for one Write or
// Replace. It must run outside any transaction.
func (d *Destination) attachFeed(conn *sql.Conn, w *pending, t *schema.Table) error {
	f, err := openFeed(conn, t.ArrowSchema())
	if err != nil {
		return err
	}
	w.feed = f
	w.toTable = f.insertInto(w.tgt.qualified, columnList(f.schema))
	if w.keys != "" {
		w.toKeys = f.insertInto(w.keys, strings.Join(w.key, ", "))
	}
	if w.qualified != "" {
		w.toPending = f.insertInto(w.qualified, columnList(f.view))
	}
	return nil
}

// detachFeed drops w's feed at the end of its Write.
func (w *pending) detachFeed(ctx context.Context, conn *sql.Conn) error {
	err := w.feed.close(ctx, conn)
	w.feed = nil
	if err != nil {
		return fmt.Errorf("close feed: %w", err)
	}
	return nil
}

// seqColumn orders a pending table's rows: for a key appended more than
// once, the row with the highest sequence wins.
const seqColumn = "_jsync_seq"

// sideName is the quoted name of one of table's side tables in the _jsync
// schema: kind:<schema>.<table>, where kind is "pending" or "written".
func (d *Destination) sideName(kind string, ns dest.Namespace, table string) string {
	return quoteIdent(d.catalog) + "._jsync." + quoteIdent(kind+":"+d.SchemaName(ns)+"."+table)
}

// newPending describes t as the catalog has it, for writing.
func (d *Destination) newPending(ctx context.Context, conn *sql.Conn, ns dest.Namespace, t *schema.Table) (*pending, error) {
	have, err := readTableDef(ctx, conn, d.SchemaName(ns), t.Name)
	if err == nil && have == nil {
		err = errors.New("table does not exist (migrate first)")
	}
	if err != nil {
		return nil, err
	}
	w := &pending{tgt: target{name: t.Name, qualified: d.TableName(ns, t.Name), def: have}}
	for _, c := range have.cols {
		w.cols = append(w.cols, quoteIdent(c.name))
	}
	for _, k := range have.pk {
		w.key = append(w.key, quoteIdent(k))
	}
	return w, nil
}

// createSide creates (or, since a table of the same name can only be an
// empty leftover, replaces) a side table of w's table with the table's
// columns named cols, each NOT NULL where the table has it or where it is
// a key column (a bad batch fails on its own, not its merge), and then
// extra column definitions.
func createSide(ctx context.Context, conn *sql.Conn, w *pending, name string, cols []string, extra ...string) error {
	defs := make([]string, 0, len(cols)+len(extra))
	for _, col := range cols {
		c := w.tgt.def.col(col)
		def := quoteIdent(c.name) + " " + c.typ
		if c.notNull || w.tgt.def.isPK(c.name) {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	_, err := conn.ExecContext(ctx, "CREATE OR REPLACE TABLE "+name+" ("+strings.Join(append(defs, extra...), ", ")+")")
	return err
}

// openPending returns a new, empty pending table for t (for a Replace).
func (d *Destination) openPending(ctx context.Context, conn *sql.Conn, ns dest.Namespace, t *schema.Table) (*pending, error) {
	w, err := d.newPending(ctx, conn, ns, t)
	if err != nil {
		return nil, err
	}
	if err := d.createPending(ctx, conn, ns, w); err != nil {
		return nil, err
	}
	return w, nil
}

// createPending gives w a new, empty pending table.
func (d *Destination) createPending(ctx context.Context, conn *sql.Conn, ns dest.Namespace, w *pending) error {
	w.qualified = d.sideName("pending", ns, w.tgt.name)
	names := make([]string, len(w.tgt.def.cols))
	for i, c := range w.tgt.def.cols {
		names[i] = c.name
	}
	if err := createSide(ctx, conn, w, w.qualified, names, quoteIdent(seqColumn)+" BIGINT NOT NULL"); err != nil {
		return fmt.Errorf("create pending table: %w", err)
	}
	return nil
}

// openWrite returns t and its empty side table for a Write: the ones a
// finished Write left, or new ones.
func (d *Destination) openWrite(ctx context.Context, conn *sql.Conn, ns dest.Namespace, t *schema.Table) (*pending, error) {
	d.mu.Lock()
	w := d.idle[d.TableName(ns, t.Name)]
	delete(d.idle, d.TableName(ns, t.Name))
	d.mu.Unlock()
	if w != nil {
		w.seq = 0
		w.setExtras(t)
		return w, nil
	}
	w, err := d.newPending(ctx, conn, ns, t)
	if err != nil {
		return nil, err
	}
	w.setExtras(t)
	switch {
	case w.tgt.def.constrained:
		if err := d.createPending(ctx, conn, ns, w); err != nil {
			return nil, err
		}
	case len(w.key) > 0:
		w.keys = d.sideName("written", ns, t.Name)
		if err := createSide(ctx, conn, w, w.keys, w.tgt.def.pk); err != nil {
			return nil, fmt.Errorf("create written-keys table: %w", err)
		}
	}
	return w, nil
}

// release keeps w, whose side tables are empty, for the next Write of its
// table.
func (d *Destination) release(w *pending) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.idle == nil {
		d.idle = map[string]*pending{}
	}
	d.idle[w.tgt.qualified] = w
}

// forget drops the idle side tables of a table whose definition is about
// to change (Migrate, Replace): the next Write creates one that matches.
func (d *Destination) forget(ctx context.Context, q queryer, ns dest.Namespace, table string) error {
	d.mu.Lock()
	w := d.idle[d.TableName(ns, table)]
	delete(d.idle, d.TableName(ns, table))
	d.mu.Unlock()
	if w == nil {
		return nil
	}
	return w.dropSides(ctx, q)
}

// dropSides drops w's side tables.
func (w *pending) dropSides(ctx context.Context, q queryer) error {
	for _, name := range []string{w.keys, w.qualified} {
		if name == "" {
			continue
		}
		if _, err := q.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			return fmt.Errorf("drop side table: %w", err)
		}
	}
	return nil
}

// dropLeftovers drops the side tables a process that stopped left. They
// are empty: a side table holds rows only inside a transaction.
func (d *Destination) dropLeftovers(ctx context.Context) error {
	rows, err := d.db.QueryContext(ctx, `SELECT table_name FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = '_jsync'
		AND (starts_with(table_name, 'pending:') OR starts_with(table_name, 'written:'))`)
	if err != nil {
		return fmt.Errorf("list side tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return errors.Join(fmt.Errorf("list side tables: %w", err), rows.Close())
		}
		names = append(names, n)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("list side tables: %w", err)
	}
	for _, n := range names {
		if _, err := d.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(d.catalog)+"._jsync."+quoteIdent(n)); err != nil {
			return fmt.Errorf("drop side table %s: %w", n, err)
		}
	}
	return nil
}

// setExtras records the table's columns that t, the definition a Write
// writes, does not have.
func (w *pending) setExtras(t *schema.Table) {
	w.extras = w.extras[:0]
	for _, c := range w.tgt.def.cols {
		if t.Column(c.name) == nil {
			w.extras = append(w.extras, quoteIdent(c.name))
		}
	}
}

// whole reports whether rec carries every column of the table but the
// extra ones, so that its rows can replace the stored ones outright (the
// extra columns keep their stored values: keepExtras). A record that
// lacks some other column is merged column by column (upsertPartial).
func (w *pending) whole(rec arrow.RecordBatch) bool {
	for _, c := range w.tgt.def.cols {
		if len(rec.Schema().FieldIndices(c.name)) == 0 && !slices.Contains(w.extras, quoteIdent(c.name)) {
			return false
		}
	}
	return true
}

// appendPending appends rec to the pending table, one sequence number per
// run of rows whose keys do not repeat, so that within rec too the last
// row of a key wins.
func (v *viewSet) appendPending(ctx context.Context, conn *sql.Conn, w *pending, rec arrow.RecordBatch) error {
	chunks := splitDuplicateKeys(rec, w.tgt.def.pk)
	defer func() {
		for _, c := range chunks {
			c.Release()
		}
	}()
	// For chunks the feed cannot carry: their own view, seq as a literal.
	insert := func(view string) string {
		colList := columnList(rec.Schema())
		return "INSERT INTO " + w.qualified + " (" + colList + ", " + quoteIdent(seqColumn) + ") SELECT " +
			colList + ", " + strconv.FormatInt(w.seq, 10) + " FROM " + quoteIdent(view)
	}
	for _, chunk := range chunks {
		w.seq++
		if w.feed.fits(chunk) {
			if err := w.feed.run(ctx, conn, w.toPending, chunk, w.seq); err != nil {
				return fmt.Errorf("append to pending table: %w", err)
			}
			continue
		}
		view, err := v.register(conn, chunk)
		if err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, insert(view)); err != nil {
			return fmt.Errorf("append to pending table: %w", err)
		}
		if err := v.drop(ctx, conn, view); err != nil {
			return err
		}
	}
	w.rows += rec.NumRows()
	w.bytes += dest.RecordBytes(rec)
	return nil
}

// appendDirect appends rec to the table itself, in the open transaction,
// and its key columns to the written-keys table; settle then makes the keys unique
// again.
func (v *viewSet) appendDirect(ctx context.Context, conn *sql.Conn, w *pending, rec arrow.RecordBatch) error {
	if w.feed.fits(rec) {
		if err := w.feed.run(ctx, conn, w.toTable, rec, 0); err != nil {
			return fmt.Errorf("append to %s: %w", w.tgt.qualified, err)
		}
		if w.keys != "" {
			if err := w.feed.run(ctx, conn, w.toKeys, rec, 0); err != nil {
				return fmt.Errorf("append keys of %s: %w", w.tgt.qualified, err)
			}
		}
	} else {
		// A record the feed cannot carry: a view for each statement (a
		// view is scanned once).
		if err := v.insertFrom(ctx, conn, rec, w.tgt.qualified, columnList(rec.Schema())); err != nil {
			return fmt.Errorf("append to %s: %w", w.tgt.qualified, err)
		}
		if w.keys != "" {
			if err := v.insertFrom(ctx, conn, rec, w.keys, strings.Join(w.key, ", ")); err != nil {
				return fmt.Errorf("append keys of %s: %w", w.tgt.qualified, err)
			}
		}
	}
	w.rows += rec.NumRows()
	w.bytes += dest.RecordBytes(rec)
	w.direct += rec.NumRows()
	return nil
}

// insertFrom appends the columns cols (quoted, comma-separated) of rec to
// the table qualified through a view of its own.
func (v *viewSet) insertFrom(ctx context.Context, conn *sql.Conn, rec arrow.RecordBatch, qualified, cols string) error {
	view, err := v.register(conn, rec)
	if err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+qualified+" ("+cols+") SELECT "+cols+" FROM "+quoteIdent(view)); err != nil {
		return err
	}
	return v.drop(ctx, conn, view)
}

// flushGroup makes what the group appended so far final in the table: the
// pending rows merged in (a table with a PRIMARY KEY constraint), or the
// appended rows settled.
func (d *Destination) flushGroup(ctx context.Context, conn *sql.Conn, w *pending) (dest.WriteStats, error) {
	if w.qualified != "" {
		return d.mergeIn(ctx, conn, w)
	}
	return d.settle(ctx, conn, w)
}

// settle makes the table's keys unique again after appendDirect, in the
// caller's transaction, and counts the rows inserted and updated. One
// join of the table with the written-keys table tells whether any key appended
// since the last settle was in the table already, or was appended twice;
// only then are the older rows of those keys deleted. DuckDB numbers the
// rows a transaction appends after the table's committed rows, in the
// order they were appended, so the row with the highest rowid is the
// newest (TestSettleKeepsNewest checks it). The written-keys table is emptied.
func (d *Destination) settle(ctx context.Context, conn *sql.Conn, w *pending) (dest.WriteStats, error) {
	var stats dest.WriteStats
	n := w.direct
	if n == 0 {
		return stats, nil
	}
	if w.keys == "" {
		w.rows, w.bytes, w.direct = 0, 0, 0
		stats.Inserted = n
		return stats, nil
	}
	keyList := strings.Join(w.key, ", ")
	var matched int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+w.tgt.qualified+" JOIN "+w.keys+" USING ("+keyList+")").Scan(&matched); err != nil {
		return stats, fmt.Errorf("settle keys of %s: %w", w.tgt.qualified, err)
	}
	stats.Inserted = n
	if matched != n {
		// Every appended row matches at least itself: more matches mean
		// repeated keys.
		var distinct int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT DISTINCT "+keyList+" FROM "+w.keys+")").Scan(&distinct); err != nil {
			return stats, fmt.Errorf("settle keys of %s: count keys: %w", w.tgt.qualified, err)
		}
		if err := w.keepExtras(ctx, conn); err != nil {
			return stats, err
		}
		res, err := conn.ExecContext(ctx, "DELETE FROM "+w.tgt.qualified+" WHERE rowid IN (SELECT id FROM (SELECT t.rowid AS id, row_number() OVER (PARTITION BY "+
			keyList+" ORDER BY t.rowid DESC) AS n FROM "+w.tgt.qualified+" AS t SEMI JOIN "+w.keys+" USING ("+keyList+")) WHERE n > 1)")
		if err != nil {
			return stats, fmt.Errorf("settle keys of %s: delete old versions: %w", w.tgt.qualified, err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return stats, err
		}
		// Of the deleted rows, n - distinct were appended in this group
		// and superseded within it; the rest were stored before.
		stats.Updated = deleted - (n - distinct)
		stats.Inserted = distinct - stats.Updated
	}
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+w.keys); err != nil {
		return stats, fmt.Errorf("settle keys of %s: %w", w.tgt.qualified, err)
	}
	w.rows, w.bytes, w.direct = 0, 0, 0
	return stats, nil
}

// keepExtras, in settle, gives every row of a key appended since the last
// settle that was stored before the stored row's values of the extra
// columns, which the appended rows lack (NULL): a row written again keeps
// what the columns no longer written hold, as a row not written again
// does. The stored row is the key's oldest (lowest rowid); the update is
// in place, so the rowids, which settle orders by, stay. Keys appended
// only in this group get their oldest appended row's values: NULL.
func (w *pending) keepExtras(ctx context.Context, conn *sql.Conn) error {
	if len(w.extras) == 0 {
		return nil
	}
	keyList := strings.Join(w.key, ", ")
	sel := make([]string, len(w.extras))
	set := make([]string, len(w.extras))
	for i, x := range w.extras {
		sel[i] = "first(s." + x + " ORDER BY s.rowid) AS " + x
		set[i] = x + " = o." + x
	}
	conds := make([]string, len(w.key))
	for i, k := range w.key {
		conds[i] = w.tgt.qualified + "." + k + " = o." + k
	}
	q := "UPDATE " + w.tgt.qualified + " SET " + strings.Join(set, ", ") +
		" FROM (SELECT " + keyList + ", " + strings.Join(sel, ", ") + " FROM " + w.tgt.qualified + " AS s SEMI JOIN " + w.keys + " USING (" + keyList + ")" +
		" GROUP BY " + keyList + " HAVING count(*) > 1) AS o WHERE " + strings.Join(conds, " AND ")
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("settle keys of %s: keep the values of columns no longer written: %w", w.tgt.qualified, err)
	}
	return nil
}

// mergeIn moves the pending rows into the table, in the caller's
// transaction: rows whose key is pending are deleted, then the newest
// pending row of each key is inserted, and the pending table is emptied.
func (d *Destination) mergeIn(ctx context.Context, conn *sql.Conn, w *pending) (dest.WriteStats, error) {
	var stats dest.WriteStats
	if w.rows == 0 {
		return stats, nil
	}
	colList := strings.Join(w.cols, ", ")
	if len(w.key) > 0 {
		keyList := strings.Join(w.key, ", ")
		// Older versions of a key within the pending rows go first.
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+w.qualified+" WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER (PARTITION BY "+
			keyList+" ORDER BY "+quoteIdent(seqColumn)+" DESC) AS n FROM "+w.qualified+") WHERE n > 1)"); err != nil {
			return stats, fmt.Errorf("merge pending rows into %s: drop superseded rows: %w", w.tgt.qualified, err)
		}
		if len(w.extras) > 0 {
			// Pending rows of stored keys take the stored values of the
			// extra columns (see keepExtras).
			set := make([]string, len(w.extras))
			for i, x := range w.extras {
				set[i] = x + " = t." + x
			}
			conds := make([]string, len(w.key))
			for i, k := range w.key {
				conds[i] = "p." + k + " = t." + k
			}
			if _, err := conn.ExecContext(ctx, "UPDATE "+w.qualified+" AS p SET "+strings.Join(set, ", ")+" FROM "+w.tgt.qualified+" AS t WHERE "+strings.Join(conds, " AND ")); err != nil {
				return stats, fmt.Errorf("merge pending rows into %s: keep the values of columns no longer written: %w", w.tgt.qualified, err)
			}
		}
		conds := make([]string, len(w.key))
		for i, k := range w.key {
			conds[i] = w.tgt.qualified + "." + k + " = p." + k
		}
		res, err := conn.ExecContext(ctx, "DELETE FROM "+w.tgt.qualified+" USING (SELECT "+keyList+" FROM "+w.qualified+") AS p WHERE "+strings.Join(conds, " AND "))
		if err != nil {
			return stats, fmt.Errorf("merge pending rows into %s: delete old versions: %w", w.tgt.qualified, err)
		}
		if stats.Updated, err = res.RowsAffected(); err != nil {
			return stats, err
		}
	}
	res, err := conn.ExecContext(ctx, "INSERT INTO "+w.tgt.qualified+" ("+colList+") SELECT "+colList+" FROM "+w.qualified)
	if err != nil {
		return stats, fmt.Errorf("merge pending rows into %s: insert: %w", w.tgt.qualified, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return stats, err
	}
	stats.Inserted = n - stats.Updated
	if _, err := conn.ExecContext(ctx, "DELETE FROM "+w.qualified); err != nil {
		return stats, fmt.Errorf("merge pending rows into %s: %w", w.tgt.qualified, err)
	}
	w.rows, w.bytes = 0, 0
	return stats, nil
}

// Replace writes the batches into a pending table and, in one transaction,
// builds a staging table from the newest row of each key, drops the old
// table, renames the staging table into its place and commits the last
// batch's state. The staging table copies the existing table's columns
// (including extra ones), types and comments. Deleted counts rows whose key
// is gone, Updated rows whose key survived.
func (d *Destination) Replace(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (_ dest.WriteStats, err error) {
	var stats dest.WriteStats
	if err := d.checkWritable(ns, t); err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("replace %s.%s: get connection: %w", ns, t.Name, err)
	}
	defer func() { err = joinCleanup(err, conn.Close()) }()
	// The table is rebuilt from its definition as the catalog has it now.
	if err := d.forget(ctx, conn, ns, t.Name); err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	w, err := d.openPending(ctx, conn, ns, t)
	if err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	written, err := d.fitMemory(ctx, conn, w)
	if err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	defer written()
	if err := d.attachFeed(conn, w, t); err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	defer func() { err = joinCleanup(err, w.detachFeed(ctx, conn)) }()
	var views viewSet
	defer func() { views.release(ctx, conn) }()
	var merging bool
	defer d.endMerge(&merging)
	err = d.txOn(ctx, conn, t.Name, func() error {
		s, err := d.replaceIn(ctx, conn, ns, t, w, batches, &views, &merging)
		stats = s
		return err
	})
	if err != nil {
		// The pending table holds no committed state: drop it.
		_, derr := conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+w.qualified)
		return dest.WriteStats{}, errors.Join(fmt.Errorf("replace %s.%s: %w", ns, t.Name, d.outOfMemory(err, w)), derr)
	}
	return stats, nil
}

func (d *Destination) replaceIn(ctx context.Context, conn *sql.Conn, ns dest.Namespace, t *schema.Table, w *pending, batches <-chan dest.Batch, views *viewSet, merging *bool) (dest.WriteStats, error) {
	var stats dest.WriteStats
	have := w.tgt.def
	var last *state.TableState
	for n := 1; ; n++ {
		var b dest.Batch
		var ok bool
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case b, ok = <-batches:
		}
		if !ok {
			break
		}
		if b.State != nil {
			last = b.State
		}
		if b.Record == nil {
			continue
		}
		err := dest.CheckRecord(t, b.Record)
		if err == nil && b.Record.NumRows() > 0 {
			if err = d.noteWritten(ctx, dest.RecordBytes(b.Record)); err == nil {
				err = views.appendPending(ctx, conn, w, b.Record)
			}
		}
		b.Record.Release()
		if err != nil {
			return stats, fmt.Errorf("batch %d: %w", n, err)
		}
	}
	d.beginMerge(merging)
	qualified := w.tgt.qualified
	oldN, err := countRows(ctx, conn, qualified)
	if err != nil {
		return stats, err
	}
	stage := d.TableName(ns, t.Name+"__jsync_stage")
	w.tgt.qualified = stage
	stmts := append(d.createStatements(have, stage), keyStatement(have, d.SchemaName(ns), t.Name))
	if err := execAll(ctx, conn, stmts...); err != nil {
		return stats, err
	}
	if _, err := d.mergeIn(ctx, conn, w); err != nil {
		return stats, err
	}
	if _, err := conn.ExecContext(ctx, "DROP TABLE "+w.qualified); err != nil {
		return stats, fmt.Errorf("drop pending table: %w", err)
	}
	newN, err := countRows(ctx, conn, stage)
	if err != nil {
		return stats, err
	}
	var kept int64
	if len(have.pk) > 0 {
		q := "SELECT count(*) FROM " + stage + " JOIN " + qualified + " USING (" + quoteList(have.pk) + ")"
		if err := conn.QueryRowContext(ctx, q).Scan(&kept); err != nil {
			return stats, fmt.Errorf("compare staged rows: %w", err)
		}
	}
	stats = dest.WriteStats{Inserted: newN - kept, Updated: kept, Deleted: oldN - kept}
	if err := execAll(ctx, conn,
		"DROP TABLE "+qualified,
		"ALTER TABLE "+stage+" RENAME TO "+quoteIdent(t.Name)); err != nil {
		return stats, err
	}
	return stats, writeStates(ctx, conn, last)
}

// MarkDeleted sets ColDeletedAt on the rows keys selects (by primary key,
// or by whatever columns keys carries; see dest.MatchColumns) that are not
// marked yet (the first deletion time is kept), and commits st with it.
// keys stays owned by the caller.
func (d *Destination) MarkDeleted(ctx context.Context, ns dest.Namespace, t *schema.Table, keys arrow.RecordBatch, m dest.Mark, st *state.TableState) (n int64, err error) {
	if err := d.checkWritable(ns, t); err != nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
	}
	if t.Column(schema.ColDeletedAt) == nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: table has no %s column", ns, t.Name, schema.ColDeletedAt)
	}
	stale := ""
	if !m.SyncedBefore.IsZero() {
		if t.Column(schema.ColSyncedAt) == nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: table has no %s column", ns, t.Name, schema.ColSyncedAt)
		}
		stale = " AND d." + quoteIdent(schema.ColSyncedAt) + " < " + timestampLiteral(m.SyncedBefore)
	}
	var match []string
	if keys != nil {
		if match, _, err = dest.MatchColumns(t, keys); err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: get connection: %w", ns, t.Name, err)
	}
	defer func() { err = joinCleanup(err, conn.Close()) }()
	var views viewSet
	defer func() { views.release(ctx, conn) }()
	err = d.txOn(ctx, conn, t.Name, func() error {
		if keys != nil && keys.NumRows() > 0 {
			view, err := views.register(conn, keys)
			if err != nil {
				return err
			}
			// Equality never holds for NULL: a NULL in keys matches nothing.
			conds := make([]string, len(match))
			for i, k := range match {
				conds[i] = "d." + quoteIdent(k) + " = k." + quoteIdent(k)
			}
			del := quoteIdent(schema.ColDeletedAt)
			res, err := conn.ExecContext(ctx, "UPDATE "+d.TableName(ns, t.Name)+" AS d SET "+del+" = "+timestampLiteral(m.At)+
				" FROM (SELECT DISTINCT "+quoteList(match)+" FROM "+quoteIdent(view)+") AS k WHERE "+strings.Join(conds, " AND ")+
				" AND d."+del+" IS NULL"+stale)
			if err != nil {
				return fmt.Errorf("mark rows: %w", err)
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			if err := views.drop(ctx, conn, view); err != nil {
				return err
			}
		}
		return writeStates(ctx, conn, st)
	})
	if err != nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
	}
	return n, nil
}

func countRows(ctx context.Context, conn *sql.Conn, qualified string) (int64, error) {
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", qualified, err)
	}
	return n, nil
}

// viewSet tracks the Arrow views registered on one connection in one
// transaction. A view's stream (and with it the record) is released as soon
// as the view is dropped; every view is dropped once more after the
// transaction, since a rollback brings dropped views back.
type viewSet struct {
	names    []string
	releases []func()
}

// register exposes rec to SQL as a temporary view through DuckDB's Arrow
// scan. The view reads rec once. Each registration costs C memory that
// DuckDB never frees (see feed): it serves what the Write's feed cannot
// carry, such as batches that lack columns and MarkDeleted's keys.
func (v *viewSet) register(conn *sql.Conn, rec arrow.RecordBatch) (string, error) {
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return "", fmt.Errorf("register arrow view: %w", err)
	}
	defer rdr.Release()
	name, release, err := registerView(conn, "_jsync_arrow_", rdr)
	if err != nil {
		return "", err
	}
	v.names = append(v.names, name)
	v.releases = append(v.releases, release)
	return name, nil
}

// columnList is s's field names, quoted and comma-separated.
func columnList(s *arrow.Schema) string {
	cols := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		cols[i] = quoteIdent(f.Name)
	}
	return strings.Join(cols, ", ")
}

// registerView exposes rdr's stream to SQL as a temporary view on conn,
// named prefix and a number unique in the process. release frees the
// stream; call it only once the view is dropped.
func registerView(conn *sql.Conn, prefix string, rdr array.RecordReader) (name string, release func(), err error) {
	name = prefix + strconv.FormatUint(viewSeq.Add(1), 10)
	err = conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		ar, err := duckdbdrv.NewArrowFromConn(dconn)
		if err != nil {
			return err
		}
		release, err = ar.RegisterView(rdr, name)
		return err
	})
	if err != nil {
		return "", nil, fmt.Errorf("register arrow view: %w", err)
	}
	return name, release, nil
}

// drop drops a view inside the current transaction and releases its
// stream. Should the transaction roll back, the view comes back, unusable;
// release drops it again.
func (v *viewSet) drop(ctx context.Context, conn *sql.Conn, name string) error {
	if _, err := conn.ExecContext(ctx, "DROP VIEW IF EXISTS "+quoteIdent(name)); err != nil {
		return fmt.Errorf("drop arrow view: %w", err)
	}
	for i, n := range v.names {
		if n == name && v.releases[i] != nil {
			v.releases[i]()
			v.releases[i] = nil
		}
	}
	return nil
}

// release runs after the transaction: it drops every view still visible
// (after a rollback) and releases the Arrow streams not released yet. If a
// view cannot be dropped, its stream is kept alive rather than left
// dangling, and the connection is discarded.
func (v *viewSet) release(ctx context.Context, conn *sql.Conn) {
	ctx = context.WithoutCancel(ctx)
	for i, name := range v.names {
		if _, err := conn.ExecContext(ctx, "DROP VIEW IF EXISTS "+quoteIdent(name)); err != nil {
			discard(conn)
			continue
		}
		if v.releases[i] != nil {
			v.releases[i]()
		}
	}
	v.names, v.releases = nil, nil
}

// target is a table being written: its quoted name and its definition in
// the catalog.
type target struct {
	name      string // unquoted
	qualified string
	def       *tableDef
}

// upsertPartial merges rec, which lacks some of the table's columns, into
// tgt by key: stored rows get rec's columns updated and keep the others,
// rows with new keys are inserted. Rows whose key repeats within rec are
// merged by successive statements, so the last occurrence wins. It returns
// the counts.
func (v *viewSet) upsertPartial(ctx context.Context, conn *sql.Conn, tgt target, rec arrow.RecordBatch) (dest.WriteStats, error) {
	partialUpserts.Add(1)
	var stats dest.WriteStats
	pk := tgt.def.pk
	chunks := splitDuplicateKeys(rec, pk)
	defer func() {
		for _, c := range chunks {
			c.Release()
		}
	}()
	cols := make([]string, rec.NumCols())
	var set []string
	for i, f := range rec.Schema().Fields() {
		cols[i] = quoteIdent(f.Name)
		if !tgt.def.isPK(f.Name) {
			set = append(set, cols[i]+" = k."+cols[i])
		}
	}
	colList := strings.Join(cols, ", ")
	conds := make([]string, len(pk))
	for i, k := range pk {
		conds[i] = "d." + quoteIdent(k) + " = k." + quoteIdent(k)
	}
	for _, chunk := range chunks {
		var updated int64
		if len(pk) > 0 && len(set) > 0 {
			// A view is scanned once: the update gets a view of its own.
			keys, err := v.register(conn, chunk)
			if err != nil {
				return stats, err
			}
			res, err := conn.ExecContext(ctx, "UPDATE "+tgt.qualified+" AS d SET "+strings.Join(set, ", ")+
				" FROM "+quoteIdent(keys)+" AS k WHERE "+strings.Join(conds, " AND "))
			if err != nil {
				return stats, fmt.Errorf("upsert into %s: update: %w", tgt.qualified, err)
			}
			if updated, err = res.RowsAffected(); err != nil {
				return stats, err
			}
			if err := v.drop(ctx, conn, keys); err != nil {
				return stats, err
			}
		}
		rows, err := v.register(conn, chunk)
		if err != nil {
			return stats, err
		}
		insert := "INSERT INTO " + tgt.qualified + " (" + colList + ") SELECT " + colList + " FROM " + quoteIdent(rows) + " AS k"
		if len(pk) > 0 {
			insert += " WHERE NOT EXISTS (SELECT 1 FROM " + tgt.qualified + " AS d WHERE " + strings.Join(conds, " AND ") + ")"
		}
		res, err := conn.ExecContext(ctx, insert)
		if err != nil {
			return stats, fmt.Errorf("upsert into %s: insert: %w", tgt.qualified, err)
		}
		inserted, err := res.RowsAffected()
		if err != nil {
			return stats, err
		}
		if err := v.drop(ctx, conn, rows); err != nil {
			return stats, err
		}
		if len(set) == 0 {
			updated = chunk.NumRows() - inserted // every column is a key column: nothing to update
		}
		stats = stats.Add(dest.WriteStats{Inserted: inserted, Updated: updated})
	}
	return stats, nil
}

// partialUpserts counts the calls of upsertPartial, the slow path, for
// the tests: a record that lacks only extra columns must not take it.
var partialUpserts atomic.Int64

// splitDuplicateKeys cuts rec into consecutive slices in none of which a
// primary key repeats. Usually that is rec itself (retained). The caller
// releases every slice.
func splitDuplicateKeys(rec arrow.RecordBatch, pk []string) []arrow.RecordBatch {
	if len(pk) == 0 || rec.NumRows() < 2 {
		rec.Retain()
		return []arrow.RecordBatch{rec}
	}
	keyCols := make([]arrow.Array, len(pk))
	for i, k := range pk {
		keyCols[i] = rec.Column(rec.Schema().FieldIndices(k)[0])
	}
	var chunks []arrow.RecordBatch
	seen := make(map[string]struct{}, rec.NumRows())
	var start int64
	var key strings.Builder
	for row := 0; row < int(rec.NumRows()); row++ {
		key.Reset()
		for _, c := range keyCols {
			s := c.ValueStr(row)
			key.WriteString(strconv.Itoa(len(s)))
			key.WriteByte(':')
			key.WriteString(s)
		}
		k := key.String()
		if _, dup := seen[k]; dup {
			chunks = append(chunks, rec.NewSlice(start, int64(row)))
			start = int64(row)
			clear(seen)
		}
		seen[k] = struct{}{}
	}
	if start == 0 {
		rec.Retain()
		return []arrow.RecordBatch{rec}
	}
	return append(chunks, rec.NewSlice(start, rec.NumRows()))
}

// beginMerge takes the destination's merge turn, once per held flag.
// Moving a group from a pending table into a table pins a block of every
// column of both tables at once (about 1.5 MB per column), a settle's
// delete pins the table's, and the commit pins the table's columns again:
// several wide tables doing so at the same moment exhaust DuckDB's
// memory_limit even though each one alone fits. Appends still run in
// parallel; only the settles, merges and commits take turns. The turn is never held while waiting
// for batches, so it cannot deadlock with the source.
func (d *Destination) beginMerge(held *bool) {
	if !*held {
		d.mergeMu.Lock()
		*held = true
	}
}

// endMerge gives the turn back if held.
func (d *Destination) endMerge(held *bool) {
	if *held {
		*held = false
		d.mergeMu.Unlock()
	}
}
