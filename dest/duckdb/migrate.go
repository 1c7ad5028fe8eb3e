//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// PlanMigrations compares tables with the database and reports what Migrate
// would change. Types are compared in DuckDB's canonical spelling.
func (d *Destination) PlanMigrations(ctx context.Context, ns dest.Namespace, tables []*schema.Table) ([]schema.TableChange, error) {
	// One read of the catalog and one type resolution for every table.
	var types []string
	wants := make([]*tableDef, len(tables))
	for i, t := range tables {
		if err := checkTable(ns, t); err != nil {
			return nil, fmt.Errorf("plan migrations: %w", err)
		}
		want, err := defFromTable(t)
		if err != nil {
			return nil, fmt.Errorf("plan migrations of %s.%s: %w", ns, t.Name, err)
		}
		for _, c := range want.cols {
			types = append(types, c.typ)
		}
		wants[i] = want
	}
	canon, err := canonicalTypes(ctx, d.db, types)
	if err != nil {
		return nil, fmt.Errorf("plan migrations: %w", err)
	}
	defs, err := readTableDefs(ctx, d.db, d.SchemaName(ns), "")
	if err != nil {
		return nil, fmt.Errorf("plan migrations: %w", err)
	}
	var changes []schema.TableChange
	for i, t := range tables {
		n := len(wants[i].cols)
		c, err := planTable(t, wants[i], canon[:n], defs[t.Name])
		if err != nil {
			return nil, fmt.Errorf("plan migrations of %s.%s: %w", ns, t.Name, err)
		}
		canon = canon[n:]
		changes = append(changes, c...)
	}
	return changes, nil
}

// planTable compares t, defined as want with its columns' types canon in
// DuckDB's spelling, with have, the table in the database (nil if it is
// missing).
func planTable(t *schema.Table, want *tableDef, canon []string, have *tableDef) ([]schema.TableChange, error) {
	if have == nil {
		return []schema.TableChange{{Kind: schema.CreateTable, Table: t}}, nil
	}
	if !slices.Equal(have.pk, want.pk) {
		return nil, fmt.Errorf("primary key (%s) in the database differs from (%s); changing a primary key is not supported, drop the table to resync it",
			strings.Join(have.pk, ", "), strings.Join(want.pk, ", "))
	}
	var changes []schema.TableChange
	for i := range t.Columns {
		c := &t.Columns[i]
		hc := have.col(c.Name)
		switch {
		case hc == nil:
			changes = append(changes, schema.TableChange{Kind: schema.AddColumn, Table: t, Column: c, NewType: canon[i]})
		case hc.typ == canon[i]:
		case widens(hc.typ, canon[i]):
			changes = append(changes, schema.TableChange{Kind: schema.WidenColumn, Table: t, Column: c, OldType: hc.typ, NewType: canon[i]})
		default:
			changes = append(changes, schema.TableChange{Kind: schema.IncompatibleColumn, Table: t, Column: c, OldType: hc.typ, NewType: canon[i]})
		}
	}
	for _, hc := range have.cols {
		if t.Column(hc.name) == nil {
			changes = append(changes, schema.TableChange{Kind: schema.ExtraColumn, Table: t, Column: &schema.Column{Name: hc.name}, OldType: hc.typ})
		}
	}
	return changes, nil
}

// Migrate applies changes in one transaction: all of them or none. An
// IncompatibleColumn change fails unless opts.AllowIncompatible; with it,
// values are converted with TRY_CAST and those that do not convert become
// NULL. ExtraColumn changes keep the column. SQL is derived from the changes'
// tables and columns, never from their type strings.
func (d *Destination) Migrate(ctx context.Context, ns dest.Namespace, changes []schema.TableChange, opts dest.MigrateOptions) error {
	if d.readOnly {
		return errors.New("migrate: destination is open read-only")
	}
	if !opts.AllowIncompatible {
		var refused []string
		for _, c := range changes {
			if c.Kind == schema.IncompatibleColumn {
				refused = append(refused, c.String())
			}
		}
		if len(refused) > 0 {
			return fmt.Errorf("migrate %s: refusing incompatible changes without -allow-incompatible:\n  %s", ns, strings.Join(refused, "\n  "))
		}
	}
	d.migrateMu.Lock()
	defer d.migrateMu.Unlock()
	err := d.withTx(ctx, "", func(conn *sql.Conn) error {
		for _, c := range changes {
			if c.Table == nil || (c.Kind != schema.CreateTable && c.Column == nil) {
				return fmt.Errorf("malformed change %v", c.Kind)
			}
			if err := checkTable(ns, c.Table); err != nil {
				return err
			}
			if err := d.forget(ctx, conn, ns, c.Table.Name); err != nil {
				return err
			}
			if err := d.applyChange(ctx, conn, ns, c); err != nil {
				return fmt.Errorf("%s: %w", c, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", ns, err)
	}
	return nil
}

func (d *Destination) applyChange(ctx context.Context, conn *sql.Conn, ns dest.Namespace, c schema.TableChange) error {
	qualified := d.TableName(ns, c.Table.Name)
	switch c.Kind {
	case schema.CreateTable:
		def, err := defFromTable(c.Table)
		if err != nil {
			return err
		}
		// Another sync of the namespace may have created the table since
		// the plan (they share _jsync_rejects).
		have, err := readTableDef(ctx, conn, d.SchemaName(ns), c.Table.Name)
		if err != nil {
			return err
		}
		if have != nil {
			if !sameColumns(have, def) {
				return fmt.Errorf("table %s was created meanwhile with other columns (by another sync?); run jsync plan again", qualified)
			}
			return nil
		}
		stmts := append([]string{"CREATE SCHEMA IF NOT EXISTS " + d.qualifiedSchema(ns)}, d.createStatements(def, qualified)...)
		return execAll(ctx, conn, append(stmts, keyStatement(def, d.SchemaName(ns), c.Table.Name))...)
	case schema.AddColumn:
		typ, err := columnType(c.Column)
		if err != nil {
			return err
		}
		// Added columns are nullable: existing rows have no value for them.
		stmts := []string{"ALTER TABLE " + qualified + " ADD COLUMN " + quoteIdent(c.Column.Name) + " " + d.columnType(typ)}
		if c.Column.Description != "" {
			stmts = append(stmts, commentColumn(qualified, c.Column.Name, c.Column.Description))
		}
		return execAll(ctx, conn, stmts...)
	case schema.WidenColumn, schema.IncompatibleColumn:
		typ, err := columnType(c.Column)
		if err != nil {
			return err
		}
		have, err := readTableDef(ctx, conn, d.SchemaName(ns), c.Table.Name)
		if err != nil {
			return err
		}
		if have == nil || have.col(c.Column.Name) == nil {
			return fmt.Errorf("column %s.%s does not exist (stale plan?)", c.Table.Name, c.Column.Name)
		}
		conv := "CAST"
		if c.Kind == schema.IncompatibleColumn {
			conv = "TRY_CAST"
		}
		if have.isPK(c.Column.Name) {
			// DuckDB cannot alter a key column in place: rebuild the table.
			return d.rebuild(ctx, conn, ns, c.Table.Name, have, c.Column.Name, typ, conv)
		}
		col := quoteIdent(c.Column.Name)
		return execAll(ctx, conn, "ALTER TABLE "+qualified+" ALTER COLUMN "+col+" TYPE "+typ+" USING "+conv+"("+col+" AS "+typ+")")
	case schema.ExtraColumn:
		return nil // columns are never dropped
	}
	return fmt.Errorf("unknown change kind %d", c.Kind)
}

// rebuild recreates a table with column col converted to typ, keeping every
// other column, comment and the primary key.
func (d *Destination) rebuild(ctx context.Context, conn *sql.Conn, ns dest.Namespace, table string, have *tableDef, col, typ, conv string) error {
	qualified := d.TableName(ns, table)
	tmpName := table + "__jsync_rebuild"
	tmp := d.TableName(ns, tmpName)
	def := *have
	def.cols = slices.Clone(have.cols)
	exprs := make([]string, len(def.cols))
	for i := range def.cols {
		exprs[i] = quoteIdent(def.cols[i].name)
		if def.cols[i].name == col {
			def.cols[i].typ = typ
			exprs[i] = conv + "(" + quoteIdent(col) + " AS " + typ + ")"
		}
	}
	stmts := d.createStatements(&def, tmp)
	stmts = append(stmts, keyStatement(&def, d.SchemaName(ns), table),
		"INSERT INTO "+tmp+" SELECT "+strings.Join(exprs, ", ")+" FROM "+qualified,
		"DROP TABLE "+qualified,
		"ALTER TABLE "+tmp+" RENAME TO "+quoteIdent(table))
	return execAll(ctx, conn, stmts...)
}

// sameColumns reports whether a and b have the same column names, in order,
// and the same key.
func sameColumns(a, b *tableDef) bool {
	if !slices.Equal(a.pk, b.pk) || len(a.cols) != len(b.cols) {
		return false
	}
	for i := range a.cols {
		if a.cols[i].name != b.cols[i].name {
			return false
		}
	}
	return true
}
