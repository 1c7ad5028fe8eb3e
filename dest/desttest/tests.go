package desttest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

func kinds(changes []schema.TableChange) []string {
	var out []string
	for _, c := range changes {
		s := c.Kind.String() + " " + c.Table.Name
		if c.Column != nil {
			s += "." + c.Column.Name
		}
		out = append(out, s)
	}
	return out
}

func (h *harness) wantPlan(tables []*schema.Table, want ...string) []schema.TableChange {
	h.t.Helper()
	changes, err := h.d.PlanMigrations(h.ctx, h.ns, tables)
	if err != nil {
		h.t.Fatalf("PlanMigrations: %v", err)
	}
	if got := kinds(changes); !slices.Equal(got, want) {
		h.t.Fatalf("PlanMigrations = %q, want %q", got, want)
	}
	return changes
}

func testCreate(h *harness) {
	tables := []*schema.Table{issues(), projects()}
	h.wantPlan(tables, "create table issues", "create table projects")
	h.migrate(tables...)
	h.wantPlan(tables)
	h.wantRows(issues(), nil)
	h.wantRows(projects(), nil)
}

func testUpsertTwice(h *harness) {
	tbl := issues()
	h.migrate(tbl)
	s := h.mustWrite(tbl, h.batch(tbl, nil, issueRow(1, "one"), issueRow(2, "two")))
	if s.Inserted != 2 || s.Updated != 0 {
		h.t.Errorf("first write stats = %+v, want 2 inserted", s)
	}
	s = h.mustWrite(tbl, h.batch(tbl, nil, issueRow(1, "one, edited")))
	if s.Inserted != 0 || s.Updated != 1 {
		h.t.Errorf("second write stats = %+v, want 1 updated", s)
	}
	h.wantRows(tbl, [][]any{issueRow(1, "one, edited"), issueRow(2, "two")})

	// A key repeated within one batch keeps its last row; so does a key
	// repeated across batches of one Write.
	h.mustWrite(tbl,
		h.batch(tbl, nil, issueRow(3, "v1"), issueRow(4, "v1"), issueRow(3, "v2"), issueRow(3, "v3")),
		h.batch(tbl, nil, issueRow(4, "v2")))
	h.wantRows(tbl, [][]any{issueRow(1, "one, edited"), issueRow(2, "two"), issueRow(3, "v3"), issueRow(4, "v2")})

	// Upserting NULL over a value stores NULL.
	h.mustWrite(tbl, h.batch(tbl, nil, issueRow(2, nil)))
	h.wantRows(tbl, [][]any{issueRow(1, "one, edited"), issueRow(2, nil), issueRow(3, "v3"), issueRow(4, "v2")})
}

func testRoundTrip(h *harness) {
	tbl := issues()
	h.migrate(tbl)
	rows := edgeRows()
	h.mustWrite(tbl, h.batch(tbl, nil, rows...))
	slices.SortFunc(rows, func(a, b []any) int { return compareInt(a[0].(int64), b[0].(int64)) })
	h.wantRows(tbl, rows)

	types := h.columnTypes(tbl.Name)
	want := map[string][]string{
		"id":                {"BIGINT"},
		"key":               {"VARCHAR"},
		"labels":            {"VARCHAR[]"},
		"fields":            {"STRUCT(a INTEGER, b VARCHAR)"},
		"created":           {"TIMESTAMP WITH TIME ZONE"},
		"due":               {"DATE"},
		"points":            {"DECIMAL(18,3)"},
		"ratio":             {"DOUBLE"},
		"done":              {"BOOLEAN"},
		"raw":               {"JSON", "VARCHAR"},
		"votes":             {"INTEGER"},
		schema.ColDeletedAt: {"TIMESTAMP WITH TIME ZONE"},
	}
	for col, ok := range want {
		if !slices.Contains(ok, types[col]) {
			h.t.Errorf("column %s has DuckDB type %q, want one of %q", col, types[col], ok)
		}
	}

	// Rewriting the same rows changes nothing.
	h.mustWrite(tbl, h.batch(tbl, nil, edgeRows()...))
	h.wantRows(tbl, rows)
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func projectRows(rows ...any) [][]any {
	var out [][]any
	for i := 0; i < len(rows); i += 2 {
		out = append(out, []any{int64(rows[i].(int)), rows[i+1]})
	}
	return out
}

func testReplace(h *harness) {
	tbl := projects()
	h.migrate(tbl)
	if _, err := h.replace(tbl, h.batch(tbl, tableState("projects", "r1"), projectRows(1, "a", 2, "b", 3, "c")...)); err != nil {
		h.t.Fatalf("Replace: %v", err)
	}
	h.wantRows(tbl, projectRows(1, "a", 2, "b", 3, "c"))

	// Stale rows go, rows in several batches all land, the last state wins.
	// The counts are by key: 2 was stored (updated, although written
	// twice), 4 and 5 are new, 1 and 3 are gone.
	stats, err := h.replace(tbl,
		h.batch(tbl, tableState("projects", "r2a"), projectRows(2, "b2")...),
		h.batch(tbl, nil, projectRows(4, "d", 2, "b3")...),
		h.batch(tbl, tableState("projects", "r2"), projectRows(5, "e")...))
	if err != nil {
		h.t.Fatalf("Replace: %v", err)
	}
	h.wantRows(tbl, projectRows(2, "b3", 4, "d", 5, "e"))
	if want := (dest.WriteStats{Inserted: 2, Updated: 1, Deleted: 2}); stats != want {
		h.t.Errorf("Replace stats = %+v, want %+v", stats, want)
	}
	if c := h.cursor("projects"); c != "r2" {
		h.t.Errorf("cursor after replace = %q, want r2", c)
	}

	// No rows at all empties the table.
	stats, err = h.replace(tbl, dest.Batch{State: tableState("projects", "r3")})
	if err != nil {
		h.t.Fatalf("Replace with no rows: %v", err)
	}
	h.wantRows(tbl, nil)
	if want := (dest.WriteStats{Deleted: 3}); stats != want {
		h.t.Errorf("empty Replace stats = %+v, want %+v", stats, want)
	}
	if c := h.cursor("projects"); c != "r3" {
		h.t.Errorf("cursor after empty replace = %q, want r3", c)
	}
}

func testReplaceAtomic(h *harness) {
	tbl := projects()
	h.migrate(tbl)
	before := projectRows(1, "a", 2, "b")
	if _, err := h.replace(tbl, h.batch(tbl, tableState("projects", "ok"), before...)); err != nil {
		h.t.Fatalf("Replace: %v", err)
	}
	serial := h.state().Serial

	// A bad batch (NULL primary key) after good ones.
	bad, err := buildRecord(h.mem, tbl, [][]any{{int64(9), "x"}})
	if err != nil {
		h.t.Fatal(err)
	}
	wrong, err := buildRecord(h.mem, simpleWrongTypes(), [][]any{{"not an int", "x"}})
	if err != nil {
		h.t.Fatal(err)
	}
	bad.Release()
	nullKey := h.nullKeyProject()
	for name, last := range map[string]dest.Batch{"null key": {Record: nullKey}, "wrong type": {Record: wrong}} {
		_, err := h.replace(tbl,
			h.batch(tbl, nil, projectRows(7, "new")...),
			last,
			h.batch(tbl, tableState("projects", "bad"), projectRows(8, "never")...))
		if err == nil {
			h.t.Errorf("Replace with a %s batch succeeded", name)
		}
		h.wantRows(tbl, before)
		if c := h.cursor("projects"); c != "ok" {
			h.t.Errorf("after failed Replace (%s): cursor = %q, want ok", name, c)
		}
	}

	// The producer fails mid-stream: its ctx is cancelled before the
	// channel is closed.
	_, err = h.stream(h.d.Replace, tbl, true,
		h.batch(tbl, tableState("projects", "cancelled"), projectRows(7, "new")...),
		h.batch(tbl, nil, projectRows(8, "new")...))
	if !errors.Is(err, context.Canceled) {
		h.t.Errorf("Replace with a cancelled ctx = %v, want context.Canceled", err)
	}
	h.wantRows(tbl, before)
	if s := h.state(); s.Serial != serial || s.Get(syncName, "projects").Cursor != "ok" {
		h.t.Errorf("after failed Replaces: serial %d cursor %q, want %d ok", s.Serial, s.Get(syncName, "projects").Cursor, serial)
	}
}

// simpleWrongTypes is projects with id as a string.
func simpleWrongTypes() *schema.Table {
	t := projects()
	t.Columns[0].Type = arrow.BinaryTypes.String
	return t
}

// nullKeyProject is a projects record whose id is NULL.
func (h *harness) nullKeyProject() arrow.RecordBatch {
	h.t.Helper()
	t := projects()
	t.Columns[0].PrimaryKey = false // lets the builder mark the field nullable
	rec, err := buildRecord(h.mem, t, [][]any{{int64(5), "ok"}, {nil, "null key"}})
	if err != nil {
		h.t.Fatal(err)
	}
	return rec
}

func testMarkDeleted(h *harness) {
	tbl := issues()
	h.migrate(tbl)
	h.mustWrite(tbl, h.batch(tbl, nil, issueRow(1, "a"), issueRow(2, "b"), issueRow(3, "c")))
	serial := h.state().Serial

	at := ts("2025-03-04T05:06:07.123456Z")
	keys := keysRecord(h.mem, 1, 3, 99, 3)
	n, err := h.d.MarkDeleted(h.ctx, h.ns, tbl, keys, dest.Mark{At: at}, tableState("issues", "swept"))
	keys.Release()
	if err != nil {
		h.t.Fatalf("MarkDeleted: %v", err)
	}
	if n != 2 {
		h.t.Errorf("MarkDeleted marked %d rows, want 2", n)
	}
	deleted := func(id int64, summary any, at any) []any {
		r := issueRow(id, summary)
		r[len(r)-1] = at
		return r
	}
	h.wantRows(tbl, [][]any{deleted(1, "a", at), deleted(2, "b", nil), deleted(3, "c", at)})
	if s := h.state(); s.Serial != serial+1 || s.Get(syncName, "issues").Cursor != "swept" {
		h.t.Errorf("after MarkDeleted: serial %d cursor %q, want %d swept", s.Serial, s.Get(syncName, "issues").Cursor, serial+1)
	}

	// A second mark keeps the first time.
	keys = keysRecord(h.mem, 1)
	n, err = h.d.MarkDeleted(h.ctx, h.ns, tbl, keys, dest.Mark{At: at.Add(time.Hour)}, nil)
	keys.Release()
	if err != nil || n != 0 {
		h.t.Errorf("MarkDeleted of a marked row = %d, %v; want 0, nil", n, err)
	}
	// An upsert with a NULL mark brings the row back.
	h.mustWrite(tbl, h.batch(tbl, nil, issueRow(3, "c again")))
	h.wantRows(tbl, [][]any{deleted(1, "a", at), deleted(2, "b", nil), deleted(3, "c again", nil)})

	// No keys: only the state.
	if _, err := h.d.MarkDeleted(h.ctx, h.ns, tbl, nil, dest.Mark{At: at}, tableState("issues", "swept2")); err != nil {
		h.t.Fatalf("MarkDeleted without keys: %v", err)
	}
	if c := h.cursor("issues"); c != "swept2" {
		h.t.Errorf("cursor = %q, want swept2", c)
	}
}

func testMarkDeletedByColumn(h *harness) {
	tbl := comments()
	h.migrate(tbl)
	// 40 comments of issues 100-103 (every tenth an orphan), in two
	// batches so that they span several files; comment 7 is marked already.
	earlier := ts("2025-01-02T03:04:05.000001Z")
	model := map[int64][]any{}
	var first, second [][]any
	for id := int64(1); id <= 40; id++ {
		var issue any = 100 + id%4
		if id%10 == 0 {
			issue = nil
		}
		r := []any{id, issue, fmt.Sprintf("c%d", id), nil}
		if id == 7 {
			r[3] = earlier
		}
		model[id] = slices.Clone(r)
		if id <= 20 {
			first = append(first, r)
		} else {
			second = append(second, r)
		}
	}
	h.mustWrite(tbl, h.batch(tbl, nil, first...))
	h.mustWrite(tbl, h.batch(tbl, nil, second...))
	want := func() [][]any {
		out := make([][]any, 0, len(model))
		for id := int64(1); id <= 40; id++ {
			out = append(out, model[id])
		}
		return out
	}
	// apply marks the unmarked model rows for which match holds.
	apply := func(at time.Time, match func(r []any) bool) int64 {
		var n int64
		for _, r := range model {
			if r[3] == nil && match(r) {
				r[3] = at
				n++
			}
		}
		return n
	}
	mark := func(cols []schema.Column, at time.Time, st *state.TableState, rows ...[]any) (int64, error) {
		h.t.Helper()
		keys, err := buildRecord(h.mem, &schema.Table{Name: "keys", Columns: cols}, rows)
		if err != nil {
			h.t.Fatal(err)
		}
		defer keys.Release()
		return h.d.MarkDeleted(h.ctx, h.ns, tbl, keys, dest.Mark{At: at}, st)
	}
	byIssue := []schema.Column{{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64}}
	issueIn := func(ids ...int64) func(r []any) bool {
		return func(r []any) bool { return r[1] != nil && slices.Contains(ids, r[1].(int64)) }
	}
	serial := h.state().Serial

	// Two issues (one named twice), a NULL and an unknown issue.
	at := ts("2025-03-04T05:06:07.123456Z")
	n, err := mark(byIssue, at, tableState("comments", "swept"), []any{int64(101)}, []any{int64(103)}, []any{nil}, []any{int64(999)}, []any{int64(101)})
	if err != nil {
		h.t.Fatalf("MarkDeleted by issue_id: %v", err)
	}
	if wantN := apply(at, issueIn(101, 103)); n != wantN || n != 19 {
		h.t.Errorf("MarkDeleted by issue_id marked %d rows, want %d (19)", n, wantN)
	}
	h.wantRows(tbl, want())
	if s := h.state(); s.Serial != serial+1 || s.Get(syncName, "comments").Cursor != "swept" {
		h.t.Errorf("after MarkDeleted: serial %d cursor %q, want %d swept", s.Serial, s.Get(syncName, "comments").Cursor, serial+1)
	}

	// Again, later: nothing new, the first time kept.
	n, err = mark(byIssue, at.Add(time.Hour), nil, []any{int64(101)}, []any{int64(103)})
	if err != nil || n != 0 {
		h.t.Errorf("MarkDeleted of marked rows = %d, %v; want 0, nil", n, err)
	}
	h.wantRows(tbl, want())

	// The current children come back with a NULL mark: comment 5 (issue
	// 101) is unmarked, comment 2 moves from issue 102 to 105. Issue 100's
	// comments share files with the marked ones.
	h.mustWrite(tbl, h.batch(tbl, nil, []any{int64(5), int64(101), "c5 again", nil}, []any{int64(2), int64(105), "c2", nil}))
	model[5] = []any{int64(5), int64(101), "c5 again", nil}
	model[2] = []any{int64(2), int64(105), "c2", nil}
	h.wantRows(tbl, want())
	at2 := at.Add(2 * time.Hour)
	n, err = mark(byIssue, at2, nil, []any{int64(105)}, []any{int64(101)}, []any{int64(100)})
	if err != nil {
		h.t.Fatalf("MarkDeleted after upsert: %v", err)
	}
	if wantN := apply(at2, issueIn(105, 101, 100)); n != wantN || n != 10 {
		h.t.Errorf("MarkDeleted after upsert marked %d rows, want %d (10)", n, wantN)
	}
	h.wantRows(tbl, want())

	// Several columns (not the key alone): all must be equal.
	byPair := []schema.Column{{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	n, err = mark(byPair, at2, nil, []any{int64(102), int64(6)}, []any{int64(102), int64(4)}, []any{nil, int64(10)})
	if err != nil {
		h.t.Fatalf("MarkDeleted by issue_id and id: %v", err)
	}
	if wantN := apply(at2, func(r []any) bool { return r[0] == int64(6) }); n != wantN || n != 1 {
		h.t.Errorf("MarkDeleted by issue_id and id marked %d rows, want %d (1)", n, wantN)
	}
	h.wantRows(tbl, want())

	// Bad records commit nothing.
	serial = h.state().Serial
	for _, bad := range []struct {
		name string
		cols []schema.Column
		row  []any
	}{
		{"unknown column", []schema.Column{{Name: "nope", Type: arrow.PrimitiveTypes.Int64}}, []any{int64(100)}},
		{"wrong type", []schema.Column{{Name: "issue_id", Type: arrow.BinaryTypes.String}}, []any{"100"}},
	} {
		if n, err := mark(bad.cols, at2, tableState("comments", "bad"), bad.row); err == nil || n != 0 {
			h.t.Errorf("MarkDeleted with %s = %d, %v; want an error", bad.name, n, err)
		}
	}
	if s := h.state(); s.Serial != serial || s.Get(syncName, "comments").Cursor != "swept" {
		h.t.Errorf("after failed MarkDeleted: serial %d cursor %q, want %d swept", s.Serial, s.Get(syncName, "comments").Cursor, serial)
	}
	h.wantRows(tbl, want())
}

// testMarkDeletedStale: with Mark.SyncedBefore only rows last synced
// before it are marked (the children of a re-read issue that the run did
// not write again); rows the current run wrote stay live.
func testMarkDeletedStale(h *harness) {
	tbl := syncedComments()
	h.migrate(tbl)
	run1, run2 := ts("2025-01-01T00:00:00Z"), ts("2025-01-02T00:00:00Z")
	h.mustWrite(tbl, h.batch(tbl, nil,
		[]any{int64(1), int64(10), run1, nil}, []any{int64(2), int64(10), run1, nil},
		[]any{int64(3), int64(10), run1, nil}, []any{int64(4), int64(11), run1, nil}))
	// The second run re-reads issue 10: comments 1 and 3 are still there.
	h.mustWrite(tbl, h.batch(tbl, nil, []any{int64(1), int64(10), run2, nil}, []any{int64(3), int64(10), run2, nil}))
	keys, err := buildRecord(h.mem, &schema.Table{Name: "keys", Columns: []schema.Column{{Name: "issue_id", Type: arrow.PrimitiveTypes.Int64}}},
		[][]any{{int64(10)}, {int64(11)}})
	if err != nil {
		h.t.Fatal(err)
	}
	defer keys.Release()
	at := run2.Add(time.Minute)
	n, err := h.d.MarkDeleted(h.ctx, h.ns, tbl, keys, dest.Mark{At: at, SyncedBefore: run2}, nil)
	if err != nil || n != 2 {
		h.t.Errorf("MarkDeleted of stale rows = %d, %v; want 2 (comments 2 and 4)", n, err)
	}
	h.wantRows(tbl, [][]any{
		{int64(1), int64(10), run2, nil}, {int64(2), int64(10), run1, at},
		{int64(3), int64(10), run2, nil}, {int64(4), int64(11), run1, at},
	})
	// A table without _jsync_synced_at cannot be marked that way.
	plain := comments()
	h.migrate(plain)
	if _, err := h.d.MarkDeleted(h.ctx, h.ns, plain, keys, dest.Mark{At: at, SyncedBefore: run2}, nil); err == nil {
		h.t.Errorf("MarkDeleted with SyncedBefore on a table without %s: no error", schema.ColSyncedAt)
	}
}

func testAddColumn(h *harness) {
	v1 := simple("items")
	h.migrate(v1)
	h.mustWrite(v1, h.batch(v1, nil, []any{int64(1), "one"}, []any{int64(2), "two"}))

	v2 := simple("items")
	v2.Columns = append(v2.Columns,
		schema.Column{Name: "severity", Type: arrow.BinaryTypes.String, Description: "Added later."},
		schema.Column{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)})
	h.wantPlan([]*schema.Table{v2}, "add column items.severity", "add column items.tags")
	h.migrate(v2)
	h.wantPlan([]*schema.Table{v2})
	h.wantRows(v2, [][]any{{int64(1), "one", nil, nil}, {int64(2), "two", nil, nil}})

	h.mustWrite(v2, h.batch(v2, nil, []any{int64(2), "two", "high", []any{"t"}}, []any{int64(3), "three", "low", []any{}}))
	h.wantRows(v2, [][]any{{int64(1), "one", nil, nil}, {int64(2), "two", "high", []any{"t"}}, {int64(3), "three", "low", []any{}}})
	// A writer still on the old definition leaves the new column alone for
	// new rows (NULL).
	h.mustWrite(v1, h.batch(v1, nil, []any{int64(4), "four"}))
	h.wantRows(v2, [][]any{{int64(1), "one", nil, nil}, {int64(2), "two", "high", []any{"t"}}, {int64(3), "three", "low", []any{}}, {int64(4), "four", nil, nil}})
}

func evolving(votes arrow.DataType, estimate arrow.DataType) *schema.Table {
	t := simple("work")
	t.Columns = append(t.Columns, schema.Column{Name: "votes", Type: votes})
	if estimate != nil {
		t.Columns = append(t.Columns, schema.Column{Name: "estimate", Type: estimate})
	}
	return t
}

func testEvolve(h *harness) {
	v1 := evolving(arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String)
	h.migrate(v1)
	h.mustWrite(v1, h.batch(v1, nil, []any{int64(1), "a", int32(5), "42"}, []any{int64(2), "b", nil, "x"}))

	// int32 → int64 widens.
	v2 := evolving(arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String)
	h.wantPlan([]*schema.Table{v2}, "widen column work.votes")
	h.migrate(v2)
	h.wantPlan([]*schema.Table{v2})
	h.wantRows(v2, [][]any{{int64(1), "a", int64(5), "42"}, {int64(2), "b", nil, "x"}})
	h.mustWrite(v2, h.batch(v2, nil, []any{int64(3), "c", int64(1) << 40, "7"}))

	// string → int64 is incompatible: shown, refused without the flag.
	v3 := evolving(arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int64)
	changes := h.wantPlan([]*schema.Table{v3}, "incompatible column work.estimate")
	if err := h.d.Migrate(h.ctx, h.ns, changes, dest.MigrateOptions{}); err == nil {
		h.t.Fatal("Migrate applied an incompatible change without AllowIncompatible")
	}
	h.wantPlan([]*schema.Table{v3}, "incompatible column work.estimate")
	h.wantRows(v2, [][]any{{int64(1), "a", int64(5), "42"}, {int64(2), "b", nil, "x"}, {int64(3), "c", int64(1) << 40, "7"}})
	if err := h.d.Migrate(h.ctx, h.ns, changes, dest.MigrateOptions{AllowIncompatible: true}); err != nil {
		h.t.Fatalf("Migrate with AllowIncompatible: %v", err)
	}
	h.wantPlan([]*schema.Table{v3})
	got := h.rows(v3)
	if len(got) != 3 || got[0][3] != int64(42) {
		h.t.Errorf("after the incompatible change: rows %#v, want 3 rows, the first with estimate 42", got)
	}
	h.mustWrite(v3, h.batch(v3, nil, []any{int64(4), "d", nil, int64(9)}))

	// A column the definition no longer has is reported and kept.
	v4 := evolving(arrow.PrimitiveTypes.Int64, nil)
	changes = h.wantPlan([]*schema.Table{v4}, "extra column work.estimate")
	if err := h.d.Migrate(h.ctx, h.ns, changes, dest.MigrateOptions{}); err != nil {
		h.t.Fatalf("Migrate with an extra column: %v", err)
	}
	h.wantPlan([]*schema.Table{v4}, "extra column work.estimate")
	h.mustWrite(v4, h.batch(v4, nil, []any{int64(4), "d2", int64(1)}, []any{int64(5), "e", nil}))
	// Rows not rewritten keep the value; a row rewritten without the column
	// may keep it or read NULL.
	got = h.rows(v3)
	if len(got) != 5 || got[0][3] != int64(42) || got[3][1] != "d2" || (got[3][3] != int64(9) && got[3][3] != nil) || got[4][3] != nil {
		h.t.Errorf("rows through the old definition = %#v, want estimate kept for id 1, 9 or NULL for id 4, NULL for id 5", got)
	}
}

// testStateAtomic: whatever fails, the committed state matches the
// committed rows. A destination may commit batch by batch or a Write's
// batches in groups (a group's rows with its last state), so after a
// failure the table holds some prefix of the batches, and the cursor is
// that of the prefix's last batch with a state.
func testStateAtomic(h *harness) {
	tbl := projects()
	h.migrate(tbl)
	st := func(c string) *state.TableState { return tableState("projects", c) }
	// wantPrefix checks that the cursor names one of the prefixes and the
	// rows are that prefix's, and returns the cursor.
	wantPrefix := func(what string, prefixes map[string][][]any) string {
		h.t.Helper()
		c := h.cursor("projects")
		want, ok := prefixes[c]
		if !ok {
			h.t.Errorf("cursor after %s = %q, want one of %v", what, c, slices.Sorted(maps.Keys(prefixes)))
			return c
		}
		h.wantRows(tbl, want)
		return c
	}

	// Batch 2 fails: batch 2 leaves nothing; batch 1 stays with its state,
	// or went with batch 2's group.
	_, err := h.write(tbl,
		h.batch(tbl, st("c1"), projectRows(1, "a")...),
		dest.Batch{Record: h.nullKeyProject(), State: st("c2")},
		h.batch(tbl, st("c3"), projectRows(3, "c")...))
	if err == nil {
		h.t.Fatal("Write with a NULL-key batch succeeded")
	}
	c := wantPrefix("a failed batch", map[string][][]any{"": nil, "c1": projectRows(1, "a")})
	if c == "" {
		h.mustWrite(tbl, h.batch(tbl, st("c1"), projectRows(1, "a")...))
	}

	// A record whose schema is not the table's fails likewise.
	wrong, err := buildRecord(h.mem, simpleWrongTypes(), [][]any{{"1", "x"}})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.write(tbl, dest.Batch{Record: wrong, State: st("c4")}); err == nil {
		h.t.Fatal("Write with a mistyped record succeeded")
	}
	wantPrefix("a mistyped batch", map[string][][]any{"c1": projectRows(1, "a")})

	// The producer fails mid-stream: nothing, batch 5, or batches 5 and 6
	// are committed, never half of one.
	_, err = h.stream(h.d.Write, tbl, true,
		h.batch(tbl, st("c5"), projectRows(5, "e")...),
		h.batch(tbl, st("c6"), projectRows(6, "f")...))
	if err != nil && !errors.Is(err, context.Canceled) {
		h.t.Errorf("Write with a cancelled ctx = %v, want nil or context.Canceled", err)
	}
	wantPrefix("a cancelled write", map[string][][]any{
		"c1": projectRows(1, "a"),
		"c5": projectRows(1, "a", 5, "e"),
		"c6": projectRows(1, "a", 5, "e", 6, "f"),
	})

	// A state-only batch commits the state.
	h.mustWrite(tbl, dest.Batch{State: st("c7")})
	if c := h.cursor("projects"); c != "c7" {
		h.t.Errorf("cursor = %q, want c7", c)
	}
}

// testFlushed: a batch with Flushed commits what the Write received, the
// batch included, and answers once, while the Write goes on; a failed
// commit answers its error.
func testFlushed(h *harness) {
	tbl := projects()
	h.migrate(tbl)
	ch := make(chan dest.Batch)
	done := make(chan error, 1)
	go func() {
		_, err := h.d.Write(h.ctx, h.ns, tbl, ch)
		done <- err
	}()
	flush := func(b dest.Batch) error {
		h.t.Helper()
		answer := make(chan error, 1)
		b.Flushed = answer
		ch <- b
		select {
		case err := <-answer:
			return err
		case err := <-done:
			h.t.Fatalf("Write returned (%v) without answering Flushed", err)
		case <-time.After(time.Minute):
			h.t.Fatal("Flushed not answered in a minute")
		}
		return nil
	}

	ch <- h.batch(tbl, tableState("projects", "c1"), projectRows(1, "a")...)
	if err := flush(dest.Batch{}); err != nil {
		h.t.Fatalf("flush after batch 1: %v", err)
	}
	h.wantRows(tbl, projectRows(1, "a"))
	if c := h.cursor("projects"); c != "c1" {
		h.t.Errorf("cursor after the flush = %q, want c1", c)
	}
	// The Write goes on; a batch carrying Flushed is committed with it.
	if err := flush(h.batch(tbl, tableState("projects", "c2"), projectRows(2, "b")...)); err != nil {
		h.t.Fatalf("flush with batch 2: %v", err)
	}
	h.wantRows(tbl, projectRows(1, "a", 2, "b"))
	if c := h.cursor("projects"); c != "c2" {
		h.t.Errorf("cursor after the second flush = %q, want c2", c)
	}
	// A batch that fails answers its Flushed with the error.
	if err := flush(dest.Batch{Record: h.nullKeyProject(), State: tableState("projects", "c3")}); err == nil {
		h.t.Error("flush of a NULL-key batch answered nil")
	}
	if err := <-done; err == nil {
		h.t.Error("Write with a NULL-key batch succeeded")
	}
	close(ch)
	h.wantRows(tbl, projectRows(1, "a", 2, "b"))
	if c := h.cursor("projects"); c != "c2" {
		h.t.Errorf("cursor after the failed batch = %q, want c2", c)
	}
}

func testSerial(h *harness) {
	tbl := projects()
	h.migrate(tbl)
	s0 := h.state().Serial
	step := func(what string, want int64) {
		h.t.Helper()
		if got := h.state().Serial; got != want {
			h.t.Errorf("serial after %s = %d, want %d", what, got, want)
		}
	}
	if err := h.d.CommitState(h.ctx, tableState("a", "1")); err != nil {
		h.t.Fatal(err)
	}
	step("CommitState", s0+1)
	if err := h.d.CommitState(h.ctx, tableState("a", "2"), tableState("b", "1")); err != nil {
		h.t.Fatal(err)
	}
	step("CommitState of two tables", s0+2)
	h.mustWrite(tbl, h.batch(tbl, tableState("projects", "w"), projectRows(1, "a")...))
	step("a batch with state", s0+3)
	h.mustWrite(tbl, h.batch(tbl, nil, projectRows(2, "b")...))
	step("a batch without state", s0+3)
	h.mustWrite(tbl,
		h.batch(tbl, tableState("projects", "w2"), projectRows(3, "c")...),
		h.batch(tbl, tableState("projects", "w3"), projectRows(4, "d")...))
	// One commit per batch, or one for the group.
	if got := h.state().Serial; got != s0+4 && got != s0+5 {
		h.t.Errorf("serial after two batches with state = %d, want %d or %d", got, s0+4, s0+5)
	}
	snap := h.state()
	for key, want := range map[string]string{"s.a": "2", "s.b": "1", "s.projects": "w3"} {
		if got := snap.Tables[key]; got == nil || got.Cursor != want {
			h.t.Errorf("state %s = %+v, want cursor %s", key, got, want)
		}
	}
}

func testReopen(h *harness) {
	tbl := issues()
	h.migrate(tbl)
	rows := edgeRows()
	full := &state.TableState{
		Sync: syncName, Table: "issues", Cursor: "2025-01-02T03:04:05Z",
		Extra:         map[string]string{"deletes": "2025-01-01T00:00:00Z", "ü": "☃"},
		LastSuccess:   ts("2025-01-02T03:04:05.123456Z"),
		PinnedColumns: map[string]string{"customfield_10010": "raw"},
	}
	h.mustWrite(tbl, h.batch(tbl, full, rows...))
	before := h.state()

	h.d = h.reopen(h.d)
	slices.SortFunc(rows, func(a, b []any) int { return compareInt(a[0].(int64), b[0].(int64)) })
	h.wantRows(tbl, rows)
	h.wantPlan([]*schema.Table{tbl})
	after := h.state()
	if after.Serial != before.Serial {
		h.t.Errorf("serial after reopen = %d, want %d", after.Serial, before.Serial)
	}
	got := after.Get(syncName, "issues")
	if got.Sync != full.Sync || got.Table != full.Table || got.Cursor != full.Cursor || !got.LastSuccess.Equal(full.LastSuccess) ||
		!reflect.DeepEqual(got.Extra, full.Extra) || !reflect.DeepEqual(got.PinnedColumns, full.PinnedColumns) {
		h.t.Errorf("state after reopen = %+v, want %+v", got, *full)
	}
}

func testLock(h *harness) {
	host, _ := os.Hostname()
	info := dest.LockInfo{PID: os.Getpid(), Host: host, Since: time.Now().UTC().Truncate(time.Second), Op: "apply"}
	unlock, err := h.d.Lock(h.ctx, info, 0)
	if err != nil {
		h.t.Fatalf("Lock: %v", err)
	}
	other := h.reopen(nil)
	for _, d := range []dest.Destination{h.d, other} {
		_, err := d.Lock(h.ctx, dest.LockInfo{PID: 1, Host: "elsewhere", Op: "apply"}, 0)
		le, ok := isLocked(err)
		if !ok {
			h.t.Fatalf("second Lock = %v, want *dest.ErrLocked", err)
		}
		if le.Holder.PID != info.PID || le.Holder.Host != info.Host || le.Holder.Op != "apply" || !le.Holder.Since.Equal(info.Since) {
			h.t.Errorf("ErrLocked names %+v, want %+v", le.Holder, info)
		}
	}

	// A waiter stops when its ctx ends.
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if _, err := other.Lock(ctx, info, time.Hour); !errors.Is(err, context.Canceled) {
		if _, ok := isLocked(err); !ok {
			h.t.Errorf("Lock with a cancelled ctx = %v, want context.Canceled", err)
		}
	}

	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	var unlock2 func() error
	var wg sync.WaitGroup
	wg.Go(func() {
		var err error
		unlock2, err = other.Lock(h.ctx, dest.LockInfo{PID: 2, Host: "waiter", Op: "apply"}, time.Minute)
		got <- err
	})
	if err := unlock(); err != nil {
		h.t.Fatalf("unlock: %v", err)
	}
	wg.Wait()
	if err := <-got; err != nil {
		h.t.Fatalf("waiting Lock: %v", err)
	}
	_, err = h.d.Lock(h.ctx, info, 0)
	if le, ok := isLocked(err); !ok || le.Holder.Host != "waiter" {
		h.t.Errorf("Lock while the waiter holds it = %v, want ErrLocked naming host waiter", err)
	}
	if err := unlock2(); err != nil {
		h.t.Fatalf("unlock: %v", err)
	}
	unlock3, err := h.d.Lock(h.ctx, info, 0)
	if err != nil {
		h.t.Fatalf("Lock after unlock: %v", err)
	}
	if err := unlock3(); err != nil {
		h.t.Fatal(err)
	}
}

func testRecordRun(h *harness) {
	start := ts("2025-05-06T07:08:09.000001Z")
	runs := []state.Run{
		{ID: "r1", Sync: syncName, Table: "issues", Status: "success", StartedAt: start, FinishedAt: start.Add(time.Minute),
			Inserted: 10, Updated: 2, Deleted: 1, Requests: 7},
		{ID: "r2", Sync: syncName, Table: "projects", Status: "failed", Error: "fetch projects: 500", StartedAt: start, FinishedAt: start.Add(time.Second)},
	}
	for _, r := range runs {
		if err := h.d.RecordRun(h.ctx, r); err != nil {
			h.t.Fatalf("RecordRun: %v", err)
		}
	}
	runs[1].Status, runs[1].Error = "success", "" // the same run, finished later
	if err := h.d.RecordRun(h.ctx, runs[1]); err != nil {
		h.t.Fatalf("RecordRun: %v", err)
	}
	db, from := h.opts.Relation(h.t, h.d, "_jsync", "runs")
	got := h.query(db, `SELECT id, sync, "table", status, coalesce(error, ''), started_at, finished_at, inserted, updated, deleted, requests FROM `+from+` ORDER BY id`)
	var want [][]any
	for _, r := range runs {
		want = append(want, []any{r.ID, r.Sync, r.Table, r.Status, r.Error, r.StartedAt, r.FinishedAt, r.Inserted, r.Updated, r.Deleted, r.Requests})
	}
	if !reflect.DeepEqual(got, normalizeRows(want)) {
		h.t.Errorf("runs:\n%s", diffRows(got, normalizeRows(want)))
	}
}

// testConcurrentTables writes several tables at once, half with Write and
// half with Replace.
func testConcurrentTables(h *harness) {
	const tables, batches, rows = 4, 5, 50
	var defs []*schema.Table
	for i := range tables {
		defs = append(defs, simple(fmt.Sprintf("t%d", i)))
	}
	h.migrate(defs...)
	s0 := h.state().Serial
	errs := make([]error, tables)
	var wg sync.WaitGroup
	for i, tbl := range defs {
		var bs []dest.Batch
		for b := range batches {
			var rs [][]any
			for r := range rows {
				rs = append(rs, []any{int64(b*rows + r), fmt.Sprintf("%s-%d", tbl.Name, b*rows+r)})
			}
			bs = append(bs, h.batch(tbl, tableState(tbl.Name, fmt.Sprint(b)), rs...))
		}
		fn := h.d.Write
		if i%2 == 1 {
			fn = h.d.Replace
		}
		wg.Go(func() { _, errs[i] = h.stream(fn, tbl, false, bs...) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			h.t.Errorf("concurrent write of t%d: %v", i, err)
		}
	}
	snap := h.state()
	// A Write commits state with each batch or with each group of batches,
	// a Replace once.
	if most := s0 + tables/2*batches + tables/2; snap.Serial < s0+tables || snap.Serial > most {
		h.t.Errorf("serial = %d, want %d to %d", snap.Serial, s0+tables, most)
	}
	for _, tbl := range defs {
		var want [][]any
		for r := range batches * rows {
			want = append(want, []any{int64(r), fmt.Sprintf("%s-%d", tbl.Name, r)})
		}
		h.wantRows(tbl, want)
		if c := snap.Get(syncName, tbl.Name).Cursor; c != fmt.Sprint(batches-1) {
			h.t.Errorf("cursor of %s = %q, want %d", tbl.Name, c, batches-1)
		}
	}
}

// testConcurrentMigrate creates tables of one new namespace from several
// goroutines at once, as two syncs of one source into one destination do
// when they start together: every plan is made before any migration, each
// creation succeeds whoever creates the namespace, and a table that every
// plan creates (as every sync of a namespace plans its rejects table) is
// created once.
func testConcurrentMigrate(h *harness) {
	const tables = 4
	shared := simple("shared")
	plans := make([][]schema.TableChange, tables)
	for i := range tables {
		changes, err := h.d.PlanMigrations(h.ctx, h.ns, []*schema.Table{simple(fmt.Sprintf("m%d", i)), shared})
		if err != nil {
			h.t.Fatalf("PlanMigrations: %v", err)
		}
		plans[i] = changes
	}
	errs := make([]error, tables)
	var wg sync.WaitGroup
	for i := range tables {
		wg.Go(func() { errs[i] = h.d.Migrate(h.ctx, h.ns, plans[i], dest.MigrateOptions{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			h.t.Errorf("migrate m%d: %v", i, err)
		}
	}
	for i := range tables {
		h.wantRows(simple(fmt.Sprintf("m%d", i)), nil)
	}
	h.wantRows(shared, nil)
	h.wantPlan([]*schema.Table{shared})
}
