package config

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Redacted replaces secret values in diagnostics and rendered output.
const Redacted = "(sensitive)"

// MinRedactLen is the shortest secret that redaction replaces in free text
// (the CLI's output and the Jira client's errors follow it too):
// replacing one- to three-character strings would garble every message,
// and such values are not real secrets. Diagnostics never quote sensitive
// values in the first place.
const MinRedactLen = 4

// sensitiveMark marks cty values that come from secrets, so values derived
// from them (local.auth = "Bearer ${var.token}") stay secret too, and HCL's
// diagnostic writer does not print them.
const sensitiveMark = "sensitive"

func errorf(subject *hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  subject,
	}
}

func warnf(subject *hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := errorf(subject, summary, format, args...)
	d.Severity = hcl.DiagWarning
	return d
}

// didYouMean returns ` Did you mean "x"?` for the closest candidate, or "".
func didYouMean(given string, candidates []string) string {
	if s := suggest(given, candidates); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// suggest returns the candidate closest to given when it is close enough to
// be a likely typo, else "".
func suggest(given string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.Distance(given, c, nil)
		limit := 3
		if len(c) < 6 {
			limit = 2
		}
		if d <= limit && (best == "" || d < bestDist || d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	return best
}

// sortedKeys returns the map's keys sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// badEncodingSummary is the summary of HCL's diagnostic for bytes that are
// not UTF-8. The parser then also fails on the same bytes (an unterminated
// string, an invalid expression...), which says nothing more.
const badEncodingSummary = "Invalid character encoding"

// dedupeDiagnostics drops diagnostics identical to an earlier one (severity,
// summary, detail and range), and the parse errors HCL reports at the very
// range of an invalid UTF-8 encoding besides the encoding error, so each
// problem is reported once.
func dedupeDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	type key struct {
		severity        hcl.DiagnosticSeverity
		summary, detail string
		subject         hcl.Range
	}
	badEncoding := map[hcl.Range]bool{}
	for _, d := range diags {
		if d.Summary == badEncodingSummary && d.Subject != nil {
			badEncoding[*d.Subject] = true
		}
	}
	seen := map[key]bool{}
	out := diags[:0]
	for _, d := range diags {
		k := key{severity: d.Severity, summary: d.Summary, detail: d.Detail}
		if d.Subject != nil {
			k.subject = *d.Subject
			if badEncoding[k.subject] && d.Summary != badEncodingSummary && d.Severity == hcl.DiagError {
				continue
			}
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

// Redact replaces every secret value in s with "(sensitive)".
func (c *Config) Redact(s string) string { return redact(s, c.Sensitive) }

func redact(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= MinRedactLen {
			s = strings.ReplaceAll(s, secret, Redacted)
		}
	}
	return s
}

// WriteDiagnostics renders each diagnostic as one line in HCL's compact
// form, "Error: file.hcl:12,3-9: Summary; detail", followed by the source
// line with the subject underlined. Every secret value in the output,
// snippets included, is replaced with "(sensitive)". files may be nil (no
// snippets).
func WriteDiagnostics(w io.Writer, files map[string]*hcl.File, sensitive []string, diags hcl.Diagnostics, color bool) error {
	var buf strings.Builder
	for _, d := range diags {
		label, start, end := "Error", "", ""
		if d.Severity == hcl.DiagWarning {
			label = "Warning"
		}
		if color {
			start, end = "\x1b[1;31m", "\x1b[0m"
			if d.Severity == hcl.DiagWarning {
				start = "\x1b[1;33m"
			}
		}
		var head strings.Builder
		if d.Subject != nil {
			head.WriteString(d.Subject.String() + ": ")
		}
		head.WriteString(d.Summary)
		if d.Detail != "" {
			head.WriteString("; " + d.Detail)
		}
		buf.WriteString(start + label + ":" + end + " " + redact(head.String(), sensitive) + "\n")
		if d.Subject != nil {
			if f := files[d.Subject.Filename]; f != nil {
				writeSnippet(&buf, f.Bytes, *d.Subject, sensitive)
			}
		}
	}
	if _, err := io.WriteString(w, buf.String()); err != nil {
		return fmt.Errorf("write diagnostics: %w", err)
	}
	return nil
}

// writeSnippet writes the subject's first line, numbered and with its
// secrets redacted, with the subject underlined (to the end of the line
// when it spans several). The underline follows the redacted line: a
// subject that begins or ends inside a secret covers all of "(sensitive)".
func writeSnippet(buf *strings.Builder, src []byte, r hcl.Range, secrets []string) {
	lines := strings.Split(string(src), "\n")
	if r.Start.Line < 1 || r.Start.Line > len(lines) {
		return
	}
	line := strings.TrimRight(lines[r.Start.Line-1], "\r")
	prefix := fmt.Sprintf("%5d: ", r.Start.Line)
	runes, startAt, endAt := redactLine(line, secrets)
	buf.WriteString(prefix + string(runes) + "\n")
	n := len(startAt) - 1 // runes in the original line
	from := startAt[min(max(r.Start.Column-1, 0), n)]
	to := len(runes)
	if r.End.Line == r.Start.Line {
		to = min(max(endAt[min(max(r.End.Column-1, 0), n)], from+1), len(runes))
	}
	pad := make([]rune, from)
	for i := range pad {
		pad[i] = ' '
		if runes[i] == '\t' {
			pad[i] = '\t'
		}
	}
	buf.WriteString(strings.Repeat(" ", len(prefix)) + string(pad) + strings.Repeat("^", max(to-from, 1)) + "\n")
}

// redactLine replaces every stretch of line covered by secrets (those long
// enough to redact; overlapping and adjacent ones merge) with "(sensitive)".
// It returns the result as runes and, for each rune offset 0..n of the
// original line, the offset in the result where a range starting there
// begins (startAt) and where a range ending there ends (endAt); they differ
// only inside a redacted stretch, which they widen to all of it.
func redactLine(line string, secrets []string) (out []rune, startAt, endAt []int) {
	hidden := make([]bool, len(line))
	for _, s := range secrets {
		if len(s) < MinRedactLen {
			continue
		}
		for i := 0; ; i++ {
			j := strings.Index(line[i:], s)
			if j < 0 {
				break
			}
			i += j
			for k := i; k < i+len(s); k++ {
				hidden[k] = true
			}
		}
	}
	redacted := []rune(Redacted)
	n := utf8.RuneCountInString(line)
	startAt, endAt = make([]int, n+1), make([]int, n+1)
	i, inside, stretch := 0, false, 0
	for b, r := range line {
		_, size := utf8.DecodeRuneInString(line[b:])
		switch {
		case !slices.Contains(hidden[b:b+size], true):
			inside = false
			startAt[i], endAt[i] = len(out), len(out)
			out = append(out, r)
		case !inside: // the first rune of a stretch
			inside, stretch = true, len(out)
			startAt[i], endAt[i] = stretch, stretch
			out = append(out, redacted...)
		default:
			startAt[i], endAt[i] = stretch, stretch+len(redacted)
		}
		i++
	}
	startAt[n], endAt[n] = len(out), len(out)
	return out, startAt, endAt
}

// WriteDiagnostics renders diags with the config's files and secrets; see the
// package-level WriteDiagnostics. c may be nil.
func (c *Config) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics, color bool) error {
	if c == nil {
		return WriteDiagnostics(w, nil, nil, diags, color)
	}
	return WriteDiagnostics(w, c.Files, c.Sensitive, diags, color)
}

// scrubDiagnostics removes secrets from diagnostics in place: text is
// redacted and any EvalContext is replaced by a copy whose secret values
// read "(sensitive)".
func scrubDiagnostics(diags hcl.Diagnostics, secrets []string) {
	scrubbed := map[*hcl.EvalContext]*hcl.EvalContext{}
	for _, d := range diags {
		d.Summary = redact(d.Summary, secrets)
		d.Detail = redact(d.Detail, secrets)
		if d.EvalContext != nil {
			ctx, ok := scrubbed[d.EvalContext]
			if !ok {
				ctx = scrubEvalContext(d.EvalContext, secrets)
				scrubbed[d.EvalContext] = ctx
			}
			d.EvalContext = ctx
		}
	}
}

func scrubEvalContext(ctx *hcl.EvalContext, secrets []string) *hcl.EvalContext {
	out := &hcl.EvalContext{Functions: ctx.Functions, Variables: map[string]cty.Value{}}
	for name, v := range ctx.Variables {
		out.Variables[name] = scrubValue(v, secrets)
	}
	return out
}

// scrubValue replaces marked values, and strings containing a secret, with
// "(sensitive)".
func scrubValue(v cty.Value, secrets []string) cty.Value {
	out, err := cty.Transform(v, func(_ cty.Path, v cty.Value) (cty.Value, error) {
		if v.HasMark(sensitiveMark) {
			return cty.StringVal(Redacted), nil
		}
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() && !v.IsMarked() {
			if s := v.AsString(); redact(s, secrets) != s {
				return cty.StringVal(Redacted), nil
			}
		}
		return v, nil
	})
	if err != nil {
		return cty.DynamicVal
	}
	return out
}

// secretStrings returns every string inside v (unmarked).
func secretStrings(v cty.Value) []string {
	var out []string
	v, _ = v.UnmarkDeep()
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if v.Type() == cty.String && v.IsKnown() && !v.IsNull() && v.AsString() != "" {
			out = append(out, v.AsString())
		}
		return true, nil
	})
	return out
}
