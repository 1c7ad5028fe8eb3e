// Package adf converts Atlassian Document Format (the JSON rich-text format
// of Jira Cloud v3 bodies: description, comment and worklog bodies, textarea
// custom fields) into readable plain text.
//
// Block nodes are separated by blank lines; lists use "- " bullets or "1. "
// numbers and indent nested levels by two spaces; table rows become lines of
// cells joined by " | "; mentions become @name; links keep their target as
// "text (url)"; media become placeholders such as [image: name.png]. Unknown
// node types contribute the text they contain, so new ADF features degrade
// to their text instead of disappearing.
package adf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jsync-dev/jsync/engine/jsonscan"
)

// maxDepth bounds recursion on hostile, deeply nested input. Deeper content
// is still rendered, flattened to its text.
const maxDepth = 200

// ToText renders an ADF document as plain text.
//
//   - null or empty input gives "" (Jira sends null for an empty body);
//   - a JSON string is returned as is (v2 and Data Center send wiki markup
//     strings where v3 sends ADF, so callers can pass either);
//   - an ADF node other than "doc" is rendered as a one-node document;
//   - anything else that is not valid JSON, or JSON that is not an object or
//     string, is an error.
//
// ToText never panics.
func ToText(doc json.RawMessage) (string, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return "", nil
	}
	v, ok := parse(trimmed)
	if !ok {
		// The parser says only whether; encoding/json says what is wrong.
		var v any
		err := json.Unmarshal(trimmed, &v)
		if err == nil {
			err = errors.New("not a single JSON value")
		}
		return "", fmt.Errorf("adf: invalid JSON: %w", err)
	}
	switch v.kind {
	case '"':
		s, _ := v.str()
		return s, nil
	case '{':
		r := renderer{}
		return finish(r.block(&v, 0)), nil
	}
	return "", fmt.Errorf("adf: expected a document object, got %s", kind(v.kind))
}

func kind(k byte) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '0':
		return "a number"
	}
	return "an array"
}

// finish trims trailing spaces on each line and surrounding blank lines.
func finish(s string) string {
	if !strings.Contains(s, "\n") {
		return strings.TrimRight(s, " \t")
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

type renderer struct{}

// inlineTypes are rendered within a line.
var inlineTypes = map[string]bool{
	"text": true, "hardBreak": true, "mention": true, "emoji": true, "inlineCard": true,
	"status": true, "date": true, "placeholder": true, "mediaInline": true,
	"inlineExtension": true,
}

func nodeType(n *value) string {
	t := n.get("type")
	if t == nil || t.kind != '"' {
		return ""
	}
	if jsonscan.PlainString(t.raw) {
		// A few types recur in every document: shared, not allocated.
		return jsonscan.Intern(t.raw[1 : len(t.raw)-1])
	}
	s, _ := t.str()
	return s
}

func attrs(n *value) *value { return n.get("attrs").object() }

func attrString(n *value, key string) string {
	switch v := attrs(n).get(key); {
	case v == nil:
	case v.kind == '"':
		s, _ := v.str()
		return s
	case v.kind == '0':
		return string(v.raw)
	}
	return ""
}

// text is n's "text" member, and whether it is a string.
func text(n *value) (string, bool) { return n.get("text").str() }

// children are the objects in n's content array. In valid ADF that is
// every element, and the array is returned as is.
func children(n *value) []value {
	c := n.get("content")
	if c == nil || c.kind != '[' {
		return nil
	}
	for i := range c.elems {
		if c.elems[i].kind != '{' {
			out := make([]value, 0, len(c.elems))
			for _, e := range c.elems {
				if e.kind == '{' {
					out = append(out, e)
				}
			}
			return out
		}
	}
	return c.elems
}

func isInline(n *value) bool {
	t := nodeType(n)
	if inlineTypes[t] {
		return true
	}
	// Unknown leaf with text: treat as inline text.
	_, hasText := text(n)
	c := n.get("content")
	return hasText && (c == nil || c.kind == 'n')
}

// block renders a block node; the result may span several lines.
func (r renderer) block(n *value, depth int) string {
	if depth > maxDepth {
		return flatText(n, 0)
	}
	switch nodeType(n) {
	case "doc", "blockquote", "panel", "layoutSection", "layoutColumn", "bodiedExtension", "extensionFrame", "multiBodiedExtension":
		body := r.blocks(children(n), depth+1, "\n\n")
		switch nodeType(n) {
		case "blockquote":
			return prefixLines(body, "> ", "> ")
		case "panel":
			if pt := attrString(n, "panelType"); pt != "" && body != "" {
				return "[" + pt + "] " + body
			}
		}
		return body
	case "paragraph":
		return r.inline(children(n), depth+1)
	case "heading":
		return r.inline(children(n), depth+1)
	case "codeBlock":
		return codeText(n)
	case "rule":
		return joinNonEmpty("\n", "---", childrenText(n))
	case "bulletList":
		return r.list(n, depth, func(int) string { return "- " })
	case "orderedList":
		start := 1
		if s := attrString(n, "order"); s != "" {
			if v, err := strconv.Atoi(s); err == nil && v >= 0 && v < 1<<30 {
				start = v
			}
		}
		return r.list(n, depth, func(i int) string { return strconv.Itoa(start+i) + ". " })
	case "taskList":
		return r.list(n, depth, func(int) string { return "" })
	case "decisionList":
		return r.list(n, depth, func(int) string { return "" })
	case "listItem":
		return r.blocks(children(n), depth+1, "\n")
	case "taskItem":
		box := "[ ] "
		if attrString(n, "state") == "DONE" {
			box = "[x] "
		}
		return box + r.blocks(children(n), depth+1, "\n")
	case "decisionItem":
		return "Decision: " + r.blocks(children(n), depth+1, "\n")
	case "table":
		return r.table(n, depth)
	case "expand", "nestedExpand":
		body := r.blocks(children(n), depth+1, "\n\n")
		if title := attrString(n, "title"); title != "" {
			return joinNonEmpty("\n", title, body)
		}
		return body
	case "mediaSingle", "mediaGroup":
		var parts []string
		cs := children(n)
		for i := range cs {
			if s := r.block(&cs[i], depth+1); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, "\n")
	case "media":
		return joinNonEmpty(" ", mediaText(n, "media"), childrenText(n))
	case "blockCard", "embedCard":
		return joinNonEmpty(" ", cardText(n), childrenText(n))
	case "extension":
		return joinNonEmpty(" ", extensionText(n), childrenText(n))
	}
	if isInline(n) {
		return r.inline([]value{*n}, depth+1)
	}
	// Unknown block: its text.
	return r.blocks(children(n), depth+1, "\n")
}

// blocks renders a sequence of nodes, grouping runs of inline nodes into one
// paragraph, and joins non-empty results with sep.
func (r renderer) blocks(nodes []value, depth int, sep string) string {
	var buf [4]string
	parts := buf[:0]
	var run []value
	flush := func() {
		if len(run) > 0 {
			if s := r.inline(run, depth); strings.TrimSpace(s) != "" {
				parts = append(parts, s)
			}
			run = nil
		}
	}
	for i := range nodes {
		c := &nodes[i]
		if isInline(c) {
			run = append(run, *c)
			continue
		}
		flush()
		if s := r.block(c, depth); strings.TrimSpace(s) != "" {
			parts = append(parts, s)
		}
	}
	flush()
	return strings.Join(parts, sep)
}

// inline renders inline nodes on one logical line (hardBreak adds newlines).
func (r renderer) inline(nodes []value, depth int) string {
	var b strings.Builder
	for i := 0; i < len(nodes); i++ {
		n := &nodes[i]
		t := nodeType(n)
		switch t {
		case "text":
			href := linkHref(n)
			if href == "" {
				n.get("text").writeTo(&b)
				break
			}
			// A link is split into several text nodes where another mark
			// changes (a bold word in it): its URL follows the last.
			start := b.Len()
			for ; i < len(nodes) && nodeType(&nodes[i]) == "text" && linkHref(&nodes[i]) == href; i++ {
				nodes[i].get("text").writeTo(&b)
			}
			i--
			if b.String()[start:] != href {
				b.WriteString(" (" + href + ")")
			}
		case "hardBreak":
			b.WriteString("\n")
		case "mention":
			name := attrString(n, "text")
			if name == "" {
				name = attrString(n, "displayName")
			}
			if name == "" {
				name = attrString(n, "id")
			}
			if !strings.HasPrefix(name, "@") {
				name = "@" + name
			}
			b.WriteString(name)
		case "emoji":
			if t := attrString(n, "text"); t != "" {
				b.WriteString(t)
			} else {
				b.WriteString(attrString(n, "shortName"))
			}
		case "inlineCard":
			b.WriteString(cardText(n))
		case "status":
			if t := attrString(n, "text"); t != "" {
				b.WriteString("[" + t + "]")
			}
		case "date":
			b.WriteString(dateText(attrString(n, "timestamp")))
		case "placeholder":
			b.WriteString(attrString(n, "text"))
		case "mediaInline":
			b.WriteString(mediaText(n, "attachment"))
		case "inlineExtension":
			b.WriteString(extensionText(n))
		default:
			if depth > maxDepth {
				b.WriteString(flatText(n, 0))
				continue
			}
			if s, ok := text(n); ok {
				b.WriteString(s)
			}
			if cs := children(n); len(cs) > 0 {
				b.WriteString(r.blocks(cs, depth+1, " "))
			}
		}
		if inlineTypes[t] {
			// Known inline nodes have no content in valid ADF; keep any
			// text a producer put there anyway.
			if ct := childrenText(n); ct != "" {
				if b.Len() > 0 {
					b.WriteString(" ")
				}
				b.WriteString(ct)
			}
		}
	}
	return b.String()
}

func (r renderer) list(n *value, depth int, marker func(i int) string) string {
	var lines []string
	items := children(n)
	for i := range items {
		item := &items[i]
		body := r.block(item, depth+1)
		if nodeType(item) != "listItem" && nodeType(item) != "taskItem" && nodeType(item) != "decisionItem" {
			// Nested lists appear directly in taskList; keep them indented.
			if isList(item) {
				lines = append(lines, prefixLines(body, "  ", "  "))
				continue
			}
		}
		m := marker(i)
		lines = append(lines, prefixLines(body, m, strings.Repeat(" ", max(len(m), 2))))
	}
	return strings.Join(lines, "\n")
}

func isList(n *value) bool {
	switch nodeType(n) {
	case "bulletList", "orderedList", "taskList", "decisionList":
		return true
	}
	return false
}

func (r renderer) table(n *value, depth int) string {
	rows := children(n)
	lines := make([]string, 0, len(rows))
	for ri := range rows {
		row := &rows[ri]
		var cells []string
		cs := children(row)
		for ci := range cs {
			cell := &cs[ci]
			var text string
			if isInline(cell) {
				text = r.inline(cs[ci:ci+1], depth+2)
			} else {
				text = r.blocks(children(cell), depth+2, " ")
			}
			cells = append(cells, strings.Join(strings.Fields(strings.ReplaceAll(text, "\n", " ")), " "))
		}
		if len(cells) == 0 && nodeType(row) != "tableRow" {
			cells = append(cells, r.block(row, depth+1))
		}
		lines = append(lines, strings.Join(cells, " | "))
	}
	return strings.Join(lines, "\n")
}

// prefixLines puts first before the first line and rest before the others.
func prefixLines(s, first, rest string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		p := rest
		if i == 0 {
			p = first
		}
		if l == "" && i > 0 {
			lines[i] = strings.TrimRight(p, " ")
			continue
		}
		lines[i] = p + l
	}
	return strings.Join(lines, "\n")
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func linkHref(n *value) string {
	marks := n.get("marks")
	if marks == nil {
		return ""
	}
	for i := range marks.elems {
		mm := marks.elems[i].object()
		if mm == nil || nodeType(mm) != "link" {
			continue
		}
		if href := attrString(mm, "href"); href != "" {
			return href
		}
	}
	return ""
}

func codeText(n *value) string {
	var b strings.Builder
	cs := children(n)
	for i := range cs {
		c := &cs[i]
		switch {
		case nodeType(c) == "hardBreak":
			b.WriteString("\n")
		case nodeType(c) == "text":
			t, _ := text(c)
			b.WriteString(t)
			if ct := childrenText(c); ct != "" {
				b.WriteString(" " + ct)
			}
		default:
			b.WriteString(flatText(c, 0))
		}
	}
	return b.String()
}

// childrenText is the flattened text under n's children.
func childrenText(n *value) string {
	var parts []string
	cs := children(n)
	for i := range cs {
		if s := flatText(&cs[i], 0); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func mediaText(n *value, fallback string) string {
	label := attrString(n, "alt")
	if label == "" {
		label = attrString(n, "filename")
	}
	if label == "" {
		label = attrString(n, "name")
	}
	kind := fallback
	if t := attrString(n, "type"); t == "file" || t == "link" || t == "external" {
		kind = "attachment"
		if t == "external" {
			kind = "image"
			if label == "" {
				label = attrString(n, "url")
			}
		}
	}
	if label == "" {
		return "[" + kind + "]"
	}
	return "[" + kind + ": " + label + "]"
}

func cardText(n *value) string {
	if u := attrString(n, "url"); u != "" {
		return u
	}
	if d := attrs(n).get("data").object(); d != nil {
		if name, ok := d.get("name").str(); ok {
			return name
		}
		if u, ok := d.get("url").str(); ok {
			return u
		}
	}
	return ""
}

func extensionText(n *value) string {
	if t := attrString(n, "text"); t != "" {
		return t
	}
	if k := attrString(n, "extensionKey"); k != "" {
		return "[" + k + "]"
	}
	return ""
}

// dateText renders a date node's epoch-milliseconds timestamp as yyyy-mm-dd
// (UTC), or the raw value if it is not a number.
func dateText(ts string) string {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ts
	}
	const limit = 1 << 53
	if ms > limit || ms < -limit {
		return ts
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02")
}

// flatText is the concatenated text of every text leaf under n, iteratively
// (no recursion), for content nested beyond maxDepth.
func flatText(n *value, _ int) string {
	var b strings.Builder
	stack := []*value{n}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t, ok := text(cur); ok {
			if b.Len() > 0 {
				b.WriteString(" ")
			}
			b.WriteString(t)
		}
		cs := children(cur)
		for i := len(cs) - 1; i >= 0; i-- {
			stack = append(stack, &cs[i])
		}
	}
	return b.String()
}
