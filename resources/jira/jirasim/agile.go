package jirasim

import (
	"net/http"
	"strconv"
	"strings"
)

// Agile API (/rest/agile/1.0): boards and sprints use style F (no total on
// board sprints); issue lists use the legacy SearchResults envelope.

func (v *view) boardByParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err == nil {
		for b, bd := range v.d.cat.boards {
			if bd.ID == id && v.d.visibleProject(bd.Project, v.restricted) {
				return b, true
			}
		}
	}
	writeErrors(w, http.StatusNotFound, "Board does not exist or you do not have permission to see it.")
	return 0, false
}

func (v *view) sprintByParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("sid"))
	if err == nil {
		for k, sp := range v.d.cat.sprints {
			if sp.ID == id && v.d.visibleProject(v.d.cat.boards[sp.Board].Project, v.restricted) {
				return k, true
			}
		}
	}
	writeErrors(w, http.StatusNotFound, "Sprint does not exist or you do not have permission to see it.")
	return 0, false
}

func (s *Server) handleBoards(w http.ResponseWriter, r *http.Request, v *view) {
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	q := r.URL.Query()
	types := map[string]bool{}
	for _, t := range splitList(q["type"]) {
		types[t] = true
	}
	proj := q.Get("projectKeyOrId")
	name := lower(q.Get("name"))
	var bs []int
	for b, bd := range v.d.cat.boards {
		p := v.d.cat.projects[bd.Project]
		if !v.d.visibleProject(bd.Project, v.restricted) ||
			(len(types) > 0 && !types[bd.Type]) ||
			(proj != "" && proj != p.Key && proj != strconv.Itoa(p.ID)) ||
			(name != "" && !strings.Contains(lower(bd.Name), name)) {
			continue
		}
		bs = append(bs, b)
	}
	lo, hi := window(len(bs), start, size)
	vals := []any{}
	for _, b := range bs[lo:hi] {
		vals = append(vals, v.board(b))
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"maxResults": size, "startAt": start, "total": len(bs), "isLast": hi >= len(bs), "values": vals})
}

func (s *Server) handleBoard(w http.ResponseWriter, r *http.Request, v *view) {
	b, ok := v.boardByParam(w, r)
	if !ok {
		return
	}
	v.writeJSON(w, http.StatusOK, v.board(b))
}

func (s *Server) handleBoardSprints(w http.ResponseWriter, r *http.Request, v *view) {
	b, ok := v.boardByParam(w, r)
	if !ok {
		return
	}
	bd := v.d.cat.boards[b]
	if bd.Type != "scrum" {
		writeErrors(w, http.StatusBadRequest, "The board does not support sprints")
		return
	}
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	states := map[string]bool{}
	for _, st := range splitList(r.URL.Query()["state"]) {
		states[st] = true
	}
	now := s.now()
	var ks []int
	for _, k := range bd.Sprints {
		if len(states) == 0 || states[v.d.cat.sprints[k].state(now)] {
			ks = append(ks, k)
		}
	}
	lo, hi := window(len(ks), start, size)
	vals := []any{}
	for _, k := range ks[lo:hi] {
		vals = append(vals, v.sprint(k))
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"maxResults": size, "startAt": start, "isLast": hi >= len(ks), "values": vals})
}

func (s *Server) handleSprint(w http.ResponseWriter, r *http.Request, v *view) {
	k, ok := v.sprintByParam(w, r)
	if !ok {
		return
	}
	v.writeJSON(w, http.StatusOK, v.sprint(k))
}

func (s *Server) handleBoardIssues(w http.ResponseWriter, r *http.Request, v *view) {
	b, ok := v.boardByParam(w, r)
	if !ok {
		return
	}
	proj := uint8(v.d.cat.boards[b].Project)
	s.agileIssues(w, r, v, func(i int32) bool { return v.d.recs[i].proj == proj })
}

func (s *Server) handleSprintIssues(w http.ResponseWriter, r *http.Request, v *view) {
	if r.PathValue("id") != "" {
		if _, ok := v.boardByParam(w, r); !ok {
			return
		}
	}
	k, ok := v.sprintByParam(w, r)
	if !ok {
		return
	}
	proj := uint8(v.d.cat.boards[v.d.cat.sprints[k].Board].Project)
	s.agileIssues(w, r, v, func(i int32) bool {
		if v.d.recs[i].proj != proj {
			return false
		}
		for _, x := range v.d.sprintsOf(i) {
			if x == k {
				return true
			}
		}
		return false
	})
}

// agileIssues lists matching issues in rank order (issue number) with the
// optional jql filter, in the SearchResults envelope.
func (s *Server) agileIssues(w http.ResponseWriter, r *http.Request, v *view, match func(int32) bool) {
	start, size, ok := paging(w, r, 50, 50)
	if !ok {
		return
	}
	q := r.URL.Query()
	var where pred
	if jql := q.Get("jql"); jql != "" {
		pq, err := parseJQL(jql, v.d, s.loc, s.now(), v.restricted)
		if err != nil {
			writeJQLError(w, err)
			return
		}
		where = pq.where
	}
	var ids []int32
	for i := range v.d.recs {
		ii := int32(i)
		if v.d.visibleIssue(ii, v.restricted) && match(ii) && (where == nil || where(v.d, ii)) {
			ids = append(ids, ii)
		}
	}
	o := issueOpts{fields: parseFieldSel(q["fields"], "*navigable"), expand: parseExpand(q["expand"]),
		capComments: s.opts.Caps.Comments, capHistories: s.opts.Caps.Histories, capWorklogs: s.opts.Caps.Worklogs}
	if v.dc() {
		o.capComments, o.capHistories = 0, 0
	}
	o.expand = without(o.expand, "names", "schema") // top-level only
	lo, hi := window(len(ids), start, size)
	issues := make([]any, 0, hi-lo)
	for _, i := range ids[lo:hi] {
		m := v.issue(i, o)
		v.addAgileFields(m["fields"].(map[string]any), i, o.fields)
		issues = append(issues, m)
	}
	v.writeJSON(w, http.StatusOK, map[string]any{"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(ids), "issues": issues})
}

// addAgileFields adds the Agile API's extra issue fields: sprint (the open
// sprint or null), closedSprints, flagged and epic.
func (v *view) addAgileFields(f map[string]any, i int32, sel fieldSel) {
	want := func(name string) bool { return sel.all || sel.navigable || sel.include[name] }
	now := v.s.now()
	var open any
	closed := []any{}
	for _, k := range v.d.sprintsOf(i) {
		if v.d.cat.sprints[k].state(now) == "closed" {
			closed = append(closed, v.sprint(k))
		} else {
			open = v.sprint(k)
		}
	}
	if want("sprint") {
		f["sprint"] = open
	}
	if want("closedSprints") {
		f["closedSprints"] = closed
	}
	if want("flagged") {
		r := newRnd(v.d.seed, tagField, uint64(i), 10021)
		f["flagged"] = r.chance(0.05)
	}
	if want("epic") {
		rec := &v.d.recs[i]
		if rec.epic < 0 || !v.d.visibleIssue(rec.epic, v.restricted) {
			f["epic"] = nil
		} else {
			e := rec.epic
			id := v.d.issueID(e)
			f["epic"] = map[string]any{"id": id, "key": v.d.key(e), "self": v.s.url + "/rest/agile/1.0/epic/" + strconv.FormatInt(id, 10),
				"name": v.summary(e), "summary": v.summary(e), "color": map[string]any{"key": "color_" + strconv.Itoa(1+int(e)%9)},
				"done": statuses[v.d.recs[e].status].Category == 3}
		}
	}
}
