//go:build duckdb_arrow

package duckdb_test

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdbdrv "github.com/duckdb/duckdb-go/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
)

// wideIssues is a 60-column table shaped like Jira issues: many strings,
// timestamps, a few lists, structs, decimals and JSON documents.
func wideIssues() *schema.Table {
	tsType := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	person := arrow.StructOf(
		arrow.Field{Name: "account_id", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "display_name", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	cols := []schema.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true}}
	add := func(prefix string, n int, typ arrow.DataType, json bool) {
		for i := range n {
			cols = append(cols, schema.Column{Name: fmt.Sprintf("%s_%d", prefix, i), Type: typ, JSON: json})
		}
	}
	add("str", 20, arrow.BinaryTypes.String, false)
	add("int", 8, arrow.PrimitiveTypes.Int64, false)
	add("ts", 8, tsType, false)
	add("date", 3, arrow.FixedWidthTypes.Date32, false)
	add("dbl", 4, arrow.PrimitiveTypes.Float64, false)
	add("dec", 3, &arrow.Decimal128Type{Precision: 18, Scale: 3}, false)
	add("flag", 3, arrow.FixedWidthTypes.Boolean, false)
	add("list", 4, arrow.ListOf(arrow.BinaryTypes.String), false)
	add("person", 2, person, false)
	add("json", 4, arrow.BinaryTypes.String, true)
	return &schema.Table{Name: "issues", Replication: schema.Incremental, Columns: cols}
}

// wideRecord builds rows ids first…first+n-1; version changes every value
// that is not a key.
func wideRecord(mem memory.Allocator, tbl *schema.Table, first, n int64, version int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
	defer b.Release()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for r := first; r < first+n; r++ {
		for i, c := range tbl.Columns {
			switch fb := b.Field(i).(type) {
			case *array.Int64Builder:
				if c.PrimaryKey {
					fb.Append(r)
				} else {
					fb.Append(r*int64(i) + int64(version))
				}
			case *array.StringBuilder:
				switch {
				case c.JSON:
					fb.Append(fmt.Sprintf(`{"id":%d,"v":%d,"values":["a","b","c"],"nested":{"k":"%s"}}`, r, version, c.Name))
				case i%5 == 0:
					fb.Append(strings.Repeat(fmt.Sprintf("description of %d v%d. ", r, version), 12))
				default:
					fb.Append(fmt.Sprintf("%s-%d-v%d", c.Name, r, version))
				}
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(base.Add(time.Duration(r+int64(i)) * time.Minute).UnixMicro()))
			case *array.Date32Builder:
				fb.Append(arrow.Date32FromTime(base.AddDate(0, 0, int(r%1000))))
			case *array.Float64Builder:
				fb.Append(float64(r) / 7)
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(r*1000 + int64(version)))
			case *array.BooleanBuilder:
				fb.Append((r+int64(i))%2 == 0)
			case *array.ListBuilder:
				fb.Append(true)
				fb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"label-a", fmt.Sprintf("l%d", r%17)}, nil)
			case *array.StructBuilder:
				fb.Append(true)
				fb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprintf("acct-%d", r%97))
				fb.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprintf("Person %d", r%97))
			default:
				panic(fmt.Sprintf("unhandled builder %T", fb))
			}
		}
	}
	return b.NewRecordBatch()
}

const benchBatch = 5000

func openBench(b *testing.B) (*duckdb.Destination, *schema.Table) {
	b.Helper()
	ctx := context.Background()
	d, err := duckdb.Open(ctx, duckdb.Options{Path: filepath.Join(b.TempDir(), "bench.duckdb")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	tbl := wideIssues()
	changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
	if err == nil {
		err = d.Migrate(ctx, "acme", changes, dest.MigrateOptions{})
	}
	if err != nil {
		b.Fatal(err)
	}
	return d, tbl
}

// BenchmarkWriteIssues measures rows/s into a 60-column table:
//
//	arrow-insert   Destination.Write of new keys (the production path)
//	arrow-update   Destination.Write of existing keys (every row updated)
//	appender       duckdb-go Appender into a staging table, then INSERT into
//	               the table (the alternative; includes Arrow→Go conversion)
//	read_json      DuckDB's own INSERT … SELECT FROM read_json of the same rows
//	               as NDJSON (the reference; excludes writing the file)
//
// Each op writes one batch of benchBatch new rows (arrow-update: existing
// rows) in its own transaction, like the engine does; the table grows over
// the run. make bench reports the rows/s metric.
func BenchmarkWriteIssues(b *testing.B) {
	b.Run("arrow-insert", func(b *testing.B) {
		d, tbl := openBench(b)
		next := int64(0)
		for b.Loop() {
			b.StopTimer()
			rec := wideRecord(memory.DefaultAllocator, tbl, next, benchBatch, 0)
			next += benchBatch
			b.StartTimer()
			writeOne(b, d, tbl, rec)
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("arrow-update", func(b *testing.B) {
		d, tbl := openBench(b)
		writeOne(b, d, tbl, wideRecord(memory.DefaultAllocator, tbl, 0, benchBatch, 0))
		v := 0
		for b.Loop() {
			b.StopTimer()
			v++
			rec := wideRecord(memory.DefaultAllocator, tbl, 0, benchBatch, v)
			b.StartTimer()
			writeOne(b, d, tbl, rec)
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("appender", func(b *testing.B) {
		d, tbl := openBench(b)
		ctx := context.Background()
		if _, err := d.DB().ExecContext(ctx, `CREATE TABLE acme.issues_stage AS SELECT * FROM acme.issues LIMIT 0`); err != nil {
			b.Fatal(err)
		}
		conn, err := d.DB().Conn(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		insert := insertSQL("acme.issues_stage")
		next := int64(0)
		for b.Loop() {
			b.StopTimer()
			rec := wideRecord(memory.DefaultAllocator, tbl, next, benchBatch, 0)
			next += benchBatch
			b.StartTimer()
			err := conn.Raw(func(dc any) error {
				app, err := duckdbdrv.NewAppenderFromConn(dc.(driver.Conn), "acme", "issues_stage")
				if err != nil {
					return err
				}
				row := make([]driver.Value, rec.NumCols())
				for r := range int(rec.NumRows()) {
					for c := range row {
						row[c] = goValue(rec.Column(c), r)
					}
					if err := app.AppendRow(row...); err != nil {
						return err
					}
				}
				return app.Close()
			})
			rec.Release()
			if err == nil {
				_, err = conn.ExecContext(ctx, "BEGIN; "+insert+"; DELETE FROM acme.issues_stage; COMMIT")
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("read_json", func(b *testing.B) {
		d, tbl := openBench(b)
		ctx := context.Background()
		path := filepath.Join(b.TempDir(), "rows.ndjson")
		insert := insertSQL(fmt.Sprintf("read_json('%s', columns = %s)", path, jsonColumns(b, d, tbl)))
		next := int64(0)
		for b.Loop() {
			b.StopTimer()
			rec := wideRecord(memory.DefaultAllocator, tbl, next, benchBatch, 0)
			next += benchBatch
			writeNDJSON(b, path, rec)
			rec.Release()
			b.StartTimer()
			if _, err := d.DB().ExecContext(ctx, insert); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
	})
}

func writeOne(b *testing.B, d *duckdb.Destination, tbl *schema.Table, rec arrow.RecordBatch) {
	ch := make(chan dest.Batch, 1)
	ch <- dest.Batch{Record: rec}
	close(ch)
	if _, err := d.Write(context.Background(), "acme", tbl, ch); err != nil {
		b.Fatal(err)
	}
}

func insertSQL(from string) string {
	return "INSERT INTO acme.issues SELECT * FROM " + from
}

// jsonColumns is read_json's columns struct: each column with its table
// type.
func jsonColumns(b *testing.B, d *duckdb.Destination, tbl *schema.Table) string {
	rows, err := d.DB().Query(`SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'acme' AND table_name = 'issues' ORDER BY column_index`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("'%s': '%s'", n, t))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func writeNDJSON(b *testing.B, path string, rec arrow.RecordBatch) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	row := map[string]any{}
	for r := range int(rec.NumRows()) {
		for c, f := range rec.Schema().Fields() {
			v := goValue(rec.Column(c), r)
			if d, ok := v.(duckdbdrv.Decimal); ok {
				v = json.Number(d.String())
			}
			row[f.Name] = v
		}
		if err := enc.Encode(row); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// goValue converts one Arrow value to what the duckdb-go Appender takes.
func goValue(arr arrow.Array, i int) driver.Value {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		return a.Value(i).ToTime(arrow.Microsecond)
	case *array.Date32:
		return a.Value(i).ToTime()
	case *array.Decimal128:
		dt := a.DataType().(*arrow.Decimal128Type)
		return duckdbdrv.Decimal{Width: uint8(dt.Precision), Scale: uint8(dt.Scale), Value: a.Value(i).BigInt()}
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := make([]any, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, goValue(a.ListValues(), int(j)))
		}
		return out
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		out := make(map[string]any, st.NumFields())
		for f := range st.NumFields() {
			out[st.Field(f).Name] = goValue(a.Field(f), i)
		}
		return out
	}
	panic(fmt.Sprintf("goValue: unhandled %T", arr))
}
