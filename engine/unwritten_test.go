package engine

import (
	"context"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/engine/schema"
)

// A column selected again refetches its table once. Once that table has
// been written in full with the column, a failure of another table of
// the sync (projects) must not make the next runs fetch issues in full
// again (the record was once cleared only by a run where every table
// succeeded).
func TestUnwrittenClearedByTheTablesSuccess(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 3}
	cfg := testConfig(t)
	run := func(label string) *plan.Plan {
		t.Helper()
		now = now.Add(time.Hour)
		e := newTestEngine(t, cfg, src, d, &now)
		p, err := e.Plan(ctx, PlanOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mode := func(p *plan.Plan, table string) string {
		for _, pt := range p.Syncs[0].Tables {
			if pt.Name == table {
				return string(pt.Mode)
			}
		}
		return ""
	}
	run("first")
	var issues *schema.Table
	for _, tb := range src.Tables() {
		if tb.Name == "issues" {
			issues = tb
		}
	}
	// A run that keeps issues.title without writing it (left out of columns).
	d.changes = []schema.TableChange{{Kind: schema.ExtraColumn, Table: issues, Column: &schema.Column{Name: "title"}}}
	run("narrowed")
	t.Logf("state after narrowed run: %v", d.snap.Get("acme", SyncStateTable).Extra)
	d.changes = nil
	// Selected again: issues in full once. projects fails this run.
	src.failProjects = true
	p := run("widened")
	if mode(p, "issues") != string(plan.ModeFull) {
		t.Fatalf("widened run: issues %s, want full", mode(p, "issues"))
	}
	if !src.sawFull["issues"] {
		t.Fatal("issues not fetched in full")
	}
	t.Logf("state after widened run (issues written in full, projects failed): %v", d.snap.Get("acme", SyncStateTable).Extra)
	for i := 0; i < 2; i++ {
		p = run("later")
		if mode(p, "issues") == string(plan.ModeFull) {
			t.Errorf("run %d after issues were refilled: issues planned %s again, notes %q", i+1, mode(p, "issues"), notes(p, "issues"))
		}
	}
}

func notes(p *plan.Plan, table string) []string {
	for _, pt := range p.Syncs[0].Tables {
		if pt.Name == table {
			return pt.Notes
		}
	}
	return nil
}
