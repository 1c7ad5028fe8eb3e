package jira

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/resources/jira/client"
)

// syncRun is one Sync call.
type syncRun struct {
	s   *Source
	d   *discovery
	req *source.SyncRequest
	now time.Time
	// parallelism caps the requests in flight (-parallelism; 0: the
	// source's concurrency alone).
	parallelism int

	sinks   map[string]*lockedSink
	rejects RejectSink

	projOnce sync.Once
	projects []projectRef
	projErr  error

	boardsOnce sync.Once
	boardsRaw  []json.RawMessage
	boardsErr  error

	// noWorklogFeed is set when this run reads no worklog feed (see
	// syncIssues): re-read issues then replace their worklogs too.
	noWorklogFeed bool

	// vanished are the issues whose collections answered 404 after their
	// search page: deleted or hidden meanwhile (see noteVanished).
	vanishedMu sync.Mutex
	vanished   []string
}

// projectRef is a visible project.
type projectRef struct {
	ID, Key string
	Raw     json.RawMessage
}

// lockedSink serialises sends from parallel fetchers.
type lockedSink struct {
	mu   sync.Mutex
	sink source.Sink
}

func (l *lockedSink) Send(ctx context.Context, rec arrow.RecordBatch) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sink.Send(ctx, rec)
}

// Sync fetches the requested tables into their sinks. Catalogue tables are
// fetched whole; issues and their children incrementally (see issues.go).
// Errors are collected per table (source.TableError).
func (s *Source) Sync(ctx context.Context, req *source.SyncRequest) error {
	var pinned map[string]string
	if tr := req.Tables[TableIssues]; tr != nil {
		pinned = tr.State.PinnedColumns
	}
	d, err := s.ensureDiscovered(ctx, pinned)
	if err != nil {
		return err
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	r := &syncRun{s: s, d: d, req: req, now: now.UTC(), sinks: map[string]*lockedSink{}, rejects: s.cfg.Rejects,
		parallelism: source.ParallelismFrom(ctx)}
	// However the fetchers nest (time slices, completions, projects), and
	// however many Syncs run at once, at most concurrency() requests are in
	// flight.
	defer s.limitInFlight(r.concurrency())()
	var toEngine *requestRejects
	if req.Rejects != nil {
		toEngine = &requestRejects{fn: req.Rejects}
		r.rejects = toEngine
	}
	for name, tr := range req.Tables {
		if tr.Sink != nil {
			r.sinks[name] = &lockedSink{sink: tr.Sink}
		}
	}

	var errs []error
	fail := func(table string, err error) {
		if err != nil {
			errs = append(errs, &source.TableError{Table: table, Err: err})
		}
	}
	catalogue := []struct {
		table string
		fetch func(ctx context.Context, e *env, out *tableOut) error
	}{
		{TableProjectTypes, r.arrayFetch("/project/type", (*env).decodeProjectType)},
		{TableProjectCategories, r.arrayFetch("/projectCategory", (*env).decodeProjectCategory)},
		{TableResolutions, r.fetchResolutions},
		{TableRoles, r.arrayFetch("/role", (*env).decodeRole)},
		{TableStatuses, r.arrayFetch("/status", (*env).decodeStatus)},
		{TableStatusCategories, r.arrayFetch("/statuscategory", (*env).decodeStatusCategory)},
		{TablePriorities, r.arrayFetch("/priority", (*env).decodePriority)},
		{TableIssueTypes, r.arrayFetch("/issuetype", (*env).decodeIssueType)},
		{TableFields, r.fetchFields},
		{TableUsers, r.fetchUsers},
		{TableProjects, r.fetchProjects},
		{TableVersions, r.fetchVersions},
		{TableComponents, r.fetchComponents},
		{TableBoards, r.fetchBoards},
		{TableSprints, r.fetchSprints},
	}
	for _, c := range catalogue {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		fail(c.table, r.fullTable(ctx, c.table, c.fetch))
	}
	if err := r.syncIssues(ctx); err != nil {
		var te *source.TableError
		if errors.As(err, &te) {
			errs = append(errs, err) // already attributed
		} else {
			fail(TableIssues, err)
		}
	}
	if toEngine != nil {
		if err := toEngine.Err(); err != nil {
			errs = append(errs, fmt.Errorf("record rejects: %w", err))
		}
	}
	return errors.Join(errs...)
}

// wanted returns the request of a table whose rows are written, or nil.
func (r *syncRun) wanted(name string) *source.TableRequest {
	tr := r.req.Tables[name]
	if tr == nil || !tr.Write || tr.Sink == nil {
		return nil
	}
	return tr
}

// newOut makes the output of a written table, or nil. firstWins keeps the
// first row of a key written in the run (see tableOut).
func (r *syncRun) newOut(name string, firstWins bool) *tableOut {
	tr := r.wanted(name)
	if tr == nil {
		return nil
	}
	t := tr.Table
	if t == nil {
		t = TableByName(name)
	}
	out := &tableOut{name: name, w: newRowWriter(r.s.mem, t, r.s.cfg.Name, r.now), batchRows: r.s.cfg.BatchRows,
		send: r.sinks[name].Send, batchKeys: map[string]struct{}{}}
	if firstWins {
		out.runKeys = map[string]struct{}{}
	}
	return out
}

func (r *syncRun) env(ctx context.Context) *env {
	return newEnv(ctx, r.rejects, r.d.custom)
}

// fullTable runs a catalogue fetch: every row is sent, then the sink is
// checkpointed, which lets the destination replace the table atomically.
func (r *syncRun) fullTable(ctx context.Context, name string, fetch func(ctx context.Context, e *env, out *tableOut) error) error {
	out := r.newOut(name, true)
	if out == nil {
		return nil
	}
	defer out.w.Release()
	ctx = client.WithTable(ctx, name)
	e := r.env(ctx)
	if err := fetch(ctx, e, out); err != nil {
		return err
	}
	if e.err != nil {
		return e.err
	}
	if err := out.flush(ctx); err != nil {
		return err
	}
	st := r.req.Tables[name].State
	st.LastSuccess = r.now
	if err := r.req.Tables[name].Sink.Checkpoint(ctx, st); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// arrayFetch fetches a bare-array catalogue endpoint under the API base.
func (r *syncRun) arrayFetch(path string, decode func(*env, *tableOut, json.RawMessage)) func(context.Context, *env, *tableOut) error {
	return func(ctx context.Context, e *env, out *tableOut) error {
		return r.s.cl.EachArray(ctx, r.d.api+path, nil, func(items []json.RawMessage) error {
			for _, it := range items {
				decode(e, out, it)
			}
			return e.err
		})
	}
}

// fetchResolutions lists the resolutions: resolution/search on Cloud,
// which alone says which is the default (GET resolution is deprecated
// there), falling back to resolution where a site lacks it; resolution on
// Data Center.
func (r *syncRun) fetchResolutions(ctx context.Context, e *env, out *tableOut) error {
	decode := func(items []json.RawMessage) error {
		for _, it := range items {
			e.decodeResolution(out, it)
		}
		return e.err
	}
	if r.d.cloud {
		pages := 0
		err := r.s.cl.EachPageBean(ctx, r.d.api+"/resolution/search", url.Values{"maxResults": {"50"}}, func(items []json.RawMessage) error {
			pages++
			return decode(items)
		})
		if err == nil || pages > 0 || !isStatus(err, http.StatusNotFound) {
			return err
		}
	}
	return r.s.cl.EachArray(ctx, r.d.api+"/resolution", nil, decode)
}

func (r *syncRun) fetchFields(_ context.Context, e *env, out *tableOut) error {
	cols := map[string]string{}
	for _, c := range r.d.custom {
		cols[c.FieldID] = c.Column
	}
	for _, raw := range r.d.fieldsRaw {
		e.decodeField(out, raw, cols)
	}
	return e.err
}

// fetchUsers lists every user: users/search on Cloud (inactive and app
// users included), user/search on Data Center (fetchUsersDC).
func (r *syncRun) fetchUsers(ctx context.Context, e *env, out *tableOut) error {
	if !r.d.cloud {
		return r.fetchUsersDC(ctx, e, out)
	}
	return r.s.cl.EachArrayPage(ctx, r.d.api+"/users/search", url.Values{"maxResults": {"1000"}}, func(items []json.RawMessage) error {
		for _, it := range items {
			e.decodeUser(out, it)
		}
		return e.err
	})
}

// userSearchCap is the most users Jira 10 Data Center's user/search
// returns for one query, whatever startAt and maxResults ask: "The
// combination of maxResults and startAt is limited to the first 100
// results" (JRASERVER-78660).
const userSearchCap = 100

// userPrefixChars extend a user/search prefix that reached the cap, with
// the characters that follow the prefix in the users it returned. The
// search matches the start of the username, the display name or the
// e-mail address, case-insensitively.
const userPrefixChars = "abcdefghijklmnopqrstuvwxyz0123456789._-@'"

// maxUserPrefix bounds the prefixes fetchUsersDC tries: a prefix this
// long that still reaches the cap is an error, not a silent cut.
const maxUserPrefix = 16

// fetchUsersDC lists every user of a Data Center site with user/search.
// username "." matches every user, but Jira 10 returns at most the first
// userSearchCap of any query, and paging does not reach past them; so a
// query that returns exactly that many is split by prefix, as Atlassian's
// own workaround does: the prefix extended by each of userPrefixChars and
// of the characters that follow it in the users returned, each such
// query split again while it reaches the cap, and the user whose username
// is the prefix itself looked up (GET user), as no longer prefix matches
// it alone. The users found are merged by key. Sites with fewer users,
// and Jira 9, which pages past 100, need the one query. A user whose
// username, display name and e-mail all start with a character no
// returned user shows after a capped prefix (beyond the Latin letters
// tried at the top) can still be missed.
func (r *syncRun) fetchUsersDC(ctx context.Context, e *env, out *tableOut) error {
	var mu sync.Mutex // guards seen, e and out
	seen := map[string]bool{}
	// names are the fields a prefix matches, lowercased, and the key.
	type names struct{ Key, Name, DisplayName, EmailAddress string }
	// add writes the users not written yet and returns the names of all.
	add := func(items []json.RawMessage) ([]names, error) {
		mu.Lock()
		defer mu.Unlock()
		all := make([]names, 0, len(items))
		for _, it := range items {
			var u names
			if json.Unmarshal(it, &u) == nil {
				all = append(all, names{u.Key, strings.ToLower(u.Name), strings.ToLower(u.DisplayName), strings.ToLower(u.EmailAddress)})
				if id := cmp.Or(u.Key, u.Name); id != "" {
					if seen[id] {
						continue
					}
					seen[id] = true
				}
			}
			e.decodeUser(out, it)
		}
		return all, e.err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(r.concurrency())
	splits := atomic.Int64{}
	var search func(prefix string) error
	search = func(prefix string) error {
		q := url.Values{"username": {prefix}, "includeInactive": {"true"}, "includeActive": {"true"}, "maxResults": {"1000"}}
		n := 0
		var returned []names
		err := r.s.cl.EachArrayPage(ctx, r.d.api+"/user/search", q, func(items []json.RawMessage) error {
			n += len(items)
			got, err := add(items)
			returned = append(returned, got...)
			return err
		})
		if err != nil || n != userSearchCap {
			return err
		}
		base := prefix
		if prefix == "." {
			base = ""
		}
		if utf8.RuneCountInString(base) >= maxUserPrefix {
			return fmt.Errorf("list users: user/search returns at most %d users for a query, and %d match %q: the users table would be incomplete", userSearchCap, n, base)
		}
		splits.Add(1)
		if base != "" {
			// The user named base exactly, which "base"+c no longer matches.
			var u json.RawMessage
			switch err := r.s.cl.GetJSON(ctx, r.d.api+"/user", url.Values{"username": {base}}, &u); {
			case err == nil:
				if _, err := add([]json.RawMessage{u}); err != nil {
					return err
				}
			case !isStatus(err, http.StatusNotFound):
				return fmt.Errorf("look up user %q: %w", base, err)
			}
		}
		next := map[string]bool{}
		for _, c := range userPrefixChars {
			next[base+string(c)] = true
		}
		if base == "" {
			// Names that start outside ASCII: the Latin letters of
			// Latin-1 and Latin Extended-A (é, ø, ł, ü, …), which a
			// sample of 100 users may not show.
			for c := rune(0xdf); c <= 0x17f; c++ {
				if unicode.IsLower(c) {
					next[string(c)] = true
				}
			}
		}
		for _, u := range returned {
			for _, f := range []string{u.Name, u.DisplayName, u.EmailAddress} {
				if rest, ok := strings.CutPrefix(f, base); ok && rest != "" {
					c, _ := utf8.DecodeRuneInString(rest)
					next[base+string(c)] = true
				}
			}
		}
		delete(next, ".") // "." matches every user
		for _, p := range slices.Sorted(maps.Keys(next)) {
			// A query waits for a slot only when it is not holding one.
			if !g.TryGo(func() error { return search(p) }) {
				if err := search(p); err != nil {
					return err
				}
			}
		}
		return nil
	}
	g.Go(func() error { return search(".") })
	if err := g.Wait(); err != nil {
		return err
	}
	if n := splits.Load(); n > 0 {
		r.s.log.Info(fmt.Sprintf("jira: user/search returns at most %d users a query; the users were listed by prefix", userSearchCap), "capped_queries", n, "users", len(seen))
	}
	return nil
}

// visibleProjects lists the projects the user can browse, limited to the
// configured keys. Configured projects that are not visible are skipped
// with a warning naming them; none readable at all is an error.
func (r *syncRun) visibleProjects(ctx context.Context) ([]projectRef, error) {
	r.projOnce.Do(func() {
		ctx = client.WithTable(ctx, TableProjects)
		collect := func(items []json.RawMessage) error {
			for _, it := range items {
				var p struct {
					ID  json.RawMessage `json:"id"`
					Key string          `json:"key"`
				}
				if err := json.Unmarshal(it, &p); err != nil {
					return fmt.Errorf("decode project: %w", err)
				}
				id, _, err := asString(p.ID)
				if err != nil {
					return fmt.Errorf("decode project %s: %w", p.Key, err)
				}
				r.projects = append(r.projects, projectRef{ID: id, Key: p.Key, Raw: it})
			}
			return nil
		}
		expand := url.Values{"expand": {"description,lead,projectKeys,url"}}
		if r.d.cloud {
			q := expand
			q.Set("maxResults", "100")
			r.projErr = r.s.cl.EachPageBean(ctx, r.d.api+"/project/search", q, collect)
		} else {
			r.projErr = r.s.cl.EachArray(ctx, r.d.api+"/project", expand, collect)
		}
		if r.projErr != nil {
			r.projErr = fmt.Errorf("list projects: %w", r.projErr)
			return
		}
		if len(r.s.cfg.Projects) > 0 {
			want := upperAll(r.s.cfg.Projects)
			var kept []projectRef
			var missing []string
			for _, k := range want {
				i := slices.IndexFunc(r.projects, func(p projectRef) bool { return p.Key == k })
				if i < 0 {
					missing = append(missing, k)
					continue
				}
				kept = append(kept, r.projects[i])
			}
			if len(missing) > 0 {
				r.s.log.Warn("jira: configured projects are not visible to the user and are skipped", "source", r.s.cfg.Name, "projects", missing)
			}
			r.projects = kept
		}
		if len(r.projects) == 0 {
			r.projErr = errors.New("no project is readable by this user (check the credentials, the permissions and the projects setting)")
		}
	})
	return r.projects, r.projErr
}

func (r *syncRun) fetchProjects(ctx context.Context, e *env, out *tableOut) error {
	projects, err := r.visibleProjects(ctx)
	if err != nil {
		return err
	}
	for _, p := range projects {
		e.decodeProject(out, p.Raw)
	}
	return e.err
}

// perProject fetches a sub-resource of every visible project, up to
// concurrency projects at a time, then decodes the results in project
// order. A project whose sub-resource is forbidden or gone is skipped with a
// warning.
func (r *syncRun) perProject(ctx context.Context, table string, fetch func(p projectRef) ([]json.RawMessage, error),
	decode func(p projectRef, items []json.RawMessage)) error {
	projects, err := r.visibleProjects(ctx)
	if err != nil {
		return err
	}
	results, errs := fetchAll(ctx, len(projects), r.concurrency(), func(_ context.Context, i int) ([]json.RawMessage, error) {
		return fetch(projects[i])
	})
	for i, p := range projects {
		if err := errs[i]; err != nil {
			if isStatus(err, http.StatusForbidden, http.StatusNotFound) {
				r.s.log.Warn("jira: project skipped", "table", table, "project", p.Key, "error", err)
				continue
			}
			return fmt.Errorf("project %s: %w", p.Key, err)
		}
		decode(p, results[i])
	}
	return nil
}

// fetchAll runs fetch(0..n-1) with up to workers at a time (all requests
// still pass the client's rate limiter) and returns results and errors by
// index.
func fetchAll(ctx context.Context, n, workers int, fetch func(ctx context.Context, i int) ([]json.RawMessage, error)) ([][]json.RawMessage, []error) {
	results := make([][]json.RawMessage, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(max(1, workers), n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = fetch(ctx, i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, errs
}

// fetchOrdered runs fetch(0..n-1) with up to ahead of them in flight and
// passes each result to use in index order, on the caller's goroutine.
// Unlike fetchAll, it holds at most ahead results besides the one in use.
// The first error, of a fetch (in index order) or of use, ends it; the
// fetches still running are cancelled and waited for.
func fetchOrdered[T any](ctx context.Context, n, ahead int, fetch func(ctx context.Context, i int) (T, error), use func(T) error) error {
	type result struct {
		v   T
		err error
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before wg.Wait: deferred calls run last first
	start := func(i int) chan result {
		ch := make(chan result, 1)
		wg.Go(func() {
			v, err := fetch(ctx, i)
			ch <- result{v, err}
		})
		return ch
	}
	queue := make([]chan result, 0, max(1, ahead))
	next := 0
	for ; next < min(n, max(1, ahead)); next++ {
		queue = append(queue, start(next))
	}
	for len(queue) > 0 {
		res := <-queue[0]
		queue = queue[1:]
		if res.err != nil {
			return res.err
		}
		if next < n {
			queue = append(queue, start(next))
			next++
		}
		if err := use(res.v); err != nil {
			return err
		}
	}
	return nil
}

// collect gathers every item a paging call passes to its PageFunc.
func collect(page func(fn client.PageFunc) error) ([]json.RawMessage, error) {
	var all []json.RawMessage
	err := page(func(items []json.RawMessage) error {
		all = append(all, items...)
		return nil
	})
	return all, err
}

func (r *syncRun) fetchVersions(ctx context.Context, e *env, out *tableOut) error {
	return r.perProject(ctx, TableVersions, func(p projectRef) ([]json.RawMessage, error) {
		return collect(func(fn client.PageFunc) error {
			if r.d.cloud {
				return r.s.cl.EachPageBean(ctx, r.d.api+"/project/"+url.PathEscape(p.ID)+"/version", url.Values{"maxResults": {"50"}}, fn)
			}
			return r.s.cl.EachArray(ctx, r.d.api+"/project/"+url.PathEscape(p.ID)+"/versions", nil, fn)
		})
	}, func(p projectRef, items []json.RawMessage) {
		for _, it := range items {
			e.decodeVersion(out, it, p.ID)
		}
	})
}

func (r *syncRun) fetchComponents(ctx context.Context, e *env, out *tableOut) error {
	return r.perProject(ctx, TableComponents, func(p projectRef) ([]json.RawMessage, error) {
		return collect(func(fn client.PageFunc) error {
			if r.d.cloud {
				return r.s.cl.EachPageBean(ctx, r.d.api+"/project/"+url.PathEscape(p.ID)+"/component", url.Values{"maxResults": {"50"}}, fn)
			}
			return r.s.cl.EachArray(ctx, r.d.api+"/project/"+url.PathEscape(p.ID)+"/components", nil, fn)
		})
	}, func(p projectRef, items []json.RawMessage) {
		for _, it := range items {
			e.decodeComponent(out, it, p.ID)
		}
	})
}

const agileAPI = "/rest/agile/1.0"

// boards lists the agile boards (raw) once per run.
func (r *syncRun) boards(ctx context.Context) ([]json.RawMessage, error) {
	r.boardsOnce.Do(func() {
		err := r.s.cl.EachAgilePage(ctx, agileAPI+"/board", url.Values{"maxResults": {"50"}}, func(items []json.RawMessage) error {
			r.boardsRaw = append(r.boardsRaw, items...)
			return nil
		})
		if err != nil {
			r.boardsErr = fmt.Errorf("list boards: %w", err)
		}
	})
	return r.boardsRaw, r.boardsErr
}

func (r *syncRun) fetchBoards(ctx context.Context, e *env, out *tableOut) error {
	boards, err := r.boards(ctx)
	if err != nil {
		return err
	}
	for _, b := range boards {
		e.decodeBoard(out, b)
	}
	return e.err
}

// fetchSprints reads the sprints of every scrum board, several boards at a
// time; a sprint shared by several boards is written once.
func (r *syncRun) fetchSprints(ctx context.Context, e *env, out *tableOut) error {
	boards, err := r.boards(ctx)
	if err != nil {
		return err
	}
	var scrum []int64
	for _, raw := range boards {
		var b struct {
			ID   int64  `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			e.reject(TableBoards, "", "", "board: "+err.Error(), raw)
			continue
		}
		if b.Type == "scrum" { // kanban boards have no sprints (Jira answers 400)
			scrum = append(scrum, b.ID)
		}
	}
	results, errs := fetchAll(ctx, len(scrum), r.concurrency(), func(ctx context.Context, i int) ([]json.RawMessage, error) {
		path := agileAPI + "/board/" + strconv.FormatInt(scrum[i], 10) + "/sprint"
		return collect(func(fn client.PageFunc) error {
			return r.s.cl.EachAgilePage(ctx, path, url.Values{"maxResults": {"50"}}, fn)
		})
	})
	for i, id := range scrum {
		if err := errs[i]; err != nil {
			if isStatus(err, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound) {
				r.s.log.Warn("jira: board sprints skipped", "board", id, "error", err)
				continue
			}
			return fmt.Errorf("board %d: %w", id, err)
		}
		for _, it := range results[i] {
			e.decodeSprint(out, it)
		}
	}
	return e.err
}

// checkpoint commits st on a table's sink.
func (r *syncRun) checkpoint(ctx context.Context, name string, st state.TableState) error {
	tr := r.req.Tables[name]
	if tr == nil || tr.Sink == nil {
		return nil
	}
	if err := tr.Sink.Checkpoint(ctx, st); err != nil {
		return fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return nil
}

// barrier waits until every sink has committed what it was sent. A request
// without a Barrier (a destination that commits each batch as it is sent)
// needs no wait.
func (r *syncRun) barrier(ctx context.Context) error {
	if r.req.Barrier == nil {
		return nil
	}
	return r.req.Barrier(ctx)
}

// Default requests in flight when Config.Concurrency is not set.
//
// Jira Cloud allows bursts of 100 requests per second per endpoint (a
// token bucket per endpoint and method) and answers 429 with Retry-After
// beyond its limits, which the client honours, keeping each endpoint under
// its limit (see client's limiter). A backfill spreads its requests over
// several endpoints (search pages, and comments, worklogs and changelogs
// past their embedded caps, about half of them comments): 16 requests in
// flight reach about 100 per second in all at 150 ms of latency, one
// endpoint's limit; 24 leave each endpoint under its own while the sync is
// bound by its decoding and writing instead. At 20,000 issues, 150 ms:
// 14.4-15.4 s with 16 against 12.7-15.4 s with 24 (alternating; 32 no
// better), no 429s, the same peak RSS (BENCHMARKS.md, twenty-fifth round).
// A Data Center site has no such limit unless its administrators set one
// (then one bucket per user across endpoints), and serves from the
// customer's own nodes, so jsync asks less of it.
const (
	CloudConcurrency      = 24
	DataCenterConcurrency = 8
)

// MaxSliceWorkers bounds the time slices of a backfill read at once. Each
// holds up to two search pages (a few MB each) and a batch being built for
// every table; the requests in flight beyond it go to the comments,
// worklogs and changelogs that complete the slices' pages, which keep the
// slots busy (measured: 16 requests in flight with 8 or 16 slices read at
// once take the same time, and 8 slices use about 90 MB less).
const MaxSliceWorkers = 8

// concurrency is the bound on requests in flight for this run: the source's
// Concurrency (its deployment's default when unset), capped by the
// run's parallelism (jsync apply -parallelism, source.WithParallelism)
// when that is set.
func (r *syncRun) concurrency() int {
	n := r.s.cfg.Concurrency
	if n <= 0 {
		n = DataCenterConcurrency
		if r.d.cloud {
			n = CloudConcurrency
		}
	}
	if p := r.parallelism; p > 0 && p < n {
		n = p
	}
	return n
}

// sliceWorkers is how many time slices of a backfill are read at once.
func (r *syncRun) sliceWorkers() int { return min(r.concurrency(), MaxSliceWorkers) }

// requestRejects forwards rejects to the engine (SyncRequest.Rejects, the
// _jsync_rejects table), keeping the first error for the end of the run.
type requestRejects struct {
	fn  func(context.Context, source.Reject) error
	mu  sync.Mutex
	err error
}

func (q *requestRejects) Reject(ctx context.Context, r Reject) {
	reason := r.Reason
	if r.Column != "" {
		reason = "column " + r.Column + ": " + reason + " (the row was kept with NULL there)"
	}
	if err := q.fn(ctx, source.Reject{Table: r.Table, Key: r.Key, Reason: reason, Raw: []byte(r.Raw)}); err != nil {
		q.mu.Lock()
		if q.err == nil {
			q.err = err
		}
		q.mu.Unlock()
	}
}

// Err is the first error of the engine's reject sink.
func (q *requestRejects) Err() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}
