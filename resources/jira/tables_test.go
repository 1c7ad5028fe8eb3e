package jira

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/jsync-dev/jsync/engine/schema"
)

var snakeCase = regexp.MustCompile(`^_?[a-z][a-z0-9_]*$`)

func TestTablesCatalogue(t *testing.T) {
	stitch := map[string][]string{
		"projects": {"id"}, "versions": {"id"}, "components": {"id"}, "project_types": {"key"},
		"project_categories": {"id"}, "resolutions": {"id"}, "roles": {"id"}, "users": {"account_id"},
		"issues": {"id"}, "issue_comments": {"id"}, "changelogs": {"id"},
		"issue_transitions": {"id", "issue_id"}, "worklogs": {"id"},
	}
	extra := []string{"fields", "statuses", "status_categories", "priorities", "issue_types", "issue_links",
		"boards", "sprints", "sprint_issues", "changelog_items"}
	tables := Tables()
	byName := map[string]*schema.Table{}
	for _, tb := range tables {
		if byName[tb.Name] != nil {
			t.Errorf("duplicate table %s", tb.Name)
		}
		byName[tb.Name] = tb
	}
	for name, want := range stitch {
		tb := byName[name]
		if tb == nil {
			t.Errorf("missing Stitch table %s", name)
			continue
		}
		if got := tb.PrimaryKey(); !equalStrings(got, want) {
			t.Errorf("%s: primary key %v, want %v", name, got, want)
		}
	}
	for _, name := range extra {
		if byName[name] == nil {
			t.Errorf("missing table %s", name)
		}
	}
	if len(tables) != len(stitch)+len(extra) {
		t.Errorf("%d tables, want %d", len(tables), len(stitch)+len(extra))
	}
	for _, tb := range tables {
		if tb.Description == "" {
			t.Errorf("%s: no description", tb.Name)
		}
		if len(tb.PrimaryKey()) == 0 {
			t.Errorf("%s: no primary key", tb.Name)
		}
		if tb.Parent != "" && byName[tb.Parent] == nil {
			t.Errorf("%s: unknown parent %s", tb.Name, tb.Parent)
		}
		seen := map[string]bool{}
		for _, c := range tb.Columns {
			if seen[c.Name] {
				t.Errorf("%s.%s: duplicate column", tb.Name, c.Name)
			}
			seen[c.Name] = true
			if !snakeCase.MatchString(c.Name) {
				t.Errorf("%s.%s: not snake_case", tb.Name, c.Name)
			}
			if c.Description == "" {
				t.Errorf("%s.%s: no description", tb.Name, c.Name)
			}
		}
		for _, meta := range []string{schema.ColSource, schema.ColSyncedAt} {
			if tb.Column(meta) == nil {
				t.Errorf("%s: missing %s", tb.Name, meta)
			}
		}
		if got := tb.Column(schema.ColDeletedAt) != nil; got != tb.TracksDeletes {
			t.Errorf("%s: _jsync_deleted_at present=%v, TracksDeletes=%v", tb.Name, got, tb.TracksDeletes)
		}
		if sch := tb.ArrowSchema(); sch.NumFields() != len(tb.Columns) {
			t.Errorf("%s: arrow schema has %d fields", tb.Name, sch.NumFields())
		}
	}
	for _, name := range []string{"issues", "worklogs"} {
		if !byName[name].TracksDeletes {
			t.Errorf("%s must track deletes", name)
		}
	}
	for _, child := range []string{"issue_comments", "changelogs", "changelog_items", "issue_transitions", "worklogs", "issue_links", "sprint_issues"} {
		if byName[child].Parent != TableIssues {
			t.Errorf("%s: parent %q, want issues", child, byName[child].Parent)
		}
	}
	for _, child := range []string{"versions", "components"} {
		if byName[child].Parent != TableProjects {
			t.Errorf("%s: parent %q, want projects", child, byName[child].Parent)
		}
	}
	issues := byName[TableIssues]
	for col, json := range map[string]bool{"fields": true, "description": false, "description_adf": true} {
		c := issues.Column(col)
		if c == nil || c.JSON != json {
			t.Errorf("issues.%s: missing or JSON flag != %v", col, json)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTablesMarkdownUpToDate fails when docs/tables.md is stale. Regenerate it
// with `make docs`, or with JSYNC_UPDATE_DOCS=1 go test -tags duckdb_arrow
// ./resources/jira -run TestTablesMarkdownUpToDate.
func TestTablesMarkdownUpToDate(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "tables.md")
	want := TablesMarkdown()
	if os.Getenv("JSYNC_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run `make docs`)", path, err)
	}
	if string(got) != want {
		t.Fatalf("%s is stale: run `make docs` (or JSYNC_UPDATE_DOCS=1 go test -tags duckdb_arrow ./resources/jira -run TestTablesMarkdownUpToDate)", path)
	}
	for _, tb := range Tables() {
		for _, c := range tb.Columns {
			if !regexp.MustCompile("`" + regexp.QuoteMeta(c.Name) + "`").MatchString(want) {
				t.Errorf("docs miss %s.%s", tb.Name, c.Name)
			}
		}
	}
}

// TestStitchMigrationGuide: every jsync column that docs/stitch-migration.md
// names for a Stitch column exists in its table, and the guide covers the
// 13 Stitch tables, so the guide cannot drift from the tables.
func TestStitchMigrationGuide(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "stitch-migration.md"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*schema.Table{}
	for _, tb := range Tables() {
		byName[tb.Name] = tb
	}
	ident := regexp.MustCompile("`([a-z_0-9]+)`")
	var table *schema.Table
	covered := map[string]bool{}
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "### "); ok {
			table = byName[name]
			if table == nil {
				t.Errorf("section %q is not a jsync table", name)
			}
			covered[name] = true
			continue
		}
		cells := strings.Split(line, "|")
		if table == nil || len(cells) < 5 || strings.HasPrefix(strings.TrimSpace(cells[1]), "Stitch") || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		jsync := cells[2]
		if strings.Contains(jsync, "named after") {
			continue // custom fields: columns of the site's own fields
		}
		rows++
		for _, m := range ident.FindAllStringSubmatch(jsync, -1) {
			if table.Column(m[1]) == nil {
				t.Errorf("%s: the guide maps %s to %q, which the table does not have", table.Name, strings.TrimSpace(cells[1]), m[1])
			}
		}
	}
	for _, name := range []string{"projects", "versions", "components", "project_types", "project_categories", "resolutions",
		"roles", "users", "issues", "issue_comments", "changelogs", "issue_transitions", "worklogs"} {
		if !covered[name] {
			t.Errorf("the guide has no section for Stitch's %s", name)
		}
	}
	if rows < 100 {
		t.Errorf("only %d rows read from the guide: its tables were not parsed", rows)
	}
}
