package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzPagination serves one arbitrary body to every request of every
// pagination style. Whatever the body, no helper panics, and every helper
// stops within a few requests: a server repeating itself cannot make a
// page loop run forever. Seeds: testdata/fuzz/FuzzPagination.
func FuzzPagination(f *testing.F) {
	for _, s := range []string{
		`{"startAt":0,"maxResults":1,"total":1000000000000,"isLast":false,"values":[{"id":"1"}]}`,
		`{"maxResults":1,"total":99,"values":[{"id":"1"}]}`,
		`{"issues":[{"id":"1"}],"nextPageToken":"t","isLast":false}`,
		`{"values":[{"worklogId":1}],"since":1,"until":2,"lastPage":false}`,
		`[{"id":"1"}]`, `[]`, `null`, `{}`, `{"values":null}`, `{"startAt":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var requests int
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			requests++
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
				Body: io.NopCloser(strings.NewReader(string(body))), Request: r}, nil
		})
		c, err := New(Options{BaseURL: "https://jira.example.com", Transport: transport, MaxRetries: -1, RateLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var items int
		fn := func(page []json.RawMessage) error { items += len(page); return nil }
		runs := map[string]func() error{
			"A": func() error { return c.EachPageBean(ctx, "/p", nil, fn) },
			"B": func() error { return c.EachPageOf(ctx, "/p", nil, "values", fn) },
			"C": func() error { return c.EachCursorPage(ctx, "/s", nil, "issues", fn) },
			"C-POST": func() error {
				return c.EachCursorPagePOST(ctx, "/s", map[string]any{"jql": "x"}, "issues", fn)
			},
			"D": func() error { _, err := c.EachSincePage(ctx, "/w", 0, nil, fn); return err },
			"E": func() error { return c.EachArrayPage(ctx, "/u", nil, fn) },
			"F": func() error { return c.EachAgilePage(ctx, "/b", nil, fn) },
		}
		for name, run := range runs {
			requests = 0
			err := run()
			// Cursor styles may see up to maxEmptyCursorPages empty pages.
			if requests > maxEmptyCursorPages+1 {
				t.Fatalf("%s: %d requests for a constant body (err %v)", name, requests, err)
			}
			var perr *PageError
			var derr *DecodeError
			if err != nil && !errors.As(err, &perr) && !errors.As(err, &derr) {
				t.Fatalf("%s: unexpected error type %T: %v", name, err, err)
			}
		}
	})
}
