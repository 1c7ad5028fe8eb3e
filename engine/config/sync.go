package config

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/jsync-dev/jsync/engine/addrs"
)

var syncSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "source", Required: true},
		{Name: "destination", Required: true},
		{Name: "tables"},
		{Name: "columns"},
		{Name: "schedule"},
		{Name: "depends_on"},
		{Name: "load"},
	},
}

// When a sync loads what it fetches into its destination.
const (
	// LoadWhileFetching writes each batch as it is fetched (the default):
	// the fastest when the fetch waits on Jira, and a stopped backfill
	// resumes from its last checkpoint.
	LoadWhileFetching = "while_fetching"
	// LoadAfterFetch stages the batches on local disk and loads them once
	// the fetch is done, so that the two never hold memory at the same
	// time.
	LoadAfterFetch = "after_fetch"
)

// snakeCaseRE is what a discovered (custom-field) column name looks like.
var snakeCaseRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// syncDep is one depends_on entry and where it is written.
type syncDep struct {
	name    string
	subject hcl.Range
}

func (l *loader) decodeSyncs() {
	deps := map[string][]syncDep{}
	for _, b := range l.blocks["sync"] {
		name := b.Labels[0]
		if !l.checkName(b, 0, "sync") {
			continue
		}
		if prev, ok := l.cfg.Syncs[name]; ok {
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Duplicate sync",
				"A sync named %q was already declared at %s. Sync names must be unique; rename or remove one of them.", name, prev.DeclRange))
			continue
		}
		s := &Sync{Name: name, DeclRange: b.DefRange}
		l.cfg.Syncs[name] = s
		content, diags := b.Body.Content(syncSchema)
		l.diags = append(l.diags, diags...)
		attrs := content.Attributes

		if a := attrs["source"]; a != nil {
			if t, ok := l.traversal(a.Expr, "source", "source.jira.acme", unquote("source")); ok {
				if addr, diags := addrs.ParseSource(t); diags.HasErrors() {
					l.diags = append(l.diags, diags...)
				} else if src := l.cfg.Sources[addr.Key()]; src == nil {
					l.diags = append(l.diags, l.dangling(t, addr.String(), "source", sourceAddrs(l.cfg.Sources)))
				} else {
					s.Source = src
				}
			}
		}
		if a := attrs["destination"]; a != nil {
			if t, ok := l.traversal(a.Expr, "destination", "destination.duckdb.warehouse", unquote("destination")); ok {
				if addr, diags := addrs.ParseDestination(t); diags.HasErrors() {
					l.diags = append(l.diags, diags...)
				} else if dst := l.cfg.Destinations[addr.Key()]; dst == nil {
					l.diags = append(l.diags, l.dangling(t, addr.String(), "destination", destinationAddrs(l.cfg.Destinations)))
				} else {
					s.Destination = dst
				}
			}
		}
		l.decodeTables(s, attrs["tables"])
		l.decodeColumns(s, attrs["columns"])

		s.Schedule, _ = ParseSchedule(DefaultSchedule)
		if a := attrs["schedule"]; a != nil {
			if v, ok := l.str(a); ok {
				sched, err := ParseSchedule(v)
				if err != nil {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid schedule",
						"%s. Use a duration such as \"1h\", \"30m\" or \"1d\", or a 5-field cron expression such as \"0 * * * *\" (minute hour day-of-month month day-of-week).", capitalize(err.Error())))
				} else {
					s.Schedule = sched
				}
			}
		}

		s.Load = LoadWhileFetching
		if a := attrs["load"]; a != nil {
			if v, ok := l.str(a); ok {
				switch v {
				case LoadWhileFetching, LoadAfterFetch:
					s.Load = v
				default:
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid load",
						"load must be %q (the default: each batch is written as it is fetched) or %q (batches are staged on local disk and loaded after the fetch, with less memory).%s",
						LoadWhileFetching, LoadAfterFetch, didYouMean(v, []string{LoadWhileFetching, LoadAfterFetch})))
				}
			}
		}

		if a := attrs["depends_on"]; a != nil {
			exprs, diags := hcl.ExprList(a.Expr)
			if diags.HasErrors() {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid depends_on",
					"depends_on must be a list of sync references, for example depends_on = [sync.other]."))
			}
			for _, e := range exprs {
				t, ok := l.traversal(e, "depends_on element", "sync.other", unquoteSync)
				if !ok {
					continue
				}
				addr, diags := addrs.ParseSync(t)
				if diags.HasErrors() {
					l.diags = append(l.diags, diags...)
					continue
				}
				if contains(s.DependsOn, addr.Name) {
					l.diags = append(l.diags, warnf(t.SourceRange().Ptr(), "Duplicate dependency",
						"%s is listed more than once in depends_on.", addr))
					continue
				}
				s.DependsOn = append(s.DependsOn, addr.Name)
				deps[name] = append(deps[name], syncDep{name: addr.Name, subject: t.SourceRange()})
			}
		}
	}
	// Dangling depends_on references can only be checked once every sync is known.
	for _, name := range sortedKeys(deps) {
		s := l.cfg.Syncs[name]
		kept := s.DependsOn[:0]
		for _, d := range deps[name] {
			if l.cfg.Syncs[d.name] == nil {
				l.diags = append(l.diags, errorf(d.subject.Ptr(), "Reference to undeclared sync",
					"There is no sync named %q.%s", d.name, didYouMean(d.name, sortedKeys(l.cfg.Syncs))))
				continue
			}
			kept = append(kept, d.name)
		}
		s.DependsOn = kept
		l.syncDeps[name] = deps[name]
	}
}

// traversal reads a static reference such as source.jira.acme. fix says
// how to write a reference given as a string instead ("" if it cannot).
func (l *loader) traversal(expr hcl.Expression, what, example string, fix func(quoted string) string) (hcl.Traversal, bool) {
	t, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() {
		detail := "The " + what + " must be a reference such as " + example + ", not a string or other expression."
		if v, vd := expr.Value(nil); !vd.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
			if hint := fix(v.AsString()); hint != "" {
				detail += " " + hint
			}
		}
		l.diags = append(l.diags, errorf(expr.Range().Ptr(), "Invalid reference", "%s", detail))
		return nil, false
	}
	return t, true
}

// unquote returns the fix for a source or destination reference written as
// a string: the same text without quotes.
func unquote(what string) func(string) string {
	return func(quoted string) string {
		return "Remove the quotes: " + what + " = " + quoted + "."
	}
}

// unquoteSync returns the fix for a depends_on element written as a string,
// "name" or "sync.name": the reference sync.name.
func unquoteSync(quoted string) string {
	name := strings.TrimPrefix(quoted, "sync.")
	if !hclsyntax.ValidIdentifier(name) {
		return ""
	}
	return "Write it as a reference, without quotes: depends_on = [sync." + name + "]."
}

func (l *loader) dangling(t hcl.Traversal, addr, kind string, candidates []string) *hcl.Diagnostic {
	hint := didYouMean(addr, candidates)
	if hint == "" && len(candidates) > 0 {
		hint = " Declared " + kind + "s: " + strings.Join(candidates, ", ") + "."
	}
	return errorf(t.SourceRange().Ptr(), "Reference to undeclared "+kind,
		"There is no %s %s.%s", kind, addr, hint)
}

func sourceAddrs(m map[string]*Source) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k].Addr().String())
	}
	return out
}

func destinationAddrs(m map[string]*Destination) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k].Addr().String())
	}
	return out
}

// decodeTables reads and validates the table selection.
func (l *loader) decodeTables(s *Sync, a *hcl.Attribute) {
	if a == nil {
		return
	}
	tables, ranges, ok := l.strList(a)
	if !ok {
		return
	}
	if len(tables) == 0 {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Empty table list",
			"tables is an empty list, which would select no table. Remove the argument to sync every table, or list the tables to sync, for example tables = [\"issues\", \"projects\"] (see `jsync tables`)."))
		return
	}
	for i, t := range tables {
		if contains(s.Tables, t) {
			l.diags = append(l.diags, warnf(ranges[i].Ptr(), "Duplicate table", "The table %q is listed more than once.", t))
			continue
		}
		if l.checkTable(s, t, ranges[i]) {
			s.Tables = append(s.Tables, t)
		}
	}
}

// checkTable validates a table name against the catalogue.
func (l *loader) checkTable(s *Sync, table string, subject hcl.Range) bool {
	cat := l.opts.Catalogue
	if cat == nil || s.Source == nil {
		return true
	}
	if _, _, ok := cat.Table(s.Source.Type, table); ok {
		return true
	}
	names := cat.TableNames(s.Source.Type)
	hint := didYouMean(table, names)
	if hint == "" {
		hint = " Run `jsync tables` to list them."
	}
	l.diags = append(l.diags, errorf(subject.Ptr(), "Unknown table",
		"The %s source has no table %q.%s", s.Source.Type, table, hint))
	return false
}

// decodeColumns reads and validates the column selection.
func (l *loader) decodeColumns(s *Sync, a *hcl.Attribute) {
	if a == nil {
		return
	}
	v, ok := l.eval(a, cty.Map(cty.List(cty.String)))
	if !ok {
		return
	}
	exprs := keyRanges(a.Expr)
	s.Columns = map[string][]string{}
	for _, table := range sortedKeys(v.AsValueMap()) {
		list := v.AsValueMap()[table]
		keySubject, valueExpr := a.Expr.Range(), hcl.Expression(nil)
		if e, ok := exprs[table]; ok {
			keySubject, valueExpr = e[0].Range(), e[1]
		}
		if list.IsNull() {
			continue
		}
		if !l.checkTable(s, table, keySubject) {
			continue
		}
		if len(s.Tables) > 0 && !contains(s.Tables, table) {
			l.diags = append(l.diags, errorf(keySubject.Ptr(), "Columns for an unselected table",
				"columns selects columns of %q, but tables does not include it. Add %q to tables, or remove its column selection.", table, table))
			continue
		}
		var cols []string
		for it := list.ElementIterator(); it.Next(); {
			_, c := it.Element()
			if c.IsNull() {
				continue
			}
			cols = append(cols, c.AsString())
		}
		var ranges []hcl.Range
		if valueExpr != nil {
			ranges = elementRanges(valueExpr, len(cols))
		} else {
			ranges = elementRanges(a.Expr, len(cols))
		}
		var kept []string
		var keptRanges []hcl.Range
		for i, c := range cols {
			if contains(kept, c) {
				l.diags = append(l.diags, warnf(ranges[i].Ptr(), "Duplicate column", "The column %q is listed more than once.", c))
				continue
			}
			if l.checkColumn(s, table, c, ranges[i]) {
				kept = append(kept, c)
				keptRanges = append(keptRanges, ranges[i])
			}
		}
		if len(cols) == 0 {
			l.diags = append(l.diags, errorf(keySubject.Ptr(), "Empty column selection",
				"The column list for %q is empty. List the columns to keep, or remove the entry to keep them all.", table))
			continue
		}
		s.Columns[table] = kept
		if s.ColumnRanges == nil {
			s.ColumnRanges = map[string][]hcl.Range{}
		}
		s.ColumnRanges[table] = keptRanges
	}
}

func (l *loader) checkColumn(s *Sync, table, column string, subject hcl.Range) bool {
	cat := l.opts.Catalogue
	if cat == nil || s.Source == nil {
		return true
	}
	cols, dynamic, ok := cat.Table(s.Source.Type, table)
	if !ok || contains(cols, column) {
		return true
	}
	hint := didYouMean(column, cols)
	if dynamic && snakeCaseRE.MatchString(column) {
		// Perhaps a custom-field column, known only at discovery; perhaps
		// a typo of a column that is always there.
		if hint != "" {
			l.diags = append(l.diags, warnf(subject.Ptr(), "Possibly misspelled column",
				"The table %q has no column %q unless a custom field of the site has that name (known at discovery; jsync plan checks it).%s", table, column, hint))
		}
		return true
	}
	if hint == "" && dynamic {
		hint = " Custom-field columns are known only at discovery and must be snake_case, for example story_points."
	}
	l.diags = append(l.diags, errorf(subject.Ptr(), "Unknown column",
		"The table %q has no column %q.%s", table, column, hint))
	return false
}

// checkSyncCycles reports cycles among depends_on.
func (l *loader) checkSyncCycles() {
	names := sortedKeys(l.cfg.Syncs)
	edges := map[string][]string{}
	for _, n := range names {
		edges[n] = l.cfg.Syncs[n].DependsOn
	}
	for _, cycle := range findCycles(names, edges) {
		subject := l.cfg.Syncs[cycle[0]].DeclRange
		next := cycle[0]
		if len(cycle) > 1 {
			next = cycle[1]
		}
		for _, d := range l.syncDeps[cycle[0]] {
			if d.name == next {
				subject = d.subject
				break
			}
		}
		l.diags = append(l.diags, errorf(subject.Ptr(), "Cycle in sync dependencies",
			"The syncs depend on each other in a cycle: %s. Remove one of these depends_on entries.", cyclePath("sync.", cycle)))
	}
}
