package jira

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRowWriterBatchBound: a batch is full at the row bound, or earlier
// when its strings reach batchBytes (wide issue rows), and a flush resets
// both counts.
func TestRowWriterBatchBound(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w := newRowWriter(mem, issueCommentsTable(), "src", time.Now())
	defer w.Release()
	add := func(body string) {
		w.begin()
		_ = w.put("id", "1")
		_ = w.put("issue_id", "2")
		_ = w.put("body", body)
		w.end()
	}
	for _, tc := range []struct {
		name    string
		body    string
		maxRows int
		full    int // rows after which full() first reports true
	}{
		{"row bound", "short", 3, 3},
		{"byte bound", strings.Repeat("x", batchBytes/4), 2000, 4},
	} {
		for i := 1; ; i++ {
			add(tc.body)
			if w.full(tc.maxRows) {
				if i != tc.full {
					t.Errorf("%s: full after %d rows, want %d", tc.name, i, tc.full)
				}
				break
			}
			if i > tc.full {
				t.Fatalf("%s: not full after %d rows", tc.name, i)
			}
		}
		rec := w.flush()
		if rec == nil || int(rec.NumRows()) != tc.full {
			t.Fatalf("%s: flush returned %v", tc.name, rec)
		}
		rec.Release()
		if w.full(tc.maxRows) || w.Len() != 0 {
			t.Errorf("%s: still full after a flush", tc.name)
		}
	}
}
