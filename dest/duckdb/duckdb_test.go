//go:build duckdb_arrow

package duckdb_test

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/desttest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
)

func openIn(t *testing.T, dir string) dest.Destination {
	t.Helper()
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(dir, "jsync.duckdb")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d
}

func relation(t *testing.T, d dest.Destination, ns dest.Namespace, table string) (*sql.DB, string) {
	dd := d.(*duckdb.Destination)
	if ns == duckdb.MetaSchema {
		return dd.DB(), duckdb.MetaSchema + "." + table
	}
	return dd.DB(), dd.TableName(ns, table)
}

func TestConformance(t *testing.T) {
	desttest.Run(t, openIn, desttest.Options{Relation: relation})
}

// TestWriteSettings: a destination open for writing runs DuckDB with one
// worker thread (its tables are written from parallel connections); its
// allocator keeps DuckDB's flush threshold until a write of some size
// (flushAfter), and then hands freed memory back past 4 MiB freed at once,
// purges with jemalloc's background thread and skips the muzzy stage; a
// read-only one keeps DuckDB's defaults.
func TestWriteSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.duckdb")
	setting := func(d *duckdb.Destination, name string) string {
		t.Helper()
		var v string
		if err := d.DB().QueryRowContext(t.Context(), "SELECT current_setting('"+name+"')::VARCHAR").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	tbl := &schema.Table{Name: "docs", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "title", Type: arrow.BinaryTypes.String},
		{Name: "raw", Type: arrow.BinaryTypes.String, JSON: true},
	}}
	migrate(t, d, tbl)
	defer duckdb.SetFlushAfter(duckdb.SetFlushAfter(100_000))
	write(t, d, tbl, 0, 10) // a few KB
	small := setting(d, "allocator_bulk_deallocation_flush_threshold")
	write(t, d, tbl, 10, 2000) // past 100,000 bytes
	writing := map[string]string{
		"threads":    setting(d, "threads"),
		"flush":      setting(d, "allocator_bulk_deallocation_flush_threshold"),
		"background": setting(d, "allocator_background_threads"),
	}
	dirty, muzzy, jemalloc := duckdb.AllocatorDecay()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := duckdb.Open(t.Context(), duckdb.Options{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer r.Close()
	reading := map[string]string{
		"threads": setting(r, "threads"),
		"flush":   setting(r, "allocator_bulk_deallocation_flush_threshold"),
	}
	for _, c := range []struct {
		what, got string
		ok        func(string) bool
		want      string
	}{
		{"threads while writing", writing["threads"], func(v string) bool { return v == "1" }, "1"},
		{"threads read-only", reading["threads"], func(v string) bool { return runtime.NumCPU() == 1 || v != "1" }, "DuckDB's default"},
		{"flush threshold after a small write", small, func(v string) bool { return v == reading["flush"] }, "DuckDB's default " + reading["flush"]},
		{"flush threshold after a large write", writing["flush"], func(v string) bool { return v == "4.0 MiB" }, "4.0 MiB"},
		{"flush threshold read-only", reading["flush"], func(v string) bool { return v != "4.0 MiB" }, "DuckDB's default"},
		{"allocator background threads while writing", writing["background"], func(v string) bool { return v == "true" }, "true"},
	} {
		if !c.ok(c.got) {
			t.Errorf("%s = %q, want %s", c.what, c.got, c.want)
		}
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && !jemalloc {
		t.Error("DuckDB's jemalloc was not found: the allocator settings of skipMuzzyPages were not made")
	}
	if jemalloc && (muzzy != 0 || dirty <= 0) {
		t.Errorf("jemalloc decay: dirty %v, muzzy %v; want DuckDB's dirty decay and no muzzy stage", dirty, muzzy)
	}
}

// TestMemoryLimit: Options.MemoryLimit becomes DuckDB's memory_limit; a
// value DuckDB refuses fails Open with the setting named.
func TestMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(dir, "a.duckdb"), MemoryLimit: "64MB"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer d.Close()
	var got string
	if err := d.DB().QueryRowContext(t.Context(), "SELECT current_setting('memory_limit')").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "61.0 MiB" && got != "64.0 MB" && got != "61.0MiB" {
		t.Errorf("memory_limit = %q, want 64MB", got)
	}
	_, err = duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(dir, "b.duckdb"), MemoryLimit: "lots"})
	if err == nil || !strings.Contains(err.Error(), "memory_limit lots") {
		t.Errorf("Open with a bad memory limit: %v", err)
	}
}
