package jirasim

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cases := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"plain string", "hello world"},
		{"escapes", "quote\" back\\ <b>&amp; tab\t nl\n nul\x00 del\x7f"},
		{"unicode", "Zoë 東京 \u2028 \u2029"},
		{"invalid utf8", "bad \xff\xfe byte"},
		{"numbers", []any{0, -1, int32(7), int64(1) << 62, 3.25, 1e21, 1e-7, float32(1.5)}},
		{"bools", []any{true, false}},
		{"nil collections", map[string]any{"m": map[string]any(nil), "a": []any(nil), "s": []string(nil)}},
		{"empty collections", map[string]any{"m": map[string]any{}, "a": []any{}, "s": []string{}}},
		{"key order and escaping", map[string]any{"b": 1, "a": 2, "<k>": 3, "é": 4, "A": 5, "": 6}},
		{"nested", map[string]any{"x": []any{map[string]any{"z": []string{"a", "<"}, "y": nil}, "s"}, "w": map[string]any{"v": map[string]any{"u": true}}}},
		{"fallback types", map[string]any{"ms": map[string]string{"b": "1", "a": "2"}, "raw": json.RawMessage(`{"k":1}`), "ints": []int{1, 2}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkMarshal(t, c.v)
		})
	}
}

// TestAppendJSONRandomTrees compares the encoder with encoding/json on
// random trees shaped like the simulator's responses.
func TestAppendJSONRandomTrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\n", "\x01", "é", "\u2028", "\xff", "{", "}"}
	str := func() string {
		var b []byte
		for range r.IntN(8) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		return string(b)
	}
	var tree func(depth int) any
	tree = func(depth int) any {
		k := r.IntN(9)
		if depth > 4 {
			k = r.IntN(5)
		}
		switch k {
		case 0:
			return nil
		case 1:
			return str()
		case 2:
			return r.IntN(2) == 0
		case 3:
			return r.Int64() - r.Int64()
		case 4:
			return r.NormFloat64() * 1e6
		case 5, 6:
			m := map[string]any{}
			for range r.IntN(6) {
				m[str()] = tree(depth + 1)
			}
			return m
		case 7:
			a := []any{}
			for range r.IntN(5) {
				a = append(a, tree(depth+1))
			}
			return a
		default:
			s := []string{}
			for range r.IntN(4) {
				s = append(s, str())
			}
			return s
		}
	}
	for range 2000 {
		checkMarshal(t, tree(0))
	}
}

func checkMarshal(t *testing.T, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, release, err := marshal(v, nil)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	defer release()
	if !bytes.Equal(got, want) {
		t.Fatalf("marshal %#v\n got %s\nwant %s", v, got, want)
	}
}

func TestMarshalError(t *testing.T) {
	if _, _, err := marshal(map[string]any{"f": func() {}}, nil); err == nil {
		t.Fatal("an unencodable value must fail")
	}
}

func TestMarshalEmbedsUsers(t *testing.T) {
	embed := func(s string) ([]byte, bool) {
		if s == "\x00u1" {
			return []byte(`{"accountId":"u1"}`), true
		}
		return nil, false
	}
	got, release, err := marshal(map[string]any{"author": "\x00u1", "other": "\x00u2"}, embed)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if want := `{"author":{"accountId":"u1"},"other":"\u0000u2"}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
