package spool

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func record(t *testing.T, mem memory.Allocator, ids []int64, names []string) arrow.RecordBatch {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	for _, n := range names {
		if n == "" {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(n)
		}
	}
	return b.NewRecordBatch()
}

func keysOnly(t *testing.T, mem memory.Allocator, keys []string) arrow.RecordBatch {
	t.Helper()
	sc := arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(keys, nil)
	return b.NewRecordBatch()
}

type put struct {
	kind Kind
	rec  func(*testing.T, memory.Allocator) arrow.RecordBatch
	meta string
}

// TestRoundTrip reads back what was appended, in order, with the records'
// schemas and values (NULLs included), while the records read earlier are
// still held: a record must not alias the reader's reused buffer.
func TestRoundTrip(t *testing.T) {
	long := strings.Repeat("jira ", 50_000)
	cases := []struct {
		name string
		puts []put
	}{
		{"empty", nil},
		{"records", []put{
			{1, func(t *testing.T, m memory.Allocator) arrow.RecordBatch {
				return record(t, m, []int64{1, 2, 3}, []string{"a", "", "c"})
			}, ""},
			{1, func(t *testing.T, m memory.Allocator) arrow.RecordBatch {
				return record(t, m, []int64{4}, []string{long})
			}, ""},
		}},
		{"mixed kinds and schemas", []put{
			{1, func(t *testing.T, m memory.Allocator) arrow.RecordBatch {
				return record(t, m, []int64{7}, []string{"x"})
			}, ""},
			{2, func(t *testing.T, m memory.Allocator) arrow.RecordBatch {
				return keysOnly(t, m, []string{"ISS-1", "ISS-2"})
			}, `{"at":"2026-11-30T00:00:00Z"}`},
			{3, nil, "meta only"},
			{1, func(t *testing.T, m memory.Allocator) arrow.RecordBatch {
				return record(t, m, nil, nil) // no rows
			}, ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := t.TempDir()
			w, err := Create(dir, "t-*.spool", mem)
			if err != nil {
				t.Fatal(err)
			}
			var want []arrow.RecordBatch
			for _, p := range c.puts {
				var rec arrow.RecordBatch
				if p.rec != nil {
					rec = p.rec(t, mem)
				}
				if err := w.Append(p.kind, rec, []byte(p.meta)); err != nil {
					t.Fatal(err)
				}
				want = append(want, rec)
			}
			if w.Len() != int64(len(c.puts)) || w.Size() <= int64(len(magic)) && len(c.puts) > 0 {
				t.Fatalf("Len %d Size %d after %d entries", w.Len(), w.Size(), len(c.puts))
			}
			r, err := w.Reader(mem)
			if err != nil {
				t.Fatal(err)
			}
			var got []Entry
			for {
				e, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e)
			}
			if len(got) != len(c.puts) {
				t.Fatalf("read %d entries, want %d", len(got), len(c.puts))
			}
			for i, p := range c.puts {
				e := got[i]
				if e.Kind != p.kind || string(e.Meta) != p.meta {
					t.Errorf("entry %d: kind %d meta %q, want %d %q", i, e.Kind, e.Meta, p.kind, p.meta)
				}
				switch {
				case want[i] == nil && e.Record != nil:
					t.Errorf("entry %d: a record where none was appended", i)
				case want[i] != nil && (e.Record == nil || !array.RecordEqual(want[i], e.Record)):
					t.Errorf("entry %d: record differs:\n got %v\nwant %v", i, e.Record, want[i])
				}
			}
			for i := range got {
				if got[i].Record != nil {
					got[i].Record.Release()
				}
				if want[i] != nil {
					want[i].Release()
				}
			}
			name := r.f.Name()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("spool file left after Close: %v", err)
			}
		})
	}
}

// TestDamaged: a truncated or altered file fails with the entry's number,
// never ends early as if it were complete.
func TestDamaged(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(b []byte) []byte
		wantErr string
	}{
		{"truncated inside the second entry", func(b []byte) []byte { return b[:len(b)-10] }, "entry 2 is damaged"},
		{"truncated inside a header", func(b []byte) []byte { return b[:len(magic)+3] }, "entry 1 is damaged"},
		{"flipped byte", func(b []byte) []byte { b[len(b)-20] ^= 0xff; return b }, "entry 2 is damaged: checksum mismatch"},
		{"not a spool file", func(b []byte) []byte { return append([]byte("PAR1"), b[4:]...) }, "not a spool file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			w, err := Create(t.TempDir(), "t-*.spool", mem)
			if err != nil {
				t.Fatal(err)
			}
			for _, ids := range [][]int64{{1, 2}, {3, 4, 5}} {
				rec := record(t, mem, ids, make([]string, len(ids)))
				if err := w.Append(1, rec, nil); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := w.bw.Flush(); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(w.Name())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(w.Name(), c.damage(raw), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := w.Reader(mem)
			if err == nil {
				defer r.Close()
				for err == nil {
					var e Entry
					e, err = r.Next()
					if e.Record != nil {
						e.Record.Release()
					}
				}
			}
			if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// TestRemove deletes the file of a spool that is not read back.
func TestRemove(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, "t-*.spool", memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(3, nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Remove(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}
