package jirasim

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Catalogue entities: everything that is not per-issue. They are small and
// generated eagerly at Start.

type user struct {
	AccountID   string // Cloud
	Name, Key   string // Data Center
	DisplayName string
	Email       string
	Active      bool
	AccountType string // atlassian | app
	TimeZone    string
}

type category struct {
	ID          int
	Name, Descr string
}

type version struct {
	ID                     int
	Name, Descr            string
	Released, Archived     bool
	StartDate, ReleaseDate string // yyyy-MM-dd or ""
}

type component struct {
	ID          int
	Name, Descr string
	Lead        int // user index
}

type project struct {
	ID         int
	Key, Name  string
	TypeKey    string
	Category   int // index into categories, -1 for none
	Lead       int // user index
	Versions   []version
	Components []component
	Restricted bool // visible to the restricted user
	nextSeq    int32
}

type statusDef struct {
	ID, Name, Descr string
	Category        int // status category id
}

type statusCategoryDef struct {
	ID                   int
	Key, ColorName, Name string
}

type transitionDef struct {
	ID, Name string
	To       int // status index
}

type priorityDef struct {
	ID, Name, Color, Descr string
}

type resolutionDef struct {
	ID, Name, Descr string
}

type issueTypeDef struct {
	ID, Name, Descr string
	Subtask         bool
	Hierarchy       int
	AvatarID        int
}

type roleDef struct {
	ID          int
	Name, Descr string
}

type projectTypeDef struct {
	Key, Formatted, Color string
}

type groupDef struct {
	Name, ID string
	Members  []int
}

type board struct {
	ID      int
	Name    string
	Type    string // scrum | kanban
	Project int    // project index
	// Sprints lists the sprint indexes the board shows; shared sprints appear
	// on several boards.
	Sprints []int
}

type sprint struct {
	ID          int
	Name        string
	Board       int // origin board index
	Start, End  time.Time
	Goal        string
	HasComplete bool
}

// Fixed reference data, modelled on the official examples and real captures.
var (
	statusCategories = []statusCategoryDef{
		{1, "undefined", "medium-gray", "No Category"},
		{2, "new", "blue-gray", "To Do"},
		{4, "indeterminate", "yellow", "In Progress"},
		{3, "done", "green", "Done"},
	}
	statuses = []statusDef{
		{"10000", "To Do", "", 2},
		{"3", "In Progress", "This issue is being actively worked on at the moment by the assignee.", 4},
		{"10001", "In Review", "", 4},
		{"10002", "Done", "", 3},
		{"10003", "Blocked", "Waiting on something outside the team.", 4},
	}
	// workflow maps a status index to the transitions available from it.
	workflow = [][]transitionDef{
		{{"11", "Start Progress", 1}, {"21", "Block", 4}, {"31", "Done", 3}},
		{{"41", "Stop Progress", 0}, {"51", "Send to Review", 2}, {"21", "Block", 4}, {"31", "Done", 3}},
		{{"61", "Request Changes", 1}, {"31", "Done", 3}},
		{{"71", "Reopen", 0}},
		{{"81", "Unblock", 1}, {"31", "Done", 3}},
	}
	priorities = []priorityDef{
		{"1", "Highest", "#d04437", "This problem will block progress."},
		{"2", "High", "#f15C75", "Serious problem that could block progress."},
		{"3", "Medium", "#f79232", "Has the potential to affect progress."},
		{"4", "Low", "#707070", "Minor problem or easily worked around."},
		{"5", "Lowest", "#999999", "Trivial problem with little or no impact on progress."},
	}
	resolutions = []resolutionDef{
		{"10000", "Done", "Work has been completed on this issue."},
		{"10001", "Won't Do", "This issue won't be actioned."},
		{"10002", "Duplicate", "The problem is a duplicate of an existing issue."},
		{"10003", "Cannot Reproduce", "All attempts at reproducing this issue failed."},
	}
	issueTypes = []issueTypeDef{
		{"10001", "Task", "A small, distinct piece of work.", false, 0, 10318},
		{"10002", "Bug", "A problem or error.", false, 0, 10303},
		{"10003", "Story", "A user story.", false, 0, 10315},
		{"10004", "Epic", "A big user story that needs to be broken down.", false, 1, 10307},
		{"10005", "Sub-task", "A small piece of work that's part of a larger task.", true, -1, 10316},
	}
	roles = []roleDef{
		{10002, "Administrators", "A project role that represents administrators in a project"},
		{10003, "Developers", "A project role that represents developers in a project"},
		{10004, "Users", "A project role that represents users in a project"},
		{10005, "atlassian-addons-project-access", "A project role that represents Connect add-ons declaring a scope that requires more than read issue permissions"},
	}
	projectTypes = []projectTypeDef{
		{"business", "Business", "#FFFFFF"},
		{"software", "Software", "#AAAAAA"},
		{"service_desk", "Service Desk", "#67AB49"},
	}
	linkTypes = []struct{ ID, Name, Inward, Outward string }{
		{"10000", "Blocks", "is blocked by", "blocks"},
		{"10001", "Cloners", "is cloned by", "clones"},
		{"10002", "Duplicate", "is duplicated by", "duplicates"},
		{"10003", "Relates", "relates to", "relates to"},
	}
)

const (
	typeTask = iota
	typeBug
	typeStory
	typeEpic
	typeSubtask
)

var projectNames = []struct{ Key, Name, Type string }{
	{"ALPHA", "Alpha Platform", "software"},
	{"BETA", "Beta Mobile", "software"},
	{"OPS", "Operations", "business"},
	{"HELP", "Help Desk", "service_desk"},
	{"DATA", "Data Engineering", "software"},
	{"MKT", "Marketing", "business"},
}

var firstNames = []string{"Mia", "Noah", "Ava", "Liam", "Zoe", "Ethan", "Ivy", "Lucas", "Nora", "Omar", "Lena", "Kai",
	"Sara", "Tom", "Yuki", "Ana", "Ben", "Chloe", "Dev", "Elif", "Finn", "Gita", "Hugo", "Iris", "Jonas", "Kira", "Leo", "Maya"}
var lastNames = []string{"Krystof", "Berg", "Okafor", "Silva", "Tanaka", "Novak", "Meyer", "Haddad", "Rossi", "Nguyen", "Kowalski", "Dubois"}

// Users: index 0 is the configured user, index 1 the restricted user.
const (
	userAdmin      = 0
	userRestricted = 1
	numUsers       = 40
	firstInactive  = 34 // 34..36 inactive humans
	firstApp       = 37 // 37..39 app users
)

type catalogue struct {
	flavor     string
	users      []user
	categories []category
	projects   []project
	groups     []groupDef
	boards     []board
	sprints    []sprint
	fields     []fieldDef // system then custom
}

// newCatalogue makes the site's catalogue. Users beyond numUsers (up to
// users) are active people with their own random stream, so that the rest
// of the dataset does not depend on how many there are.
func newCatalogue(seed int64, flavor string, now time.Time, adminEmail string, users int) *catalogue {
	r := newRnd(seed, tagCatalogue)
	c := &catalogue{flavor: flavor}
	tzs := []string{"Europe/Berlin", "America/Los_Angeles", "Australia/Sydney", "UTC", "Asia/Tokyo"}
	for i := 0; i < numUsers; i++ {
		fn := firstNames[i%len(firstNames)]
		ln := lastNames[(i*7+r.intn(len(lastNames)))%len(lastNames)]
		u := user{
			DisplayName: fn + " " + ln,
			Active:      true,
			AccountType: "atlassian",
			TimeZone:    tzs[r.intn(len(tzs))],
		}
		u.Name = fmt.Sprintf("%s.%s%d", lower(fn), lower(ln), i)
		u.Key = fmt.Sprintf("JIRAUSER%d", 10100+i)
		u.Email = u.Name + "@example.com"
		u.AccountID = fmt.Sprintf("5b10a2844c2016570%07x", r.next()&0xfffffff)
		switch {
		case i == userAdmin:
			u.DisplayName, u.Name, u.Email = "Sim Admin", "admin", adminEmail
		case i == userRestricted:
			u.DisplayName, u.Name, u.Email = "Rita Restricted", "restricted", RestrictedEmail
		case i >= firstApp:
			u.AccountType = "app"
			u.DisplayName = []string{"Automation for Jira", "Slack", "GitHub for Jira"}[i-firstApp]
			u.Email = ""
			u.AccountID = fmt.Sprintf("557058:%08x-%04x-%04x-%04x-%012x", r.next()&0xffffffff, r.next()&0xffff, r.next()&0xffff, r.next()&0xffff, r.next()&0xffffffffffff)
		case i >= firstInactive:
			u.Active = false
			u.DisplayName = "Former user " + fn
		}
		c.users = append(c.users, u)
	}
	xr := newRnd(seed, tagCatalogue, 1)
	// Some of them with names that start outside ASCII, as on real sites.
	extraFirst := append(slices.Clip(firstNames), "Élodie", "Øyvind", "Łukasz", "Ümit")
	for i := numUsers; i < users; i++ {
		fn, ln := extraFirst[xr.intn(len(extraFirst))], lastNames[xr.intn(len(lastNames))]
		u := user{DisplayName: fn + " " + ln, Active: true, AccountType: "atlassian", TimeZone: tzs[xr.intn(len(tzs))],
			Name: fmt.Sprintf("%s.%s%d", strings.ToLower(fn), strings.ToLower(ln), i), Key: fmt.Sprintf("JIRAUSER%d", 10100+i),
			AccountID: fmt.Sprintf("5b10a2844c2016571%07x", i)}
		u.Email = u.Name + "@example.com"
		c.users = append(c.users, u)
	}
	c.categories = []category{
		{10000, "Engineering", "Product engineering projects"},
		{10001, "Business", "Business teams"},
		{10002, "Support", "Customer facing"},
	}
	verID, compID := 10000, 10000
	for i, pn := range projectNames {
		p := project{
			ID:         10000 + i,
			Key:        pn.Key,
			Name:       pn.Name,
			TypeKey:    pn.Type,
			Category:   i % (len(c.categories) + 1),
			Lead:       2 + r.intn(20),
			Restricted: i%2 == 0,
		}
		if p.Category == len(c.categories) {
			p.Category = -1
		}
		nv := r.between(3, 7)
		for v := 0; v < nv; v++ {
			rel := now.AddDate(0, -3*(nv-v-1), r.intn(20)-10)
			ver := version{ID: verID, Name: fmt.Sprintf("%d.%d", 1+v/4, v%4), Descr: r.sentence(4),
				Released: v < nv-2, Archived: v == 0 && nv > 4}
			if r.chance(0.8) {
				ver.ReleaseDate = rel.Format("2006-01-02")
				ver.StartDate = rel.AddDate(0, -1, 0).Format("2006-01-02")
			}
			p.Versions = append(p.Versions, ver)
			verID++
		}
		nc := r.between(2, 5)
		for k := 0; k < nc; k++ {
			p.Components = append(p.Components, component{ID: compID, Name: words[(i*5+k)%len(words)] + " service", Descr: r.sentence(5), Lead: 2 + r.intn(20)})
			compID++
		}
		c.projects = append(c.projects, p)
	}
	all := []int{}
	for i := 0; i < firstApp; i++ {
		if c.users[i].Active {
			all = append(all, i)
		}
	}
	c.groups = []groupDef{
		{"jira-software-users", "7b4a0b5e-93a8-4c55-9e2a-6d3b8b0c1a01", all},
		{"jira-administrators", "7b4a0b5e-93a8-4c55-9e2a-6d3b8b0c1a02", []int{userAdmin, 2, 3}},
		{"site-admins", "7b4a0b5e-93a8-4c55-9e2a-6d3b8b0c1a03", []int{userAdmin}},
	}
	c.fields = append(append([]fieldDef(nil), systemFields...), customFields...)
	c.buildAgile(seed, now)
	return c
}

const sprintLen = 14 * 24 * time.Hour

// buildAgile creates one scrum board per software project covering two years
// of two-week sprints (closed, one active, two future), a kanban board for
// every other project, and a second scrum board on the first software project
// that shows the first board's sprints as well as its own (shared sprints).
func (c *catalogue) buildAgile(seed int64, now time.Time) {
	r := newRnd(seed, tagSprint)
	first := -1
	for pi, p := range c.projects {
		if p.TypeKey == "software" {
			b := board{ID: len(c.boards) + 1, Name: p.Key + " board", Type: "scrum", Project: pi}
			// Sprint k covers [origin + k*len, origin + (k+1)*len); the
			// active one contains now, and two more follow.
			origin := now.Add(-2 * 365 * 24 * time.Hour).Truncate(24 * time.Hour)
			active := int(now.Sub(origin) / sprintLen)
			for k := 0; k <= active+2; k++ {
				st := origin.Add(time.Duration(k) * sprintLen).Add(9 * time.Hour)
				s := sprint{ID: len(c.sprints) + 1, Name: fmt.Sprintf("%s Sprint %d", p.Key, k+1), Board: len(c.boards),
					Start: st, End: st.Add(sprintLen - time.Hour), HasComplete: k < active}
				if r.chance(0.5) {
					s.Goal = r.sentence(3)
				}
				b.Sprints = append(b.Sprints, len(c.sprints))
				c.sprints = append(c.sprints, s)
			}
			c.boards = append(c.boards, b)
			if first < 0 {
				first = len(c.boards) - 1
			}
		}
		if pi%2 == 1 || p.TypeKey != "software" {
			c.boards = append(c.boards, board{ID: len(c.boards) + 1, Name: p.Key + " kanban", Type: "kanban", Project: pi})
		}
	}
	if first >= 0 {
		fb := c.boards[first]
		b := board{ID: len(c.boards) + 1, Name: c.projects[fb.Project].Key + " team B board", Type: "scrum", Project: fb.Project}
		b.Sprints = append(b.Sprints, fb.Sprints[len(fb.Sprints)-6:]...)
		for k := 0; k < 2; k++ {
			st := now.Add(time.Duration(k+1) * sprintLen).Truncate(24 * time.Hour)
			s := sprint{ID: len(c.sprints) + 1, Name: fmt.Sprintf("Team B Sprint %d", k+1), Board: len(c.boards), Start: st, End: st.Add(sprintLen)}
			b.Sprints = append(b.Sprints, len(c.sprints))
			c.sprints = append(c.sprints, s)
		}
		c.boards = append(c.boards, b)
	}
}

// sprintState is derived from the clock so that it stays right while the
// simulator runs.
func (s *sprint) state(now time.Time) string {
	switch {
	case s.HasComplete || now.After(s.End):
		return "closed"
	case !now.Before(s.Start):
		return "active"
	default:
		return "future"
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// fieldDef mirrors the FieldDetails object of GET /field.
type fieldDef struct {
	ID, Key, Name                    string
	Custom                           bool
	Orderable, Navigable, Searchable bool
	ClauseNames                      []string
	Schema                           *fieldSchema
	kind                             string // value generator for custom fields
	addedAt                          int64  // epoch ms a mutation added the field; 0 = generated
	fill                             float64
}

type fieldSchema struct {
	Type, Items, System, Custom string
	CustomID                    int
}

func cf(id int, name, typ, items, plugin, kind string, fill float64) fieldDef {
	fid := fmt.Sprintf("customfield_%d", id)
	return fieldDef{ID: fid, Key: fid, Name: name, Custom: true, Orderable: true, Navigable: true, Searchable: true,
		ClauseNames: []string{fmt.Sprintf("cf[%d]", id), name},
		Schema:      &fieldSchema{Type: typ, Items: items, Custom: plugin, CustomID: id}, kind: kind, fill: fill}
}

const cft = "com.atlassian.jira.plugin.system.customfieldtypes:"

// customFields cover every schema type of the real get-fields sample that
// a sync client must decode.
var customFields = []fieldDef{
	cf(10000, "Development", "any", "", "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummarycf", "devsummary", 1),
	cf(10003, "Approvers", "array", "user", cft+"multiuserpicker", "users", 0.3),
	cf(10004, "Impact", "option", "", cft+"select", "option", 0.5),
	cf(10008, "Change start date", "datetime", "", cft+"datetime", "datetime", 0.3),
	cf(10011, "Epic Name", "string", "", "com.pyxis.greenhopper.jira:gh-epic-label", "epicname", 1),
	cf(10014, "Epic Link", "any", "", "com.pyxis.greenhopper.jira:gh-epic-link", "epiclink", 1),
	cf(10015, "Start date", "date", "", cft+"datepicker", "date", 0.4),
	cf(10016, "Story point estimate", "number", "", "com.pyxis.greenhopper.jira:jsw-story-points", "points", 0.6),
	cf(10019, "Rank", "any", "", "com.pyxis.greenhopper.jira:gh-lexo-rank", "rank", 1),
	cf(10020, "Sprint", "array", "json", "com.pyxis.greenhopper.jira:gh-sprint", "sprint", 1),
	cf(10021, "Flagged", "array", "option", cft+"multicheckboxes", "flagged", 0.1),
	cf(10036, "Story Points", "number", "", cft+"float", "points", 0.5),
	cf(10037, "Alliance", "option-with-child", "", cft+"cascadingselect", "cascade", 0.3),
	cf(10040, "Team notes", "string", "", cft+"textarea", "textarea", 0.4),
	cf(10041, "External ID", "string", "", cft+"textfield", "text", 0.5),
	cf(10042, "Reviewer", "user", "", cft+"userpicker", "user", 0.5),
	cf(10043, "Affected areas", "array", "option", cft+"multiselect", "options", 0.4),
	cf(10044, "Customer labels", "array", "string", cft+"labels", "labels", 0.4),
	cf(10045, "Documentation", "string", "", cft+"url", "url", 0.3),
	cf(10046, "Cost", "number", "", cft+"float", "number", 0.4),
	cf(10047, "Due for customer", "date", "", cft+"datepicker", "date", 0.3),
	cf(10048, "Incident time", "datetime", "", cft+"datetime", "datetime", 0.2),
	cf(10049, "Severity", "option", "", cft+"radiobuttons", "option", 0.5),
	cf(10050, "Target versions", "array", "version", cft+"multiversion", "versions", 0.3),
}

var optionValues = []string{"Low", "Medium", "High", "Critical"}
var cascadeParents = []string{"EMEA", "Americas", "APAC"}
var cascadeChildren = []string{"North", "South", "East", "West"}
