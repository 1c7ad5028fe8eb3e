package jirasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const msgSearchRemoved = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"

const msgUnbounded = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

type searchResult struct {
	issues []int32
}

// runJQL parses and evaluates a query, caching the ordered result per
// (query, user, data version, minute, changes not yet indexed) so that paging stays cheap.
func (s *Server) runJQL(jql string, restricted viewer, requireBounded bool) ([]int32, error) {
	now := s.now()
	q, err := parseJQL(jql, s.data, s.loc, now, restricted)
	if err != nil {
		return nil, err
	}
	if requireBounded && q.where == nil {
		return nil, &jqlError{msg: msgUnbounded}
	}
	key := fmt.Sprintf("%d|%d|%d|%d|%s", restricted, s.data.version, now.Unix()/60, s.data.pendingIndex(now.UnixMilli()), jql)
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if res, ok := s.searches[key]; ok {
		return res.issues, nil
	}
	res := &searchResult{issues: q.run(s.data, restricted)}
	if len(s.searches) > 64 {
		clear(s.searches)
	}
	s.searches[key] = res
	return res.issues, nil
}

func writeJQLError(w http.ResponseWriter, err error) {
	var je *jqlError
	if errors.As(err, &je) {
		writeErrors(w, http.StatusBadRequest, je.msg)
		return
	}
	writeErrors(w, http.StatusInternalServerError, "Internal server error")
}

// searchRequest is the union of GET parameters and the POST body
// (SearchAndReconcileRequestBean).
type searchRequest struct {
	JQL             string   `json:"jql"`
	NextPageToken   *string  `json:"nextPageToken"`
	MaxResults      *int     `json:"maxResults"`
	Fields          []string `json:"fields"`
	Expand          string   `json:"expand"`
	Properties      []string `json:"properties"`
	FieldsByKeys    bool     `json:"fieldsByKeys"`
	FailFast        bool     `json:"failFast"`
	ReconcileIssues []int64  `json:"reconcileIssues"`
}

// decodeJSONBody enforces Jira's POST rules: a JSON content type (else 415
// problem+json) and no unknown or mistyped properties (else 400).
func decodeJSONBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "null"
		}
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "Content-Type '"+ct+"' is not supported.", r.URL.Path)
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "Could not read the request body.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		writeErrors(w, http.StatusBadRequest, "Invalid request payload. Refer to the REST API documentation and try again.")
		return false
	}
	return true
}

type pageToken struct {
	Offset int    `json:"o"`
	Query  uint64 `json:"q"`
}

func queryHash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func encodeToken(t pageToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string) (pageToken, error) {
	var t pageToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, err
	}
	if t.Offset < 0 {
		return t, fmt.Errorf("negative offset")
	}
	return t, nil
}

// handleSearchJQL is the enhanced search (cursor pagination, style C).
func (s *Server) handleSearchJQL(w http.ResponseWriter, r *http.Request, v *view) {
	var req searchRequest
	if r.Method == http.MethodPost {
		if !decodeJSONBody(w, r, &req) {
			return
		}
	} else {
		q := r.URL.Query()
		req.JQL = q.Get("jql")
		if q.Has("nextPageToken") {
			t := q.Get("nextPageToken")
			req.NextPageToken = &t
		}
		if q.Has("maxResults") {
			n, ok := intParam(w, r, "maxResults", 50)
			if !ok {
				return
			}
			req.MaxResults = &n
		}
		req.Fields = q["fields"]
		req.Expand = strings.Join(q["expand"], ",")
	}
	fields := parseFieldSel(req.Fields, "id")
	expand := parseExpand([]string{req.Expand})
	qh := queryHash(req.JQL, strings.Join(splitList(req.Fields), ","), req.Expand, strconv.Itoa(int(v.restricted)))
	offset := 0
	if req.NextPageToken != nil && *req.NextPageToken != "" {
		t, err := decodeToken(*req.NextPageToken)
		if err != nil || t.Query != qh {
			writeErrors(w, http.StatusBadRequest, "The provided next page token '"+*req.NextPageToken+"' is invalid or has expired.")
			return
		}
		offset = t.Offset
	}
	size := 50
	if req.MaxResults != nil {
		size = *req.MaxResults
	}
	if size < 1 || size > 5000 {
		writeErrors(w, http.StatusBadRequest, "The 'maxResults' parameter must be between 1 and 5000.")
		return
	}
	if fields.heavy() || expand["changelog"] || expand["renderedFields"] {
		size = min(size, 100) // many fields: fewer issues per page
	}
	ids, err := s.runJQL(req.JQL, v.restricted, true)
	if err != nil {
		writeJQLError(w, err)
		return
	}
	lo, hi := window(len(ids), offset, size)
	o := issueOpts{fields: fields, expand: expand, capComments: s.opts.Caps.Comments, capHistories: s.opts.Caps.Histories, capWorklogs: s.opts.Caps.Worklogs}
	o.expand = without(o.expand, "names", "schema") // top-level only
	issues := make([]any, 0, hi-lo)
	for _, i := range ids[lo:hi] {
		m := v.issue(i, o)
		m["expand"] = ""
		issues = append(issues, m)
	}
	resp := map[string]any{"issues": issues, "isLast": hi >= len(ids)}
	if hi < len(ids) {
		resp["nextPageToken"] = encodeToken(pageToken{Offset: hi, Query: qh})
	}
	v.addNamesSchema(resp, fields, expand)
	v.writeJSON(w, http.StatusOK, resp)
}

func (v *view) addNamesSchema(resp map[string]any, fields fieldSel, expand map[string]bool) {
	if !expand["names"] && !expand["schema"] {
		return
	}
	names, schema := map[string]any{}, map[string]any{}
	for _, f := range v.d.cat.fields {
		if fields.wants(f) && f.Schema != nil {
			names[f.ID] = f.Name
			schema[f.ID] = schemaJSON(f.Schema)
		}
	}
	if expand["names"] {
		resp["names"] = names
	}
	if expand["schema"] {
		resp["schema"] = schema
	}
}

func (s *Server) handleApproximateCount(w http.ResponseWriter, r *http.Request, v *view) {
	var req struct {
		JQL string `json:"jql"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	ids, err := s.runJQL(req.JQL, v.restricted, true)
	if err != nil {
		writeJQLError(w, err)
		return
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"count": len(ids)})
}

// dcResultWindow is Data Center 10's search window: startAt + maxResults
// may not pass it, whatever the query.
const dcResultWindow = 10000

// handleLegacySearch is Data Center's /search: startAt/maxResults/total,
// maxResults capped at 1000, default fields *navigable, no result past
// dcResultWindow.
func (s *Server) handleLegacySearch(w http.ResponseWriter, r *http.Request, v *view) {
	var jql string
	var start, size int
	var fieldVals, expandVals []string
	if r.Method == http.MethodPost {
		var req struct {
			JQL           string   `json:"jql"`
			StartAt       *int     `json:"startAt"`
			MaxResults    *int     `json:"maxResults"`
			Fields        []string `json:"fields"`
			Expand        []string `json:"expand"`
			ValidateQuery any      `json:"validateQuery"`
			Properties    []string `json:"properties"`
			FieldsByKeys  bool     `json:"fieldsByKeys"`
		}
		if !decodeJSONBody(w, r, &req) {
			return
		}
		jql, fieldVals, expandVals = req.JQL, req.Fields, req.Expand
		start, size = 0, 50
		if req.StartAt != nil {
			start = max(0, *req.StartAt)
		}
		if req.MaxResults != nil {
			size = *req.MaxResults
		}
		size = min(max(size, 0), 1000)
	} else {
		q := r.URL.Query()
		jql, fieldVals, expandVals = q.Get("jql"), q["fields"], q["expand"]
		var ok bool
		if start, ok = intParam(w, r, "startAt", 0); !ok {
			return
		}
		if size, ok = intParam(w, r, "maxResults", 50); !ok {
			return
		}
		start, size = max(start, 0), min(max(size, 0), 1000)
	}
	if start+size > dcResultWindow {
		// Jira 10 with OpenSearch or Lucene (jira-api.md §3.2).
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("Search limit exceeded. The requested results (startAt %d + maxResults %d) exceeded the search platform limit of %s. Refine the query or page with a sliding filter instead.", start, size, "10,000"))
		return
	}
	ids, err := s.runJQL(jql, v.restricted, false)
	if err != nil {
		writeJQLError(w, err)
		return
	}
	o := issueOpts{fields: parseFieldSel(fieldVals, "*navigable"), expand: parseExpand(expandVals), capWorklogs: s.opts.Caps.Worklogs}
	o.expand = without(o.expand, "names", "schema") // top-level only
	lo, hi := window(len(ids), start, size)
	issues := make([]any, 0, hi-lo)
	for _, i := range ids[lo:hi] {
		issues = append(issues, v.issue(i, o))
	}
	resp := map[string]any{"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(ids), "issues": issues}
	v.addNamesSchema(resp, o.fields, parseExpand(expandVals))
	v.writeJSON(w, http.StatusOK, resp)
}

// --- changelog bulk fetch ---

func (s *Server) handleBulkChangelog(w http.ResponseWriter, r *http.Request, v *view) {
	var req struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		FieldIDs       []string `json:"fieldIds"`
		MaxResults     *int     `json:"maxResults"`
		NextPageToken  *string  `json:"nextPageToken"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	if len(req.IssueIDsOrKeys) == 0 || len(req.IssueIDsOrKeys) > 1000 {
		writeErrors(w, http.StatusBadRequest, "issueIdsOrKeys must contain between 1 and 1000 issue IDs or keys.")
		return
	}
	if len(req.FieldIDs) > 10 {
		writeErrors(w, http.StatusBadRequest, "fieldIds must contain at most 10 field IDs.")
		return
	}
	size := 1000
	if req.MaxResults != nil {
		size = *req.MaxResults
	}
	if size < 1 || size > 10000 {
		writeErrors(w, http.StatusBadRequest, "maxResults must be between 1 and 10000.")
		return
	}
	qh := queryHash(append(append([]string{strconv.Itoa(int(v.restricted))}, req.IssueIDsOrKeys...), req.FieldIDs...)...)
	offset := 0
	if req.NextPageToken != nil && *req.NextPageToken != "" {
		t, err := decodeToken(*req.NextPageToken)
		if err != nil || t.Query != qh {
			writeErrors(w, http.StatusBadRequest, "The provided next page token is invalid or has expired.")
			return
		}
		offset = t.Offset
	}
	wantField := map[string]bool{}
	for _, f := range req.FieldIDs {
		wantField[f] = true
	}
	type entry struct {
		issue int32
		h     historyItem
	}
	var all []entry
	seen := map[int32]bool{}
	for _, k := range req.IssueIDsOrKeys {
		i, ok := v.d.lookup(k)
		if !ok || seen[i] || !v.d.visibleIssue(i, v.restricted) {
			continue
		}
		seen[i] = true
		for _, h := range v.d.histories(i) {
			if len(wantField) > 0 {
				var items []changeItem
				for _, it := range h.Items {
					if wantField[it.FieldID] {
						items = append(items, it)
					}
				}
				if len(items) == 0 {
					continue
				}
				h.Items = items
			}
			all = append(all, entry{i, h})
		}
	}
	sort.SliceStable(all, func(a, b int) bool {
		if all[a].h.Created != all[b].h.Created {
			return all[a].h.Created < all[b].h.Created
		}
		return all[a].issue < all[b].issue
	})
	lo, hi := window(len(all), offset, size)
	var logs []any
	var cur map[string]any
	var curIssue int32 = -1
	for _, e := range all[lo:hi] {
		if cur == nil || e.issue != curIssue {
			cur = map[string]any{"issueId": strconv.FormatInt(v.d.issueID(e.issue), 10), "changeHistories": []any{}}
			logs = append(logs, cur)
			curIssue = e.issue
		}
		cur["changeHistories"] = append(cur["changeHistories"].([]any), v.history(e.issue, e.h))
	}
	if logs == nil {
		logs = []any{}
	}
	resp := map[string]any{"issueChangeLogs": logs}
	if hi < len(all) {
		resp["nextPageToken"] = encodeToken(pageToken{Offset: hi, Query: qh})
	}
	v.writeJSON(w, http.StatusOK, resp)
}

// --- worklog change feeds (style D) ---

const worklogFeedPage = 1000

func (s *Server) worklogIndex() []worklogRef {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if s.wlIndex == nil || s.wlVer != s.data.version {
		s.wlIndex, s.wlVer = s.data.worklogIndex(), s.data.version
	}
	return s.wlIndex
}

func (s *Server) handleWorklogChanges(deleted bool) func(w http.ResponseWriter, r *http.Request, v *view) {
	return func(w http.ResponseWriter, r *http.Request, v *view) {
		q := r.URL.Query()
		var since int64
		if q.Has("since") {
			n, err := strconv.ParseInt(q.Get("since"), 10, 64)
			if err != nil {
				writeProblem(w, http.StatusBadRequest, "Bad Request", "Failed to convert 'since' with value: '"+q.Get("since")+"'", r.URL.Path)
				return
			}
			since = n
		}
		src := v.d.deletedWorklogs
		if !deleted {
			src = s.worklogIndex()
		}
		// Nothing changed during the minute preceding the request.
		cutoff := s.now().Add(-60e9).UnixMilli()
		start := sort.Search(len(src), func(k int) bool { return src[k].Time >= since })
		vals := []any{}
		until := since
		last := true
		for _, ref := range src[start:] {
			if ref.Time > cutoff {
				break
			}
			if !v.d.visibleProject(int(v.d.recs[ref.Issue].proj), v.restricted) || (ref.Restricted && v.restricted != asAdmin) {
				continue
			}
			if len(vals) == worklogFeedPage {
				last = false
				break
			}
			vals = append(vals, map[string]any{"worklogId": ref.ID, "updatedTime": ref.Time, "properties": []any{}})
			until = ref.Time
		}
		// As Jira's own examples show: since is the first item's time, and
		// nextPage is there on the last page too (since=until, which reads
		// the last item again): a client must stop at lastPage.
		first := since
		if len(vals) > 0 {
			first = vals[0].(map[string]any)["updatedTime"].(int64)
		}
		path := s.pathURL(r)
		resp := map[string]any{"values": vals, "since": first, "until": until, "self": queryURL(path, "since", strconv.FormatInt(since, 10)),
			"lastPage": last, "nextPage": queryURL(path, "since", strconv.FormatInt(until, 10))}
		v.writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Server) handleWorklogList(w http.ResponseWriter, r *http.Request, v *view) {
	var req struct {
		IDs []int64 `json:"ids"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > 1000 {
		writeErrors(w, http.StatusBadRequest, "The number of worklog IDs must be between 1 and 1000.")
		return
	}
	out := []any{}
	byIssue := map[int32][]worklogItem{}
	for _, id := range req.IDs {
		i, ok := v.d.findWorklog(id)
		if !ok || !v.d.visibleIssue(i, v.restricted) {
			continue
		}
		ws, ok := byIssue[i]
		if !ok {
			ws = v.d.visibleWorklogs(i, v.restricted)
			byIssue[i] = ws
		}
		for _, wl := range ws {
			if wl.ID == id {
				out = append(out, v.worklog(wl))
			}
		}
	}
	v.writeJSON(w, http.StatusOK, out)
}

// handleBulkFetchIssues is POST issue/bulkfetch: up to 100 ids or keys, the
// visible ones returned in ascending id order, unknown ones simply absent.
// With Options.IssueErrors, some visible ones are listed in issueErrors
// instead, as Jira does for an issue it could not return this time.
func (s *Server) handleBulkFetchIssues(w http.ResponseWriter, r *http.Request, v *view) {
	var req struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		Fields         []string `json:"fields"`
		Expand         []string `json:"expand"`
		FieldsByKeys   bool     `json:"fieldsByKeys"`
		Properties     []string `json:"properties"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	if len(req.IssueIDsOrKeys) == 0 || len(req.IssueIDsOrKeys) > 100 {
		writeErrors(w, http.StatusBadRequest, "The number of issue IDs or keys must be between 1 and 100.")
		return
	}
	seen := map[int32]bool{}
	var ids []int32
	for _, k := range req.IssueIDsOrKeys {
		if i, ok := v.d.lookup(k); ok && !seen[i] && v.d.visibleIssue(i, v.restricted) {
			seen[i] = true
			ids = append(ids, i)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	expand := parseExpand(req.Expand)
	o := issueOpts{fields: parseFieldSel(req.Fields, "*navigable"), expand: without(expand, "names", "schema"),
		capComments: s.opts.Caps.Comments, capHistories: s.opts.Caps.Histories, capWorklogs: s.opts.Caps.Worklogs}
	issues := make([]any, 0, len(ids))
	issueErrors := []any{}
	var rr rnd
	if s.opts.IssueErrors > 0 {
		rr = newRnd(s.opts.Seed, tagIssueError, s.bulkNo.Add(1))
	}
	for _, i := range ids {
		if s.opts.IssueErrors > 0 && rr.chance(s.opts.IssueErrors) {
			issueErrors = append(issueErrors, map[string]any{"id": strconv.FormatInt(v.d.issueID(i), 10),
				"errorMessage": "The issue could not be retrieved. Try again later."})
			continue
		}
		m := v.issue(i, o)
		m["expand"] = ""
		issues = append(issues, m)
	}
	resp := map[string]any{"expand": "schema,names", "issues": issues, "issueErrors": issueErrors}
	v.addNamesSchema(resp, o.fields, expand)
	v.writeJSON(w, http.StatusOK, resp)
}

// handleCommentList is POST comment/list: comments by id as a PageBean.
func (s *Server) handleCommentList(w http.ResponseWriter, r *http.Request, v *view) {
	var req struct {
		IDs []int64 `json:"ids"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > 1000 {
		writeErrors(w, http.StatusBadRequest, "The number of comment IDs must be between 1 and 1000.")
		return
	}
	want := map[int64]bool{}
	for _, id := range req.IDs {
		want[id] = true
	}
	issues := map[int32]bool{}
	for id := range want {
		if i, ok := v.d.findComment(id); ok && v.d.visibleIssue(i, v.restricted) {
			issues[i] = true
		}
	}
	order := make([]int32, 0, len(issues))
	for i := range issues {
		order = append(order, i)
	}
	sort.Slice(order, func(a, b int) bool { return order[a] < order[b] })
	vals := []any{}
	for _, i := range order {
		for _, c := range v.d.visibleComments(i, v.restricted) {
			if want[c.ID] {
				vals = append(vals, v.comment(i, c))
			}
		}
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"self": s.url + r.URL.Path, "maxResults": len(req.IDs), "startAt": 0,
		"total": len(vals), "isLast": true, "values": vals})
}
