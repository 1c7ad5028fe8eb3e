//go:build duckdb_arrow

package duckdb

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
)

// TestWriteRegistersOneView checks that a Write of many batches registers
// one Arrow view (its feed), not one per batch: each registration leaks
// its exported schema inside DuckDB (see feed). The rows, the last key's
// last value and Arrow memory are checked too.
func TestWriteRegistersOneView(t *testing.T) {
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
			var bs []dest.Batch
			for i := range int64(50) {
				// Key 1 repeats in every batch: the last batch's value wins.
				bs = append(bs, dest.Batch{Record: itemsRecord(mem, "v"+string(rune('a'+i%26)), 1, 100+i)})
			}
			bs[len(bs)-1].State = st("c")
			before := viewSeq.Load()
			if err := tt.write(bs...); err != nil {
				t.Fatal(err)
			}
			if n := viewSeq.Load() - before; n != 1 {
				t.Errorf("%d Arrow views registered for 50 batches, want 1", n)
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
