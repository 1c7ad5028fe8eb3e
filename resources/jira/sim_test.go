package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/resources/jira/client"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// simFixture is a simulator, a source connected to it and an in-memory
// destination.
type simFixture struct {
	t     *testing.T
	sim   *jirasim.Server
	src   *Source
	dest  *memDest
	start time.Time
	mem   *memory.CheckedAllocator
	rej   *RejectCollector
	clock *fakeClock
	// restricted: src is the restricted user, who is no administrator and
	// gets a 403 for the roles table.
	restricted bool
}

// fakeClock drives the simulator's time, so "the last minute" rules of
// worklog feeds are crossed without sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// okRequests counts the simulator's 200 answers on the endpoints whose
// name ends with one of suffixes.
func (f *simFixture) okRequests(suffixes ...string) int64 {
	var n int64
	for ep, codes := range f.sim.Stats().Endpoints {
		for _, suf := range suffixes {
			if strings.HasSuffix(ep, suf) {
				n += codes["200"]
				break
			}
		}
	}
	return n
}

// newSource connects a source to the simulator as the admin or the
// restricted user.
func (f *simFixture) newSource(flavor string, restricted bool) *Source {
	cfg := Config{Name: "sim", BaseURL: f.sim.URL(), CACertPEM: f.sim.CACertPEM(), RateLimit: -1, Concurrency: 2,
		StartDate: f.start, Rejects: f.rej, Allocator: f.mem, BatchRows: 500,
		Logger: slog.New(slog.NewTextHandler(testWriter{f.t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	f.restricted = restricted
	switch {
	case flavor == jirasim.FlavorDataCenter && restricted:
		cfg.PAT = jirasim.RestrictedPAT
	case flavor == jirasim.FlavorDataCenter:
		cfg.PAT = jirasim.DefaultPAT
	case restricted:
		cfg.Email, cfg.APIToken = jirasim.RestrictedEmail, jirasim.RestrictedToken
	default:
		cfg.Email, cfg.APIToken = f.sim.Credentials()
	}
	src, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return src
}

func newSimFixture(t *testing.T, flavor string, issues int, restricted bool) *simFixture {
	return newSimFixtureFaults(t, flavor, issues, restricted, 0)
}

func newSimFixtureFaults(t *testing.T, flavor string, issues int, restricted bool, faults float64) *simFixture {
	t.Helper()
	return newSimFixtureCaps(t, flavor, issues, restricted, faults, jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20})
}

func newSimFixtureCaps(t *testing.T, flavor string, issues int, restricted bool, faults float64, caps jirasim.Caps) *simFixture {
	t.Helper()
	return newSimFixtureWith(t, jirasim.Options{Issues: issues, Flavor: flavor, Faults: faults, Caps: caps}, restricted)
}

// newSimFixtureWith starts a simulator with opts (seed 7, no rate limit,
// the fixture's clock and a far time zone, unless opts sets them).
func newSimFixtureWith(t *testing.T, opts jirasim.Options, restricted bool) *simFixture {
	t.Helper()
	clock := &fakeClock{now: time.Now().UTC()}
	if opts.Seed == 0 {
		opts.Seed = 7
	}
	if opts.Rate == 0 {
		opts.Rate = -1
	}
	if opts.TZ == "" {
		opts.TZ = "Pacific/Kiritimati"
	}
	opts.Now = clock.Now
	flavor := opts.Flavor
	sim, err := jirasim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	f := &simFixture{t: t, sim: sim, dest: newMemDest(), clock: clock, mem: memory.NewCheckedAllocator(memory.NewGoAllocator()),
		rej: &RejectCollector{}, start: clock.Now().AddDate(-1, 0, 0).Truncate(time.Millisecond)}
	f.src = f.newSource(flavor, restricted)
	t.Cleanup(func() { f.mem.AssertSize(t, 0) })
	return f
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// sync discovers (with the pinned columns from state) and syncs every table.
func (f *simFixture) sync() []*schema.Table {
	f.t.Helper()
	tables, err := f.syncErr()
	if err != nil && !(f.restricted && rolesForbidden(err)) {
		f.t.Fatalf("sync: %v", err)
	}
	return tables
}

// rolesForbidden reports whether err is the roles table's 403.
func rolesForbidden(err error) bool {
	var he *client.HTTPError
	return errors.As(err, &he) && he.Status == http.StatusForbidden && he.Table == TableRoles
}

// syncErr is sync returning the sync's error instead of failing the test.
func (f *simFixture) syncErr() ([]*schema.Table, error) {
	f.t.Helper()
	ctx := context.Background()
	var pinned map[string]map[string]string
	if mt := f.dest.tables[TableIssues]; mt != nil {
		pinned = map[string]map[string]string{TableIssues: mt.state.PinnedColumns}
	}
	disc, err := f.src.Discover(ctx, pinned)
	if err != nil {
		f.t.Fatal(err)
	}
	return disc.Tables, f.src.Sync(ctx, f.dest.request(disc.Tables, f.clock.Now()))
}

// syncWithin is sync without pinned columns, failed if it takes longer
// than d (a sync stuck retrying then ends in an error, not a hung test).
func (f *simFixture) syncWithin(d time.Duration) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), d)
	defer cancel()
	disc, err := f.src.Discover(ctx, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.src.Sync(ctx, f.dest.request(disc.Tables, f.clock.Now())); err != nil {
		f.t.Fatalf("sync: %v", err)
	}
}

func totalRequests(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// counts returns the live rows per table; rows of issue children whose
// issue is deleted do not count (they are deleted through their parent).
func (f *simFixture) counts() map[string]int64 {
	out := map[string]int64{}
	for name, mt := range f.dest.tables {
		out[name] = int64(len(mt.live()))
	}
	return out
}

func (f *simFixture) checkCounts(when string) {
	f.t.Helper()
	f.checkCountsFor(when, false)
}

func (f *simFixture) checkCountsFor(when string, restricted bool) {
	f.t.Helper()
	want := f.sim.ExpectedFor(restricted, f.start).Tables
	got := f.counts()
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got[name] != want[name] {
			f.t.Errorf("%s: %s has %d rows, simulator expects %d", when, name, got[name], want[name])
		}
	}
	for _, tb := range Tables() {
		if _, ok := want[tb.Name]; !ok {
			f.t.Errorf("simulator has no expectation for %s", tb.Name)
		}
	}
	if f.t.Failed() {
		f.t.Logf("rejects: %d; first: %+v", len(f.rej.Rejects()), first(f.rej.Rejects()))
	}
}

func first(r []Reject) []Reject { return r[:min(3, len(r))] }

func TestSimFirstAndIncrementalSync(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, flavor := range []string{jirasim.FlavorCloud, jirasim.FlavorDataCenter} {
		t.Run(flavor, func(t *testing.T) {
			f := newSimFixture(t, flavor, 150, false)
			tables := f.sync()
			f.checkCounts("first sync")
			f.spotCheck(flavor, tables)
			if n := len(f.rej.Rejects()); n != 0 {
				t.Errorf("%d rejects, first %+v", n, first(f.rej.Rejects()))
			}

			res, err := f.sim.Mutate(jirasim.Mutation{Update: 6, Comment: 5, Worklog: 4, DeleteIssues: 2, DeleteWorklogs: 2, DeleteComments: 2, MoveIssues: 1, AddCustomField: 1})
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(3 * time.Minute) // past worklog/deleted's "not in the last minute"
			firstByTable := f.src.Requests()
			tables = f.sync()
			f.checkCounts("after mutate")
			incByTable := f.src.Requests()
			t.Logf("requests: first sync %v, after mutate %v", firstByTable, incByTable)
			// Issue-family requests of the incremental run grow with the
			// change (a few pages and completions), not with the dataset.
			var firstIssueReqs, incIssueReqs int64
			for _, name := range append([]string{TableIssues}, issueChildren...) {
				firstIssueReqs += firstByTable[name]
				incIssueReqs += incByTable[name] - firstByTable[name]
			}
			if incIssueReqs > 12 {
				t.Errorf("incremental issue requests %d (first sync %d): not proportional to the change", incIssueReqs, firstIssueReqs)
			}
			issues := f.dest.tables[TableIssues]
			for _, id := range res.DeletedIssueIDs {
				if r := issues.rows[id]; r == nil || r[schema.ColDeletedAt] == "" {
					t.Errorf("deleted issue %s not marked", id)
				}
			}
			for _, id := range res.DeletedWorklogs {
				if r := f.dest.tables[TableWorklogs].rows[itoa(id)]; r != nil && r[schema.ColDeletedAt] == "" {
					t.Errorf("deleted worklog %d not marked", id)
				}
			}
			for _, id := range res.DeletedComments {
				if r := f.dest.tables[TableIssueComments].rows[itoa(id)]; r == nil || r[schema.ColDeletedAt] == "" {
					t.Errorf("deleted comment %d not marked", id)
				}
			}
			// Every child row of a deleted issue is marked, links by either end.
			for _, name := range issueChildren {
				for _, r := range f.dest.tables[name].rows {
					for _, id := range res.DeletedIssueIDs {
						if (r["issue_id"] == id || r["source_issue_id"] == id || r["target_issue_id"] == id) && r[schema.ColDeletedAt] == "" {
							t.Errorf("%s row %v of deleted issue %s not marked", name, r, id)
						}
					}
				}
			}
			// The issues cursor is the largest updated written, in UTC.
			maxUpdated := ""
			for _, r := range issues.rows {
				if r["updated"] > maxUpdated {
					maxUpdated = r["updated"]
				}
			}
			cur, err := time.Parse(time.RFC3339Nano, issues.state.Cursor)
			if want, _ := time.Parse(time.RFC3339Nano, maxUpdated); err != nil || !cur.Equal(want) {
				t.Errorf("issues cursor %q, largest updated written %q", issues.state.Cursor, maxUpdated)
			}
			// Changes made just before the run (user zone UTC+14) are there.
			at := time.UnixMilli(res.AtMillis).UTC()
			byKey := map[string]map[string]string{}
			for _, r := range issues.live() {
				byKey[r["key"]] = r
			}
			for _, key := range append(append([]string{}, res.Updated...), res.Commented...) {
				r := byKey[key]
				if r == nil {
					if !slices.ContainsFunc(res.Moved, func(m [2]string) bool { return m[0] == key }) {
						t.Errorf("updated issue %s missing", key)
					}
					continue
				}
				if u, _ := time.Parse(time.RFC3339Nano, r["updated"]); u.Before(at) {
					t.Errorf("issue %s: updated %s is before the mutation at %s", key, r["updated"], at)
				}
			}
			for _, m := range res.Moved {
				if byKey[m[1]] == nil {
					t.Errorf("moved issue %s → %s: new key not synced", m[0], m[1])
				}
			}
			var it *schema.Table
			for _, tb := range tables {
				if tb.Name == TableIssues {
					it = tb
				}
			}
			for _, fid := range res.AddedFields {
				found := false
				for _, c := range it.Columns {
					found = found || c.FieldID == fid
				}
				if !found {
					t.Errorf("no column for new custom field %s", fid)
				}
			}
			// A run without changes costs little: one search page (the
			// overlap, whose unchanged issues are skipped) and the worklog
			// feeds; nothing per issue.
			before := f.src.Requests()
			sendsBefore := f.dest.tables[TableIssues].sends
			searches := func() int64 { return f.okRequests("/search/jql", "/rest/api/2/search") }
			searchesBefore := searches()
			f.sync()
			// Cloud lists the changes in one light page, plus one id-only
			// page of the delete sweep (which this fixture runs every
			// time); Data Center pages the overlap (no issue/bulkfetch).
			if n := searches() - searchesBefore; flavor == jirasim.FlavorCloud && n != 2 {
				t.Errorf("no-op sync made %d search requests, want 2 (the change list and the sweep)", n)
			}
			f.checkCounts("no-op sync")
			if n := f.dest.tables[TableIssues].sends - sendsBefore; n != 0 {
				t.Errorf("no-op sync wrote %d issue batches: the overlap's unchanged issues must be skipped", n)
			}
			var idle int64
			after := f.src.Requests()
			for _, name := range append([]string{TableIssues}, issueChildren...) {
				idle += after[name] - before[name]
			}
			if idle > 5 {
				t.Errorf("no-op sync made %d issue requests (%v → %v); want at most 5", idle, before, after)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// spotCheck compares a few values with what the simulator serves.
func (f *simFixture) spotCheck(flavor string, tables []*schema.Table) {
	t := f.t
	issues := f.dest.tables[TableIssues].rows
	if len(issues) == 0 {
		t.Fatal("no issues")
	}
	var withSprint, withCustom, subtasks int
	for _, r := range issues {
		for _, col := range []string{"key", "project_id", "status", "issue_type", "created", "updated", "fields", "reporter_account_id"} {
			if r[col] == "" {
				t.Errorf("issue %s: %s is empty", r["id"], col)
				break
			}
		}
		if !strings.HasSuffix(r["updated"], "Z") {
			t.Errorf("issue %s: updated %q not UTC", r["id"], r["updated"])
		}
		if r["sprint"] != "" {
			withSprint++
		}
		if r["story_points"] != "" {
			withCustom++
		}
		if r["parent_id"] != "" {
			subtasks++
		}
	}
	if withSprint == 0 || withCustom == 0 || subtasks == 0 {
		t.Errorf("typed columns never filled: sprint %d, story_points %d, parent_id %d", withSprint, withCustom, subtasks)
	}
	for _, r := range f.dest.tables[TableIssueComments].rows {
		if r["body"] == "" {
			t.Errorf("comment %s without body", r["id"])
		}
		if flavor == jirasim.FlavorCloud && r["body_adf"] == "" {
			t.Errorf("cloud comment %s without ADF", r["id"])
		}
		if flavor == jirasim.FlavorDataCenter && r["body_adf"] != "" {
			t.Errorf("DC comment %s with ADF", r["id"])
		}
		break
	}
	// One default resolution on Cloud (resolution/search says which);
	// Data Center's resolution list does not say.
	defaults := 0
	for _, r := range f.dest.tables[TableResolutions].rows {
		if r["is_default"] == "true" {
			defaults++
		}
	}
	if want := map[string]int{jirasim.FlavorCloud: 1, jirasim.FlavorDataCenter: 0}[flavor]; defaults != want {
		t.Errorf("%d default resolutions, want %d", defaults, want)
	}
	// Values agree with what the simulator serves for the same issue.
	api := "/rest/api/3"
	if flavor == jirasim.FlavorDataCenter {
		api = "/rest/api/2"
	}
	n := 0
	for id, r := range issues {
		if n++; n > 5 {
			break
		}
		req, _ := http.NewRequest(http.MethodGet, f.sim.URL()+api+"/issue/"+id+"?fields=summary,status,updated,duedate,labels,reporter", nil)
		req.Header.Set("Authorization", f.sim.AuthHeader())
		resp, err := f.sim.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var served struct {
			Key    string `json:"key"`
			Fields struct {
				Summary string   `json:"summary"`
				Updated string   `json:"updated"`
				DueDate string   `json:"duedate"`
				Labels  []string `json:"labels"`
				Status  struct {
					Name string `json:"name"`
				} `json:"status"`
				Reporter map[string]any `json:"reporter"`
			} `json:"fields"`
		}
		err = json.NewDecoder(resp.Body).Decode(&served)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		up, err := ParseDateTime(served.Fields.Updated)
		got, _ := time.Parse(time.RFC3339Nano, r["updated"])
		if err != nil || !up.Equal(got) {
			t.Errorf("issue %s: updated %s, served %s", id, r["updated"], served.Fields.Updated)
		}
		reporter, _ := served.Fields.Reporter["accountId"].(string)
		if reporter == "" {
			reporter, _ = served.Fields.Reporter["key"].(string)
		}
		labels, _ := json.Marshal(served.Fields.Labels)
		if served.Fields.Labels == nil {
			labels = []byte("[]")
		}
		want := map[string]string{"key": served.Key, "summary": served.Fields.Summary, "status": served.Fields.Status.Name,
			"due_date": served.Fields.DueDate, "labels": string(labels), "reporter_account_id": reporter}
		for col, v := range want {
			if r[col] != v {
				t.Errorf("issue %s: %s = %q, served %q", id, col, r[col], v)
			}
		}
	}
	users := f.dest.tables[TableUsers].rows
	for _, r := range issues {
		if a := r["assignee_account_id"]; a != "" {
			if _, ok := users[a]; !ok {
				t.Errorf("assignee %s of issue %s is not in users", a, r["id"])
			}
			break
		}
	}
}

// TestSimRestrictedUser syncs as a user who sees only some projects and is
// not an administrator: only what that user can see is written, and the one
// table that needs Administer Jira (roles) fails with a 403 that names the
// permission and the way out, without stopping the other tables.
func TestSimRestrictedUser(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorCloud, 120, true)
	_, err := f.syncErr()
	if !rolesForbidden(err) {
		t.Fatalf("sync error = %v, want the roles table's 403", err)
	}
	for _, want := range []string{"Administer Jira", `leave "roles" out of the sync's tables`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("sync error %q does not say %q", err, want)
		}
	}
	f.checkCountsFor("restricted first sync", true)
	all := f.sim.Expected(f.start).Tables
	if got := f.counts()[TableIssues]; got >= all[TableIssues] {
		t.Errorf("restricted user got %d issues of %d", got, all[TableIssues])
	}
}

// TestSimScopeWidened: issues that no run wrote because the configuration
// left them out (a project added to `projects`, a start date moved back)
// are fetched, with their children, by the next run: the scope change makes
// it sweep, and the sweep's listing shows what the destination lacks. The
// run after that fetches nothing more. A sweep interval of a day keeps the
// other runs from sweeping.
func TestSimScopeWidened(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, flavor := range []string{jirasim.FlavorCloud, jirasim.FlavorDataCenter} {
		for _, widen := range []string{"projects", "start_date"} {
			t.Run(flavor+"/"+widen, func(t *testing.T) {
				f := newSimFixture(t, flavor, 300, false)
				f.src.cfg.DeleteSweepInterval = 24 * time.Hour // only the scope change sweeps
				switch widen {
				case "projects":
					f.src.cfg.Projects = []string{"ALPHA"}
				case "start_date":
					f.src.cfg.StartDate = f.clock.Now().AddDate(0, -2, 0)
				}
				f.sync()
				all := f.sim.ExpectedFor(false, f.start).Tables[TableIssues]
				if n := int64(len(f.dest.tables[TableIssues].rows)); n == 0 || n >= all {
					t.Fatalf("the narrow scope synced %d of %d issues; the test needs a part", n, all)
				}
				narrow := int64(len(f.dest.tables[TableIssues].rows))
				f.src.cfg.Projects, f.src.cfg.StartDate = nil, f.start
				f.src.disc = nil
				// The plan's estimate counts the issues the heal fetches.
				est, err := f.src.Estimate(t.Context(), TableIssues, f.dest.tables[TableIssues].state)
				if err != nil {
					t.Fatal(err)
				}
				if est < all-narrow || est > all {
					t.Errorf("estimate %d after widening, want the %d missing issues (at most all %d)", est, all-narrow, all)
				}
				f.clock.Advance(time.Hour)
				f.sync()
				f.checkCounts("after widening " + widen)
				if got, want := f.dest.tables[TableIssues].state.Extra[extraScope], f.src.scope(); got != want {
					t.Errorf("scope recorded %q, want %q", got, want)
				}
				// The next run fetches nothing more: as many requests as
				// the one after it, a plain run with nothing to fetch.
				var runs [2]int64
				for i := range runs {
					reqs := totalRequests(f.src.Requests())
					f.clock.Advance(time.Hour)
					f.sync()
					f.checkCounts("a run after the widening")
					runs[i] = totalRequests(f.src.Requests()) - reqs
				}
				if runs[0] != runs[1] {
					t.Errorf("the run after the widening made %d requests, the next %d; it should fetch nothing more", runs[0], runs[1])
				}
			})
		}
	}
}

// TestSimConfiguredProjectNotVisible: a configured project the user cannot
// see is skipped with a warning; the visible one is synced.
func TestSimConfiguredProjectNotVisible(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorCloud, 60, true)
	f.src.cfg.Projects = []string{"ALPHA", "NOPE"}
	f.sync()
	for _, r := range f.dest.tables[TableIssues].rows {
		if !strings.HasPrefix(r["key"], "ALPHA-") {
			t.Fatalf("issue %s outside the configured project", r["key"])
		}
	}
	if len(f.dest.tables[TableIssues].rows) == 0 {
		t.Fatal("no ALPHA issues")
	}
	f.src.cfg.Projects = []string{"NOPE"}
	f.src.disc = nil
	disc, err := f.src.Discover(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = f.src.Sync(context.Background(), newMemDest().request(disc.Tables, f.clock.Now()))
	if err == nil || !strings.Contains(err.Error(), "no project is readable") {
		t.Errorf("sync with no readable project: %v", err)
	}
}

func TestSimEstimate(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, flavor := range []string{jirasim.FlavorCloud, jirasim.FlavorDataCenter} {
		t.Run(flavor, func(t *testing.T) {
			f := newSimFixture(t, flavor, 80, false)
			n, err := f.src.Estimate(context.Background(), TableIssues, state.TableState{})
			if err != nil {
				t.Fatal(err)
			}
			if want := f.sim.Expected(f.start).Tables[TableIssues]; n != want {
				t.Errorf("estimate %d, expected %d", n, want)
			}
			if n, _ := f.src.Estimate(context.Background(), TableUsers, state.TableState{}); n != -1 {
				t.Errorf("users estimate %d, want -1", n)
			}
		})
	}
}

// TestSimCursorDiscipline: the issues cursor is checkpointed as the sync
// goes (every page when sequential; at each finished prefix of time slices
// when parallel), every checkpoint comes after a barrier that the child
// rows of every issue it covers were sent before, and cursors only grow.
// (Slices beyond the prefix go on sending rows of newer issues between the
// barrier and the checkpoint; the cursor does not cover those.)
func TestSimCursorDiscipline(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, concurrency := range []int{1, 3} {
		t.Run(strconv.Itoa(concurrency), func(t *testing.T) {
			f := newSimFixture(t, jirasim.FlavorCloud, 150, false)
			f.src.cfg.Concurrency = concurrency
			f.src.checkpointPages = 1
			f.sync()
			f.checkCounts("first sync")
			cursors := checkCursorDiscipline(t, f)
			// Sequential runs checkpoint every page; parallel ones at each
			// new prefix of finished slices, which depends on timing.
			if len(cursors) == 0 || (concurrency == 1 && len(cursors) < 2) {
				t.Fatalf("%d issues checkpoints", len(cursors))
			}
			t.Logf("%d issues checkpoints", len(cursors))
			var prev time.Time
			for _, c := range cursors {
				ts, err := time.Parse(time.RFC3339Nano, c)
				if err != nil || ts.Before(prev) {
					t.Errorf("cursor %q went backwards or is invalid (all: %v)", c, cursors)
				}
				prev = ts
			}
		})
	}
}

// TestSimDataCenterSearchWindow: Data Center searches restart after every
// page from the largest updated read instead of paging by offset.
func TestSimDataCenterSearchWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorDataCenter, 150, false)
	f.src.cfg.Concurrency = 1
	f.sync()
	f.checkCounts("windowed DC sync")
	// The delete sweep lists ids in windows too (id > last).
	if _, err := f.sim.Mutate(jirasim.Mutation{DeleteIssues: 3, Update: 2}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	f.sync()
	f.checkCounts("windowed DC sync after deletes")
}

// startAtRecorder records the largest startAt of Data Center searches.
type startAtRecorder struct {
	next http.RoundTripper
	max  atomic.Int64
}

func (s *startAtRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/rest/api/2/search") {
		if n, err := strconv.ParseInt(req.URL.Query().Get("startAt"), 10, 64); err == nil && n > s.max.Load() {
			s.max.Store(n)
		}
	}
	return s.next.RoundTrip(req)
}

// TestSimDataCenterTiedPage: when more issues than a page share one
// `updated` millisecond, a Data Center search cannot restart past them and
// pages by offset, but only until a page reads past that millisecond:
// then it restarts from there, so that offsets stay far from Jira 10's
// 10,000-result window however many issues follow.
func TestSimDataCenterTiedPage(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorDataCenter, 6000, false)
	f.src.cfg.Concurrency = 1
	f.sync()
	f.clock.Advance(time.Minute)
	// About 2,000 issues updated in one millisecond, 1,600 of them still
	// there after the later changes: more than a page of 1,000.
	tied, err := f.sim.Mutate(jirasim.Mutation{Update: 2500})
	if err != nil {
		t.Fatal(err)
	}
	later := []jirasim.MutationResult{tied}
	for range 30 {
		f.clock.Advance(time.Second)
		res, err := f.sim.Mutate(jirasim.Mutation{Update: 50})
		if err != nil {
			t.Fatal(err)
		}
		later = append(later, res)
	}
	f.clock.Advance(3 * time.Minute)
	rec := &startAtRecorder{next: f.src.httpTransport}
	f.setClient(func(o *client.Options) { o.Transport = rec })
	f.sync()
	f.checkCounts("after a tied page")
	if stale := f.checkUpdated(later...); stale > 0 {
		t.Errorf("%d changed issues stale", stale)
	}
	// The tie's first page, then pages by offset until one reads past it
	// (startAt 1000); without the restart, offsets went on to 2000 and
	// beyond, to the end.
	if got := rec.max.Load(); got != 1000 {
		t.Errorf("largest startAt %d, want 1000: one page by offset past the tie, then a restart", got)
	}
}

// TestSimFaults: injected 5xx, resets and truncated bodies are retried by
// the client; the result is still complete.
func TestSimFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixtureFaults(t, jirasim.FlavorCloud, 100, false, 0.05)
	f.setClient(func(o *client.Options) {
		o.BaseBackoff, o.MaxBackoff, o.MaxRetries = time.Millisecond, 5*time.Millisecond, 10 // fault tests do not sleep
	})
	f.sync()
	f.checkCounts("sync with faults")
}

// setClient rebuilds the source's client with its options changed by mod:
// a transport around the source's, shorter backoffs.
func (f *simFixture) setClient(mod func(o *client.Options)) {
	f.t.Helper()
	opts := f.src.clientOptions()
	mod(&opts)
	cl, err := client.New(opts)
	if err != nil {
		f.t.Fatal(err)
	}
	f.src.cl = cl
}

// TestSimPermissionLossIsNotDelete: when projects become invisible (here:
// the same destination synced next as a user who sees fewer projects), the
// delete sweep does not mark their issues deleted; real deletes in visible
// projects still are.
func TestSimPermissionLossIsNotDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorCloud, 120, false)
	f.sync()
	before := len(f.dest.tables[TableIssues].live())
	res, err := f.sim.Mutate(jirasim.Mutation{DeleteIssues: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.src = f.newSource(jirasim.FlavorCloud, true)
	f.sync()
	visibleToRestricted := map[string]bool{}
	for _, r := range f.dest.tables[TableProjects].rows {
		visibleToRestricted[r["id"]] = true
	}
	deleted := 0
	for _, r := range f.dest.tables[TableIssues].rows {
		if r[schema.ColDeletedAt] == "" {
			continue
		}
		deleted++
		if !visibleToRestricted[r["project_id"]] {
			t.Errorf("issue %s of a project that became invisible was marked deleted", r["key"])
		}
		if !slices.Contains(res.DeletedIssueIDs, r["id"]) {
			t.Errorf("issue %s marked deleted but not deleted", r["key"])
		}
	}
	if after := len(f.dest.tables[TableIssues].live()); after != before-deleted {
		t.Errorf("live issues %d → %d with %d deletes", before, after, deleted)
	}
	for _, id := range res.DeletedIssueIDs {
		r := f.dest.tables[TableIssues].rows[id]
		if r != nil && visibleToRestricted[r["project_id"]] && r[schema.ColDeletedAt] == "" {
			t.Errorf("deleted issue %s in a visible project not marked", r["key"])
		}
	}
}

// TestSimChangelogsBatchedAcrossPages: truncated changelogs are completed
// through changelog/bulkfetch with up to 1000 issues per request, gathered
// across search pages, not one request per page.
func TestSimChangelogsBatchedAcrossPages(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixtureCaps(t, jirasim.FlavorCloud, 1500, false, 0, jirasim.Caps{Comments: 20, Histories: 2, Worklogs: 20})
	f.src.checkpointPages = 1000 // one sequential reader would drain once
	f.src.changelogPage = 10000  // the server's largest page: one per drain
	f.sync()
	f.checkCounts("first sync")
	st := f.sim.Stats().Endpoints
	bulk := st["POST /rest/api/3/changelog/bulkfetch"]["200"]
	pages := st["POST /rest/api/3/search/jql"]["200"]
	// Concurrency 2 splits the year into 4 time slices; each completes its
	// truncated changelogs (a few hundred, under the 1000 limit) once.
	if bulk < 1 || bulk > 4 {
		t.Errorf("%d changelog/bulkfetch requests for %d search pages; want 1 to 4 (one per time slice)", bulk, pages)
	}
	if pages < 12 {
		t.Errorf("only %d search pages: the test needs many pages with truncated changelogs", pages)
	}

	// With pages smaller than a drain's histories, a drain takes more
	// pages, each of at most changelogPage histories.
	g := newSimFixtureCaps(t, jirasim.FlavorCloud, 1500, false, 0, jirasim.Caps{Comments: 20, Histories: 2, Worklogs: 20})
	g.src.checkpointPages = 1000
	g.src.changelogPage = 1000
	g.sync()
	g.checkCounts("first sync, small changelog pages")
	// The histories fetched in bulk are those of issues with more than
	// the embedded cap (2); each of the 4 slices' drains ends with a
	// partial page at most.
	perIssue := map[string]int{}
	for _, r := range g.dest.tables[TableChangelogs].live() {
		perIssue[r["issue_id"]]++
	}
	histories := 0
	for _, n := range perIssue {
		if n > 2 {
			histories += n
		}
	}
	small := g.sim.Stats().Endpoints["POST /rest/api/3/changelog/bulkfetch"]["200"]
	t.Logf("%d histories fetched in bulk, in %d changelog/bulkfetch pages of 1000", histories, small)
	if min := int64((histories + 999) / 1000); small < min || small > min+4 {
		t.Errorf("%d changelog/bulkfetch requests of 1000 histories for %d histories; want %d to %d", small, histories, min, min+4)
	}
}

// newChangedSite is a 400-issue Cloud site synced once, then 250 updates
// of random issues; changed is how many distinct issues they changed.
func newChangedSite(t *testing.T) (f *simFixture, changed int64) {
	t.Helper()
	f = newSimFixture(t, jirasim.FlavorCloud, 400, false)
	f.sync()
	res, err := f.sim.Mutate(jirasim.Mutation{Update: 250})
	if err != nil {
		t.Fatal(err)
	}
	return f, int64(len(slices.Compact(slices.Sorted(slices.Values(res.Updated)))))
}

// TestSimIncrementalListsThenFetches: an incremental Cloud run lists the
// changed issues in one light search page and fetches them by id, 100 per
// issue/bulkfetch; the next run skips the overlap's unchanged issues
// without fetching them.
func TestSimIncrementalListsThenFetches(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, changed := newChangedSite(t)
	if changed <= 100 {
		t.Fatalf("only %d issues changed: the test needs more than one bulkfetch", changed)
	}
	f.clock.Advance(3 * time.Minute)
	for _, run := range []struct {
		name              string
		searches, fetches int64
	}{
		// One change list and one sweep page, then 100 issues a fetch.
		{"after 250 updates", 2, (changed + 99) / 100},
		// The same issues come back in the overlap, unchanged: not fetched.
		{"no change", 2, 0},
	} {
		s0, b0 := f.okRequests("/search/jql"), f.okRequests("/issue/bulkfetch")
		f.sync()
		f.checkCounts(run.name)
		if s, b := f.okRequests("/search/jql")-s0, f.okRequests("/issue/bulkfetch")-b0; s != run.searches || b != run.fetches {
			t.Errorf("%s: %d search and %d issue/bulkfetch requests, want %d and %d", run.name, s, b, run.searches, run.fetches)
		}
	}
}

// TestSimIncrementalCursorFromListing: an incremental Cloud run lists the
// changed issues, then fetches them by id as they are now. Issues changed
// after the listing, some of them listed ones (fetched with a later
// `updated`) and others not (changed ten minutes earlier, more than the
// cursor overlap), must all be read by the next runs: the cursor comes
// from the listing, not from the issues as fetched.
func TestSimIncrementalCursorFromListing(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, _ := newChangedSite(t)
	f.clock.Advance(3 * time.Minute)
	var early, late jirasim.MutationResult
	listing := func(req *http.Request) bool {
		if !strings.HasSuffix(req.URL.Path, "/search/jql") || req.GetBody == nil {
			return false
		}
		b, err := req.GetBody()
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(b)
		return strings.Contains(string(body), `"fields":["updated"]`)
	}
	f.setClient(func(o *client.Options) {
		o.Transport = afterFirstPage{next: o.Transport, once: &sync.Once{}, match: listing, hook: func() {
			var err error
			f.clock.Advance(time.Minute)
			if early, err = f.sim.Mutate(jirasim.Mutation{Update: 30}); err != nil {
				t.Error(err)
			}
			f.clock.Advance(10 * time.Minute)
			if late, err = f.sim.Mutate(jirasim.Mutation{Update: 100}); err != nil {
				t.Error(err)
			}
		}}
	})
	f.sync()
	if len(early.Updated) == 0 || len(late.Updated) == 0 {
		t.Fatal("the site did not change after the listing")
	}
	for range 2 {
		f.clock.Advance(time.Minute)
		f.sync()
	}
	f.checkUpdated(early, late)
	f.checkCounts("after the changes")
}

// checkUpdated fails the test for each issue the changes updated whose row
// is older than its latest change; it returns how many.
func (f *simFixture) checkUpdated(changes ...jirasim.MutationResult) (stale int) {
	f.t.Helper()
	want := map[string]int64{}
	for _, res := range changes {
		for _, k := range res.Updated {
			want[k] = res.AtMillis
		}
	}
	for _, row := range f.dest.tables[TableIssues].rows {
		at, ok := want[row["key"]]
		if !ok {
			continue
		}
		u, err := time.Parse(time.RFC3339Nano, row["updated"])
		if err != nil {
			f.t.Fatal(err)
		}
		if u.UnixMilli() < at {
			stale++
			f.t.Errorf("issue %s: updated %s in the destination, older than its change at %s", row["key"], u, time.UnixMilli(at).UTC())
		}
	}
	return stale
}

// bulkfetchRefused answers status, with message as Jira's error envelope,
// to every POST issue/bulkfetch after the first `after`: 404 from the
// first, as a Cloud site that does not offer it, or 400 part way, as a run
// stopped there.
type bulkfetchRefused struct {
	next    http.RoundTripper
	after   int64
	status  int
	message string
	n       atomic.Int64
}

func (b *bulkfetchRefused) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/issue/bulkfetch") && b.n.Add(1) > b.after {
		body, _ := json.Marshal(map[string]any{"errorMessages": []string{b.message}})
		return &http.Response{StatusCode: b.status, Status: fmt.Sprintf("%d %s", b.status, http.StatusText(b.status)), Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: req}, nil
	}
	return b.next.RoundTrip(req)
}

// TestSimIncrementalWithoutBulkfetch: where issue/bulkfetch answers 404,
// the changed issues are searched by id instead (100 a page), with the
// same rows.
func TestSimIncrementalWithoutBulkfetch(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, changed := newChangedSite(t)
	f.setClient(func(o *client.Options) {
		o.Transport = &bulkfetchRefused{next: f.src.httpTransport, status: http.StatusNotFound, message: "null for uri"}
	})
	f.clock.Advance(3 * time.Minute)
	s0 := f.okRequests("/search/jql")
	f.sync()
	f.checkCounts("after the changes, without bulkfetch")
	// The change list, the sweep page, and a search per 100 changed issues.
	if s, want := f.okRequests("/search/jql")-s0, 2+(changed+99)/100; s != want {
		t.Errorf("%d search requests, want %d", s, want)
	}
}

// TestSimIncrementalIssueErrors: issue/bulkfetch answers 200 but lists
// some of the changed issues in issueErrors (Jira "can't return" them
// this time). They are asked for again, and those refused every time are
// searched by id: no changed issue stays stale, with every error rate up
// to bulkfetch refusing every issue.
func TestSimIncrementalIssueErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tc := range []struct {
		name string
		rate float64
	}{
		{"some refused", 0.3},
		{"all refused", 1}, // every issue is left to a search by id
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSimFixtureWith(t, jirasim.Options{Issues: 400, Flavor: jirasim.FlavorCloud, IssueErrors: tc.rate}, false)
			f.setClient(func(o *client.Options) {
				o.BaseBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond // the retries do not sleep
			})
			f.sync()
			res, err := f.sim.Mutate(jirasim.Mutation{Update: 250})
			if err != nil {
				t.Fatal(err)
			}
			changed := int64(len(slices.Compact(slices.Sorted(slices.Values(res.Updated)))))
			f.clock.Advance(20 * time.Minute) // past the cursor's overlap: only this run can read the changes
			s0, b0 := f.okRequests("/search/jql"), f.okRequests("/issue/bulkfetch")
			f.sync()
			if stale := f.checkUpdated(res); stale > 0 {
				t.Errorf("%d of %d changed issues stale after the run", stale, changed)
			}
			f.checkCounts("after the changes")
			searches, fetches := f.okRequests("/search/jql")-s0, f.okRequests("/issue/bulkfetch")-b0
			chunks := (changed + 99) / 100
			// Every chunk is asked again for what it was refused.
			if fetches <= chunks || fetches > chunks*(1+issueErrorRetries) {
				t.Errorf("%d issue/bulkfetch requests for %d chunks; want more than %d, at most %d", fetches, chunks, chunks, chunks*(1+issueErrorRetries))
			}
			// The change list and the sweep page, plus a search by id for
			// each chunk when bulkfetch refuses every issue.
			if tc.rate == 1 && searches != 2+chunks {
				t.Errorf("%d search requests, want %d", searches, 2+chunks)
			}
		})
	}
}

// TestSimManyUsers: every user reaches the users table on a site with far
// more users than one user search returns on Jira 10 Data Center (100,
// whatever the paging): the search is split by prefix there. Cloud pages
// users/search.
func TestSimManyUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tc := range []struct {
		flavor   string
		users    int
		searches func(n int64) bool // user/search requests
	}{
		{jirasim.FlavorDataCenter, 40, func(n int64) bool { return n == 2 }}, // one query: its page and the empty one after it
		{jirasim.FlavorDataCenter, 1500, func(n int64) bool { return n > 2 }},
		{jirasim.FlavorCloud, 1500, func(n int64) bool { return n == 0 }},
	} {
		t.Run(fmt.Sprintf("%s_%d", tc.flavor, tc.users), func(t *testing.T) {
			f := newSimFixtureWith(t, jirasim.Options{Issues: 30, Flavor: tc.flavor, Users: tc.users}, false)
			f.sync()
			f.checkCounts("sync")
			if got := int64(len(f.dest.tables[TableUsers].rows)); got != int64(tc.users) {
				t.Errorf("%d users written, want %d", got, tc.users)
			}
			n := f.okRequests("/user/search")
			if !tc.searches(n) {
				t.Errorf("%d user/search requests", n)
			}
			t.Logf("%d user/search requests", n)
		})
	}
}

// TestSimIncrementalCheckpointsByID: the changed issues fetched by id are
// committed hydrateEvery at a time, each checkpoint's cursor just before
// the issues still to fetch (checkCursorDiscipline); a run stopped after
// some chunks resumes from there and ends with every row.
func TestSimIncrementalCheckpointsByID(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, changed := newChangedSite(t)
	f.src.hydrateEvery = 50
	if changed <= 3*int64(f.src.hydrateEvery) {
		t.Fatalf("only %d issues changed: the test needs more than three chunks", changed)
	}
	cursor0 := f.dest.tables[TableIssues].state.Cursor
	stop := &bulkfetchRefused{next: f.src.httpTransport, after: 2, status: http.StatusBadRequest, message: "stopped by the test"}
	f.setClient(func(o *client.Options) { o.Transport = stop })
	f.clock.Advance(time.Minute)
	events := len(f.dest.events)
	disc, err := f.src.Discover(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.src.Sync(t.Context(), f.dest.request(disc.Tables, f.clock.Now())); err == nil || !strings.Contains(err.Error(), "stopped by the test") {
		t.Fatalf("the stopped run returned %v", err)
	}
	var checkpoints int
	for _, ev := range f.dest.events[events:] {
		if strings.HasPrefix(ev, "checkpoint "+TableIssues+" ") {
			checkpoints++
		}
	}
	if checkpoints != 2 {
		t.Errorf("%d issues checkpoints before the stop, want one per fetched chunk (2)", checkpoints)
	}
	if c := f.dest.tables[TableIssues].state.Cursor; c <= cursor0 {
		t.Errorf("cursor %s after two chunks, want it past %s", c, cursor0)
	}
	checkCursorDiscipline(t, f)

	stop.after = math.MaxInt64
	f.clock.Advance(time.Minute)
	f.sync()
	f.checkCounts("resumed after the stop")
	checkCursorDiscipline(t, f)
}

// TestSimIncrementalAfterBulkChange: the issues of a bulk change are
// listed and fetched by id, several requests at once; the next run finds
// the same issues in its cursor overlap, lists them, and skips them all as
// already written. Past the listing bound a run reads full search pages,
// in time slices read at once.
func TestSimIncrementalAfterBulkChange(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, changed := newChangedSite(t)
	p := f.usePeak(true)
	fullPages := (changed + 99) / 100
	f.clock.Advance(time.Minute)
	for _, run := range []struct {
		name        string
		listMax     int
		minSearches int64
		maxSearches int64
		fetches     int64
		parallel    string // requests that must go out more than one at once
	}{
		// One listing page and the sweep page; 100 issues a fetch.
		{"bulk change", maxListed, 1, 2, fullPages, "POST /rest/api/3/issue/bulkfetch"},
		// The same issues in the overlap, unchanged: one listing page and
		// one sweep page, nothing fetched.
		{"no change, bulk change in the overlap", maxListed, 2, 2, 0, ""},
		// More listed than listMax: the listing's first page, then full
		// pages in time slices (each ends with a partial page, and a split
		// may read up to two pages twice), and the sweep page.
		{"no change, over the listing bound", 100, 1 + fullPages, 2 + fullPages + 3*2*MaxSliceWorkers, 0, "POST /rest/api/3/search/jql"},
	} {
		f.src.listMax = run.listMax
		p.mu.Lock()
		p.curOf, p.peakOf = nil, nil
		p.mu.Unlock()
		s0, b0 := f.okRequests("/search/jql"), f.okRequests("/issue/bulkfetch")
		f.sync()
		f.checkCounts(run.name)
		s, b := f.okRequests("/search/jql")-s0, f.okRequests("/issue/bulkfetch")-b0
		t.Logf("%s: %d search and %d issue/bulkfetch requests (%d issues changed)", run.name, s, b, changed)
		if s < run.minSearches || s > run.maxSearches || b != run.fetches {
			t.Errorf("%s: %d search and %d issue/bulkfetch requests, want %d to %d and %d", run.name, s, b, run.minSearches, run.maxSearches, run.fetches)
		}
		if run.parallel != "" && p.peakOf[run.parallel] < 2 {
			t.Errorf("%s: %d of %s in flight at once, want more than one", run.name, p.peakOf[run.parallel], run.parallel)
		}
	}
}

// TestSimIncrementalAfterQuietSpell: a complete run records when it began
// by Jira's clock (searched_at), and the next run searches from the
// overlap before that, not before the last change: issues changed long
// before the last run are not listed again. Without it, the third run
// below lists the changed issues again, and with listMax below their
// number reads them in full pages. A server clock more than an hour from
// the run's is not trusted, and nothing is recorded.
func TestSimIncrementalAfterQuietSpell(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f, changed := newChangedSite(t)
	f.src.listMax = int(changed) - 1
	// One request at a time: the full pages are one sequence, whose
	// count is exact (time slices may end in more partial pages).
	f.src.cfg.Concurrency = 1
	runs := []struct {
		name     string
		searches int64 // listing (or full pages) and the sweep
		fetches  int64
	}{
		// The changed issues, past listMax: full pages.
		{"right after the change", 2 + (changed+99)/100, 0},
		// Searched from before the change (the last run began then): the
		// same issues, past listMax again.
		{"an hour later", 2 + (changed+99)/100, 0},
		// Searched from the overlap before the last run: nothing listed.
		{"two hours later", 2, 0},
	}
	for i, run := range runs {
		if i > 0 {
			f.clock.Advance(time.Hour)
		}
		s0, b0 := f.okRequests("/search/jql"), f.okRequests("/issue/bulkfetch")
		f.sync()
		f.checkCounts(run.name)
		s, b := f.okRequests("/search/jql")-s0, f.okRequests("/issue/bulkfetch")-b0
		if s != run.searches || b != run.fetches {
			t.Errorf("%s: %d search and %d issue/bulkfetch requests, want %d and %d", run.name, s, b, run.searches, run.fetches)
		}
		got := f.dest.tables[TableIssues].state.Extra[extraSearchedAt]
		if at, err := time.Parse(time.RFC3339Nano, got); err != nil || at.Sub(f.clock.Now()).Abs() > time.Second {
			t.Errorf("%s: searched_at %q, want the run's start %s", run.name, got, f.clock.Now())
		}
	}

	f.src.cfg.Concurrency = 2

	// A run whose clock is two hours from the server's records nothing.
	prev := f.dest.tables[TableIssues].state.Extra[extraSearchedAt]
	f.clock.Advance(time.Hour)
	disc, err := f.src.Discover(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.src.Sync(t.Context(), f.dest.request(disc.Tables, f.clock.Now().Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got := f.dest.tables[TableIssues].state.Extra[extraSearchedAt]; got != prev {
		t.Errorf("searched_at %q after a run with a skewed clock, want it kept at %q", got, prev)
	}

	// A full sync's checkpoints before its end carry no searched_at: a
	// resumed full sync goes on from its own cursor. Its last one does.
	// Sequential, with a checkpoint at every page: parallel slices
	// checkpoint as they complete, which on a loaded machine may be only
	// at the end.
	f.src.cfg.Concurrency, f.src.checkpointPages = 1, 1
	events := len(f.dest.events)
	req := f.dest.request(disc.Tables, f.clock.Now())
	req.Tables[TableIssues].Full = true
	if err := f.src.Sync(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	var withAt []bool
	for i := events; i < len(f.dest.events); i++ {
		if strings.HasPrefix(f.dest.events[i], "checkpoint "+TableIssues+" ") {
			_, ok := f.dest.states[i].Extra[extraSearchedAt]
			withAt = append(withAt, ok)
		}
	}
	if len(withAt) < 2 || slices.Contains(withAt[:len(withAt)-1], true) || !withAt[len(withAt)-1] {
		t.Errorf("full sync's issues checkpoints with searched_at: %v, want only the last", withAt)
	}
}

// checkCursorDiscipline checks the destination's events: every issues
// checkpoint covers only issues whose child rows were sent before the last
// barrier. It returns the checkpointed cursors in order.
func checkCursorDiscipline(t *testing.T, f *simFixture) []string {
	t.Helper()
	updated := map[string]time.Time{}
	for id, row := range f.dest.tables[TableIssues].rows {
		u, err := time.Parse(time.RFC3339Nano, row["updated"])
		if err != nil {
			t.Fatalf("issue %s updated %q: %v", id, row["updated"], err)
		}
		updated[id] = u
	}
	sinceBarrier := map[string]bool{} // issues whose child rows were sent since the last barrier
	// Issues whose child rows a barrier committed: the slice split from a
	// running one may read again issues of the page the running one was
	// decoding when it was cut. Sent again, they replace committed rows.
	committed := map[string]bool{}
	var cursors []string
	for i, ev := range f.dest.events {
		switch {
		case ev == "barrier":
			for id := range sinceBarrier {
				committed[id] = true
			}
			clear(sinceBarrier)
		case strings.HasPrefix(ev, "send "):
			if TableByName(strings.TrimPrefix(ev, "send ")).Parent == TableIssues {
				for _, id := range f.dest.sentIssues[i] {
					sinceBarrier[id] = true
				}
			}
		case strings.HasPrefix(ev, "checkpoint issues "):
			c := strings.TrimPrefix(ev, "checkpoint issues ")
			cursor, err := time.Parse(time.RFC3339Nano, c)
			if err != nil {
				t.Fatalf("cursor %q: %v", c, err)
			}
			for id := range sinceBarrier {
				// An id that is no written issue is a link's far end.
				if u, ok := updated[id]; ok && !u.After(cursor) && !committed[id] {
					t.Errorf("issues checkpoint %s covers issue %s (updated %s), whose child rows were sent after the last barrier", c, id, u)
				}
			}
			// The delete sweep of a run that resumes from here must know
			// every issue the cursor covers, in its project.
			known, err := loadKnown(f.dest.states[i].Extra)
			if err != nil {
				t.Fatalf("issues checkpoint %s: %v", c, err)
			}
			for id, u := range updated {
				n, _ := strconv.ParseInt(id, 10, 64)
				pid := f.dest.tables[TableIssues].rows[id]["project_id"]
				if !known[pid].has(n) && !u.After(cursor) {
					t.Errorf("issues checkpoint %s: issue %s (updated %s) not among the known ids of project %s", c, id, u, pid)
				}
			}
			cursors = append(cursors, c)
		}
	}
	return cursors
}

// TestSimIndexLag: Jira's search index is eventually consistent. An issue
// changed before another can reach the index after it; a run between the
// two finds the later change only, and its cursor passes the earlier one.
// The cursor's overlap (5 minutes by default) finds the earlier change in
// the next run. The control, with an overlap shorter than the gap between
// the changes, shows that the earlier change is then lost: what finds it is
// the overlap, nothing else.
func TestSimIndexLag(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tc := range []struct {
		name     string
		overlap  time.Duration
		wantLost bool
	}{
		{"default overlap", 0, false},
		{"control: overlap of 1s", time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSimFixtureWith(t, jirasim.Options{Issues: 80, Flavor: jirasim.FlavorCloud, IndexLag: 2 * time.Minute,
				Caps: jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20}}, false)
			if tc.overlap > 0 {
				f.src.cfg.Overlap = tc.overlap
			}
			f.sync()
			f.clock.Advance(10 * time.Minute)
			early, err := f.sim.Mutate(jirasim.Mutation{Update: 1}) // indexed after 2 minutes
			if err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(5 * time.Second)
			late, err := f.sim.Mutate(jirasim.Mutation{Update: 1}) // indexed after 12 s
			if err != nil {
				t.Fatal(err)
			}
			if early.Updated[0] == late.Updated[0] {
				t.Fatal("both mutations changed the same issue; use another seed")
			}
			f.clock.Advance(30 * time.Second)
			f.sync()
			updatedOf := func(key string) int64 {
				for _, r := range f.dest.tables[TableIssues].rows {
					if r["key"] == key {
						ts, err := time.Parse(time.RFC3339Nano, r["updated"])
						if err != nil {
							t.Fatalf("issue %s: updated %q: %v", key, r["updated"], err)
						}
						return ts.UnixMilli()
					}
				}
				t.Fatalf("issue %s not written", key)
				return 0
			}
			if got := updatedOf(late.Updated[0]); got != late.AtMillis {
				t.Fatalf("the change indexed first: updated %d, want %d", got, late.AtMillis)
			}
			if got := updatedOf(early.Updated[0]); got >= early.AtMillis {
				t.Fatalf("the change not yet indexed was found (updated %d): the simulator's lag did not apply", got)
			}
			f.clock.Advance(3 * time.Minute)
			f.sync()
			got := updatedOf(early.Updated[0])
			if lost := got != early.AtMillis; lost != tc.wantLost {
				t.Fatalf("after the index caught up, the earlier change has updated %d (the change is at %d); lost = %t, want %t",
					got, early.AtMillis, lost, tc.wantLost)
			}
		})
	}
}

// TestSimAnonymousAccess: against a site that serves wrong credentials as
// an anonymous user (search answers 200 with nothing), jsync refuses to
// sync, because GET myself fails, instead of writing an empty sync.
func TestSimAnonymousAccess(t *testing.T) {
	f := newSimFixtureWith(t, jirasim.Options{Issues: 30, Flavor: jirasim.FlavorCloud, Anonymous: true}, false)
	cfg := f.src.cfg
	cfg.APIToken = "expired-token"
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Discover(context.Background(), nil)
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("Discover with a wrong token against an anonymous-access site: %v, want the 401 of myself", err)
	}
}

// TestSimOtherAuthModes syncs through the two authentication paths the
// default fixture does not take: a Cloud site reached through the
// api.atlassian.com gateway by its cloud id (scoped API tokens), and Data
// Center with basic authentication. Every table matches the simulator.
func TestSimOtherAuthModes(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	t.Run("cloud gateway", func(t *testing.T) {
		f := newSimFixture(t, jirasim.FlavorCloud, 60, false)
		cfg := f.src.cfg
		cfg.BaseURL, cfg.CloudID, cfg.GatewayURL = "", f.sim.CloudID(), f.sim.URL()
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.src = src
		f.sync()
		f.checkCounts("through the gateway")
	})
	t.Run("datacenter basic", func(t *testing.T) {
		f := newSimFixture(t, jirasim.FlavorDataCenter, 60, false)
		cfg := f.src.cfg
		cfg.PAT, cfg.Username, cfg.Password = "", jirasim.DefaultUsername, jirasim.DefaultPassword
		src, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f.src = src
		f.sync()
		f.checkCounts("with basic authentication")
	})
}

// TestSimFullRefreshFindsDeleted: a full run over written rows (-full-refresh)
// keeps the ids of the issues written before it, sweeps, and so marks the
// issues deleted since the last run, with their children, and the comments
// deleted from live issues; before, it started a new record of written ids
// and those rows stayed live for good.
func TestSimFullRefreshFindsDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorCloud, 120, false)
	tables := f.sync()
	res, err := f.sim.Mutate(jirasim.Mutation{DeleteIssues: 3, DeleteComments: 3, DeleteWorklogs: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	req := f.dest.request(tables, f.clock.Now())
	for _, tr := range req.Tables { // -full-refresh
		tr.Full = true
	}
	if err := f.src.Sync(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	f.checkCounts("after a full refresh")
	for _, id := range res.DeletedIssueIDs {
		if r := f.dest.tables[TableIssues].rows[id]; r == nil || r[schema.ColDeletedAt] == "" {
			t.Errorf("issue %s, deleted before the full refresh, is not marked", id)
		}
	}
	f.checkMarked(TableIssueComments, res.DeletedComments, "deleted before the full refresh")
	// A full run reads no worklog feed: the issues it reads again replace
	// their worklogs.
	f.checkMarked(TableWorklogs, res.DeletedWorklogs, "deleted before the full refresh")
}

// checkMarked fails the test if a written row of table with one of ids is
// not marked deleted, or if none of them had been written.
func (f *simFixture) checkMarked(table string, ids []int64, what string) {
	f.t.Helper()
	written := 0
	for _, id := range ids {
		r := f.dest.tables[table].rows[itoa(id)]
		if r == nil {
			continue // on an issue before the start date: never written
		}
		written++
		if r[schema.ColDeletedAt] == "" {
			f.t.Errorf("%s row %d, %s, is not marked", table, id, what)
		}
	}
	if written == 0 {
		f.t.Fatalf("no deleted %s row had been written; use another seed", table)
	}
}

// TestSimProjectsScopeWorklogs: worklog/updated lists the worklogs of
// every issue the user sees; a sync limited to some projects writes only
// those of its issues.
func TestSimProjectsScopeWorklogs(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorCloud, 150, false)
	f.src.cfg.Projects = []string{"ALPHA"}
	f.sync()
	if _, err := f.sim.Mutate(jirasim.Mutation{Worklog: 30}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute)
	f.sync()
	issues := f.dest.tables[TableIssues].rows
	n := 0
	for _, w := range f.dest.tables[TableWorklogs].live() {
		n++
		if r := issues[w["issue_id"]]; r == nil || !strings.HasPrefix(r["key"], "ALPHA-") {
			t.Errorf("worklog %s of issue %s, outside projects = [ALPHA]", w["id"], w["issue_id"])
		}
	}
	if n == 0 {
		t.Fatal("no worklogs written")
	}
}

// TestSimChildrenOnlyMarksDeleted: a sync that writes issue children
// without issues reads every issue each run (no cursor), and still marks
// the children of issues deleted since the last run, and the comments
// deleted from issues that remain. The known ids live in the children's
// states. Without them, such rows stayed live forever.
func TestSimChildrenOnlyMarksDeleted(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	cases := []struct {
		name     string
		children []string
	}{
		{"several children", []string{TableIssueComments, TableIssueLinks, TableWorklogs, TableChangelogs}},
		// No feed runs then: the issues read bring every worklog.
		{"worklogs alone", []string{TableWorklogs}},
	}
	for _, tc := range cases {
		for _, flavor := range []string{jirasim.FlavorCloud, jirasim.FlavorDataCenter} {
			t.Run(tc.name+"/"+flavor, func(t *testing.T) {
				f := newSimFixture(t, flavor, 120, false)
				disc, err := f.src.Discover(t.Context(), nil)
				if err != nil {
					t.Fatal(err)
				}
				sync := func() {
					t.Helper()
					all := f.dest.request(disc.Tables, f.clock.Now())
					req := &source.SyncRequest{Tables: map[string]*source.TableRequest{}, Now: all.Now, Barrier: all.Barrier}
					req.Tables[TableIssues] = &source.TableRequest{Table: all.Tables[TableIssues].Table} // read for the children only
					for _, c := range tc.children {
						req.Tables[c] = all.Tables[c]
					}
					if err := f.src.Sync(t.Context(), req); err != nil {
						t.Fatal(err)
					}
				}
				sync()
				if n := len(f.dest.tables[TableIssues].rows); n != 0 {
					t.Fatalf("issues, read only for their children, has %d rows", n)
				}
				if k, err := loadKnown(f.dest.tables[tc.children[0]].state.Extra); err != nil || len(k) == 0 {
					t.Fatalf("%s state keeps no known issue ids (%v): %v", tc.children[0], err, f.dest.tables[tc.children[0]].state.Extra)
				}
				res, err := f.sim.Mutate(jirasim.Mutation{DeleteIssues: 3, DeleteComments: 3, DeleteWorklogs: 3})
				if err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(3 * time.Minute)
				sync()
				marked := 0
				for _, name := range tc.children {
					for _, r := range f.dest.tables[name].rows {
						for _, id := range res.DeletedIssueIDs {
							if r["issue_id"] == id || r["source_issue_id"] == id || r["target_issue_id"] == id {
								if r[schema.ColDeletedAt] == "" {
									t.Errorf("%s row %v of deleted issue %s not marked", name, r, id)
								} else {
									marked++
								}
							}
						}
					}
				}
				if marked == 0 {
					t.Fatal("the deleted issues had no child rows; use another seed")
				}
				if slices.Contains(tc.children, TableIssueComments) {
					f.checkMarked(TableIssueComments, res.DeletedComments, "deleted from an issue that remains")
				}
				f.checkMarked(TableWorklogs, res.DeletedWorklogs, "deleted in Jira")
				for _, name := range tc.children {
					if got, want := int64(len(f.dest.tables[name].live())), f.sim.ExpectedFor(false, f.start).Tables[name]; got != want {
						t.Errorf("%s: %d live rows, simulator expects %d", name, got, want)
					}
				}
			})
		}
	}
}

// afterFirstPage runs hook once, after the body of the first response that
// match selects has been read and closed: the site changes while a sync
// pages through a query.
type afterFirstPage struct {
	next  http.RoundTripper
	match func(*http.Request) bool
	once  *sync.Once
	hook  func()
}

func (a afterFirstPage) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err != nil || !a.match(req) {
		return resp, err
	}
	resp.Body = hookedBody{ReadCloser: resp.Body, done: func() { a.once.Do(a.hook) }}
	return resp, nil
}

// mutateAfterFirstPage makes the source's client apply m once, after the
// first response that match selects; the result is filled in then.
func (f *simFixture) mutateAfterFirstPage(m jirasim.Mutation, match func(*http.Request) bool) *jirasim.MutationResult {
	f.t.Helper()
	res := &jirasim.MutationResult{}
	f.setClient(func(o *client.Options) {
		o.Transport = afterFirstPage{next: o.Transport, once: &sync.Once{}, match: match,
			hook: func() {
				var err error
				if *res, err = f.sim.Mutate(m); err != nil {
					f.t.Error(err)
				}
			}}
	})
	return res
}

type hookedBody struct {
	io.ReadCloser
	done func()
}

func (b hookedBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// TestSimDataCenterUpdatedWhilePaging: Data Center pages a search by
// offset, ordered by updated. An issue read on the first page and updated
// before the second moves to the end, and every later issue one place
// back: without a restart after each page, the issue at the boundary is
// never read, and the cursor passes it for good.
func TestSimDataCenterUpdatedWhilePaging(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorDataCenter, 3000, false)
	f.sync()
	f.clock.Advance(time.Minute)
	first, err := f.sim.Mutate(jirasim.Mutation{Update: 2500}) // more than one page of changed issues
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	during := f.mutateAfterFirstPage(jirasim.Mutation{Update: 40}, func(r *http.Request) bool {
		q := r.URL.Query()
		return strings.HasSuffix(r.URL.Path, "/rest/api/2/search") && strings.Contains(q.Get("jql"), "updated >=") && q.Get("fields") == "*all"
	})
	f.sync()
	if len(during.Updated) == 0 {
		t.Fatal("the site did not change during the sync")
	}
	// A later run must not need to repair anything: check the rows now.
	stale := f.checkUpdated(first, *during)
	t.Logf("%d issues changed before the run, %d while it paged; %d stale", len(first.Updated), len(during.Updated), stale)
}

// TestSimDataCenterDeletedWhileListing: the delete sweep lists issue ids
// by offset on Data Center. Issues deleted on a page already read shift the
// next ones back past the page boundary: without a restart after each page
// (id > last), they are never listed and live issues are marked deleted.
func TestSimDataCenterDeletedWhileListing(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorDataCenter, 2500, false)
	f.sync()
	f.clock.Advance(3 * time.Minute)
	res := f.mutateAfterFirstPage(jirasim.Mutation{DeleteIssues: 20}, func(r *http.Request) bool {
		return strings.HasSuffix(r.URL.Path, "/rest/api/2/search") && r.URL.Query().Get("fields") == "id,updated"
	})
	f.sync()
	if len(res.DeletedIssueIDs) == 0 {
		t.Fatal("no issue was deleted during the sweep")
	}
	deleted := map[string]bool{}
	for _, id := range res.DeletedIssueIDs {
		deleted[id] = true
	}
	for id, row := range f.dest.tables[TableIssues].rows {
		if row[schema.ColDeletedAt] != "" && !deleted[id] {
			t.Errorf("issue %s (%s) is marked deleted, but Jira still has it", row["key"], id)
		}
	}
}

// goneOnce answers 404, with Jira's body for an issue deleted or hidden,
// to the first GET whose path ends with suffix, and records which path
// that was.
type goneOnce struct {
	next   http.RoundTripper
	suffix string
	mu     sync.Mutex
	path   string
	again  int // later requests of the same path
}

func (g *goneOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, g.suffix) {
		g.mu.Lock()
		first := g.path == ""
		if first {
			g.path = req.URL.Path
		} else if req.URL.Path == g.path {
			g.again++
		}
		g.mu.Unlock()
		if first {
			body := `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`
			return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
		}
	}
	return g.next.RoundTrip(req)
}

// TestSimIssueGoneDuringSync: an issue's truncated comments or worklogs
// answer 404 after its search page (deleted or hidden meanwhile). The
// sync goes on; its sweep, whatever its interval, finds the issue listed
// again here and fetches it again, so nothing stays truncated.
func TestSimIssueGoneDuringSync(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tc := range []struct {
		name, flavor, suffix string
		incremental          bool
	}{
		{"cloud comments, first run", jirasim.FlavorCloud, "/comment", false},
		{"cloud worklogs, first run", jirasim.FlavorCloud, "/worklog", false},
		{"data center worklogs, first run", jirasim.FlavorDataCenter, "/worklog", false},
		{"cloud comments, incremental run", jirasim.FlavorCloud, "/comment", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSimFixture(t, tc.flavor, 600, false)
			if tc.incremental {
				f.sync()
				if _, err := f.sim.Mutate(jirasim.Mutation{Update: 400, Comment: 200}); err != nil {
					t.Fatal(err)
				}
				f.clock.Advance(3 * time.Minute)
			}
			g := &goneOnce{suffix: tc.suffix}
			f.setClient(func(o *client.Options) { g.next = o.Transport; o.Transport = g })
			if _, err := f.syncErr(); err != nil {
				t.Fatalf("an issue gone during the sync failed it: %v", err)
			}
			if g.path == "" {
				t.Fatal("no truncated collection was fetched: the test did not reach the path")
			}
			if g.again == 0 {
				t.Errorf("%s was not fetched again after its 404", g.path)
			}
			f.checkCounts("after the sync")
		})
	}
}

// TestSimDataCenterUserRateLimit: a Data Center site whose administrator
// limits each user to 10 requests a second (one bucket across endpoints,
// stated on every answer). jsync keeps to it from the first answer: the
// sync is complete and at most once refused, where learning the limit
// endpoint by endpoint from 429s drew 4 of 46 here.
func TestSimDataCenterUserRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixtureWith(t, jirasim.Options{Issues: 300, Flavor: jirasim.FlavorDataCenter, Rate: 10,
		Caps: jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20}}, false)
	f.sync()
	f.checkCounts("after the sync")
	var refused, total int64
	for _, codes := range f.sim.Stats().Endpoints {
		for code, n := range codes {
			total += n
			if code == "429" {
				refused += n
			}
		}
	}
	t.Logf("%d requests, %d refused", total, refused)
	if refused > 1 {
		t.Errorf("%d of %d requests refused with 429 under the user's stated limit, want at most 1", refused, total)
	}
}

// listingJQL records the JQL of the delete sweep's id listing requests
// (Data Center: GET search with fields=id,updated).
type listingJQL struct {
	next http.RoundTripper
	mu   *sync.Mutex
	jqls *[]string
}

func (l listingJQL) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/rest/api/2/search") && req.URL.Query().Get("fields") == "id,updated" {
		l.mu.Lock()
		*l.jqls = append(*l.jqls, req.URL.Query().Get("jql"))
		l.mu.Unlock()
	}
	return l.next.RoundTrip(req)
}

// TestSimSweepListsInRanges: the delete sweep lists the ids in ranges read
// at once, one per page of known ids and at most the concurrency, which
// together cover every id: a first run marks nothing deleted, and a later
// sweep marks exactly the issues deleted since, whichever range they fall
// in.
func TestSimSweepListsInRanges(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixture(t, jirasim.FlavorDataCenter, 5000, false)
	f.src.cfg.Concurrency = 3
	f.src.cfg.DeleteSweepInterval = time.Nanosecond // every run sweeps
	var mu sync.Mutex
	var jqls []string
	f.setClient(func(o *client.Options) { o.Transport = listingJQL{next: o.Transport, mu: &mu, jqls: &jqls} })
	f.sync()
	f.checkCounts("after the first run")
	// Over 2,000 issues in the fixture's year, pages of 1,000 and
	// concurrency 3: three ranges, the first from 0 and the last without
	// end. (Each page of a range restarts after the largest id read.)
	// A range is known by its end: "" for the last.
	ends := map[string]bool{}
	starts := 0
	endRe := regexp.MustCompile(`\(id < (\d+)\)`)
	for _, q := range jqls {
		end := ""
		if m := endRe.FindStringSubmatch(q); m != nil {
			end = m[1]
		}
		ends[end] = true
		if strings.Contains(q, "(id >= ") {
			starts++
		}
	}
	if len(ends) != 3 || !ends[""] || starts != 2 {
		t.Fatalf("the sweep listed with %q, want three ranges", jqls)
	}
	for id, row := range f.dest.tables[TableIssues].rows {
		if row[schema.ColDeletedAt] != "" {
			t.Errorf("issue %s (%s) is marked deleted after the first run", row["key"], id)
		}
	}

	f.clock.Advance(time.Minute)
	res, err := f.sim.Mutate(jirasim.Mutation{DeleteIssues: 40})
	if err != nil {
		t.Fatal(err)
	}
	f.sync()
	deleted := map[string]bool{}
	for _, id := range res.DeletedIssueIDs {
		deleted[id] = true
	}
	marked := 0
	for id, row := range f.dest.tables[TableIssues].rows {
		gone := row[schema.ColDeletedAt] != ""
		if gone {
			marked++
		}
		if gone != deleted[id] {
			t.Errorf("issue %s (%s): marked deleted %v, deleted in Jira %v", row["key"], id, gone, deleted[id])
		}
	}
	if marked == 0 {
		t.Error("no issue was marked deleted")
	}
}
