package jirasim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// routes registers every endpoint. Platform endpoints exist under v2 and v3
// on Cloud, and under v2 and latest on Data Center.
func (s *Server) routes() {
	mux := http.NewServeMux()
	s.mux = mux
	cloud := s.opts.Flavor == FlavorCloud
	vers := []string{"2", "3"}
	if !cloud {
		vers = []string{"2", "latest"}
	}
	api := func(method, path string, h func(w http.ResponseWriter, r *http.Request, v *view)) {
		for _, ver := range vers {
			ver := ver
			mux.HandleFunc(method+" /rest/api/"+ver+"/"+path, func(w http.ResponseWriter, r *http.Request) {
				s.mu.RLock()
				defer s.mu.RUnlock()
				h(w, r, &view{s: s, d: s.data, ver: ver, restricted: restrictedFrom(r.Context())})
			})
		}
	}
	agile := func(method, path string, h func(w http.ResponseWriter, r *http.Request, v *view)) {
		mux.HandleFunc(method+" /rest/agile/1.0/"+path, func(w http.ResponseWriter, r *http.Request) {
			s.mu.RLock()
			defer s.mu.RUnlock()
			h(w, r, &view{s: s, d: s.data, ver: "2", restricted: restrictedFrom(r.Context())})
		})
	}

	api("GET", "serverInfo", s.handleServerInfo)
	api("GET", "myself", s.handleMyself)
	api("GET", "project", s.handleProjects)
	if cloud {
		api("GET", "project/search", s.handleProjectSearch)
	}
	api("GET", "project/{id}", s.handleProject)
	api("GET", "project/{id}/version", s.handleVersionsPaged)
	api("GET", "project/{id}/versions", s.handleVersions)
	api("GET", "project/{id}/component", s.handleComponentsPaged)
	api("GET", "project/{id}/components", s.handleComponents)
	api("GET", "projectCategory", s.handleCategories)
	api("GET", "project/type", s.handleProjectTypes)
	api("GET", "field", s.handleFields)
	api("GET", "status", s.handleStatuses)
	api("GET", "statuscategory", s.handleStatusCategories)
	api("GET", "priority", s.handlePriorities)
	api("GET", "resolution", s.handleResolutions)
	api("GET", "issuetype", s.handleIssueTypes)
	api("GET", "role", s.handleRoles)
	if cloud {
		api("GET", "field/search", s.handleFieldSearch)
		api("GET", "priority/search", s.handlePrioritySearch)
		api("GET", "resolution/search", s.handleResolutionSearch)
		api("GET", "users/search", s.handleUsersSearch)
		api("GET", "users", s.handleUsersSearch)
	}
	api("GET", "user/search", s.handleUserSearch)
	api("GET", "user", s.handleUser)
	api("GET", "group/member", s.handleGroupMember)

	if cloud {
		api("GET", "search/jql", s.handleSearchJQL)
		api("POST", "search/jql", s.handleSearchJQL)
		api("POST", "search/approximate-count", s.handleApproximateCount)
		// Removed (CHANGE-2046), under every version, with search/id.
		for _, ver := range []string{"2", "3", "latest"} {
			for _, route := range []string{"GET /rest/api/" + ver + "/search", "POST /rest/api/" + ver + "/search", "POST /rest/api/" + ver + "/search/id"} {
				mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) { writeErrors(w, http.StatusGone, msgSearchRemoved) })
			}
		}
		api("POST", "changelog/bulkfetch", s.handleBulkChangelog)
		api("GET", "issue/{id}/changelog", s.handleIssueChangelog)
		api("POST", "issue/bulkfetch", s.handleBulkFetchIssues)
		api("POST", "comment/list", s.handleCommentList)
	} else {
		api("GET", "search", s.handleLegacySearch)
		api("POST", "search", s.handleLegacySearch)
	}
	api("GET", "issue/{id}", s.handleIssue)
	api("GET", "issue/{id}/comment", s.handleIssueComments)
	api("GET", "issue/{id}/worklog", s.handleIssueWorklogs)
	api("GET", "issue/{id}/transitions", s.handleIssueTransitions)
	api("GET", "worklog/updated", s.handleWorklogChanges(false))
	api("GET", "worklog/deleted", s.handleWorklogChanges(true))
	api("POST", "worklog/list", s.handleWorklogList)

	agile("GET", "board", s.handleBoards)
	agile("GET", "board/{id}", s.handleBoard)
	agile("GET", "board/{id}/sprint", s.handleBoardSprints)
	agile("GET", "board/{id}/issue", s.handleBoardIssues)
	agile("GET", "board/{id}/sprint/{sid}/issue", s.handleSprintIssues)
	agile("GET", "sprint/{sid}", s.handleSprint)
	agile("GET", "sprint/{sid}/issue", s.handleSprintIssues)

	mux.HandleFunc("GET /_edge/tenant_info", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Flavor == FlavorDataCenter {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"cloudId": s.opts.CloudID})
	})
	mux.HandleFunc("GET /_sim/expected", s.handleSimExpected)
	mux.HandleFunc("GET /_sim/stats", s.handleSimStats)
	mux.HandleFunc("POST /_sim/mutate", s.handleSimMutate)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, "null for uri: "+s.url+r.URL.Path)
	})
}

// --- parameter helpers ---

// intParam reads an integer query parameter the way Jira Cloud does: the
// first value wins; an unconvertible value is a 400 problem+json.
func intParam(w http.ResponseWriter, r *http.Request, name string, def int) (int, bool) {
	vals := r.URL.Query()[name]
	if len(vals) == 0 || vals[0] == "" {
		return def, true
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", "Failed to convert '"+name+"' with value: '"+vals[0]+"'", r.URL.Path)
		return 0, false
	}
	return n, true
}

// paging reads startAt/maxResults, floors startAt at 0 and clamps maxResults
// to [1, max].
func paging(w http.ResponseWriter, r *http.Request, defMax, maxMax int) (start, size int, ok bool) {
	if start, ok = intParam(w, r, "startAt", 0); !ok {
		return
	}
	if size, ok = intParam(w, r, "maxResults", defMax); !ok {
		return
	}
	start = max(start, 0)
	size = min(max(size, 1), maxMax)
	return start, size, true
}

func window(total, start, size int) (lo, hi int) {
	lo = min(start, total)
	hi = min(lo+size, total)
	return lo, hi
}

// pageBean builds style A (PageBean) with absolute self/nextPage URLs.
func (v *view) pageBean(r *http.Request, values []any, start, size, total int) map[string]any {
	self := v.s.pathURL(r)
	q := r.URL.Query()
	q.Set("startAt", strconv.Itoa(start))
	q.Set("maxResults", strconv.Itoa(size))
	m := map[string]any{"self": self + "?" + q.Encode(), "maxResults": size, "startAt": start, "total": total,
		"isLast": start+len(values) >= total, "values": values}
	if start+len(values) < total {
		q.Set("startAt", strconv.Itoa(start+len(values)))
		m["nextPage"] = self + "?" + q.Encode()
	}
	return m
}

func (v *view) projectByParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	id := r.PathValue("id")
	for pi, p := range v.d.cat.projects {
		if (p.Key == id || strconv.Itoa(p.ID) == id) && v.d.visibleProject(pi, v.restricted) {
			return pi, true
		}
	}
	writeErrors(w, http.StatusNotFound, "No project could be found with key '"+id+"'.")
	return 0, false
}

func (v *view) issueByParam(w http.ResponseWriter, r *http.Request) (int32, bool) {
	i, ok := v.d.lookup(r.PathValue("id"))
	if !ok || !v.d.visibleIssue(i, v.restricted) {
		writeErrors(w, http.StatusNotFound, msgIssueNotFound)
		return 0, false
	}
	return i, true
}

// --- instance ---

func (s *Server) handleServerInfo(w http.ResponseWriter, r *http.Request, v *view) {
	now := s.now()
	m := map[string]any{"baseUrl": s.url, "displayUrl": s.url, "buildDate": "2026-09-01T00:00:00.000+0000",
		"serverTime": fmtTime(now.UnixMilli(), s.loc), "scmInfo": "1f51473f5c7b75c1a69a0090f4832cdc5053702a",
		"serverTitle": "Jira (jirasim)", "defaultLocale": map[string]any{"locale": "en_US"}, "serverTimeZone": s.opts.TZ}
	if s.opts.Flavor == FlavorDataCenter {
		m["version"], m["versionNumbers"], m["deploymentType"], m["buildNumber"] = "10.3.12", []int{10, 3, 12}, "Server", 10030012
	} else {
		m["version"], m["versionNumbers"], m["deploymentType"], m["buildNumber"] = "1001.0.0-SNAPSHOT", []int{1001, 0, 0}, "Cloud", 100300
	}
	v.writeJSON(w, http.StatusOK, m)
}

func (s *Server) handleMyself(w http.ResponseWriter, r *http.Request, v *view) {
	u := userAdmin
	if v.restricted == asRestricted {
		u = userRestricted
	}
	m := v.user(u)
	m["locale"] = "en_US"
	if !v.dc() {
		m["key"], m["name"] = "", ""
	}
	exp := parseExpand(r.URL.Query()["expand"])
	if exp["groups"] {
		m["groups"] = map[string]any{"size": 1, "items": []any{map[string]any{"name": "jira-software-users"}}}
	}
	if exp["applicationRoles"] {
		m["applicationRoles"] = map[string]any{"size": 1, "items": []any{}}
	}
	v.writeJSON(w, http.StatusOK, m)
}

// --- catalogue ---

func (s *Server) visibleProjects(v *view) []int {
	var out []int
	for pi := range v.d.cat.projects {
		if v.d.visibleProject(pi, v.restricted) {
			out = append(out, pi)
		}
	}
	return out
}

func (s *Server) handleProjects(w http.ResponseWriter, r *http.Request, v *view) {
	exp := parseExpand(r.URL.Query()["expand"])
	out := []any{}
	for _, pi := range s.visibleProjects(v) {
		out = append(out, v.project(pi, exp))
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleProjectSearch(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 100)
	if !ok {
		return
	}
	exp := parseExpand(r.URL.Query()["expand"])
	ps := s.visibleProjects(v)
	// orderBy defaults to key.
	sortProjectsByKey(v.d, ps)
	lo, hi := window(len(ps), start, size)
	vals := []any{}
	for _, pi := range ps[lo:hi] {
		vals = append(vals, v.project(pi, exp))
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(ps)))
}

func sortProjectsByKey(d *dataset, ps []int) {
	sort.Slice(ps, func(a, b int) bool { return d.cat.projects[ps[a]].Key < d.cat.projects[ps[b]].Key })
}

func (s *Server) handleProject(w http.ResponseWriter, r *http.Request, v *view) {
	pi, ok := v.projectByParam(w, r)
	if !ok {
		return
	}
	exp := parseExpand(r.URL.Query()["expand"])
	exp["description"], exp["lead"], exp["issueTypes"] = true, true, true
	m := v.project(pi, exp)
	var vers, comps []any
	for _, ver := range v.d.cat.projects[pi].Versions {
		vers = append(vers, v.version(pi, ver))
	}
	for _, c := range v.d.cat.projects[pi].Components {
		comps = append(comps, v.component(pi, c, false))
	}
	m["versions"], m["components"] = vers, comps
	m["assigneeType"] = "UNASSIGNED"
	v.writeJSON(w, http.StatusOK, m)
}

func (s *Server) handleVersionsPaged(w http.ResponseWriter, r *http.Request, v *view) {
	pi, ok := v.projectByParam(w, r)
	if !ok {
		return
	}
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	vs := v.d.cat.projects[pi].Versions
	lo, hi := window(len(vs), start, size)
	vals := []any{}
	for _, ver := range vs[lo:hi] {
		vals = append(vals, v.version(pi, ver))
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(vs)))
}

func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request, v *view) {
	pi, ok := v.projectByParam(w, r)
	if !ok {
		return
	}
	out := []any{}
	for _, ver := range v.d.cat.projects[pi].Versions {
		out = append(out, v.version(pi, ver))
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleComponentsPaged(w http.ResponseWriter, r *http.Request, v *view) {
	pi, ok := v.projectByParam(w, r)
	if !ok {
		return
	}
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	cs := v.d.cat.projects[pi].Components
	lo, hi := window(len(cs), start, size)
	vals := []any{}
	for _, c := range cs[lo:hi] {
		vals = append(vals, v.component(pi, c, true))
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(cs)))
}

func (s *Server) handleComponents(w http.ResponseWriter, r *http.Request, v *view) {
	pi, ok := v.projectByParam(w, r)
	if !ok {
		return
	}
	out := []any{}
	for _, c := range v.d.cat.projects[pi].Components {
		out = append(out, v.component(pi, c, false))
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCategories(w http.ResponseWriter, r *http.Request, v *view) {
	v.writeJSON(w, http.StatusOK, bareArray(len(v.d.cat.categories), func(k int) any { return v.category(k) }))
}

func (s *Server) handleProjectTypes(w http.ResponseWriter, r *http.Request, v *view) {
	out := []any{}
	for _, t := range projectTypes {
		out = append(out, map[string]any{"key": t.Key, "formattedKey": t.Formatted, "descriptionI18nKey": "jira.project.type." + t.Key + ".description",
			"icon": "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4=", "color": t.Color})
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleFields(w http.ResponseWriter, r *http.Request, v *view) {
	out := []any{}
	for _, f := range v.d.cat.fields {
		out = append(out, v.field(f))
	}
	v.writeJSON(w, http.StatusOK, out)
}

// handleFieldSearch is the paginated field list (fields with a schema), with
// the type, id and query filters.
func (s *Server) handleFieldSearch(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	q := r.URL.Query()
	types := map[string]bool{}
	for _, t := range splitList(q["type"]) {
		types[t] = true
	}
	ids := map[string]bool{}
	for _, id := range splitList(q["id"]) {
		ids[id] = true
	}
	query := lower(q.Get("query"))
	var fs []fieldDef
	for _, f := range v.d.cat.fields {
		kind := "system"
		if f.Custom {
			kind = "custom"
		}
		if f.Schema == nil || (len(types) > 0 && !types[kind]) || (len(ids) > 0 && !ids[f.ID]) || (query != "" && !strings.Contains(lower(f.Name), query)) {
			continue
		}
		fs = append(fs, f)
	}
	lo, hi := window(len(fs), start, size)
	vals := []any{}
	for _, f := range fs[lo:hi] {
		m := map[string]any{"id": f.ID, "key": f.Key, "name": f.Name, "schema": schemaJSON(f.Schema), "description": "", "isLocked": !f.Custom}
		if f.Custom {
			m["searcherKey"] = strings.Replace(f.Schema.Custom, ":", ":"+f.Schema.Type+"-", 1) + "searcher"
		}
		vals = append(vals, m)
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(fs)))
}

func (s *Server) handleStatuses(w http.ResponseWriter, r *http.Request, v *view) {
	v.writeJSON(w, http.StatusOK, bareArray(len(statuses), func(k int) any { return v.status(k) }))
}

func (s *Server) handleStatusCategories(w http.ResponseWriter, r *http.Request, v *view) {
	out := []any{}
	for _, c := range statusCategories {
		out = append(out, v.statusCategory(c.ID))
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePriorities(w http.ResponseWriter, r *http.Request, v *view) {
	v.writeJSON(w, http.StatusOK, bareArray(len(priorities), func(k int) any { return v.priority(k) }))
}

func (s *Server) handlePrioritySearch(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	lo, hi := window(len(priorities), start, size)
	vals := []any{}
	for k := lo; k < hi; k++ {
		m := v.priority(k)
		m["isDefault"] = k == 2
		vals = append(vals, m)
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(priorities)))
}

func (s *Server) handleResolutions(w http.ResponseWriter, r *http.Request, v *view) {
	v.writeJSON(w, http.StatusOK, bareArray(len(resolutions), func(k int) any { return v.resolution(k) }))
}

func (s *Server) handleResolutionSearch(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	lo, hi := window(len(resolutions), start, size)
	vals := []any{}
	for k := lo; k < hi; k++ {
		m := v.resolution(k)
		delete(m, "self")
		m["isDefault"] = k == 0
		vals = append(vals, m)
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(resolutions)))
}

func (s *Server) handleIssueTypes(w http.ResponseWriter, r *http.Request, v *view) {
	v.writeJSON(w, http.StatusOK, bareArray(len(issueTypes), func(k int) any { return v.issueType(k) }))
}

// handleRoles is GET role, which needs Administer Jira: the restricted user
// is not an administrator and gets Jira's 403 ErrorCollection.
func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request, v *view) {
	if v.restricted != asAdmin {
		writeErrors(w, http.StatusForbidden, "You are not authorized to perform this action. Administrator privileges are required.")
		return
	}
	v.writeJSON(w, http.StatusOK, bareArray(len(roles), func(k int) any { return v.role(k) }))
}

// --- users ---

// handleUsersSearch is Cloud's users/search: a bare array of every user
// (active, inactive, app), paged by startAt until an empty page.
func (s *Server) handleUsersSearch(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 1000)
	if !ok {
		return
	}
	lo, hi := window(len(v.d.cat.users), start, size)
	out := []any{}
	for k := lo; k < hi; k++ {
		out = append(out, v.user(k))
	}
	v.writeJSON(w, http.StatusOK, out)
}

// handleUser is GET user: one user by accountId on Cloud, by username or
// key on Data Center; 404 when there is none.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	for k, u := range v.d.cat.users {
		if (!v.dc() && q.Get("accountId") != "" && u.AccountID == q.Get("accountId")) ||
			(v.dc() && ((q.Get("username") != "" && strings.EqualFold(u.Name, q.Get("username"))) || (q.Get("key") != "" && u.Key == q.Get("key")))) {
			v.writeJSON(w, http.StatusOK, v.user(k))
			return
		}
	}
	switch {
	case v.dc() && q.Get("username") == "" && q.Get("key") == "":
		writeErrors(w, http.StatusBadRequest, "Either the 'username' or the 'key' query parameters need to be provided")
	case !v.dc() && q.Get("accountId") == "":
		writeErrors(w, http.StatusBadRequest, "The accountId query parameter needs to be provided")
	case v.dc():
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("The user named '%s' does not exist", cmp.Or(q.Get("username"), q.Get("key"))))
	default:
		writeErrors(w, http.StatusNotFound, "Specified user does not exist or you do not have required permissions")
	}
}

// handleUserSearch is user/search: on Cloud "query" (prefix of display name
// or email) or accountId is required and only active users match; on Data
// Center "username" ("." matches everyone), includeInactive, and the
// Jira 10 rule that startAt+maxResults cannot reach past the first 100.
func (s *Server) handleUserSearch(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	start, size, ok := paging(w, r, 50, 1000)
	if !ok {
		return
	}
	var match []int
	if v.dc() {
		name, has := q["username"]
		if !has {
			writeErrors(w, http.StatusBadRequest, "The username query parameter was not provided")
			return
		}
		needle := strings.ToLower(strings.Join(name, ""))
		incInactive := q.Get("includeInactive") == "true"
		incActive := q.Get("includeActive") != "false"
		for k, u := range v.d.cat.users {
			if (u.Active && !incActive) || (!u.Active && !incInactive) {
				continue
			}
			if needle == "." || needle == "" || strings.HasPrefix(strings.ToLower(u.Name), needle) || strings.HasPrefix(strings.ToLower(u.DisplayName), needle) || strings.HasPrefix(strings.ToLower(u.Email), needle) {
				match = append(match, k)
			}
		}
		if len(match) > 100 {
			match = match[:100]
		}
	} else {
		query, acct := q.Get("query"), q.Get("accountId")
		if query == "" && acct == "" && q.Get("property") == "" {
			writeErrors(w, http.StatusBadRequest, "One of 'query' or 'accountId' or 'property' query parameters must be provided.")
			return
		}
		needle := lower(query)
		for k, u := range v.d.cat.users {
			if !u.Active {
				continue
			}
			if (acct != "" && u.AccountID == acct) || (query != "" && (strings.HasPrefix(lower(u.DisplayName), needle) || strings.HasPrefix(lower(u.Email), needle))) {
				match = append(match, k)
			}
		}
	}
	lo, hi := window(len(match), start, size)
	out := []any{}
	for _, k := range match[lo:hi] {
		out = append(out, v.user(k))
	}
	v.writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGroupMember(w http.ResponseWriter, r *http.Request, v *view) {
	q := r.URL.Query()
	name, id := q.Get("groupname"), q.Get("groupId")
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	for _, g := range v.d.cat.groups {
		if (name != "" && g.Name == name) || (id != "" && g.ID == id) {
			lo, hi := window(len(g.Members), start, size)
			vals := []any{}
			for _, k := range g.Members[lo:hi] {
				vals = append(vals, v.user(k))
			}
			v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(g.Members)))
			return
		}
	}
	if name == "" && id == "" {
		writeErrors(w, http.StatusBadRequest, "You must specify a group name or group id.")
		return
	}
	writeErrors(w, http.StatusNotFound, "Group does not exist.")
}

// --- issue children ---

func (s *Server) handleIssue(w http.ResponseWriter, r *http.Request, v *view) {
	i, ok := v.issueByParam(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	o := issueOpts{fields: parseFieldSel(q["fields"], "*all"), expand: parseExpand(q["expand"]),
		capComments: max(s.opts.Caps.Comments, 100), capHistories: max(s.opts.Caps.Histories, 100), capWorklogs: s.opts.Caps.Worklogs}
	if v.dc() {
		o.capComments, o.capHistories = 0, 0
	}
	v.writeJSON(w, http.StatusOK, v.issue(i, o))
}

func (s *Server) handleIssueComments(w http.ResponseWriter, r *http.Request, v *view) {
	i, ok := v.issueByParam(w, r)
	if !ok {
		return
	}
	cs := v.d.visibleComments(i, v.restricted)
	maxMax := 100
	if v.dc() {
		maxMax = 1 << 30 // DC returns all comments when maxResults is omitted
	}
	def := 100
	if v.dc() {
		def = max(len(cs), 1)
	}
	start, size, ok := paging(w, r, def, maxMax)
	if !ok {
		return
	}
	switch ob := r.URL.Query().Get("orderBy"); ob {
	case "", "created", "+created":
	case "-created":
		rev := make([]commentItem, len(cs))
		for k := range cs {
			rev[len(cs)-1-k] = cs[k]
		}
		cs = rev
	default:
		writeErrors(w, http.StatusBadRequest, "Invalid orderBy value: '"+ob+"'. Valid values are: created, -created, +created.")
		return
	}
	lo, hi := window(len(cs), start, size)
	out := []any{}
	for _, c := range cs[lo:hi] {
		out = append(out, v.comment(i, c))
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": size, "total": len(cs), "comments": out})
}

func (s *Server) handleIssueWorklogs(w http.ResponseWriter, r *http.Request, v *view) {
	i, ok := v.issueByParam(w, r)
	if !ok {
		return
	}
	start, size, ok := paging(w, r, 5000, 5000)
	if !ok {
		return
	}
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("startedAfter"), 10, 64)
	before, _ := strconv.ParseInt(q.Get("startedBefore"), 10, 64)
	var ws []worklogItem
	for _, wl := range v.d.visibleWorklogs(i, v.restricted) {
		if (after > 0 && wl.Started < after) || (before > 0 && wl.Started >= before) {
			continue
		}
		ws = append(ws, wl)
	}
	lo, hi := window(len(ws), start, size)
	out := []any{}
	for _, wl := range ws[lo:hi] {
		out = append(out, v.worklog(wl))
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": size, "total": len(ws), "worklogs": out})
}

func (s *Server) handleIssueChangelog(w http.ResponseWriter, r *http.Request, v *view) {
	i, ok := v.issueByParam(w, r)
	if !ok {
		return
	}
	start, size, ok := paging(w, r, 100, 100)
	if !ok {
		return
	}
	hs := v.d.histories(i) // oldest first
	lo, hi := window(len(hs), start, size)
	vals := []any{}
	for _, h := range hs[lo:hi] {
		vals = append(vals, v.history(i, h))
	}
	v.writeJSON(w, http.StatusOK, v.pageBean(r, vals, start, size, len(hs)))
}

func (s *Server) handleIssueTransitions(w http.ResponseWriter, r *http.Request, v *view) {
	i, ok := v.issueByParam(w, r)
	if !ok {
		return
	}
	out := []any{}
	for _, t := range v.d.transitions(i) {
		out = append(out, v.transition(t))
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": out})
}

func queryURL(base string, kv ...string) string {
	q := url.Values{}
	for k := 0; k+1 < len(kv); k += 2 {
		q.Set(kv[k], kv[k+1])
	}
	return base + "?" + q.Encode()
}

// bareArray renders items 0..n-1: the bare-array envelope (pagination style
// E) of the catalogue endpoints.
func bareArray(n int, item func(k int) any) []any {
	out := make([]any, n)
	for k := range n {
		out[k] = item(k)
	}
	return out
}
