package parquet

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

const testNS = "acme"

// issuesTable is an issues-like table with every type the destination must
// round-trip.
func issuesTable(repl schema.Replication) *schema.Table {
	return &schema.Table{
		Name:        "issues",
		Replication: repl,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
			{Name: "key", Type: arrow.BinaryTypes.String},
			{Name: "project_key", Type: arrow.BinaryTypes.String},
			{Name: "summary", Type: arrow.BinaryTypes.String, Description: "Issue summary"},
			{Name: "labels", Type: arrow.ListOf(arrow.BinaryTypes.String)},
			{Name: "assignee", Type: arrow.StructOf(
				arrow.Field{Name: "account_id", Type: arrow.BinaryTypes.String, Nullable: true},
				arrow.Field{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
			)},
			{Name: "created", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
			{Name: "due", Type: arrow.FixedWidthTypes.Date32},
			{Name: "budget", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
			{Name: "score", Type: arrow.PrimitiveTypes.Float64},
			{Name: "flagged", Type: arrow.FixedWidthTypes.Boolean},
			{Name: "fields", Type: arrow.BinaryTypes.String, JSON: true},
			{Name: schema.ColSyncedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
			{Name: schema.ColDeletedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		},
		TracksDeletes: true,
	}
}

// record builds a record of t from JSON rows (arrow's JSON reader syntax).
func record(t *testing.T, mem memory.Allocator, sc *arrow.Schema, rows ...string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(mem, sc, strings.NewReader("["+strings.Join(rows, ",")+"]"))
	if err != nil {
		t.Fatalf("build record: %v", err)
	}
	return rec
}

// issue returns a JSON row of issuesTable with the given id, project and
// summary and fixed values elsewhere.
func issue(id int, project, summary string) string {
	return fmt.Sprintf(`{"id": %d, "key": "%s-%d", "project_key": %q, "summary": %q, "labels": ["a", "b"],
		"assignee": {"account_id": "u%d", "active": true}, "created": "2024-03-01T10:00:00Z", "due": "2024-04-01",
		"budget": "12.50", "score": 1.5, "flagged": false, "fields": "{\"x\":1}", "_jsync_synced_at": "2024-03-02T00:00:00Z"}`,
		id, project, id, project, summary, id)
}

// newDest opens a destination in a temp dir with a checked allocator that
// must be back to zero when the test ends.
func newDest(t *testing.T, opts Options) (*Destination, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	if opts.Path == "" {
		opts.Path = t.TempDir()
	}
	opts.Allocator = mem
	d, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		mem.AssertSize(t, 0)
	})
	return d, mem
}

// send returns a closed channel holding the batches.
func send(bs ...dest.Batch) <-chan dest.Batch {
	ch := make(chan dest.Batch, len(bs))
	for _, b := range bs {
		ch <- b
	}
	close(ch)
	return ch
}

func write(t *testing.T, d *Destination, tbl *schema.Table, bs ...dest.Batch) dest.WriteStats {
	t.Helper()
	st, err := d.Write(context.Background(), testNS, tbl, send(bs...))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return st
}

func tableState(cursor string) *state.TableState {
	return &state.TableState{Sync: "s", Table: "issues", Cursor: cursor}
}

// duck runs a query over the table's files with DuckDB's own Parquet
// reader and returns the rows as strings.
func duck(t *testing.T, root, table, query string) [][]string {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	defer db.Close()
	glob := filepath.Join(root, testNS, table, "**", "*.parquet")
	q := strings.ReplaceAll(query, "{T}", fmt.Sprintf("read_parquet('%s', hive_partitioning = true, hive_types_autocast = false)", glob))
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("duckdb %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v != nil {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("duckdb rows: %v", err)
	}
	return out
}
