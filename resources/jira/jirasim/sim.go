package jirasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Expected holds the row counts a complete sync must produce, per jsync table.
type Expected struct {
	Tables map[string]int64 `json:"tables"`
}

// Expected returns the counts for the configured user (GET /_sim/expected).
// A zero since counts everything; otherwise the issue-family tables count
// only issues with updated >= since.
func (s *Server) Expected(since time.Time) Expected { return s.ExpectedFor(false, since) }

// ExpectedFor is Expected for the configured user (restricted=false) or the
// restricted user (GET /_sim/expected?as=restricted).
func (s *Server) ExpectedFor(restricted bool, since time.Time) Expected {
	if restricted {
		return s.expected(asRestricted, since)
	}
	return s.expected(asAdmin, since)
}

func (s *Server) expected(restricted viewer, since time.Time) Expected {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.data
	t := map[string]int64{}
	sinceMs := int64(-1 << 62)
	if !since.IsZero() {
		sinceMs = since.UnixMilli()
	}
	var boardsN, versions, components, projects int64
	for pi, p := range d.cat.projects {
		if d.visibleProject(pi, restricted) {
			projects++
			versions += int64(len(p.Versions))
			components += int64(len(p.Components))
		}
	}
	sprintSeen := map[int]bool{}
	for _, b := range d.cat.boards {
		if d.visibleProject(b.Project, restricted) {
			boardsN++
			for _, k := range b.Sprints {
				sprintSeen[k] = true
			}
		}
	}
	t["projects"], t["versions"], t["components"] = projects, versions, components
	t["project_types"] = int64(len(projectTypes))
	t["project_categories"] = int64(len(d.cat.categories))
	t["resolutions"] = int64(len(resolutions))
	t["roles"] = int64(len(roles))
	if restricted != asAdmin {
		t["roles"] = 0 // GET role needs Administer Jira: a 403
	}
	t["users"] = int64(len(d.cat.users))
	t["fields"] = int64(len(d.cat.fields))
	t["statuses"] = int64(len(statuses))
	t["status_categories"] = int64(len(statusCategories))
	t["priorities"] = int64(len(priorities))
	t["issue_types"] = int64(len(issueTypes))
	t["boards"] = boardsN
	t["sprints"] = int64(len(sprintSeen))

	var issues, comments, histories, items, worklogs, transitions, sprintIssues int64
	linkSeen := map[int]bool{}
	for i := range d.recs {
		ii := int32(i)
		rec := &d.recs[i]
		if !d.visibleIssue(ii, restricted) || rec.updated < sinceMs {
			continue
		}
		issues++
		n := int(rec.nHistories)
		histories += int64(n)
		for j := 0; j < n; j++ {
			items += int64(d.historyItemCount(ii, j))
		}
		if o := d.overlays[ii]; o != nil || restricted != asAdmin {
			comments += int64(len(d.visibleComments(ii, restricted)))
		} else {
			comments += int64(rec.nComments)
		}
		if o := d.overlays[ii]; o != nil {
			histories += int64(len(o.histories))
			for _, h := range o.histories {
				items += int64(len(h.Items))
			}
			worklogs += int64(len(d.visibleWorklogs(ii, restricted)))
		} else if restricted != asAdmin {
			worklogs += int64(len(d.visibleWorklogs(ii, restricted)))
		} else {
			worklogs += int64(rec.nWorklogs)
		}
		transitions += int64(len(d.transitions(ii)))
		for _, l := range d.linksOf(ii, restricted) {
			linkSeen[l.ID] = true
		}
		for _, k := range d.sprintsOf(ii) {
			if sprintSeen[k] {
				sprintIssues++
			}
		}
	}
	t["issues"], t["issue_comments"], t["changelogs"], t["changelog_items"] = issues, comments, histories, items
	t["worklogs"], t["issue_transitions"], t["issue_links"], t["sprint_issues"] = worklogs, transitions, int64(len(linkSeen)), sprintIssues
	return Expected{Tables: t}
}

// Mutation asks for deterministic changes (POST /_sim/mutate).
type Mutation struct {
	Update         int `json:"update"`           // edit the summary (adds a changelog history)
	Comment        int `json:"comment"`          // add a comment
	Worklog        int `json:"worklog"`          // add a worklog
	DeleteIssues   int `json:"delete_issues"`    // delete issues (and their worklogs)
	DeleteWorklogs int `json:"delete_worklogs"`  // delete one worklog each
	DeleteComments int `json:"delete_comments"`  // delete one comment each (the issue's updated advances)
	MoveIssues     int `json:"move_issues"`      // move to the next project: new key, history items project and Key
	AddCustomField int `json:"add_custom_field"` // add a text custom field (values only on issues updated afterwards)
}

// MutationResult reports what a mutation changed. Issues are named by key
// (moves: old and new key); every touched issue has updated = At.
type MutationResult struct {
	At              string      `json:"at"`
	AtMillis        int64       `json:"atMillis"`
	Updated         []string    `json:"updated"`
	Commented       []string    `json:"commented"`
	Worklogged      []string    `json:"worklogged"`
	DeletedIssues   []string    `json:"deletedIssues"`
	DeletedIssueIDs []string    `json:"deletedIssueIds"`
	DeletedWorklogs []int64     `json:"deletedWorklogs"`
	DeletedComments []int64     `json:"deletedComments"`
	Moved           [][2]string `json:"moved"`
	AddedFields     []string    `json:"addedFields"`
}

// Mutate applies changes deterministically (same seed and call sequence,
// same changes) and advances "updated" to the current time like Jira.
func (s *Server) Mutate(m Mutation) (MutationResult, error) {
	for name, n := range map[string]int{"update": m.Update, "comment": m.Comment, "worklog": m.Worklog, "delete_issues": m.DeleteIssues,
		"delete_worklogs": m.DeleteWorklogs, "delete_comments": m.DeleteComments, "move_issues": m.MoveIssues, "add_custom_field": m.AddCustomField} {
		if n < 0 {
			return MutationResult{}, fmt.Errorf("mutate: %s must be >= 0, got %d", name, n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data
	now := s.now().UnixMilli()
	res := MutationResult{At: fmtTime(now, s.loc), AtMillis: now, Updated: []string{}, Commented: []string{}, Worklogged: []string{},
		DeletedIssues: []string{}, DeletedIssueIDs: []string{}, DeletedWorklogs: []int64{}, DeletedComments: []int64{}, Moved: [][2]string{}, AddedFields: []string{}}
	r := newRnd(d.seed, tagMutation, d.mutations)
	d.mutations++
	v := &view{s: s, d: d, ver: "2"}
	pick := func(ok func(i int32) bool) (int32, bool) {
		for tries := 0; tries < 10000 && len(d.recs) > 0; tries++ {
			i := int32(r.intn(len(d.recs)))
			if !d.recs[i].deleted && ok(i) {
				return i, true
			}
		}
		return 0, false
	}
	anyIssue := func(int32) bool { return true }
	touch := func(i int32) {
		if lag := s.opts.IndexLag.Milliseconds(); lag > 0 {
			// Every other change is indexed ten times sooner, so that a later
			// change can reach the index before an earlier one, as on a
			// busy site.
			if d.indexed++; d.indexed%2 == 0 {
				lag /= 10
			}
			if d.stale == nil {
				d.stale = map[int32]staleIndex{}
			}
			e, ok := d.stale[i]
			if !ok || now >= e.until {
				e.updated = d.indexedUpdated(i, now)
			}
			e.until = now + lag
			d.stale[i] = e
		}
		d.recs[i].updated = max(now, d.recs[i].updated)
	}
	for k := 0; k < m.Update; k++ {
		i, ok := pick(anyIssue)
		if !ok {
			break
		}
		o := d.overlayOf(i)
		before := v.summary(i)
		o.summaryRev++
		after := v.summary(i)
		o.histories = append(o.histories, historyItem{ID: int64(d.nextHistory), Author: userAdmin, Created: now,
			Items: []changeItem{{Field: "summary", FieldType: "jira", FieldID: "summary", FromString: sp(before), ToString: sp(after)}}})
		d.nextHistory++
		touch(i)
		res.Updated = append(res.Updated, d.key(i))
	}
	for k := 0; k < m.Comment; k++ {
		i, ok := pick(anyIssue)
		if !ok {
			break
		}
		o := d.overlayOf(i)
		o.comments = append(o.comments, commentItem{ID: int64(d.nextComment), Author: userAdmin, UpdateAuthor: userAdmin, Created: now, Updated: now, Text: r.sentence(6)})
		d.nextComment++
		touch(i)
		res.Commented = append(res.Commented, d.key(i))
	}
	for k := 0; k < m.Worklog; k++ {
		i, ok := pick(anyIssue)
		if !ok {
			break
		}
		o := d.overlayOf(i)
		o.worklogs = append(o.worklogs, worklogItem{ID: int64(d.nextWorklog), Issue: i, Author: userAdmin, UpdateAuthor: userAdmin,
			Created: now, Updated: now, Started: now - 3600_000, Seconds: 3600, Text: r.sentence(4)})
		d.nextWorklog++
		touch(i)
		res.Worklogged = append(res.Worklogged, d.key(i))
	}
	leaf := func(i int32) bool {
		for _, c := range d.subtasks[i] {
			if !d.recs[c].deleted {
				return false
			}
		}
		return d.recs[i].typ != typeEpic
	}
	for k := 0; k < m.DeleteWorklogs; k++ {
		i, ok := pick(func(i int32) bool { return len(d.worklogs(i)) > 0 })
		if !ok {
			break
		}
		wl := d.worklogs(i)[0]
		d.overlayOf(i).deletedWorklogs[wl.ID] = true
		d.deletedWorklogs = append(d.deletedWorklogs, worklogRef{ID: wl.ID, Time: now, Issue: i, Deleted: true})
		touch(i)
		res.DeletedWorklogs = append(res.DeletedWorklogs, wl.ID)
	}
	for k := 0; k < m.DeleteComments; k++ {
		i, ok := pick(func(i int32) bool { return len(d.comments(i)) > 0 })
		if !ok {
			break
		}
		c := d.comments(i)[0]
		d.overlayOf(i).deletedComments[c.ID] = true
		touch(i)
		res.DeletedComments = append(res.DeletedComments, c.ID)
	}
	for k := 0; k < m.MoveIssues; k++ {
		i, ok := pick(func(i int32) bool { return leaf(i) && d.recs[i].typ != typeSubtask })
		if !ok {
			break
		}
		rec := &d.recs[i]
		oldKey, oldProj := d.key(i), rec.proj
		d.keyIndex[oldKey] = i
		target := (int(rec.proj) + 1) % len(d.cat.projects)
		d.cat.projects[target].nextSeq++
		rec.proj, rec.seq, rec.epic = uint8(target), d.cat.projects[target].nextSeq, -1
		d.bySeq[target] = append(d.bySeq[target], i)
		newKey := d.key(i)
		o := d.overlayOf(i)
		o.histories = append(o.histories, historyItem{ID: int64(d.nextHistory), Author: userAdmin, Created: now, Items: []changeItem{
			{Field: "project", FieldType: "jira", FieldID: "project", From: sp(strconv.Itoa(d.cat.projects[oldProj].ID)), FromString: sp(d.cat.projects[oldProj].Name),
				To: sp(strconv.Itoa(d.cat.projects[target].ID)), ToString: sp(d.cat.projects[target].Name)},
			{Field: "Key", FieldType: "jira", FromString: sp(oldKey), ToString: sp(newKey)},
		}})
		d.nextHistory++
		touch(i)
		res.Moved = append(res.Moved, [2]string{oldKey, newKey})
	}
	for k := 0; k < m.DeleteIssues; k++ {
		i, ok := pick(func(i int32) bool { return leaf(i) })
		if !ok {
			break
		}
		for _, wl := range d.worklogs(i) {
			d.deletedWorklogs = append(d.deletedWorklogs, worklogRef{ID: wl.ID, Time: now, Issue: i, Deleted: true})
		}
		res.DeletedIssues = append(res.DeletedIssues, d.key(i))
		res.DeletedIssueIDs = append(res.DeletedIssueIDs, strconv.FormatInt(d.issueID(i), 10))
		d.recs[i].deleted = true
	}
	for k := 0; k < m.AddCustomField; k++ {
		id := 10100 + d.addedFields
		d.addedFields++
		f := cf(id, fmt.Sprintf("Added field %d", d.addedFields), "string", "", cft+"textfield", "text", 0.5)
		f.addedAt = now
		d.cat.fields = append(d.cat.fields, f)
		res.AddedFields = append(res.AddedFields, f.ID)
	}
	d.version++
	return res, nil
}

// --- /_sim handlers (no auth, not counted) ---

func (s *Server) handleSimExpected(w http.ResponseWriter, r *http.Request) {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, "since must be epoch milliseconds")
			return
		}
		since = time.UnixMilli(ms)
	}
	who := asAdmin
	switch r.URL.Query().Get("as") {
	case "restricted":
		who = asRestricted
	case "anonymous":
		who = asAnonymous
	}
	writeJSON(w, http.StatusOK, s.expected(who, since))
}

func (s *Server) handleSimStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleSimMutate(w http.ResponseWriter, r *http.Request) {
	var m Mutation
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		writeErrors(w, http.StatusBadRequest, "invalid mutation body: "+err.Error())
		return
	}
	res, err := s.Mutate(m)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, res)
}
