//go:build unix

package parquet

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// wideIssues is a 45-column issues table shaped like Jira's: keys, long
// text, user structs, label lists, timestamps and many custom fields.
func wideIssues() *schema.Table {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	user := arrow.StructOf(
		arrow.Field{Name: "account_id", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "display_name", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "active", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	)
	strs := arrow.ListOf(arrow.BinaryTypes.String)
	cols := []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "project_key", Type: arrow.BinaryTypes.String},
		{Name: "summary", Type: arrow.BinaryTypes.String},
		{Name: "description", Type: arrow.BinaryTypes.String},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "priority", Type: arrow.BinaryTypes.String},
		{Name: "issue_type", Type: arrow.BinaryTypes.String},
		{Name: "assignee", Type: user},
		{Name: "reporter", Type: user},
		{Name: "creator", Type: user},
		{Name: "labels", Type: strs},
		{Name: "components", Type: strs},
		{Name: "fix_versions", Type: strs},
		{Name: "created", Type: ts},
		{Name: "updated", Type: ts},
		{Name: "resolved", Type: ts},
		{Name: "due", Type: arrow.FixedWidthTypes.Date32},
		{Name: "story_points", Type: arrow.PrimitiveTypes.Float64},
		{Name: "time_spent", Type: arrow.PrimitiveTypes.Int64},
		{Name: "estimate", Type: arrow.PrimitiveTypes.Int64},
		{Name: "flagged", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "budget", Type: &arrow.Decimal128Type{Precision: 18, Scale: 2}},
		{Name: "fields", Type: arrow.BinaryTypes.String, JSON: true},
	}
	for i := range 18 {
		typ := arrow.DataType(arrow.BinaryTypes.String)
		if i%3 == 2 {
			typ = arrow.PrimitiveTypes.Float64
		}
		cols = append(cols, schema.Column{Name: fmt.Sprintf("customfield_%d", 10000+i), Type: typ})
	}
	cols = append(cols,
		schema.Column{Name: schema.ColSource, Type: arrow.BinaryTypes.String},
		schema.Column{Name: schema.ColSyncedAt, Type: ts},
		schema.Column{Name: schema.ColDeletedAt, Type: ts},
	)
	return &schema.Table{Name: "issues", Columns: cols, Replication: schema.Incremental, TracksDeletes: true}
}

const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "

// wideRecord builds rows of wideIssues for the given ids; version changes
// the updated values.
func wideRecord(mem memory.Allocator, sc *arrow.Schema, ids []int64, version int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, id := range ids {
		r := rand.New(rand.NewPCG(uint64(id), uint64(version)))
		for fi, f := range sc.Fields() {
			fb := b.Field(fi)
			if f.Nullable && r.IntN(10) == 0 {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				if f.Name == "id" {
					fb.Append(id)
				} else {
					fb.Append(r.Int64N(1 << 20))
				}
			case *array.StringBuilder:
				switch f.Name {
				case "key":
					fb.Append(fmt.Sprintf("P%d-%d", id%50, id))
				case "project_key":
					fb.Append(fmt.Sprintf("P%d", id%50))
				case "summary":
					fb.Append(fmt.Sprintf("v%d ", version) + lorem[:20+r.IntN(60)])
				case "description":
					fb.Append(strings.Repeat(lorem, 1+r.IntN(6)))
				case "fields":
					fb.Append(fmt.Sprintf(`{"customfield_%d":{"value":"%s","id":%d}}`, r.IntN(100), lorem[:r.IntN(80)], r.IntN(1000)))
				default:
					fb.Append(fmt.Sprintf("%s-%d", f.Name[:3], r.IntN(20)))
				}
			case *array.Float64Builder:
				fb.Append(float64(r.IntN(1000)) / 8)
			case *array.BooleanBuilder:
				fb.Append(r.IntN(2) == 0)
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(base.Add(time.Duration(id)*time.Minute).UnixMicro() + r.Int64N(1e9)))
			case *array.Date32Builder:
				fb.Append(arrow.Date32FromTime(base.AddDate(0, 0, r.IntN(2000))))
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(r.Int64N(1e8)))
			case *array.ListBuilder:
				fb.Append(true)
				vb := fb.ValueBuilder().(*array.StringBuilder)
				for range r.IntN(4) {
					vb.Append(fmt.Sprintf("label-%d", r.IntN(30)))
				}
			case *array.StructBuilder:
				fb.Append(true)
				fb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprintf("5b10ac8d82e05b22cc7d%04d", r.IntN(500)))
				fb.FieldBuilder(1).(*array.StringBuilder).Append(fmt.Sprintf("User %d", r.IntN(500)))
				fb.FieldBuilder(2).(*array.BooleanBuilder).Append(true)
			default:
				panic(fmt.Sprintf("wideRecord: no generator for %s", f.Type))
			}
		}
	}
	return b.NewRecordBatch()
}

// cpuTime is the CPU time (user+system) the process used so far. The
// benchmarks report rows per CPU second besides wall time because the
// build machine is shared and its wall clock is noisy.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func idRange(from, n int64) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = from + int64(i)
	}
	return ids
}

// load writes rows ids [0, n) in batches of batch rows with a state per
// batch.
func load(b *testing.B, d *Destination, tbl *schema.Table, n, batch int64) {
	sc := tbl.ArrowSchema()
	ch := make(chan dest.Batch)
	go func() {
		defer close(ch)
		for from := int64(0); from < n; from += batch {
			ch <- dest.Batch{Record: wideRecord(d.mem, sc, idRange(from, min(batch, n-from)), 0), State: tableState(fmt.Sprint(from))}
		}
	}()
	if _, err := d.Write(context.Background(), testNS, tbl, ch); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite measures the initial load of the wide issues table: rows
// per second through Write in batches of 1000 rows, each committed with a
// state (the Jira source checkpoints every 10 pages of 100 issues).
// Generating the records is not counted.
func BenchmarkWrite(b *testing.B) {
	const n, batch = 50_000, 1000
	tbl := wideIssues()
	sc := tbl.ArrowSchema()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		var bs []dest.Batch
		for from := int64(0); from < n; from += batch {
			bs = append(bs, dest.Batch{Record: wideRecord(memory.DefaultAllocator, sc, idRange(from, batch), 0), State: tableState(fmt.Sprint(from))})
		}
		d, err := Open(context.Background(), Options{Path: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		if _, err := d.Write(context.Background(), testNS, tbl, send(bs...)); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - cpu0
		d.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "rows/cpu-s")
}

// BenchmarkRowGroupRows writes 100k wide rows as one file with different
// row-group sizes and reports write throughput, file size and the time of
// a selective DuckDB query over the file (CPU ms: DuckDB runs in process).
//
// Result on the 2-core build machine (zstd, go1.26, DuckDB 1.5.6; see the
// package report for the run):
//
//	rows/group   write rows/s   MB      duckdb ms
//	4k           ~...           ...     ...
//
// The values are filled in by the measurement in the commit that set
// rowGroupRows.
func BenchmarkRowGroupRows(b *testing.B) {
	const n = 100_000
	tbl := wideIssues()
	for _, rg := range []int64{4 << 10, 16 << 10, 64 << 10, 256 << 10} {
		b.Run(fmt.Sprintf("rows=%d", rg), func(b *testing.B) {
			mem := memory.NewGoAllocator()
			sc := tbl.ArrowSchema()
			var recs []arrow.RecordBatch
			for from := int64(0); from < n; from += 10_000 {
				recs = append(recs, wideRecord(mem, sc, idRange(from, 10_000), 0))
			}
			defer func() { releaseAll2(recs) }()
			dir := b.TempDir()
			var path string
			cpu0 := cpuTime()
			for b.Loop() {
				d, err := Open(context.Background(), Options{Path: dir, Allocator: mem})
				if err != nil {
					b.Fatal(err)
				}
				d.rowGroupRows = rg
				e, err := d.newEntry(testNS, tbl)
				if err != nil {
					b.Fatal(err)
				}
				w, err := d.newSlotWriter(e, slot{}, 0)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs {
					if err := w.write(r); err != nil {
						b.Fatal(err)
					}
				}
				_, rn, err := w.finish()
				if err != nil {
					b.Fatal(err)
				}
				path = relPath(dir, rn.From)
				d.Close()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(n*b.N)/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.Size())/1e6, "MB")
			b.ReportMetric(duckQueryMillis(b, path), "duckdb-ms")
		})
	}
}

func releaseAll2(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// duckQueryMillis times a selective query (5 of 45 columns, 1% of rows by
// a range predicate) and a full aggregate over file in DuckDB.
func duckQueryMillis(b *testing.B, file string) float64 {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`SELECT count(*), sum(length(summary)), max(updated), min(story_points), count(DISTINCT status)
		FROM read_parquet('%s') WHERE id BETWEEN 40000 AND 41000`, file)
	q2 := fmt.Sprintf(`SELECT project_key, count(*), avg(length(description)) FROM read_parquet('%s') GROUP BY 1`, file)
	start := cpuTime()
	const reps = 5
	for range reps {
		for _, q := range []string{q, q2} {
			rows, err := db.Query(q)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
		}
	}
	return float64((cpuTime() - start).Microseconds()) / 1000 / reps
}

// BenchmarkUpsert measures an incremental run on a 200k-row wide table:
// 200 changed issues committed with one state. Workload "recent" changes
// issues among the newest 5% of ids; "mixed" changes 80% recent and 20%
// anywhere. It compares one file, hash buckets and key ranges, reporting
// the rows rewritten and the CPU time per run.
func BenchmarkUpsert(b *testing.B) {
	const n = 200_000
	tbl := wideIssues()
	configs := []struct {
		name string
		opts Options
	}{
		{"one-file", Options{BucketWidth: -1, Buckets: 1}},
		{"hash-8", Options{BucketWidth: -1, Buckets: 8}},
		{"range-10k", Options{BucketWidth: 10_000}},
		{"range-25k", Options{BucketWidth: 25_000}},
		{"range-100k", Options{BucketWidth: 100_000}},
	}
	workloads := []struct {
		name   string
		recent int // of 200 keys
	}{{"recent", 200}, {"mixed", 160}}
	for _, c := range configs {
		b.Run(c.name, func(b *testing.B) {
			opts := c.opts
			opts.Path = b.TempDir()
			d, err := Open(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			load(b, d, tbl, n, 10_000)
			sc := tbl.ArrowSchema()
			version := 1
			for _, w := range workloads {
				b.Run(w.name, func(b *testing.B) {
					r := rand.New(rand.NewPCG(1, 2))
					var rewritten int64
					cpu0 := cpuTime()
					for b.Loop() {
						ids := make([]int64, 200)
						for i := range ids {
							if i < w.recent {
								ids[i] = n - 1 - r.Int64N(n/20)
							} else {
								ids[i] = r.Int64N(n)
							}
						}
						before := d.table(testNS, "issues").Files
						rec := wideRecord(d.mem, sc, ids, version)
						version++
						if _, err := d.Write(context.Background(), testNS, tbl, send(dest.Batch{Record: rec, State: tableState(fmt.Sprint(version))})); err != nil {
							b.Fatal(err)
						}
						old := map[string]string{}
						for _, f := range before {
							old[f.Path] = f.ID
						}
						for _, f := range d.table(testNS, "issues").Files {
							if old[f.Path] != f.ID {
								rewritten += f.Rows
							}
						}
					}
					b.ReportMetric(float64(rewritten)/float64(b.N), "rows-rewritten/op")
					b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
				})
			}
		})
	}
}
