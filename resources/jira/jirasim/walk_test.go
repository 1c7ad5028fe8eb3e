package jirasim

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// walk syncs everything through the public API with a plain HTTP client, the
// way a sync client would, and returns the row count per table. Truncated
// embedded collections are completed through their own endpoints, so the
// counts are of rows actually served, not of reported totals.
func walk(t *testing.T, c *apiClient, since time.Time) map[string]int64 {
	t.Helper()
	dc := c.s.Flavor() == FlavorDataCenter
	api := "/rest/api/3"
	if dc {
		api = "/rest/api/2"
	}
	n := map[string]int64{}

	// Projects, versions, components.
	var projects []obj
	if dc {
		var ps []obj
		c.get(api+"/project", &ps)
		projects = ps
	} else {
		projects = pagedValues(t, c, api+"/project/search?maxResults=2")
	}
	n["projects"] = int64(len(projects))
	for _, p := range projects {
		id := str(p["id"])
		if dc {
			var vs, cs []any
			c.get(api+"/project/"+id+"/versions", &vs)
			c.get(api+"/project/"+id+"/components", &cs)
			n["versions"] += int64(len(vs))
			n["components"] += int64(len(cs))
			continue
		}
		n["versions"] += int64(len(pagedValues(t, c, api+"/project/"+id+"/version?maxResults=3")))
		n["components"] += int64(len(pagedValues(t, c, api+"/project/"+id+"/component?maxResults=2")))
	}
	for table, path := range map[string]string{
		"project_types": "/project/type", "project_categories": "/projectCategory", "roles": "/role", "fields": "/field",
		"statuses": "/status", "status_categories": "/statuscategory", "priorities": "/priority", "issue_types": "/issuetype",
		"resolutions": "/resolution",
	} {
		var a []any
		if table == "roles" && c.auth == c.s.RestrictedAuthHeader() {
			c.json("GET", api+path, nil, http.StatusForbidden, nil) // needs Administer Jira
		} else {
			c.get(api+path, &a)
		}
		n[table] = int64(len(a))
	}
	if !dc {
		if got := len(pagedValues(t, c, api+"/resolution/search?maxResults=3")); int64(got) != n["resolutions"] {
			t.Errorf("resolution/search served %d, /resolution %d", got, n["resolutions"])
		}
	}

	// Users: users/search until an empty page (Cloud), user/search (DC).
	if dc {
		var us []any
		c.get(api+"/user/search?username=.&includeInactive=true&maxResults=1000", &us)
		n["users"] = int64(len(us))
	} else {
		for start := 0; ; start += 7 {
			var us []any
			c.get(fmt.Sprintf("%s/users/search?startAt=%d&maxResults=7", api, start), &us)
			if len(us) == 0 {
				break
			}
			n["users"] += int64(len(us))
		}
	}

	// Issues and children.
	jql := "project in (" + projectKeys(projects) + ")"
	if !since.IsZero() {
		jql += " AND updated >= " + strconv.FormatInt(since.UnixMilli(), 10)
	}
	jql += " ORDER BY updated ASC, id ASC"
	seen := map[string]bool{}
	links := map[string]bool{}
	pairs := map[string]bool{}
	var embeddedWorklogs int64
	handle := func(is obj) {
		id := str(is["id"])
		if seen[id] {
			t.Fatalf("issue %s served twice", id)
		}
		seen[id] = true
		f := is["fields"].(obj)
		// Comments.
		cm := f["comment"].(obj)
		comments := arr(cm["comments"])
		if num(cm["total"]) > len(comments) {
			comments = legacyPages(t, c, api+"/issue/"+id+"/comment?maxResults=100", "comments")
		}
		if len(comments) != num(cm["total"]) {
			t.Fatalf("issue %s: %d comments served, total says %d", id, len(comments), num(cm["total"]))
		}
		n["issue_comments"] += int64(len(comments))
		// Changelog.
		cl := is["changelog"].(obj)
		hs := arr(cl["histories"])
		if num(cl["total"]) > len(hs) {
			if dc {
				t.Fatalf("DC truncated changelog of %s", id)
			}
			hs = nil
			for _, h := range pagedValues(t, c, api+"/issue/"+id+"/changelog") {
				hs = append(hs, h)
			}
		}
		if len(hs) != num(cl["total"]) {
			t.Fatalf("issue %s: %d histories served, total %d", id, len(hs), num(cl["total"]))
		}
		n["changelogs"] += int64(len(hs))
		for _, h := range hs {
			n["changelog_items"] += int64(len(arr(h.(obj)["items"])))
		}
		n["issue_transitions"] += int64(len(arr(is["transitions"])))
		embeddedWorklogs += int64(num(f["worklog"].(obj)["total"]))
		for _, l := range arr(f["issuelinks"]) {
			links[str(l.(obj)["id"])] = true
		}
		for _, sp := range arr(f["customfield_10020"]) {
			key := fmt.Sprint(sp)
			if m, ok := sp.(obj); ok {
				key = strconv.Itoa(num(m["id"]))
			}
			pairs[key+"/"+id] = true
		}
	}
	q := url.Values{"jql": {jql}, "fields": {"*all"}, "expand": {"changelog,transitions"}}
	if dc {
		for start := 0; ; {
			var page obj
			q.Set("startAt", strconv.Itoa(start))
			q.Set("maxResults", "1000")
			c.get(api+"/search?"+q.Encode(), &page)
			is := arr(page["issues"])
			for _, x := range is {
				handle(x.(obj))
			}
			start += len(is)
			if len(is) == 0 || start >= num(page["total"]) {
				break
			}
		}
	} else {
		q.Set("maxResults", "5000")
		for {
			var page obj
			c.get(api+"/search/jql?"+q.Encode(), &page)
			for _, x := range arr(page["issues"]) {
				handle(x.(obj))
			}
			tok, has := page["nextPageToken"]
			if page["isLast"] == true {
				if has {
					t.Fatalf("last page carries nextPageToken")
				}
				break
			}
			q.Set("nextPageToken", str(tok))
		}
	}
	n["issues"] = int64(len(seen))
	n["issue_links"] = int64(len(links))
	n["sprint_issues"] = int64(len(pairs))

	// Worklogs through the change feed, hydrated with worklog/list.
	if since.IsZero() {
		ids := map[int64]bool{}
		next := api + "/worklog/updated?since=0"
		for {
			var page obj
			c.get(next, &page)
			var batch []int64
			for _, v := range arr(page["values"]) {
				id := int64(num(v.(obj)["worklogId"]))
				if !ids[id] {
					batch = append(batch, id)
				}
				ids[id] = true
			}
			for len(batch) > 0 {
				k := min(len(batch), 1000)
				var wls []any
				c.json("POST", api+"/worklog/list", obj{"ids": batch[:k]}, 200, &wls)
				if len(wls) != k {
					t.Fatalf("worklog/list hydrated %d of %d", len(wls), k)
				}
				batch = batch[k:]
			}
			if page["lastPage"] == true {
				break
			}
			next = str(page["nextPage"])
		}
		n["worklogs"] = int64(len(ids))
		if embeddedWorklogs != n["worklogs"] {
			t.Errorf("worklog feed served %d, embedded totals say %d", n["worklogs"], embeddedWorklogs)
		}
	} else {
		n["worklogs"] = embeddedWorklogs
	}

	// Agile.
	var boards []obj
	for start := 0; ; {
		var page obj
		c.get(fmt.Sprintf("/rest/agile/1.0/board?startAt=%d&maxResults=3", start), &page)
		for _, b := range arr(page["values"]) {
			boards = append(boards, b.(obj))
		}
		start += len(arr(page["values"]))
		if page["isLast"] == true {
			break
		}
	}
	n["boards"] = int64(len(boards))
	sprints := map[int]bool{}
	for _, b := range boards {
		if b["type"] != "scrum" {
			continue
		}
		for start := 0; ; {
			var page obj
			c.get(fmt.Sprintf("/rest/agile/1.0/board/%d/sprint?startAt=%d", num(b["id"]), start), &page)
			if _, has := page["total"]; has {
				t.Fatalf("board sprint page has total")
			}
			for _, s := range arr(page["values"]) {
				sprints[num(s.(obj)["id"])] = true
			}
			start += len(arr(page["values"]))
			if page["isLast"] == true {
				break
			}
		}
	}
	n["sprints"] = int64(len(sprints))
	return n
}

func projectKeys(ps []obj) string {
	s := ""
	for k, p := range ps {
		if k > 0 {
			s += ","
		}
		s += str(p["key"])
	}
	return s
}

// pagedValues follows a PageBean (style A) to the end via nextPage.
func pagedValues(t *testing.T, c *apiClient, path string) []obj {
	t.Helper()
	var out []obj
	for {
		var page obj
		c.get(path, &page)
		for _, v := range arr(page["values"]) {
			out = append(out, v.(obj))
		}
		if page["isLast"] == true {
			if _, has := page["nextPage"]; has {
				t.Fatalf("%s: last page has nextPage", path)
			}
			if num(page["total"]) != len(out) {
				t.Fatalf("%s: total %d but %d served", path, num(page["total"]), len(out))
			}
			return out
		}
		path = str(page["nextPage"])
		if path == "" {
			t.Fatalf("not last page without nextPage")
		}
	}
}

// legacyPages follows a style B envelope by startAt.
func legacyPages(t *testing.T, c *apiClient, path, items string) []any {
	t.Helper()
	var out []any
	for start := 0; ; {
		var page obj
		c.get(fmt.Sprintf("%s&startAt=%d", path, start), &page)
		got := arr(page[items])
		out = append(out, got...)
		start += len(got)
		if len(got) == 0 || start >= num(page["total"]) {
			return out
		}
	}
}

func diffTables(t *testing.T, got map[string]int64, want Expected) {
	t.Helper()
	for table, w := range want.Tables {
		if got[table] != w {
			t.Errorf("table %s: walked %d, expected %d", table, got[table], w)
		}
	}
	for table := range got {
		if _, ok := want.Tables[table]; !ok {
			t.Errorf("walked table %s missing from Expected", table)
		}
	}
}

func TestWalkMatchesExpected(t *testing.T) {
	for _, tc := range []struct {
		name       string
		flavor     string
		restricted bool
		mutate     bool
	}{
		{"cloud", FlavorCloud, false, false},
		{"cloud restricted", FlavorCloud, true, false},
		{"cloud after mutations", FlavorCloud, false, true},
		{"datacenter", FlavorDataCenter, false, false},
		{"datacenter after mutations", FlavorDataCenter, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk := startSim(t, Options{Flavor: tc.flavor, Issues: 250, Seed: 7, TZ: "Europe/Berlin"})
			c := client(t, s)
			if tc.restricted {
				c.auth = s.RestrictedAuthHeader()
			}
			if tc.mutate {
				if _, err := s.Mutate(Mutation{Update: 5, Comment: 5, Worklog: 5, DeleteIssues: 3, DeleteWorklogs: 3, MoveIssues: 2, AddCustomField: 1}); err != nil {
					t.Fatal(err)
				}
				clk.Advance(2 * time.Minute) // past the worklog feed's last-minute rule
			}
			got := walk(t, c, time.Time{})
			diffTables(t, got, s.ExpectedFor(tc.restricted, time.Time{}))
		})
	}
}

func TestWalkSinceMatchesExpected(t *testing.T) {
	s, clk := startSim(t, Options{Issues: 250, Seed: 3})
	since := clk.Now().Add(-90 * 24 * time.Hour)
	got := walk(t, client(t, s), since)
	want := s.Expected(since)
	all := s.Expected(time.Time{})
	if want.Tables["issues"] >= all.Tables["issues"] || want.Tables["issues"] == 0 {
		t.Fatalf("since filter did not filter: %d of %d", want.Tables["issues"], all.Tables["issues"])
	}
	if want.Tables["projects"] != all.Tables["projects"] {
		t.Fatalf("catalogue counts must not depend on since")
	}
	diffTables(t, got, want)
}
