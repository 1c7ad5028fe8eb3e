package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// testCatalogue is a small Jira-like catalogue: enough tables, columns and
// parent relations to exercise validation without the Jira package.
var testCatalogue = StaticCatalogue{
	"jira": {
		{Name: "projects", Columns: []string{"id", "key", "name", "description", "lead_account_id"}},
		{Name: "versions", Columns: []string{"id", "project_id", "name", "released"}, Parents: []string{"projects"}},
		{Name: "components", Columns: []string{"id", "project_id", "name"}, Parents: []string{"projects"}},
		{Name: "issues", Dynamic: true, Columns: []string{"id", "key", "summary", "status", "project_key", "created", "updated"}},
		{Name: "issue_comments", Columns: []string{"id", "issue_id", "body", "created", "updated"}, Parents: []string{"issues"}},
		{Name: "changelogs", Columns: []string{"id", "issue_id", "created"}, Parents: []string{"issues"}},
		{Name: "worklogs", Columns: []string{"id", "issue_id", "time_spent_seconds", "updated"}, Parents: []string{"issues"}},
		{Name: "users", Columns: []string{"account_id", "display_name", "active"}},
	},
}

// testEnv is the environment the fixtures are loaded with.
var testEnv = map[string]string{
	"JIRA_EMAIL":            "bot@acme.example",
	"JIRA_TOKEN":            "env-token-0123456789",
	"JSYNC_VAR_jira_token":  "var-token-ABCDEFGHIJ",
	"JSYNC_VAR_dc_password": "dc-password-secret-42",
}

func testOptions() LoadOptions {
	return LoadOptions{
		Getenv: func(k string) (string, bool) {
			v, ok := testEnv[k]
			return v, ok
		},
		Catalogue: testCatalogue,
	}
}

// writeFiles writes name → content into a temporary directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadString loads one file with the test options (plus extra).
func loadString(t *testing.T, src string, edit func(*LoadOptions)) (*Config, hcl.Diagnostics) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"main.hcl": src})
	opts := testOptions()
	if edit != nil {
		edit(&opts)
	}
	return LoadDir(dir, opts)
}

func render(t *testing.T, cfg *Config, diags hcl.Diagnostics) string {
	t.Helper()
	var buf bytes.Buffer
	if err := cfg.WriteDiagnostics(&buf, diags, false); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// summaries lists the diagnostics compactly for failure messages.
func summaries(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		b.WriteString("\n  ")
		if d.Subject != nil {
			b.WriteString(d.Subject.String() + ": ")
		}
		b.WriteString(d.Summary + "; " + d.Detail)
	}
	return b.String()
}
