package main

import (
	"fmt"
	"strings"
)

// apiLimits are the page-size limits of the Jira Cloud endpoints a sync
// uses, as Atlassian documents them (and as the simulator enforces them).
type apiLimits struct {
	SearchPage          int64 // search/jql issues per page with fields=*all or expand=changelog (5000 for ids only)
	BulkChangelogIssues int64 // changelog/bulkfetch: issue ids per request
	BulkChangelogPage   int64 // changelog/bulkfetch: histories per page
	WorklogFeedPage     int64 // worklog/updated: ids per page
	WorklogListIDs      int64 // worklog/list: ids per request
	CommentPage         int64 // issue/{id}/comment: comments per page
	WorklogPage         int64 // issue/{id}/worklog: worklogs per page
	ProjectPage         int64 // project/search
	UserPage            int64 // users/search (a bare array: done on a short page)
	BoardPage           int64 // agile board
	SprintPage          int64 // agile board/{id}/sprint
}

// jiraCloudLimits are today's Jira Cloud limits.
var jiraCloudLimits = apiLimits{
	SearchPage: 100, BulkChangelogIssues: 1000, BulkChangelogPage: 10000,
	WorklogFeedPage: 1000, WorklogListIDs: 1000, CommentPage: 100, WorklogPage: 5000,
	ProjectPage: 100, UserPage: 1000, BoardPage: 50, SprintPage: 50,
}

// singleCallCatalogues are the catalogue tables one un-paged request
// returns in full: field, status, statuscategory, priority, resolution,
// issuetype, role, project/type and projectCategory.
const singleCallCatalogues = 9

// datasetShape is what the minimum depends on: totals from /_sim/expected
// and, from the raw search pages, the issues whose embedded collections
// are truncated (their true totals).
type datasetShape struct {
	Issues, Comments, Histories, Worklogs int64
	Projects, Users, Boards               int64
	// Totals of the issues whose embedded page is truncated (items < total).
	OverComments, OverHistories, OverWorklogs []int64
	// The largest totals seen on any issue (the long tails).
	MaxComments, MaxHistories, MaxWorklogs int64
}

// shapeFromExpected fills the totals from /_sim/expected.
func shapeFromExpected(e map[string]int64) datasetShape {
	return datasetShape{
		Issues: e["issues"], Comments: e["issue_comments"], Histories: e["changelogs"], Worklogs: e["worklogs"],
		Projects: e["projects"], Users: e["users"], Boards: e["boards"],
	}
}

// minimum is the fewest requests Jira's endpoints allow for a complete
// sync, by part.
type minimum struct {
	Search, Changelog, Worklogs, Comments, Catalogue int64
	WorklogsViaFeed, WorklogsPerIssue                int64 // the two ways to fetch worklogs; Worklogs is the smaller
}

// Total is the API minimum.
func (m minimum) Total() int64 { return m.Search + m.Changelog + m.Worklogs + m.Comments + m.Catalogue }

// ceilDiv is ⌈a/b⌉ for a >= 0, b > 0.
func ceilDiv(a, b int64) int64 {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}

// apiMinimum computes the minimum (the formula is minimumFormula):
//
//   - search: ⌈issues / 100⌉ pages of search/jql with every field and the
//     embedded changelog (at least one request);
//   - changelog: the issues over the history cap through
//     changelog/bulkfetch: max(⌈n / 1000⌉, ⌈their histories / 10000⌉);
//   - worklogs: the smaller of the change feed (⌈W / 1000⌉ worklog/updated
//     pages, at least one, plus ⌈W / 1000⌉ worklog/list calls) and one
//     issue/{id}/worklog page per issue over the worklog cap;
//   - comments (no bulk endpoint): Σ ⌈total / 100⌉ issue/{id}/comment pages
//     over the issues over the comment cap;
//   - catalogue: 9 single calls, ⌈projects / 100⌉ project/search pages, one
//     versions and one components call per project, ⌈(users + 1) / 1000⌉
//     users/search pages, ⌈boards / 50⌉ board pages and one sprint page per
//     board.
//
// Transitions (expand=transitions), links, changelog items and sprint
// membership (the sprint field) arrive inside the issues: no requests.
func apiMinimum(s datasetShape, l apiLimits) minimum {
	var m minimum
	m.Search = max(1, ceilDiv(s.Issues, l.SearchPage))
	if n := int64(len(s.OverHistories)); n > 0 {
		m.Changelog = max(ceilDiv(n, l.BulkChangelogIssues), ceilDiv(sum(s.OverHistories), l.BulkChangelogPage))
	}
	m.WorklogsViaFeed = max(1, ceilDiv(s.Worklogs, l.WorklogFeedPage)) + ceilDiv(s.Worklogs, l.WorklogListIDs)
	for _, t := range s.OverWorklogs {
		m.WorklogsPerIssue += ceilDiv(t, l.WorklogPage)
	}
	m.Worklogs = min(m.WorklogsViaFeed, m.WorklogsPerIssue)
	for _, t := range s.OverComments {
		m.Comments += ceilDiv(t, l.CommentPage)
	}
	m.Catalogue = singleCallCatalogues + max(1, ceilDiv(s.Projects, l.ProjectPage)) + 2*s.Projects +
		ceilDiv(s.Users+1, l.UserPage) + max(1, ceilDiv(s.Boards, l.BoardPage)) + s.Boards
	return m
}

// part names one term of the minimum and which endpoints serve it.
type part struct {
	Name  string
	Match func(endpoint string) bool
	Min   func(minimum) int64
}

// minimumParts map the minimum's terms to endpoint patterns, so a run's
// requests can be compared term by term. Endpoints no term claims are
// catalogue calls, except serverInfo, myself and approximate-count, which
// the minimum leaves out.
var minimumParts = []part{
	{"search (search/jql)", isSearch, func(m minimum) int64 { return m.Search }},
	{"changelog (bulkfetch, issue changelog)", pathHas("/changelog/bulkfetch", "/changelog"), func(m minimum) int64 { return m.Changelog }},
	{"worklogs (feed, list, issue worklog)", pathHas("/worklog/updated", "/worklog/deleted", "/worklog/list", "/worklog"), func(m minimum) int64 { return m.Worklogs }},
	{"comments (issue comment)", pathHas("/comment"), func(m minimum) int64 { return m.Comments }},
	{"not in the minimum (serverInfo, myself, approximate-count)", pathHas("/serverInfo", "/myself", "/search/approximate-count"), func(minimum) int64 { return 0 }},
}

// pathHas matches endpoints whose path ends with one of the suffixes.
func pathHas(suffixes ...string) func(string) bool {
	return func(ep string) bool {
		p := endpointPath(ep)
		for _, s := range suffixes {
			if strings.HasSuffix(p, s) {
				return true
			}
		}
		return false
	}
}

// partCount is one term: the minimum and what a run used.
type partCount struct {
	Name      string
	Min, Used int64
}

// compareParts splits a run's requests by the minimum's terms; the rest
// are catalogue calls.
func compareParts(m minimum, st simStats) []partCount {
	claimed := map[string]bool{}
	var out []partCount
	for _, p := range minimumParts {
		var used int64
		for _, e := range st.byEndpoint() {
			if !claimed[e.Endpoint] && p.Match(e.Endpoint) {
				claimed[e.Endpoint] = true
				used += e.Requests
			}
		}
		out = append(out, partCount{p.Name, p.Min(m), used})
	}
	var cat int64
	for _, e := range st.byEndpoint() {
		if !claimed[e.Endpoint] {
			cat += e.Requests
		}
	}
	return append(out, partCount{"catalogue (everything else)", m.Catalogue, cat})
}

// naiveRequests is a one-request-per-issue design: the same search pages
// and catalogue, then one comment, changelog, worklog and transitions call
// per issue.
func naiveRequests(s datasetShape, l apiLimits) int64 {
	m := apiMinimum(s, l)
	return m.Search + m.Catalogue + 4*s.Issues
}

// minimumFormula states the formula for BENCHMARKS.md.
func minimumFormula(l apiLimits) string {
	return fmt.Sprintf(`API minimum = search + changelog + worklogs + comments + catalogue, where
- search = ⌈issues ÷ %[1]d⌉ (search/jql pages with fields=*all and expand=changelog; the server caps such pages at %[1]d);
- changelog = max(⌈n_h ÷ %[2]d⌉, ⌈H_over ÷ %[3]d⌉) changelog/bulkfetch pages, n_h = issues whose embedded changelog is truncated (cap 40), H_over = their histories;
- worklogs = min(feed, per-issue): feed = max(1, ⌈W ÷ %[4]d⌉) worklog/updated pages + ⌈W ÷ %[5]d⌉ worklog/list calls; per-issue = Σ ⌈total ÷ %[6]d⌉ issue/{id}/worklog pages over the issues past the worklog cap;
- comments = Σ ⌈total ÷ %[7]d⌉ issue/{id}/comment pages over the issues past the comment cap (comments have no bulk endpoint);
- catalogue = %[8]d single calls (field, status, statuscategory, priority, resolution, issuetype, role, project/type, projectCategory) + ⌈projects ÷ %[9]d⌉ project/search pages + 2 × projects (versions, components) + ⌈(users + 1) ÷ %[10]d⌉ users/search pages + ⌈boards ÷ %[11]d⌉ board pages + boards (one sprint page each);
- transitions (expand=transitions), issue links, changelog items and sprint membership (the sprint field) come inside the issues: 0 requests. serverInfo and myself are not counted.
Naive one-request-per-issue design = search + catalogue + 4 × issues (comments, changelog, worklogs and transitions per issue).`,
		l.SearchPage, l.BulkChangelogIssues, l.BulkChangelogPage, l.WorklogFeedPage, l.WorklogListIDs, l.WorklogPage,
		l.CommentPage, singleCallCatalogues, l.ProjectPage, l.UserPage, l.BoardPage)
}
