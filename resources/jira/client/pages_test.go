package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fixture loads a sample envelope and the items under key.
func fixture(t *testing.T, file, key string) (map[string]json.RawMessage, []json.RawMessage) {
	t.Helper()
	var env map[string]json.RawMessage
	if err := json.Unmarshal(readTestdata(t, file), &env); err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(env[key], &items); err != nil || len(items) == 0 {
		t.Fatalf("%s: no %q items: %v", file, key, err)
	}
	return env, items
}

// grow makes n distinct items from sample items by rewriting idKey (keeping
// its JSON type: string ids stay strings).
func grow(t *testing.T, sample []json.RawMessage, n int, idKey string) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, n)
	for i := range n {
		var m map[string]any
		if err := json.Unmarshal(sample[i%len(sample)], &m); err != nil {
			t.Fatal(err)
		}
		switch m[idKey].(type) {
		case string:
			m[idKey] = strconv.Itoa(20000 + i)
		default:
			m[idKey] = 20000 + i
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func ids(t *testing.T, items []json.RawMessage, idKey string) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		var m map[string]any
		if err := json.Unmarshal(it, &m); err != nil {
			t.Fatal(err)
		}
		out[i] = fmt.Sprint(m[idKey])
	}
	return out
}

func collect(dst *[]json.RawMessage) PageFunc {
	return func(items []json.RawMessage) error {
		*dst = append(*dst, items...)
		return nil
	}
}

// offsetServer serves items with startAt/maxResults, lowering maxResults to
// limit silently and echoing what it used, like Jira. shape adds the
// style-specific members.
func offsetServer(base map[string]json.RawMessage, all []json.RawMessage, limit int, itemsKey string,
	shape func(env map[string]any, start, end, total int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
		size, err := strconv.Atoi(r.URL.Query().Get("maxResults"))
		if err != nil || size > limit {
			size = limit
		}
		start = max(0, min(start, len(all)))
		end := min(start+size, len(all))
		env := map[string]any{}
		for k, v := range base {
			env[k] = v
		}
		env["startAt"], env["maxResults"] = start, size
		env[itemsKey] = all[start:end]
		shape(env, start, end, len(all))
		writeJSON(w, 200, env)
	})
}

func pageBeanShape(env map[string]any, start, end, total int) {
	env["total"] = total
	env["isLast"] = end >= total
	delete(env, "nextPage")
	if end < total {
		env["nextPage"] = fmt.Sprintf("https://x/next?startAt=%d", end)
	}
}

func legacyShape(env map[string]any, _, _, total int) {
	env["total"] = total
	delete(env, "isLast") // legacy PageOf envelopes have none
	delete(env, "nextPageToken")
}

func agileNoTotalShape(env map[string]any, _, end, total int) {
	delete(env, "total")
	env["isLast"] = end >= total
}

func TestOffsetStyles(t *testing.T) {
	type call func(c *Client, q url.Values, fn PageFunc) error
	tests := []struct {
		name     string
		file     string
		itemsKey string
		idKey    string
		n, limit int
		shape    func(env map[string]any, start, end, total int)
		call     call
	}{
		{"A project/search", "searchProjects__GET__200.json", "values", "id", 7, 3, pageBeanShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachPageBean(context.Background(), "/rest/api/3/project/search", q, fn)
			}},
		{"A issue changelog", "getChangeLogs__GET__200.json", "values", "id", 11, 4, pageBeanShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachPageBean(context.Background(), "/rest/api/3/issue/TT-1/changelog", q, fn)
			}},
		{"B comments (real v2 capture)", "go-atlassian__jira-v3-mocks__get-issue-comments-v2.json", "comments", "id", 17, 5, legacyShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachPageOf(context.Background(), "/rest/api/2/issue/KP-2/comment", q, "comments", fn)
			}},
		{"B worklogs", "getIssueWorklog__GET__200.json", "worklogs", "id", 9, 4, legacyShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachPageOf(context.Background(), "/rest/api/3/issue/KP-2/worklog", q, "worklogs", fn)
			}},
		{"B data center search", "searchAndReconsileIssuesUsingJql__GET__200.json", "issues", "id", 8, 3, legacyShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachPageOf(context.Background(), "/rest/api/2/search", q, "issues", fn)
			}},
		{"F agile boards with total", "go-jira__testing-mock-data__all_boards.json", "values", "id", 6, 4, pageBeanShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachAgilePage(context.Background(), "/rest/agile/1.0/board", q, fn)
			}},
		{"F agile sprints without total", "go-atlassian__jira-mocks__get-board-sprints.json", "values", "id", 5, 2, agileNoTotalShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachAgilePage(context.Background(), "/rest/agile/1.0/board/1/sprint", q, fn)
			}},
		{"F DC sprints without total", "go-jira__testing-mock-data__sprints.json", "values", "id", 7, 3, agileNoTotalShape,
			func(c *Client, q url.Values, fn PageFunc) error {
				return c.EachAgilePage(context.Background(), "/rest/agile/1.0/board/1/sprint", q, fn)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, sample := fixture(t, tt.file, tt.itemsKey)
			all := grow(t, sample, tt.n, tt.idKey)
			c, _, _ := newTLSServer(t, offsetServer(env, all, tt.limit, tt.itemsKey, tt.shape))
			var got []json.RawMessage
			// Ask for 100; the server silently uses its limit.
			if err := tt.call(c, url.Values{"maxResults": {"100"}}, collect(&got)); err != nil {
				t.Fatal(err)
			}
			if g, w := strings.Join(ids(t, got, tt.idKey), ","), strings.Join(ids(t, all, tt.idKey), ","); g != w {
				t.Errorf("items = %s\nwant    %s", g, w)
			}
			wantReq := int64((tt.n + tt.limit - 1) / tt.limit)
			if c.Requests() != wantReq {
				t.Errorf("requests = %d, want %d", c.Requests(), wantReq)
			}
		})
	}
}

func TestOffsetStartsAtGivenStartAt(t *testing.T) {
	env, sample := fixture(t, "searchProjects__GET__200.json", "values")
	all := grow(t, sample, 7, "id")
	c, _, _ := newTLSServer(t, offsetServer(env, all, 2, "values", pageBeanShape))
	var got []json.RawMessage
	if err := c.EachPageBean(context.Background(), "/p", url.Values{"startAt": {"3"}}, collect(&got)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Errorf("got %d items, want 4", len(got))
	}
	if err := c.EachPageBean(context.Background(), "/p", url.Values{"startAt": {"x"}}, collect(&got)); err == nil {
		t.Error("bad startAt accepted")
	}
}

// TestOffsetRestart: a PageFunc that asks for a restart ends the paging
// with ErrRestart when more pages follow, and with nil after the last.
func TestOffsetRestart(t *testing.T) {
	env, sample := fixture(t, "searchProjects__GET__200.json", "values")
	all := grow(t, sample, 5, "id")
	c, _, _ := newTLSServer(t, offsetServer(env, all, 2, "values", pageBeanShape))
	cases := []struct {
		startAt string
		want    error
		items   int
	}{
		{"0", ErrRestart, 2}, // pages 0-1 of 0-4: more follow
		{"2", ErrRestart, 2},
		{"4", nil, 1}, // the last page
	}
	for _, tc := range cases {
		var got []json.RawMessage
		err := c.EachPageBean(context.Background(), "/p", url.Values{"startAt": {tc.startAt}}, func(items []json.RawMessage) error {
			got = append(got, items...)
			return ErrRestart
		})
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("startAt %s: err %v, want %v", tc.startAt, err, tc.want)
		}
		if len(got) != tc.items {
			t.Errorf("startAt %s: %d items before the restart, want %d (one page)", tc.startAt, len(got), tc.items)
		}
	}
}

func TestCursorGET(t *testing.T) {
	env, sample := fixture(t, "searchAndReconsileIssuesUsingJql__GET__200.json", "issues")
	all := grow(t, sample, 8, "id")
	var seenJQL atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenJQL.Store(r.URL.Query().Get("jql"))
		start := 0
		if tok := r.URL.Query().Get("nextPageToken"); tok != "" {
			b, _ := base64.StdEncoding.DecodeString(tok)
			start, _ = strconv.Atoi(string(b))
		}
		end := min(start+3, len(all))
		out := map[string]any{}
		for k, v := range env {
			out[k] = v
		}
		out["issues"], out["isLast"] = all[start:end], end >= len(all)
		if end < len(all) {
			out["nextPageToken"] = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
		}
		writeJSON(w, 200, out)
	})
	c, _, _ := newTLSServer(t, h)
	var got []json.RawMessage
	q := url.Values{"jql": {`project = "EX"`}, "maxResults": {"5000"}}
	if err := c.EachCursorPage(context.Background(), "/rest/api/3/search/jql", q, "issues", collect(&got)); err != nil {
		t.Fatal(err)
	}
	if g, w := strings.Join(ids(t, got, "id"), ","), strings.Join(ids(t, all, "id"), ","); g != w {
		t.Errorf("items = %s, want %s", g, w)
	}
	if c.Requests() != 3 || seenJQL.Load() != `project = "EX"` {
		t.Errorf("requests = %d, jql = %v", c.Requests(), seenJQL.Load())
	}
}

func TestCursorPOSTBulkChangelogs(t *testing.T) {
	env, sample := fixture(t, "getBulkChangelogs__POST__200.json", "issueChangeLogs")
	all := grow(t, sample, 5, "issueId")
	var bodies []map[string]any
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || r.Method != http.MethodPost {
			t.Errorf("bad request %s %s", r.Method, b)
		}
		bodies = append(bodies, body)
		start := 0
		if tok, _ := body["nextPageToken"].(string); tok != "" {
			start, _ = strconv.Atoi(strings.TrimPrefix(tok, "tok"))
		}
		end := min(start+2, len(all))
		out := map[string]any{"issueChangeLogs": all[start:end]}
		if end < len(all) {
			out["nextPageToken"] = fmt.Sprintf("tok%d", end) // no isLast, as in the spec example
		}
		_ = env
		writeJSON(w, 200, out)
	})
	c, _, _ := newTLSServer(t, h)
	var got []json.RawMessage
	req := map[string]any{"issueIdsOrKeys": []string{"10001"}, "maxResults": 1000}
	if err := c.EachCursorPagePOST(context.Background(), "/rest/api/3/changelog/bulkfetch", req, "issueChangeLogs", collect(&got)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || len(bodies) != 3 {
		t.Fatalf("got %d items over %d requests", len(got), len(bodies))
	}
	if _, ok := bodies[0]["nextPageToken"]; ok {
		t.Error("first request carries a token")
	}
	if bodies[2]["nextPageToken"] != "tok4" || bodies[2]["maxResults"] != float64(1000) {
		t.Errorf("third body = %v", bodies[2])
	}
	if _, ok := req["nextPageToken"]; ok {
		t.Error("caller's body was mutated")
	}
}

func TestSinceUntil(t *testing.T) {
	for _, file := range []string{"getIdsOfWorklogsModifiedSince__GET__200.json", "getIdsOfWorklogsDeletedSince__GET__200.json"} {
		t.Run(file, func(t *testing.T) {
			env, sample := fixture(t, file, "values")
			all := grow(t, sample, 7, "worklogId")
			times := make([]int64, len(all))
			for i := range all {
				times[i] = 1438013671562 + int64(i)*1000
				var m map[string]any
				_ = json.Unmarshal(all[i], &m)
				m["updatedTime"] = times[i]
				all[i], _ = json.Marshal(m)
			}
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
				start := 0
				for start < len(all) && times[start] <= since {
					start++
				}
				end := min(start+3, len(all))
				out := map[string]any{}
				for k, v := range env {
					out[k] = v
				}
				out["values"], out["since"] = all[start:end], since
				until := since
				if end > start {
					until = times[end-1]
				}
				out["until"], out["lastPage"] = until, end >= len(all)
				out["nextPage"] = fmt.Sprintf("https://x/rest/api/3/worklog/updated?since=%d", until)
				writeJSON(w, 200, out)
			})
			c, _, _ := newTLSServer(t, h)
			var got []json.RawMessage
			cursor, err := c.EachSincePage(context.Background(), "/rest/api/3/worklog/updated", 0, nil, collect(&got))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 7 || cursor != times[6] || c.Requests() != 3 {
				t.Errorf("items %d cursor %d requests %d", len(got), cursor, c.Requests())
			}
			// Nothing new: the cursor stays.
			got = nil
			cursor2, err := c.EachSincePage(context.Background(), "/rest/api/3/worklog/updated", cursor, nil, collect(&got))
			if err != nil || cursor2 != cursor || len(got) != 0 {
				t.Errorf("second run: cursor %d items %d err %v", cursor2, len(got), err)
			}
		})
	}
}

func TestBareArrays(t *testing.T) {
	fields := readTestdata(t, "go-atlassian__jira-v3-mocks__get-fields.json")
	users := readTestdata(t, "findUsers__GET__200.json")
	var sample []json.RawMessage
	if err := json.Unmarshal(users, &sample); err != nil {
		t.Fatal(err)
	}
	all := grow(t, sample, 7, "accountId")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rest/api/3/field":
			writeJSON(w, 200, fields)
		case "/rest/api/3/users/search":
			start, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
			start = min(start, len(all))
			// Short pages before the end, as user search filters after paging.
			end := min(start+2, len(all))
			writeJSON(w, 200, all[start:end])
		case "/rest/api/3/worklog/list":
			writeJSON(w, 200, readTestdata(t, "getWorklogsForIds__POST__200.json"))
		default:
			http.NotFound(w, r)
		}
	})
	c, _, _ := newTLSServer(t, h)
	ctx := context.Background()
	var got []json.RawMessage
	if err := c.EachArray(ctx, "/rest/api/3/field", nil, collect(&got)); err != nil || len(got) != 81 {
		t.Errorf("fields: %d items, err %v", len(got), err)
	}
	got = nil
	if err := c.EachArrayPage(ctx, "/rest/api/3/users/search", url.Values{"maxResults": {"1000"}}, collect(&got)); err != nil {
		t.Fatal(err)
	}
	if g, w := strings.Join(ids(t, got, "accountId"), ","), strings.Join(ids(t, all, "accountId"), ","); g != w {
		t.Errorf("users = %s, want %s", g, w)
	}
	got = nil
	if err := c.PostArray(ctx, "/rest/api/3/worklog/list", map[string]any{"ids": []int{1, 2}}, collect(&got)); err != nil || len(got) == 0 {
		t.Errorf("worklog/list: %d items, err %v", len(got), err)
	}
	if err := c.EachArray(ctx, "/rest/api/3/users/search", url.Values{"startAt": {"99"}}, collect(&got)); err != nil {
		t.Errorf("empty array: %v", err)
	}
}

// TestPageLoopGuards: hostile paging metadata ends with ErrPageLoop, never
// an endless loop.
func TestPageLoopGuards(t *testing.T) {
	item := json.RawMessage(`{"id":"1"}`)
	tests := []struct {
		name string
		h    func(n int, r *http.Request) any // n = 1-based request number
		run  func(c *Client) error
		want string
	}{
		{"A empty page claims more", func(n int, r *http.Request) any {
			return map[string]any{"startAt": 0, "maxResults": 50, "total": 100, "isLast": false, "values": []any{}}
		}, func(c *Client) error {
			return c.EachPageBean(context.Background(), "/p", nil, collect(new([]json.RawMessage)))
		}, "empty page"},
		{"A startAt not advancing", func(n int, r *http.Request) any {
			return map[string]any{"startAt": 0, "maxResults": 1, "total": 5, "isLast": false, "values": []any{item}}
		}, func(c *Client) error {
			return c.EachPageBean(context.Background(), "/p", nil, collect(new([]json.RawMessage)))
		}, "startAt not advancing"},
		{"B total larger than data", func(n int, r *http.Request) any {
			s, _ := strconv.Atoi(r.URL.Query().Get("startAt"))
			if s >= 2 {
				return map[string]any{"startAt": s, "maxResults": 1, "total": 10, "comments": []any{}}
			}
			return map[string]any{"startAt": s, "maxResults": 1, "total": 10, "comments": []any{item}}
		}, func(c *Client) error {
			return c.EachPageOf(context.Background(), "/p", nil, "comments", collect(new([]json.RawMessage)))
		}, "empty page"},
		{"C repeated token", func(n int, r *http.Request) any {
			return map[string]any{"issues": []any{item}, "nextPageToken": "same", "isLast": false}
		}, func(c *Client) error {
			return c.EachCursorPage(context.Background(), "/s", nil, "issues", collect(new([]json.RawMessage)))
		}, "nextPageToken repeated"},
		{"C token cycle", func(n int, r *http.Request) any {
			return map[string]any{"issues": []any{item}, "nextPageToken": fmt.Sprint("t", n%3), "isLast": false}
		}, func(c *Client) error {
			return c.EachCursorPage(context.Background(), "/s", nil, "issues", collect(new([]json.RawMessage)))
		}, "nextPageToken repeated"},
		{"C empty pages with fresh tokens", func(n int, r *http.Request) any {
			return map[string]any{"issues": []any{}, "nextPageToken": fmt.Sprint("t", n), "isLast": false}
		}, func(c *Client) error {
			return c.EachCursorPage(context.Background(), "/s", nil, "issues", collect(new([]json.RawMessage)))
		}, "3 empty pages"},
		{"C isLast false without token", func(n int, r *http.Request) any {
			return map[string]any{"issues": []any{item}, "isLast": false}
		}, func(c *Client) error {
			return c.EachCursorPage(context.Background(), "/s", nil, "issues", collect(new([]json.RawMessage)))
		}, "isLast=false but no nextPageToken"},
		{"D until not advancing", func(n int, r *http.Request) any {
			return map[string]any{"values": []any{item}, "since": 5, "until": 5, "lastPage": false}
		}, func(c *Client) error {
			_, err := c.EachSincePage(context.Background(), "/w", 5, nil, collect(new([]json.RawMessage)))
			return err
		}, "since not advancing"},
		{"D empty page not last", func(n int, r *http.Request) any {
			return map[string]any{"values": []any{}, "since": 5, "until": 9, "lastPage": false}
		}, func(c *Client) error {
			_, err := c.EachSincePage(context.Background(), "/w", 5, nil, collect(new([]json.RawMessage)))
			return err
		}, "empty page"},
		{"E server ignores startAt", func(n int, r *http.Request) any {
			return []any{item, item}
		}, func(c *Client) error {
			return c.EachArrayPage(context.Background(), "/u", nil, collect(new([]json.RawMessage)))
		}, "ignores startAt"},
		{"F agile isLast false forever at same startAt", func(n int, r *http.Request) any {
			return map[string]any{"startAt": 0, "maxResults": 50, "isLast": false, "values": []any{item}}
		}, func(c *Client) error {
			return c.EachAgilePage(context.Background(), "/b", nil, collect(new([]json.RawMessage)))
		}, "startAt not advancing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				k := int(n.Add(1))
				if k > 50 {
					t.Error("pagination did not stop")
					writeJSON(w, 500, `{}`)
					return
				}
				writeJSON(w, 200, tt.h(k, r))
			})
			c, _, _ := newTLSServer(t, h, func(o *Options) { o.MaxRetries = -1 })
			err := tt.run(c)
			if !errors.Is(err, ErrPageLoop) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrPageLoop containing %q", err, tt.want)
			}
		})
	}
}

func TestCursorToleratesFewEmptyPages(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("nextPageToken") {
		case "":
			writeJSON(w, 200, `{"issues":[],"nextPageToken":"a","isLast":false}`)
		case "a":
			writeJSON(w, 200, `{"issues":[],"nextPageToken":"b","isLast":false}`)
		default:
			writeJSON(w, 200, `{"issues":[{"id":"1"}],"isLast":true}`)
		}
	})
	c, _, _ := newTLSServer(t, h)
	var got []json.RawMessage
	if err := c.EachCursorPage(context.Background(), "/s", nil, "issues", collect(&got)); err != nil || len(got) != 1 {
		t.Errorf("got %d items, err %v", len(got), err)
	}
}

func TestPageEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
	}{
		{"missing items key", `{"startAt":0,"total":1,"isLast":true}`, `no "values" array`},
		{"items not an array", `{"startAt":0,"values":{"a":1}}`, `"values" is not an array`},
		{"total wrong type", `{"startAt":0,"total":{"n":1},"values":[]}`, `"total" is not a number`},
		{"isLast wrong type", `{"startAt":0,"isLast":7,"values":[]}`, `"isLast" is not a boolean`},
		{"null page", `null`, "null page"},
		{"array page", `[1,2]`, "decode response"},
		{"malformed", `{"values":[1,}`, "decode response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := script(ok(tt.body))
			c, _, _ := newTLSServer(t, h, func(o *Options) { o.MaxRetries = -1 })
			err := c.EachPageBean(WithTable(context.Background(), "projects"), "/rest/api/3/project/search", nil, collect(new([]json.RawMessage)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Lenient: numbers and booleans as strings, null items.
	h, _ := script(ok(`{"startAt":"0","maxResults":"50","total":"1","isLast":"true","values":null}`))
	c, _, _ := newTLSServer(t, h)
	if err := c.EachPageBean(context.Background(), "/p", nil, collect(new([]json.RawMessage))); err != nil {
		t.Errorf("lenient envelope: %v", err)
	}
}

func TestPageFuncErrorStops(t *testing.T) {
	env, sample := fixture(t, "searchProjects__GET__200.json", "values")
	c, _, _ := newTLSServer(t, offsetServer(env, grow(t, sample, 7, "id"), 2, "values", pageBeanShape))
	stop := errors.New("sink full")
	err := c.EachPageBean(context.Background(), "/p", nil, func([]json.RawMessage) error { return stop })
	if !errors.Is(err, stop) || c.Requests() != 1 {
		t.Errorf("err = %v requests = %d", err, c.Requests())
	}
}

// The next cursor page is requested while fn still works on the current
// one; when fn fails, the loop stops and waits for the request ahead.
func TestCursorPrefetch(t *testing.T) {
	requested := make(chan int, 10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("nextPageToken"))
		if page == 0 {
			page = 1
		}
		requested <- page
		out := map[string]any{"issues": []map[string]any{{"id": strconv.Itoa(page)}}, "isLast": page == 5}
		if page < 5 {
			out["nextPageToken"] = strconv.Itoa(page + 1)
		}
		writeJSON(w, 200, out)
	})
	c, _, _ := newTLSServer(t, h)
	boom := errors.New("boom")
	var pages []int
	err := c.EachCursorPage(context.Background(), "/rest/api/3/search/jql", url.Values{"jql": {"x"}}, "issues", func(items []json.RawMessage) error {
		page := len(pages) + 1
		pages = append(pages, page)
		if <-requested != page {
			t.Errorf("page %d: requests out of order", page)
		}
		if page == 1 {
			// The request for page 2 arrives while page 1 is in fn.
			select {
			case p := <-requested:
				if p != 2 {
					t.Errorf("requested page %d while handling page 1, want 2", p)
				}
				requested <- p // for page 2's own check
			case <-time.After(10 * time.Second):
				t.Error("page 2 was not requested while page 1 was being handled")
			}
		}
		if page == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want fn's error", err)
	}
	// Page 3 may have been requested ahead of page 2's failure; nothing
	// after it, and nothing once the loop has returned.
	n := c.Requests()
	if n > 3 {
		t.Errorf("%d requests, want at most 3", n)
	}
	time.Sleep(50 * time.Millisecond)
	if c.Requests() != n {
		t.Error("a request was made after the loop returned")
	}
	if len(pages) != 2 {
		t.Errorf("fn saw pages %v, want [1 2]", pages)
	}
}

// TestCursorPrefetchSlots: a cursor loop fetches its next page ahead when
// the round trip takes longer than handling a page, and otherwise only with
// one of the client's prefetch slots, which it gives back.
func TestCursorPrefetchSlots(t *testing.T) {
	const last = 4
	tests := []struct {
		name      string
		latency   time.Duration // the server's time per page
		work      time.Duration // fn's time per page
		freeSlots bool
		wantAhead bool // pages after the first are requested ahead
	}{
		{name: "round trip longer, no free slot", latency: 200 * time.Millisecond, wantAhead: true},
		{name: "handling longer, a free slot", work: 300 * time.Millisecond, freeSlots: true, wantAhead: true},
		{name: "handling longer, no free slot", work: 300 * time.Millisecond, wantAhead: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handling atomic.Int32 // the page in fn, 0 between pages
			var early atomic.Int32    // requests for page p made while fn had page p-1
			requested := make(chan int, last+1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				page, _ := strconv.Atoi(r.URL.Query().Get("nextPageToken"))
				page = max(page, 1)
				if page > 1 && handling.Load() == int32(page-1) {
					early.Add(1)
				}
				requested <- page
				time.Sleep(tt.latency)
				out := map[string]any{"issues": []map[string]any{{"id": strconv.Itoa(page)}}, "isLast": page == last}
				if page < last {
					out["nextPageToken"] = strconv.Itoa(page + 1)
				}
				writeJSON(w, 200, out)
			})
			c, _, _ := newTLSServer(t, h)
			if !tt.freeSlots {
				for range cap(c.prefetch) {
					c.prefetch <- struct{}{}
				}
			}
			page := 0
			err := c.EachCursorPage(context.Background(), "/rest/api/3/search/jql", url.Values{"jql": {"x"}}, "issues", func([]json.RawMessage) error {
				page++
				handling.Store(int32(page))
				defer handling.Store(0)
				time.Sleep(tt.work)
				if <-requested != page {
					t.Errorf("page %d: requests out of order", page)
				}
				if page == 1 || (tt.wantAhead && page < last) {
					// The next page is requested while this one is in fn
					// (the first page's always is: nothing is known yet).
					select {
					case p := <-requested:
						requested <- p // for the next page's own check
					case <-time.After(10 * time.Second):
						t.Errorf("page %d was not requested while page %d was being handled", page+1, page)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if page != last {
				t.Fatalf("fn saw %d pages, want %d", page, last)
			}
			if !tt.wantAhead {
				// Only the first page's successor may have been requested
				// while fn had the first page.
				if n := early.Load(); n > 1 {
					t.Errorf("%d pages requested ahead, want at most the second", n)
				}
			}
			want := 0
			if !tt.freeSlots {
				want = cap(c.prefetch)
			}
			if n := len(c.prefetch); n != want {
				t.Errorf("%d prefetch slots taken after the loop, want %d", n, want)
			}
		})
	}
}
