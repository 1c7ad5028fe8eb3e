package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/dag"
)

func TestCursorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-11-30T10:54:00.445Z", "2026-11-30T10:54:00.445Z"},
		{"1796040819550", "1796040819550 (2026-11-30T12:13:39Z)"},
		{"1796040819", "1796040819"},       // seconds: not shown as a time
		{"12345", "12345"},                 // an id-like cursor
		{"9999999999999", "9999999999999"}, // year 2286
		{"0000000000000", "0000000000000"}, // 1970
		{"", ""},
	}
	for _, tt := range tests {
		if got := cursorText(tt.in); got != tt.want {
			t.Errorf("cursorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRenderSummary: the summary names tables as the plan does
// (namespace.table) under their syncs, shows what a table only read for
// its children did not write as "-", and counts only the tables the plan
// syncs. FETCHED beside fewer rows stored is explained.
func TestRenderSummary(t *testing.T) {
	res := &engine.Result{Tables: []*engine.TableResult{
		{Sync: "b", Namespace: "acme", Table: "issues", Written: false, Requests: 4},
		{Sync: "b", Namespace: "acme", Table: "issue_links", Written: true, Rows: 72, Inserted: 45, Requests: 0},
		{Sync: "c", Namespace: "acme", Table: "projects", Written: true, Rows: 6, Updated: 6, Requests: 1},
	}}
	var b strings.Builder
	renderSummary(&b, res, 2*time.Second, false)
	out := b.String()
	for _, want := range []string{
		`(?m)^TABLE +FETCHED +INSERTED +UPDATED +DELETED +REQUESTS +TIME +STATUS$`,
		`(?m)^sync\.b:\n  acme\.issues +- +- +- +- +4 +0s  read only \(parent of selected tables\)\n  acme\.issue_links +72 +45 +0 +0 +0 +0s  ok\nsync\.c:\n  acme\.projects +6 +0 +6 +0 +1 +0s  ok\n`,
		`(?m)^FETCHED counts the rows received from the source; INSERTED and UPDATED the rows written, one per key in$`,
		`(?m)^Apply complete in 2s: 2 tables synced, 0 failed\.$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("summary does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "b.issue") || strings.Contains(out, "c.projects") {
		t.Errorf("summary names a table by its sync:\n%s", out)
	}

	// Nothing fetched twice: no explanation. A failed read-only parent
	// fails its children, which are counted; the parent is not, nor is a
	// sync's own state, which is named as a failure of its own.
	parentErr := errors.New("HTTP 500")
	res = &engine.Result{Tables: []*engine.TableResult{
		{Sync: "b", Namespace: "acme", Table: "issues", Written: false, Err: parentErr},
		{Sync: "b", Namespace: "acme", Table: "issue_comments", Written: true, Err: fmt.Errorf("%w (issues)", dag.ErrUpstreamFailed)},
		{Sync: "b", Namespace: "acme", Table: "projects", Written: true, Rows: 6, Inserted: 6},
		{Sync: "b", Table: engine.SyncStateTable, Err: errors.New("commit sync state: disk full")},
	}}
	b.Reset()
	renderSummary(&b, res, time.Second, false)
	out = b.String()
	if strings.Contains(out, "FETCHED counts") {
		t.Errorf("explains FETCHED though every row fetched was stored:\n%s", out)
	}
	for _, want := range []string{
		`(?m)^  acme\.issues +- +- +- +- +0 +0s  FAILED$`,
		`(?m)^  _sync +- +- +- +- +0 +0s  FAILED$`,
		`(?m)^Apply complete in 1s: 1 tables synced, 1 failed; also failed: sync\.b _sync\.$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("summary does not match %s:\n%s", want, out)
		}
	}

	// Interrupted: the tables the signal stopped are counted as stopped.
	res = &engine.Result{Tables: []*engine.TableResult{
		{Sync: "b", Namespace: "acme", Table: "issues", Written: true, Rows: 10, Inserted: 10, Err: context.Canceled},
		{Sync: "b", Namespace: "acme", Table: "projects", Written: true, Rows: 6, Inserted: 6},
	}}
	b.Reset()
	renderSummary(&b, res, time.Second, true)
	if want := "Apply interrupted after 1s: 1 tables synced, 1 stopped, 0 failed."; !strings.Contains(b.String(), want) {
		t.Errorf("want %q in:\n%s", want, b.String())
	}
}
