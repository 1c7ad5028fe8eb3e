package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// checkAgainstStdlib checks Index against encoding/json.Valid (checkIndex)
// and compares every function with encoding/json on valid
// input; on invalid input it only requires no panic.
func checkAgainstStdlib(t *testing.T, in []byte) {
	t.Helper()
	checkIndex(t, in)
	valid := json.Valid(in)
	obj, oerr := Object(in)
	ms, merr := Members(in)
	arr, aerr := Array(in)
	str, serr := String(in)
	cmp, cerr := Compact(in)
	if !valid {
		return
	}
	sameAsStdlib(t, "Object", in, obj, oerr)
	// Members, read back through Get (a repeated key's last value wins).
	var byGet map[string]json.RawMessage
	if merr == nil {
		byGet = map[string]json.RawMessage{}
		for _, m := range ms {
			byGet[m.Key] = Get(ms, m.Key)
		}
	}
	sameAsStdlib(t, "Members", in, byGet, merr)
	sameAsStdlib(t, "Array", in, arr, aerr)
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

// sameAsStdlib requires got to equal what encoding/json decodes in into
// (a map or slice of raw values), or an error where encoding/json gives a
// different kind of value.
func sameAsStdlib[T any](t *testing.T, name string, in []byte, got T, gotErr error) {
	t.Helper()
	var want T
	if json.Unmarshal(in, &want) == nil && !reflect.ValueOf(want).IsNil() {
		if gotErr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s(%q) = %s, %v; encoding/json %s", name, in, fmt.Sprintf("%q", any(got)), gotErr, fmt.Sprintf("%q", any(want)))
		}
	} else if gotErr == nil {
		t.Fatalf("%s(%q) accepted a value of another kind", name, in)
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
	b.Run("members", func(b *testing.B) {
		for b.Loop() {
			if _, err := Members(doc); err != nil {
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

func TestAppendWithout(t *testing.T) {
	cases := []struct {
		name, in, want string
		drop           []string
	}{
		{name: "none present", in: `{"a":1,"b":[2]}`, drop: []string{"c"}, want: `{"a":1,"b":[2]}`},
		{name: "none present, spaced", in: ` { "a" : 1 } `, drop: []string{"c"}, want: `{"a":1}`},
		{name: "drop one", in: `{"a":1,"comment":{"comments":[{"id":"1"}]},"b":"x"}`, drop: []string{"comment"}, want: `{"a":1,"b":"x"}`},
		{name: "drop first and last, spaced value", in: `{"comment":1,"a":{"k":[1, 2]},"worklog":2}`, drop: []string{"comment", "worklog"}, want: `{"a":{"k":[1,2]}}`},
		{name: "drop all", in: `{"comment":1}`, drop: []string{"comment"}, want: `{}`},
		{name: "empty", in: `{}`, drop: []string{"comment"}, want: `{}`},
		{name: "escaped key encoded again", in: `{"a\u0062<":1,"comment":2}`, drop: []string{"comment"}, want: `{"ab\u003c":1}`},
		{name: "unescaped non-ASCII key", in: `{"zoë":1,"comment":2}`, drop: []string{"comment"}, want: `{"zoë":1}`},
		{name: "escaped key dropped by its value", in: `{"x":1,"comm\u0065nt":2}`, drop: []string{"comment"}, want: `{"x":1}`},
		{name: "nested key not dropped", in: `{"x":{"comment":1},"comment":2}`, drop: []string{"comment"}, want: `{"x":{"comment":1}}`},
		{name: "repeated key dropped twice", in: `{"comment":1,"a":true,"comment":2}`, drop: []string{"comment"}, want: `{"a":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, prefix := range []string{"", "kept:"} {
				got, err := AppendWithout([]byte(prefix), []byte(c.in), c.drop...)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != prefix+c.want {
					t.Fatalf("AppendWithout(%q, %s) = %s, want %s%s", prefix, c.in, got, prefix, c.want)
				}
				if !json.Valid(got[len(prefix):]) {
					t.Fatalf("AppendWithout(%s) = %s: not JSON", c.in, got)
				}
			}
		})
	}
	for _, bad := range []string{`[1]`, `{"a":}`, `{"comment":1,"a":[}`, ``, `"s"`, `{"a":1} x`} {
		if got, err := AppendWithout([]byte("kept"), []byte(bad), "comment"); err == nil || string(got) != "kept" {
			t.Errorf("AppendWithout(%q) = %q, %v: want an error and dst unchanged", bad, got, err)
		}
	}
}

func TestRepair(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"clean", `{"a":"b \u00e9 😀"}`, `{"a":"b \u00e9 😀"}`},
		{"pair kept", `{"a":"\ud83d\ude00"}`, `{"a":"\ud83d\ude00"}`},
		{"lone high", `{"a":"trunc \ud83d"}`, `{"a":"trunc \ufffd"}`},
		{"lone high before text", `{"a":"\uD83Dx","b":1}`, `{"a":"\ufffdx","b":1}`},
		{"lone low", `["\ude00"]`, `["\ufffd"]`},
		{"high then high", `"\ud83d\ud83d\ude00"`, `"\ufffd\ud83d\ude00"`},
		{"escaped backslash before u", `"C:\\ud83d"`, `"C:\\ud83d"`},
		{"other escapes", `"a\n\"\\\/"`, `"a\n\"\\\/"`},
		{"invalid UTF-8", "\"a\xffb\"", "\"a\uFFFDb\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Repair([]byte(tt.in))
			if string(got) != tt.want {
				t.Errorf("Repair(%q) = %q, want %q", tt.in, got, tt.want)
			}
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Errorf("Repair(%q) = %q, not JSON: %v", tt.in, got, err)
			}
		})
	}
	clean := []byte(`{"a":"\ud83d\ude00 ok"}`)
	if got := Repair(clean); &got[0] != &clean[0] {
		t.Error("clean text was copied")
	}
}

// TestSeparatorErrors pins the messages for what follows an element.
func TestSeparatorErrors(t *testing.T) {
	tests := []struct {
		in, want string
		array    bool
	}{
		{`{"a":1`, "unterminated object", false},
		{`{"a":1}x`, "unexpected text after the object at offset 7", false},
		{`{"a":1]`, `comma or } expected at offset 6, found ']'`, false},
		{`[1`, "unterminated array", true},
		{`[1]x`, "unexpected text after the array at offset 3", true},
		{`[1}`, `comma or ] expected at offset 2, found '}'`, true},
	}
	for _, tt := range tests {
		var err error
		if tt.array {
			_, err = Array([]byte(tt.in))
		} else {
			_, err = Members([]byte(tt.in))
		}
		if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
			t.Errorf("%q: %v, want an error ending %q", tt.in, err, tt.want)
		}
	}
}
