package jql

import (
	"strings"
	"testing"
	"time"
)

// FuzzQuote: any value round-trips through Quote/Unquote (invalid UTF-8
// bytes become U+FFFD) and is exactly one string token, so it can never
// end the literal early.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"ABC", `X") OR project = "Y`, `\`, `\"`, "a\nb", "\x00", "'", "\xff\xfe", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := Quote(s)
		back, err := Unquote(q)
		if err != nil {
			t.Fatalf("Unquote(Quote(%q)) error: %v", s, err)
		}
		if want := string([]rune(s)); back != want {
			t.Fatalf("round trip %q -> %s -> %q", s, q, back)
		}
		toks, err := Tokenize(q)
		if err != nil || len(toks) != 1 || toks[0].Kind != String {
			t.Fatalf("Quote(%q) = %s tokenizes as %v, %v", s, q, toks, err)
		}
	})
}

// FuzzBuilder: whatever the project keys and the filter, the built query
// has exactly the intended structure: project in (STRING, STRING) AND
// updated >= N [AND ( … )] ORDER BY updated ASC — keys can't inject, and an
// accepted filter stays inside its parentheses.
func FuzzBuilder(f *testing.F) {
	f.Add("ABC", "DEF", "")
	f.Add(`A") OR 1=1 --`, "B", `status = Done`)
	f.Add("A", "B", `x = 1) OR (y = 2`)
	f.Add("A", "B", `summary ~ "order by" AND (a = b)`)
	f.Add("A", "B", `order by x`)
	f.Fuzz(func(t *testing.T, k1, k2, filter string) {
		since := time.UnixMilli(1732877091000)
		q, err := New().ProjectIn(k1, k2).UpdatedSince(since).Where(filter).OrderBy("updated", Asc).Build()
		if err != nil {
			if CheckFilter(filter) == nil && strings.TrimSpace(filter) != "" {
				t.Fatalf("Build failed but the filter is valid: %v", err)
			}
			return
		}
		toks, err := Tokenize(q)
		if err != nil {
			t.Fatalf("built query %q does not tokenize: %v", q, err)
		}
		head := []Token{{Word, "project"}, {Word, "in"}, {Punct, "("}, {String, string([]rune(k1))}, {Punct, ","},
			{String, string([]rune(k2))}, {Punct, ")"}, {Word, "AND"}, {Word, "updated"}, {Punct, ">="}, {Word, "1732877091000"}}
		tail := []Token{{Word, "ORDER"}, {Word, "BY"}, {Word, "updated"}, {Word, "ASC"}}
		if len(toks) < len(head)+len(tail) {
			t.Fatalf("query %q: too few tokens", q)
		}
		for i, want := range head {
			if toks[i] != want {
				t.Fatalf("query %q: token %d = %v, want %v", q, i, toks[i], want)
			}
		}
		for i, want := range tail {
			if got := toks[len(toks)-len(tail)+i]; got != want {
				t.Fatalf("query %q: tail token %d = %v, want %v", q, i, got, want)
			}
		}
		mid := toks[len(head) : len(toks)-len(tail)]
		if len(mid) == 0 {
			return
		}
		// AND ( filter ) with the parentheses matching each other.
		if mid[0] != (Token{Word, "AND"}) || mid[1] != (Token{Punct, "("}) || mid[len(mid)-1] != (Token{Punct, ")"}) {
			t.Fatalf("query %q: filter not wrapped", q)
		}
		depth := 0
		for i, tk := range mid[1:] {
			if tk.Kind != Punct {
				continue
			}
			switch tk.Text {
			case "(":
				depth++
			case ")":
				depth--
				if depth == 0 && i != len(mid)-2 {
					t.Fatalf("query %q: filter closes its parentheses early", q)
				}
			}
		}
	})
}
