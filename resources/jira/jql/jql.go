// Package jql builds the JQL queries jsync sends to Jira. Every value that
// comes from configuration or from Jira (project keys, ids, filters) passes
// through Quote, so it can neither break the query nor inject clauses.
//
// Date bounds are written as unquoted epoch milliseconds
// (updated >= 1732877091000): Jira reads a zone-less date literal in the
// searching user's profile time zone, which has lost data in other tools;
// epoch milliseconds have no zone to lose.
package jql

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Quote returns s as a JQL string literal in double quotes, escaping
// backslash, double quote and every control or non-printing character
// (\n, \r, \t, else \uXXXX). Invalid UTF-8 bytes become U+FFFD.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0xfeff {
				fmt.Fprintf(&b, `\u%04x`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Unquote parses one JQL string literal as written by Quote (double or
// single quotes, with \" \' \\ \n \r \t \uXXXX and "\ " escapes) and
// returns its value. The whole input must be the literal.
func Unquote(lit string) (string, error) {
	if len(lit) < 2 || (lit[0] != '"' && lit[0] != '\'') {
		return "", errors.New("jql: not a quoted string")
	}
	val, n, err := scanString(lit, 0)
	if err != nil {
		return "", err
	}
	if n != len(lit) {
		return "", errors.New("jql: data after the closing quote")
	}
	return val, nil
}

// scanString reads the quoted string starting at s[i]; it returns the value
// and the index after the closing quote.
func scanString(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\':
			if j+1 >= len(s) {
				return "", 0, errors.New("jql: unterminated escape")
			}
			e := s[j+1]
			switch e {
			case '"', '\'', '\\', ' ':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if j+6 > len(s) {
					return "", 0, errors.New("jql: short \\u escape")
				}
				v, err := strconv.ParseUint(s[j+2:j+6], 16, 32)
				if err != nil {
					return "", 0, fmt.Errorf("jql: bad \\u escape %q", s[j:j+6])
				}
				b.WriteRune(rune(v))
				j += 6
				continue
			default:
				return "", 0, fmt.Errorf("jql: unknown escape \\%c", e)
			}
			j += 2
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			b.WriteRune(r)
			j += size
		}
	}
	return "", 0, errors.New("jql: unterminated string")
}

// Field renders a field name for a clause or ORDER BY: a plain name
// (updated, project, cf[10010], customfield_10010) as is, anything else
// quoted (a custom field's display name such as "Story Points").
func Field(name string) string {
	if isPlainField(name) {
		return name
	}
	return Quote(name)
}

func isPlainField(name string) bool {
	if name == "" || reserved[strings.ToLower(name)] {
		return false
	}
	if strings.HasPrefix(name, "cf[") && strings.HasSuffix(name, "]") {
		_, err := strconv.ParseUint(name[3:len(name)-1], 10, 64)
		return err == nil
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// reserved are JQL keywords that cannot be bare field names.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "is": true, "was": true, "changed": true,
	"order": true, "by": true, "asc": true, "desc": true, "empty": true, "null": true,
}

// EpochMillis renders t as an unquoted JQL datetime: milliseconds since the
// Unix epoch, which Jira reads without any time-zone interpretation.
func EpochMillis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Direction is an ORDER BY direction.
type Direction string

const (
	Asc  Direction = "ASC"
	Desc Direction = "DESC"
)

// Builder accumulates clauses joined by AND and an ORDER BY list. The zero
// value is ready to use. Errors are collected and reported by Build.
type Builder struct {
	clauses []string
	order   []string
	errs    []error
}

// New returns an empty Builder.
func New() *Builder { return &Builder{} }

// ProjectIn adds `project in ("A", "B")`. Keys or ids are quoted, so no key
// can break out of the list. No keys is an error (JQL has no empty list).
func (b *Builder) ProjectIn(keys ...string) *Builder { return b.In("project", keys...) }

// In adds `field in (v1, v2, …)` with every value quoted.
func (b *Builder) In(field string, values ...string) *Builder {
	if len(values) == 0 {
		b.errs = append(b.errs, fmt.Errorf("jql: %s in (): needs at least one value", field))
		return b
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = Quote(v)
	}
	b.clauses = append(b.clauses, Field(field)+" in ("+strings.Join(q, ", ")+")")
	return b
}

// Equals adds `field = "value"`.
func (b *Builder) Equals(field, value string) *Builder {
	b.clauses = append(b.clauses, Field(field)+" = "+Quote(value))
	return b
}

// UpdatedSince adds `updated >= <epoch ms>`.
func (b *Builder) UpdatedSince(t time.Time) *Builder { return b.TimeAtLeast("updated", t) }

// UpdatedBefore adds `updated < <epoch ms>`.
func (b *Builder) UpdatedBefore(t time.Time) *Builder { return b.TimeBefore("updated", t) }

// TimeAtLeast adds `field >= <epoch ms>` (e.g. created, updated).
func (b *Builder) TimeAtLeast(field string, t time.Time) *Builder {
	b.clauses = append(b.clauses, Field(field)+" >= "+EpochMillis(t))
	return b
}

// TimeBefore adds `field < <epoch ms>`.
func (b *Builder) TimeBefore(field string, t time.Time) *Builder {
	b.clauses = append(b.clauses, Field(field)+" < "+EpochMillis(t))
	return b
}

// Where adds a user-written JQL filter (from configuration), wrapped in
// parentheses. The filter is checked first: strings must be closed,
// parentheses balanced, and it may not contain ORDER BY, so it can only
// narrow the query, never rewrite it. A bad filter is reported by Build.
func (b *Builder) Where(filter string) *Builder {
	if strings.TrimSpace(filter) == "" {
		return b
	}
	if err := CheckFilter(filter); err != nil {
		b.errs = append(b.errs, err)
		return b
	}
	b.clauses = append(b.clauses, "("+strings.TrimSpace(filter)+")")
	return b
}

// OrderBy appends a sort key, e.g. OrderBy("updated", Asc).
func (b *Builder) OrderBy(field string, dir Direction) *Builder {
	if dir != Asc && dir != Desc {
		b.errs = append(b.errs, fmt.Errorf("jql: order by %s: direction %q is not ASC or DESC", field, dir))
		return b
	}
	b.order = append(b.order, Field(field)+" "+string(dir))
	return b
}

// Build returns the query, or the first error recorded while building. A
// query with no clauses and no order is an error: Cloud rejects unbounded
// JQL.
func (b *Builder) Build() (string, error) {
	if len(b.errs) > 0 {
		return "", errors.Join(b.errs...)
	}
	if len(b.clauses) == 0 {
		return "", errors.New("jql: no clauses (Jira Cloud rejects unbounded queries)")
	}
	q := strings.Join(b.clauses, " AND ")
	if len(b.order) > 0 {
		q += " ORDER BY " + strings.Join(b.order, ", ")
	}
	return q, nil
}

// String is Build without the error (for logs); it shows "<invalid JQL: …>"
// when Build fails.
func (b *Builder) String() string {
	q, err := b.Build()
	if err != nil {
		return "<invalid JQL: " + err.Error() + ">"
	}
	return q
}

// CheckFilter validates a user JQL filter for Where: closed strings, balanced
// parentheses, no ORDER BY, no empty input.
func CheckFilter(filter string) error {
	toks, err := Tokenize(filter)
	if err != nil {
		return fmt.Errorf("jql filter %q: %w", filter, err)
	}
	if len(toks) == 0 {
		return fmt.Errorf("jql filter %q: empty", filter)
	}
	depth := 0
	for i, t := range toks {
		switch {
		case t.Kind == Punct && t.Text == "(":
			depth++
		case t.Kind == Punct && t.Text == ")":
			depth--
			if depth < 0 {
				return fmt.Errorf("jql filter %q: unbalanced ')'", filter)
			}
		case t.Kind == Word && strings.EqualFold(t.Text, "order") && i+1 < len(toks) &&
			toks[i+1].Kind == Word && strings.EqualFold(toks[i+1].Text, "by"):
			return fmt.Errorf("jql filter %q: must not contain ORDER BY (jsync sets the order)", filter)
		}
	}
	if depth != 0 {
		return fmt.Errorf("jql filter %q: unbalanced '('", filter)
	}
	return nil
}

// TokenKind classifies a token.
type TokenKind int

const (
	Word   TokenKind = iota // field names, keywords, functions, unquoted values, numbers
	String                  // a quoted string; Text is the decoded value
	Punct                   // ( ) , and operators = != < > <= >= ~ !~
)

// Token is one lexical JQL token.
type Token struct {
	Kind TokenKind
	Text string
}

// Tokenize splits JQL into words, decoded strings and punctuation. It is
// used to validate filters and, in tests, to prove quoted values stay single
// tokens.
func Tokenize(s string) ([]Token, error) {
	var out []Token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			v, n, err := scanString(s, i)
			if err != nil {
				return nil, err
			}
			out = append(out, Token{Kind: String, Text: v})
			i = n
		case c == '(' || c == ')' || c == ',':
			out = append(out, Token{Kind: Punct, Text: string(c)})
			i++
		case c == '=' || c == '~':
			out = append(out, Token{Kind: Punct, Text: string(c)})
			i++
		case c == '!' || c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || (c == '!' && s[i+1] == '~')) {
				out = append(out, Token{Kind: Punct, Text: s[i : i+2]})
				i += 2
			} else if c == '!' {
				return nil, fmt.Errorf("jql: stray '!' at offset %d", i)
			} else {
				out = append(out, Token{Kind: Punct, Text: string(c)})
				i++
			}
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r\"'(),=~!<>", rune(s[j])) {
				if s[j] == '\\' {
					// Jira allows escapes in unquoted words; readers may
					// disagree on where such a word ends, so refuse it.
					return nil, fmt.Errorf("jql: backslash outside a quoted string at offset %d", j)
				}
				j++
			}
			out = append(out, Token{Kind: Word, Text: s[i:j]})
			i = j
		}
	}
	return out, nil
}
