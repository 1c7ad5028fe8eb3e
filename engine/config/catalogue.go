package config

import (
	"sort"

	"github.com/jsync-dev/jsync/engine/schema"
)

// StaticCatalogue is a Catalogue backed by fixed table definitions, keyed by
// source type. Tests use it so they do not depend on the Jira resource; the
// CLI can build one from a source's static tables with NewStaticCatalogue.
type StaticCatalogue map[string][]StaticTable

// StaticTable is one table of a StaticCatalogue.
type StaticTable struct {
	Name    string
	Columns []string
	// Dynamic tables get extra (custom-field) columns at discovery.
	Dynamic bool
	// Parents are the tables the table's fetch needs, nearest first.
	Parents []string
}

var _ Catalogue = StaticCatalogue(nil)

// NewStaticCatalogue builds a catalogue for one source type from schema
// tables. dynamic reports which tables get discovered columns; nil means none.
// Parents are derived from Table.Parent and Table.DependsOn, transitively.
func NewStaticCatalogue(sourceType string, tables []*schema.Table, dynamic func(*schema.Table) bool) StaticCatalogue {
	byName := map[string]*schema.Table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	out := make([]StaticTable, 0, len(tables))
	for _, t := range tables {
		out = append(out, StaticTable{
			Name:    t.Name,
			Columns: t.ColumnNames(),
			Dynamic: dynamic != nil && dynamic(t),
			Parents: ancestors(t, byName),
		})
	}
	return StaticCatalogue{sourceType: out}
}

// ancestors returns the transitive dependencies of t, nearest first, each once.
func ancestors(t *schema.Table, byName map[string]*schema.Table) []string {
	var out []string
	seen := map[string]bool{t.Name: true}
	queue := []*schema.Table{t}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		deps := cur.DependsOn
		if cur.Parent != "" {
			deps = append([]string{cur.Parent}, deps...)
		}
		for _, d := range deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, d)
			if dt := byName[d]; dt != nil {
				queue = append(queue, dt)
			}
		}
	}
	return out
}

func (c StaticCatalogue) find(sourceType, name string) *StaticTable {
	for i, t := range c[sourceType] {
		if t.Name == name {
			return &c[sourceType][i]
		}
	}
	return nil
}

// Table implements Catalogue.
func (c StaticCatalogue) Table(sourceType, name string) ([]string, bool, bool) {
	t := c.find(sourceType, name)
	if t == nil {
		return nil, false, false
	}
	return t.Columns, t.Dynamic, true
}

// TableNames implements Catalogue; names are sorted.
func (c StaticCatalogue) TableNames(sourceType string) []string {
	names := make([]string, 0, len(c[sourceType]))
	for _, t := range c[sourceType] {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	return names
}

// Parents implements Catalogue.
func (c StaticCatalogue) Parents(sourceType, table string) []string {
	if t := c.find(sourceType, table); t != nil {
		return t.Parents
	}
	return nil
}
