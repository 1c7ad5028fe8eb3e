package dest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

func TestLockFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.lock")
	info := dest.LockInfo{PID: 42, Host: "h", Since: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Op: "apply"}
	unlock, err := dest.LockFile(ctx, path, info, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := dest.ReadLockFile(path); !ok || got != info {
		t.Errorf("ReadLockFile = %+v, %v; want %+v", got, ok, info)
	}
	_, err = dest.LockFile(ctx, path, dest.LockInfo{PID: 7}, 0)
	le, ok := errors.AsType[*dest.ErrLocked](err)
	if !ok || le.Holder != info || le.Path != path {
		t.Fatalf("second LockFile = %v, want ErrLocked naming %+v", err, info)
	}
	if !strings.Contains(err.Error(), "pid 42 on h since 2025-01-02T03:04:05Z (apply)") {
		t.Errorf("error %q does not name the holder", err)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dest.LockFile(ctx2, path, info, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("LockFile with a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if _, ok := dest.ReadLockFile(path); ok {
		t.Error("holder still recorded after unlock")
	}
	unlock, err = dest.LockFile(ctx, path, info, 0)
	if err != nil {
		t.Fatalf("LockFile after unlock: %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := dest.ReadLockFile(path); ok {
		t.Error("ReadLockFile accepted garbage")
	}
	if _, err := dest.LockFile(ctx, filepath.Join(path, "sub"), info, 0); err == nil {
		t.Error("LockFile under a file succeeded")
	}
}

func TestCheckRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "v", Type: arrow.BinaryTypes.String},
	}}
	i64 := func(vals ...*int64) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for _, v := range vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(*v)
			}
		}
		return b.NewArray()
	}
	str := func(n int) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for range n {
			b.Append("x")
		}
		return b.NewArray()
	}
	one := int64(1)
	tests := []struct {
		name   string
		fields []arrow.Field
		cols   func() []arrow.Array
		want   string
	}{
		{"ok", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "v", Type: arrow.BinaryTypes.String, Nullable: true}},
			func() []arrow.Array { return []arrow.Array{i64(&one), str(1)} }, ""},
		{"subset", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}},
			func() []arrow.Array { return []arrow.Array{i64(&one)} }, ""},
		{"no key", []arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}},
			func() []arrow.Array { return []arrow.Array{str(1)} }, "lacks primary-key column id"},
		{"null key", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}},
			func() []arrow.Array { return []arrow.Array{i64(&one, nil)} }, "1 null values"},
		{"unknown", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "w", Type: arrow.BinaryTypes.String}},
			func() []arrow.Array { return []arrow.Array{i64(&one), str(1)} }, `unknown column "w"`},
		{"wrong type", []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}},
			func() []arrow.Array { return []arrow.Array{str(1)} }, "column id has type utf8 in the record, want int64"},
		{"twice", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "id", Type: arrow.PrimitiveTypes.Int64}},
			func() []arrow.Array { return []arrow.Array{i64(&one), i64(&one)} }, `column "id" twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cols := tc.cols()
			rec := array.NewRecordBatch(arrow.NewSchema(tc.fields, nil), cols, int64(cols[0].Len()))
			for _, c := range cols {
				c.Release()
			}
			defer rec.Release()
			err := dest.CheckRecord(tbl, rec)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckRecord = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckRecord = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestMatchColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tbl := &schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.BinaryTypes.String},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}}
	tests := []struct {
		name   string
		fields []arrow.Field
		nulls  bool
		cols   string
		byKey  bool
		want   string
	}{
		{"key", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, false, "id", true, ""},
		{"null key", []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, true, "", false, "1 null values"},
		{"column", []arrow.Field{{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, true, "issue_id", false, ""},
		{"columns sorted", []arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}, {Name: "id", Type: arrow.PrimitiveTypes.Int64}}, false, "id,v", false, ""},
		{"unknown", []arrow.Field{{Name: "w", Type: arrow.BinaryTypes.String}}, false, "", false, `unknown column "w"`},
		{"wrong type", []arrow.Field{{Name: "issue_id", Type: arrow.BinaryTypes.String}}, false, "", false, "column issue_id has type utf8 in the record, want int64"},
		{"twice", []arrow.Field{{Name: "v", Type: arrow.BinaryTypes.String}, {Name: "v", Type: arrow.BinaryTypes.String}}, false, "", false, `column "v" twice`},
		{"nested", []arrow.Field{{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, false, "", false, "nested type"},
		{"none", nil, false, "", false, "no columns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := array.NewRecordBuilder(mem, arrow.NewSchema(tc.fields, nil))
			defer b.Release()
			for _, fb := range b.Fields() {
				fb.AppendEmptyValue()
				if tc.nulls {
					fb.AppendNull()
				} else {
					fb.AppendEmptyValue()
				}
			}
			rec := b.NewRecordBatch()
			defer rec.Release()
			cols, byKey, err := dest.MatchColumns(tbl, rec)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("MatchColumns = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("MatchColumns = %v, want an error containing %q", err, tc.want)
			case tc.want == "" && (strings.Join(cols, ",") != tc.cols || byKey != tc.byKey):
				t.Errorf("MatchColumns = %q, %v; want %q, %v", cols, byKey, tc.cols, tc.byKey)
			}
		})
	}
}
