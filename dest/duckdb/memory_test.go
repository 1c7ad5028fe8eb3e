//go:build duckdb_arrow

package duckdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/bytesize"
	"github.com/jsync-dev/jsync/engine/schema"
)

// sparseTables declares n tables of cols nullable string columns plus an
// id key: the shape of a Jira issues table on a site with many custom
// fields, most of them empty on most issues.
func sparseTables(t *testing.T, d *duckdb.Destination, n, cols int) []*schema.Table {
	t.Helper()
	var tbls []*schema.Table
	for k := range n {
		cs := []schema.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true}}
		for i := range cols {
			cs = append(cs, schema.Column{Name: fmt.Sprintf("customfield_%d", 10000+i), Type: arrow.BinaryTypes.String})
		}
		tbls = append(tbls, &schema.Table{Name: fmt.Sprintf("wide%d", k), Replication: schema.Incremental, Columns: cs})
	}
	migrate(t, d, tbls...)
	return tbls
}

// sparseBatches streams batches of rows where a quarter of the cells hold
// a value, and closes the channel.
func sparseBatches(mem memory.Allocator, tbl *schema.Table, batches, rows int) <-chan dest.Batch {
	ch := make(chan dest.Batch)
	go func() {
		defer close(ch)
		for bi := range batches {
			b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
			for r := range rows {
				id := int64(bi*rows + r)
				b.Field(0).(*array.Int64Builder).Append(id)
				for i := 1; i < len(tbl.Columns); i++ {
					if (int(id)+i)%4 == 0 {
						b.Field(i).(*array.StringBuilder).Append(fmt.Sprintf("value %d of %d", id, i))
					} else {
						b.Field(i).AppendNull()
					}
				}
			}
			ch <- dest.Batch{Record: b.NewRecordBatch()}
			b.Release()
		}
	}()
	return ch
}

// writeAll writes every table at once, each from its own goroutine as the
// engine does, and returns their errors.
func writeAll(ctx context.Context, d *duckdb.Destination, mem memory.Allocator, tbls []*schema.Table, batches, rows int) []error {
	errs := make(chan error, len(tbls))
	for _, tbl := range tbls {
		go func() {
			ch := sparseBatches(mem, tbl, batches, rows)
			_, err := d.Write(ctx, "acme", tbl, ch)
			for b := range ch { // what a failed Write left, as the engine drains it
				b.Record.Release()
			}
			errs <- err
		}()
	}
	var out []error
	for range tbls {
		if err := <-errs; err != nil {
			out = append(out, err)
		}
	}
	return out
}

func memoryLimit(t *testing.T, d *duckdb.Destination) string {
	t.Helper()
	var got string
	if err := d.DB().QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')").Scan(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestWideTableMemory: DuckDB pins a block of every column while it moves
// rows into a table, so what a Write needs grows with the table's width.
// Sites with hundreds of custom fields are common; with the default
// memory_limit a 300-column issues table failed its merge with "could not
// allocate block" after 28,000 rows, and three 100-column tables merging at
// the same moment failed even at 400 MB. Each case here failed before the
// fix (jsync sizing the limit to the widest table, and merges taking
// turns).
func TestWideTableMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 32,000 rows of 300 columns")
	}
	tests := []struct {
		name              string
		tables, cols      int
		batches, rows     int
		wantLimitAtLeastB int64
	}{
		{"one table of 300 columns", 1, 300, 16, 2000, duckdb.WriteMemory(301)},
		{"three tables of 100 columns merging at once", 3, 100, 12, 2000, duckdb.WriteMemory(101)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(t.TempDir(), "wide.duckdb")})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			tbls := sparseTables(t, d, tt.tables, tt.cols)
			for _, err := range writeAll(t.Context(), d, mem, tbls, tt.batches, tt.rows) {
				t.Error(err)
			}
			for _, tbl := range tbls {
				var n int
				if err := d.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM "+d.TableName("acme", tbl.Name)).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if want := tt.batches * tt.rows; n != want {
					t.Errorf("%s has %d rows, want %d", tbl.Name, n, want)
				}
			}
			// jsync sets whole MiB; DuckDB shows a tenth of one.
			got := memoryLimit(t, d)
			b, err := bytesize.Parse(got)
			if err != nil {
				t.Fatalf("memory_limit %q: %v", got, err)
			}
			if want := tt.wantLimitAtLeastB >> 20 << 20; b < want-(1<<20)/10 {
				t.Errorf("memory_limit = %s after writing %d columns, want at least %d MiB", got, tt.cols, want>>20)
			}
		})
	}
}

// TestExplicitMemoryLimitTooSmall: a memory_limit the user set is kept,
// even when it is too small for a table, and the error then says which
// limit to set.
func TestExplicitMemoryLimitTooSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 32,000 rows of 300 columns")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(t.TempDir(), "wide.duckdb"), MemoryLimit: "192MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tbls := sparseTables(t, d, 1, 300)
	errs := writeAll(t.Context(), d, mem, tbls, 16, 2000)
	if len(errs) != 1 {
		t.Fatalf("errors = %v, want one out-of-memory error", errs)
	}
	need := (duckdb.WriteMemory(301) + 999_999) / 1_000_000
	if msg := errs[0].Error(); !strings.Contains(msg, fmt.Sprintf(`raise memory_limit in the destination block to at least "%dMB"`, need)) ||
		!strings.Contains(msg, "a table of 301 columns") {
		t.Errorf("error does not say what to do:\n%s", msg)
	}
	if msg := errs[0].Error(); strings.Contains(msg, "SET threads") {
		t.Errorf("error passes on DuckDB's advice for SQL users:\n%s", msg)
	}
	if got := memoryLimit(t, d); got != "183.1 MiB" {
		t.Errorf("memory_limit = %s, want the 192MB the user set", got)
	}
}

// TestPlanMemory: the plan warns of a table too wide for the default
// memory_limit, and of a limit set too low for it.
func TestPlanMemory(t *testing.T) {
	table := func(name string, cols int) *schema.Table {
		cs := []schema.Column{{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true}}
		for i := 1; i < cols; i++ {
			cs = append(cs, schema.Column{Name: fmt.Sprintf("c%d", i), Type: arrow.BinaryTypes.String})
		}
		return &schema.Table{Name: name, Columns: cs}
	}
	standard := []*schema.Table{table("issues", 75), table("issue_comments", 15), table("changelogs", 10)}
	wide := []*schema.Table{table("issues", 475), table("issue_comments", 15), table("changelogs", 10)}
	need := (duckdb.WriteMemory(475, 15, 10) + 999_999) / 1_000_000
	tests := []struct {
		name   string
		limit  string
		tables []*schema.Table
		want   string // "" for no warning
	}{
		{"standard schema, default limit", "", standard, ""},
		{"standard schema, limit set", "192MB", standard, ""},
		{"wide, default limit", "", wide, fmt.Sprintf("table issues has 475 columns: while writing, jsync raises DuckDB's memory_limit to up to %d MB", need)},
		{"wide, limit too low", "192MB", wide, fmt.Sprintf(`and the destination sets 192MB, so the sync would fail: raise memory_limit in the destination block to at least "%dMB"`, need)},
		{"wide, limit too low in GiB", "0.5GiB", wide, "so the sync would fail"},
		{"wide, limit enough", "2GB", wide, ""},
		{"wide, limit enough in GiB", "1GiB", wide, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(t.TempDir(), "p.duckdb"), MemoryLimit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got := d.PlanMemory(tt.tables)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("PlanMemory = %q, want no warning", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("PlanMemory = %q, want one warning containing %q", got, tt.want)
			}
		})
	}
}
