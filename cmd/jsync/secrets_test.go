package main

// Secrets never leave jsync: every command runs with recognisable
// credentials, and every output and file is searched for them.

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

const (
	secretToken = "tok-SECRETTEST-8b1f0c2d77"
	secretPAT   = "pat-SECRETTEST-4e9a13c5bb"
)

// secretForms are the strings that must never appear: the raw secrets and
// the Authorization header forms that carry them.
func secretForms() []string {
	basic := base64.StdEncoding.EncodeToString([]byte(harnessEmail + ":" + secretToken))
	return []string{secretToken, secretPAT, basic, "Bearer " + secretPAT}
}

// secretsConfig reads the Cloud token from a sensitive variable and syncs
// into both a DuckDB file and a Parquet directory.
const secretsConfig = `variable "jira_token" {
  sensitive = true
}

source "jira" "acme" {
  base_url   = env("SITE_URL")
  email      = env("SITE_EMAIL")
  api_token  = var.jira_token
  ca_file    = "site-ca.pem"
  start_date = "2000-01-01"
}

destination "duckdb" "warehouse" { path = "jira.duckdb" }
destination "parquet" "lake" { path = "lake" }

sync "acme" {
  source      = source.jira.acme
  destination = destination.duckdb.warehouse
}

sync "lake" {
  source      = source.jira.acme
  destination = destination.parquet.lake
  tables      = ["projects", "issues", "issue_comments"]
}
`

// secretsDCConfig reads a Data Center PAT from the environment.
const secretsDCConfig = `source "jira" "dc" {
  base_url              = env("SITE_URL")
  personal_access_token = env("JIRA_PAT")
  ca_file               = "site-ca.pem"
  start_date            = "2000-01-01"
}

destination "duckdb" "warehouse" { path = "jira.duckdb" }

sync "dc" {
  source      = source.jira.dc
  destination = destination.duckdb.warehouse
}
`

// echoingProxy answers one endpoint with status and a body that echoes the
// request's credentials, as some proxies and old Jira versions do.
func echoingProxy(p *siteProxy, pathSuffix string, status int) {
	p.set(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, pathSuffix) {
			return false
		}
		auth := r.Header.Get("Authorization")
		raw := ""
		if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic ")); err == nil {
			raw = string(b)
		}
		writeJSONBody(w, status, map[string]any{
			"errorMessages": []string{"Bad request " + r.Method + " " + r.URL.String() + " with Authorization: " + auth + " (" + raw + ")"},
			"errors":        map[string]any{"token": strings.TrimPrefix(strings.TrimPrefix(auth, "Basic "), "Bearer ")},
		})
		return true
	}, nil)
}

func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns jsync processes")
	}
	cloud := startSim(t, jirasim.Options{Issues: 15, Seed: 4, Rate: -1, Token: secretToken})
	dc := startSim(t, jirasim.Options{Issues: 10, Seed: 4, Rate: -1, Flavor: jirasim.FlavorDataCenter, PAT: secretPAT})

	var outputs []runResult
	run := func(dir string, env []string, wantCode int, args ...string) runResult {
		t.Helper()
		r := runJsync(t, dir, env, nil, args...)
		outputs = append(outputs, r)
		if wantCode >= 0 && r.code != wantCode {
			t.Errorf("want exit %d:\n%s", wantCode, r)
		}
		return r
	}

	// Cloud, through a sensitive variable, every command.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jsync.hcl"), secretsConfig)
	s := simSite(cloud)
	s.writeCA(t, dir)
	env := append(s.env(), "JSYNC_VAR_jira_token="+secretToken)
	run(dir, env, 0, "validate")
	run(dir, env, 0, "plan")
	run(dir, env, 0, "plan", "-json")
	run(dir, env, 0, "plan", "-out=saved.plan")
	run(dir, env, 0, "apply", "saved.plan")
	run(dir, env, 0, "apply", "-auto-approve", "-force")
	run(dir, env, 0, "state", "list")
	run(dir, env, 0, "state", "show", "sync.acme.issues")
	run(dir, env, 0, "graph")
	run(dir, env, 0, "tables")
	run(dir, env, 0, "tables", "issues")
	run(dir, env, 0, "query", "jira.duckdb", "select key, summary from acme.issues limit 3")
	run(dir, env, 0, "query", "jira.duckdb", "select * from _jsync.runs")
	// The token given with -var instead of the environment.
	run(dir, s.env(), 0, "plan", "-var", "jira_token="+secretToken)

	// A sensitive value in a configuration error reads "(sensitive)".
	bad := t.TempDir()
	writeFile(t, filepath.Join(bad, "jsync.hcl"), strings.Replace(secretsConfig, `start_date = "2000-01-01"`, `start_date = var.jira_token`, 1))
	s.writeCA(t, bad)
	r := run(bad, env, 1, "validate")
	if !strings.Contains(r.stderr, "(sensitive)") {
		t.Errorf("a configuration error about a sensitive variable does not show it as (sensitive):\n%s", r)
	}

	// A failing apply whose HTTP error body echoes the request.
	p := newSiteProxy(t, cloud)
	echoDir := t.TempDir()
	writeFile(t, filepath.Join(echoDir, "jsync.hcl"), secretsConfig)
	ps := proxySite(p)
	ps.writeCA(t, echoDir)
	echoingProxy(p, "/project/search", http.StatusBadRequest)
	r = run(echoDir, append(ps.env(), "JSYNC_VAR_jira_token="+secretToken), 1, "apply", "-auto-approve")
	if !strings.Contains(r.stderr, "HTTP 400") {
		t.Errorf("the echoing endpoint's error is not reported:\n%s", r)
	}
	if longMode() {
		// A retried status: every retry logs a warning with the error.
		echoingProxy(p, "/project/search", http.StatusServiceUnavailable)
		r = run(echoDir, append(ps.env(), "JSYNC_VAR_jira_token="+secretToken), 1, "apply", "-auto-approve", "-force")
		if !strings.Contains(r.stderr, "retrying") || !strings.Contains(r.stderr, "HTTP 503") {
			t.Errorf("the retried echoing endpoint is not logged and reported:\n%s", r)
		}
	}

	// Data Center with a PAT from the environment.
	dcDir := t.TempDir()
	writeFile(t, filepath.Join(dcDir, "jsync.hcl"), secretsDCConfig)
	ds := simSite(dc)
	ds.writeCA(t, dcDir)
	dcEnv := append(ds.env(), "JIRA_PAT="+secretPAT)
	run(dcDir, dcEnv, 0, "validate")
	run(dcDir, dcEnv, 0, "apply", "-auto-approve")
	run(dcDir, dcEnv, 0, "state", "list")
	pdc := newSiteProxy(t, dc)
	dcEcho := t.TempDir()
	writeFile(t, filepath.Join(dcEcho, "jsync.hcl"), secretsDCConfig)
	pds := proxySite(pdc)
	pds.writeCA(t, dcEcho)
	echoingProxy(pdc, "/project", http.StatusBadRequest)
	run(dcEcho, append(pds.env(), "JIRA_PAT="+secretPAT), 1, "apply", "-auto-approve")

	for _, r := range outputs {
		for _, sec := range secretForms() {
			if strings.Contains(r.stdout, sec) || strings.Contains(r.stderr, sec) {
				t.Errorf("secret %q printed by jsync %v:\n%s", sec, r.args, r)
			}
		}
	}
	for _, d := range []string{dir, bad, echoDir, dcDir, dcEcho} {
		assertNoSecretInFiles(t, d)
	}
	for _, d := range []string{dir, echoDir, dcDir, dcEcho} {
		if _, err := os.Stat(filepath.Join(d, "jira.duckdb")); err == nil {
			assertNoSecretInDuckDB(t, filepath.Join(d, "jira.duckdb"))
		}
	}
	assertNoSecretInParquet(t, filepath.Join(dir, "lake"))
	if n := duckCount(t, filepath.Join(dir, "jira.duckdb"), "SELECT count(*) FROM _jsync.runs"); n == 0 {
		t.Errorf("_jsync.runs is empty: the runs were not recorded, so the check above proves nothing")
	}
}

// assertNoSecretInFiles greps every file under dir (plan files, the DuckDB
// file and its WAL, Parquet files, manifests, run logs) for the secrets.
func assertNoSecretInFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, sec := range secretForms() {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("secret %q found in %s", sec, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoSecretInDuckDB searches every text column of every table,
// _jsync.state and _jsync.runs included: DuckDB compresses strings, so a
// byte grep of the file alone proves nothing.
func assertNoSecretInDuckDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal")
	if err != nil {
		t.Fatal(err)
	}
	var tables [][2]string
	for rows.Next() {
		var s, n string
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, [2]string{s, n})
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatalf("%s has no tables", path)
	}
	for _, tb := range tables {
		from := ident(tb[0]) + "." + ident(tb[1])
		searchRows(t, db, path+" "+from, from)
	}
}

// assertNoSecretInParquet searches every Parquet file's rows.
func assertNoSecretInParquet(t *testing.T, root string) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var files []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no Parquet files under %s", root)
	}
	for _, f := range files {
		searchRows(t, db, f, "read_parquet("+sqlString(f)+")")
	}
}

// searchRows fails if any row of from, rendered as text, holds a secret.
func searchRows(t *testing.T, db *sql.DB, what, from string) {
	t.Helper()
	for _, sec := range secretForms() {
		var n int64
		q := fmt.Sprintf("SELECT count(*) FROM %s AS x WHERE CAST(x AS VARCHAR) LIKE %s", from, sqlString("%"+sec+"%"))
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			t.Errorf("secret %q found in %d rows of %s", sec, n, what)
		}
	}
}
