// Package schema describes the tables jsync syncs: their columns as Arrow
// types, primary keys, replication method and parent relations. It is a leaf
// package: it imports only the standard library and Arrow.
package schema

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Replication says how a table is kept up to date.
type Replication int

const (
	// FullTable tables are fetched whole on every run and replaced atomically,
	// so rows that disappeared upstream disappear from the destination.
	FullTable Replication = iota
	// Incremental tables are fetched from a cursor on and upserted by
	// primary key.
	Incremental
)

func (r Replication) String() string {
	switch r {
	case FullTable:
		return "FULL_TABLE"
	case Incremental:
		return "INCREMENTAL"
	}
	return fmt.Sprintf("Replication(%d)", int(r))
}

// Meta columns added to every table by the engine.
const (
	ColSource   = "_jsync_source"
	ColSyncedAt = "_jsync_synced_at"
	// ColDeletedAt is set when a row was deleted upstream. Tables that can
	// observe deletes (Table.TracksDeletes) carry it.
	ColDeletedAt = "_jsync_deleted_at"
)

// Column is one typed column.
type Column struct {
	Name        string
	Type        arrow.DataType
	PrimaryKey  bool
	NotNull     bool
	Description string
	// FieldID is set for columns that come from a Jira custom field
	// (customfield_NNNNN). Destinations pin the column name by field id, so a
	// renamed field keeps its column.
	FieldID string
	// JSON marks string columns that hold JSON documents. Destinations may
	// store them as a JSON type.
	JSON bool
	// Kept marks a column that a column selection always keeps, as it does
	// the primary key: the source marks rows deleted by it (a child table's
	// parent id).
	Kept bool
}

// Table is a table's definition.
type Table struct {
	Name        string
	Description string
	Columns     []Column
	Replication Replication
	// Parent names the table whose fetch produces this table's rows (for
	// example issue_comments → issues). Empty for top-level tables.
	Parent string
	// DependsOn names tables whose data this table's fetch needs (for example
	// versions → projects). Parent is implied.
	DependsOn []string
	// TracksDeletes is true when the table carries ColDeletedAt.
	TracksDeletes bool
}

// Column returns the named column, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// PrimaryKey returns the primary-key column names in declaration order.
func (t *Table) PrimaryKey() []string {
	var pk []string
	for _, c := range t.Columns {
		if c.PrimaryKey {
			pk = append(pk, c.Name)
		}
	}
	return pk
}

// ColumnNames returns every column name in order.
func (t *Table) ColumnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// ArrowSchema returns the Arrow schema of the table. Primary-key and NotNull
// columns are non-nullable. Column descriptions travel as field metadata
// under "description", custom-field ids under "jira_field_id".
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		var keys, vals []string
		if c.Description != "" {
			keys, vals = append(keys, "description"), append(vals, c.Description)
		}
		if c.FieldID != "" {
			keys, vals = append(keys, "jira_field_id"), append(vals, c.FieldID)
		}
		if c.PrimaryKey {
			keys, vals = append(keys, "primary_key"), append(vals, "true")
		}
		if c.JSON {
			keys, vals = append(keys, metaJSON), append(vals, "true")
		}
		fields[i] = arrow.Field{
			Name:     c.Name,
			Type:     c.Type,
			Nullable: !(c.PrimaryKey || c.NotNull),
			Metadata: arrow.NewMetadata(keys, vals),
		}
	}
	return arrow.NewSchema(fields, nil)
}

// metaJSON is the field metadata key that marks a JSON column (Column.JSON)
// in ArrowSchema.
const metaJSON = "json"

// IsJSON reports whether f, a field of an ArrowSchema, is a JSON column.
func IsJSON(f arrow.Field) bool {
	v, ok := f.Metadata.GetValue(metaJSON)
	return ok && v == "true"
}

// Project returns a copy of the table limited to the given columns. Primary
// key, Kept, NotNull and meta columns are always kept (a row without a
// NOT NULL column could not be inserted). Unknown names are ignored;
// callers validate them first.
func (t *Table) Project(columns []string) *Table {
	if len(columns) == 0 {
		return t
	}
	keep := map[string]bool{}
	for _, c := range columns {
		keep[c] = true
	}
	out := *t
	out.Columns = nil
	for _, c := range t.Columns {
		if keep[c.Name] || c.PrimaryKey || c.Kept || c.NotNull || strings.HasPrefix(c.Name, "_jsync_") {
			out.Columns = append(out.Columns, c)
		}
	}
	return &out
}

// ChangeKind classifies a schema change.
type ChangeKind int

const (
	CreateTable ChangeKind = iota
	AddColumn
	// WidenColumn is a compatible type change (for example INT → BIGINT).
	WidenColumn
	// IncompatibleColumn is a type change that needs an explicit flag,
	// because existing data cannot be converted losslessly.
	IncompatibleColumn
	// ExtraColumn is a column present in the destination but no longer in
	// the table definition. It is kept: columns are never dropped silently.
	ExtraColumn
)

func (k ChangeKind) String() string {
	return [...]string{"create table", "add column", "widen column", "incompatible column", "extra column"}[k]
}

// TableChange is one planned schema change.
type TableChange struct {
	Kind   ChangeKind
	Table  *Table
	Column *Column // nil for CreateTable
	// OldType is the destination's current type for Widen/Incompatible.
	OldType string
	// NewType is the destination type the column will get.
	NewType string
}

func (c TableChange) String() string {
	switch c.Kind {
	case CreateTable:
		return fmt.Sprintf("create table %s (%d columns)", c.Table.Name, len(c.Table.Columns))
	case AddColumn:
		return fmt.Sprintf("alter table %s: add column %s %s", c.Table.Name, c.Column.Name, c.NewType)
	case WidenColumn:
		return fmt.Sprintf("alter table %s: widen column %s %s → %s", c.Table.Name, c.Column.Name, c.OldType, c.NewType)
	case IncompatibleColumn:
		return fmt.Sprintf("alter table %s: incompatible change of column %s %s → %s (needs -allow-incompatible)", c.Table.Name, c.Column.Name, c.OldType, c.NewType)
	case ExtraColumn:
		return fmt.Sprintf("keep column %s.%s %s (no longer produced; never dropped)", c.Table.Name, c.Column.Name, c.OldType)
	}
	return "unknown change"
}
