package main

import (
	"path/filepath"
	"testing"

	"github.com/jsync-dev/jsync/engine/config"
)

// TestExamples loads and validates every examples/*.hcl, so the examples
// can never drift from the configuration language or the table catalogue.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("expected at least 5 examples, found %d", len(files))
	}
	env := map[string]string{
		"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "example-token",
		"JIRA_PAT": "example-pat", "JSYNC_VAR_jira_token": "example-token",
		"JIRA_CA_FILE": testCA(t),
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, diags := config.LoadFiles([]string{f}, config.LoadOptions{
				Catalogue: catalogue(),
				Getenv:    func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			})
			if diags.HasErrors() {
				t.Fatalf("%s does not validate:\n%s", f, diags.Error())
			}
			if len(cfg.Syncs) == 0 {
				t.Fatalf("%s declares no sync", f)
			}
		})
	}
}

// testCA returns the path of a PEM certificate, for examples that set a
// ca_file.
func testCA(t *testing.T) string {
	p, err := filepath.Abs(filepath.Join("..", "..", "engine", "config", "testdata", "valid", "certs", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
