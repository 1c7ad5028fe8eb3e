package engine

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

	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
)

// hookSource is fakeSource with a hook run at the end of its fetch, before
// Sync returns, and optionally a failure of issues after its checkpoint.
type hookSource struct {
	*fakeSource
	atEnd      func(ctx context.Context)
	failIssues error // returned for issues after its rows and checkpoint
	deleteIDs  []string
}

func (h *hookSource) Tables() []*schema.Table {
	ts := h.fakeSource.Tables()
	for _, t := range ts {
		if t.Name == "issues" && h.deleteIDs != nil {
			t.Columns = append(t.Columns, schema.Column{Name: schema.ColDeletedAt, Type: arrow.FixedWidthTypes.Timestamp_us})
		}
	}
	return ts
}

func (h *hookSource) Discover(ctx context.Context, pinned map[string]map[string]string) (*source.Discovery, error) {
	return &source.Discovery{Tables: h.Tables(), Info: map[string]string{"deployment": "Fake"}}, nil
}

func (h *hookSource) Sync(ctx context.Context, req *source.SyncRequest) error {
	err := h.fakeSource.Sync(ctx, req)
	if tr := req.Tables["issues"]; tr != nil && err == nil {
		if h.deleteIDs != nil {
			// Deleted after the rows that wrote them: staged in order, the
			// mark must find them.
			if err := tr.Sink.Delete(ctx, keyRec(h.deleteIDs...), time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), time.Time{}); err != nil {
				return err
			}
		}
		if h.failIssues != nil {
			err = &source.TableError{Table: "issues", Err: h.failIssues}
		}
	}
	if h.atEnd != nil {
		h.atEnd(ctx)
	}
	return err
}

// keyRec is a record of ids in the key column "id" alone.
func keyRec(ids ...string) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

// stagedRun runs one apply of the fake source into a memDest, with the
// sync's load mode, and reports what the destination held when the fetch
// ended.
type stagedRun struct {
	d            *memDest
	res          *Result
	issuesAtEnd  int // issues rows written when the fetch ended
	commentsDone int
	dir          string // the staging directory (TMPDIR's)
}

func runLoad(t *testing.T, load string, h *hookSource, d *memDest, ctx context.Context) stagedRun {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	cfg := testConfig(t)
	cfg.Syncs["acme"].Load = load
	e := newTestEngine(t, cfg, h, d, &now)
	e.Allocator = mem
	r := stagedRun{d: d, dir: filepath.Join(tmp, stagingDirName)}
	prev := h.atEnd
	h.atEnd = func(ctx context.Context) {
		d.mu.Lock()
		r.issuesAtEnd = len(d.tables["acme.issues"])
		d.mu.Unlock()
		if prev != nil {
			prev(ctx)
		}
	}
	p, err := e.Plan(context.Background(), PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(ctx, p, ApplyOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	r.res = res
	return r
}

// TestLoadAfterFetch: a sync with load = "after_fetch" writes nothing of its
// incremental tables while it fetches, then the same rows and states as one
// that loads while fetching; its staged files are gone.
func TestLoadAfterFetch(t *testing.T) {
	for _, c := range []struct {
		load         string
		writtenEarly bool
	}{
		{config.LoadWhileFetching, true},
		{config.LoadAfterFetch, false},
	} {
		t.Run(c.load, func(t *testing.T) {
			h := &hookSource{fakeSource: &fakeSource{issues: 40}, deleteIDs: []string{"3", "7"}}
			r := runLoad(t, c.load, h, newMemDest(), context.Background())
			if err := r.res.Err(); err != nil {
				t.Fatal(err)
			}
			if early := r.issuesAtEnd > 0; early != c.writtenEarly {
				t.Errorf("issues rows written while fetching: %d", r.issuesAtEnd)
			}
			d := r.d
			if got := len(d.tables["acme.issues"]); got != 40 {
				t.Errorf("issues: %d rows, want 40", got)
			}
			if got := len(d.tables["acme.comments"]); got != 80 {
				t.Errorf("comments: %d rows, want 80", got)
			}
			var marked []string
			for id, row := range d.vals["acme.issues"] {
				if _, ok := row[schema.ColDeletedAt]; ok {
					marked = append(marked, id)
				}
			}
			if len(marked) != 2 {
				t.Errorf("issues marked deleted: %v, want 3 and 7", marked)
			}
			if got := d.snap.Get("acme", "issues").Cursor; got != "40" {
				t.Errorf("issues cursor %q, want 40", got)
			}
			if d.snap.Get("acme", SyncStateTable).LastSuccess.IsZero() {
				t.Error("the sync's success was not committed")
			}
			if left, _ := filepath.Glob(filepath.Join(r.dir, "*")); len(left) != 0 {
				t.Errorf("staged files left: %v", left)
			}
			if _, err := os.Stat(r.dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("staging directory left: %v", err)
			}
		})
	}
}

// TestLoadAfterFetchFailures: what a failed fetch staged is loaded with its
// last checkpoint, as while fetching; when a load fails, no staged table of
// the group commits its state; a stopped apply loads nothing and leaves no
// file.
func TestLoadAfterFetchFailures(t *testing.T) {
	cases := []struct {
		name        string
		failOn      string
		failIssues  error
		cancel      bool
		wantErr     []string
		wantIssues  int
		wantCursor  string
		wantComment int
	}{
		{name: "fetch fails after a checkpoint", failIssues: errors.New("HTTP 500 on the last page"),
			wantErr: []string{"HTTP 500 on the last page"}, wantIssues: 30, wantCursor: "30", wantComment: 60},
		{name: "a child's load fails", failOn: "comments",
			wantErr:    []string{"disk full", "state not committed: loading the staged rows of comments failed"},
			wantIssues: 30, wantCursor: ""},
		{name: "apply stopped", cancel: true,
			wantErr: []string{"context canceled"}, wantIssues: 0, wantCursor: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := &hookSource{fakeSource: &fakeSource{issues: 30}, failIssues: c.failIssues}
			if c.cancel {
				h.atEnd = func(context.Context) { cancel() }
			}
			d := newMemDest()
			d.failOn = c.failOn
			r := runLoad(t, config.LoadAfterFetch, h, d, ctx)
			err := r.res.Err()
			for _, want := range c.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
			if got := len(d.tables["acme.issues"]); got != c.wantIssues {
				t.Errorf("issues: %d rows, want %d", got, c.wantIssues)
			}
			if got := len(d.tables["acme.comments"]); got != c.wantComment {
				t.Errorf("comments: %d rows, want %d", got, c.wantComment)
			}
			if got := d.snap.Get("acme", "issues").Cursor; got != c.wantCursor {
				t.Errorf("issues cursor %q, want %q", got, c.wantCursor)
			}
			if left, _ := filepath.Glob(filepath.Join(r.dir, "*")); len(left) != 0 {
				t.Errorf("staged files left: %v", left)
			}
		})
	}
}

// TestStagingRemovesLeftovers: spool files of the same sync that a killed
// apply left are deleted; other syncs' files are not.
func TestStagingRemovesLeftovers(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := filepath.Join(tmp, stagingDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "acme.issues-123.spool")
	other := filepath.Join(dir, "acme2.issues-123.spool")
	for _, f := range []string{mine, other} {
		if err := os.WriteFile(f, []byte("JSYNCSP1"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e := New(testConfig(t), Opener{})
	r := &syncRun{sp: &plan.Sync{Name: "acme"}, d: newMemDest()}
	sc := &config.Sync{Name: "acme", Load: config.LoadAfterFetch}
	if err := e.prepareStaging(r, sc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(mine); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover of the sync kept: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another sync's file removed: %v", err)
	}
	if r.stageDir != dir {
		t.Errorf("stageDir %q, want %q", r.stageDir, dir)
	}
}
