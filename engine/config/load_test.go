package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func TestLoadValidFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/valid/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no valid fixtures: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, diags := LoadFiles([]string{p}, testOptions())
			if len(diags) > 0 {
				t.Fatalf("unexpected diagnostics:%s", summaries(diags))
			}
			if len(cfg.Syncs) == 0 {
				t.Error("no syncs loaded")
			}
			if !strings.HasPrefix(cfg.Digest, "sha256:") {
				t.Errorf("digest = %q", cfg.Digest)
			}
		})
	}
}

func TestLoadFull(t *testing.T) {
	cfg, diags := LoadFiles([]string{"testdata/valid/full.hcl"}, testOptions())
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", summaries(diags))
	}
	acme := cfg.Sources["jira.acme"]
	wantAcme := &Source{
		Type: "jira", Name: "acme", DeclRange: acme.DeclRange,
		BaseURL: "https://acme.atlassian.net", Email: "bot@acme.example", APIToken: "var-token-ABCDEFGHIJ",
		StartDate: time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC), Projects: []string{"ENG", "OPS"},
		RateLimit: 10, Concurrency: 4, DeleteSweepInterval: 24 * time.Hour,
	}
	if !reflect.DeepEqual(acme, wantAcme) {
		t.Errorf("source acme =\n%+v\nwant\n%+v", acme, wantAcme)
	}
	if acme.Auth() != "cloud" || acme.Addr().String() != "source.jira.acme" {
		t.Errorf("acme auth %q addr %s", acme.Auth(), acme.Addr())
	}
	if acme.DeclRange.Start.Line != 22 {
		t.Errorf("acme DeclRange = %s, want line 22", acme.DeclRange)
	}

	dc := cfg.Sources["jira.dc"]
	if dc.PAT != "fallback-pat-value" || dc.Auth() != "pat" || dc.CAFile != filepath.Join("testdata/valid", "certs/ca.pem") {
		t.Errorf("source dc = %+v", dc)
	}
	if want := time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC); !dc.StartDate.Equal(want) {
		t.Errorf("dc start date = %s, want %s", dc.StartDate, want)
	}

	demo := cfg.Sources["jira.demo"]
	wantSim := &Simulator{Issues: 2000, Seed: 1, Flavor: "datacenter", Caps: map[string]int{"comments": 20, "worklogs": 5}, TZ: "Europe/Berlin"}
	if !reflect.DeepEqual(demo.Simulator, wantSim) || demo.Auth() != "" {
		t.Errorf("simulator = %+v, want %+v", demo.Simulator, wantSim)
	}

	wh := cfg.Destinations["duckdb.warehouse"]
	if wh.Path != filepath.Join("testdata/valid", "jira.duckdb") || wh.Schema != "jira_raw" || wh.StorageVersion != "v1.1.0" || wh.Addr().String() != "destination.duckdb.warehouse" {
		t.Errorf("warehouse = %+v", wh)
	}
	lake := cfg.Destinations["parquet.lake"]
	if lake.Compression != "zstd" || !reflect.DeepEqual(lake.PartitionBy, map[string]string{"issues": "project_key"}) {
		t.Errorf("lake = %+v", lake)
	}

	s := cfg.Syncs["acme"]
	if s.Source != acme || s.Destination != wh {
		t.Errorf("sync acme refs = %v, %v", s.Source, s.Destination)
	}
	if !reflect.DeepEqual(s.Tables, []string{"issues", "issue_comments", "worklogs", "projects"}) {
		t.Errorf("tables = %v", s.Tables)
	}
	if !reflect.DeepEqual(s.Columns, map[string][]string{"issues": {"id", "key", "summary", "status", "story_points"}}) {
		t.Errorf("columns = %v", s.Columns)
	}
	if s.Schedule.Every != time.Hour || s.Schedule.String() != "1h" {
		t.Errorf("schedule = %+v", s.Schedule)
	}
	if !s.Selects("issues") || s.Selects("users") {
		t.Error("Selects is wrong")
	}
	if d := cfg.Syncs["dc"]; d.Schedule.Cron != "30 2 * * *" || !reflect.DeepEqual(d.DependsOn, []string{"acme"}) {
		t.Errorf("sync dc = %+v", d)
	}
	if d := cfg.Syncs["demo"]; d.Schedule.String() != DefaultSchedule || len(d.Tables) != 0 || !d.Selects("users") ||
		!reflect.DeepEqual(d.DependsOn, []string{"acme", "dc"}) {
		t.Errorf("sync demo = %+v", d)
	}

	v := cfg.Variables["jira_token"]
	if !v.Sensitive || v.Description != "Jira Cloud API token" || v.Value.AsString() != "var-token-ABCDEFGHIJ" || v.Value.IsMarked() {
		t.Errorf("variable jira_token = %+v", v)
	}
	for _, secret := range []string{"var-token-ABCDEFGHIJ", "fallback-pat-value"} {
		if !contains(cfg.Sensitive, secret) {
			t.Errorf("Sensitive lacks %q: %q", secret, cfg.Sensitive)
		}
	}
	if contains(cfg.Sensitive, "bot@acme.example") {
		t.Error("the email is not a secret")
	}
	if cfg.Files["testdata/valid/full.hcl"] == nil {
		t.Errorf("Files = %v", cfg.Files)
	}
}

func TestVariablePrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "n" { type = number }
variable "l" { type = list(string) }
`,
		"one.vars.hcl": "b = \"file1\"\nc = \"file1\"\n",
		"two.vars.hcl": "c = \"file2\"\n",
	})
	env := map[string]string{"JSYNC_VAR_a": "env", "JSYNC_VAR_b": "env", "JSYNC_VAR_n": "42", "JSYNC_VAR_l": `["x", "y"]`}
	opts := LoadOptions{
		Getenv:   func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		VarFiles: []string{filepath.Join(dir, "one.vars.hcl"), filepath.Join(dir, "two.vars.hcl")},
		Vars:     map[string]string{"d": "cli"},
	}
	// The vars files are not *.hcl config: load only main.hcl.
	cfg, diags := LoadFiles([]string{filepath.Join(dir, "main.hcl")}, opts)
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", summaries(diags))
	}
	want := map[string]string{"a": "env", "b": "file1", "c": "file2", "d": "cli"}
	for name, w := range want {
		if got := cfg.Variables[name].Value.AsString(); got != w {
			t.Errorf("var.%s = %q, want %q", name, got, w)
		}
	}
	if n, _ := cfg.Variables["n"].Value.AsBigFloat().Int64(); n != 42 {
		t.Errorf("var.n = %v", cfg.Variables["n"].Value)
	}
	if l := cfg.Variables["l"].Value; l.LengthInt() != 2 {
		t.Errorf("var.l = %#v", l)
	}
}

func TestDigest(t *testing.T) {
	src := `
variable "token" { sensitive = true }
variable "site" { default = "acme" }
source "jira" "a" {
  base_url  = "https://${var.site}.atlassian.net"
  email     = "a@b.c"
  api_token = var.token
}
destination "duckdb" "w" { path = "x.duckdb" }
sync "a" {
  source      = source.jira.a
  destination = destination.duckdb.w
}
`
	dir := writeFiles(t, map[string]string{"main.hcl": src})
	digest := func(vars map[string]string) string {
		t.Helper()
		cfg, diags := LoadDir(dir, LoadOptions{Vars: vars})
		if diags.HasErrors() {
			t.Fatalf("diagnostics:%s", summaries(diags))
		}
		if strings.Contains(cfg.Digest, "secret") {
			t.Fatal("digest leaks")
		}
		return cfg.Digest
	}
	base := digest(map[string]string{"token": "secret-one"})
	if again := digest(map[string]string{"token": "secret-one"}); again != base {
		t.Error("digest is not deterministic")
	}
	if rotated := digest(map[string]string{"token": "secret-two"}); rotated != base {
		t.Error("rotating a secret changed the digest")
	}
	if other := digest(map[string]string{"token": "secret-one", "site": "other"}); other == base {
		t.Error("changing a variable did not change the digest")
	}
}

func TestLoadDirErrors(t *testing.T) {
	_, diags := LoadDir(t.TempDir(), LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "No configuration files" {
		t.Errorf("empty dir:%s", summaries(diags))
	}
	cfg, diags := LoadFiles([]string{filepath.Join(t.TempDir(), "missing.hcl")}, LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "Cannot read configuration file" || cfg == nil {
		t.Errorf("missing file:%s", summaries(diags))
	}
}

func TestCLIVariableErrors(t *testing.T) {
	src := `variable "n" { type = number }` + "\n" + `variable "s" { sensitive = true }`
	tests := []struct {
		name    string
		vars    map[string]string
		files   map[string]string
		summary string
		subject bool
	}{
		{name: "undeclared -var", vars: map[string]string{"m": "1", "s": "x"}, summary: "Value for undeclared variable"},
		{name: "-var wrong type", vars: map[string]string{"n": "many", "s": "x"}, summary: "Invalid value for variable"},
		{name: "missing value", vars: map[string]string{"n": "1"}, summary: "No value for required variable", subject: true},
		{name: "var-file wrong type", vars: map[string]string{"s": "x"}, files: map[string]string{"v.hcl": `n = "many"`}, summary: "Invalid value for variable", subject: true},
		{name: "var-file unreadable", vars: map[string]string{"n": "1", "s": "x"}, files: map[string]string{}, summary: "Cannot read variables file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadString(t, src, func(o *LoadOptions) {
				o.Vars = tt.vars
				if tt.files != nil {
					dir := writeFiles(t, tt.files)
					o.VarFiles = []string{filepath.Join(dir, "v.hcl")}
				}
			})
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == tt.summary {
					found = d
				}
			}
			if found == nil {
				t.Fatalf("want %q, got:%s", tt.summary, summaries(diags))
			}
			if (found.Subject != nil) != tt.subject {
				t.Errorf("subject = %v, want set: %v", found.Subject, tt.subject)
			}
		})
	}
}

func TestFileFunction(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl": `
source "jira" "a" {
  base_url              = trimspace(file("url.txt"))
  personal_access_token = file("secrets/pat")
}
`,
		"url.txt":     "https://jira.example.com\n",
		"secrets/pat": "pat-from-file",
	})
	cfg, diags := LoadDir(dir, LoadOptions{Getenv: func(string) (string, bool) { return "", false }})
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", summaries(diags))
	}
	s := cfg.Sources["jira.a"]
	if s.BaseURL != "https://jira.example.com" || s.PAT != "pat-from-file" {
		t.Errorf("source = %+v", s)
	}
	if err := os.Remove(filepath.Join(dir, "url.txt")); err != nil {
		t.Fatal(err)
	}
	_, diags = LoadDir(dir, LoadOptions{})
	if !diags.HasErrors() || !strings.Contains(diags[0].Detail, "url.txt") {
		t.Errorf("missing file:%s", summaries(diags))
	}
}

func TestMultipleFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a_sources.hcl": `
source "jira" "demo" {
  simulator {}
}
`,
		"b_syncs.hcl": `
destination "duckdb" "w" { path = "w.duckdb" }
sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.w
}
`,
		"c_dup.hcl": `
source "jira" "demo" {
  simulator {}
}
`,
		"notes.txt": "ignored",
	})
	cfg, diags := LoadDir(dir, testOptions())
	if len(diags) != 1 || diags[0].Summary != "Duplicate source" {
		t.Fatalf("want one duplicate error, got:%s", summaries(diags))
	}
	if !strings.Contains(diags[0].Detail, "a_sources.hcl:2,1-") || !strings.HasSuffix(diags[0].Subject.Filename, "c_dup.hcl") {
		t.Errorf("duplicate should point at both files: %s", describe(diags[0]))
	}
	if len(cfg.Files) != 3 {
		t.Errorf("Files = %d, want 3", len(cfg.Files))
	}
}

// TestSameFileTwice checks that a file named more than once is loaded once,
// not reported as declaring everything twice.
func TestSameFileTwice(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
source "jira" "demo" {
  simulator {}
}
destination "duckdb" "w" { path = "w.duckdb" }
sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.w
}
`})
	main := filepath.Join(dir, "main.hcl")
	tests := []struct {
		name  string
		paths []string
	}{
		{name: "same path", paths: []string{main, main}},
		{name: "unclean path", paths: []string{main, dir + "//main.hcl"}},
		{name: "unclean path first", paths: []string{dir + "/./main.hcl", main}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := LoadFiles(tt.paths, testOptions())
			if len(diags) != 0 {
				t.Fatalf("want no diagnostics, got:%s", summaries(diags))
			}
			if len(cfg.Files) != 1 || len(cfg.Syncs) != 1 {
				t.Errorf("Files = %d, Syncs = %d, want 1 and 1", len(cfg.Files), len(cfg.Syncs))
			}
		})
	}
}

func TestFunctions(t *testing.T) {
	src := `
locals {
  formatted = format("%s-%03d", upper("eng"), 7)
  joined    = join(",", concat(["a"], split(" ", "b c")))
  chosen    = coalesce(null, env("JIRA_UNSET", "fallback"))
  json      = jsonencode({ k = [1, 2] })
  typed     = tostring(length(tolist(["x", "y"])))
}
source "jira" "demo" {
  simulator {}
}
destination "duckdb" "w" { path = "w.duckdb" }
sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.w
  tables      = [local.formatted, local.joined, local.chosen, local.json, local.typed, env("JIRA_EMAIL", "unused")]
}
`
	// No catalogue: the computed names are not table names.
	cfg, diags := loadString(t, src, func(o *LoadOptions) { o.Catalogue = nil })
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", summaries(diags))
	}
	want := []string{"ENG-007", "a,b,c", "fallback", `{"k":[1,2]}`, "2", "bot@acme.example"}
	if got := cfg.Syncs["demo"].Tables; !reflect.DeepEqual(got, want) {
		t.Errorf("tables = %q, want %q", got, want)
	}
}
