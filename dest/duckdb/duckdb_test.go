//go:build duckdb_arrow

package duckdb_test

import (
	"database/sql"
	"path/filepath"
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
