package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
)

var seeds = []string{
	`{}`, `[]`, ` { "a" : 1 , "b":[1, 2,{"c":"}"}] } `, `{"a":"x\"y","b":"\\","c":"\\\""}`,
	`{"k\u00e9y":true,"a":null,"a":2}`, `[1,"two",{"3":[4]},[],{},null,-1.5e3]`, `"plain"`, `"esc\n\u0041"`,
	`{"nested":{"deep":[[[{"x":"]"}]]]}}`, "\"caf\xc3\xa9\"", "{\"bad\":\"\xff\"}", `{"a":"b\\"}`,
}

func TestObjectMatchesEncodingJSON(t *testing.T) {
	for _, s := range seeds {
		checkAgainstStdlib(t, []byte(s))
	}
}

func TestMalformed(t *testing.T) {
	for _, s := range []string{
		``, `{`, `[`, `{"a":1`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{"a":1}}`, `{"a":[1}`, `{"a":"x}`,
		`{a:1}`, `[1]x`, `{"a":}`, `{,}`, `"unterminated`, `[}`, `{"a":1 "b":2}`,
	} {
		if _, err := Object([]byte(s)); err == nil && s != `` {
			t.Errorf("Object(%q): no error", s)
		} else if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("Object(%q): %v does not wrap ErrSyntax", s, err)
		}
		if _, err := Array([]byte(s)); err == nil {
			t.Errorf("Array(%q): no error", s)
		}
	}
	if _, err := Object([]byte(`[1]`)); err == nil {
		t.Error("Object of an array: no error")
	}
	if _, err := Array([]byte(`{}`)); err == nil {
		t.Error("Array of an object: no error")
	}
	if _, err := String([]byte(`1`)); err == nil {
		t.Error("String of a number: no error")
	}
}

func TestCompactAliasesCompactInput(t *testing.T) {
	in := []byte(`{"a":"x y","b":[1,2]}`)
	out, err := Compact(in)
	if err != nil || &out[0] != &in[0] {
		t.Errorf("Compact of compact text copied or failed: %v", err)
	}
	out, err = Compact([]byte("{ \"a\" : [ 1 ,\n2 ] }"))
	if err != nil || string(out) != `{"a":[1,2]}` {
		t.Errorf("Compact = %s, %v", out, err)
	}
}

// checkAgainstStdlib compares every function with encoding/json on valid
// input; on invalid input it only requires no panic.
func checkAgainstStdlib(t *testing.T, in []byte) {
	t.Helper()
	valid := json.Valid(in)
	obj, oerr := Object(in)
	arr, aerr := Array(in)
	str, serr := String(in)
	cmp, cerr := Compact(in)
	if !valid {
		return
	}
	var wantObj map[string]json.RawMessage
	if json.Unmarshal(in, &wantObj) == nil && wantObj != nil {
		if oerr != nil {
			t.Fatalf("Object(%q): %v", in, oerr)
		}
		if !maps.EqualFunc(obj, wantObj, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("Object(%q) = %q, encoding/json %q", in, obj, wantObj)
		}
	} else if oerr == nil {
		t.Fatalf("Object(%q) accepted a non-object", in)
	}
	var wantArr []json.RawMessage
	if json.Unmarshal(in, &wantArr) == nil && wantArr != nil {
		if aerr != nil {
			t.Fatalf("Array(%q): %v", in, aerr)
		}
		if !slices.EqualFunc(arr, wantArr, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
			t.Fatalf("Array(%q) = %q, encoding/json %q", in, arr, wantArr)
		}
	} else if aerr == nil {
		t.Fatalf("Array(%q) accepted a non-array", in)
	}
	var wantStr string
	if json.Unmarshal(in, &wantStr) == nil && bytes.TrimSpace(in)[0] == '"' {
		if serr != nil || str != wantStr {
			t.Fatalf("String(%q) = %q, %v; encoding/json %q", in, str, serr, wantStr)
		}
	} else if serr == nil {
		t.Fatalf("String(%q) accepted a non-string", in)
	}
	var wantCmp bytes.Buffer
	if err := json.Compact(&wantCmp, in); err != nil {
		t.Fatal(err)
	}
	if cerr != nil || !bytes.Equal(cmp, bytes.TrimSpace(wantCmp.Bytes())) {
		t.Fatalf("Compact(%q) = %q, %v; encoding/json %q", in, cmp, cerr, wantCmp.Bytes())
	}
}

func FuzzAgainstEncodingJSON(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAgainstStdlib(t, in)
	})
}

func BenchmarkObject(b *testing.B) {
	doc := []byte(`{"id":"10001","key":"PROJ-1","fields":{"summary":"A summary with \"quotes\"","labels":["a","b"],` +
		`"description":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Hello"}]}]},` +
		`"created":"2021-05-08T07:04:25.376+0100","customfield_10001":12.5,"status":{"id":"1","name":"Open"}}}`)
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			if _, err := Object(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(doc, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
