package main

// Crash consistency: jsync apply runs as a separate process against a
// simulated Jira site behind a counting HTTPS proxy, is killed with SIGKILL
// when the proxy sees its k-th request, and is re-run until it succeeds. The
// result must equal an uninterrupted sync of the same data, row for row.
//
// This file also holds the harness shared by fault_test.go and
// secrets_test.go: the proxy, process runner, destination comparison and
// state readers.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/resources/jira"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// Harness credentials. The token is recognisable so that secrets tests can
// grep for it.
const (
	harnessEmail = "crash@example.com"
	harnessToken = "tok-HARNESS-5f3c9a7e1d"
)

// longMode reports whether the full-size suites run (make test-long).
func longMode() bool { return os.Getenv("JSYNC_LONG") == "1" }

// harnessSeed is the seed for kill points (JSYNC_CRASH_SEED, default 1), so
// a failing kill point can be replayed.
func harnessSeed(t *testing.T) uint64 {
	v := os.Getenv("JSYNC_CRASH_SEED")
	if v == "" {
		return 1
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("JSYNC_CRASH_SEED=%q: %v", v, err)
	}
	return n
}

// startSim starts a simulator and stops it when the test ends.
func startSim(t *testing.T, opts jirasim.Options) *jirasim.Server {
	t.Helper()
	if opts.Email == "" {
		opts.Email = harnessEmail
	}
	if opts.Token == "" {
		opts.Token = harnessToken
	}
	sim, err := jirasim.Start(opts)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// siteProxy is an HTTPS reverse proxy in front of a simulator, with its own
// certificate. It counts requests and lets a test answer or rewrite them.
type siteProxy struct {
	srv   *httptest.Server
	count atomic.Int64

	mu sync.Mutex
	// before runs for every request before it is forwarded, with its
	// 1-based number since the last reset. If it returns true it has
	// answered the request itself.
	before func(n int64, w http.ResponseWriter, r *http.Request) bool
	// modify may rewrite a forwarded response body (identity-encoded).
	modify func(r *http.Request, status int, body []byte) []byte
}

func newSiteProxy(t *testing.T, sim *jirasim.Server) *siteProxy {
	t.Helper()
	target, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	p := &siteProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			// Identity encoding, so modify sees plain JSON.
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport: sim.Client().Transport,
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			modify := p.modify
			p.mu.Unlock()
			if modify == nil {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			body = modify(resp.Request, resp.StatusCode, body)
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
			return nil
		},
		// Errors are the killed clients' cancelled requests.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.count.Add(1)
		p.mu.Lock()
		before := p.before
		p.mu.Unlock()
		if before != nil && before(n, w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	// Killed clients leave half-finished handshakes behind.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *siteProxy) URL() string { return p.srv.URL }

// CAPEM is the proxy's self-signed certificate, for a source's ca_file.
func (p *siteProxy) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
}

// set installs hooks and resets the request counter.
func (p *siteProxy) set(before func(int64, http.ResponseWriter, *http.Request) bool,
	modify func(*http.Request, int, []byte) []byte) {
	p.mu.Lock()
	p.before, p.modify = before, modify
	p.count.Store(0)
	p.mu.Unlock()
}

// site is what a jsync configuration points at: a URL and the CA to trust.
type site struct {
	URL   string
	CAPEM []byte
}

func simSite(sim *jirasim.Server) site { return site{URL: sim.URL(), CAPEM: sim.CACertPEM()} }
func proxySite(p *siteProxy) site      { return site{URL: p.URL(), CAPEM: p.CAPEM()} }
func (s site) env() []string {
	return []string{"SITE_URL=" + s.URL, "SITE_EMAIL=" + harnessEmail, "SITE_TOKEN=" + harnessToken}
}
func (s site) writeCA(t *testing.T, dir string) {
	writeFile(t, filepath.Join(dir, "site-ca.pem"), string(s.CAPEM))
}

// destKind is a destination type under test.
type destKind string

const (
	destDuckDB  destKind = "duckdb"
	destParquet destKind = "parquet"
)

// path is the destination's path inside a work dir.
func (k destKind) path(dir string) string {
	if k == destDuckDB {
		return filepath.Join(dir, "jira.duckdb")
	}
	return filepath.Join(dir, "lake")
}

// harnessConfig is a configuration syncing every table of the site (through
// env SITE_URL, SITE_EMAIL, SITE_TOKEN and ca_file site-ca.pem) into k.
func harnessConfig(k destKind) string {
	d := `destination "duckdb" "warehouse" { path = "jira.duckdb" }`
	to := "destination.duckdb.warehouse"
	if k == destParquet {
		d = "destination \"parquet\" \"lake\" {\n  path         = \"lake\"\n  partition_by = { issues = \"project_key\" }\n}"
		to = "destination.parquet.lake"
	}
	return `source "jira" "acme" {
  base_url   = env("SITE_URL")
  email      = env("SITE_EMAIL")
  api_token  = env("SITE_TOKEN")
  ca_file    = "site-ca.pem"
  start_date = "2000-01-01"
  delete_sweep_interval = "1s"
}

` + d + `

sync "acme" {
  source      = source.jira.acme
  destination = ` + to + `
}
`
}

// newWorkDir creates a directory with the configuration and the site's CA.
func newWorkDir(t *testing.T, s site, k destKind) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jsync.hcl"), harnessConfig(k))
	s.writeCA(t, dir)
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runResult is a finished jsync process.
type runResult struct {
	args           []string
	stdout, stderr string
	code           int  // exit code; -1 when killed by a signal
	killed         bool // ended by SIGKILL
}

func (r runResult) String() string {
	return fmt.Sprintf("jsync %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// runTimeout bounds one jsync process: a page loop that never ends fails
// the test instead of hanging it.
const runTimeout = 3 * time.Minute

// runJsync runs jsync in dir with extra environment and waits for it. If
// started is set, it receives the process right after it starts.
func runJsync(t *testing.T, dir string, env []string, started func(*os.Process), args ...string) runResult {
	t.Helper()
	return runJsyncWithin(t, runTimeout, dir, env, started, args...)
}

// runJsyncWithin is runJsync with a timeout.
func runJsyncWithin(t *testing.T, timeout time.Duration, dir string, env []string, started func(*os.Process), args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := jsyncCommand(ctx, dir, args...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start jsync %v: %v", args, err)
	}
	if started != nil {
		started(cmd.Process)
	}
	err := cmd.Wait()
	res := runResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.killed = ws.Signal() == syscall.SIGKILL
		}
	default:
		t.Fatalf("run jsync %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("jsync %v did not finish within %s (endless loop?)\n%s", args, timeout, res)
	}
	if !res.killed {
		assertNoPanic(t, res)
	}
	return res
}

// assertNoPanic fails when a process printed a panic or a stack trace.
func assertNoPanic(t *testing.T, r runResult) {
	t.Helper()
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") {
			t.Errorf("jsync %v printed a panic or stack trace:\n%s", r.args, r)
		}
	}
}

// applyUntilSuccess re-runs `apply -auto-approve [args]` until it exits 0,
// at most attempts times, and returns the runs.
func applyUntilSuccess(t *testing.T, dir string, env []string, attempts int, args ...string) []runResult {
	t.Helper()
	var runs []runResult
	for i := 0; i < attempts; i++ {
		r := runJsync(t, dir, env, nil, append([]string{"apply", "-auto-approve"}, args...)...)
		runs = append(runs, r)
		if r.code == 0 {
			return runs
		}
		t.Logf("apply attempt %d failed (re-running):\n%s", i+1, r)
	}
	t.Fatalf("apply did not succeed in %d attempts; last:\n%s", attempts, runs[len(runs)-1])
	return runs
}

// readState reads a table's committed state with `jsync state show`; a
// table never synced has the zero state.
func readState(t *testing.T, dir string, env []string, table string) state.TableState {
	t.Helper()
	r := runJsync(t, dir, env, nil, "state", "show", "sync.acme."+table)
	if r.code != 0 && strings.Contains(r.stderr, "it has never been synced") {
		return state.TableState{Sync: "acme", Table: table}
	}
	if r.code != 0 {
		t.Fatalf("state show:\n%s", r)
	}
	var st state.TableState
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("state show: decode %q: %v", r.stdout, err)
	}
	return st
}

// --- comparing destinations ---

// excludedColumns differ between runs by design.
var excludedColumns = map[string]bool{schema.ColSyncedAt: true}

// orderDependent are columns whose value depends on the order in which a
// run reads pages, so a resumed run may legitimately differ from an
// uninterrupted one: issue_links.issue_id is "the issue whose payload the
// link was last read from" (a link is embedded in both its issues).
var orderDependent = map[string]map[string]bool{"issue_links": {"issue_id": true}}

// snapshotDB is an in-memory DuckDB where each side (ref, got) exposes the
// tables of namespace acme as views side_<table>. Close it before jsync
// opens the files again: an attached DuckDB file is locked.
type snapshotDB struct {
	db     *sql.DB
	tables map[string]map[string]bool // side → tables
}

func openSnapshots(t *testing.T, k destKind, sides map[string]string) *snapshotDB {
	return openSnapshotsOf(t, k, sides, nil)
}

// openSnapshotsOf is openSnapshots for the tables keep accepts (nil: all).
func openSnapshotsOf(t *testing.T, k destKind, sides map[string]string, keep func(table string) bool) *snapshotDB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	s := &snapshotDB{db: db, tables: map[string]map[string]bool{}}
	s.exec(t, "SET TimeZone = 'UTC'")
	for side, path := range sides {
		s.tables[side] = map[string]bool{}
		switch k {
		case destDuckDB:
			s.exec(t, fmt.Sprintf("ATTACH %s AS %s (READ_ONLY)", sqlString(path), side))
			for _, name := range s.strings(t, "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'acme'", side) {
				if keep != nil && !keep(name) {
					continue
				}
				s.tables[side][name] = true
				s.exec(t, fmt.Sprintf("CREATE VIEW %s AS SELECT * FROM %s.acme.%s", ident(side+"_"+name), side, ident(name)))
			}
		case destParquet:
			ents, err := os.ReadDir(filepath.Join(path, "acme"))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			for _, e := range ents {
				if !e.IsDir() || (keep != nil && !keep(e.Name())) {
					continue
				}
				glob := filepath.Join(path, "acme", e.Name(), "**", "*.parquet")
				if m, _ := filepath.Glob(filepath.Join(path, "acme", e.Name(), "*.parquet")); len(m) == 0 {
					if m, _ := filepath.Glob(filepath.Join(path, "acme", e.Name(), "*", "*.parquet")); len(m) == 0 {
						continue // a table without files has no rows
					}
				}
				s.tables[side][e.Name()] = true
				// Read each table once: the comparison queries it often.
				s.exec(t, fmt.Sprintf("CREATE TABLE %s AS SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true)",
					ident(side+"_"+e.Name()), sqlString(glob)))
			}
		}
	}
	return s
}

func (s *snapshotDB) Close() { s.db.Close() }

func (s *snapshotDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (s *snapshotDB) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := s.db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v sql.NullString
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (s *snapshotDB) int(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n sql.NullInt64
	if err := s.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n.Int64
}

// columns lists a side's table columns, without the excluded ones.
func (s *snapshotDB) columns(t *testing.T, side, table string) []string {
	t.Helper()
	var out []string
	for _, c := range s.strings(t, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+ident(side+"_"+table)+")") {
		if !excludedColumns[c] && !orderDependent[table][c] {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

// rowCount counts a side's rows; a missing table has none.
func (s *snapshotDB) rowCount(t *testing.T, side, table string) int64 {
	if !s.tables[side][table] {
		return 0
	}
	return s.int(t, "SELECT count(*) FROM "+ident(side+"_"+table))
}

// selectList casts each column to VARCHAR so that every type (lists,
// structs, JSON) compares the same way, with the site's address made
// neutral; _jsync_deleted_at compares as deleted or not.
func selectList(cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		// Each simulator has its own port, which shows in self links.
		parts[i] = "regexp_replace(CAST(" + ident(c) + " AS VARCHAR), 'https://127\\.0\\.0\\.1:[0-9]+', 'https://site', 'g') AS " + ident(c)
		if c == schema.ColDeletedAt {
			// When a deletion was detected depends on the run; whether
			// it was does not.
			parts[i] = "CAST(" + ident(c) + " IS NOT NULL AS VARCHAR) AS " + ident(c)
		}
	}
	return strings.Join(parts, ", ")
}

// diffTable counts rows of a not in b and of b not in a (multiset), over
// cols, optionally restricted by where.
func (s *snapshotDB) diffTable(t *testing.T, table string, cols []string, where string) (onlyRef, onlyGot int64, sample string) {
	t.Helper()
	if where != "" {
		where = " WHERE " + where
	}
	sel := selectList(cols)
	ref := "SELECT " + sel + " FROM " + ident("ref_"+table) + where
	got := "SELECT " + sel + " FROM " + ident("got_"+table) + where
	onlyRef = s.int(t, "SELECT count(*) FROM ("+ref+" EXCEPT ALL "+got+")")
	onlyGot = s.int(t, "SELECT count(*) FROM ("+got+" EXCEPT ALL "+ref+")")
	if onlyRef+onlyGot > 0 {
		rows := s.strings(t, "SELECT CAST(x AS VARCHAR) FROM (SELECT 'missing' AS side, * FROM ("+ref+" EXCEPT ALL "+got+
			") UNION ALL SELECT 'extra' AS side, * FROM ("+got+" EXCEPT ALL "+ref+")) x LIMIT 4")
		sample = strings.Join(rows, "\n")
	}
	return onlyRef, onlyGot, sample
}

// compareDestinations fails unless every table of got equals ref row for
// row (EXCEPT ALL both ways, without run-dependent columns), and no table
// has a duplicated primary key.
func compareDestinations(t *testing.T, k destKind, refPath, gotPath string) {
	t.Helper()
	s := openSnapshots(t, k, map[string]string{"ref": refPath, "got": gotPath})
	defer s.Close()
	names := map[string]bool{}
	for side := range s.tables {
		for n := range s.tables[side] {
			names[n] = true
		}
	}
	if len(names) == 0 {
		t.Fatalf("no tables in %s or %s", refPath, gotPath)
	}
	for _, name := range sortedNames(names) {
		if !s.tables["ref"][name] || !s.tables["got"][name] {
			if rc, gc := s.rowCount(t, "ref", name), s.rowCount(t, "got", name); rc != gc {
				t.Errorf("table %s: %d rows in the reference, %d after the crash", name, rc, gc)
			}
			continue
		}
		refCols, gotCols := s.columns(t, "ref", name), s.columns(t, "got", name)
		if !slices.Equal(refCols, gotCols) {
			t.Errorf("table %s: columns differ:\nref %v\ngot %v", name, refCols, gotCols)
			continue
		}
		if onlyRef, onlyGot, sample := s.diffTable(t, name, refCols, ""); onlyRef+onlyGot > 0 {
			t.Errorf("table %s: %d reference rows missing, %d extra rows (lost or duplicated); e.g.\n%s", name, onlyRef, onlyGot, sample)
		}
	}
	for _, tb := range jira.Tables() {
		for _, side := range []string{"ref", "got"} {
			if !s.tables[side][tb.Name] || len(tb.PrimaryKey()) == 0 {
				continue
			}
			pk := identList(tb.PrimaryKey())
			if n := s.int(t, "SELECT count(*) FROM (SELECT "+pk+" FROM "+ident(side+"_"+tb.Name)+" GROUP BY ALL HAVING count(*) > 1)"); n > 0 {
				t.Errorf("%s table %s: %d duplicated primary keys", side, tb.Name, n)
			}
		}
	}
}

// assertCursorCovered checks that the issues cursor does not point past
// unwritten rows: every reference issue updated before the cursor, and the
// rows of issues' child tables that belong to those issues, are in got.
func assertCursorCovered(t *testing.T, k destKind, cursor, refPath, gotPath string) {
	t.Helper()
	if cursor == "" {
		return
	}
	c, err := time.Parse(time.RFC3339Nano, cursor)
	if err != nil {
		t.Fatalf("issues cursor %q is not RFC 3339: %v", cursor, err)
	}
	s := openSnapshotsOf(t, k, map[string]string{"ref": refPath, "got": gotPath}, func(name string) bool {
		tb := jira.TableByName(name)
		return name == jira.TableIssues || (tb != nil && tb.Parent == jira.TableIssues)
	})
	defer s.Close()
	if !s.tables["got"]["issues"] {
		t.Fatalf("issues cursor %s committed but no issues table was written", cursor)
	}
	covered := fmt.Sprintf("updated < TIMESTAMPTZ %s", sqlString(c.UTC().Format("2006-01-02 15:04:05.999999+00")))
	var maxUpdated sql.NullString
	if err := s.db.QueryRow("SELECT CAST(max(updated) AS VARCHAR) FROM got_issues").Scan(&maxUpdated); err != nil {
		t.Fatal(err)
	}
	if n := s.int(t, "SELECT count(*) FROM got_issues WHERE updated >= TIMESTAMPTZ "+sqlString(c.UTC().Format("2006-01-02 15:04:05.999999+00"))); n == 0 {
		t.Errorf("issues cursor %s is past every written issue (max updated %s)", cursor, maxUpdated.String)
	}
	// Deletions are detected by a separate sweep, not covered by the cursor.
	withoutDeleted := func(cols []string) []string {
		return slices.DeleteFunc(cols, func(c string) bool { return c == schema.ColDeletedAt })
	}
	cols := withoutDeleted(s.columns(t, "ref", "issues"))
	if onlyRef, _, sample := s.diffTable(t, "issues", cols, covered); onlyRef > 0 {
		t.Errorf("issues cursor %s points past %d unwritten issues; e.g.\n%s", cursor, onlyRef, sample)
	}
	for _, tb := range jira.Tables() {
		if tb.Parent != jira.TableIssues || !s.tables["ref"][tb.Name] || !slices.Contains(s.columns(t, "ref", tb.Name), "issue_id") {
			continue
		}
		if !s.tables["got"][tb.Name] {
			if n := s.int(t, "SELECT count(*) FROM ref_"+tb.Name+" WHERE issue_id IN (SELECT id FROM ref_issues WHERE "+covered+")"); n > 0 {
				t.Errorf("issues cursor %s covers %d %s rows that were never written", cursor, n, tb.Name)
			}
			continue
		}
		where := "issue_id IN (SELECT CAST(id AS VARCHAR) FROM ref_issues WHERE " + covered + ")"
		if orderDependent[tb.Name]["issue_id"] {
			// The row may have been read from its other issue: look it
			// up by primary key in the whole table.
			pk := identList(tb.PrimaryKey())
			q := "SELECT count(*) FROM (SELECT " + pk + " FROM ref_" + tb.Name + " WHERE " + where + " EXCEPT SELECT " + pk + " FROM got_" + tb.Name + ")"
			if n := s.int(t, q); n > 0 {
				t.Errorf("issues cursor %s covers %d unwritten %s rows", cursor, n, tb.Name)
			}
			continue
		}
		if onlyRef, _, sample := s.diffTable(t, tb.Name, withoutDeleted(s.columns(t, "ref", tb.Name)), where); onlyRef > 0 {
			t.Errorf("issues cursor %s covers %d unwritten %s rows; e.g.\n%s", cursor, onlyRef, tb.Name, sample)
		}
	}
}

func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func identList(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = ident(c)
	}
	return strings.Join(out, ", ")
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// --- the crash test ---

// manualClock is a simulator clock that moves only when told, so that
// separate simulators with the same seed serve identical data, mutations
// included.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock(start time.Time) *manualClock { return &manualClock{t: start} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// crashSim is the simulated site of the crash suite: enough issues for
// several pages, small caps so that some issues need their own comment,
// changelog and worklog pages. Every call with the same epoch serves the
// same data.
func crashSim(t *testing.T, epoch time.Time) (*jirasim.Server, *manualClock) {
	issues := 60
	if longMode() {
		issues = 200
	}
	clock := newManualClock(epoch)
	sim := startSim(t, jirasim.Options{Issues: issues, Seed: 11, Rate: -1, Now: clock.Now,
		Caps: jirasim.Caps{Comments: 3, Histories: 4, Worklogs: 3}})
	return sim, clock
}

// crashMutate changes the site the same way every time: updates, new
// comments and worklogs, a deleted issue and worklog, a moved issue.
func crashMutate(t *testing.T, sim *jirasim.Server, clock *manualClock) {
	t.Helper()
	clock.Advance(10 * time.Minute)
	if _, err := sim.Mutate(jirasim.Mutation{Update: 6, Comment: 4, Worklog: 4, DeleteIssues: 1, DeleteWorklogs: 1, MoveIssues: 1}); err != nil {
		t.Fatal(err)
	}
	// worklog/updated hides the last minute, as Jira does.
	clock.Advance(5 * time.Minute)
}

// killPoints returns n request numbers in [1, total], one drawn from each of
// n equal strata, deterministic by seed.
func killPoints(seed uint64, n int, total int64) []int64 {
	rng := rand.New(rand.NewPCG(seed, 0x6a73796e63))
	out := make([]int64, n)
	for i := range out {
		lo := 1 + int64(i)*total/int64(n)
		hi := int64(i+1) * total / int64(n)
		if hi < lo {
			hi = lo
		}
		out[i] = lo + rng.Int64N(hi-lo+1)
	}
	return out
}

// TestCrashConsistency kills apply at request boundaries spread over a
// first (full) sync and over an incremental sync after changes, then
// re-runs it until it succeeds and compares with uninterrupted syncs.
func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns many jsync processes")
	}
	// In parallel with the fault tests, which mostly wait for retries.
	t.Parallel()
	full, incremental := 2, 2
	if longMode() {
		full, incremental = 12, 10
	}
	seed := harnessSeed(t)
	epoch := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	for _, k := range []destKind{destDuckDB, destParquet} {
		t.Run(string(k), func(t *testing.T) {
			sim, clock := crashSim(t, epoch)
			p := newSiteProxy(t, sim)
			st := proxySite(p)
			env := st.env()

			// The uninterrupted first sync, which also measures the number
			// of requests a run makes.
			ref1 := newWorkDir(t, st, k)
			total := measuredApply(t, p, ref1, env)
			assertExpectedCounts(t, k, sim, k.path(ref1))
			cursor1 := readState(t, ref1, env, jira.TableIssues).Cursor
			for i, at := range killPoints(seed, full, total) {
				t.Run(fmt.Sprintf("full/kill%02d_at_request_%d", i, at), func(t *testing.T) {
					crashAndRecover(t, p, k, newWorkDir(t, st, k), env, at, k.path(ref1), cursor1)
				})
			}

			// The uninterrupted incremental sync after changes, from a copy
			// of the first sync.
			ref2 := t.TempDir()
			copyTree(t, ref1, ref2)
			crashMutate(t, sim, clock)
			total = measuredApply(t, p, ref2, env, "-force")
			cursor2 := readState(t, ref2, env, jira.TableIssues).Cursor
			if cursor2 <= cursor1 {
				t.Fatalf("the incremental reference sync did not advance the issues cursor (%q, then %q)", cursor1, cursor2)
			}
			for i, at := range killPoints(seed+1, incremental, total) {
				t.Run(fmt.Sprintf("incremental/kill%02d_at_request_%d", i, at), func(t *testing.T) {
					// A site of its own with the same data and changes.
					simK, clockK := crashSim(t, epoch)
					crashMutate(t, simK, clockK)
					pK := newSiteProxy(t, simK)
					dir := t.TempDir()
					copyTree(t, ref1, dir)
					proxySite(pK).writeCA(t, dir)
					crashAndRecover(t, pK, k, dir, proxySite(pK).env(), at, k.path(ref2), cursor2, "-force")
				})
			}
		})
	}
}

// measuredApply runs an uninterrupted apply and returns its request count.
func measuredApply(t *testing.T, p *siteProxy, dir string, env []string, args ...string) int64 {
	t.Helper()
	p.set(nil, nil)
	start := time.Now()
	if r := runJsync(t, dir, env, nil, append([]string{"apply", "-auto-approve"}, args...)...); r.code != 0 {
		t.Fatalf("reference apply failed:\n%s", r)
	}
	total := p.count.Load()
	t.Logf("reference apply %v: %d requests in %s", args, total, time.Since(start).Round(time.Millisecond))
	return total
}

// crashAndRecover kills apply in dir at request at, checks the committed
// cursor, re-runs apply until it succeeds and compares with ref.
func crashAndRecover(t *testing.T, p *siteProxy, k destKind, dir string, env []string, at int64, ref, refCursor string, args ...string) {
	t.Helper()
	start := time.Now()
	since := func() time.Duration { return time.Since(start).Round(time.Millisecond) }
	killed := arm(p, at)
	first := runJsync(t, dir, env, killed.started, append([]string{"apply", "-auto-approve"}, args...)...)
	p.set(nil, nil)
	if !first.killed {
		t.Logf("the run ended before request %d:\n%s", at, first)
	}
	// Right after the crash, the committed cursor must not point past
	// unwritten rows.
	if _, err := os.Stat(k.path(dir)); err == nil {
		st := readState(t, dir, env, jira.TableIssues)
		t.Logf("%s: issues cursor after the crash: %q", since(), st.Cursor)
		assertCursorCovered(t, k, st.Cursor, ref, k.path(dir))
	}
	runs := applyUntilSuccess(t, dir, env, 4, args...)
	t.Logf("%s: recovered in %d runs", since(), len(runs))
	compareDestinations(t, k, ref, k.path(dir))
	t.Logf("%s: compared", since())
	if final := readState(t, dir, env, jira.TableIssues); final.Cursor != refCursor {
		t.Errorf("issues cursor after recovery %q, reference %q", final.Cursor, refCursor)
	}
}

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// killer SIGKILLs a process when the proxy sees request number at.
type killer struct {
	mu    sync.Mutex
	ready chan struct{}
	proc  *os.Process
}

func (k *killer) started(p *os.Process) {
	k.mu.Lock()
	k.proc = p
	k.mu.Unlock()
	close(k.ready)
}

// arm makes the proxy kill the next started process at request at. The
// request is not forwarded: the process dies waiting for its answer.
func arm(p *siteProxy, at int64) *killer {
	k := &killer{ready: make(chan struct{})}
	p.set(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n < at {
			return false
		}
		<-k.ready
		k.mu.Lock()
		if n == at && k.proc != nil {
			_ = k.proc.Signal(syscall.SIGKILL)
		}
		k.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
		return true
	}, nil)
	return k
}

// assertExpectedCounts checks a clean sync against the simulator's own
// row counts.
func assertExpectedCounts(t *testing.T, k destKind, sim *jirasim.Server, path string) {
	t.Helper()
	s := openSnapshots(t, k, map[string]string{"ref": path})
	defer s.Close()
	exp := sim.Expected(time.Time{})
	for _, name := range sortedNames(exp.Tables) {
		if got := s.rowCount(t, "ref", name); got != exp.Tables[name] {
			t.Errorf("clean sync: table %s has %d rows, the simulator expects %d", name, got, exp.Tables[name])
		}
	}
}
