//go:build duckdb_arrow

package duckdb

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
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestExtraColumnsKept: once a table has a column the definition no longer
// has (a custom field deleted in Jira, a narrower columns selection), its
// records still take the fast path (no upsertPartial, which used to run
// for every batch, 3-15 times slower), and a row written again keeps the
// stored value of the extra column, as a row not written again does. Both
// for tables keyed through _jsync.keys and for tables of early versions
// with a PRIMARY KEY constraint.
func TestExtraColumnsKept(t *testing.T) {
	for _, constrained := range []bool{false, true} {
		t.Run(fmt.Sprintf("constrained=%v", constrained), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := t.Context()
			d, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "x.duckdb")})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = d.Close() }()
			narrow := &schema.Table{Name: "docs", Replication: schema.Incremental, Columns: []schema.Column{
				{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
				{Name: "title", Type: arrow.BinaryTypes.String},
			}}
			wide := *narrow
			wide.Columns = append(append([]schema.Column(nil), narrow.Columns...), schema.Column{Name: "gone", Type: arrow.BinaryTypes.String})
			migrate := func(tbl *schema.Table, want schema.ChangeKind) {
				t.Helper()
				changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
				if err != nil {
					t.Fatal(err)
				}
				if len(changes) != 1 || changes[0].Kind != want {
					t.Fatalf("changes = %v, want one %v", changes, want)
				}
				if err := d.Migrate(ctx, "acme", changes, dest.MigrateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if constrained {
				if err := execAll(ctx, d.DB(), `CREATE SCHEMA acme`, `CREATE TABLE acme.docs (id BIGINT PRIMARY KEY, title VARCHAR, gone VARCHAR)`); err != nil {
					t.Fatal(err)
				}
			} else {
				migrate(&wide, schema.CreateTable)
			}
			rec := func(tbl *schema.Table, rows ...[]any) arrow.RecordBatch {
				b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
				defer b.Release()
				for _, r := range rows {
					for i, v := range r {
						switch v := v.(type) {
						case int:
							b.Field(i).(*array.Int64Builder).Append(int64(v))
						case string:
							b.Field(i).(*array.StringBuilder).Append(v)
						}
					}
				}
				return b.NewRecordBatch()
			}
			write := func(tbl *schema.Table, recs ...arrow.RecordBatch) dest.WriteStats {
				t.Helper()
				bs := make([]dest.Batch, len(recs))
				for i, r := range recs {
					bs[i] = dest.Batch{Record: r}
				}
				stats, err := d.Write(ctx, "acme", tbl, batches(bs...))
				if err != nil {
					t.Fatal(err)
				}
				return stats
			}
			write(&wide, rec(&wide, []any{1, "t1", "g1"}, []any{2, "t2", "g2"}, []any{3, "t3", "g3"}, []any{4, "t4", "g4"}))

			migrate(narrow, schema.ExtraColumn)
			before := partialUpserts.Load()
			// Key 2 twice in one Write, in two batches; 5 is new.
			stats := write(narrow, rec(narrow, []any{2, "u2"}, []any{5, "n5"}), rec(narrow, []any{2, "u2b"}, []any{3, "u3"}))
			if stats != (dest.WriteStats{Inserted: 1, Updated: 2}) {
				t.Errorf("stats = %+v, want 1 inserted, 2 updated", stats)
			}
			write(narrow, rec(narrow, []any{4, "u4"}))
			write(narrow, rec(narrow, []any{4, "u4b"}, []any{5, "n5b"}))
			if n := partialUpserts.Load() - before; n != 0 {
				t.Errorf("%d records took the partial path; a record lacking only extra columns must not", n)
			}
			var got []string
			rows, err := d.DB().QueryContext(ctx, `SELECT id, title, coalesce(gone, 'NULL') FROM acme.docs ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var title, gone sql.NullString
				if err := rows.Scan(&id, &title, &gone); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%d=%s/%s", id, title.String, gone.String))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if g, want := strings.Join(got, " "), "1=t1/g1 2=u2b/g2 3=u3/g3 4=u4b/g4 5=n5b/NULL"; g != want {
				t.Errorf("rows = %s\nwant   %s", g, want)
			}
		})
	}
}
