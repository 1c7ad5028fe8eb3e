//go:build duckdb_arrow

package duckdb

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
)

// TestFeedBindsOnce checks that a Write of many batches registers one
// Arrow view (its feed), not one per batch, and that DuckDB asks for the
// view's schema as often for 50 batches as for one: DuckDB leaks each
// schema it is given (see feed). The rows, the last key's last value and
// Arrow memory are checked too.
func TestFeedBindsOnce(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, _, tbl := openItems(t)

	tests := []struct {
		name  string
		write func(bs ...dest.Batch) error
	}{
		{"write", func(bs ...dest.Batch) error { _, err := d.Write(ctx, "acme", tbl, batches(bs...)); return err }},
		{"replace", func(bs ...dest.Batch) error { _, err := d.Replace(ctx, "acme", tbl, batches(bs...)); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exports := map[int]uint64{}
			for _, n := range []int64{1, 50} {
				var bs []dest.Batch
				for i := range n {
					// Key 1 repeats in every batch: the last batch's value wins.
					bs = append(bs, dest.Batch{Record: itemsRecord(mem, "v"+string(rune('a'+i%26)), 1, 100+i)})
				}
				bs[len(bs)-1].State = st("c")
				views, before := viewSeq.Load(), schemaExports.Load()
				if err := tt.write(bs...); err != nil {
					t.Fatal(err)
				}
				if v := viewSeq.Load() - views; v != 1 {
					t.Errorf("%d Arrow views registered for %d batches, want 1", v, n)
				}
				exports[int(n)] = schemaExports.Load() - before
			}
			if exports[1] == 0 {
				t.Error("DuckDB never asked for the feed's schema: the count that detects binds is not wired")
			}
			if exports[50] != exports[1] {
				t.Errorf("DuckDB asked for the feed's schema %d times for 50 batches, %d times for 1", exports[50], exports[1])
			}
			var rows int
			var v string
			if err := d.DB().QueryRowContext(ctx, "SELECT count(*), max(v) FILTER (WHERE id = 1) FROM acme.items").Scan(&rows, &v); err != nil {
				t.Fatal(err)
			}
			if rows != 51 { // keys 1 and 100-149
				t.Errorf("%d rows, want 51", rows)
			}
			if v != "vx" { // batch 49: 'a'+49%26
				t.Errorf("key 1 = %q, want the last batch's vx", v)
			}
		})
	}
}

// TestFeedPreparesAgain checks that a catalog change committed by another
// connection costs a feed one more bind, not one per batch: DuckDB binds a
// prepared statement again on every run after such a change, so the feed
// prepares it anew.
func TestFeedPreparesAgain(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := t.Context()
	d, _, tbl := openItems(t)
	conn, err := d.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w, err := d.openPending(ctx, conn, "acme", tbl)
	if err != nil {
		t.Fatal(err)
	}
	f, err := openFeed(conn, tbl.ArrowSchema())
	insert := f.insertInto(w.qualified, columnList(f.view))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.close(ctx, conn); err != nil {
			t.Error(err)
		}
	}()
	// group appends n batches in one transaction and reports how often
	// DuckDB asked for the schema meanwhile.
	group := func(n int) uint64 {
		t.Helper()
		before := f.rdr.exports.Load()
		err := d.runTx(ctx, conn, func() error {
			for i := range n {
				rec := itemsRecord(mem, "v", int64(i))
				err := f.run(ctx, conn, insert, rec, int64(i))
				rec.Release()
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return f.rdr.exports.Load() - before
	}
	if n := group(10); n != 1 {
		t.Errorf("first group: %d schema requests, want 1 (the prepare)", n)
	}
	if n := group(10); n != 0 {
		t.Errorf("second group: %d schema requests, want 0", n)
	}
	for i := range 2 {
		if _, err := d.DB().ExecContext(ctx, fmt.Sprintf("CREATE TABLE acme.other%d (a INT)", i)); err != nil {
			t.Fatal(err)
		}
		if n := group(10); n != 2 {
			t.Errorf("group after catalog change %d: %d schema requests, want 2 (the bind it forced, the new prepare)", i, n)
		}
	}
	var rows int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+w.qualified).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 40 {
		t.Errorf("%d pending rows, want 40", rows)
	}
}
