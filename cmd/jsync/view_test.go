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
	"github.com/jsync-dev/jsync/engine/plan"
)

func TestPlural(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{plural(0, "table"), "0 tables"},
		{plural(1, "table"), "1 table"},
		{plural(2, "sync"), "2 syncs"},
		{plural(int64(1), "row"), "1 row"},
		{plural(int64(1234), "row"), "1,234 rows"},
		{plural(1, "table state"), "1 table state"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestPlanSummary: the plan's last line counts in words that agree with
// the counts.
func TestPlanSummary(t *testing.T) {
	p := &plan.Plan{Syncs: []*plan.Sync{
		{Name: "a", Due: true, Tables: []*plan.Table{{Name: "issues", Write: true}, {Name: "users", Write: false}},
			Changes: []*plan.Change{{Action: plan.ActCreate, Table: "issues"}, {Action: plan.ActIncompatible, Table: "issues"}}},
		{Name: "b", Due: false},
	}}
	if got, want := planSummary(p), "Plan: 1 to create, 0 to alter, 1 table to sync, 1 incompatible change, 1 sync not due."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p.Syncs[0].Tables[1].Write = true
	p.Syncs = append(p.Syncs, &plan.Sync{Name: "c", Due: false})
	if got, want := planSummary(p), "Plan: 1 to create, 0 to alter, 2 tables to sync, 1 incompatible change, 2 syncs not due."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestNoSyncDue: what serve -once prints when it runs nothing.
func TestNoSyncDue(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	p := &plan.Plan{Syncs: []*plan.Sync{
		{Name: "late", NextDue: at("2026-12-01T11:00:00Z"), Schedule: "1h"},
		{Name: "soon", NextDue: at("2026-12-01T10:30:00Z"), Schedule: "30m"},
	}}
	if got, want := noSyncDue(p, false), "No sync is due; the next is sync.soon, due at 2026-12-01T10:30:00Z (schedule 30m)."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := noSyncDue(&plan.Plan{}, true), "No sync that could be planned is due."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

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
		`(?m)^Apply complete in 1s: 1 table synced, 1 failed; also failed: sync\.b _sync\.$`,
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
	if want := "Apply interrupted after 1s: 1 table synced, 1 stopped, 0 failed."; !strings.Contains(b.String(), want) {
		t.Errorf("want %q in:\n%s", want, b.String())
	}
}
