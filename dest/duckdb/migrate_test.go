//go:build duckdb_arrow

package duckdb_test

import (
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
)

func keyed(pk arrow.DataType) *schema.Table {
	return &schema.Table{Name: "keyed", Description: "A keyed table.", Columns: []schema.Column{
		{Name: "id", Type: pk, PrimaryKey: true, Description: "The key."},
		{Name: "v", Type: arrow.BinaryTypes.String, Description: "A value."},
	}}
}

// TestWidenPrimaryKey: DuckDB cannot alter a key column, so widening it
// rebuilds the table, keeping rows, the key constraint and the comments.
func TestWidenPrimaryKey(t *testing.T) {
	ctx := t.Context()
	d, err := duckdb.Open(ctx, duckdb.Options{Path: filepath.Join(t.TempDir(), "jsync.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	migrate := func(tbl *schema.Table, want schema.ChangeKind) {
		t.Helper()
		changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
		if err != nil {
			t.Fatal(err)
		}
		if len(changes) != 1 || changes[0].Kind != want {
			t.Fatalf("plan = %v, want one %v", changes, want)
		}
		if err := d.Migrate(ctx, "acme", changes, dest.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	v1 := keyed(arrow.PrimitiveTypes.Int32)
	migrate(v1, schema.CreateTable)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, v1.ArrowSchema())
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	ch := make(chan dest.Batch, 1)
	ch <- dest.Batch{Record: rec}
	close(ch)
	if _, err := d.Write(ctx, "acme", v1, ch); err != nil {
		t.Fatal(err)
	}

	v2 := keyed(arrow.PrimitiveTypes.Int64)
	migrate(v2, schema.WidenColumn)
	var typ, comments, pk, tableComment string
	var rows int
	err = d.DB().QueryRowContext(ctx, `SELECT
			(SELECT data_type FROM duckdb_columns() WHERE table_name = 'keyed' AND column_name = 'id'),
			(SELECT string_agg(comment, '|' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 'keyed'),
			(SELECT array_to_string(columns, ',') FROM _jsync.keys WHERE table_name = 'keyed'),
			(SELECT comment FROM duckdb_tables() WHERE table_name = 'keyed'),
			(SELECT count(*) FROM acme.keyed WHERE (id = 1 AND v = 'a') OR (id = 2 AND v = 'b'))`).
		Scan(&typ, &comments, &pk, &tableComment, &rows)
	if err != nil {
		t.Fatal(err)
	}
	if typ != "BIGINT" || comments != "The key.|A value." || pk != "id" || tableComment != "A keyed table." || rows != 2 {
		t.Errorf("after rebuild: type %s, comments %q, pk %q, table comment %q, %d rows; want BIGINT, both comments, id, the comment, 2 rows",
			typ, comments, pk, tableComment, rows)
	}
	if _, err := d.DB().ExecContext(ctx, `INSERT INTO acme.keyed VALUES (NULL, 'no key')`); err == nil {
		t.Error("the rebuilt table accepts a NULL key")
	}
	if changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{v2}); err != nil || len(changes) != 0 {
		t.Errorf("plan after rebuild = %v, %v; want nothing", changes, err)
	}
}
