package desttest

import (
	"fmt"
	"math"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// syncName is the sync every state of the suite belongs to.
const syncName = "s"

var tsUTC = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

var fieldsType = arrow.StructOf(
	arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	arrow.Field{Name: "b", Type: arrow.BinaryTypes.String, Nullable: true},
)

// issues is an incremental table with every type the suite round-trips.
func issues() *schema.Table {
	return &schema.Table{
		Name:        "issues",
		Description: "Issues, one row per issue.",
		Replication: schema.Incremental,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true, Description: "Issue id."},
			{Name: "key", Type: arrow.BinaryTypes.String, NotNull: true, Description: "Issue key, e.g. ACME-1."},
			{Name: "summary", Type: arrow.BinaryTypes.String},
			{Name: "labels", Type: arrow.ListOf(arrow.BinaryTypes.String)},
			{Name: "fields", Type: fieldsType},
			{Name: "created", Type: tsUTC},
			{Name: "due", Type: arrow.FixedWidthTypes.Date32},
			{Name: "points", Type: &arrow.Decimal128Type{Precision: 18, Scale: 3}},
			{Name: "ratio", Type: arrow.PrimitiveTypes.Float64},
			{Name: "done", Type: arrow.FixedWidthTypes.Boolean},
			{Name: "raw", Type: arrow.BinaryTypes.String, JSON: true, FieldID: "customfield_10010"},
			{Name: "votes", Type: arrow.PrimitiveTypes.Int32},
			{Name: schema.ColDeletedAt, Type: tsUTC},
		},
		TracksDeletes: true,
	}
}

// issueRow is an issues row with the given id and summary, other columns
// NULL except key.
func issueRow(id int64, summary any) []any {
	return []any{id, fmt.Sprintf("ACME-%d", id), summary, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}
}

// comments is a child table of issues: keyed by its own id, it belongs to
// an issue by issue_id (NULL for an orphan).
func comments() *schema.Table {
	return &schema.Table{
		Name:        "comments",
		Replication: schema.Incremental,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
			{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "body", Type: arrow.BinaryTypes.String},
			{Name: schema.ColDeletedAt, Type: tsUTC},
		},
		TracksDeletes: true,
	}
}

// syncedComments is comments with the sync time of each row instead of a
// body.
func syncedComments() *schema.Table {
	t := comments()
	t.Name = "synced_comments"
	t.Columns[2] = schema.Column{Name: schema.ColSyncedAt, Type: tsUTC}
	return t
}

// projects is a full-table table.
func projects() *schema.Table {
	return &schema.Table{
		Name:        "projects",
		Replication: schema.FullTable,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
			{Name: "name", Type: arrow.BinaryTypes.String},
		},
	}
}

// simple is a small incremental table named name.
func simple(name string) *schema.Table {
	return &schema.Table{
		Name:        name,
		Replication: schema.Incremental,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
			{Name: "name", Type: arrow.BinaryTypes.String},
		},
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// edgeRows are issues rows that probe every type's corners. Values are in
// the Go types the duckdb-go driver scans them as (decimals and JSON as
// text).
func edgeRows() [][]any {
	return [][]any{
		{int64(1), "ACME-1", "plain", []any{"a", "b"}, map[string]any{"a": int32(1), "b": "x"},
			ts("2024-02-29T12:34:56.123456Z"), date("2024-02-29"), "12345.678", 0.1, true,
			`{"a":[1,2,{"b":null}],"c":"é"}`, int32(7), nil},
		// NULL everywhere it is allowed.
		{int64(2), "ACME-2", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		// Empty values, distinct from NULL.
		{int64(3), "", "", []any{}, map[string]any{"a": nil, "b": nil},
			ts("1970-01-01T00:00:00Z"), date("1970-01-01"), "0.000", 0.0, false, `[]`, int32(0), nil},
		// Unicode, quotes, control characters, nulls inside a list.
		{int64(4), "ÄÖÜ-4", "naïve ☃ 日本語 😀 'quote' \"dq\" \\ back\nline\ttab", []any{"x", nil, "", "☃"},
			map[string]any{"a": int32(math.MinInt32), "b": "ü"},
			ts("1969-12-31T23:59:59.999999Z"), date("1900-01-01"), "-999999999999999.999", -1.5e-300, true,
			`  {"spaced" : true}  `, int32(math.MaxInt32), nil},
		// Extremes.
		{int64(math.MaxInt64), "ACME-MAX", "max", []any{"only"}, map[string]any{"a": nil, "b": "b only"},
			ts("9999-12-31T23:59:59.999999Z"), date("9999-12-31"), "999999999999999.999", math.MaxFloat64, false,
			`"just a string"`, int32(-1), nil},
		{int64(math.MinInt64), "ACME-MIN", "min", []any{}, nil,
			ts("0001-01-01T00:00:00Z"), date("0001-01-01"), "-0.001", math.Inf(-1), nil,
			`null`, nil, ts("2025-01-01T00:00:00.000001Z")},
	}
}

// tableState is a state of tbl in the suite's sync with cursor.
func tableState(tbl, cursor string) *state.TableState {
	return &state.TableState{Sync: syncName, Table: tbl, Cursor: cursor}
}

// buildRecord builds a record of tbl from rows, one value per column in
// order, nil for NULL.
func buildRecord(mem memory.Allocator, tbl *schema.Table, rows [][]any) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
	defer b.Release()
	for r, row := range rows {
		if len(row) != len(tbl.Columns) {
			return nil, fmt.Errorf("row %d has %d values for %d columns", r, len(row), len(tbl.Columns))
		}
		for i, v := range row {
			if err := appendValue(b.Field(i), v); err != nil {
				return nil, fmt.Errorf("row %d column %s: %w", r, tbl.Columns[i].Name, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

func appendValue(b array.Builder, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	bad := func() error { return fmt.Errorf("value %#v does not fit %T", v, b) }
	switch b := b.(type) {
	case *array.Int64Builder:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Int32Builder:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.StringBuilder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.Float64Builder:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		b.Append(x)
	case *array.TimestampBuilder:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		b.Append(arrow.Timestamp(x.UnixMicro()))
	case *array.Date32Builder:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		b.Append(arrow.Date32FromTime(x))
	case *array.Decimal128Builder:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		dt := b.Type().(*arrow.Decimal128Type)
		n, err := decimal128.FromString(x, dt.Precision, dt.Scale)
		if err != nil {
			return err
		}
		b.Append(n)
	case *array.ListBuilder:
		x, ok := v.([]any)
		if !ok {
			return bad()
		}
		b.Append(true)
		for _, e := range x {
			if err := appendValue(b.ValueBuilder(), e); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		x, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		b.Append(true)
		st := b.Type().(*arrow.StructType)
		for i, f := range st.Fields() {
			if err := appendValue(b.FieldBuilder(i), x[f.Name]); err != nil {
				return err
			}
		}
	default:
		return bad()
	}
	return nil
}

// keysRecord builds a record of tbl's primary-key column "id".
func keysRecord(mem memory.Allocator, ids ...int64) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(ids, nil)
	arr := b.NewArray()
	defer arr.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return array.NewRecordBatch(sc, []arrow.Array{arr}, int64(len(ids)))
}

var _ = dest.Batch{}
