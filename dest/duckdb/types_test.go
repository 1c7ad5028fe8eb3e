//go:build duckdb_arrow

package duckdb_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestTypeMapping writes one value of every Arrow type the package doc maps
// and reads it back as DuckDB sees it.
func TestTypeMapping(t *testing.T) {
	tests := []struct {
		typ      arrow.DataType
		json     string // the value as arrow's JSON reader takes it
		wantType string
		want     string // CAST(value AS VARCHAR)
	}{
		{arrow.FixedWidthTypes.Boolean, `true`, "BOOLEAN", "true"},
		{arrow.PrimitiveTypes.Int8, `-8`, "TINYINT", "-8"},
		{arrow.PrimitiveTypes.Int16, `-16`, "SMALLINT", "-16"},
		{arrow.PrimitiveTypes.Int32, `-32`, "INTEGER", "-32"},
		{arrow.PrimitiveTypes.Int64, `-64`, "BIGINT", "-64"},
		{arrow.PrimitiveTypes.Uint8, `255`, "UTINYINT", "255"},
		{arrow.PrimitiveTypes.Uint16, `65535`, "USMALLINT", "65535"},
		{arrow.PrimitiveTypes.Uint32, `4294967295`, "UINTEGER", "4294967295"},
		{arrow.PrimitiveTypes.Uint64, `18446744073709551615`, "UBIGINT", "18446744073709551615"},
		{arrow.PrimitiveTypes.Float32, `1.5`, "FLOAT", "1.5"},
		{arrow.PrimitiveTypes.Float64, `-2.25`, "DOUBLE", "-2.25"},
		{arrow.BinaryTypes.String, `"ü"`, "VARCHAR", "ü"},
		{arrow.BinaryTypes.LargeString, `"large"`, "VARCHAR", "large"},
		{arrow.BinaryTypes.Binary, `"AAEC"`, "BLOB", `\x00\x01\x02`},
		{arrow.FixedWidthTypes.Date32, `"2024-02-29"`, "DATE", "2024-02-29"},
		{arrow.FixedWidthTypes.Date64, `"2024-02-29"`, "DATE", "2024-02-29"},
		{&arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `"2024-02-29T01:02:03.000004Z"`, "TIMESTAMP WITH TIME ZONE", "2024-02-29 01:02:03.000004+00"},
		{&arrow.TimestampType{Unit: arrow.Millisecond}, `"2024-02-29T01:02:03.004"`, "TIMESTAMP", "2024-02-29 01:02:03.004"},
		{arrow.FixedWidthTypes.Time64us, `"01:02:03.000004"`, "TIME", "01:02:03.000004"},
		{arrow.FixedWidthTypes.Duration_us, `90000000`, "INTERVAL", "00:01:30"},
		{&arrow.Decimal128Type{Precision: 38, Scale: 10}, `"-1234567890123456789012345678.0123456789"`, "DECIMAL(38,10)", "-1234567890123456789012345678.0123456789"},
		{arrow.ListOf(arrow.PrimitiveTypes.Int64), `[1, null, 3]`, "BIGINT[]", "[1, NULL, 3]"},
		{arrow.LargeListOf(arrow.BinaryTypes.String), `["a", "b"]`, "VARCHAR[]", "[a, b]"},
		{arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Int32), `[4, 5]`, "INTEGER[2]", "[4, 5]"},
		{arrow.StructOf(arrow.Field{Name: "a b", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, arrow.Field{Name: "c", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}),
			`{"a b": 1, "c": ["x"]}`, `STRUCT("a b" INTEGER, c VARCHAR[])`, `{'a b': 1, 'c': [x]}`},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64), `[{"key": "k", "value": 7}]`, "MAP(VARCHAR, BIGINT)", "{k=7}"},
	}
	tbl := &schema.Table{Name: "types", Columns: []schema.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true}}}
	var row []string
	for i, tc := range tests {
		tbl.Columns = append(tbl.Columns, schema.Column{Name: colName(i), Type: tc.typ})
		row = append(row, `"`+colName(i)+`": `+tc.json)
	}
	ctx := t.Context()
	d, err := duckdb.Open(ctx, duckdb.Options{Path: filepath.Join(t.TempDir(), "jsync.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
	if err == nil {
		err = d.Migrate(ctx, "acme", changes, dest.MigrateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec, _, err := array.RecordFromJSON(mem, tbl.ArrowSchema(), strings.NewReader(`[{"id": 1, `+strings.Join(row, ", ")+`}]`))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan dest.Batch, 1)
	ch <- dest.Batch{Record: rec}
	close(ch)
	if _, err := d.Write(ctx, "acme", tbl, ch); err != nil {
		t.Fatal(err)
	}
	// The plan is empty: canonical types compare equal after the write too.
	if changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl}); err != nil || len(changes) != 0 {
		t.Errorf("plan after create = %v, %v; want nothing", changes, err)
	}
	for i, tc := range tests {
		var typ, val string
		err := d.DB().QueryRowContext(ctx, `SELECT typeof(`+`"`+colName(i)+`"), CAST("`+colName(i)+`" AS VARCHAR) FROM acme.types`).Scan(&typ, &val)
		if err != nil {
			t.Errorf("%s: %v", tc.typ, err)
			continue
		}
		if typ != tc.wantType || val != tc.want {
			t.Errorf("%s: DuckDB has %s %q, want %s %q", tc.typ, typ, val, tc.wantType, tc.want)
		}
	}
}

func colName(i int) string { return "c" + strings.Repeat("x", i%3) + string(rune('a'+i)) }
