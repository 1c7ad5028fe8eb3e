package jql

import (
	"strings"
	"testing"
	"time"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABC", `"ABC"`},
		{"", `""`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{`ABC") OR project = "X`, `"ABC\") OR project = \"X"`},
		{"line\nnext\r\ttab", `"line\nnext\r\ttab"`},
		{"nul\x00bell\x07", `"nul\u0000bell\u0007"`},
		{"del\x7f c1\u0085 ls\u2028", `"del\u007f c1\u0085 ls\u2028"`},
		{"ünïcødé 日本", `"ünïcødé 日本"`},
		{"it's", `"it's"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		back, err := Unquote(tt.want)
		if err != nil || back != tt.in {
			t.Errorf("Unquote(%s) = %q, %v; want %q", tt.want, back, err, tt.in)
		}
	}
}

func TestUnquoteRejects(t *testing.T) {
	for _, in := range []string{``, `"`, `"abc`, `abc`, `"a"b"`, `"\q"`, `"\u12"`, `"\uzzzz"`, `"a\`} {
		if v, err := Unquote(in); err == nil {
			t.Errorf("Unquote(%q) = %q, want error", in, v)
		}
	}
	// Single quotes and "\ " are JQL too.
	if v, err := Unquote(`'a\'b\ c'`); err != nil || v != "a'b c" {
		t.Errorf("single quoted: %q %v", v, err)
	}
}

func TestBuilder(t *testing.T) {
	since := time.Date(2024, 11, 29, 10, 44, 51, 0, time.FixedZone("PST", -8*3600))
	tests := []struct {
		name    string
		build   func() *Builder
		want    string
		wantErr string
	}{
		{"incremental sync", func() *Builder {
			return New().ProjectIn("ABC", "DEF").UpdatedSince(since).OrderBy("updated", Asc).OrderBy("id", Asc)
		}, `project in ("ABC", "DEF") AND updated >= 1732905891000 ORDER BY updated ASC, id ASC`, ""},
		{"epoch ms is zone independent", func() *Builder {
			return New().UpdatedSince(since.UTC()).UpdatedBefore(since.Add(time.Hour))
		}, `updated >= 1732905891000 AND updated < 1732909491000`, ""},
		{"injection attempt stays a value", func() *Builder {
			return New().ProjectIn(`X") OR 1=1 OR project in ("Y`).OrderBy("id", Desc)
		}, `project in ("X\") OR 1=1 OR project in (\"Y") ORDER BY id DESC`, ""},
		{"user filter wrapped", func() *Builder {
			return New().ProjectIn("ABC").Where(`status != Done OR labels = "x y"`)
		}, `project in ("ABC") AND (status != Done OR labels = "x y")`, ""},
		{"quoted field names", func() *Builder {
			return New().Equals("Story Points", "5").In("cf[10010]", "a").OrderBy("order", Asc)
		}, `"Story Points" = "5" AND cf[10010] in ("a") ORDER BY "order" ASC`, ""},
		{"empty project list", func() *Builder { return New().ProjectIn() }, "", "needs at least one value"},
		{"no clauses", func() *Builder { return New().OrderBy("id", Asc) }, "", "no clauses"},
		{"bad direction", func() *Builder { return New().ProjectIn("A").OrderBy("id", "; DROP") }, "", "not ASC or DESC"},
		{"filter with order by", func() *Builder { return New().ProjectIn("A").Where("status = Done ORDER BY created") }, "", "must not contain ORDER BY"},
		{"filter closing paren", func() *Builder { return New().ProjectIn("A").Where(`status = Done) OR (project = B`) }, "", "unbalanced"},
		{"filter open string", func() *Builder { return New().ProjectIn("A").Where(`summary ~ "oops`) }, "", "unterminated"},
		{"filter escape outside string", func() *Builder { return New().ProjectIn("A").Where(`a = x\" ) OR (b = "`) }, "", "backslash outside"},
		{"blank filter ignored", func() *Builder { return New().ProjectIn("A").Where("  ") }, `project in ("A")`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.build().Build()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build() = %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Build() = %q, %v\nwant %q", got, err, tt.want)
			}
			if _, err := Tokenize(got); err != nil {
				t.Errorf("built JQL does not tokenize: %v", err)
			}
		})
	}
}

func TestField(t *testing.T) {
	for in, want := range map[string]string{
		"updated": "updated", "customfield_10010": "customfield_10010", "cf[10010]": "cf[10010]",
		"Story Points": `"Story Points"`, "cf[x]": `"cf[x]"`, "order": `"order"`, "": `""`, "1abc": `"1abc"`,
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTokenize(t *testing.T) {
	toks, err := Tokenize(`project in ("A\"B", 'C') AND updated >= 17 ORDER BY id ASC`)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, tk := range toks {
		parts = append(parts, [...]string{"W", "S", "P"}[tk.Kind]+":"+tk.Text)
	}
	want := `W:project W:in P:( S:A"B P:, S:C P:) W:AND W:updated P:>= W:17 W:ORDER W:BY W:id W:ASC`
	if got := strings.Join(parts, " "); got != want {
		t.Errorf("tokens = %s\nwant     %s", got, want)
	}
	if _, err := Tokenize(`a ! b`); err == nil {
		t.Error("stray ! accepted")
	}
}
