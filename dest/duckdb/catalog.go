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
	var comment sql.NullString
	err := q.QueryRowContext(ctx, `SELECT comment FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, schemaName, table).Scan(&comment)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read table %s.%s: %w", schemaName, table, err)
	}
	def := &tableDef{comment: comment.String}
	rows, err := q.QueryContext(ctx, `SELECT column_name, data_type, NOT is_nullable, comment FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
		ORDER BY column_index`, schemaName, table)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c colDef
		var cc sql.NullString
		if err := rows.Scan(&c.name, &c.typ, &c.notNull, &cc); err != nil {
			return nil, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
		}
		c.comment = cc.String
		def.cols = append(def.cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s.%s: %w", schemaName, table, err)
	}
	// Tables created before jsync kept keys in _jsync.keys carry a
	// PRIMARY KEY constraint; newer ones have their key in _jsync.keys.
	var pk []any
	err = q.QueryRowContext(ctx, `SELECT constraint_column_names FROM duckdb_constraints()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'`,
		schemaName, table).Scan(&pk)
	def.constrained = err == nil
	if err == sql.ErrNoRows {
		pk, err = readKey(ctx, q, schemaName, table)
	}
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s.%s: %w", schemaName, table, err)
	}
	for _, k := range pk {
		s, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("read primary key of %s.%s: unexpected column name %v", schemaName, table, k)
		}
		def.pk = append(def.pk, s)
	}
	return def, nil
}

// readKey reads a table's key columns from _jsync.keys; none when the
// table has no row there (or the file predates _jsync.keys).
func readKey(ctx context.Context, q queryer, schemaName, table string) ([]any, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
		WHERE database_name = current_database() AND schema_name = '_jsync' AND table_name = 'keys'`).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	var pk []any
	err := q.QueryRowContext(ctx, `SELECT columns FROM _jsync.keys WHERE schema_name = ? AND table_name = ?`, schemaName, table).Scan(&pk)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return pk, err
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
func createStatements(def *tableDef, qualified string) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + qualified + " (")
	for i, c := range def.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(c.name) + " " + c.typ)
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
