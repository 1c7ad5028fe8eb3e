package adf

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzToText: ToText never panics, fails exactly when its input is not
// valid JSON (as encoding/json.Valid says) or not an object, string or
// null, returns valid UTF-8, and every word of every text node reachable
// through content arrays survives into the output. Seeds: testdata/fuzz/FuzzToText plus the table cases.
func FuzzToText(f *testing.F) {
	for _, s := range []string{
		`null`, `"wiki *text*"`, `{"type":"doc","version":1,"content":[]}`,
		`{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"hi","marks":[{"type":"link","attrs":{"href":"https://x"}}]}]}]}`,
		`{"type":"doc","content":[{"type":"table","content":[{"type":"tableRow","content":[{"type":"text","text":"cell"}]}]}]}`,
		`{"type":"doc","content":[{"type":"orderedList","attrs":{"order":-5},"content":[{"type":"listItem","content":[{"type":"text","text":"a"}]}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := ToText(doc)
		trimmed := bytes.TrimSpace(doc)
		valid := len(trimmed) == 0 || json.Valid(trimmed)
		docOrText := len(trimmed) == 0 || trimmed[0] == '{' || trimmed[0] == '"' || string(trimmed) == "null"
		if (err == nil) != (valid && docOrText) {
			t.Fatalf("ToText(%q) error %v; valid JSON %v, object, string or null %v", doc, err, valid, docOrText)
		}
		if err != nil {
			return
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 output %q", out)
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		for _, w := range textWords(v, 0) {
			if !strings.Contains(out, w) {
				t.Fatalf("word %q of a text node lost; output %q", w, out)
			}
		}
	})
}

// textWords collects the words of "text" nodes reachable the way ADF nests
// them (objects in "content" arrays).
func textWords(v any, depth int) []string {
	m, ok := v.(map[string]any)
	if !ok || depth > 2000 {
		return nil
	}
	var out []string
	if m["type"] == "text" {
		if s, ok := m["text"].(string); ok {
			out = append(out, strings.Fields(s)...)
		}
	}
	if cs, ok := m["content"].([]any); ok {
		for _, c := range cs {
			out = append(out, textWords(c, depth+1)...)
		}
	}
	return out
}
