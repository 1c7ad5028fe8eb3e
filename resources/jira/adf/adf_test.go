package adf

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestToText(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"null", `null`, ""},
		{"empty", ``, ""},
		{"wiki string passes through", `"*Lorem Ipsum*\u00a0es"`, "*Lorem Ipsum*\u00a0es"},
		{"jira reference sample (marks dropped)", `{"version":1,"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Lorem Ipsum","marks":[{"type":"strong"}]},{"type":"text","text":"\u00a0es simplemente…"}]}]}`,
			"Lorem Ipsum\u00a0es simplemente…"},
		{"escapes in keys and values, elements that are not nodes skipped", `{"type":"do\u0063","content":[{"type":"te\u0078t","text":"esc\u00e9"}, 5, null, "s"]}`, "esc\u00e9"},
		{"repeated key: the last one counts, as in encoding/json", `{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"old"}]}],"content":[{"type":"paragraph","content":[{"type":"text","text":"last"}]}]}`, "last"},
		{"invalid UTF-8 becomes U+FFFD", "{\"type\":\"doc\",\"content\":[{\"type\":\"text\",\"text\":\"bad \xff byte\"}]}", "bad \ufffd byte"},
		{"numeric date timestamp", `{"type":"doc","content":[{"type":"date","attrs":{"timestamp":1700000000000}},{"type":"text","text":" x"}]}`, "2023-11-14 x"},
		{"paragraphs and heading", `{"type":"doc","version":1,"content":[
			{"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Title"}]},
			{"type":"paragraph","content":[{"type":"text","text":"one"}]},
			{"type":"paragraph","content":[]},
			{"type":"paragraph","content":[{"type":"text","text":"two"},{"type":"hardBreak"},{"type":"text","text":"three"}]}]}`,
			"Title\n\none\n\ntwo\nthree"},
		{"bullet list nested", `{"type":"doc","content":[{"type":"bulletList","content":[
			{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]},
				{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"a1"}]}]}]}]},
			{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"b"}]}]}]}]}`,
			"- a\n  - a1\n- b"},
		{"ordered list with start", `{"type":"doc","content":[{"type":"orderedList","attrs":{"order":3},"content":[
			{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"x"}]}]},
			{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"y"}]}]}]}]}`,
			"3. x\n4. y"},
		{"code block keeps lines", `{"type":"doc","content":[{"type":"codeBlock","attrs":{"language":"go"},"content":[{"type":"text","text":"func f() {\n\treturn\n}"}]}]}`,
			"func f() {\n\treturn\n}"},
		{"table", `{"type":"doc","content":[{"type":"table","content":[
			{"type":"tableRow","content":[{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Key"}]}]},{"type":"tableHeader","content":[{"type":"paragraph","content":[{"type":"text","text":"Value"}]}]}]},
			{"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"a"}]}]},{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"1"}]},{"type":"paragraph","content":[{"type":"text","text":"2"}]}]}]}]}]}`,
			"Key | Value\na | 1 2"},
		{"mention emoji link card", `{"type":"doc","content":[{"type":"paragraph","content":[
			{"type":"mention","attrs":{"id":"5b10","text":"@Mia Krystof"}},{"type":"text","text":" and "},
			{"type":"mention","attrs":{"id":"5b11","text":"Bob"}},{"type":"text","text":" "},
			{"type":"emoji","attrs":{"shortName":":smile:","text":"😄"}},{"type":"emoji","attrs":{"shortName":":custom:"}},
			{"type":"text","text":" see "},{"type":"text","text":"docs","marks":[{"type":"link","attrs":{"href":"https://example.com/d"}}]},
			{"type":"text","text":" "},{"type":"text","text":"https://example.com/x","marks":[{"type":"link","attrs":{"href":"https://example.com/x"}}]},
			{"type":"text","text":" "},{"type":"inlineCard","attrs":{"url":"https://jira/browse/EX-1"}}]}]}`,
			"@Mia Krystof and @Bob 😄:custom: see docs (https://example.com/d) https://example.com/x https://jira/browse/EX-1"},
		{"link split by another mark", `{"type":"doc","content":[{"type":"paragraph","content":[
			{"type":"text","text":"click ","marks":[{"type":"link","attrs":{"href":"https://x.io"}}]},
			{"type":"text","text":"here","marks":[{"type":"strong"},{"type":"link","attrs":{"href":"https://x.io"}}]},
			{"type":"text","text":" now then "},
			{"type":"text","text":"https://","marks":[{"type":"link","attrs":{"href":"https://y.io"}}]},
			{"type":"text","text":"y.io","marks":[{"type":"em"},{"type":"link","attrs":{"href":"https://y.io"}}]},
			{"type":"text","text":"a","marks":[{"type":"link","attrs":{"href":"https://a.io"}}]},
			{"type":"text","text":"b","marks":[{"type":"link","attrs":{"href":"https://b.io"}}]}]}]}`,
			"click here (https://x.io) now then https://y.ioa (https://a.io)b (https://b.io)"},
		{"panel blockquote rule", `{"type":"doc","content":[
			{"type":"panel","attrs":{"panelType":"warning"},"content":[{"type":"paragraph","content":[{"type":"text","text":"careful"}]}]},
			{"type":"rule"},
			{"type":"blockquote","content":[{"type":"paragraph","content":[{"type":"text","text":"q1"}]},{"type":"paragraph","content":[{"type":"text","text":"q2"}]}]}]}`,
			"[warning] careful\n\n---\n\n> q1\n>\n> q2"},
		{"media placeholders", `{"type":"doc","content":[
			{"type":"mediaSingle","content":[{"type":"media","attrs":{"type":"file","id":"abc","alt":"screenshot.png","collection":""}}]},
			{"type":"mediaGroup","content":[{"type":"media","attrs":{"type":"file","id":"x"}},{"type":"media","attrs":{"type":"external","url":"https://i/img.png"}}]},
			{"type":"paragraph","content":[{"type":"text","text":"see "},{"type":"mediaInline","attrs":{"type":"file","id":"y"}}]}]}`,
			"[attachment: screenshot.png]\n\n[attachment]\n[image: https://i/img.png]\n\nsee [attachment]"},
		{"status date tasks", `{"type":"doc","content":[
			{"type":"paragraph","content":[{"type":"status","attrs":{"text":"IN PROGRESS","color":"blue"}},{"type":"text","text":" due "},{"type":"date","attrs":{"timestamp":"1582502400000"}}]},
			{"type":"taskList","attrs":{"localId":"l"},"content":[{"type":"taskItem","attrs":{"state":"DONE"},"content":[{"type":"text","text":"done"}]},{"type":"taskItem","attrs":{"state":"TODO"},"content":[{"type":"text","text":"todo"}]}]}]}`,
			"[IN PROGRESS] due 2020-02-24\n\n[x] done\n[ ] todo"},
		{"expand", `{"type":"doc","content":[{"type":"expand","attrs":{"title":"Details"},"content":[{"type":"paragraph","content":[{"type":"text","text":"hidden"}]}]}]}`,
			"Details\nhidden"},
		{"unknown nodes keep their text", `{"type":"doc","content":[{"type":"futureBlock","content":[{"type":"paragraph","content":[{"type":"text","text":"kept"}]}]},
			{"type":"paragraph","content":[{"type":"futureInline","text":"inline"},{"type":"futureWrap","content":[{"type":"text","text":"wrapped"}]}]}]}`,
			"kept\n\ninlinewrapped"},
		{"bare paragraph", `{"type":"paragraph","content":[{"type":"text","text":"x"}]}`, "x"},
		{"wrong member types ignored", `{"type":"doc","content":[{"type":"paragraph","content":"oops"},{"type":7},{"type":"text","text":5},"str",null,{"type":"paragraph","content":[{"type":"text","text":"ok"}]}]}`,
			"ok"},
		{"ordered list hostile order", `{"type":"doc","content":[{"type":"orderedList","attrs":{"order":1e300},"content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"x"}]}]}]}]}`,
			"1. x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToText(json.RawMessage(tt.doc))
			if err != nil {
				t.Fatalf("ToText: %v", err)
			}
			if got != tt.want {
				t.Errorf("ToText =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestToTextErrors(t *testing.T) {
	for _, doc := range []string{`{"type":"doc"`, `42`, `[1]`, `true`, `{"a":1} {"b":2}`, `{"type":"doc",}`, `{"type":"doc"} }`, `{"type":"doc"}]`, `{"a":tru}`, `{"a":01}`, `{"a":"\x01"}`, `{"a" 1}`} {
		if _, err := ToText(json.RawMessage(doc)); err == nil {
			t.Errorf("ToText(%s) succeeded, want error", doc)
		}
	}
}

func TestToTextDeepNesting(t *testing.T) {
	// 2000 nested blockquotes: rendered (flattened past maxDepth), no crash.
	const depth = 2000
	doc := strings.Repeat(`{"type":"blockquote","content":[`, depth) + `{"type":"text","text":"deep"}` + strings.Repeat(`]}`, depth)
	got, err := ToText(json.RawMessage(doc))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "deep") {
		t.Errorf("deep text lost: %.100q", got)
	}
	// Beyond encoding/json's nesting limit: an error, not a crash.
	doc = strings.Repeat(`{"content":[`, 6000) + strings.Repeat(`]}`, 6000)
	if _, err := ToText(json.RawMessage(doc)); err == nil {
		t.Error("absurd nesting accepted")
	}
	// Nested lists deeper than maxDepth.
	doc = strings.Repeat(`{"type":"bulletList","content":[{"type":"listItem","content":[`, 400) +
		`{"type":"paragraph","content":[{"type":"text","text":"leaf"}]}` + strings.Repeat(`]}]}`, 400)
	got, err = ToText(json.RawMessage(doc))
	if err != nil || !strings.Contains(got, "leaf") {
		t.Errorf("deep list: err %v, leaf kept %v", err, strings.Contains(got, "leaf"))
	}
}

// specBodies returns the description and the first comment body of the
// API's issue example.
func specBodies(tb testing.TB) (description, comment json.RawMessage) {
	tb.Helper()
	raw, err := os.ReadFile("testdata/getIssue__GET__200.json")
	if err != nil {
		tb.Fatal(err)
	}
	var issue struct {
		Fields struct {
			Description json.RawMessage `json:"description"`
			Comment     []struct {
				Body json.RawMessage `json:"body"`
			} `json:"comment"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(raw, &issue); err != nil {
		tb.Fatal(err)
	}
	if len(issue.Fields.Comment) == 0 {
		tb.Fatal("no comments in sample")
	}
	return issue.Fields.Description, issue.Fields.Comment[0].Body
}

// TestSpecExampleBodies converts every ADF body in the spec examples.
func TestSpecExampleBodies(t *testing.T) {
	description, comment := specBodies(t)
	got, err := ToText(description)
	if err != nil || got != "Main order flow broken" {
		t.Errorf("description = %q, %v", got, err)
	}
	got, err = ToText(comment)
	if err != nil || !strings.HasPrefix(got, "Lorem ipsum dolor sit amet") {
		t.Errorf("comment = %q, %v", got, err)
	}
}
