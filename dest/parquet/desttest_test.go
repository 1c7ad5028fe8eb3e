package parquet

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/desttest"
)

func TestConformance(t *testing.T) {
	desttest.Run(t, func(t *testing.T, dir string) dest.Destination {
		d, err := Open(t.Context(), Options{Path: dir, BucketWidth: 16})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, desttest.Options{Relation: relation})
}

func TestConformanceHashBuckets(t *testing.T) {
	if testing.Short() {
		t.Skip("one bucketing scheme is enough in -short")
	}
	desttest.Run(t, func(t *testing.T, dir string) dest.Destination {
		d, err := Open(t.Context(), Options{Path: dir, BucketWidth: -1, Buckets: 3})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, desttest.Options{Relation: relation})
}

func TestConformancePartitioned(t *testing.T) {
	desttest.Run(t, func(t *testing.T, dir string) dest.Destination {
		d, err := Open(t.Context(), Options{Path: dir, PartitionBy: map[string]string{"issues": "summary"}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, desttest.Options{Relation: relation})
}

// relation reads a table the way a user would: DuckDB's read_parquet over
// the table's glob with Hive partitioning, and the run log with read_json.
func relation(t *testing.T, d dest.Destination, ns dest.Namespace, table string) (*sql.DB, string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("open duckdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	root := d.(*Destination).root
	if ns == "_jsync" && table == "runs" {
		return db, fmt.Sprintf(`read_json('%s', format = 'newline_delimited', columns = {
			id: 'VARCHAR', sync: 'VARCHAR', "table": 'VARCHAR', status: 'VARCHAR', error: 'VARCHAR',
			started_at: 'TIMESTAMPTZ', finished_at: 'TIMESTAMPTZ', inserted: 'BIGINT', updated: 'BIGINT',
			deleted: 'BIGINT', requests: 'BIGINT'})`, filepath.Join(root, "_jsync", "runs.jsonl"))
	}
	return db, fmt.Sprintf("read_parquet('%s', hive_partitioning = true, hive_types_autocast = false)", filepath.Join(root, ns, table, "**", "*.parquet"))
}
