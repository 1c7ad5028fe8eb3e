package config

import (
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

func TestNewStaticCatalogue(t *testing.T) {
	col := func(name string) schema.Column { return schema.Column{Name: name, Type: arrow.BinaryTypes.String} }
	tables := []*schema.Table{
		{Name: "projects", Columns: []schema.Column{col("id"), col("key")}},
		{Name: "versions", Columns: []schema.Column{col("id")}, Parent: "projects"},
		{Name: "issues", Columns: []schema.Column{col("id"), col("key")}},
		{Name: "changelogs", Columns: []schema.Column{col("id")}, Parent: "issues"},
		{Name: "changelog_items", Columns: []schema.Column{col("id")}, Parent: "changelogs", DependsOn: []string{"projects"}},
	}
	cat := NewStaticCatalogue("jira", tables, func(t *schema.Table) bool { return t.Name == "issues" })

	cols, dynamic, ok := cat.Table("jira", "issues")
	if !ok || !dynamic || !reflect.DeepEqual(cols, []string{"id", "key"}) {
		t.Errorf("Table(issues) = %v, %v, %v", cols, dynamic, ok)
	}
	if _, dynamic, _ := cat.Table("jira", "projects"); dynamic {
		t.Error("projects should not be dynamic")
	}
	if _, _, ok := cat.Table("jira", "nope"); ok {
		t.Error("Table(nope) found")
	}
	if _, _, ok := cat.Table("other", "issues"); ok {
		t.Error("Table for another source type found")
	}
	if got, want := cat.TableNames("jira"), []string{"changelog_items", "changelogs", "issues", "projects", "versions"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TableNames = %v, want %v", got, want)
	}
	if got, want := cat.Parents("jira", "changelog_items"), []string{"changelogs", "projects", "issues"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Parents(changelog_items) = %v, want %v", got, want)
	}
	if got := cat.Parents("jira", "projects"); len(got) != 0 {
		t.Errorf("Parents(projects) = %v", got)
	}
}

// TestNilCatalogue checks that without a catalogue, table and column names
// are not validated (and nothing panics).
func TestNilCatalogue(t *testing.T) {
	src := `
source "jira" "demo" {
  simulator {}
}
destination "duckdb" "w" { path = "w.duckdb" }
sync "demo" {
  source      = source.jira.demo
  destination = destination.duckdb.w
  tables      = ["anything"]
  columns     = { anything = ["Whatever Column"] }
}
`
	cfg, diags := loadString(t, src, func(o *LoadOptions) { o.Catalogue = nil })
	if diags.HasErrors() {
		t.Fatalf("diagnostics:%s", summaries(diags))
	}
	if got := cfg.Syncs["demo"].Tables; !reflect.DeepEqual(got, []string{"anything"}) {
		t.Errorf("tables = %v", got)
	}
}
