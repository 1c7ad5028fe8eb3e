package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// walk splits every container of raw, depth first, and describes what each
// function returned: the same text with and without an index means the
// index changed no result.
func walk(raw []byte) string {
	var sb strings.Builder
	var rec func(v []byte, depth int)
	rec = func(v []byte, depth int) {
		c, err := Compact(v)
		fmt.Fprintf(&sb, "%d compact %q %v\n", depth, c, err)
		if o, err := Object(v); err == nil {
			for _, k := range sortedKeys(o) {
				fmt.Fprintf(&sb, "%d key %q\n", depth, k)
				rec(o[k], depth+1)
			}
		} else {
			fmt.Fprintf(&sb, "%d object error %v\n", depth, err)
		}
		if a, err := Array(v); err == nil {
			for _, it := range a {
				rec(it, depth+1)
			}
		} else {
			fmt.Fprintf(&sb, "%d array error %v\n", depth, err)
		}
	}
	rec(raw, 0)
	return sb.String()
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys { // insertion sort: tiny maps
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// validator is reused by every checkIndex, as the DuckDB destination
// reuses one across values.
var validator Validator

// checkIndex requires Index and a reused Validator to accept exactly what
// encoding/json.Valid accepts and, for valid input, splitting with the
// index registered to give what scanning gives.
func checkIndex(t *testing.T, in []byte) {
	t.Helper()
	d := Index(in)
	valid := json.Valid(in)
	if (d != nil) != valid {
		t.Fatalf("Index(%q) valid = %v, encoding/json.Valid = %v", in, d != nil, valid)
	}
	if got := validator.Valid(in); got != valid {
		t.Fatalf("Validator.Valid(%q) = %v, encoding/json.Valid = %v", in, got, valid)
	}
	if d == nil {
		return
	}
	want := walk(in)
	d.Register()
	got := walk(in)
	d.Release()
	if got != want {
		t.Fatalf("Index(%q): splitting with the index differs:\n%s\nwithout:\n%s", in, got, want)
	}
}

func TestIndexMatchesEncodingJSON(t *testing.T) {
	cases := append([]string{
		``, ` `, `1`, `-0`, `-`, `01`, `1.`, `1.5`, `1e5`, `1E+5`, `1e`, `1e+`, `.5`, `+1`, `true`, `tru`, `truex`, `nul`, `null `,
		`"\u12"`, `"\u12g4"`, `"\x"`, "\"\x01\"", "\"\t\"", `"\/"`, `[1,2`, `[1,2]]`, `{"a":1}{}`, `{"a"}`, `{1:2}`, `[,1]`,
		"\"\xff\xfe\"", ` [ { "a" : [ ] , "b" : { } } ] `, `{"a":[{"b":[{"c":[]}]}],"d":"[{"}`,
		strings.Repeat(`{"a":`, 300) + "1" + strings.Repeat("}", 300),
	}, seeds...)
	for _, s := range cases {
		checkIndex(t, []byte(s))
	}
	// encoding/json's nesting limit.
	for _, depth := range []int{MaxDepth, MaxDepth + 1} {
		in := []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
		if got, want := Index(in) != nil, json.Valid(in); got != want {
			t.Errorf("depth %d: Index valid = %v, encoding/json.Valid = %v", depth, got, want)
		}
		if got, want := validator.Valid(in), json.Valid(in); got != want {
			t.Errorf("depth %d: Validator.Valid = %v, encoding/json.Valid = %v", depth, got, want)
		}
	}
}

func TestIndexLookupOnlyInsideRegisteredDocs(t *testing.T) {
	doc := []byte(`{"a":{"b":[1,2,{"c":3}]},"d":[4]}`)
	d := Index(doc)
	if d == nil {
		t.Fatal("valid document rejected")
	}
	if _, _, ok := indexedEnd(doc, 0); ok {
		t.Fatal("lookup succeeded before Register")
	}
	d.Register()
	end, _, ok := indexedEnd(doc, 5) // {"b":...}
	if !ok || string(doc[5:end]) != `{"b":[1,2,{"c":3}]}` {
		t.Fatalf("indexed end of the inner object: %d %v", end, ok)
	}
	cp := bytes.Clone(doc)
	if _, _, ok := indexedEnd(cp, 5); ok {
		t.Fatal("lookup succeeded on a copy of the document")
	}
	if _, _, ok := indexedEnd(doc, 6); ok {
		t.Fatal("lookup succeeded at an offset that starts no container")
	}
	// A value cut short inside the document is scanned, and fails, rather
	// than trusted to end where the index says.
	if _, err := Object(doc[5:10]); err == nil {
		t.Fatal("Object of a cut value succeeded")
	}
	d.Release()
	if _, _, ok := indexedEnd(doc, 5); ok {
		t.Fatal("lookup succeeded after Release")
	}
}

func TestRegistryIsBounded(t *testing.T) {
	docs := make([]*Doc, maxRegistered+5)
	for i := range docs {
		docs[i] = Index([]byte(`[[1]]`))
		docs[i].Register()
	}
	defer func() {
		for _, d := range docs {
			d.Release()
		}
	}()
	if n := len(*registry.Load()); n != maxRegistered {
		t.Fatalf("registry holds %d documents, want at most %d", n, maxRegistered)
	}
	if _, _, ok := indexedEnd(docs[0].b, 1); ok {
		t.Fatal("the oldest document should have been dropped")
	}
	if _, _, ok := indexedEnd(docs[len(docs)-1].b, 1); !ok {
		t.Fatal("the newest document is not registered")
	}
}

func BenchmarkValidate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"issues":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"%d","self":"https://example.atlassian.net/rest/api/3/issue/%d","fields":{"summary":"Summary \"%d\" with some text","labels":["a","b"],"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Hello, world. Some longer text to make the string scanning matter."}]}]},"created":"2021-05-08T07:04:25.376+0100","customfield_10001":12.5,"status":{"id":"1","name":"Open","statusCategory":{"id":2,"key":"new"}}}}`, i, i, i)
	}
	sb.WriteString(`]}`)
	doc := []byte(sb.String())
	b.SetBytes(int64(len(doc)))
	b.Run("Index", func(b *testing.B) {
		for b.Loop() {
			if Index(doc) == nil {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("Validator", func(b *testing.B) {
		var v Validator
		for b.Loop() {
			if !v.Valid(doc) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("encoding-json.Valid", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(doc) {
				b.Fatal("invalid")
			}
		}
	})
}
