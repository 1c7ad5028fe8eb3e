//go:build duckdb_arrow

package duckdb

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestReadTableDefs: reading every table of a schema at once gives what
// reading each one gives, for tables keyed in _jsync.keys and a table of
// an older version keyed by a PRIMARY KEY constraint, and leaves out the
// tables of other schemas.
func TestReadTableDefs(t *testing.T) {
	ctx := t.Context()
	d, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "jsync.duckdb")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tables := []*schema.Table{
		{Name: "one", Description: "One key.", Columns: []schema.Column{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true, Description: "The key."},
			{Name: "v", Type: arrow.BinaryTypes.String},
		}},
		{Name: "two", Columns: []schema.Column{
			{Name: "a", Type: arrow.BinaryTypes.String, PrimaryKey: true},
			{Name: "b", Type: arrow.PrimitiveTypes.Int32, PrimaryKey: true},
			{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Description: "When."},
		}},
	}
	for _, ns := range []dest.Namespace{"acme", "other"} {
		changes, err := d.PlanMigrations(ctx, ns, tables)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(ctx, ns, changes, dest.MigrateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE acme.legacy (id BIGINT PRIMARY KEY, v VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	all, err := readTableDefs(ctx, d.db, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("read %d tables of acme, want 3: %v", len(all), all)
	}
	for name, def := range all {
		one, err := readTableDef(ctx, d.db, "acme", name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(one, def) {
			t.Errorf("%s read alone = %+v, read with the others = %+v", name, one, def)
		}
	}
	want := map[string]struct {
		pk          []string
		constrained bool
		cols        int
		comment     string
	}{
		"one":    {[]string{"id"}, false, 2, "One key."},
		"two":    {[]string{"a", "b"}, false, 3, ""},
		"legacy": {[]string{"id"}, true, 2, ""},
	}
	for name, w := range want {
		def := all[name]
		if def == nil || !reflect.DeepEqual(def.pk, w.pk) || def.constrained != w.constrained || len(def.cols) != w.cols || def.comment != w.comment {
			t.Errorf("%s = %+v, want key %v (constraint %v), %d columns, comment %q", name, def, w.pk, w.constrained, w.cols, w.comment)
		}
	}
	if c := all["two"].col("at"); c == nil || c.typ != "TIMESTAMP WITH TIME ZONE" || c.comment != "When." || c.notNull {
		t.Errorf("two.at = %+v", c)
	}
	if missing, err := readTableDef(ctx, d.db, "acme", "missing"); err != nil || missing != nil {
		t.Errorf("missing table = %+v, %v; want nil", missing, err)
	}
}
