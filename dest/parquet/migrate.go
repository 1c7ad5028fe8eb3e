package parquet

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// PlanMigrations compares the tables with the manifest. It changes nothing.
func (d *Destination) PlanMigrations(ctx context.Context, ns dest.Namespace, tables []*schema.Table) ([]schema.TableChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var changes []schema.TableChange
	for _, t := range tables {
		e := d.table(ns, t.Name)
		if e == nil {
			changes = append(changes, schema.TableChange{Kind: schema.CreateTable, Table: t})
			continue
		}
		for i := range t.Columns {
			c := &t.Columns[i]
			idx := e.schema.FieldIndices(c.Name)
			if len(idx) == 0 {
				changes = append(changes, schema.TableChange{Kind: schema.AddColumn, Table: t, Column: c, NewType: c.Type.String()})
				continue
			}
			old := e.schema.Field(idx[0]).Type
			switch {
			case arrow.TypeEqual(old, c.Type):
			case widens(old, c.Type):
				changes = append(changes, schema.TableChange{Kind: schema.WidenColumn, Table: t, Column: c, OldType: old.String(), NewType: c.Type.String()})
			default:
				changes = append(changes, schema.TableChange{Kind: schema.IncompatibleColumn, Table: t, Column: c, OldType: old.String(), NewType: c.Type.String()})
			}
		}
		for _, f := range e.schema.Fields() {
			if t.Column(f.Name) == nil {
				col := schema.Column{Name: f.Name, Type: f.Type}
				changes = append(changes, schema.TableChange{Kind: schema.ExtraColumn, Table: t, Column: &col, OldType: f.Type.String()})
			}
		}
	}
	return changes, nil
}

// widens reports whether every value of from converts losslessly to to.
func widens(from, to arrow.DataType) bool {
	rank := func(t arrow.DataType) (family, size int) {
		switch t.ID() {
		case arrow.INT8:
			return 1, 1
		case arrow.INT16:
			return 1, 2
		case arrow.INT32:
			return 1, 4
		case arrow.INT64:
			return 1, 8
		case arrow.UINT8:
			return 2, 1
		case arrow.UINT16:
			return 2, 2
		case arrow.UINT32:
			return 2, 4
		case arrow.UINT64:
			return 2, 8
		case arrow.FLOAT32:
			return 3, 4
		case arrow.FLOAT64:
			return 3, 8
		case arrow.STRING:
			return 4, 1
		case arrow.LARGE_STRING:
			return 4, 2
		case arrow.BINARY:
			return 5, 1
		case arrow.LARGE_BINARY:
			return 5, 2
		}
		return 0, 0
	}
	ff, fs := rank(from)
	tf, ts := rank(to)
	switch {
	case ff != 0 && ff == tf:
		return fs < ts
	case ff == 2 && tf == 1: // unsigned into a larger signed integer
		return fs < ts
	case (ff == 1 || ff == 2) && tf == 3: // small integers into float64
		return fs <= 4 && ts == 8
	}
	return false
}

// Migrate applies the changes. New tables are created; added columns,
// widened and (with AllowIncompatible) changed types are applied by
// rewriting every file of the table to the new schema, so that a plain
// read_parquet over the table's glob sees one schema (DuckDB takes the
// schema of the first file and silently drops columns other files add).
// Extra columns are kept. All tables commit in one manifest swap.
func (d *Destination) Migrate(ctx context.Context, ns dest.Namespace, changes []schema.TableChange, opts dest.MigrateOptions) (err error) {
	byTable := map[string][]schema.TableChange{}
	var names []string
	for _, c := range changes {
		if c.Table == nil {
			return fmt.Errorf("migrate %s: change %q has no table", ns, c)
		}
		if c.Kind == schema.IncompatibleColumn && !opts.AllowIncompatible {
			return fmt.Errorf("migrate %s: %s", ns, c)
		}
		if _, ok := byTable[c.Table.Name]; !ok {
			names = append(names, c.Table.Name)
		}
		byTable[c.Table.Name] = append(byTable[c.Table.Name], c)
	}
	sort.Strings(names)
	for _, name := range names {
		defer d.tableLock(tableKey(ns, name))()
	}
	req := commitReq{}
	defer d.discard(&req)
	for _, name := range names {
		cs := byTable[name]
		e := d.table(ns, name)
		if e == nil {
			var t *schema.Table
			for _, c := range cs {
				if c.Kind == schema.CreateTable {
					t = c.Table
				}
			}
			if t == nil {
				t = cs[0].Table
			}
			if e, err = d.newEntry(ns, t); err != nil {
				return fmt.Errorf("migrate %s.%s: %w", ns, name, err)
			}
			if err := d.placeholder(e, &req); err != nil {
				return err
			}
			req.tables = append(req.tables, e)
			continue
		}
		next, err := d.migrateEntry(ctx, e, cs, &req)
		if err != nil {
			return fmt.Errorf("migrate %s.%s: %w", ns, name, err)
		}
		if next != nil {
			req.tables = append(req.tables, next)
		}
	}
	if len(req.tables) == 0 {
		return nil
	}
	if err := d.commit(ctx, &req); err != nil {
		return fmt.Errorf("migrate %s: %w", ns, err)
	}
	return nil
}

// migrateEntry returns the entry with the new schema and every file
// rewritten to it, or nil when nothing changes.
func (d *Destination) migrateEntry(ctx context.Context, e *tableEntry, cs []schema.TableChange, req *commitReq) (*tableEntry, error) {
	fields := e.schema.Fields()
	changed := false
	for _, c := range cs {
		if c.Column == nil {
			continue
		}
		want := c.Table.ArrowSchema()
		wi := want.FieldIndices(c.Column.Name)
		if len(wi) == 0 {
			continue
		}
		nf := want.Field(wi[0])
		idx := e.schema.FieldIndices(c.Column.Name)
		switch c.Kind {
		case schema.AddColumn:
			if len(idx) > 0 {
				continue // already added
			}
			nf.Nullable = true // existing rows read NULL
			fields = append(fields, nf)
			changed = true
		case schema.WidenColumn, schema.IncompatibleColumn:
			if len(idx) == 0 || arrow.TypeEqual(fields[idx[0]].Type, nf.Type) {
				continue
			}
			nf.Nullable = fields[idx[0]].Nullable || c.Kind == schema.IncompatibleColumn
			fields[idx[0]] = nf
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	next := e.clone()
	if err := next.setSchema(arrow.NewSchema(fields, nil)); err != nil {
		return nil, err
	}
	lossy := false
	for _, c := range cs {
		lossy = lossy || c.Kind == schema.IncompatibleColumn
	}
	for i, f := range e.Files {
		w, err := d.newSlotWriter(next, slotOf(f), f.Seq)
		if err != nil {
			return nil, err
		}
		if f.Rows > 0 {
			err = d.readFileAs(ctx, next, f, lossy, w.write)
		}
		if err != nil {
			w.abort()
			return nil, fmt.Errorf("rewrite %s: %w", f.Path, err)
		}
		fe, rn, err := w.finish()
		if err != nil {
			return nil, err
		}
		next.Files[i] = fe
		req.renames = append(req.renames, rn)
	}
	return next, nil
}
