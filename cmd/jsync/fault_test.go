package main

// Fault tolerance and hostile server data, end to end: jsync apply runs as a
// separate process against a simulated site, directly or behind a proxy
// (crash_test.go) that injects faults or rewrites responses.

import (
	"bytes"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// sharedClock gives simulators started in the same test the same anchor
// (the dataset is generated from Now truncated to the minute), so that a
// clean and a faulty site serve identical data.
func sharedClock() func() time.Time {
	base := time.Now().Add(-time.Hour).Truncate(time.Minute)
	t0 := time.Now()
	return func() time.Time { return base.Add(time.Since(t0)) }
}

func writeJSONBody(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// resetConn closes the client connection without an answer (RST).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		writeJSONBody(w, http.StatusBadGateway, map[string]any{"errorMessages": []string{"bad gateway"}})
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	var raw net.Conn = conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// faultCounts records what a fault injector did.
type faultCounts struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (c *faultCounts) add(kind string) {
	c.mu.Lock()
	c.kinds[kind]++
	c.mu.Unlock()
}

func (c *faultCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.kinds)
}

// transientFaults answers a share p of requests with a transient failure
// (500, 502, 503, 504, a connection reset, or a slow answer), chosen
// deterministically from (seed, request number), and every 40 requests
// answers a storm of three 429s with Retry-After.
func transientFaults(seed uint64, p float64, counts *faultCounts) func(int64, http.ResponseWriter, *http.Request) bool {
	return func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n%40 >= 20 && n%40 < 23 {
			counts.add("429")
			w.Header().Set("Retry-After", "1")
			w.Header().Set("RateLimit-Reason", "jira-burst-based")
			writeJSONBody(w, http.StatusTooManyRequests, map[string]any{"errorMessages": []string{"The request has been rate-limited."}})
			return true
		}
		rng := rand.New(rand.NewPCG(seed, uint64(n)))
		if rng.Float64() >= p {
			return false
		}
		switch kind := rng.IntN(6); kind {
		case 0, 1, 2, 3:
			status := []int{500, 502, 503, 504}[kind]
			counts.add(fmt.Sprint(status))
			writeJSONBody(w, status, map[string]any{"errorMessages": []string{"Internal server error"}, "errors": map[string]any{}})
			return true
		case 4:
			counts.add("reset")
			resetConn(w)
			return true
		default:
			counts.add("slow")
			time.Sleep(1500 * time.Millisecond)
			return false
		}
	}
}

// TestFaultsTransient: with 20% transient faults and 429 storms, one apply
// completes and the data equals a clean run.
func TestFaultsTransient(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns jsync processes")
	}
	t.Parallel() // mostly waits for retries
	issues := 60
	if longMode() {
		issues = 300
	}
	sim := startSim(t, jirasim.Options{Issues: issues, Seed: 5, Rate: -1, Caps: jirasim.Caps{Comments: 3, Histories: 4, Worklogs: 3}})
	kinds := []destKind{destDuckDB}
	if longMode() {
		kinds = append(kinds, destParquet)
	}
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			p := newSiteProxy(t, sim)
			st := proxySite(p)
			env := st.env()
			refDir := newWorkDir(t, st, k)
			p.set(nil, nil)
			if r := runJsync(t, refDir, env, nil, "apply", "-auto-approve"); r.code != 0 {
				t.Fatalf("clean apply:\n%s", r)
			}
			dir := newWorkDir(t, st, k)
			counts := &faultCounts{kinds: map[string]int{}}
			p.set(transientFaults(harnessSeed(t), 0.2, counts), nil)
			r := runJsync(t, dir, env, nil, "apply", "-auto-approve")
			p.set(nil, nil)
			t.Logf("injected faults: %s", counts)
			if r.code != 0 {
				t.Fatalf("apply with transient faults failed:\n%s", r)
			}
			compareDestinations(t, k, k.path(refDir), k.path(dir))
		})
	}
}

// TestFaultsSimulator runs one apply against the simulator's own fault
// injection (Faults=0.2: 5xx, resets, slow answers, truncated bodies, 429
// without Retry-After, and complete but malformed 2xx bodies). Transient
// faults must never surface. A malformed 2xx body is not retried by the
// client (resources/jira/client: it fails its table fast with a decode
// error), so with ~2% malformed answers a run almost always fails some
// table: the test accepts only such decode errors, and requires every table
// the run reports as synced to equal a clean site's.
func TestFaultsSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns jsync processes")
	}
	clock := sharedClock()
	opts := jirasim.Options{Issues: 40, Seed: 9, Rate: -1, Now: clock}
	clean := startSim(t, opts)
	opts.Faults = 0.2
	faulty := startSim(t, opts)

	refDir := newWorkDir(t, simSite(clean), destDuckDB)
	if r := runJsync(t, refDir, simSite(clean).env(), nil, "apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("clean apply:\n%s", r)
	}
	dir := newWorkDir(t, simSite(faulty), destDuckDB)
	r := runJsync(t, dir, simSite(faulty).env(), nil, "apply", "-auto-approve")
	t.Logf("simulator stats:\n%s", faulty.Stats())
	ok := syncedTables(r.stdout)
	if len(ok) == 0 {
		t.Fatalf("no table synced:\n%s", r)
	}
	if r.code != 0 {
		malformed := regexp.MustCompile(`decode response: .*oops`)
		for _, line := range strings.Split(r.stderr, "\n") {
			if strings.HasPrefix(line, "Error: ") && !malformed.MatchString(line) {
				t.Errorf("a fault other than a malformed body surfaced: %s", line)
			}
		}
		t.Logf("apply failed (%d tables synced):\n%s", len(ok), r.stderr)
	}
	s := openSnapshotsOf(t, destDuckDB, map[string]string{"ref": destDuckDB.path(refDir), "got": destDuckDB.path(dir)},
		func(name string) bool { return ok[name] })
	defer s.Close()
	for _, name := range sortedNames(ok) {
		if !s.tables["ref"][name] || !s.tables["got"][name] {
			if rc, gc := s.rowCount(t, "ref", name), s.rowCount(t, "got", name); rc != gc {
				t.Errorf("synced table %s: %d rows, a clean sync has %d", name, gc, rc)
			}
			continue
		}
		cols := s.columns(t, "ref", name)
		if onlyRef, onlyGot, sample := s.diffTable(t, name, cols, ""); onlyRef+onlyGot > 0 {
			t.Errorf("synced table %s: %d rows missing, %d extra; e.g.\n%s", name, onlyRef, onlyGot, sample)
		}
	}
}

// syncedTables reads apply's summary: the tables whose status is ok.
func syncedTables(stdout string) map[string]bool {
	ok := map[string]bool{}
	re := regexp.MustCompile(`(?m)^\s*acme\.(\S+)\s.*\sok$`)
	for _, m := range re.FindAllStringSubmatch(stdout, -1) {
		ok[m[1]] = true
	}
	return ok
}

// TestFaultsPersistentFailure: one endpoint answers 500 forever. apply
// stops after bounded retries, names the endpoint, the status and the
// table, leaves that table's state and rows unchanged and commits the other
// tables. Cases: a full table failing on its only page (users), and a full
// table failing after other pages were sent (versions of one project).
func TestFaultsPersistentFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the client's full retry schedule (about a minute)")
	}
	t.Parallel()
	cases := []struct {
		table string
		path  string // regexp of the failing endpoint
	}{
		{"users", `^/rest/api/\d+/users(/search)?$`},
		{"versions", `^/rest/api/\d+/project/10004/versions?$`},
	}
	if !longMode() {
		cases = cases[:1] // each case waits a minute for the retries
	}
	for _, c := range cases {
		t.Run(c.table, func(t *testing.T) {
			persistentFailure(t, c.table, regexp.MustCompile(c.path))
		})
	}
}

func persistentFailure(t *testing.T, failTable string, failPath *regexp.Regexp) {
	sim := startSim(t, jirasim.Options{Issues: 30, Seed: 3, Rate: -1})
	p := newSiteProxy(t, sim)
	st := proxySite(p)
	env := st.env()
	dir := newWorkDir(t, st, destDuckDB)
	if r := runJsync(t, dir, env, nil, "apply", "-auto-approve"); r.code != 0 {
		t.Fatalf("first apply:\n%s", r)
	}
	failedBefore := readState(t, dir, env, failTable)
	issuesBefore := readState(t, dir, env, "issues")
	rowsQuery := "SELECT count(*) FROM acme." + failTable
	rowsBefore := duckCount(t, destDuckDB.path(dir), rowsQuery)

	mut, err := sim.Mutate(jirasim.Mutation{Update: 3})
	if err != nil {
		t.Fatal(err)
	}
	var failed atomic.Int64
	p.set(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if !failPath.MatchString(r.URL.Path) {
			return false
		}
		failed.Add(1)
		writeJSONBody(w, http.StatusInternalServerError, map[string]any{"errorMessages": []string{"Internal server error"}, "errors": map[string]any{}})
		return true
	}, nil)
	r := runJsync(t, dir, env, nil, "apply", "-auto-approve", "-force")
	p.set(nil, nil)
	if r.code != 1 {
		t.Fatalf("apply with a persistently failing endpoint: want exit 1\n%s", r)
	}
	t.Logf("stderr:\n%s", r.stderr)
	endpoint := strings.NewReplacer("^", "", "$", "").Replace(failPath.String())
	for _, want := range []string{endpoint, `HTTP 500`, `\b` + failTable + `\b`, `after \d+ attempts`} {
		if !regexp.MustCompile(want).MatchString(r.stderr) {
			t.Errorf("the error does not match %q:\n%s", want, r.stderr)
		}
	}
	if n := failed.Load(); n == 0 || n > 20 {
		t.Errorf("the failing endpoint was called %d times; want a bounded number of retries", n)
	}
	if after := readState(t, dir, env, failTable); after.Cursor != failedBefore.Cursor || !after.LastSuccess.Equal(failedBefore.LastSuccess) {
		t.Errorf("state of the failed table changed: before %+v, after %+v", failedBefore, after)
	}
	if n := duckCount(t, destDuckDB.path(dir), rowsQuery); n != rowsBefore {
		t.Errorf("failed table %s: %d rows before, %d after: a failed full-table sync replaced the table", failTable, rowsBefore, n)
	}
	issuesAfter := readState(t, dir, env, "issues")
	if !issuesAfter.LastSuccess.After(issuesBefore.LastSuccess) || issuesAfter.Cursor <= issuesBefore.Cursor {
		t.Errorf("issues did not commit: before %+v, after %+v", issuesBefore, issuesAfter)
	}
	keys := "'" + strings.Join(mut.Updated, "','") + "'"
	at := time.UnixMilli(mut.AtMillis).UTC().Format("2006-01-02 15:04:05.000+00")
	if n := duckCount(t, destDuckDB.path(dir), "SELECT count(*) FROM acme.issues WHERE key IN ("+keys+") AND updated >= TIMESTAMPTZ '"+at+"'"); n != int64(len(mut.Updated)) {
		t.Errorf("%d of the %d updated issues were committed", n, len(mut.Updated))
	}
}

// duckCount runs a count query against a DuckDB file, read-only.
func duckCount(t *testing.T, path, q string) int64 {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("SET TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// --- hostile server data ---

// hostileCase rewrites the issue search responses of one run.
type hostileCase struct {
	name string
	// page rewrites a decoded search page; it returns the ids of the
	// issues it touched. It runs on every search page until it returns
	// done.
	page func(n int, page map[string]any) (touched []string, done bool)
	// before may answer requests itself (see siteProxy.before).
	before func(r *http.Request) (body []byte, ok bool)
	// rawBody replaces the first search page's body bytes instead.
	rawBody func(body []byte) []byte
	// wantErr, if set, is what stderr must match; apply must fail.
	wantErr string
	// minRejects is the least number of _jsync_rejects rows a successful
	// apply must write.
	minRejects int
	// kept are strings that must survive: each must be found in a
	// rejects row's raw payload or in a written issues row.
	kept []string
}

func issuesOf(page map[string]any) []map[string]any {
	list, _ := page["issues"].([]any)
	var out []map[string]any
	for _, it := range list {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func fieldsOf(issue map[string]any) map[string]any {
	f, _ := issue["fields"].(map[string]any)
	return f
}

func idOf(issue map[string]any) string { return fmt.Sprint(issue["id"]) }

// touchIssues applies edit to the first len(edits) issues of the first page
// that carries fields (id-only searches, such as the deletion sweep, pass).
func touchIssues(edits ...func(issue map[string]any)) func(int, map[string]any) ([]string, bool) {
	return func(_ int, page map[string]any) ([]string, bool) {
		list := issuesOf(page)
		if len(list) < len(edits) || fieldsOf(list[0]) == nil || fieldsOf(list[0])["updated"] == nil {
			return nil, false
		}
		var ids []string
		for i, edit := range edits {
			if i >= len(list) || fieldsOf(list[i]) == nil {
				break
			}
			ids = append(ids, idOf(list[i]))
			edit(list[i])
		}
		return ids, true
	}
}

func setField(name string, v any) func(map[string]any) {
	return func(issue map[string]any) { fieldsOf(issue)[name] = v }
}

var hugeSummary = "HUGE-" + strings.Repeat("x", 4<<20) + "-END"

func hostileCases() []hostileCase {
	var repeatMu sync.Mutex
	var firstPage []byte
	return []hostileCase{
		{
			// One invalid page (a proxy or a node in trouble) is retried:
			// the apply succeeds and nothing is dropped.
			name:    "malformed_json_once",
			rawBody: func(b []byte) []byte { return append([]byte(`{"issues": [{"id": "1", "fields": {]`), '}') },
		},
		{
			name: "wrong_types",
			page: touchIssues(
				setField("summary", 12345),
				setField("priority", "High"),
				setField("timeestimate", "lots"),
				setField("labels", "not-a-list"),
				func(issue map[string]any) { fieldsOf(issue)["created"] = true },
			),
			minRejects: 4, // priority, timeestimate, labels, created
			kept:       []string{"High", "lots", "not-a-list"},
		},
		{
			name: "unknown_fields",
			page: touchIssues(
				func(issue map[string]any) {
					issue["zzUnknownTopLevel"] = map[string]any{"a": 1}
					fieldsOf(issue)["zz_unknown_field"] = []any{"x", 2, nil}
				},
			),
		},
		{
			name: "odd_dates",
			page: touchIssues(
				setField("updated", "2021-13-45T99:99:99.000+0000"),
				setField("created", "2021-05-08T07:04:25.376"),
				setField("duedate", "31/12/2021"),
				setField("resolutiondate", "9999-12-31T23:59:59.999+0000"),
				setField("created", "0001-01-01T00:00:00.000+0000"),
				setField("updated", "1969-12-31T23:59:59.999-1200"),
			),
			minRejects: 3, // the unreadable updated (whole row), created without a zone, duedate
			kept:       []string{"2021-13-45T99:99:99.000+0000", "2021-05-08T07:04:25.376", "31/12/2021"},
		},
		{
			name:       "huge_string",
			page:       touchIssues(setField("summary", hugeSummary)),
			kept:       []string{"-END"},
			minRejects: 0,
		},
		{
			name: "null_object",
			page: touchIssues(
				func(issue map[string]any) { issue["fields"] = nil },
				setField("status", nil),
				setField("project", nil),
				setField("issuetype", nil),
				setField("comment", nil),
				setField("worklog", nil),
			),
			minRejects: 1,
		},
		{
			name: "empty_page_claims_more",
			page: func(n int, page map[string]any) ([]string, bool) {
				page["issues"] = []any{}
				page["isLast"] = false
				page["nextPageToken"] = fmt.Sprintf("fresh-token-%d", n)
				return nil, false
			},
			before: func(r *http.Request) ([]byte, bool) {
				// Tokens the simulator never issued: answer another empty page.
				if !requestHas(r, "fresh-token-") {
					return nil, false
				}
				return []byte(`{"issues": [], "isLast": false, "nextPageToken": "fresh-token-` + fmt.Sprint(time.Now().UnixNano()) + `"}`), true
			},
			wantErr: `(?i)empty pages? .*more|loop guard`,
		},
		{
			name: "repeated_page_token",
			rawBody: func(b []byte) []byte {
				var page map[string]any
				if json.Unmarshal(b, &page) != nil {
					return b
				}
				page["isLast"] = false
				page["nextPageToken"] = "same-token"
				out, _ := json.Marshal(page)
				repeatMu.Lock()
				firstPage = out
				repeatMu.Unlock()
				return out
			},
			before: func(r *http.Request) ([]byte, bool) {
				if !requestHas(r, "same-token") {
					return nil, false
				}
				repeatMu.Lock()
				defer repeatMu.Unlock()
				return firstPage, firstPage != nil
			},
			wantErr: `(?i)nextPageToken repeated|loop guard`,
		},
	}
}

// requestHas reports whether the query or the body of r contains s; the
// body is restored for forwarding.
func requestHas(r *http.Request, s string) bool {
	if strings.Contains(r.URL.RawQuery, s) {
		return true
	}
	if r.Body == nil {
		return false
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return bytes.Contains(b, []byte(s))
}

func isSearch(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/search/jql") }

// dataPageHeader marks, on its way through the proxy, a search request for
// whole issues (fields=*all).
const dataPageHeader = "X-Jsync-Test-Issue-Page"

// TestHostileServerData rewrites issue search responses. Each case must end
// in a clear error or in rows kept in _jsync_rejects: never a silently
// dropped row, never an endless page loop.
func TestHostileServerData(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns jsync processes")
	}
	// Enough issues that each of a backfill's balanced time slices has a page
	// of at least as many issues as a case edits.
	sim := startSim(t, jirasim.Options{Issues: 200, Seed: 21, Rate: -1})
	expected := sim.Expected(time.Time{}).Tables["issues"]
	p := newSiteProxy(t, sim)
	st := proxySite(p)
	env := st.env()
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			dir := newWorkDir(t, st, destDuckDB)
			var (
				mu      sync.Mutex
				touched []string
				pages   int
				done    bool
			)
			p.set(func(n int64, w http.ResponseWriter, r *http.Request) bool {
				// Only issue pages (fields=*all) are rewritten, not one-issue
				// probes or id-only sweeps; mark them for the response hook.
				if isSearch(r) && requestHas(r, "*all") {
					r.Header.Set(dataPageHeader, "1")
				}
				if c.before == nil || !isSearch(r) {
					return false
				}
				body, ok := c.before(r)
				if ok {
					w.Header().Set("Content-Type", "application/json")
					_, _ = w.Write(body)
				}
				return ok
			}, func(r *http.Request, status int, body []byte) []byte {
				if !isSearch(r) || status != http.StatusOK || r.Header.Get(dataPageHeader) == "" {
					return body
				}
				mu.Lock()
				defer mu.Unlock()
				if done {
					return body
				}
				pages++
				if c.rawBody != nil {
					done = true
					return c.rawBody(body)
				}
				var page map[string]any
				if err := json.Unmarshal(body, &page); err != nil {
					t.Errorf("search page is not JSON: %v", err)
					return body
				}
				ids, fin := c.page(pages, page)
				touched, done = append(touched, ids...), fin
				out, err := json.Marshal(page)
				if err != nil {
					t.Errorf("encode page: %v", err)
					return body
				}
				return out
			})
			r := runJsyncWithin(t, 90*time.Second, dir, env, nil, "apply", "-auto-approve")
			p.set(nil, nil)
			if c.wantErr != "" {
				if r.code != 1 {
					t.Fatalf("want a failed apply (exit 1)\n%s", r)
				}
				if !regexp.MustCompile(c.wantErr).MatchString(r.stderr) {
					t.Errorf("stderr does not match %q:\n%s", c.wantErr, r.stderr)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("apply failed:\n%s", r)
			}
			assertNothingDropped(t, destDuckDB.path(dir), expected, touched, c.minRejects, c.kept)
		})
	}
}

// assertNothingDropped checks that every issue is either written or kept in
// _jsync_rejects with its raw payload and a reason.
func assertNothingDropped(t *testing.T, path string, expected int64, touched []string, minRejects int, kept []string) {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	issues := count("SELECT count(*) FROM acme.issues")
	rejectedIssues := count("SELECT count(DISTINCT key) FROM acme._jsync_rejects WHERE table_name = 'issues' AND key NOT IN (SELECT CAST(id AS VARCHAR) FROM acme.issues)")
	if issues+rejectedIssues < expected {
		t.Errorf("%d issues written and %d rejected whole, want %d: rows were dropped", issues, rejectedIssues, expected)
	}
	if n := count("SELECT count(*) FROM acme._jsync_rejects WHERE reason IS NULL OR reason = '' OR raw IS NULL OR raw = ''"); n > 0 {
		t.Errorf("%d rejects without a reason or a raw payload", n)
	}
	if n := count("SELECT count(*) FROM acme._jsync_rejects"); n < int64(minRejects) {
		t.Errorf("%d rows in _jsync_rejects, want at least %d", n, minRejects)
	}
	for _, id := range touched {
		if count("SELECT count(*) FROM acme.issues WHERE CAST(id AS VARCHAR) = ?", id)+
			count("SELECT count(*) FROM acme._jsync_rejects WHERE key = ?", id) == 0 {
			t.Errorf("issue %s was neither written nor rejected: silently dropped", id)
		}
	}
	for _, s := range kept {
		like := "%" + s + "%"
		if count("SELECT count(*) FROM acme._jsync_rejects WHERE raw LIKE ?", like)+
			count("SELECT count(*) FROM acme.issues i WHERE CAST(i AS VARCHAR) LIKE ?", like) == 0 {
			t.Errorf("value %q was lost: in neither _jsync_rejects.raw nor acme.issues", s)
		}
	}
	rows, err := db.Query("SELECT key, reason, left(raw, 120) FROM acme._jsync_rejects ORDER BY key, reason")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var key, reason, raw sql.NullString
			if rows.Scan(&key, &reason, &raw) == nil {
				t.Logf("reject %s: %s: %s", key.String, reason.String, raw.String)
			}
		}
	}
}
