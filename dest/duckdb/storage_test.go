//go:build duckdb_arrow

package duckdb_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// TestStorageVersion: a file jsync creates has the storage format of
// Options.StorageVersion (DefaultStorageVersion unless set), and its JSON
// columns, created with the table or added later, are compressed with
// ZSTD when that format has it. A file in an older format keeps its
// format, and its JSON columns keep DuckDB's own choice (ZSTD would leave
// them uncompressed there). Tables rebuilt by Replace keep ZSTD.
func TestStorageVersion(t *testing.T) {
	tests := []struct {
		name     string
		create   string // StorageVersion when the file is created
		reopen   string // StorageVersion of the second Open
		wantTag  string
		wantZSTD bool
	}{
		{"default", "", "", "v1.2.0+", true},
		{"explicit current", "v1.2.0", "v1.2.0", "v1.2.0+", true},
		{"older format", "v1.0.0", "v1.0.0", "v1.0.0+", false},
		{"older file, default options", "v1.0.0", "", "v1.0.0+", false},
		{"newer file, older option", "v1.2.0", "v1.0.0", "v1.2.0+", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jsync.duckdb")
			base := &schema.Table{Name: "docs", Replication: schema.Incremental, Columns: []schema.Column{
				{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
				{Name: "title", Type: arrow.BinaryTypes.String},
				{Name: "raw", Type: arrow.BinaryTypes.String, JSON: true},
			}}
			wider := &schema.Table{Name: base.Name, Replication: base.Replication,
				Columns: append(append([]schema.Column(nil), base.Columns...), schema.Column{Name: "extra", Type: arrow.BinaryTypes.String, JSON: true})}
			catalogue := &schema.Table{Name: "kinds", Replication: schema.FullTable, Columns: base.Columns}

			d := openVersion(t, path, tt.create)
			migrate(t, d, base, catalogue)
			write(t, d, base, 0, 3000)
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			d = openVersion(t, path, tt.reopen)
			migrate(t, d, wider)
			write(t, d, wider, 3000, 3000)
			replace(t, d, catalogue, 3000)
			db := closeAndRead(t, d, path)
			var tag string
			if err := db.QueryRow(`SELECT tags['storage_version'] FROM duckdb_databases() WHERE database_name = current_database()`).Scan(&tag); err != nil {
				t.Fatal(err)
			}
			if tag != tt.wantTag {
				t.Errorf("storage version %q, want %q", tag, tt.wantTag)
			}
			for _, c := range []struct {
				table, column string
				zstd          bool
			}{
				{"docs", "raw", tt.wantZSTD},
				{"docs", "extra", tt.wantZSTD},
				{"kinds", "raw", tt.wantZSTD},
				{"docs", "title", false},
			} {
				methods := compressions(t, db, "acme."+c.table, c.column)
				if got := strings.Contains(methods, "ZSTD"); got != c.zstd {
					t.Errorf("%s.%s compressed with %s, want ZSTD: %v", c.table, c.column, methods, c.zstd)
				}
				if strings.Contains(methods, "Uncompressed") {
					t.Errorf("%s.%s has uncompressed segments: %s", c.table, c.column, methods)
				}
			}
			var rows int
			if err := db.QueryRow(`SELECT count(*) FROM acme.docs WHERE raw::VARCHAR = '{"id": ' || id || ', "body": "a paragraph of rich text that repeats"}'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 6000 {
				t.Errorf("%d rows read back intact, want 6000", rows)
			}
		})
	}
	for _, bad := range []struct{ version, want string }{
		{"1.2", `storage version "1.2" is not of the form v1.2.0`},
		{"v99.0.0", `storage version "v99.0.0" is not one DuckDB v1.`},
		{"v0.9.0", `storage version "v0.9.0" is not one DuckDB v1.`},
	} {
		t.Run("invalid "+bad.version, func(t *testing.T) {
			_, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(t.TempDir(), "a.duckdb"), StorageVersion: bad.version})
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("Open with storage version %q: %v, want %q", bad.version, err, bad.want)
			}
		})
	}
}

func openVersion(t *testing.T, path, version string) *duckdb.Destination {
	t.Helper()
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: path, StorageVersion: version})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d
}

// closeAndRead closes d and opens its file read-only, as any DuckDB client
// would; the database is closed when the test ends.
func closeAndRead(t *testing.T, d *duckdb.Destination, path string) *sql.DB {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// migrate creates or alters tables in namespace "acme".
func migrate(t *testing.T, d *duckdb.Destination, tables ...*schema.Table) {
	t.Helper()
	changes, err := d.PlanMigrations(t.Context(), "acme", tables)
	if err == nil {
		err = d.Migrate(t.Context(), "acme", changes, dest.MigrateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// docs returns n rows of tbl from id from, in one record batch.
func docs(t *testing.T, mem memory.Allocator, tbl *schema.Table, from, n int) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("title %d", i%7))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf(`{"id": %d, "body": "a paragraph of rich text that repeats"}`, i))
		for f := 3; f < len(tbl.Columns); f++ {
			b.Field(f).(*array.StringBuilder).Append(fmt.Sprintf(`{"n": %d}`, i))
		}
	}
	return b.NewRecordBatch()
}

func stream(t *testing.T, tbl *schema.Table, from, n int) (<-chan dest.Batch, func()) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ch := make(chan dest.Batch, 1)
	ch <- dest.Batch{Record: docs(t, mem, tbl, from, n), State: &state.TableState{Sync: "s", Table: tbl.Name, Cursor: fmt.Sprint(from + n)}}
	close(ch)
	return ch, func() { mem.AssertSize(t, 0) }
}

func write(t *testing.T, d *duckdb.Destination, tbl *schema.Table, from, n int) {
	t.Helper()
	ch, check := stream(t, tbl, from, n)
	defer check()
	if _, err := d.Write(t.Context(), "acme", tbl, ch); err != nil {
		t.Fatal(err)
	}
}

func replace(t *testing.T, d *duckdb.Destination, tbl *schema.Table, n int) {
	t.Helper()
	ch, check := stream(t, tbl, 0, n)
	defer check()
	if _, err := d.Replace(t.Context(), "acme", tbl, ch); err != nil {
		t.Fatal(err)
	}
}

// compressions lists the compression methods of column's data segments.
func compressions(t *testing.T, db *sql.DB, table, column string) string {
	t.Helper()
	var methods sql.NullString
	if err := db.QueryRow(`SELECT string_agg(DISTINCT compression, ',' ORDER BY compression) FROM pragma_storage_info(?)
		WHERE column_name = ? AND segment_type <> 'VALIDITY'`, table, column).Scan(&methods); err != nil {
		t.Fatal(err)
	}
	if !methods.Valid {
		t.Fatalf("%s.%s has no segments", table, column)
	}
	return methods.String
}
