//go:build duckdb_arrow

package duckdb_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jsync-dev/jsync/dest/desttest"
)

func TestDiffThroughParquet(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	file := filepath.Join(dir, "t.parquet")
	for _, q := range []string{
		`CREATE TABLE a AS SELECT * FROM (VALUES (1, 'x', [1, 2]), (2, NULL, []), (2, NULL, [])) v(id, s, l)`,
		`COPY a TO '` + file + `' (FORMAT PARQUET)`,
		`CREATE TABLE b AS SELECT * FROM (VALUES (1, 'x', [1, 2]), (2, NULL, []), (3, 'y', NULL)) v(id, s, l)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	desttest.SameRows(t, db, "a", "read_parquet('"+file+"')")
	onlyA, onlyB, err := desttest.Diff(t.Context(), db, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	// a has id 2 twice; b has it once and id 3 instead.
	if len(onlyA) != 1 || onlyA[0][0] != int32(2) || len(onlyB) != 1 || onlyB[0][0] != int32(3) {
		t.Errorf("Diff(a, b) = %v / %v, want the second id 2 / id 3", onlyA, onlyB)
	}
}
