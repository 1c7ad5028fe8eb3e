package jirasim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// fieldSel is a parsed "fields" parameter.
type fieldSel struct {
	all, navigable bool
	include        map[string]bool
	exclude        map[string]bool
}

func parseFieldSel(vals []string, def string) fieldSel {
	items := splitList(vals)
	if len(items) == 0 {
		items = []string{def}
	}
	fs := fieldSel{include: map[string]bool{}, exclude: map[string]bool{}}
	for _, it := range items {
		switch {
		case it == "*all":
			fs.all = true
		case it == "*navigable":
			fs.navigable = true
		case strings.HasPrefix(it, "-"):
			fs.exclude[it[1:]] = true
		default:
			fs.include[it] = true
		}
	}
	if !fs.all && !fs.navigable && len(fs.include) == 0 && len(fs.exclude) > 0 {
		// Only exclusions: the default fields less those. "-description"
		// is every navigable field but description in search, every field
		// but description in GET issue.
		fs.all, fs.navigable = def == "*all", def != "*all"
	}
	return fs
}

func (fs fieldSel) wants(f fieldDef) bool {
	if fs.exclude[f.ID] {
		return false
	}
	return fs.all || (fs.navigable && f.Navigable) || fs.include[f.ID]
}

// heavy reports whether the selection asks for more than ids and keys; the
// server then shrinks search pages, as Jira Cloud does.
func (fs fieldSel) heavy() bool {
	if fs.all || fs.navigable {
		return true
	}
	n := 0
	for f := range fs.include {
		if f != "id" && f != "key" {
			n++
		}
	}
	return n > 10
}

// issueOpts controls embedded collections.
type issueOpts struct {
	fields                    fieldSel
	expand                    map[string]bool
	capComments, capHistories int // <= 0: all
	capWorklogs               int
}

// without returns a copy of m minus keys.
func without(m map[string]bool, keys ...string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func parseExpand(vals []string) map[string]bool {
	m := map[string]bool{}
	for _, e := range splitList(vals) {
		m[e] = true
	}
	return m
}

// issue renders one IssueBean.
func (v *view) issue(i int32, o issueOpts) map[string]any {
	d := v.d
	rec := &d.recs[i]
	id := strconv.FormatInt(d.issueID(i), 10)
	m := map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     id,
		"self":   v.api() + "/issue/" + id,
		"key":    d.key(i),
	}
	fields := map[string]any{}
	for fi, f := range d.cat.fields {
		if !o.fields.wants(f) || (f.Schema == nil && f.ID != "parent") {
			continue
		}
		val, present := v.fieldValue(i, rec, fi, f, o)
		if present {
			fields[f.ID] = val
		}
	}
	m["fields"] = fields
	if o.expand["changelog"] {
		hs := d.histories(i)
		total := len(hs)
		// Cloud: most recent first, as its specification says, keeping the
		// newest when capped. Data Center returns every history, oldest
		// first (JRJC's captured 5.0 issue with changelog).
		out := make([]any, 0, len(hs))
		if v.dc() && o.capHistories <= 0 {
			for _, h := range hs {
				out = append(out, v.history(i, h))
			}
		} else {
			for k := len(hs) - 1; k >= 0 && (o.capHistories <= 0 || len(out) < o.capHistories); k-- {
				out = append(out, v.history(i, hs[k]))
			}
		}
		m["changelog"] = map[string]any{"startAt": 0, "maxResults": len(out), "total": total, "histories": out}
	}
	if o.expand["transitions"] {
		var ts []any
		for _, t := range d.transitions(i) {
			ts = append(ts, v.transition(t))
		}
		m["transitions"] = ts
	}
	if o.expand["names"] || o.expand["schema"] {
		names, schema := map[string]any{}, map[string]any{}
		for _, f := range d.cat.fields {
			if _, ok := fields[f.ID]; ok {
				names[f.ID] = f.Name
				if f.Schema != nil {
					schema[f.ID] = schemaJSON(f.Schema)
				}
			}
		}
		if o.expand["names"] {
			m["names"] = names
		}
		if o.expand["schema"] {
			m["schema"] = schema
		}
	}
	return m
}

func (v *view) issueMini(i int32) map[string]any {
	rec := &v.d.recs[i]
	id := strconv.FormatInt(v.d.issueID(i), 10)
	return map[string]any{"id": id, "key": v.d.key(i), "self": v.api() + "/issue/" + id,
		"fields": map[string]any{"summary": v.summary(i), "status": v.status(int(rec.status)),
			"priority": v.priority(v.priorityOf(i)), "issuetype": v.issueType(int(rec.typ))}}
}

func (v *view) summary(i int32) string {
	r := newRnd(v.d.seed, tagIssue, uint64(i), 2)
	s := r.sentence(3 + r.intn(6))
	if o := v.d.overlays[i]; o != nil && o.summaryRev > 0 {
		s += fmt.Sprintf(" (rev %d)", o.summaryRev)
	}
	return s
}

func (v *view) priorityOf(i int32) int {
	r := newRnd(v.d.seed, tagIssue, uint64(i), 3)
	return []int{0, 1, 1, 2, 2, 2, 2, 3, 3, 4}[r.intn(10)]
}

func parseDay(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

// fieldValue returns a field's value; present=false omits the key (only
// "parent" for issues without one). Unset fields are present as null.
func (v *view) fieldValue(i int32, rec *issueRec, fi int, f fieldDef, o issueOpts) (any, bool) {
	d := v.d
	loc := v.s.loc
	p := int(rec.proj)
	pr := d.cat.projects[p]
	done := statuses[rec.status].Category == 3
	fr := newRnd(d.seed, tagField, uint64(i), uint64(fi))
	userOrNil := func(p float64) any {
		if fr.chance(p) {
			return nil
		}
		return v.userEmbed(pickUser(&fr))
	}
	// Time tracking: spent is the sum of the worklogs; half the issues carry
	// an original estimate.
	var spent, estimate int
	switch f.ID {
	case "timespent", "aggregatetimespent", "progress", "aggregateprogress", "timetracking", "workratio",
		"timeoriginalestimate", "aggregatetimeoriginalestimate", "timeestimate", "aggregatetimeestimate":
		for _, w := range d.worklogs(i) {
			spent += w.Seconds
		}
		if er := newRnd(d.seed, tagField, uint64(i), 9999); er.chance(0.5) {
			estimate = 3600 * er.between(1, 40)
		}
	}
	switch f.ID {
	case "summary":
		return v.summary(i), true
	case "issuetype":
		return v.issueType(int(rec.typ)), true
	case "project":
		return v.projectRef(p), true
	case "status":
		return v.status(int(rec.status)), true
	case "priority":
		return v.priority(v.priorityOf(i)), true
	case "resolution":
		if !done {
			return nil, true
		}
		return v.resolution(int(rec.seq) % len(resolutions)), true
	case "resolutiondate":
		if !done {
			return nil, true
		}
		return fmtTime(rec.baseUpdated, loc), true
	case "statuscategorychangedate":
		return fmtTime(rec.created+(rec.baseUpdated-rec.created)/2, loc), true
	case "assignee":
		return userOrNil(0.2), true
	case "reporter":
		return v.userEmbed(pickUser(&fr)), true
	case "creator":
		return v.userEmbed(pickUser(&fr)), true
	case "created":
		return fmtTime(rec.created, loc), true
	case "updated":
		return fmtTime(rec.updated, loc), true
	case "lastViewed":
		return nil, true
	case "duedate":
		if !fr.chance(0.3) {
			return nil, true
		}
		return time.UnixMilli(rec.created).In(loc).AddDate(0, 0, 7+fr.intn(60)).Format("2006-01-02"), true
	case "labels":
		out := []string{}
		for k := fr.intn(4); k > 0; k-- {
			out = append(out, words[fr.intn(len(words))])
		}
		return out, true
	case "components":
		out := []any{}
		if len(pr.Components) > 0 && fr.chance(0.6) {
			c := pr.Components[fr.intn(len(pr.Components))]
			out = append(out, map[string]any{"self": v.api() + "/component/" + strconv.Itoa(c.ID), "id": strconv.Itoa(c.ID), "name": c.Name, "description": c.Descr})
		}
		return out, true
	case "fixVersions", "versions":
		out := []any{}
		if len(pr.Versions) > 0 && fr.chance(0.5) {
			out = append(out, v.versionRef(p, pr.Versions[fr.intn(len(pr.Versions))]))
		}
		return out, true
	case "issuelinks":
		out := []any{}
		for _, l := range d.linksOf(i, v.restricted) {
			lt := linkTypes[l.Typ]
			lm := map[string]any{"id": strconv.Itoa(l.ID), "self": v.api() + "/issueLink/" + strconv.Itoa(l.ID),
				"type": map[string]any{"id": lt.ID, "name": lt.Name, "inward": lt.Inward, "outward": lt.Outward, "self": v.api() + "/issueLinkType/" + lt.ID}}
			if l.From == i {
				lm["outwardIssue"] = v.issueMini(l.To)
			} else {
				lm["inwardIssue"] = v.issueMini(l.From)
			}
			out = append(out, lm)
		}
		return out, true
	case "subtasks":
		out := []any{}
		for _, c := range d.subtasks[i] {
			if d.visibleIssue(c, v.restricted) {
				out = append(out, v.issueMini(c))
			}
		}
		return out, true
	case "parent":
		if rec.parent < 0 || !d.visibleIssue(rec.parent, v.restricted) {
			return nil, false
		}
		return v.issueMini(rec.parent), true
	case "description":
		if !fr.chance(0.8) {
			return nil, true
		}
		return v.body(fr.sentence(10 + fr.intn(30))), true
	case "environment":
		if !fr.chance(0.1) {
			return nil, true
		}
		return v.body("Chrome " + strconv.Itoa(100+fr.intn(30)) + " on macOS"), true
	case "timetracking":
		tt := map[string]any{}
		if estimate > 0 {
			tt["originalEstimate"], tt["originalEstimateSeconds"] = formatDuration(estimate), estimate
			rem := max(0, estimate-spent)
			tt["remainingEstimate"], tt["remainingEstimateSeconds"] = formatDuration(rem), rem
		}
		if spent > 0 {
			tt["timeSpent"], tt["timeSpentSeconds"] = formatDuration(spent), spent
		}
		return tt, true
	case "timespent", "aggregatetimespent":
		if spent == 0 {
			return nil, true
		}
		return spent, true
	case "timeoriginalestimate", "aggregatetimeoriginalestimate":
		if estimate == 0 {
			return nil, true
		}
		return estimate, true
	case "timeestimate", "aggregatetimeestimate":
		if estimate == 0 {
			return nil, true
		}
		return max(0, estimate-spent), true
	case "progress", "aggregateprogress":
		total := max(estimate, spent)
		pm := map[string]any{"progress": spent, "total": total}
		if total > 0 {
			pm["percent"] = spent * 100 / total
		}
		return pm, true
	case "workratio":
		if estimate == 0 {
			return -1, true
		}
		return spent * 100 / estimate, true
	case "votes":
		return map[string]any{"self": v.api() + "/issue/" + d.key(i) + "/votes", "votes": fr.intn(4), "hasVoted": false}, true
	case "watches":
		return map[string]any{"self": v.api() + "/issue/" + d.key(i) + "/watchers", "watchCount": 1 + fr.intn(4), "isWatching": false}, true
	case "security":
		return nil, true
	case "issuerestriction":
		return map[string]any{"issuerestrictions": map[string]any{}, "shouldDisplay": false}, true
	case "attachment":
		return []any{}, true
	case "comment":
		cs := d.visibleComments(i, v.restricted)
		keep := len(cs)
		if o.capComments > 0 && keep > o.capComments {
			keep = o.capComments
		}
		out := make([]any, 0, keep)
		for _, c := range cs[len(cs)-keep:] { // the newest, oldest first
			out = append(out, v.comment(i, c))
		}
		return map[string]any{"comments": out, "self": v.api() + "/issue/" + strconv.FormatInt(d.issueID(i), 10) + "/comment",
			"maxResults": keep, "total": len(cs), "startAt": 0}, true
	case "worklog":
		ws := d.visibleWorklogs(i, v.restricted)
		keep := min(len(ws), o.capWorklogs)
		out := make([]any, 0, keep)
		for _, w := range ws[:keep] {
			out = append(out, v.worklog(w))
		}
		return map[string]any{"startAt": 0, "maxResults": o.capWorklogs, "total": len(ws), "worklogs": out}, true
	}
	if !f.Custom {
		return nil, true
	}
	return v.customValue(i, rec, f, &fr), true
}

func (v *view) versionRef(p int, ver version) map[string]any {
	m := map[string]any{"self": v.api() + "/version/" + strconv.Itoa(ver.ID), "id": strconv.Itoa(ver.ID), "description": ver.Descr,
		"name": ver.Name, "archived": ver.Archived, "released": ver.Released}
	if ver.ReleaseDate != "" {
		m["releaseDate"] = ver.ReleaseDate
	}
	return m
}

func (v *view) option(id int, value string) map[string]any {
	return map[string]any{"self": v.api() + "/customFieldOption/" + strconv.Itoa(id), "value": value, "id": strconv.Itoa(id)}
}

func (v *view) customValue(i int32, rec *issueRec, f fieldDef, fr *rnd) any {
	d := v.d
	if f.addedAt > 0 && rec.updated < f.addedAt {
		return nil
	}
	switch f.kind {
	case "devsummary":
		return "{}"
	case "rank":
		return "0|i" + strconv.FormatInt(int64(i)+100000, 36) + ":"
	case "epiclink":
		if rec.epic < 0 || !d.visibleIssue(rec.epic, v.restricted) {
			return nil
		}
		return d.key(rec.epic)
	case "epicname":
		if rec.typ != typeEpic {
			return nil
		}
		return v.summary(i)
	case "sprint":
		sps := d.sprintsOf(i)
		if len(sps) == 0 {
			return nil
		}
		out := []any{}
		for _, k := range sps {
			sp := d.cat.sprints[k]
			if v.dc() {
				out = append(out, fmt.Sprintf("com.atlassian.greenhopper.service.sprint.Sprint@%x[id=%d,rapidViewId=%d,state=%s,name=%s,startDate=%s,endDate=%s,completeDate=<null>,sequence=%d,goal=%s]",
					sp.ID*7919, sp.ID, d.cat.boards[sp.Board].ID, strings.ToUpper(sp.state(v.s.now())), sp.Name,
					fmtSprintTime(sp.Start, FlavorDataCenter, v.s.loc), fmtSprintTime(sp.End, FlavorDataCenter, v.s.loc), sp.ID, sp.Goal))
				continue
			}
			m := map[string]any{"id": sp.ID, "name": sp.Name, "state": sp.state(v.s.now()), "boardId": d.cat.boards[sp.Board].ID, "goal": sp.Goal,
				"startDate": fmtSprintTime(sp.Start, FlavorCloud, v.s.loc), "endDate": fmtSprintTime(sp.End, FlavorCloud, v.s.loc)}
			if sp.state(v.s.now()) == "closed" {
				m["completeDate"] = fmtSprintTime(sp.End.Add(-3600e9), FlavorCloud, v.s.loc)
			}
			out = append(out, m)
		}
		return out
	}
	if !fr.chance(f.fill) {
		return nil
	}
	switch f.kind {
	case "users":
		out := []any{}
		for k := 1 + fr.intn(3); k > 0; k-- {
			out = append(out, v.userEmbed(pickUser(fr)))
		}
		return out
	case "user":
		return v.userEmbed(pickUser(fr))
	case "option":
		k := fr.intn(len(optionValues))
		return v.option(f.Schema.CustomID*10+k, optionValues[k])
	case "options":
		out := []any{}
		for k := 0; k < len(optionValues); k++ {
			if fr.chance(0.4) {
				out = append(out, v.option(f.Schema.CustomID*10+k, optionValues[k]))
			}
		}
		return out
	case "flagged":
		return []any{v.option(10019, "Impediment")}
	case "cascade":
		a, b := fr.intn(len(cascadeParents)), fr.intn(len(cascadeChildren))
		m := v.option(f.Schema.CustomID*10+a, cascadeParents[a])
		m["child"] = v.option(f.Schema.CustomID*100+a*10+b, cascadeChildren[b])
		return m
	case "datetime":
		return fmtTime(rec.created+int64(fr.intn(30*86400))*1000, v.s.loc)
	case "date":
		return time.UnixMilli(rec.created).In(v.s.loc).AddDate(0, 0, fr.intn(90)).Format("2006-01-02")
	case "points":
		return float64([]int{1, 2, 3, 5, 8, 13}[fr.intn(6)])
	case "number":
		return float64(fr.intn(100000)) / 100
	case "textarea":
		return v.body(fr.sentence(6 + fr.intn(10)))
	case "text":
		return fmt.Sprintf("EXT-%05d", fr.intn(100000))
	case "url":
		return "https://docs.example.com/" + words[fr.intn(len(words))]
	case "labels":
		out := []string{}
		for k := 1 + fr.intn(3); k > 0; k-- {
			out = append(out, "cust-"+words[fr.intn(len(words))])
		}
		return out
	case "versions":
		pr := d.cat.projects[rec.proj]
		if len(pr.Versions) == 0 {
			return []any{}
		}
		return []any{v.versionRef(int(rec.proj), pr.Versions[fr.intn(len(pr.Versions))])}
	}
	return nil
}
