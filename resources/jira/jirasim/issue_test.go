package jirasim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The issue in the middle of the range carries 250 comments, 150 histories
// and 60 worklogs.
func tailIssue(n int) string { return fmt.Sprint(issueIDBase + n/2) }

func TestEmbeddedTruncation(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 100})
	c := client(t, s)
	id := tailIssue(100)
	var all obj
	c.get("/rest/api/3/issue/"+id+"/comment?maxResults=100&startAt=200", &all)
	if num(all["total"]) != 250 || len(arr(all["comments"])) != 50 {
		t.Fatalf("comment endpoint: total %v, %d served", all["total"], len(arr(all["comments"])))
	}
	newest := str(arr(all["comments"])[49].(obj)["id"])

	for _, tc := range []struct {
		name                                  string
		path                                  string
		comments, histories, worklogs, totalW int
	}{
		{"search caps", "/rest/api/3/search/jql?jql=id%3D" + id + "&fields=*all&expand=changelog", 20, 40, 20, 60},
		{"issue caps", "/rest/api/3/issue/" + id + "?expand=changelog", 100, 100, 20, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var is obj
			if strings.Contains(tc.path, "search") {
				var page obj
				c.get(tc.path, &page)
				is = arr(page["issues"])[0].(obj)
			} else {
				c.get(tc.path, &is)
			}
			f := is["fields"].(obj)
			cm := f["comment"].(obj)
			cs := arr(cm["comments"])
			if len(cs) != tc.comments || num(cm["total"]) != 250 || num(cm["maxResults"]) != tc.comments || num(cm["startAt"]) != 0 {
				t.Fatalf("comment page: %d of total %v (maxResults %v)", len(cs), cm["total"], cm["maxResults"])
			}
			if str(cs[len(cs)-1].(obj)["id"]) != newest {
				t.Fatal("the newest comments must be kept")
			}
			if !strings.HasSuffix(str(cm["self"]), "/rest/api/3/issue/"+id+"/comment") {
				t.Fatalf("comment self %v", cm["self"])
			}
			wl := f["worklog"].(obj)
			if len(arr(wl["worklogs"])) != tc.worklogs || num(wl["total"]) != tc.totalW || num(wl["maxResults"]) != 20 {
				t.Fatalf("worklog page %v/%v", len(arr(wl["worklogs"])), wl["total"])
			}
			cl := is["changelog"].(obj)
			hs := arr(cl["histories"])
			if len(hs) != tc.histories || num(cl["total"]) != 150 {
				t.Fatalf("changelog %d of %v", len(hs), cl["total"])
			}
			// Most recent first: ids and times descend.
			first, last := hs[0].(obj), hs[len(hs)-1].(obj)
			if atoi(t, first["id"]) <= atoi(t, last["id"]) || parseTS(t, first["created"]) < parseTS(t, last["created"]) {
				t.Fatal("histories not newest first")
			}
		})
	}

	t.Run("datacenter oldest first", func(t *testing.T) {
		s, _ := startSim(t, Options{Issues: 100, Flavor: FlavorDataCenter})
		var is obj
		client(t, s).get("/rest/api/2/issue/"+id+"?expand=changelog&fields=id", &is)
		cl := is["changelog"].(obj)
		hs := arr(cl["histories"])
		if len(hs) != 150 || num(cl["total"]) != 150 {
			t.Fatalf("changelog %d of %v, want all 150", len(hs), cl["total"])
		}
		for k := 1; k < len(hs); k++ {
			prev, cur := hs[k-1].(obj), hs[k].(obj)
			if atoi(t, prev["id"]) >= atoi(t, cur["id"]) || parseTS(t, prev["created"]) > parseTS(t, cur["created"]) {
				t.Fatalf("histories %d and %d not oldest first", k-1, k)
			}
		}
	})

	t.Run("configurable caps", func(t *testing.T) {
		s, _ := startSim(t, Options{Issues: 100, Caps: Caps{Comments: 5, Histories: 7, Worklogs: 3}})
		var page obj
		client(t, s).get("/rest/api/3/search/jql?jql=id%3D"+id+"&fields=comment,worklog&expand=changelog", &page)
		is := arr(page["issues"])[0].(obj)
		f := is["fields"].(obj)
		if len(arr(f["comment"].(obj)["comments"])) != 5 || len(arr(f["worklog"].(obj)["worklogs"])) != 3 || len(arr(is["changelog"].(obj)["histories"])) != 7 {
			t.Fatal("caps not applied")
		}
	})
}

func TestChildEndpointsPaging(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 100})
	c := client(t, s)
	id := tailIssue(100)
	var p obj
	// Comments: maxResults clamp to [1,100], startAt floor 0, past-end echo.
	c.get("/rest/api/3/issue/"+id+"/comment?maxResults=1000&startAt=-5", &p)
	if num(p["maxResults"]) != 100 || num(p["startAt"]) != 0 || len(arr(p["comments"])) != 100 {
		t.Fatalf("clamp: %v %v", p["maxResults"], p["startAt"])
	}
	c.get("/rest/api/3/issue/"+id+"/comment?maxResults=0", &p)
	if num(p["maxResults"]) != 1 {
		t.Fatalf("maxResults floor: %v", p["maxResults"])
	}
	c.get("/rest/api/3/issue/"+id+"/comment?startAt=999", &p)
	if num(p["startAt"]) != 999 || len(arr(p["comments"])) != 0 {
		t.Fatal("past-the-end page")
	}
	c.get("/rest/api/3/issue/"+id+"/comment?startAt=3&startAt=5&maxResults=1", &p)
	if num(p["startAt"]) != 3 {
		t.Fatal("first repeated parameter must win")
	}
	var asc, desc obj
	c.get("/rest/api/3/issue/"+id+"/comment?maxResults=1", &asc)
	c.get("/rest/api/3/issue/"+id+"/comment?maxResults=1&orderBy=-created", &desc)
	if str(arr(asc["comments"])[0].(obj)["id"]) >= str(arr(desc["comments"])[0].(obj)["id"]) {
		t.Fatal("-created must start with the newest")
	}
	code, hdr, body := c.do("GET", "/rest/api/3/issue/"+id+"/comment?orderBy=updated", nil)
	if code != 400 {
		t.Fatalf("orderBy=updated: %d", code)
	}
	code, hdr, body = c.do("GET", "/rest/api/3/issue/"+id+"/comment?startAt=abc", nil)
	if code != 400 || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "Failed to convert 'startAt'") {
		t.Fatalf("unconvertible startAt: %d %s %s", code, hdr.Get("Content-Type"), body)
	}
	// Changelog PageBean: oldest first, default 100, nextPage absolute.
	c.get("/rest/api/3/issue/"+id+"/changelog", &p)
	if num(p["maxResults"]) != 100 || num(p["total"]) != 150 || p["isLast"] != false || !strings.HasPrefix(str(p["nextPage"]), s.URL()+"/rest/api/3/issue/"+id+"/changelog?") {
		t.Fatalf("changelog page: %v %v %v %v", p["maxResults"], p["total"], p["isLast"], p["nextPage"])
	}
	// Worklogs: default 5000, everything.
	c.get("/rest/api/3/issue/"+id+"/worklog", &p)
	if num(p["maxResults"]) != 5000 || len(arr(p["worklogs"])) != 60 {
		t.Fatal("worklog page")
	}
	// Bulk changelog: cursor with nextPageToken, filter by field.
	seen := 0
	body2 := obj{"issueIdsOrKeys": []string{id}, "maxResults": 60}
	for {
		var bp obj
		c.json("POST", "/rest/api/3/changelog/bulkfetch", body2, 200, &bp)
		for _, l := range arr(bp["issueChangeLogs"]) {
			seen += len(arr(l.(obj)["changeHistories"]))
		}
		tok, ok := bp["nextPageToken"]
		if !ok {
			break
		}
		body2["nextPageToken"] = tok
	}
	if seen != 150 {
		t.Fatalf("bulkfetch served %d histories", seen)
	}
	var fp obj
	c.json("POST", "/rest/api/3/changelog/bulkfetch", obj{"issueIdsOrKeys": []string{id}, "fieldIds": []string{"status"}}, 200, &fp)
	for _, l := range arr(fp["issueChangeLogs"]) {
		for _, h := range arr(l.(obj)["changeHistories"]) {
			for _, it := range arr(h.(obj)["items"]) {
				if it.(obj)["fieldId"] != "status" {
					t.Fatalf("fieldIds filter leaked %v", it)
				}
			}
		}
	}
	c.json("POST", "/rest/api/3/changelog/bulkfetch", obj{"issueIdsOrKeys": []string{}}, 400, nil)
	// Transitions.
	c.get("/rest/api/3/issue/"+id+"/transitions", &p)
	if len(arr(p["transitions"])) == 0 {
		t.Fatal("no transitions")
	}
	// 404 body.
	code, _, body = c.do("GET", "/rest/api/3/issue/NOPE-9", nil)
	if code != 404 || !strings.Contains(string(body), msgIssueNotFound) {
		t.Fatalf("404: %d %s", code, body)
	}
}

var tsRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)

func TestIssueShapesV2V3AndTimestamps(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 100, TZ: "Europe/Berlin"})
	c := client(t, s)
	id := tailIssue(100)
	var v3, v2 obj
	c.get("/rest/api/3/issue/"+id, &v3)
	c.get("/rest/api/2/issue/"+id, &v2)
	c3 := arr(v3["fields"].(obj)["comment"].(obj)["comments"])[0].(obj)
	c2 := arr(v2["fields"].(obj)["comment"].(obj)["comments"])[0].(obj)
	if _, ok := c3["body"].(obj); !ok || c3["body"].(obj)["type"] != "doc" {
		t.Fatalf("v3 comment body must be ADF: %v", c3["body"])
	}
	if _, ok := c2["body"].(string); !ok {
		t.Fatalf("v2 comment body must be a string: %v", c2["body"])
	}
	f := v3["fields"].(obj)
	for _, k := range []string{"created", "updated"} {
		if !tsRe.MatchString(str(f[k])) {
			t.Fatalf("%s = %q", k, f[k])
		}
	}
	if !strings.HasSuffix(str(f["created"]), "+0100") && !strings.HasSuffix(str(f["created"]), "+0200") {
		t.Fatalf("created not in Europe/Berlin: %v", f["created"])
	}
	if f["lastViewed"] != nil || f["security"] != nil {
		t.Fatal("unset fields must be present as null")
	}
	if _, ok := f["lastViewed"]; !ok {
		t.Fatal("unset fields must be present")
	}
	custom := 0
	for k := range f {
		if strings.HasPrefix(k, "customfield_") {
			custom++
		}
	}
	if custom < 20 {
		t.Fatalf("%d custom fields", custom)
	}
	u := f["reporter"].(obj)
	if u["accountId"] == nil || u["name"] != nil {
		t.Fatalf("cloud user %v", u)
	}

	dc, _ := startSim(t, Options{Issues: 100, Flavor: FlavorDataCenter})
	var d obj
	client(t, dc).get("/rest/api/2/issue/"+id, &d)
	du := d["fields"].(obj)["reporter"].(obj)
	if du["name"] == nil || du["key"] == nil || du["accountId"] != nil {
		t.Fatalf("DC user %v", du)
	}
	if n := len(arr(d["fields"].(obj)["comment"].(obj)["comments"])); n != 250 {
		t.Fatalf("DC returns all embedded comments, got %d", n)
	}
	if sp := arr(d["fields"].(obj)["customfield_10020"]); len(sp) > 0 {
		if _, ok := sp[0].(string); !ok {
			t.Fatalf("DC sprint field is a string: %v", sp[0])
		}
	}
}

func TestCatalogueEndpoints(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 50})
	c := client(t, s)
	var p obj
	c.get("/rest/api/3/project/search?maxResults=1000", &p)
	if num(p["maxResults"]) != 100 {
		t.Fatalf("project/search maxResults clamp: %v", p["maxResults"])
	}
	c.get("/rest/api/3/project/search?maxResults=2&startAt=1", &p)
	if num(p["startAt"]) != 1 || !strings.HasPrefix(str(p["self"]), s.URL()) || !strings.Contains(str(p["nextPage"]), "startAt=3") {
		t.Fatalf("page bean %v", p)
	}
	var users []obj
	c.get("/rest/api/3/users/search?maxResults=1000", &users)
	inactive, apps := 0, 0
	for _, u := range users {
		if u["active"] == false {
			inactive++
		}
		if u["accountType"] == "app" {
			apps++
		}
	}
	if inactive == 0 || apps == 0 {
		t.Fatalf("users: %d inactive, %d app", inactive, apps)
	}
	c.get("/rest/api/3/users/search?startAt=1000", &users)
	if len(users) != 0 {
		t.Fatal("users/search past the end must be an empty array")
	}
	c.json("GET", "/rest/api/3/user/search", nil, 400, nil)
	var found []obj
	c.get("/rest/api/3/user/search?query=sim", &found)
	if len(found) != 1 || found[0]["displayName"] != "Sim Admin" {
		t.Fatalf("user/search %v", found)
	}
	c.get("/rest/api/3/group/member?groupname=site-admins", &p)
	if num(p["total"]) != 1 {
		t.Fatalf("group/member %v", p)
	}
	var fields []obj
	c.get("/rest/api/3/field", &fields)
	types := map[string]bool{}
	for _, f := range fields {
		if f["custom"] == true {
			types[str(f["schema"].(obj)["custom"])] = true
		}
	}
	for _, want := range []string{"float", "textarea", "textfield", "datepicker", "datetime", "select", "multiselect", "userpicker", "multiuserpicker", "labels", "url", "cascadingselect", "gh-sprint", "gh-epic-link", "jsw-story-points"} {
		ok := false
		for ty := range types {
			if strings.HasSuffix(ty, ":"+want) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no custom field of type %s", want)
		}
	}
	custom := pagedValues(t, c, "/rest/api/3/field/search?type=custom&maxResults=7")
	if len(custom) != len(customFields) {
		t.Fatalf("field/search type=custom: %d", len(custom))
	}
	var proj obj
	c.get("/rest/api/3/project/ALPHA", &proj)
	if proj["lead"] == nil || len(arr(proj["versions"])) == 0 {
		t.Fatal("project detail")
	}
	c.json("GET", "/rest/api/3/project/NOPE", nil, 404, nil)
}

func atoi(t *testing.T, v any) int {
	t.Helper()
	n, err := strconv.Atoi(str(v))
	if err != nil {
		t.Fatalf("not a numeric string id: %v", v)
	}
	return n
}

func parseTS(t *testing.T, v any) int64 {
	t.Helper()
	tm, err := time.Parse("2006-01-02T15:04:05.000-0700", str(v))
	if err != nil {
		t.Fatalf("timestamp %v: %v", v, err)
	}
	return tm.UnixMilli()
}

func TestIssueBulkFetchAndCommentList(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 100})
	c := client(t, s)
	var res obj
	c.json("POST", "/rest/api/3/issue/bulkfetch", obj{"issueIdsOrKeys": []string{"10050", "10003", "NOPE-1", "10003"}, "fields": []string{"summary"}}, 200, &res)
	is := arr(res["issues"])
	if len(is) != 2 || str(is[0].(obj)["id"]) != "10003" || str(is[1].(obj)["id"]) != "10050" {
		t.Fatalf("bulkfetch: %v", res)
	}
	if len(arr(res["issueErrors"])) != 0 {
		t.Fatal("issueErrors")
	}
	many := make([]string, 101)
	for k := range many {
		many[k] = fmt.Sprint(issueIDBase + k%100)
	}
	c.json("POST", "/rest/api/3/issue/bulkfetch", obj{"issueIdsOrKeys": many}, 400, nil)
	var cl obj
	c.json("POST", "/rest/api/3/comment/list", obj{"ids": []int{commentIDBase + 5, commentIDBase + 6, 99999999}}, 200, &cl)
	if num(cl["total"]) != 2 || len(arr(cl["values"])) != 2 || cl["isLast"] != true {
		t.Fatalf("comment/list: %v", cl)
	}
	c.json("POST", "/rest/api/3/comment/list", obj{"ids": []int{}}, 400, nil)
}

// TestDescriptionHistoryValues: on Cloud a description change's from and
// to are ARI strings of the field's value, its text in fromString and
// toString (jira-api.md §4.3, a real capture); Data Center has no ARIs.
func TestDescriptionHistoryValues(t *testing.T) {
	for _, flavor := range []string{FlavorCloud, FlavorDataCenter} {
		t.Run(flavor, func(t *testing.T) {
			s, _ := startSim(t, Options{Issues: 100, Seed: 1, Flavor: flavor})
			c := client(t, s)
			api := "/rest/api/3"
			if flavor == FlavorDataCenter {
				api = "/rest/api/2"
			}
			seen := 0
			for i := range s.data.recs {
				id := strconv.FormatInt(s.data.issueID(int32(i)), 10)
				var is obj
				c.get(api+"/issue/"+id+"?fields=id&expand=changelog", &is)
				for _, h := range arr(is["changelog"].(obj)["histories"]) {
					for _, it := range arr(h.(obj)["items"]) {
						m := it.(obj)
						if str(m["fieldId"]) != "description" {
							continue
						}
						seen++
						want := ""
						if flavor == FlavorCloud {
							want = `{"id":"ari:cloud:jira:` + s.CloudID() + `:issuefieldvalue/` + id + `/description","version":"1"}`
						}
						if str(m["from"]) != want || str(m["to"]) != want || str(m["toString"]) == "" {
							t.Fatalf("issue %s: description item %s, want from and to %q and a toString", id, mustJSON(t, m), want)
						}
					}
				}
				if seen >= 3 {
					return
				}
			}
			t.Fatalf("only %d description changes in the dataset", seen)
		})
	}
}
