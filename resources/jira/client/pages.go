package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jsync-dev/jsync/engine/jsonscan"
)

// PageFunc receives the raw items of one page, in server order. Returning an
// error stops the pagination and is returned as is.
type PageFunc func(items []json.RawMessage) error

// ErrRestart, returned by the PageFunc of an offset-paged endpoint
// (EachPageOf, EachPageBean), ends the paging after this page when more
// pages follow, and is returned so that the caller restarts the query from
// what it read last (Data Center's offsets shift when the data changes
// while it is paged). When the page was the last, the paging ends with nil.
var ErrRestart = errors.New("restart the paging")

// ErrPageLoop is wrapped by every pagination guard error: the server's
// paging metadata would make the loop run forever or skip data.
var ErrPageLoop = errors.New("pagination does not advance")

// PageError is a pagination guard failure or a malformed page envelope.
type PageError struct {
	Method, Endpoint string
	Page             int // 1-based
	Reason           string
	loop             bool
}

func (e *PageError) Error() string {
	return fmt.Sprintf("jira: %s %s: page %d: %s", e.Method, e.Endpoint, e.Page, e.Reason)
}

// Is makes errors.Is(err, ErrPageLoop) true for loop guards.
func (e *PageError) Is(target error) bool { return e.loop && target == ErrPageLoop }

func loopErr(method, path string, page int, format string, args ...any) error {
	return &PageError{Method: method, Endpoint: path, Page: page, Reason: fmt.Sprintf(format, args...) + " (loop guard)", loop: true}
}

func envErr(method, path string, page int, format string, args ...any) error {
	return &PageError{Method: method, Endpoint: path, Page: page, Reason: fmt.Sprintf(format, args...)}
}

// maxEmptyCursorPages is how many consecutive empty pages with a fresh
// nextPageToken a cursor endpoint may return before the loop is declared
// stuck. (Search can legitimately filter a page down to nothing.)
const maxEmptyCursorPages = 3

// envelope is a page object decoded leniently: numbers may arrive as
// strings, and unknown members are ignored. doc, when set, indexes the
// page (see jsonscan.Doc): registered while the page is split and while
// its items are handed on, so every level below is split without
// rescanning.
type envelope struct {
	m   map[string]json.RawMessage
	doc *jsonscan.Doc
}

func (c *Client) getEnvelope(ctx context.Context, method, path string, query url.Values, body any, page int) (envelope, error) {
	resp, err := c.Do(ctx, method, path, query, body)
	if err != nil {
		return envelope{}, fmt.Errorf("page %d: %w", page, err)
	}
	env := envelope{doc: resp.doc}
	if resp.ValidJSON() {
		// Validated once on arrival: split it without validating again.
		// Items are split the same way (envelope.items), and so on down.
		env.doc.Register()
		m, serr := jsonscan.Object(resp.Body)
		env.doc.Release()
		if serr == nil {
			env.m = m
		}
	}
	if env.m != nil {
		return env, nil
	}
	if err := json.Unmarshal(resp.Body, &env.m); err != nil || env.m == nil {
		if err == nil {
			err = errors.New("null page")
		}
		return envelope{}, c.decodeError(ctx, method, path, resp.Body, fmt.Errorf("page %d: %w", page, err))
	}
	return env, nil
}

// items returns the array under key. A missing key is an error (the caller
// named the wrong key, or the server changed shape); null is an empty page.
func (e envelope) items(key string) ([]json.RawMessage, error) {
	raw, ok := e.m[key]
	if !ok {
		return nil, fmt.Errorf("page has no %q array", key)
	}
	if isNull(raw) {
		return nil, nil
	}
	e.doc.Register()
	out, err := jsonscan.Array(raw)
	e.doc.Release()
	if err != nil {
		return nil, fmt.Errorf("page member %q is not an array", key)
	}
	return out, nil
}

// deliver hands the page's items to fn, with the page's index registered
// while fn decodes them.
func (e envelope) deliver(fn PageFunc, items []json.RawMessage) error {
	e.doc.Register()
	defer e.doc.Release()
	return fn(items)
}

func (e envelope) int(key string) (v int64, present bool, err error) {
	raw, ok := e.m[key]
	if !ok || isNull(raw) {
		return 0, false, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false, fmt.Errorf("page member %q is not a number: %s", key, truncate(string(raw), 40))
		}
		n = json.Number(s)
	}
	v, err = strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("page member %q is not an integer: %s", key, truncate(string(raw), 40))
	}
	return v, true, nil
}

func (e envelope) bool(key string) (v, present bool, err error) {
	raw, ok := e.m[key]
	if !ok || isNull(raw) {
		return false, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if b, perr := strconv.ParseBool(s); perr == nil {
				return b, true, nil
			}
		}
		return false, false, fmt.Errorf("page member %q is not a boolean: %s", key, truncate(string(raw), 40))
	}
	return v, true, nil
}

func (e envelope) string(key string) (string, error) {
	raw, ok := e.m[key]
	if !ok || isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("page member %q is not a string: %s", key, truncate(string(raw), 40))
	}
	return s, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func cloneQuery(q url.Values) url.Values {
	if q == nil {
		return url.Values{}
	}
	return url.Values(maps.Clone(map[string][]string(q)))
}

func startAtOf(q url.Values) (int64, error) {
	s := q.Get("startAt")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("startAt %q: not a non-negative integer", s)
	}
	return n, nil
}

// EachPageBean pages a Cloud PageBean endpoint (style A: startAt/maxResults
// in, {startAt, maxResults, total, isLast, nextPage?, values} out), e.g.
// /rest/api/3/project/search, /project/{id}/version, /field/search,
// /issue/{key}/changelog, /statuses/search. query may set startAt and
// maxResults; paging then follows the server's echoed startAt and isLast
// (falling back to nextPage, total, then a full echoed maxResults page).
func (c *Client) EachPageBean(ctx context.Context, path string, query url.Values, fn PageFunc) error {
	return c.offsetPages(ctx, path, query, "values", fn)
}

// EachAgilePage pages an Agile PageBean (style F: {maxResults, startAt,
// total?, isLast, values}; total is absent on /board/{id}/sprint), e.g.
// /rest/agile/1.0/board, /board/{id}/sprint, /board/{id}/version.
func (c *Client) EachAgilePage(ctx context.Context, path string, query url.Values, fn PageFunc) error {
	return c.offsetPages(ctx, path, query, "values", fn)
}

// EachPageOf pages a legacy "PageOf" envelope (style B: {startAt,
// maxResults, total, <itemsKey>} with no isLast), e.g.
// /issue/{key}/comment ("comments"), /issue/{key}/worklog ("worklogs"), DC
// /rest/api/2/search ("issues"), agile /board/{id}/issue ("issues").
func (c *Client) EachPageOf(ctx context.Context, path string, query url.Values, itemsKey string, fn PageFunc) error {
	return c.offsetPages(ctx, path, query, itemsKey, fn)
}

func (c *Client) offsetPages(ctx context.Context, path string, query url.Values, itemsKey string, fn PageFunc) error {
	const method = http.MethodGet
	q := cloneQuery(query)
	startAt, err := startAtOf(q)
	if err != nil {
		return fmt.Errorf("jira: %s %s: %w", method, path, err)
	}
	var prev []json.RawMessage
	for page := 1; ; page++ {
		q.Set("startAt", strconv.FormatInt(startAt, 10))
		env, err := c.getEnvelope(ctx, method, path, q, nil, page)
		if err != nil {
			return err
		}
		items, err := env.items(itemsKey)
		if err != nil {
			return envErr(method, path, page, "%v", err)
		}
		echoedStart, hasStart, err1 := env.int("startAt")
		maxResults, hasMax, err2 := env.int("maxResults")
		total, hasTotal, err3 := env.int("total")
		isLast, hasLast, err4 := env.bool("isLast")
		nextPage, err5 := env.string("nextPage")
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return envErr(method, path, page, "%v", err)
		}
		if !hasStart {
			echoedStart = startAt
		}
		restart := false
		if err := env.deliver(fn, items); errors.Is(err, ErrRestart) {
			restart = true
		} else if err != nil {
			return err
		}
		next := echoedStart + int64(len(items))
		var more bool
		switch {
		case hasLast:
			more = !isLast
		case nextPage != "":
			more = true
		case hasTotal:
			more = next < total
		case hasMax:
			more = len(items) > 0 && int64(len(items)) >= maxResults
		default:
			more = len(items) > 0
		}
		if !more {
			return nil
		}
		if restart {
			return ErrRestart
		}
		if len(items) == 0 {
			return loopErr(method, path, page, "empty page at startAt=%d but the server claims more (isLast=%v, total=%d)", echoedStart, isLast, total)
		}
		if next <= startAt {
			return loopErr(method, path, page, "startAt not advancing (asked %d, server echoed %d with %d items)", startAt, echoedStart, len(items))
		}
		if !hasStart && samePage(prev, items) {
			return loopErr(method, path, page, "page at startAt=%d repeats the previous page (server ignores startAt)", startAt)
		}
		prev = items
		startAt = next
	}
}

// EachCursorPage pages a cursor endpoint with GET (style C: nextPageToken
// in; {<itemsKey>, nextPageToken?, isLast?} out), e.g. Cloud
// /rest/api/3/search/jql with itemsKey "issues". The last page has no
// nextPageToken (or isLast true). A repeated token, isLast=false without a
// token, or more than a few empty pages in a row is a loop error.
func (c *Client) EachCursorPage(ctx context.Context, path string, query url.Values, itemsKey string, fn PageFunc) error {
	q := cloneQuery(query)
	return c.cursorPages(ctx, http.MethodGet, path, itemsKey, fn, func(ctx context.Context, page int, token string) (envelope, error) {
		if token == "" {
			q.Del("nextPageToken")
		} else {
			q.Set("nextPageToken", token)
		}
		return c.getEnvelope(ctx, http.MethodGet, path, q, nil, page)
	})
}

// EachCursorPagePOST is EachCursorPage with the request in a JSON body, e.g.
// POST /rest/api/3/search/jql ("issues") or POST /rest/api/3/changelog/bulkfetch
// ("issueChangeLogs"). body is copied per page with "nextPageToken" set.
func (c *Client) EachCursorPagePOST(ctx context.Context, path string, body map[string]any, itemsKey string, fn PageFunc) error {
	return c.cursorPages(ctx, http.MethodPost, path, itemsKey, fn, func(ctx context.Context, page int, token string) (envelope, error) {
		b := maps.Clone(body)
		if b == nil {
			b = map[string]any{}
		}
		if token == "" {
			delete(b, "nextPageToken")
		} else {
			b["nextPageToken"] = token
		}
		return c.getEnvelope(ctx, http.MethodPost, path, nil, b, page)
	})
}

func (c *Client) cursorPages(ctx context.Context, method, path, itemsKey string, fn PageFunc,
	fetch func(ctx context.Context, page int, token string) (envelope, error)) error {
	// The next page is requested as soon as this one's token is known, so
	// its round trip overlaps fn's work on this page: one request of the
	// loop is in flight at a time, as without it, but the loop no longer
	// waits out the latency after each page. The page fetched ahead is
	// held meanwhile, so a loop whose pages take longer to handle than to
	// fetch prefetches only with one of the client's prefetch slots (see
	// prefetchSlots).
	type result struct {
		env  envelope
		err  error
		took time.Duration // the round trip
	}
	timed := func(ctx context.Context, page int, token string) result {
		start := time.Now()
		env, err := fetch(ctx, page, token)
		return result{env, err, time.Since(start)}
	}
	pctx, cancel := context.WithCancel(ctx)
	var ahead chan result
	slot := false // ahead holds one of c.prefetch's slots
	defer func() {
		cancel()
		if ahead != nil {
			<-ahead // the prefetch ends with pctx
		}
		if slot {
			<-c.prefetch
		}
	}()
	seen := map[string]bool{}
	token := ""
	empty := 0
	cur := timed(pctx, 1, token)
	env, err := cur.env, cur.err
	var handled time.Duration // fn's time on the last page
	for page := 1; ; page++ {
		if err != nil {
			return err
		}
		items, err := env.items(itemsKey)
		if err != nil {
			return envErr(method, path, page, "%v", err)
		}
		next, err1 := env.string("nextPageToken")
		isLast, hasLast, err2 := env.bool("isLast")
		if err := errors.Join(err1, err2); err != nil {
			return envErr(method, path, page, "%v", err)
		}
		// What follows this page: the end, a loop error (reported after
		// fn has had the page, as the page itself is good), or the next
		// page, fetched while fn runs if that pays.
		var stop error
		done := hasLast && isLast
		switch {
		case done:
		case next == "":
			done = true
			if hasLast {
				stop = loopErr(method, path, page, "isLast=false but no nextPageToken")
			}
		case seen[next] || next == token:
			stop = loopErr(method, path, page, "nextPageToken repeated")
		}
		if len(items) == 0 {
			empty++
		} else {
			empty = 0
		}
		if !done && stop == nil && empty >= maxEmptyCursorPages {
			stop = loopErr(method, path, page, "%d empty pages in a row that claim more follow", empty)
		}
		if !done && stop == nil {
			if cur.took > handled {
				ahead = make(chan result, 1)
			} else {
				select {
				case c.prefetch <- struct{}{}:
					ahead, slot = make(chan result, 1), true
				default:
				}
			}
			if ahead != nil {
				go func(page int, token string, out chan<- result) {
					out <- timed(pctx, page, token)
				}(page+1, next, ahead)
			}
		}
		start := time.Now()
		if err := env.deliver(fn, items); err != nil {
			return err
		}
		handled = time.Since(start)
		if done || stop != nil {
			return stop
		}
		seen[next] = true
		token = next
		if ahead != nil {
			cur = <-ahead
			ahead = nil
		} else {
			cur = timed(pctx, page+1, next)
		}
		if slot {
			<-c.prefetch
			slot = false
		}
		env, err = cur.env, cur.err
	}
}

// EachSincePage pages /worklog/updated or /worklog/deleted (style D: since in;
// {values, since, until, nextPage?, lastPage} out), starting at since (epoch
// ms). It follows the since of the echoed nextPage, else the echoed until,
// and returns the cursor to store for the next run: the last until (or since
// when the server sent none). query may add e.g. expand.
func (c *Client) EachSincePage(ctx context.Context, path string, since int64, query url.Values, fn PageFunc) (int64, error) {
	const method = http.MethodGet
	q := cloneQuery(query)
	for page := 1; ; page++ {
		q.Set("since", strconv.FormatInt(since, 10))
		env, err := c.getEnvelope(ctx, method, path, q, nil, page)
		if err != nil {
			return since, err
		}
		items, err := env.items("values")
		if err != nil {
			return since, envErr(method, path, page, "%v", err)
		}
		until, hasUntil, err1 := env.int("until")
		lastPage, hasLast, err2 := env.bool("lastPage")
		nextPage, err3 := env.string("nextPage")
		if err := errors.Join(err1, err2, err3); err != nil {
			return since, envErr(method, path, page, "%v", err)
		}
		if err := env.deliver(fn, items); err != nil {
			return since, err
		}
		cursor := since
		if hasUntil && until > cursor {
			cursor = until
		}
		last := lastPage
		if !hasLast {
			last = nextPage == ""
		}
		if last {
			return cursor, nil
		}
		next := cursor
		if u, err := url.Parse(nextPage); err == nil && nextPage != "" {
			if s, err := strconv.ParseInt(u.Query().Get("since"), 10, 64); err == nil {
				next = s
			}
		}
		if len(items) == 0 {
			return since, loopErr(method, path, page, "empty page at since=%d but lastPage=false", since)
		}
		if next <= since {
			return since, loopErr(method, path, page, "since not advancing (asked %d, next %d)", since, next)
		}
		since = next
	}
}

// EachArray fetches a bare-array endpoint in one request (style E), e.g.
// /field, /status, /priority, /resolution, /issuetype, /project/type,
// POST-free lists. Use EachArrayPage for /users/search and /user/search.
func (c *Client) EachArray(ctx context.Context, path string, query url.Values, fn PageFunc) error {
	resp, err := c.Do(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return err
	}
	items, err := c.decodeArray(ctx, http.MethodGet, path, resp.Body)
	if err != nil {
		return err
	}
	return fn(items)
}

// PostArray POSTs body and passes the bare array answer to fn, e.g. POST
// /rest/api/3/worklog/list {"ids":[…]}.
func (c *Client) PostArray(ctx context.Context, path string, body any, fn PageFunc) error {
	resp, err := c.Do(ctx, http.MethodPost, path, nil, body)
	if err != nil {
		return err
	}
	items, err := c.decodeArray(ctx, http.MethodPost, path, resp.Body)
	if err != nil {
		return err
	}
	return fn(items)
}

func (c *Client) decodeArray(ctx context.Context, method, path string, body []byte) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, c.decodeError(ctx, method, path, body, fmt.Errorf("expected a JSON array: %w", err))
	}
	return items, nil
}

// EachArrayPage pages a bare-array endpoint with startAt/maxResults (style
// E with paging), e.g. Cloud /users/search, DC /user/search. Nothing is
// echoed, and these endpoints may return short pages before the end (they
// filter after paging), so paging stops only at an empty page. A page equal
// to the previous one means the server ignores startAt: a loop error.
func (c *Client) EachArrayPage(ctx context.Context, path string, query url.Values, fn PageFunc) error {
	const method = http.MethodGet
	q := cloneQuery(query)
	startAt, err := startAtOf(q)
	if err != nil {
		return fmt.Errorf("jira: %s %s: %w", method, path, err)
	}
	var prev []json.RawMessage
	for page := 1; ; page++ {
		q.Set("startAt", strconv.FormatInt(startAt, 10))
		resp, err := c.Do(ctx, method, path, q, nil)
		if err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
		items, err := c.decodeArray(ctx, method, path, resp.Body)
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		if samePage(prev, items) {
			return loopErr(method, path, page, "page at startAt=%d repeats the previous page (server ignores startAt)", startAt)
		}
		if err := fn(items); err != nil {
			return err
		}
		prev = items
		startAt += int64(len(items))
	}
}

func samePage(a, b []json.RawMessage) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
