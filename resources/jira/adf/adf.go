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
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("adf: invalid JSON: %w", err)
	}
	if dec.More() {
		return "", errors.New("adf: invalid JSON: data after the document")
	}
	switch t := v.(type) {
	case string:
		return t, nil
	case map[string]any:
		r := renderer{}
		return finish(r.block(t, 0)), nil
	default:
		return "", fmt.Errorf("adf: expected a document object, got %s", kind(v))
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// finish trims trailing spaces on each line and surrounding blank lines.
func finish(s string) string {
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

func nodeType(n map[string]any) string { s, _ := n["type"].(string); return s }

func attrs(n map[string]any) map[string]any {
	a, _ := n["attrs"].(map[string]any)
	return a
}

func attrString(n map[string]any, key string) string {
	switch v := attrs(n)[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

func children(n map[string]any) []map[string]any {
	raw, _ := n["content"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, c := range raw {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func isInline(n map[string]any) bool {
	t := nodeType(n)
	if inlineTypes[t] {
		return true
	}
	// Unknown leaf with text: treat as inline text.
	_, hasText := n["text"].(string)
	return hasText && n["content"] == nil
}

// block renders a block node; the result may span several lines.
func (r renderer) block(n map[string]any, depth int) string {
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
		for _, c := range children(n) {
			if s := r.block(c, depth+1); s != "" {
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
		return r.inline([]map[string]any{n}, depth+1)
	}
	// Unknown block: its text.
	return r.blocks(children(n), depth+1, "\n")
}

// blocks renders a sequence of nodes, grouping runs of inline nodes into one
// paragraph, and joins non-empty results with sep.
func (r renderer) blocks(nodes []map[string]any, depth int, sep string) string {
	var parts []string
	var run []map[string]any
	flush := func() {
		if len(run) > 0 {
			if s := r.inline(run, depth); strings.TrimSpace(s) != "" {
				parts = append(parts, s)
			}
			run = nil
		}
	}
	for _, c := range nodes {
		if isInline(c) {
			run = append(run, c)
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
func (r renderer) inline(nodes []map[string]any, depth int) string {
	var b strings.Builder
	for _, n := range nodes {
		t := nodeType(n)
		switch t {
		case "text":
			text, _ := n["text"].(string)
			if href := linkHref(n); href != "" && href != text {
				text = text + " (" + href + ")"
			}
			b.WriteString(text)
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
			if text, ok := n["text"].(string); ok {
				b.WriteString(text)
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

func (r renderer) list(n map[string]any, depth int, marker func(i int) string) string {
	var lines []string
	for i, item := range children(n) {
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

func isList(n map[string]any) bool {
	switch nodeType(n) {
	case "bulletList", "orderedList", "taskList", "decisionList":
		return true
	}
	return false
}

func (r renderer) table(n map[string]any, depth int) string {
	var rows []string
	for _, row := range children(n) {
		var cells []string
		for _, cell := range children(row) {
			var text string
			if isInline(cell) {
				text = r.inline([]map[string]any{cell}, depth+2)
			} else {
				text = r.blocks(children(cell), depth+2, " ")
			}
			cells = append(cells, strings.Join(strings.Fields(strings.ReplaceAll(text, "\n", " ")), " "))
		}
		if len(cells) == 0 && nodeType(row) != "tableRow" {
			cells = append(cells, r.block(row, depth+1))
		}
		rows = append(rows, strings.Join(cells, " | "))
	}
	return strings.Join(rows, "\n")
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

func linkHref(n map[string]any) string {
	marks, _ := n["marks"].([]any)
	for _, m := range marks {
		mm, ok := m.(map[string]any)
		if !ok || nodeType(mm) != "link" {
			continue
		}
		if href := attrString(mm, "href"); href != "" {
			return href
		}
	}
	return ""
}

func codeText(n map[string]any) string {
	var b strings.Builder
	for _, c := range children(n) {
		switch {
		case nodeType(c) == "hardBreak":
			b.WriteString("\n")
		case nodeType(c) == "text":
			t, _ := c["text"].(string)
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
func childrenText(n map[string]any) string {
	var parts []string
	for _, c := range children(n) {
		if s := flatText(c, 0); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func mediaText(n map[string]any, fallback string) string {
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

func cardText(n map[string]any) string {
	if u := attrString(n, "url"); u != "" {
		return u
	}
	if d, ok := attrs(n)["data"].(map[string]any); ok {
		if name, ok := d["name"].(string); ok {
			return name
		}
		if u, ok := d["url"].(string); ok {
			return u
		}
	}
	return ""
}

func extensionText(n map[string]any) string {
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
func flatText(n map[string]any, _ int) string {
	var b strings.Builder
	stack := []map[string]any{n}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t, ok := cur["text"].(string); ok {
			if b.Len() > 0 {
				b.WriteString(" ")
			}
			b.WriteString(t)
		}
		cs := children(cur)
		for i := len(cs) - 1; i >= 0; i-- {
			stack = append(stack, cs[i])
		}
	}
	return b.String()
}
