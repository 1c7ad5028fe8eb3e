package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "sensitive"},
		{Name: "description"},
	},
}

// declareVariables decodes every variable block.
func (l *loader) declareVariables() {
	for _, b := range l.blocks["variable"] {
		name := b.Labels[0]
		if !l.checkName(b, 0, "variable") {
			continue
		}
		if prev, ok := l.cfg.Variables[name]; ok {
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Duplicate variable",
				"A variable named %q was already declared at %s. Variable names must be unique; rename or remove one of them.", name, prev.DeclRange))
			continue
		}
		v := &Variable{Name: name, DeclRange: b.DefRange, Type: cty.DynamicPseudoType}
		l.cfg.Variables[name] = v
		content, diags := b.Body.Content(variableSchema)
		l.diags = append(l.diags, diags...)
		if a := content.Attributes["type"]; a != nil {
			ty, diags := typeexpr.TypeConstraint(a.Expr)
			l.diags = append(l.diags, diags...)
			if !diags.HasErrors() {
				v.Type = ty
			}
		}
		// description, sensitive and default are constants: no variables or
		// functions (the default must not depend on the environment).
		if a := content.Attributes["description"]; a != nil {
			if val, ok := l.constAttr(a, cty.String); ok {
				v.Description = val.AsString()
			}
		}
		if a := content.Attributes["sensitive"]; a != nil {
			if val, ok := l.constAttr(a, cty.Bool); ok {
				v.Sensitive = val.True()
			}
		}
		if a := content.Attributes["default"]; a != nil {
			if val, ok := l.constAttr(a, cty.DynamicPseudoType); ok {
				conv, err := convert.Convert(val, v.Type)
				if err != nil {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid default value for variable",
						"The default value of variable %q does not match its type %s: %s.", name, typeexpr.TypeString(v.Type), err))
					v.Default = cty.DynamicVal // reported; no follow-on "no value" error
				} else {
					v.Default = conv
				}
			}
		}
	}
}

// constAttr evaluates an attribute that may not reference anything.
func (l *loader) constAttr(a *hcl.Attribute, ty cty.Type) (cty.Value, bool) {
	if refs := a.Expr.Variables(); len(refs) > 0 {
		l.diags = append(l.diags, errorf(refs[0].SourceRange().Ptr(), "Variables not allowed",
			"The %q argument of a variable block must be a constant; it cannot refer to %s.", a.Name, traversalString(refs[0])))
		return cty.NilVal, false
	}
	val, diags := a.Expr.Value(nil)
	l.diags = append(l.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	return l.convertAttr(a, val, ty)
}

// resolveVariables sets each variable's value. Precedence, lowest first:
// default, JSYNC_VAR_<name>, -var-file (in order), -var.
func (l *loader) resolveVariables() {
	type setting struct {
		val     cty.Value
		subject *hcl.Range
		from    string
		// shown is how the value is written, redacted if the variable is
		// sensitive and the value turns out invalid.
		shown []string
	}
	set := map[string]setting{}
	for _, name := range sortedKeys(l.cfg.Variables) {
		if raw, ok := l.getenv(EnvVarPrefix + name); ok {
			set[name] = setting{val: cty.StringVal(raw), from: "environment variable " + EnvVarPrefix + name, shown: []string{raw}}
		}
	}
	for _, path := range l.opts.VarFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			l.diags = append(l.diags, errorf(nil, "Cannot read variables file", "Read -var-file %s: %s.", path, pathErr(err)))
			continue
		}
		f, diags := l.parser.ParseHCL(src, path)
		l.diags = append(l.diags, diags...)
		if f == nil || f.Body == nil {
			continue
		}
		if !diags.HasErrors() || !l.anySensitive() {
			// A file that does not parse has no attributes to tell which
			// lines hold a secret: its diagnostics show no source lines.
			l.cfg.Files[path] = f
		}
		attrs, diags := f.Body.JustAttributes()
		l.diags = append(l.diags, diags...)
		for _, a := range sortedAttrs(attrs) {
			v, declared := l.cfg.Variables[a.Name]
			if !declared {
				l.diags = append(l.diags, warnf(a.NameRange.Ptr(), "Value for undeclared variable",
					"The variables file sets %q, but no variable block declares it; the value is ignored.%s Declare it with: variable %q {}.",
					a.Name, didYouMean(a.Name, sortedKeys(l.cfg.Variables)), a.Name))
				continue
			}
			// Diagnostics about an invalid value (an expression that fails,
			// a wrong type) show its source line: a sensitive one is
			// redacted as written, since it has no valid value to redact.
			shown := exprSecrets(a.Expr, src)
			val, diags := a.Expr.Value(nil)
			l.diags = append(l.diags, diags...)
			if diags.HasErrors() {
				if v.Sensitive {
					l.addSecret(shown...)
				}
				set[a.Name] = setting{val: cty.DynamicVal}
				continue
			}
			set[a.Name] = setting{val: val, subject: a.Expr.Range().Ptr(), from: "-var-file " + path, shown: shown}
		}
	}
	for _, name := range sortedKeys(l.opts.Vars) {
		raw := l.opts.Vars[name]
		v, declared := l.cfg.Variables[name]
		if !declared {
			l.diags = append(l.diags, errorf(nil, "Value for undeclared variable",
				"-var sets %q, but no variable block declares it.%s Declare it with: variable %q {}.",
				name, didYouMean(name, sortedKeys(l.cfg.Variables)), name))
			continue
		}
		val, diags := parseVarString(raw, v.Type)
		if diags.HasErrors() {
			if v.Sensitive {
				l.addSecret(raw)
			}
			// The raw value may be a secret: do not quote it.
			l.diags = append(l.diags, errorf(nil, "Invalid value for variable",
				"The -var value for %q is not a valid %s.", name, typeexpr.TypeString(v.Type)))
			set[name] = setting{val: cty.DynamicVal}
			continue
		}
		set[name] = setting{val: val, from: "-var " + name}
	}

	for _, name := range sortedKeys(l.cfg.Variables) {
		v := l.cfg.Variables[name]
		s, ok := set[name]
		switch {
		case ok && !s.val.IsKnown():
			v.Value = cty.DynamicVal // the error is already reported
		case ok:
			if v.Type != cty.DynamicPseudoType && s.val.Type() == cty.String && !v.Type.IsPrimitiveType() {
				// Environment variables are strings; complex types are
				// written in HCL syntax.
				if parsed, diags := parseVarString(s.val.AsString(), v.Type); !diags.HasErrors() {
					s.val = parsed
				}
			}
			conv, err := convert.Convert(s.val, v.Type)
			if err != nil {
				if v.Sensitive {
					l.addSecret(s.shown...)
				}
				l.diags = append(l.diags, errorf(s.subject, "Invalid value for variable",
					"The value for variable %q from %s does not match its type %s: %s.", name, s.from, typeexpr.TypeString(v.Type), err))
				v.Value = cty.DynamicVal
				continue
			}
			v.Value = conv
		case v.Default != cty.NilVal:
			v.Value = v.Default
		default:
			l.diags = append(l.diags, errorf(v.DeclRange.Ptr(), "No value for required variable",
				"The variable %q has no default and no value. Set it with -var %s=VALUE, a -var-file, or the environment variable %s%s.",
				name, name, EnvVarPrefix, name))
			v.Value = cty.DynamicVal
		}
		val := v.Value
		if v.Sensitive {
			l.addSecret(secretStrings(val)...)
			val = val.Mark(sensitiveMark)
		}
		l.varValues[name] = val
	}
}

// anySensitive reports whether a variable is declared sensitive.
func (l *loader) anySensitive() bool {
	for _, v := range l.cfg.Variables {
		if v.Sensitive {
			return true
		}
	}
	return false
}

// exprSecrets returns what a sensitive variable's value expression shows
// of the secret in src: each line of its source text and every string
// literal in it.
func exprSecrets(expr hcl.Expression, src []byte) []string {
	var out []string
	for _, line := range strings.Split(string(expr.Range().SliceBytes(src)), "\n") {
		out = append(out, strings.TrimSpace(line))
	}
	if e, ok := expr.(hclsyntax.Expression); ok {
		_ = hclsyntax.VisitAll(e, func(n hclsyntax.Node) hcl.Diagnostics {
			if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && !lit.Val.IsNull() {
				out = append(out, lit.Val.AsString())
			}
			return nil
		})
	}
	return out
}

// parseVarString interprets a -var or environment value: strings and other
// primitives as is, complex types as HCL expressions.
func parseVarString(raw string, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if ty == cty.DynamicPseudoType || ty.IsPrimitiveType() {
		val, err := convert.Convert(cty.StringVal(raw), ty)
		if err != nil {
			return cty.DynamicVal, hcl.Diagnostics{errorf(nil, "Invalid value", "%s", err)}
		}
		return val, nil
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), "<value>", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, err := convert.Convert(val, ty)
	if err != nil {
		return cty.DynamicVal, hcl.Diagnostics{errorf(nil, "Invalid value", "%s", err)}
	}
	return val, nil
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].Range, out[j].Range
		if ri.Filename != rj.Filename {
			return ri.Filename < rj.Filename
		}
		return ri.Start.Byte < rj.Start.Byte
	})
	return out
}

func traversalString(t hcl.Traversal) string {
	s := t.RootName()
	for _, step := range t[1:] {
		switch step := step.(type) {
		case hcl.TraverseAttr:
			s += "." + step.Name
		case hcl.TraverseIndex:
			s += "[…]"
		}
	}
	return s
}

// checkName validates a block label as an identifier.
func (l *loader) checkName(b *hcl.Block, label int, kind string) bool {
	name := b.Labels[label]
	if hclsyntax.ValidIdentifier(name) {
		return true
	}
	l.diags = append(l.diags, errorf(b.LabelRanges[label].Ptr(), fmt.Sprintf("Invalid %s name", kind),
		"%q is not a valid name: a name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", name))
	return false
}
