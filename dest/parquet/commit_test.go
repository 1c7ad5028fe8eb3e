//go:build duckdb_arrow

package parquet

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestLongPartitionValue: a partition value too long for a directory name
// fails its Write before the commit point, with advice; nothing of it is
// committed, and the destination stays usable. It used to fail at the
// rename after the commit point, leaving a manifest no open could finish.
func TestLongPartitionValue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{Path: dir, PartitionBy: map[string]string{"issues": "project_key"}}
	tbl := issuesTable(schema.Incremental)
	sc := tbl.ArrowSchema()
	d, mem := newDest(t, opts)
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"))}, dest.Batch{State: tableState("c1")})
	long := strings.Repeat("日", 30) // 90 bytes of UTF-8, 270 escaped
	_, err := d.Write(ctx, testNS, tbl, send(dest.Batch{Record: record(t, mem, sc, issue(2, long, "two"))}, dest.Batch{State: tableState("c2")}))
	if err == nil || !strings.Contains(err.Error(), "partition_by project_key") || !strings.Contains(err.Error(), "shorter values") {
		t.Fatalf("Write with a long partition value: error %v, want one naming partition_by project_key with advice", err)
	}
	if c := d.man.State.Get("s", "issues").Cursor; c != "c1" {
		t.Errorf("cursor = %q, want c1: the failed Write must commit nothing", c)
	}
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(3, "B", "three"))}, dest.Batch{State: tableState("c3")})
	d2, _ := newDest(t, opts)
	unlock, err := d2.Lock(ctx, dest.LockInfo{PID: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	want := [][]string{{"1", "A", "one"}, {"3", "B", "three"}}
	if rows := duck(t, dir, "issues", "SELECT id, project_key, summary FROM {T} ORDER BY id"); !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
}

// TestUnfinishedCommitFinishedByNext: when a commit's renames fail after
// its commit point, the next commit in the same process finishes them
// before its manifest replaces the one that lists them. It used to drop
// them: the rows were lost, and the manifest named a file that did not
// exist.
func TestUnfinishedCommitFinishedByNext(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{Path: dir, PartitionBy: map[string]string{"issues": "project_key"}}
	tbl := issuesTable(schema.Incremental)
	sc := tbl.ArrowSchema()
	d, mem := newDest(t, opts)
	write(t, d, tbl, dest.Batch{Record: record(t, mem, sc, issue(1, "A", "one"))}, dest.Batch{State: tableState("c1")})
	crash := errors.New("injected failure after the commit point")
	d.afterManifest = func() error { return crash }
	if _, err := d.Write(ctx, testNS, tbl, send(dest.Batch{Record: record(t, mem, sc, issue(1, "B", "one v2"), issue(2, "B", "two"))}, dest.Batch{State: tableState("c2")})); !errors.Is(err, crash) {
		t.Fatalf("Write error = %v, want the injected failure", err)
	}
	d.afterManifest = nil
	other := issuesTable(schema.FullTable)
	other.Name = "projects"
	if _, err := d.Replace(ctx, testNS, other, send(dest.Batch{Record: record(t, mem, other.ArrowSchema(), issue(9, "P", "project"))})); err != nil {
		t.Fatalf("the next commit: %v", err)
	}
	d2, mem2 := newDest(t, opts)
	if c := d2.man.State.Get("s", "issues").Cursor; c != "c2" {
		t.Errorf("cursor = %q, want c2 (committed)", c)
	}
	unlock, err := d2.Lock(ctx, dest.LockInfo{PID: 1}, 0) // collects what no manifest lists
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	want := [][]string{{"1", "B", "one v2"}, {"2", "B", "two"}}
	if rows := duck(t, dir, "issues", "SELECT id, project_key, summary FROM {T} ORDER BY id"); !reflect.DeepEqual(rows, want) {
		t.Errorf("rows = %v, want %v", rows, want)
	}
	write(t, d2, tbl, dest.Batch{Record: record(t, mem2, sc, issue(2, "B", "two v2"))})
}
