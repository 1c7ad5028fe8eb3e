package jirasim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type ctxKey struct{}

// viewer is who a request is served for: the configured user, the
// restricted user, or (Options.Anonymous) an anonymous caller.
type viewer uint8

const (
	asAdmin viewer = iota
	asRestricted
	asAnonymous
)

func withUser(ctx context.Context, restricted viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, restricted)
}

func restrictedFrom(ctx context.Context) viewer {
	v, _ := ctx.Value(ctxKey{}).(viewer)
	return v
}

// view is one request's rendering context: API version, caller, base URL.
type view struct {
	s          *Server
	d          *dataset
	ver        string // "2", "3" or "latest"
	restricted viewer
	embeds     bool // userEmbed placeholders were issued
}

func (v *view) api() string { return v.s.url + "/rest/api/" + v.ver }
func (v *view) dc() bool    { return v.s.opts.Flavor == FlavorDataCenter }
func (v *view) adf() bool   { return v.ver == "3" }

// body renders rich text: ADF on v3, wiki markup on v2.
func (v *view) body(text string) any {
	if !v.adf() {
		return text
	}
	return map[string]any{"version": 1, "type": "doc", "content": []any{
		map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": text}}},
	}}
}

func avatarURLs(seed string) map[string]any {
	base := "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/" + url.PathEscape(seed) + ".png"
	return map[string]any{"48x48": base + "?size=48", "24x24": base + "?size=24", "16x16": base + "?size=16", "32x32": base + "?size=32"}
}

// userEmbed stands for a user object inside issues, comments, worklogs and
// histories, where the same few users repeat thousands of times. It is a
// placeholder string that writeJSON replaces with the user's pre-encoded
// JSON, which saves most of the encoding work of a search page.
func (v *view) userEmbed(i int) string {
	v.embeds = true
	return "\x00u" + strconv.Itoa(i)
}

// userJSON returns the encoded user object for this API version.
func (v *view) userJSON(i int) []byte {
	v.s.userMu.Lock()
	defer v.s.userMu.Unlock()
	if v.s.userJSON == nil {
		v.s.userJSON = map[string][][]byte{}
	}
	cache := v.s.userJSON[v.ver]
	if cache == nil {
		cache = make([][]byte, len(v.d.cat.users))
		v.s.userJSON[v.ver] = cache
	}
	if cache[i] == nil {
		b, err := json.Marshal(v.user(i))
		if err != nil {
			b = []byte("null")
		}
		cache[i] = b
	}
	return cache[i]
}

const embedPrefix = "\x00u"

// embed returns the pre-encoded user a userEmbed placeholder stands for.
func (v *view) embed(s string) ([]byte, bool) {
	if !v.embeds || !strings.HasPrefix(s, embedPrefix) {
		return nil, false
	}
	n, err := strconv.Atoi(s[len(embedPrefix):])
	if err != nil || n < 0 || n >= len(v.d.cat.users) {
		return nil, false
	}
	return v.userJSON(n), true
}

// writeJSON encodes val and expands user placeholders.
func (v *view) writeJSON(w http.ResponseWriter, status int, val any) {
	writeEncoded(w, status, val, v.embed)
}

func (v *view) user(i int) map[string]any {
	u := v.d.cat.users[i]
	m := map[string]any{
		"avatarUrls":  avatarURLs(u.DisplayName[:1]),
		"displayName": u.DisplayName,
		"active":      u.Active,
		"timeZone":    v.s.opts.TZ,
	}
	if v.dc() {
		m["self"] = v.api() + "/user?username=" + url.QueryEscape(u.Name)
		m["name"], m["key"] = u.Name, u.Key
		m["emailAddress"] = u.Email
		m["locale"] = "en_US"
		return m
	}
	m["self"] = v.api() + "/user?accountId=" + url.QueryEscape(u.AccountID)
	m["accountId"] = u.AccountID
	m["accountType"] = u.AccountType
	if u.Email != "" {
		m["emailAddress"] = u.Email
	}
	return m
}

func (v *view) projectRef(p int) map[string]any {
	pr := v.d.cat.projects[p]
	m := map[string]any{
		"self": v.api() + "/project/" + strconv.Itoa(pr.ID), "id": strconv.Itoa(pr.ID), "key": pr.Key, "name": pr.Name,
		"projectTypeKey": pr.TypeKey, "simplified": false,
		"avatarUrls": map[string]any{
			"48x48": v.s.url + "/secure/projectavatar?pid=" + strconv.Itoa(pr.ID) + "&avatarId=10400",
			"24x24": v.s.url + "/secure/projectavatar?size=small&s=small&pid=" + strconv.Itoa(pr.ID) + "&avatarId=10400",
			"16x16": v.s.url + "/secure/projectavatar?size=xsmall&s=xsmall&pid=" + strconv.Itoa(pr.ID) + "&avatarId=10400",
			"32x32": v.s.url + "/secure/projectavatar?size=medium&s=medium&pid=" + strconv.Itoa(pr.ID) + "&avatarId=10400",
		},
	}
	if pr.Category >= 0 {
		m["projectCategory"] = v.category(pr.Category)
	}
	return m
}

func (v *view) category(c int) map[string]any {
	cat := v.d.cat.categories[c]
	return map[string]any{"self": v.api() + "/projectCategory/" + strconv.Itoa(cat.ID), "id": strconv.Itoa(cat.ID), "name": cat.Name, "description": cat.Descr}
}

// project renders the full Project object (project/search, project/{id}).
func (v *view) project(p int, expand map[string]bool) map[string]any {
	pr := v.d.cat.projects[p]
	m := v.projectRef(p)
	m["style"] = "classic"
	m["isPrivate"] = false
	m["properties"] = map[string]any{}
	m["entityId"] = fmt.Sprintf("6d9e5f1a-0000-4000-8000-%012d", pr.ID)
	m["uuid"] = m["entityId"]
	if expand["description"] || expand["*"] {
		m["description"] = pr.Name + " project"
	}
	if expand["lead"] || expand["*"] {
		m["lead"] = v.user(pr.Lead)
	}
	if expand["issueTypes"] || expand["*"] {
		var its []any
		for k := range issueTypes {
			its = append(its, v.issueType(k))
		}
		m["issueTypes"] = its
	}
	if expand["insight"] {
		count, last := 0, int64(0)
		for i := range v.d.recs {
			if int(v.d.recs[i].proj) == p && !v.d.recs[i].deleted {
				count++
				last = max(last, v.d.recs[i].updated)
			}
		}
		m["insight"] = map[string]any{"totalIssueCount": count, "lastIssueUpdateTime": fmtTime(last, v.s.loc)}
	}
	return m
}

func (v *view) version(p int, ver version) map[string]any {
	m := map[string]any{"self": v.api() + "/version/" + strconv.Itoa(ver.ID), "id": strconv.Itoa(ver.ID), "name": ver.Name,
		"description": ver.Descr, "archived": ver.Archived, "released": ver.Released, "projectId": v.d.cat.projects[p].ID}
	if ver.ReleaseDate != "" {
		m["releaseDate"] = ver.ReleaseDate
		m["startDate"] = ver.StartDate
		rd, _ := parseDay(ver.ReleaseDate)
		m["userReleaseDate"] = rd.Format("2/Jan/06")
		sd, _ := parseDay(ver.StartDate)
		m["userStartDate"] = sd.Format("2/Jan/06")
		m["overdue"] = !ver.Released && rd.Before(v.s.now())
	}
	return m
}

func (v *view) component(p int, c component, withCount bool) map[string]any {
	pr := v.d.cat.projects[p]
	m := map[string]any{"self": v.api() + "/component/" + strconv.Itoa(c.ID), "id": strconv.Itoa(c.ID), "name": c.Name,
		"description": c.Descr, "lead": v.user(c.Lead), "assigneeType": "PROJECT_DEFAULT", "assignee": v.user(pr.Lead),
		"realAssigneeType": "PROJECT_DEFAULT", "realAssignee": v.user(pr.Lead), "isAssigneeTypeValid": true,
		"project": pr.Key, "projectId": pr.ID}
	if !v.dc() {
		m["leadAccountId"] = v.d.cat.users[c.Lead].AccountID
	} else {
		m["leadUserName"] = v.d.cat.users[c.Lead].Name
	}
	if withCount {
		m["issueCount"] = 0
	}
	return m
}

func (v *view) statusCategory(id int) map[string]any {
	for _, c := range statusCategories {
		if c.ID == id {
			return map[string]any{"self": v.api() + "/statuscategory/" + strconv.Itoa(c.ID), "id": c.ID, "key": c.Key, "colorName": c.ColorName, "name": c.Name}
		}
	}
	return nil
}

func (v *view) status(k int) map[string]any {
	st := statuses[k]
	return map[string]any{"self": v.api() + "/status/" + st.ID, "description": st.Descr,
		"iconUrl": v.s.url + "/images/icons/statuses/generic.png", "name": st.Name, "untranslatedName": st.Name, "id": st.ID,
		"statusCategory": v.statusCategory(st.Category)}
}

func (v *view) priority(k int) map[string]any {
	p := priorities[k]
	return map[string]any{"self": v.api() + "/priority/" + p.ID, "statusColor": p.Color, "description": p.Descr,
		"iconUrl": v.s.url + "/images/icons/priorities/" + lower(p.Name) + ".svg", "name": p.Name, "id": p.ID}
}

func (v *view) resolution(k int) map[string]any {
	r := resolutions[k]
	return map[string]any{"self": v.api() + "/resolution/" + r.ID, "id": r.ID, "description": r.Descr, "name": r.Name}
}

func (v *view) issueType(k int) map[string]any {
	t := issueTypes[k]
	return map[string]any{"self": v.api() + "/issuetype/" + t.ID, "id": t.ID, "description": t.Descr,
		"iconUrl": v.s.url + "/rest/api/2/universal_avatar/view/type/issuetype/avatar/" + strconv.Itoa(t.AvatarID) + "?size=medium",
		"name":    t.Name, "untranslatedName": t.Name, "subtask": t.Subtask, "avatarId": t.AvatarID, "hierarchyLevel": t.Hierarchy}
}

func (v *view) role(k int) map[string]any {
	ro := roles[k]
	return map[string]any{"self": v.api() + "/role/" + strconv.Itoa(ro.ID), "name": ro.Name, "id": ro.ID, "description": ro.Descr,
		"actors": []any{}, "translatedName": ro.Name, "currentUserRole": k < 2, "admin": ro.Name == "Administrators",
		"default": ro.Name == "Users", "roleConfigurable": true}
}

func (v *view) field(f fieldDef) map[string]any {
	m := map[string]any{"id": f.ID, "key": f.Key, "name": f.Name, "custom": f.Custom, "orderable": f.Orderable,
		"navigable": f.Navigable, "searchable": f.Searchable, "clauseNames": f.ClauseNames, "untranslatedName": f.Name}
	if f.Schema != nil {
		m["schema"] = schemaJSON(f.Schema)
	}
	return m
}

func schemaJSON(fs *fieldSchema) map[string]any {
	sc := map[string]any{"type": fs.Type}
	if fs.Items != "" {
		sc["items"] = fs.Items
	}
	if fs.System != "" {
		sc["system"] = fs.System
	}
	if fs.Custom != "" {
		sc["custom"] = fs.Custom
		sc["customId"] = fs.CustomID
	}
	return sc
}

// --- children ---

func (v *view) comment(i int32, c commentItem) map[string]any {
	m := map[string]any{
		"self":   v.api() + "/issue/" + strconv.FormatInt(v.d.issueID(i), 10) + "/comment/" + strconv.FormatInt(c.ID, 10),
		"id":     strconv.FormatInt(c.ID, 10),
		"author": v.userEmbed(c.Author), "updateAuthor": v.userEmbed(c.UpdateAuthor),
		"body":    v.body(c.Text),
		"created": fmtTime(c.Created, v.s.loc), "updated": fmtTime(c.Updated, v.s.loc),
	}
	if !v.dc() {
		m["jsdPublic"] = true
	}
	if c.Restricted {
		m["visibility"] = map[string]any{"type": "role", "value": "Developers", "identifier": "Developers"}
	}
	return m
}

func (v *view) worklog(w worklogItem) map[string]any {
	id := strconv.FormatInt(v.d.issueID(w.Issue), 10)
	m := map[string]any{
		"self":   v.api() + "/issue/" + id + "/worklog/" + strconv.FormatInt(w.ID, 10),
		"id":     strconv.FormatInt(w.ID, 10),
		"author": v.userEmbed(w.Author), "updateAuthor": v.userEmbed(w.UpdateAuthor),
		"comment": v.body(w.Text),
		"created": fmtTime(w.Created, v.s.loc), "updated": fmtTime(w.Updated, v.s.loc), "started": fmtTime(w.Started, v.s.loc),
		"timeSpent": formatDuration(w.Seconds), "timeSpentSeconds": w.Seconds, "issueId": id,
	}
	if w.Restricted {
		m["visibility"] = map[string]any{"type": "role", "value": "Developers", "identifier": "Developers"}
	}
	return m
}

// history renders a changelog history of issue i. On Cloud, a
// description change's from and to are ARI strings of the field's value
// (jira-api.md §4.3), its text in fromString and toString.
func (v *view) history(i int32, h historyItem) map[string]any {
	items := make([]any, 0, len(h.Items))
	for _, it := range h.Items {
		from, to := it.From, it.To
		if !v.dc() && it.FieldID == "description" {
			ari := `{"id":"ari:cloud:jira:` + v.s.opts.CloudID + `:issuefieldvalue/` + strconv.FormatInt(v.d.issueID(i), 10) + `/description","version":"1"}`
			from, to = &ari, &ari
		}
		m := map[string]any{"field": it.Field, "fieldtype": it.FieldType, "from": from, "fromString": it.FromString, "to": to, "toString": it.ToString}
		if it.FieldID != "" {
			m["fieldId"] = it.FieldID
		}
		items = append(items, m)
	}
	return map[string]any{"id": strconv.FormatInt(h.ID, 10), "author": v.userEmbed(h.Author), "created": fmtTime(h.Created, v.s.loc), "items": items}
}

func (v *view) transition(t transitionDef) map[string]any {
	return map[string]any{"id": t.ID, "name": t.Name, "to": v.status(t.To), "hasScreen": false, "isGlobal": false,
		"isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false}
}

func (v *view) sprint(k int) map[string]any {
	sp := v.d.cat.sprints[k]
	m := map[string]any{"id": sp.ID, "self": v.s.url + "/rest/agile/1.0/sprint/" + strconv.Itoa(sp.ID), "state": sp.state(v.s.now()),
		"name": sp.Name, "originBoardId": v.d.cat.boards[sp.Board].ID, "goal": sp.Goal}
	st := sp.state(v.s.now())
	if st != "future" || k%2 == 0 {
		m["startDate"] = fmtSprintTime(sp.Start, v.s.opts.Flavor, v.s.loc)
		m["endDate"] = fmtSprintTime(sp.End, v.s.opts.Flavor, v.s.loc)
		m["createdDate"] = fmtSprintTime(sp.Start.Add(-72*3600e9), v.s.opts.Flavor, v.s.loc)
	}
	if st == "closed" {
		m["completeDate"] = fmtSprintTime(sp.End.Add(-3600e9), v.s.opts.Flavor, v.s.loc)
	}
	return m
}

func (v *view) board(b int) map[string]any {
	bd := v.d.cat.boards[b]
	pr := v.d.cat.projects[bd.Project]
	return map[string]any{"id": bd.ID, "self": v.s.url + "/rest/agile/1.0/board/" + strconv.Itoa(bd.ID), "name": bd.Name, "type": bd.Type,
		"location": map[string]any{"projectId": pr.ID, "displayName": pr.Name + " (" + pr.Key + ")", "projectName": pr.Name,
			"projectKey": pr.Key, "projectTypeKey": pr.TypeKey, "avatarURI": "/secure/projectavatar?size=small&s=small&pid=" + strconv.Itoa(pr.ID) + "&avatarId=10400",
			"name": pr.Name + " (" + pr.Key + ")"}}
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
