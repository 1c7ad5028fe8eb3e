// Package addrs holds the typed addresses of jsync's configuration objects
// (source.jira.acme, destination.duckdb.warehouse, sync.acme,
// sync.acme.issues) and parses them from HCL traversals. Every parse error is
// an hcl.Diagnostic whose Subject is the traversal's source range.
//
// It is a leaf package: it imports only the standard library and HCL.
package addrs

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Referenceable is an address that configuration can refer to.
type Referenceable interface {
	// String returns the address as written in configuration, for example
	// "source.jira.acme".
	String() string
	referenceable()
}

// Source addresses a source block: source "<Type>" "<Name>".
type Source struct {
	Type, Name string
}

func (s Source) String() string { return "source." + s.Type + "." + s.Name }

// Key is the source's key in config.Config.Sources: "<Type>.<Name>".
func (s Source) Key() string { return s.Type + "." + s.Name }

func (Source) referenceable() {}

// Destination addresses a destination block: destination "<Type>" "<Name>".
type Destination struct {
	Type, Name string
}

func (d Destination) String() string { return "destination." + d.Type + "." + d.Name }

// Key is the destination's key in config.Config.Destinations: "<Type>.<Name>".
func (d Destination) Key() string { return d.Type + "." + d.Name }

func (Destination) referenceable() {}

// Sync addresses a sync block: sync "<Name>".
type Sync struct {
	Name string
}

func (s Sync) String() string { return "sync." + s.Name }

func (Sync) referenceable() {}

// Table returns the address of one table of the sync.
func (s Sync) Table(name string) Table { return Table{Sync: s, Table: name} }

// Table addresses one table of one sync: sync.<sync>.<table>. It is the unit
// of the dependency graph and of state.
type Table struct {
	Sync  Sync
	Table string
}

func (t Table) String() string { return t.Sync.String() + "." + t.Table }

func (Table) referenceable() {}

// ParseRef parses a traversal into any of the addresses above. A sync
// reference with a third step is a Table.
func ParseRef(traversal hcl.Traversal) (Referenceable, hcl.Diagnostics) {
	names, diags := attrNames(traversal)
	if diags.HasErrors() {
		return nil, diags
	}
	switch names[0] {
	case "source":
		return parseSource(traversal, names)
	case "destination":
		return parseDestination(traversal, names)
	case "sync":
		switch len(names) {
		case 2:
			return Sync{Name: names[1]}, nil
		case 3:
			return Table{Sync: Sync{Name: names[1]}, Table: names[2]}, nil
		}
		return nil, invalid(traversal, `A "sync" reference must be followed by a sync name, and optionally a table name: sync.acme or sync.acme.issues.`)
	}
	return nil, invalid(traversal, fmt.Sprintf(`%q is not a referenceable object. Valid references start with "source", "destination" or "sync".`, names[0]))
}

// ParseSource parses source.<type>.<name>.
func ParseSource(traversal hcl.Traversal) (Source, hcl.Diagnostics) {
	names, diags := attrNames(traversal)
	if diags.HasErrors() {
		return Source{}, diags
	}
	if names[0] != "source" {
		return Source{}, invalid(traversal, "A source reference has the form source.<type>.<name>, for example source.jira.acme.")
	}
	return parseSource(traversal, names)
}

// ParseDestination parses destination.<type>.<name>.
func ParseDestination(traversal hcl.Traversal) (Destination, hcl.Diagnostics) {
	names, diags := attrNames(traversal)
	if diags.HasErrors() {
		return Destination{}, diags
	}
	if names[0] != "destination" {
		return Destination{}, invalid(traversal, "A destination reference has the form destination.<type>.<name>, for example destination.duckdb.warehouse.")
	}
	return parseDestination(traversal, names)
}

// ParseSync parses sync.<name>.
func ParseSync(traversal hcl.Traversal) (Sync, hcl.Diagnostics) {
	names, diags := attrNames(traversal)
	if diags.HasErrors() {
		return Sync{}, diags
	}
	if names[0] != "sync" || len(names) != 2 {
		return Sync{}, invalid(traversal, "A sync reference has the form sync.<name>, for example sync.acme.")
	}
	return Sync{Name: names[1]}, nil
}

// ParseTable parses sync.<sync>.<table>.
func ParseTable(traversal hcl.Traversal) (Table, hcl.Diagnostics) {
	names, diags := attrNames(traversal)
	if diags.HasErrors() {
		return Table{}, diags
	}
	if names[0] != "sync" || len(names) != 3 {
		return Table{}, invalid(traversal, "A table address has the form sync.<sync>.<table>, for example sync.acme.issues.")
	}
	return Table{Sync: Sync{Name: names[1]}, Table: names[2]}, nil
}

// ParseRefString parses an address given on the command line (for example
// -target=sync.acme or `jsync state show sync.acme.issues`).
func ParseRefString(s string) (Referenceable, hcl.Diagnostics) {
	traversal, diags := parseString(s)
	if diags.HasErrors() {
		return nil, diags
	}
	return ParseRef(traversal)
}

// ParseTableString parses a table address given on the command line.
func ParseTableString(s string) (Table, hcl.Diagnostics) {
	traversal, diags := parseString(s)
	if diags.HasErrors() {
		return Table{}, diags
	}
	return ParseTable(traversal)
}

func parseString(s string) (hcl.Traversal, hcl.Diagnostics) {
	traversal, diags := hclsyntax.ParseTraversalAbs([]byte(s), "", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid address",
			Detail:   fmt.Sprintf("%q is not a valid address. Use one like sync.acme or sync.acme.issues.", s),
		}}
	}
	return traversal, nil
}

func parseSource(traversal hcl.Traversal, names []string) (Source, hcl.Diagnostics) {
	if len(names) != 3 {
		return Source{}, invalid(traversal, `The "source" object must be followed by two attribute names: the source type and the source name, for example source.jira.acme.`)
	}
	return Source{Type: names[1], Name: names[2]}, nil
}

func parseDestination(traversal hcl.Traversal, names []string) (Destination, hcl.Diagnostics) {
	if len(names) != 3 {
		return Destination{}, invalid(traversal, `The "destination" object must be followed by two attribute names: the destination type and the destination name, for example destination.duckdb.warehouse.`)
	}
	return Destination{Type: names[1], Name: names[2]}, nil
}

// attrNames flattens a traversal of the form root.a.b into names. Index
// steps (x["a"], x[0]) and relative traversals are rejected: addresses are
// plain dotted names.
func attrNames(traversal hcl.Traversal) ([]string, hcl.Diagnostics) {
	if len(traversal) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   "An empty reference is not valid.",
		}}
	}
	names := make([]string, 0, len(traversal))
	for i, step := range traversal {
		switch step := step.(type) {
		case hcl.TraverseRoot:
			if i != 0 {
				return nil, invalid(traversal, "A reference must be a dotted name such as source.jira.acme.")
			}
			names = append(names, step.Name)
		case hcl.TraverseAttr:
			if i == 0 {
				return nil, invalid(traversal, "A reference must be a dotted name such as source.jira.acme.")
			}
			names = append(names, step.Name)
		default:
			return nil, invalid(traversal, "A reference must be a dotted name such as source.jira.acme; index steps like [0] are not allowed here.")
		}
	}
	return names, nil
}

func invalid(traversal hcl.Traversal, detail string) hcl.Diagnostics {
	var subject *hcl.Range
	if len(traversal) > 0 {
		subject = traversal.SourceRange().Ptr()
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   detail,
		Subject:  subject,
	}}
}
