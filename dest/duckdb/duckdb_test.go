//go:build duckdb_arrow

package duckdb_test

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/desttest"
	"github.com/jsync-dev/jsync/dest/duckdb"
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

// TestWriteThreads: a destination open for writing runs DuckDB with one
// worker thread (its tables are written from parallel connections); a
// read-only one keeps DuckDB's default.
func TestWriteThreads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.duckdb")
	threads := func(d *duckdb.Destination) int {
		t.Helper()
		var n int
		if err := d.DB().QueryRowContext(t.Context(), "SELECT current_setting('threads')::INTEGER").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if n := threads(d); n != 1 {
		t.Errorf("threads while writing = %d, want 1", n)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := duckdb.Open(t.Context(), duckdb.Options{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatalf("Open read-only: %v", err)
	}
	defer r.Close()
	if n := threads(r); runtime.NumCPU() > 1 && n == 1 {
		t.Errorf("threads read-only = %d, want DuckDB's default", n)
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
