//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jsync-dev/jsync/engine/schema"
)

// tableDef is a table as DuckDB stores it: what CREATE TABLE and the
// COMMENT statements need.
type tableDef struct {
	comment string
	cols    []colDef
	pk      []string
	// constrained: pk is a PRIMARY KEY constraint (tables of early
	// versions), which rejects a second row of a key even within a
	// transaction.
	constrained bool
}

type colDef struct {
	name    string
	typ     string // DuckDB type, canonical when read from the catalog
	notNull bool
	comment string
}

func (d *tableDef) col(name string) *colDef {
	for i := range d.cols {
		if d.cols[i].name == name {
			return &d.cols[i]
		}
	}
	return nil
}

func (d *tableDef) isPK(name string) bool {
	for _, k := range d.pk {
		if k == name {
			return true
		}
	}
	return false
}

// defFromTable derives the DuckDB definition of t. Column comments come from
// the Arrow field metadata "description".
func defFromTable(t *schema.Table) (*tableDef, error) {
	sc := t.ArrowSchema()
	def := &tableDef{comment: t.Description, pk: t.PrimaryKey()}
	for i := range t.Columns {
		c := &t.Columns[i]
		typ, err := columnType(c)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		comment, _ := sc.Field(i).Metadata.GetValue("description")
		def.cols = append(def.cols, colDef{name: c.Name, typ: typ, notNull: c.NotNull || c.PrimaryKey, comment: comment})
	}
	return def, nil
}

// queryer is satisfied by *sql.DB and *sql.Conn.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// readTableDef reads schemaName.table from the catalog; nil if it does not
// exist.
func readTableDef(ctx context.Context, q queryer, schemaName, table string) (*tableDef, error) {
	defs, err := readTableDefs(ctx, q, schemaName, table)
	if err != nil {
		return nil, err
	}
	return defs[table], nil
}

// readTableDefs reads the tables of schemaName from the catalog, by name:
// only table when it is not empty. It runs the same four catalog queries
// for one table or all of them; DuckDB's catalog functions list every
// table of the database whatever the filter, so planning a sync's tables
// one query set each cost a fifth of an incremental run's CPU.
func readTableDefs(ctx context.Context, q queryer, schemaName, table string) (map[string]*tableDef, error) {
	what := schemaName
	if table != "" {
		what += "." + table
	}
	const filter = `database_name = current_database() AND schema_name = ? AND (? = '' OR table_name = ?)`
	defs := map[string]*tableDef{}
	err := eachRow(ctx, q, `SELECT table_name, comment FROM duckdb_tables() WHERE `+filter, []any{schemaName, table, table},
		func(rows *sql.Rows) error {
			var name string
			var comment sql.NullString
			if err := rows.Scan(&name, &comment); err != nil {
				return err
			}
			defs[name] = &tableDef{comment: comment.String}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", what, err)
	}
	if len(defs) == 0 {
		return defs, nil
	}
	err = eachRow(ctx, q, `SELECT table_name, column_name, data_type, NOT is_nullable, comment FROM duckdb_columns()
		WHERE `+filter+` ORDER BY table_name, column_index`, []any{schemaName, table, table},
		func(rows *sql.Rows) error {
			var name string
			var c colDef
			var cc sql.NullString
			if err := rows.Scan(&name, &c.name, &c.typ, &c.notNull, &cc); err != nil {
				return err
			}
			c.comment = cc.String
			if def := defs[name]; def != nil {
				def.cols = append(def.cols, c)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", what, err)
	}
	// Tables created before jsync kept keys in _jsync.keys carry a
	// PRIMARY KEY constraint; newer ones have their key in _jsync.keys.
	pks := map[string][]any{}
	err = eachRow(ctx, q, `SELECT table_name, constraint_column_names FROM duckdb_constraints()
		WHERE `+filter+` AND constraint_type = 'PRIMARY KEY'`, []any{schemaName, table, table},
		func(rows *sql.Rows) error {
			var name string
			var pk []any
			if err := rows.Scan(&name, &pk); err != nil {
				return err
			}
			pks[name] = pk
			if def := defs[name]; def != nil {
				def.constrained = true
			}
			return nil
		})
	if err == nil {
		err = readKeys(ctx, q, schemaName, table, pks)
	}
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s: %w", what, err)
	}
	for name, def := range defs {
		for _, k := range pks[name] {
			s, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("read primary key of %s.%s: unexpected column name %v", schemaName, name, k)
			}
			def.pk = append(def.pk, s)
		}
	}
	return defs, nil
}

// eachRow runs query and calls fn on each row.
func eachRow(ctx context.Context, q queryer, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readKeys adds to pks the key columns recorded in _jsync.keys for the
// tables of schemaName (only table when it is not empty) that have no
// PRIMARY KEY constraint in pks. Files that predate _jsync.keys have none.
func readKeys(ctx context.Context, q queryer, schemaName, table string, pks map[string][]any) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = '_jsync' AND table_name = 'keys'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	return eachRow(ctx, q, `SELECT table_name, columns FROM _jsync.keys WHERE schema_name = ? AND (? = '' OR table_name = ?)`,
		[]any{schemaName, table, table}, func(rows *sql.Rows) error {
			var name string
			var pk []any
			if err := rows.Scan(&name, &pk); err != nil {
				return err
			}
			if _, ok := pks[name]; !ok {
				pks[name] = pk
			}
			return nil
		})
}

// keyStatement records def's key for schemaName.table in _jsync.keys.
func keyStatement(def *tableDef, schemaName, table string) string {
	cols := make([]string, len(def.pk))
	for i, k := range def.pk {
		cols[i] = quoteString(k)
	}
	return "INSERT OR REPLACE INTO _jsync.keys VALUES (" + quoteString(schemaName) + ", " + quoteString(table) +
		", [" + strings.Join(cols, ", ") + "]::VARCHAR[])"
}

// createStatements creates table qualified (already quoted) from def, with
// its comments. Key columns are NOT NULL but carry no PRIMARY KEY
// constraint: DuckDB keeps a constraint's index in memory whole, which
// would make memory grow with the data. Writes keep keys unique instead
// (see Write), and the key is recorded in _jsync.keys (keyStatement).
func (d *Destination) createStatements(def *tableDef, qualified string) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + qualified + " (")
	for i, c := range def.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.name) + " " + d.columnType(c.typ))
		if c.notNull {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString(")")
	stmts := []string{b.String()}
	if def.comment != "" {
		stmts = append(stmts, "COMMENT ON TABLE "+qualified+" IS "+quoteString(def.comment))
	}
	for _, c := range def.cols {
		if c.comment != "" {
			stmts = append(stmts, commentColumn(qualified, c.name, c.comment))
		}
	}
	return stmts
}

// columnType is typ as a column definition: a JSON column is compressed
// with ZSTD when the file's format has it (see DefaultStorageVersion).
// DuckDB's catalog does not report a column's compression, so tables
// rebuilt from it (Replace, type changes) get it from here again.
func (d *Destination) columnType(typ string) string {
	if d.zstdJSON && typ == "JSON" {
		return typ + " USING COMPRESSION zstd"
	}
	return typ
}

func commentColumn(qualified, col, comment string) string {
	return "COMMENT ON COLUMN " + qualified + "." + quoteIdent(col) + " IS " + quoteString(comment)
}

// canonicalTypes returns DuckDB's own spelling of each type, as
// duckdb_columns reports it.
func canonicalTypes(ctx context.Context, q queryer, types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, nil
	}
	exprs := make([]string, len(types))
	for i, t := range types {
		exprs[i] = "typeof(CAST(NULL AS " + t + "))"
	}
	var out []any
	if err := q.QueryRowContext(ctx, "SELECT ["+strings.Join(exprs, ", ")+"]").Scan(&out); err != nil {
		return nil, fmt.Errorf("resolve column types: %w", err)
	}
	res := make([]string, len(out))
	for i, v := range out {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("resolve column types: unexpected %T", v)
		}
		res[i] = s
	}
	return res, nil
}

func execAll(ctx context.Context, q queryer, stmts ...string) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", firstWords(s), err)
		}
	}
	return nil
}

// firstWords shortens a statement for an error message.
func firstWords(stmt string) string {
	if i := strings.IndexAny(stmt, "(\n"); i > 0 && i < 100 {
		return strings.TrimSpace(stmt[:i])
	}
	if len(stmt) > 100 {
		return stmt[:100] + "…"
	}
	return stmt
}
