//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// Write upserts each batch by primary key in its own transaction, together
// with the batch's state. It releases every record it receives. On error it
// returns at once without draining batches; batches committed before the
// failing one stay committed.
func (d *Destination) Write(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (_ dest.WriteStats, err error) {
	var stats dest.WriteStats
	if err := d.checkWritable(ns, t); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("write %s.%s: get connection: %w", ns, t.Name, err)
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	have, err := readTableDef(ctx, conn, d.SchemaName(ns), t.Name)
	if err == nil && have == nil {
		err = errors.New("table does not exist (migrate first)")
	}
	if err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	tgt := target{qualified: d.TableName(ns, t.Name), def: have}
	for n := 1; ; n++ {
		var b dest.Batch
		var ok bool
		select {
		case <-ctx.Done():
			return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, ctx.Err())
		case b, ok = <-batches:
		}
		if !ok {
			return stats, nil
		}
		s, err := d.writeBatch(ctx, conn, tgt, t, b)
		if err != nil {
			return stats, fmt.Errorf("write %s.%s batch %d: %w", ns, t.Name, n, err)
		}
		stats.Inserted += s.Inserted
		stats.Updated += s.Updated
	}
}

func (d *Destination) checkWritable(ns dest.Namespace, t *schema.Table) error {
	if d.readOnly {
		return errors.New("destination is open read-only")
	}
	return checkTable(ns, t)
}

// writeBatch commits one batch: its rows and its state in one transaction.
func (d *Destination) writeBatch(ctx context.Context, conn *sql.Conn, tgt target, t *schema.Table, b dest.Batch) (dest.WriteStats, error) {
	var stats dest.WriteStats
	if b.Record != nil {
		defer b.Record.Release()
		if err := dest.CheckRecord(t, b.Record); err != nil {
			return stats, err
		}
	}
	var views viewSet
	defer func() { views.release(ctx, conn) }()
	err := d.txOn(ctx, conn, t.Name, func() error {
		if b.Record != nil && b.Record.NumRows() > 0 {
			updated, err := views.upsert(ctx, conn, tgt, t, b.Record)
			if err != nil {
				return err
			}
			stats.Updated = updated
			stats.Inserted = b.Record.NumRows() - updated
		}
		return writeStates(ctx, conn, b.State)
	})
	if err != nil {
		return dest.WriteStats{}, err
	}
	return stats, nil
}

// Replace writes the batches into a staging table and, in the same
// transaction, drops the old table, renames the staging table into its place
// and commits the last batch's state. The staging table copies the existing
// table's columns (including extra ones), types, comments and primary key.
// Deleted counts rows whose key is gone, Updated rows whose key survived.
func (d *Destination) Replace(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (_ dest.WriteStats, err error) {
	var stats dest.WriteStats
	if err := d.checkWritable(ns, t); err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("replace %s.%s: get connection: %w", ns, t.Name, err)
	}
	defer func() { err = errors.Join(err, conn.Close()) }()
	var views viewSet
	defer func() { views.release(ctx, conn) }()
	err = d.txOn(ctx, conn, t.Name, func() error {
		s, err := d.replaceIn(ctx, conn, ns, t, batches, &views)
		stats = s
		return err
	})
	if err != nil {
		return dest.WriteStats{}, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	return stats, nil
}

func (d *Destination) replaceIn(ctx context.Context, conn *sql.Conn, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch, views *viewSet) (dest.WriteStats, error) {
	var stats dest.WriteStats
	qualified := d.TableName(ns, t.Name)
	have, err := readTableDef(ctx, conn, d.SchemaName(ns), t.Name)
	if err != nil {
		return stats, err
	}
	if have == nil {
		return stats, errors.New("table does not exist (migrate first)")
	}
	stageName := t.Name + "__jsync_stage"
	stage := d.TableName(ns, stageName)
	if err := execAll(ctx, conn, createStatements(have, stage)...); err != nil {
		return stats, err
	}
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
		if err == nil {
			_, err = views.upsert(ctx, conn, target{qualified: stage, def: have}, t, b.Record)
		}
		b.Record.Release()
		if err != nil {
			return stats, fmt.Errorf("batch %d: %w", n, err)
		}
	}
	oldN, err := countRows(ctx, conn, qualified)
	if err != nil {
		return stats, err
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
	defer func() { err = errors.Join(err, conn.Close()) }()
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
// scan. The view reads rec once.
func (v *viewSet) register(conn *sql.Conn, rec arrow.RecordBatch) (string, error) {
	name := "_jsync_arrow_" + strconv.FormatUint(viewSeq.Add(1), 10)
	err := conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		ar, err := duckdbdrv.NewArrowFromConn(dconn)
		if err != nil {
			return err
		}
		rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
		if err != nil {
			return err
		}
		defer rdr.Release()
		release, err := ar.RegisterView(rdr, name)
		if err != nil {
			return err
		}
		v.names = append(v.names, name)
		v.releases = append(v.releases, release)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("register arrow view: %w", err)
	}
	return name, nil
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
	qualified string
	def       *tableDef
}

// upsert merges rec into tgt by primary key and returns how many rows
// replaced an existing one. Rows whose key repeats within rec are written by
// successive statements, so the last occurrence wins.
//
// When rec carries every column of the table, existing rows are deleted and
// all rows inserted, in the caller's transaction: in DuckDB 1.5 this is
// several times faster than ON CONFLICT DO UPDATE on wide tables with
// strings and lists (see BenchmarkWriteIssues). Otherwise ON CONFLICT DO
// UPDATE keeps the columns rec lacks.
func (v *viewSet) upsert(ctx context.Context, conn *sql.Conn, tgt target, t *schema.Table, rec arrow.RecordBatch) (int64, error) {
	pk := t.PrimaryKey()
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
		if !t.Column(f.Name).PrimaryKey {
			set = append(set, cols[i]+" = excluded."+cols[i])
		}
	}
	colList := strings.Join(cols, ", ")
	whole := len(pk) > 0
	for _, c := range tgt.def.cols {
		if len(rec.Schema().FieldIndices(c.name)) == 0 {
			whole = false
		}
	}
	var updated int64
	for _, chunk := range chunks {
		n, err := v.upsertChunk(ctx, conn, tgt.qualified, pk, chunk, colList, set, whole)
		if err != nil {
			return 0, fmt.Errorf("upsert into %s: %w", tgt.qualified, err)
		}
		updated += n
	}
	return updated, nil
}

func (v *viewSet) upsertChunk(ctx context.Context, conn *sql.Conn, qualified string, pk []string, chunk arrow.RecordBatch, colList string, set []string, whole bool) (int64, error) {
	rows, err := v.register(conn, chunk)
	if err != nil {
		return 0, err
	}
	insert := "INSERT INTO " + qualified + " (" + colList + ") SELECT " + colList + " FROM " + quoteIdent(rows)
	if whole {
		// A view is scanned once: the keys get a view of their own.
		keys, err := v.register(conn, chunk)
		if err != nil {
			return 0, err
		}
		conds := make([]string, len(pk))
		for i, k := range pk {
			conds[i] = qualified + "." + quoteIdent(k) + " = k." + quoteIdent(k)
		}
		res, err := conn.ExecContext(ctx, "DELETE FROM "+qualified+" USING "+quoteIdent(keys)+" AS k WHERE "+strings.Join(conds, " AND "))
		if err != nil {
			return 0, fmt.Errorf("delete old versions: %w", err)
		}
		if err := v.drop(ctx, conn, keys); err != nil {
			return 0, err
		}
		replaced, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		if _, err := conn.ExecContext(ctx, insert); err != nil {
			return 0, fmt.Errorf("insert: %w", err)
		}
		return replaced, v.drop(ctx, conn, rows)
	}
	before, err := countRows(ctx, conn, qualified)
	if err != nil {
		return 0, err
	}
	switch {
	case len(pk) == 0:
	case len(set) == 0:
		insert += " ON CONFLICT (" + quoteList(pk) + ") DO NOTHING"
	default:
		insert += " ON CONFLICT (" + quoteList(pk) + ") DO UPDATE SET " + strings.Join(set, ", ")
	}
	if _, err := conn.ExecContext(ctx, insert); err != nil {
		return 0, err
	}
	if err := v.drop(ctx, conn, rows); err != nil {
		return 0, err
	}
	after, err := countRows(ctx, conn, qualified)
	if err != nil {
		return 0, err
	}
	return chunk.NumRows() - (after - before), nil
}

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
