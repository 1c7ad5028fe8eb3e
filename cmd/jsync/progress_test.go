package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/dag"
)

// TestLineView: the plain progress lines of CI logs, for each state of a
// table, saying what its rows are (fetched). A table is named as the plan names it, namespace.table (the
// source's name, not the sync's), and with its sync when the apply runs
// more than one.
func TestLineView(t *testing.T) {
	cases := []struct {
		name string
		ev   engine.ProgressEvent
		want string
	}{
		{"fetching, no estimate", engine.ProgressEvent{Rows: 1200}, "acme.issues: 1,200 rows fetched\n"},
		{"one row", engine.ProgressEvent{Rows: 1, Done: true}, "acme.issues: done, 1 row fetched\n"},
		{"fetching, estimate", engine.ProgressEvent{Rows: 500, Estimate: 2000}, "acme.issues: 500 rows fetched (~25%)\n"},
		{"past the estimate", engine.ProgressEvent{Rows: 2100, Estimate: 2000}, "acme.issues: 2,100 rows fetched (~99%)\n"},
		{"writing what was staged", engine.ProgressEvent{Rows: 200000, Estimate: 200000, Loading: true, Written: 40000},
			"acme.issues: fetched 200,000 rows, writing them: 40,000 written\n"},
		{"done", engine.ProgressEvent{Rows: 200000, Done: true, Loading: true, Written: 200000}, "acme.issues: done, 200,000 rows fetched\n"},
		{"failed", engine.ProgressEvent{Rows: 30, Done: true, Err: errors.New("HTTP 500")}, "acme.issues: failed after 30 rows fetched\n"},
		{"interrupted", engine.ProgressEvent{Rows: 30, Done: true, Err: fmt.Errorf("search issues: %w", context.Canceled)}, "acme.issues: stopped after 30 rows fetched (interrupted)\n"},
		{"read only, interrupted", engine.ProgressEvent{Done: true, ReadOnly: true, Err: context.Canceled}, "acme.issues: stopped (interrupted; read only, parent of selected tables)\n"},
		{"parent failed", engine.ProgressEvent{Rows: 3, Done: true, Err: fmt.Errorf("%w (issues)", dag.ErrUpstreamFailed)}, "acme.issues: skipped after 3 rows fetched: a table it depends on failed\n"},
		{"read only", engine.ProgressEvent{Done: true, ReadOnly: true}, "acme.issues: done (read only, parent of selected tables; not written)\n"},
		{"read only, failed", engine.ProgressEvent{Done: true, ReadOnly: true, Err: errors.New("HTTP 500")}, "acme.issues: failed (read only, parent of selected tables)\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			c.ev.Sync, c.ev.Namespace, c.ev.Table = "main", "acme", "issues"
			(&lineView{w: &b}).Event(c.ev)
			if b.String() != c.want {
				t.Errorf("got %q, want %q", b.String(), c.want)
			}
		})
	}
	t.Run("several syncs", func(t *testing.T) {
		var b strings.Builder
		ev := engine.ProgressEvent{Sync: "main", Namespace: "acme", Table: "issues", Rows: 7}
		(&lineView{w: &b, multi: true}).Event(ev)
		if want := "acme.issues (sync.main): 7 rows fetched\n"; b.String() != want {
			t.Errorf("got %q, want %q", b.String(), want)
		}
	})
}
