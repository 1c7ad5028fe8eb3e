package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
)

// memDest is an in-memory destination that records what the engine did.
type memDest struct {
	mu      sync.Mutex
	tables  map[string]map[string]bool              // ns.table → ids
	vals    map[string]map[string]map[string]string // ns.table → id → column → ValueStr (NULL absent)
	created map[string]bool
	snap    state.Snapshot
	runs    []state.Run
	locked  bool
	failOn  string // table whose Write fails
	// changes are more changes PlanMigrations reports (a column whose
	// type changed on the site).
	changes []schema.TableChange
}

func newMemDest() *memDest {
	return &memDest{tables: map[string]map[string]bool{}, vals: map[string]map[string]map[string]string{}, created: map[string]bool{}, snap: state.Snapshot{Tables: map[string]*state.TableState{}}}
}

func (m *memDest) PlanMigrations(ctx context.Context, ns string, tables []*schema.Table) ([]schema.TableChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schema.TableChange
	for _, t := range tables {
		if !m.created[ns+"."+t.Name] {
			out = append(out, schema.TableChange{Kind: schema.CreateTable, Table: t})
		}
	}
	return append(out, m.changes...), nil
}

func (m *memDest) Migrate(ctx context.Context, ns string, changes []schema.TableChange, opts dest.MigrateOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range changes {
		m.created[ns+"."+c.Table.Name] = true
		m.tables[ns+"."+c.Table.Name] = map[string]bool{}
		m.vals[ns+"."+c.Table.Name] = map[string]map[string]string{}
	}
	return nil
}

func (m *memDest) consume(ctx context.Context, ns string, t *schema.Table, batches <-chan dest.Batch, replace bool) (dest.WriteStats, error) {
	var st dest.WriteStats
	tk := ns + "." + t.Name
	fresh := map[string]bool{}
	freshVals := map[string]map[string]string{}
	var last *state.TableState
	for {
		var b dest.Batch
		var ok bool
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case b, ok = <-batches:
		}
		if !ok {
			break
		}
		if b.Record != nil {
			if t.Name == m.failOn {
				b.Record.Release()
				err := errors.New("disk full")
				b.Answer(err)
				return st, err
			}
			ids := b.Record.Column(0).(*array.String)
			m.mu.Lock()
			for i := 0; i < ids.Len(); i++ {
				id := ids.Value(i)
				if replace {
					fresh[id] = true
					freshVals[id] = rowValues(b.Record, i, nil)
				} else {
					if m.tables[tk][id] {
						st.Updated++
					} else {
						st.Inserted++
					}
					m.tables[tk][id] = true
					// Columns the record lacks keep their values.
					m.vals[tk][id] = rowValues(b.Record, i, m.vals[tk][id])
				}
			}
			m.mu.Unlock()
			b.Record.Release()
		}
		if b.State != nil {
			if replace {
				last = b.State
			} else {
				m.commit(b.State)
			}
		}
		b.Answer(nil) // each batch commits as it comes
	}
	if replace {
		m.mu.Lock()
		m.tables[tk] = fresh
		m.vals[tk] = freshVals
		st.Inserted = int64(len(fresh))
		m.mu.Unlock()
		if last != nil {
			m.commit(last)
		}
	}
	return st, nil
}

func (m *memDest) commit(sts ...*state.TableState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range sts {
		c := *s
		m.snap.Tables[s.Key()] = &c
	}
	m.snap.Serial++
}

func (m *memDest) Write(ctx context.Context, ns string, t *schema.Table, b <-chan dest.Batch) (dest.WriteStats, error) {
	return m.consume(ctx, ns, t, b, false)
}
func (m *memDest) Replace(ctx context.Context, ns string, t *schema.Table, b <-chan dest.Batch) (dest.WriteStats, error) {
	return m.consume(ctx, ns, t, b, true)
}

// rowValues sets row i of rec into vals (a new map if nil) and returns it.
func rowValues(rec arrow.RecordBatch, i int, vals map[string]string) map[string]string {
	if vals == nil {
		vals = map[string]string{}
	}
	for c, f := range rec.Schema().Fields() {
		if col := rec.Column(c); col.IsNull(i) {
			delete(vals, f.Name)
		} else {
			vals[f.Name] = col.ValueStr(i)
		}
	}
	return vals
}

// matchKey encodes the values of cols; ok is false if one is NULL.
func matchKey(cols []string, value func(col string) (string, bool)) (key string, ok bool) {
	var b strings.Builder
	for _, c := range cols {
		v, ok := value(c)
		if !ok {
			return "", false
		}
		b.WriteString(strconv.Quote(v))
	}
	return b.String(), true
}

// MarkDeleted marks the unmarked rows equal to a keys row in every column
// keys has (the primary key or others), like the real destinations.
func (m *memDest) MarkDeleted(ctx context.Context, ns string, t *schema.Table, keys arrow.RecordBatch, mk dest.Mark, st *state.TableState) (int64, error) {
	if t.Column(schema.ColDeletedAt) == nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: table has no %s column", ns, t.Name, schema.ColDeletedAt)
	}
	var n int64
	if keys != nil {
		cols, _, err := dest.MatchColumns(t, keys)
		if err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
		want := map[string]bool{}
		for i := 0; i < int(keys.NumRows()); i++ {
			key, ok := matchKey(cols, func(c string) (string, bool) {
				col := keys.Column(keys.Schema().FieldIndices(c)[0])
				return col.ValueStr(i), !col.IsNull(i)
			})
			if ok {
				want[key] = true
			}
		}
		tk := ns + "." + t.Name
		m.mu.Lock()
		for id := range m.tables[tk] {
			row := m.vals[tk][id]
			if _, marked := row[schema.ColDeletedAt]; marked {
				continue
			}
			key, ok := matchKey(cols, func(c string) (string, bool) { v, ok := row[c]; return v, ok })
			if ok && !mk.SyncedBefore.IsZero() {
				synced, err := time.Parse(time.RFC3339Nano, row[schema.ColSyncedAt]) // Arrow's ValueStr
				ok = err == nil && synced.Before(mk.SyncedBefore)
			}
			if ok && want[key] {
				row[schema.ColDeletedAt] = mk.At.UTC().Format(time.RFC3339Nano)
				n++
			}
		}
		m.mu.Unlock()
	}
	if st != nil {
		m.commit(st)
	}
	return n, nil
}
func (m *memDest) State(ctx context.Context) (*state.Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := state.Snapshot{Serial: m.snap.Serial, Tables: map[string]*state.TableState{}}
	for k, v := range m.snap.Tables {
		x := *v
		c.Tables[k] = &x
	}
	return &c, nil
}
func (m *memDest) CommitState(ctx context.Context, sts ...*state.TableState) error {
	m.commit(sts...)
	return nil
}
func (m *memDest) RecordRun(ctx context.Context, r state.Run) error {
	m.mu.Lock()
	m.runs = append(m.runs, r)
	m.mu.Unlock()
	return nil
}
func (m *memDest) Lock(ctx context.Context, info dest.LockInfo, timeout time.Duration) (func() error, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locked {
		return nil, &dest.ErrLocked{Holder: info, Path: "mem"}
	}
	m.locked = true
	return func() error { m.mu.Lock(); m.locked = false; m.mu.Unlock(); return nil }, nil
}
func (m *memDest) Close() error { return nil }

// fakeSource serves "projects" (full table), "issues" (incremental, cursor =
// number of issues) and its child "comments".
type fakeSource struct {
	mu       sync.Mutex
	issues   int
	failWith error
	// failProjects makes the full-table projects fetch fail after sending
	// part of its rows.
	failProjects bool
	syncs        int
	sawFull      map[string]bool
	// sawParallelism is each Sync's request Parallelism.
	sawParallelism []int
}

func tbl(name string, rep schema.Replication, parent string) *schema.Table {
	return &schema.Table{Name: name, Replication: rep, Parent: parent, Columns: []schema.Column{
		{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true},
		{Name: "title", Type: arrow.BinaryTypes.String},
	}}
}

func (f *fakeSource) Tables() []*schema.Table {
	return []*schema.Table{tbl("projects", schema.FullTable, ""), tbl("issues", schema.Incremental, ""), tbl("comments", schema.Incremental, "issues")}
}
func (f *fakeSource) Discover(ctx context.Context, pinned map[string]map[string]string) (*source.Discovery, error) {
	return &source.Discovery{Tables: f.Tables(), Info: map[string]string{"deployment": "Fake"}}, nil
}
func (f *fakeSource) Estimate(ctx context.Context, table string, st state.TableState) (int64, error) {
	return int64(f.issues), nil
}
func (f *fakeSource) Requests() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]int64{"issues": int64(f.syncs)}
}
func (f *fakeSource) Close() error { return nil }

func rec(t *schema.Table, ids ...string) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.ArrowSchema())
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.StringBuilder).Append(id)
		b.Field(1).(*array.StringBuilder).Append("t-" + id)
		for i := 2; i < b.Schema().NumFields(); i++ {
			b.Field(i).AppendNull()
		}
	}
	return b.NewRecordBatch()
}

func (f *fakeSource) Sync(ctx context.Context, req *source.SyncRequest) error {
	f.mu.Lock()
	f.syncs++
	f.sawParallelism = append(f.sawParallelism, source.ParallelismFrom(ctx))
	if f.sawFull == nil {
		f.sawFull = map[string]bool{}
	}
	for name, tr := range req.Tables {
		f.sawFull[name] = tr.Full
	}
	f.mu.Unlock()
	var errs []error
	for name, tr := range req.Tables {
		switch name {
		case "projects":
			if err := tr.Sink.Send(ctx, rec(tr.Table, "P1", "P2")); err != nil {
				return err
			}
			if f.failProjects {
				errs = append(errs, &source.TableError{Table: "projects", Err: errors.New("HTTP 500 on page 2")})
			}
		case "issues":
			if f.failWith != nil {
				errs = append(errs, &source.TableError{Table: "issues", Err: f.failWith})
				continue
			}
			for i := 0; i < f.issues; i++ {
				id := fmt.Sprint(i)
				if c := req.Tables["comments"]; c != nil {
					if err := c.Sink.Send(ctx, rec(c.Table, id+"-c1", id+"-c2")); err != nil {
						return err
					}
				}
				if err := tr.Sink.Send(ctx, rec(tr.Table, id)); err != nil {
					return err
				}
			}
			if err := req.Barrier(ctx); err != nil {
				return err
			}
			st := tr.State
			st.Cursor = fmt.Sprint(f.issues)
			if err := tr.Sink.Checkpoint(ctx, st); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

func testConfig(t *testing.T, tables ...string) *config.Config {
	sched, err := config.ParseSchedule("1h")
	if err != nil {
		t.Fatal(err)
	}
	src := &config.Source{Type: "jira", Name: "acme"}
	dst := &config.Destination{Type: "duckdb", Name: "w"}
	return &config.Config{
		Digest:       "sha256:test",
		Sources:      map[string]*config.Source{"jira.acme": src},
		Destinations: map[string]*config.Destination{"duckdb.w": dst},
		Syncs:        map[string]*config.Sync{"acme": {Name: "acme", Source: src, Destination: dst, Tables: tables, Schedule: sched}},
	}
}

func newTestEngine(t *testing.T, cfg *config.Config, src source.Source, d *memDest, now *time.Time) *Engine {
	e := New(cfg, Opener{
		Source:      func(ctx context.Context, s *config.Source) (source.Source, error) { return src, nil },
		Destination: func(ctx context.Context, c *config.Destination) (dest.Destination, error) { return d, nil },
	})
	e.Now = func() time.Time { return *now }
	return e
}

// testClock is a clock the engine reads from any goroutine.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// slowSource is a fakeSource whose syncs take d of the engine's clock.
type slowSource struct {
	*fakeSource
	clock *testClock
	d     time.Duration
}

func (s slowSource) Sync(ctx context.Context, req *source.SyncRequest) error {
	s.clock.Set(s.clock.Now().Add(s.d))
	return s.fakeSource.Sync(ctx, req)
}

// TestScheduleFromRunStart: an hourly sync triggered every hour, a little
// late each time and taking minutes, is due at every trigger: its
// schedule counts UTC hours from when its last run started, not an hour
// from when it ended (which skipped every other trigger).
func TestScheduleFromRunStart(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{}
	d := newMemDest()
	src := slowSource{fakeSource: &fakeSource{issues: 5}, clock: clock, d: 3 * time.Minute}
	cfg := testConfig(t)
	engineAt := func(at time.Time) *Engine {
		clock.Set(at)
		e := newTestEngine(t, cfg, src, d, nil)
		e.Now = clock.Now
		return e
	}
	for _, trigger := range []time.Time{
		time.Date(2026, 11, 29, 10, 4, 0, 0, time.UTC),
		time.Date(2026, 11, 29, 11, 1, 0, 0, time.UTC), // less late than the last run's end (10:07)
		time.Date(2026, 11, 29, 12, 0, 30, 0, time.UTC),
	} {
		e := engineAt(trigger)
		p, err := e.Plan(ctx, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasWork() {
			t.Fatalf("at %s: not due: %s", trigger.Format(time.TimeOnly), p.Syncs[0].Reason)
		}
		res, err := e.Apply(ctx, p, ApplyOptions{Parallelism: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Err(); err != nil {
			t.Fatal(err)
		}
		// Later in the same hour: not due, until the next hour.
		later := trigger.Truncate(time.Hour).Add(59 * time.Minute)
		p, err = engineAt(later).Plan(ctx, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := "not due until " + trigger.Truncate(time.Hour).Add(time.Hour).Format(time.RFC3339)
		if p.HasWork() || !strings.Contains(p.Syncs[0].Reason, want) {
			t.Fatalf("at %s: %s, want %q", later.Format(time.TimeOnly), p.Syncs[0].Reason, want)
		}
	}
}

// mustApply plans what is due with e and applies it, failing the test on
// any error.
func mustApply(t *testing.T, e *Engine) {
	t.Helper()
	p, err := e.Plan(context.Background(), PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(context.Background(), p, ApplyOptions{})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestIncompatibleColumnRefetches: a column whose type changed (a custom
// field made text) is recreated with -allow-incompatible, and its table is
// fetched in full so that no row keeps a value cast from the old type.
func TestIncompatibleColumnRefetches(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 5}
	cfg := testConfig(t)
	mustApply(t, newTestEngine(t, cfg, src, d, &now))
	var issues *schema.Table
	for _, tb := range src.Tables() {
		if tb.Name == "issues" {
			issues = tb
		}
	}
	d.changes = []schema.TableChange{{Kind: schema.IncompatibleColumn, Table: issues, Column: &issues.Columns[1]}}
	p, err := newTestEngine(t, cfg, src, d, &now).Plan(ctx, PlanOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range p.Syncs[0].Tables {
		if pt.Name != "issues" {
			continue
		}
		want := "+ column " + issues.Columns[1].Name + " of a new type: every row is fetched again to fill it"
		if pt.Mode != plan.ModeFull || !slices.Contains(pt.Notes, want) {
			t.Errorf("issues: mode %s, notes %q; want full with %q", pt.Mode, pt.Notes, want)
		}
	}
}

func TestPlanApplyScheduleAndIncremental(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 5}
	cfg := testConfig(t)
	e := newTestEngine(t, cfg, src, d, &now)

	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasWork() || p.Syncs[0].Reason != "never run" {
		t.Fatalf("first plan should be due: %+v", p.Syncs[0])
	}
	if c := p.Count(); c.Create != 4 || c.Sync != 3 { // 3 tables + rejects created
		t.Fatalf("counts %+v", c)
	}
	res, err := e.Apply(ctx, p, ApplyOptions{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if got := len(d.tables["acme.comments"]); got != 10 {
		t.Fatalf("comments written: %d", got)
	}
	if got := d.snap.Get("acme", "issues").Cursor; got != "5" {
		t.Fatalf("issues cursor %q", got)
	}
	if len(d.runs) != 3 {
		t.Fatalf("runs recorded: %d", len(d.runs))
	}

	// Thirty minutes later nothing is due; with -force it is, incrementally.
	now = now.Add(30 * time.Minute)
	e2 := newTestEngine(t, cfg, src, d, &now)
	p, err = e2.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasWork() || !strings.Contains(p.Syncs[0].Reason, "not due until 2026-11-29T11:00:00Z") {
		t.Fatalf("should not be due: %+v", p.Syncs[0])
	}
	p, _ = e2.Plan(ctx, PlanOptions{Force: true})
	for _, pt := range p.Syncs[0].Tables {
		if pt.Name == "issues" && (pt.Mode != "incremental" || pt.Since != "5") {
			t.Fatalf("issues should be incremental since 5: %+v", pt)
		}
	}
	if _, err := e2.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if src.sawFull["issues"] || !src.sawFull["projects"] {
		t.Fatalf("modes passed to the source: %v", src.sawFull)
	}
}

func TestApplyRefusesStalePlan(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 1}
	e := newTestEngine(t, testConfig(t), src, d, &now)
	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.commit(&state.TableState{Sync: "other", Table: "x"}) // another apply ran
	_, err = e.Apply(ctx, p, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "another apply or a `jsync state rm` ran") {
		t.Fatalf("want stale error, got %v", err)
	}
	cfg2 := testConfig(t)
	cfg2.Digest = "sha256:changed"
	e2 := newTestEngine(t, cfg2, src, d, &now)
	if _, err := e2.Apply(ctx, p, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "configuration") {
		t.Fatalf("want config-changed error, got %v", err)
	}
}

func TestFailedTableKeepsCursorOthersCommit(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 3, failWith: errors.New("HTTP 500 from /rest/api/3/search/jql")}
	e := newTestEngine(t, testConfig(t), src, d, &now)
	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Apply(ctx, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rerr := res.Err()
	if rerr == nil || !strings.Contains(rerr.Error(), "sync.acme.issues") || !strings.Contains(rerr.Error(), "HTTP 500") {
		t.Fatalf("want root cause naming the table, got %v", rerr)
	}
	if strings.Contains(rerr.Error(), "comments") {
		t.Fatalf("dependents must not be reported as root causes: %v", rerr)
	}
	if c := d.snap.Get("acme", "issues").Cursor; c != "" {
		t.Fatalf("failed table advanced its cursor to %q", c)
	}
	if d.snap.Get("acme", "projects").LastSuccess.IsZero() {
		t.Fatal("unrelated table did not commit")
	}
	if !d.snap.Get("acme", SyncStateTable).LastSuccess.IsZero() {
		t.Fatal("a sync with a failed table must stay due")
	}
}

// TestChildRunStatusFollowsParent: a child table whose parent failed is
// recorded as failed (a dependency failed); one whose parent was stopped by
// the apply's cancellation is recorded as cancelled, as the parent is, so
// that alerts on failed runs do not fire for an interrupted apply.
func TestChildRunStatusFollowsParent(t *testing.T) {
	for _, tc := range []struct {
		name              string
		err               error
		issues, comments  string
		commentsErrIsDeps bool
	}{
		{"failed", errors.New("HTTP 500 from /rest/api/3/search/jql"), "failed", "failed", true},
		{"interrupted", fmt.Errorf("search issues: %w", context.Canceled), "cancelled", "cancelled", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			d, src := newMemDest(), &fakeSource{issues: 3, failWith: tc.err}
			e := newTestEngine(t, testConfig(t), src, d, &now)
			p, err := e.Plan(ctx, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
				t.Fatal(err)
			}
			status := map[string]state.Run{}
			for _, r := range d.runs {
				status[r.Table] = r
			}
			if got := status["issues"].Status; got != tc.issues {
				t.Errorf("issues: status %q, want %q", got, tc.issues)
			}
			c := status["comments"]
			if c.Status != tc.comments {
				t.Errorf("comments: status %q (%s), want %q", c.Status, c.Error, tc.comments)
			}
			if deps := strings.Contains(c.Error, dag.ErrUpstreamFailed.Error()); deps != tc.commentsErrIsDeps {
				t.Errorf("comments: error %q; names a failed dependency: %v, want %v", c.Error, deps, tc.commentsErrIsDeps)
			}
		})
	}
}

// applyWithChildCursor plans and applies e, then gives the child table
// comments a cursor of its own (as worklogs have their feed's) and
// returns its state.
func applyWithChildCursor(t *testing.T, e *Engine, d *memDest) state.TableState {
	t.Helper()
	ctx := context.Background()
	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	comments := d.snap.Get("acme", "comments")
	comments.Sync, comments.Table, comments.Cursor = "acme", "comments", "1796324090579"
	d.commit(&comments)
	return comments
}

// TestChildWithCursorFollowsFullParent: a child table with a cursor of its
// own (as worklogs have their feed's) is planned full, not incremental
// since its cursor, when its parent is fetched in full: it is fetched with
// the parent, which then brings all of its rows.
func TestChildWithCursorFollowsFullParent(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 3}
	e := newTestEngine(t, testConfig(t), src, d, &now)
	comments := applyWithChildCursor(t, e, d)
	mode := func(when string) map[string]string {
		t.Helper()
		p, err := e.Plan(ctx, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		modes := map[string]string{}
		for _, pt := range p.Syncs[0].Tables {
			modes[pt.Name] = pt.Mode
			if pt.Name == "comments" && pt.Mode == plan.ModeIncremental && pt.Since != comments.Cursor {
				t.Errorf("%s: comments incremental since %q, want its own cursor", when, pt.Since)
			}
		}
		return modes
	}
	now = now.Add(2 * time.Hour)
	if m := mode("after a run"); m["issues"] != plan.ModeIncremental || m["comments"] != plan.ModeIncremental {
		t.Fatalf("after a run: issues %s, comments %s; want both incremental", m["issues"], m["comments"])
	}
	if _, err := e.StateRemove(ctx, "sync.acme.issues"); err != nil {
		t.Fatal(err)
	}
	if m := mode("after state rm"); m["issues"] != plan.ModeFull || m["comments"] != plan.ModeFull {
		t.Fatalf("after state rm of issues: issues %s, comments %s; want both full", m["issues"], m["comments"])
	}
}

// siblingSource is fakeSource with a second child of issues, "links",
// after "comments" in table order.
type siblingSource struct{ fakeSource }

func (s *siblingSource) Tables() []*schema.Table {
	return append(s.fakeSource.Tables(), tbl("links", schema.Incremental, "issues"))
}
func (s *siblingSource) Discover(ctx context.Context, pinned map[string]map[string]string) (*source.Discovery, error) {
	return &source.Discovery{Tables: s.Tables(), Info: map[string]string{"deployment": "Fake"}}, nil
}

// TestChildFollowsParentMadeFullLater: a child table added to the
// selection makes its parent fetch in full; a sibling planned before it
// (comments, with a cursor of its own) is then fetched in full as well, and
// the plan says so.
func TestChildFollowsParentMadeFullLater(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &siblingSource{fakeSource{issues: 3}}
	applyWithChildCursor(t, newTestEngine(t, testConfig(t, "issues", "comments"), src, d, &now), d)
	now = now.Add(2 * time.Hour)
	e2 := newTestEngine(t, testConfig(t, "issues", "comments", "links"), src, d, &now)
	p, err := e2.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, pt := range p.Syncs[0].Tables {
		order = append(order, pt.Name)
		if pt.Name != "projects" && (pt.Mode != plan.ModeFull || pt.Since != "") {
			t.Errorf("%s: %s since %q, want full: links is new, so issues and every table fetched with them are read in full", pt.Name, pt.Mode, pt.Since)
		}
	}
	if !slices.Equal(order, []string{"issues", "comments", "links"}) {
		t.Fatalf("tables planned in the order %v: the test needs comments before links", order)
	}
}

func TestChildSelectionReadsParentWithoutWriting(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 2}
	e := newTestEngine(t, testConfig(t, "comments"), src, d, &now)
	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var issues *struct{ write bool }
	for _, pt := range p.Syncs[0].Tables {
		if pt.Name == "issues" {
			issues = &struct{ write bool }{pt.Write}
		}
		if pt.Name == "projects" {
			t.Fatal("projects was not selected and is not needed")
		}
	}
	if issues == nil || issues.write {
		t.Fatalf("issues must be read but not written: %+v", p.Syncs[0].Tables)
	}
	if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.tables["acme.issues"]; ok {
		t.Fatal("issues table was created although not selected")
	}
	if len(d.tables["acme.comments"]) != 4 {
		t.Fatalf("comments: %d", len(d.tables["acme.comments"]))
	}
	if d.snap.Get("acme", "issues").Cursor != "2" {
		t.Fatal("the parent's fetch cursor should still be kept for incremental child syncs")
	}
}

func TestDestinationFailureIsReported(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 50}
	d.failOn = "comments"
	e := newTestEngine(t, testConfig(t), src, d, &now)
	p, _ := e.Plan(ctx, PlanOptions{})
	res, err := e.Apply(ctx, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rerr := res.Err(); rerr == nil || !strings.Contains(rerr.Error(), "disk full") {
		t.Fatalf("want disk full, got %v", rerr)
	}
	if d.snap.Get("acme", "issues").Cursor != "" {
		t.Fatal("issues cursor advanced although its children failed to write")
	}
}

func TestFailedFullTableFetchKeepsOldContent(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 1}
	e := newTestEngine(t, testConfig(t), src, d, &now)
	p, _ := e.Plan(ctx, PlanOptions{})
	if _, err := e.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.tables["acme.projects"]["P0"] = true // a row only the old content has
	d.mu.Unlock()
	src.failProjects = true
	now = now.Add(2 * time.Hour)
	e2 := newTestEngine(t, testConfig(t), src, d, &now)
	p, _ = e2.Plan(ctx, PlanOptions{})
	res, err := e2.Apply(ctx, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Err() == nil || !strings.Contains(res.Err().Error(), "HTTP 500 on page 2") {
		t.Fatalf("want the projects failure, got %v", res.Err())
	}
	if got := len(d.tables["acme.projects"]); got != 3 {
		t.Fatalf("a failed full-table fetch replaced the table: %d rows left, want the old 3", got)
	}
}

// The fake destination marks rows like the real ones: by key or by the
// columns the record carries, NULLs matching nothing, marks kept.
func TestMemDestMarkDeleted(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	comments := &schema.Table{Name: "comments", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true},
		{Name: "issue_id", Type: arrow.BinaryTypes.String},
		{Name: schema.ColDeletedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}}
	d := newMemDest()
	if err := d.Migrate(ctx, "acme", []schema.TableChange{{Kind: schema.CreateTable, Table: comments}}, dest.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	record := func(cols []schema.Column, rows ...[]any) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, (&schema.Table{Columns: cols}).ArrowSchema())
		defer b.Release()
		for _, r := range rows {
			for i, v := range r {
				if v == nil {
					b.Field(i).AppendNull()
				} else {
					b.Field(i).(*array.StringBuilder).Append(v.(string))
				}
			}
		}
		return b.NewRecordBatch()
	}
	write := func(rows ...[]any) {
		ch := make(chan dest.Batch, 1)
		ch <- dest.Batch{Record: record(comments.Columns[:2], rows...)}
		close(ch)
		if _, err := d.Write(ctx, "acme", comments, ch); err != nil {
			t.Fatal(err)
		}
	}
	mark := func(cols []schema.Column, rows ...[]any) int64 {
		t.Helper()
		keys := record(cols, rows...)
		defer keys.Release()
		n, err := d.MarkDeleted(ctx, "acme", comments, keys, dest.Mark{At: time.Now()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	write([]any{"c1", "i1"}, []any{"c2", "i1"}, []any{"c3", "i2"}, []any{"c4", nil})
	byIssue := []schema.Column{{Name: "issue_id", Type: arrow.BinaryTypes.String}}
	if n := mark(byIssue, []any{"i1"}, []any{nil}); n != 2 {
		t.Errorf("marked %d comments of i1, want 2", n)
	}
	if n := mark(byIssue, []any{"i1"}); n != 0 {
		t.Errorf("marked %d comments again, want 0", n)
	}
	write([]any{"c1", "i1"}) // an upsert without the mark leaves it
	if n := mark(comments.Columns[:1], []any{"c3"}, []any{"c1"}); n != 1 {
		t.Errorf("marked %d comments by id, want 1", n)
	}
	keys := record([]schema.Column{{Name: "nope", Type: arrow.BinaryTypes.String}}, []any{"x"})
	defer keys.Release()
	if _, err := d.MarkDeleted(ctx, "acme", comments, keys, dest.Mark{At: time.Now()}, nil); err == nil || !strings.Contains(err.Error(), "unknown column") {
		t.Errorf("MarkDeleted by an unknown column = %v", err)
	}
}

// memoryDest is a memDest that also plans memory: it warns when a table
// has more than 3 columns.
type memoryDest struct {
	*memDest
	seen []string
}

func (d *memoryDest) PlanMemory(tables []*schema.Table) []string {
	var out []string
	for _, t := range tables {
		d.seen = append(d.seen, t.Name)
		if len(t.Columns) > 3 {
			out = append(out, "table "+t.Name+" is wide")
		}
	}
	return out
}

// TestPlanAsksDestinationForMemory: a destination that plans memory sees
// the tables the sync writes, and its warnings join the plan's, after the
// source's, without changing the cached discovery's.
func TestPlanAsksDestinationForMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d := &memoryDest{memDest: newMemDest()}
	src := &fakeSource{issues: 5}
	e := New(testConfig(t), Opener{
		Source:      func(ctx context.Context, s *config.Source) (source.Source, error) { return src, nil },
		Destination: func(ctx context.Context, c *config.Destination) (dest.Destination, error) { return d, nil },
	})
	e.Now = func() time.Time { return now }
	first := -1
	for range 2 { // the second plan reuses the discovery
		p, err := e.Plan(ctx, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var wide []string
		for _, w := range p.Syncs[0].Warnings {
			if strings.HasSuffix(w, " is wide") {
				wide = append(wide, w)
			}
		}
		if len(wide) == 0 {
			t.Fatalf("plan warnings %q carry none of the destination's", p.Syncs[0].Warnings)
		}
		if n := len(p.Syncs[0].Warnings); n != len(wide) {
			t.Errorf("plan warnings %q: want only the destination's %q (the fake source warns of nothing)", p.Syncs[0].Warnings, wide)
		}
		if first >= 0 && len(wide) != first {
			t.Errorf("second plan has %d of the destination's warnings, the first %d: warnings pile up in the cached discovery", len(wide), first)
		}
		first = len(wide)
	}
	if !slices.Contains(d.seen, "issues") {
		t.Errorf("PlanMemory saw %q, want the written tables", d.seen)
	}
}

// TestApplyParallelismReachesSources: -parallelism, when given, caps the
// sources' requests (source.ParallelismFrom in Sync); when not, the sources keep
// their own bound (0), so a Jira source's `concurrency` is honoured.
func TestApplyParallelismReachesSources(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  int
		want int
	}{{"not given", 0, 0}, {"given", 3, 3}, {"sequential", 1, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			d, src := newMemDest(), &fakeSource{issues: 2}
			e := newTestEngine(t, testConfig(t), src, d, &now)
			p, err := e.Plan(ctx, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Apply(ctx, p, ApplyOptions{Parallelism: tt.opt})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if len(src.sawParallelism) == 0 {
				t.Fatal("no Sync ran")
			}
			for _, got := range src.sawParallelism {
				if got != tt.want {
					t.Errorf("Sync's ParallelismFrom(ctx) = %d, want %d (all: %v)", got, tt.want, src.sawParallelism)
				}
			}
		})
	}
}

// TestApplyRefusesPlanNotMatchingConfig: a plan edited by hand (its
// checksum recomputed) that names syncs, sources, destinations or tables
// other than the configuration's is refused before anything runs, with an
// error naming what does not match, never a panic.
func TestApplyRefusesPlanNotMatchingConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *plan.Plan)
		want string
	}{
		{"unknown sync", func(p *plan.Plan) { p.Syncs[0].Name = "zzz" },
			"plan file refers to sync.zzz, which the configuration does not declare"},
		{"unknown destination", func(p *plan.Plan) {
			p.Syncs[0].Destination = "destination.duckdb.zz"
			p.Serials = map[string]int64{"destination.duckdb.zz": 0}
		}, "plan file refers to destination.duckdb.zz, which the configuration does not declare"},
		{"other destination", func(p *plan.Plan) {
			p.Syncs[0].Destination = "destination.duckdb.other"
			p.Serials = map[string]int64{"destination.duckdb.other": 0}
		}, "has sync.acme use destination.duckdb.other, the configuration destination.duckdb.w"},
		{"unknown source", func(p *plan.Plan) { p.Syncs[0].Source = "source.jira.nope" },
			"plan file refers to source.jira.nope, which the configuration does not declare"},
		{"namespace", func(p *plan.Plan) { p.Syncs[0].Namespace = "other" },
			`has sync.acme write to namespace "other", the configuration to "acme"`},
		{"unknown table", func(p *plan.Plan) { p.Syncs[0].Tables[0].Name = "nosuch" },
			"lists table sync.acme.nosuch, which the sync does not fetch"},
		{"missing table", func(p *plan.Plan) { p.Syncs[0].Tables = p.Syncs[0].Tables[1:] },
			"lacks table sync.acme.projects"},
		{"write flag", func(p *plan.Plan) { p.Syncs[0].Tables[0].Write = false },
			"has table sync.acme.projects with write=false"},
		{"parent", func(p *plan.Plan) { p.Syncs[0].Tables[0].Parent = "issues" },
			`has table sync.acme.projects with parent "issues"`},
		{"no serials", func(p *plan.Plan) { p.Serials = nil },
			"no serial for destination.duckdb.w"},
		{"no tables", func(p *plan.Plan) { p.Syncs[0].Tables = nil },
			"sync.acme is due but lists no tables"},
		{"bad mode", func(p *plan.Plan) { p.Syncs[0].Tables[0].Mode = "sometimes" },
			`sync.acme.projects: mode "sometimes"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			d, src := newMemDest(), &fakeSource{issues: 1}
			cfg := testConfig(t)
			cfg.Destinations["duckdb.other"] = &config.Destination{Type: "duckdb", Name: "other"} // declared, used by no sync
			e := newTestEngine(t, cfg, src, d, &now)
			p, err := e.Plan(ctx, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(p)
			res, err := e.Apply(ctx, p, ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "jsync plan") {
				t.Fatalf("Apply = %v, %v; want an error containing %q that says to plan again", res, err, tc.want)
			}
			if src.syncs != 0 || len(d.tables) != 0 {
				t.Fatalf("a refused plan ran: %d source syncs, tables %v", src.syncs, d.tables)
			}
		})
	}
}

// TestStateCommands: state rm resets a table so that the next apply
// fetches it in full; it refuses a child table, whose rows come with its
// parent's fetch, naming the table to reset; show and rm refuse a table
// the source does not offer, with the closest name.
func TestStateCommands(t *testing.T) {
	tests := []struct {
		name    string
		show    bool
		addr    string
		wantErr string // "" for success
		wantN   int
	}{
		{"rm a table", false, "sync.acme.issues", "", 1},
		{"rm a full table", false, "sync.acme.projects", "", 1},
		{"rm a sync", false, "sync.acme", "", 3},
		{"rm a child", false, "sync.acme.comments",
			"comments is fetched with issues, so resetting it alone would fetch nothing more; to refetch it, reset sync.acme.issues (jsync state rm sync.acme.issues)", 0},
		{"rm a typo", false, "sync.acme.isues", `unknown table "isues" in sync.acme: source.jira.acme offers no such table; did you mean "issues"?`, 0},
		{"show a typo", true, "sync.acme.isues", `unknown table "isues" in sync.acme`, 0},
		{"show a child", true, "sync.acme.comments", "", 0},
		{"show the sync", true, "sync.acme", "", 0},
		{"show a table without state", true, "sync.acme._jsync_rejects", "it has never been synced", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			d, src := newMemDest(), &fakeSource{issues: 2}
			e := newTestEngine(t, testConfig(t), src, d, &now)
			p, err := e.Plan(ctx, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := e.Apply(ctx, p, ApplyOptions{}); err != nil || res.Err() != nil {
				t.Fatalf("apply: %v %v", err, res.Err())
			}
			serial := d.snap.Serial
			var n int
			if tc.show {
				_, err = e.StateShow(ctx, tc.addr)
			} else {
				n, err = e.StateRemove(ctx, tc.addr)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				if d.snap.Serial != serial {
					t.Fatal("a refused command changed the state")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.wantN {
				t.Fatalf("reset %d tables, want %d", n, tc.wantN)
			}
			if tc.show {
				return
			}
			// The next plan runs the sync, though not due by its schedule,
			// and says why.
			p, err = newTestEngine(t, testConfig(t), src, d, &now).Plan(ctx, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sp := p.Syncs[0]; !sp.Due || sp.Reason != "state reset by jsync state rm" {
				t.Fatalf("after state rm the sync is due %v, reason %q", sp.Due, sp.Reason)
			}
			for _, pt := range p.Syncs[0].Tables {
				if pt.Name == "issues" && strings.HasSuffix(tc.addr, "issues") && pt.Mode != plan.ModeFull {
					t.Fatalf("issues after its reset: mode %s, want full", pt.Mode)
				}
			}
		})
	}
}

// closeRecorder is a destination that records when it is closed.
type closeRecorder struct {
	*memDest
	name string
	log  *[]string
}

func (c *closeRecorder) Close() error { *c.log = append(*c.log, "close "+c.name); return nil }

// TestPlanReadsApplyWrites: Plan and the state commands open destinations
// with Opener.ReadDestination, and Apply closes every reader before it
// opens any destination to write: a reader of one file kept while the
// writer of another waits could hold up a process waiting for it in turn.
// With ToApply, Plan opens the destinations to write, as Apply does.
func TestPlanReadsApplyWrites(t *testing.T) {
	ctx := context.Background()
	twoDests := func() *config.Config {
		cfg := testConfig(t)
		src := cfg.Sources["jira.acme"]
		other := &config.Destination{Type: "duckdb", Name: "x"}
		cfg.Destinations["duckdb.x"] = other
		cfg.Syncs["beta"] = &config.Sync{Name: "beta", Source: src, Destination: other, Schedule: cfg.Syncs["acme"].Schedule}
		return cfg
	}
	for _, tt := range []struct {
		name             string
		toApply          bool
		afterPlan, after []string
	}{
		{"plan reads", false,
			[]string{"open reader w", "open reader x"},
			[]string{"open reader w", "open reader x", "close reader w", "close reader x", "open writer w", "open writer x"}},
		{"plan to apply", true,
			[]string{"open writer w", "open writer x"},
			[]string{"open writer w", "open writer x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dests := map[string]*memDest{"w": newMemDest(), "x": newMemDest()}
			var log []string
			opener := func(kind string) func(ctx context.Context, c *config.Destination) (dest.Destination, error) {
				return func(ctx context.Context, c *config.Destination) (dest.Destination, error) {
					log = append(log, "open "+kind+" "+c.Name)
					return &closeRecorder{memDest: dests[c.Name], name: kind + " " + c.Name, log: &log}, nil
				}
			}
			e := New(twoDests(), Opener{
				Source:          func(ctx context.Context, s *config.Source) (source.Source, error) { return &fakeSource{issues: 5}, nil },
				Destination:     opener("writer"),
				ReadDestination: opener("reader"),
			})
			p, err := e.Plan(ctx, PlanOptions{ToApply: tt.toApply})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.StateList(ctx); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(log, tt.afterPlan) {
				t.Fatalf("after plan and state list: %q, want %q", log, tt.afterPlan)
			}
			res, err := e.Apply(ctx, p, ApplyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Err(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(log, tt.after) {
				t.Fatalf("after apply: %q, want %q", log, tt.after)
			}
			for name, d := range dests {
				if len(d.tables) == 0 {
					t.Errorf("apply wrote nothing to %s", name)
				}
			}
			// With the writers open, reading goes through them.
			if _, err := e.StateList(ctx); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if want := append(slices.Clone(tt.after), "close writer w", "close writer x"); !slices.Equal(log, want) {
				t.Errorf("after close: %q, want %q", log, want)
			}
		})
	}
}

// TestResultsNameTheNamespace: a sync named unlike its source writes to
// the source's namespace; its table results and progress events carry that
// namespace (what the plan shows and the destination holds), beside the
// sync's name, and a table only read for its children is marked so.
func TestResultsNameTheNamespace(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	d, src := newMemDest(), &fakeSource{issues: 2}
	cfg := testConfig(t, "comments", "projects")
	sc := cfg.Syncs["acme"]
	delete(cfg.Syncs, "acme")
	sc.Name = "main"
	cfg.Syncs["main"] = sc
	e := newTestEngine(t, cfg, src, d, &now)
	var mu sync.Mutex
	var done []ProgressEvent
	e.Progress = func(ev ProgressEvent) {
		if ev.Done {
			mu.Lock()
			done = append(done, ev)
			mu.Unlock()
		}
	}
	p, err := e.Plan(ctx, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns := p.Syncs[0].Namespace; ns != "acme" {
		t.Fatalf("plan namespace %q, want acme", ns)
	}
	res, err := e.Apply(ctx, p, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if len(d.tables["acme.comments"]) != 4 || len(d.tables["acme.projects"]) != 2 {
		t.Fatalf("tables written: %v", d.tables)
	}
	var names []string
	for _, tr := range res.Tables {
		if tr.Sync != "main" || tr.Namespace != "acme" {
			t.Errorf("result %s: sync %q, namespace %q; want main, acme", tr.Table, tr.Sync, tr.Namespace)
		}
		names = append(names, tr.Table)
	}
	slices.Sort(names)
	if want := []string{"comments", "issues", "projects"}; !slices.Equal(names, want) {
		t.Errorf("results %v, want %v", names, want)
	}
	if len(done) != 3 {
		t.Errorf("%d done events, want 3: %+v", len(done), done)
	}
	for _, ev := range done {
		if ev.Sync != "main" || ev.Namespace != "acme" {
			t.Errorf("progress of %s: sync %q, namespace %q; want main, acme", ev.Table, ev.Sync, ev.Namespace)
		}
		// issues is only read, for comments.
		if ev.ReadOnly != (ev.Table == "issues") {
			t.Errorf("progress of %s: ReadOnly %v", ev.Table, ev.ReadOnly)
		}
	}
}
