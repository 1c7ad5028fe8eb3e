package config

import (
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// evalLocals evaluates every locals entry in dependency order. Entries in a
// cycle, or depending on one that failed, become unknown so that no
// follow-on errors are reported for them.
func (l *loader) evalLocals() {
	for _, b := range l.blocks["locals"] {
		attrs, diags := b.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		for _, a := range sortedAttrs(attrs) {
			if prev, ok := l.locals[a.Name]; ok {
				l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Duplicate local value",
					"A local value named %q was already defined at %s. Local value names must be unique; rename or remove one of them.", a.Name, prev.Attr.NameRange))
				continue
			}
			l.locals[a.Name] = &local{Name: a.Name, Attr: a}
		}
	}
	names := sortedKeys(l.locals)
	deps := map[string][]string{}
	for _, name := range names {
		for _, t := range l.locals[name].Attr.Expr.Variables() {
			if t.RootName() != "local" {
				continue
			}
			if dep := attrStep(t, 1); dep != "" && l.locals[dep] != nil {
				deps[name] = append(deps[name], dep)
			}
		}
	}
	failed := map[string]bool{}
	for _, cycle := range findCycles(names, deps) {
		for _, n := range cycle {
			failed[n] = true
		}
		first := l.locals[cycle[0]].Attr
		l.diags = append(l.diags, errorf(first.NameRange.Ptr(), "Cycle in local values",
			"The local values refer to each other in a cycle: %s. A local value cannot depend on itself, directly or through other locals; break the cycle.",
			cyclePath("local.", cycle)))
	}
	for _, name := range topoOrder(names, deps) {
		if failed[name] {
			l.localValues[name] = cty.DynamicVal
			continue
		}
		for _, d := range deps[name] {
			if failed[d] {
				failed[name] = true
			}
		}
		if failed[name] {
			l.localValues[name] = cty.DynamicVal
			continue
		}
		val, ok := l.evalRaw(l.locals[name].Attr)
		if !ok {
			failed[name] = true
			val = cty.DynamicVal
		}
		l.localValues[name] = val
	}
}

// attrStep returns the name of the i-th step of t when it is an attribute.
func attrStep(t hcl.Traversal, i int) string {
	if i >= len(t) {
		return ""
	}
	if a, ok := t[i].(hcl.TraverseAttr); ok {
		return a.Name
	}
	if idx, ok := t[i].(hcl.TraverseIndex); ok && idx.Key.Type() == cty.String && idx.Key.IsKnown() && !idx.Key.IsNull() {
		return idx.Key.AsString()
	}
	return ""
}

// checkRefs reports references that do not resolve in value expressions.
func (l *loader) checkRefs(expr hcl.Expression) bool {
	ok := true
	for _, t := range expr.Variables() {
		subject := t.SourceRange().Ptr()
		root := t.RootName()
		switch root {
		case "var", "local":
			name := attrStep(t, 1)
			kind, declared, candidates := "input variable", false, sortedKeys(l.cfg.Variables)
			if root == "local" {
				kind, candidates = "local value", sortedKeys(l.locals)
				declared = l.locals[name] != nil
			} else {
				declared = l.cfg.Variables[name] != nil
			}
			if name == "" {
				l.diags = append(l.diags, errorf(subject, "Invalid reference",
					"%q must be followed by a name, for example %s.example.", root, root))
				ok = false
				continue
			}
			if !declared {
				hint := didYouMean(name, candidates)
				if hint == "" && root == "var" {
					hint = fmt.Sprintf(" Declare it with: variable %q {}.", name)
				}
				l.diags = append(l.diags, errorf(subject, "Reference to undeclared "+kind,
					"There is no %s named %q.%s", kind, name, hint))
				ok = false
			}
		case "source", "destination", "sync":
			l.diags = append(l.diags, errorf(subject, "Invalid reference",
				"A %s reference is only allowed in a sync's source, destination and depends_on arguments.", root))
			ok = false
		default:
			l.diags = append(l.diags, errorf(subject, "Unknown variable",
				"There is no variable named %q. Expressions can refer to var.<name> and local.<name>.%s", root, didYouMean(root, []string{"var", "local"})))
			ok = false
		}
	}
	return ok
}

// evalRaw evaluates an attribute with the variables and functions in scope.
// ok is false when evaluation failed (the error is reported). Secrets found
// in the value are collected; the value keeps its marks.
func (l *loader) evalRaw(a *hcl.Attribute) (cty.Value, bool) {
	if !l.checkRefs(a.Expr) {
		return cty.DynamicVal, false
	}
	ctx := l.evalContext(a.Range)
	val, diags := a.Expr.Value(ctx)
	rewriteFunctionDiags(diags)
	for _, d := range diags {
		if d.Expression != nil && d.EvalContext == nil {
			d.EvalContext = ctx
		}
	}
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.DynamicVal, false
	}
	l.collectMarked(val)
	return val, true
}

// collectMarked adds every string under a sensitive mark to the secrets.
func (l *loader) collectMarked(val cty.Value) {
	if !val.ContainsMarked() {
		return
	}
	unmarked, pvms := val.UnmarkDeepWithPaths()
	for _, pvm := range pvms {
		if _, ok := pvm.Marks[sensitiveMark]; !ok {
			continue
		}
		sub, err := pvm.Path.Apply(unmarked)
		if err == nil {
			l.addSecret(secretStrings(sub)...)
		}
	}
}

// eval evaluates an attribute and converts it to ty. ok is false when the
// value is unusable: an error was reported, the value is null (unset), or it
// is unknown because of an earlier error.
func (l *loader) eval(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	val, ok := l.evalRaw(a)
	if !ok {
		return cty.NilVal, false
	}
	val, _ = val.UnmarkDeep()
	return l.convertAttr(a, val, ty)
}

func (l *loader) convertAttr(a *hcl.Attribute, val cty.Value, ty cty.Type) (cty.Value, bool) {
	if !val.IsWhollyKnown() || val.IsNull() {
		return cty.NilVal, false
	}
	conv, err := convert.Convert(val, ty)
	if err != nil {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
			"Inappropriate value for argument %q: %s.", a.Name, convertErrorText(err)))
		return cty.NilVal, false
	}
	if !conv.IsWhollyKnown() || conv.IsNull() {
		return cty.NilVal, false
	}
	return conv, true
}

// convertErrorText makes cty conversion errors read as a sentence fragment.
func convertErrorText(err error) string {
	var pe cty.PathError
	if errors.As(err, &pe) && len(pe.Path) > 0 {
		return fmt.Sprintf("element %s: %s", pathString(pe.Path), err)
	}
	return err.Error()
}

func pathString(p cty.Path) string {
	var b strings.Builder
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			fmt.Fprintf(&b, ".%s", s.Name)
		case cty.IndexStep:
			switch {
			case s.Key.Type() == cty.String:
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			case s.Key.Type() == cty.Number:
				fmt.Fprintf(&b, "[%s]", s.Key.AsBigFloat().Text('f', -1))
			}
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

func (l *loader) str(a *hcl.Attribute) (string, bool) {
	if a == nil {
		return "", false
	}
	v, ok := l.eval(a, cty.String)
	if !ok {
		return "", false
	}
	return v.AsString(), true
}

// strList evaluates a list of strings and returns each element's range when
// the list is written literally (else the attribute's expression range).
func (l *loader) strList(a *hcl.Attribute) ([]string, []hcl.Range, bool) {
	if a == nil {
		return nil, nil, false
	}
	v, ok := l.eval(a, cty.List(cty.String))
	if !ok {
		return nil, nil, false
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid value", "The list %q must not contain null.", a.Name))
			return nil, nil, false
		}
		out = append(out, e.AsString())
	}
	return out, elementRanges(a.Expr, len(out)), true
}

func elementRanges(expr hcl.Expression, n int) []hcl.Range {
	ranges := make([]hcl.Range, n)
	exprs, diags := hcl.ExprList(expr)
	for i := range ranges {
		if !diags.HasErrors() && len(exprs) == n {
			ranges[i] = exprs[i].Range()
		} else {
			ranges[i] = expr.Range()
		}
	}
	return ranges
}

// keyRanges maps each key of a literal object expression to the range of
// its key and value expressions. Keys of non-literal maps map to the
// whole expression.
func keyRanges(expr hcl.Expression) map[string][2]hcl.Expression {
	out := map[string][2]hcl.Expression{}
	pairs, diags := hcl.ExprMap(expr)
	if diags.HasErrors() {
		return out
	}
	for _, p := range pairs {
		k, diags := p.Key.Value(nil)
		if diags.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
			continue
		}
		out[k.AsString()] = [2]hcl.Expression{p.Key, p.Value}
	}
	return out
}

func (l *loader) number(a *hcl.Attribute) (*big.Float, bool) {
	if a == nil {
		return nil, false
	}
	v, ok := l.eval(a, cty.Number)
	if !ok {
		return nil, false
	}
	return v.AsBigFloat(), true
}

// integer evaluates a whole number within [lo, hi].
func (l *loader) integer(a *hcl.Attribute, lo, hi int64) (int64, bool) {
	f, ok := l.number(a)
	if !ok {
		return 0, false
	}
	i, acc := f.Int64()
	if acc != big.Exact || !f.IsInt() {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Incorrect attribute value type",
			"Inappropriate value for argument %q: a whole number is required.", a.Name))
		return 0, false
	}
	if i < lo || i > hi {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), fmt.Sprintf("Invalid %s", a.Name),
			"%q must be between %d and %d; got %d.", a.Name, lo, hi, i))
		return 0, false
	}
	return i, true
}

// findCycles returns every cycle of the graph, each starting at its
// lexically smallest member and listed once, in a deterministic order.
func findCycles(nodes []string, edges map[string][]string) [][]string {
	// Tarjan's strongly connected components.
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var sccs [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, scc)
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen {
			strong(n)
		}
	}
	var cycles [][]string
	for _, scc := range sccs {
		self := len(scc) == 1 && contains(edges[scc[0]], scc[0])
		if len(scc) < 2 && !self {
			continue
		}
		cycles = append(cycles, cycleThrough(scc, edges))
	}
	sort.Slice(cycles, func(i, j int) bool { return cycles[i][0] < cycles[j][0] })
	return cycles
}

// cycleThrough returns one shortest cycle inside a strongly connected
// component, starting at its lexically smallest member, exploring
// neighbours in lexical order so the result is deterministic.
func cycleThrough(scc []string, edges map[string][]string) []string {
	in := map[string]bool{}
	for _, n := range scc {
		in[n] = true
	}
	sorted := append([]string(nil), scc...)
	sort.Strings(sorted)
	start := sorted[0]
	prev := map[string]string{}
	visited := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		var nexts []string
		for _, w := range edges[cur] {
			if in[w] {
				nexts = append(nexts, w)
			}
		}
		sort.Strings(nexts)
		if contains(nexts, start) {
			path := []string{cur}
			for path[0] != start {
				path = append([]string{prev[path[0]]}, path...)
			}
			return path
		}
		for _, w := range nexts {
			if !visited[w] {
				visited[w] = true
				prev[w] = cur
				queue = append(queue, w)
			}
		}
	}
	return sorted // unreachable for a real component
}

// topoOrder returns nodes with dependencies first; nodes in cycles appear
// in an arbitrary but deterministic position.
func topoOrder(nodes []string, edges map[string][]string) []string {
	var out []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string)
	visit = func(n string) {
		if state[n] != 0 {
			return
		}
		state[n] = 1
		deps := append([]string(nil), edges[n]...)
		sort.Strings(deps)
		for _, d := range deps {
			visit(d)
		}
		state[n] = 2
		out = append(out, n)
	}
	for _, n := range nodes {
		visit(n)
	}
	return out
}

func cyclePath(prefix string, cycle []string) string {
	parts := make([]string, 0, len(cycle)+1)
	for _, n := range cycle {
		parts = append(parts, prefix+n)
	}
	parts = append(parts, prefix+cycle[0])
	return strings.Join(parts, " → ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
