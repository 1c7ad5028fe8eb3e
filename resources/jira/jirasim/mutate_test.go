package jirasim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMutations(t *testing.T) {
	s, clk := startSim(t, Options{Issues: 300, Seed: 9})
	c := client(t, s)
	before := s.Expected(zeroTime).Tables
	clk.Advance(time.Hour)
	at := clk.Now()
	res, err := s.Mutate(Mutation{Update: 4, Comment: 3, Worklog: 2, DeleteIssues: 2, DeleteWorklogs: 2, MoveIssues: 1, AddCustomField: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated) != 4 || len(res.Commented) != 3 || len(res.Worklogged) != 2 || len(res.DeletedIssues) != 2 ||
		len(res.DeletedWorklogs) != 2 || len(res.Moved) != 1 || len(res.AddedFields) != 1 || res.AtMillis != at.UnixMilli() {
		t.Fatalf("result %+v", res)
	}
	after := s.Expected(zeroTime).Tables
	if after["issues"] != before["issues"]-2 || after["fields"] != before["fields"]+1 {
		t.Fatalf("issues %d→%d fields %d→%d", before["issues"], after["issues"], before["fields"], after["fields"])
	}
	// Everything touched is visible through updated >= at.
	since := s.Expected(at).Tables["issues"]
	if since == 0 || since > 12 {
		t.Fatalf("%d issues updated since the mutation", since)
	}
	var page obj
	c.get("/rest/api/3/search/jql?jql=updated+>%3D+"+strconv.FormatInt(at.UnixMilli(), 10)+"&fields=updated", &page)
	if int64(len(arr(page["issues"]))) != since {
		t.Fatalf("search since mutation: %d, expected %d", len(arr(page["issues"])), since)
	}
	// Deleted issues are gone; moved issues answer under old and new key.
	if code, _, _ := c.do("GET", "/rest/api/3/issue/"+res.DeletedIssueIDs[0], nil); code != 404 {
		t.Fatalf("deleted issue: %d", code)
	}
	var moved obj
	c.get("/rest/api/3/issue/"+res.Moved[0][0]+"?expand=changelog", &moved)
	if moved["key"] != res.Moved[0][1] {
		t.Fatalf("old key resolves to %v, want %s", moved["key"], res.Moved[0][1])
	}
	hs := arr(moved["changelog"].(obj)["histories"])
	last := hs[0].(obj)
	if str(arr(last["items"])[1].(obj)["toString"]) != res.Moved[0][1] {
		t.Fatalf("move history %v", last)
	}
	// Worklog feeds honour the last-minute rule.
	var del obj
	c.get("/rest/api/3/worklog/deleted?since="+strconv.FormatInt(at.UnixMilli(), 10), &del)
	if len(arr(del["values"])) != 0 {
		t.Fatal("deletions within the last minute must not be listed")
	}
	clk.Advance(61 * time.Second)
	c.get("/rest/api/3/worklog/deleted?since="+strconv.FormatInt(at.UnixMilli(), 10), &del)
	if len(arr(del["values"])) < 2 || del["lastPage"] != true || num(del["until"]) != int(at.UnixMilli()) {
		t.Fatalf("deleted feed %v", del)
	}
	var upd obj
	c.get("/rest/api/3/worklog/updated?since="+strconv.FormatInt(at.UnixMilli(), 10), &upd)
	if len(arr(upd["values"])) != 2 {
		t.Fatalf("updated feed lists %d new worklogs", len(arr(upd["values"])))
	}
	// The added custom field is listed.
	var fields []obj
	c.get("/rest/api/3/field", &fields)
	if str(fields[len(fields)-1]["id"]) != res.AddedFields[0] {
		t.Fatal("added field missing from /field")
	}
	// Over HTTP, same semantics, bad input refused.
	var hres MutationResult
	c.json("POST", "/_sim/mutate", obj{"comment": 1}, 200, &hres)
	if len(hres.Commented) != 1 {
		t.Fatal("HTTP mutate")
	}
	c.json("POST", "/_sim/mutate", obj{"explode": 1}, 400, nil)
	c.json("POST", "/_sim/mutate", obj{"update": -1}, 400, nil)
}

func TestMutationsAreDeterministic(t *testing.T) {
	run := func() string {
		s, _ := startSim(t, Options{Issues: 200, Seed: 4})
		var out []string
		for k := 0; k < 3; k++ {
			res, err := s.Mutate(Mutation{Update: 3, Comment: 2, MoveIssues: 1, DeleteIssues: 1, DeleteWorklogs: 1})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(res.Updated, ","), strings.Join(res.DeletedIssues, ","), res.Moved[0][1])
		}
		return strings.Join(out, ";")
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("mutation sequences differ:\n%s\n%s", a, b)
	}
}

func TestWorklogFeedPaging(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 1500, Seed: 2})
	c := client(t, s)
	want := s.Expected(zeroTime).Tables["worklogs"]
	if want <= 1000 {
		t.Fatalf("need more than one page of worklogs, have %d", want)
	}
	ids := map[int]bool{}
	next := "/rest/api/3/worklog/updated?since=0"
	pages := 0
	for {
		var p obj
		c.get(next, &p)
		pages++
		vals := arr(p["values"])
		if len(vals) > 1000 {
			t.Fatalf("page of %d", len(vals))
		}
		prev := 0
		for _, v := range vals {
			m := v.(obj)
			if num(m["updatedTime"]) < prev {
				t.Fatal("values not oldest first")
			}
			prev = num(m["updatedTime"])
			ids[num(m["worklogId"])] = true
		}
		if len(vals) > 0 && num(p["until"]) != prev {
			t.Fatal("until must be the youngest updatedTime on the page")
		}
		if len(vals) > 0 && num(p["since"]) != num(vals[0].(obj)["updatedTime"]) {
			t.Fatal("since must be the oldest updatedTime on the page")
		}
		// Jira's example has nextPage on the last page too: clients stop at
		// lastPage, not at a missing nextPage.
		next = str(p["nextPage"])
		if next == "" {
			t.Fatal("page without nextPage")
		}
		if p["lastPage"] == true {
			break
		}
		if !strings.Contains(next, "since="+strconv.Itoa(num(p["until"]))) {
			t.Fatalf("nextPage %s", next)
		}
	}
	if int64(len(ids)) != want || pages < 2 {
		t.Fatalf("feed served %d worklogs in %d pages, want %d", len(ids), pages, want)
	}
	c.json("POST", "/rest/api/3/worklog/list", obj{"ids": []int{}}, 400, nil)
}

// Readers and mutations run concurrently without races (run with -race).
func TestConcurrentReadsAndMutations(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 300})
	done := make(chan struct{})
	errs := make(chan string, 16)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for k := 0; k < 3; k++ {
				for _, p := range []string{"/rest/api/3/search/jql?jql=created%3E%3D0&fields=*all&maxResults=20", "/rest/api/3/worklog/updated?since=0", "/_sim/expected", "/rest/agile/1.0/board/1/issue"} {
					req, _ := http.NewRequest("GET", s.URL()+p, nil)
					req.Header.Set("Authorization", s.AuthHeader())
					resp, err := s.Client().Do(req)
					if err != nil {
						errs <- err.Error()
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						errs <- p + ": " + resp.Status
						return
					}
				}
			}
		}()
	}
	for k := 0; k < 5; k++ {
		if _, err := s.Mutate(Mutation{Update: 2, Comment: 2, Worklog: 1, DeleteWorklogs: 1, MoveIssues: 1, DeleteIssues: 1, AddCustomField: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestIndexLag: with IndexLag, JQL does not see a change until the index
// has caught up (it matches the issue by its updated of before), while
// reading the issue by key shows the change at once.
func TestIndexLag(t *testing.T) {
	s, clk := startSim(t, Options{Issues: 200, Seed: 4, IndexLag: 2 * time.Minute})
	c := client(t, s)
	clk.Advance(time.Hour)
	at := clk.Now()
	res, err := s.Mutate(Mutation{Update: 3})
	if err != nil {
		t.Fatal(err)
	}
	since := func() int {
		var page obj
		c.get("/rest/api/3/search/jql?jql=updated+>%3D+"+strconv.FormatInt(at.UnixMilli(), 10)+"+order+by+updated&fields=updated", &page)
		return len(arr(page["issues"]))
	}
	if n := since(); n != 0 {
		t.Fatalf("%d changed issues found before the index caught up", n)
	}
	var is obj
	c.get("/rest/api/3/issue/"+res.Updated[0]+"?fields=updated", &is)
	if got := parseTS(t, is["fields"].(obj)["updated"]); got < at.UnixMilli() {
		t.Fatalf("issue read by key has updated %d, before the change at %d", got, at.UnixMilli())
	}
	// The changes are indexed after 2 minutes, 12 s and 2 minutes.
	clk.Advance(time.Minute)
	if n := since(); n != 1 {
		t.Fatalf("%d changed issues found one minute in, want the one indexed after 12 s", n)
	}
	clk.Advance(time.Minute + time.Second)
	if n := since(); n != 3 {
		t.Fatalf("%d changed issues found after the lag, want 3", n)
	}
}

// TestRoleRestrictedComments: comments restricted to a project role are
// hidden from a user without the role (the restricted user), in the
// comment endpoint, the embedded collection and their totals.
func TestRoleRestrictedComments(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 300, Seed: 5})
	admin := client(t, s)
	rest := client(t, s)
	rest.auth = s.RestrictedAuthHeader()
	d := s.data
	for i := range d.recs {
		ii := int32(i)
		if !d.visibleIssue(ii, asRestricted) || len(d.comments(ii)) > 100 {
			continue
		}
		hidden := len(d.comments(ii)) - len(d.visibleComments(ii, asRestricted))
		if hidden == 0 {
			continue
		}
		id := strconv.FormatInt(d.issueID(ii), 10)
		var a, r obj
		admin.get("/rest/api/3/issue/"+id+"/comment", &a)
		rest.get("/rest/api/3/issue/"+id+"/comment", &r)
		if num(a["total"])-num(r["total"]) != hidden || len(arr(a["comments"]))-len(arr(r["comments"])) != hidden {
			t.Fatalf("issue %s: admin sees %v comments, restricted %v, want %d fewer", id, a["total"], r["total"], hidden)
		}
		for _, c := range arr(r["comments"]) {
			if _, ok := c.(obj)["visibility"]; ok {
				t.Fatalf("issue %s: restricted user sees a role-restricted comment", id)
			}
		}
		var is obj
		rest.get("/rest/api/3/issue/"+id+"?fields=comment", &is)
		if cm := is["fields"].(obj)["comment"].(obj); num(cm["total"]) != num(r["total"]) {
			t.Fatalf("issue %s: embedded total %v, endpoint %v", id, cm["total"], r["total"])
		}
		return
	}
	t.Fatal("no visible issue with a role-restricted comment")
}

// TestRoleRestrictedWorklogs: worklogs restricted to a project role are
// hidden from a user without the role, as comments are: in the worklog
// endpoint, the embedded collection and their totals, and in the
// worklog/updated feed and worklog/list.
func TestRoleRestrictedWorklogs(t *testing.T) {
	s, clk := startSim(t, Options{Issues: 300, Seed: 5})
	admin := client(t, s)
	rest := client(t, s)
	rest.auth = s.RestrictedAuthHeader()
	d := s.data
	found := false
	for i := range d.recs {
		ii := int32(i)
		ws := d.worklogs(ii)
		if !d.visibleIssue(ii, asRestricted) || len(ws) > 20 {
			continue
		}
		hidden := len(ws) - len(d.visibleWorklogs(ii, asRestricted))
		if hidden == 0 {
			continue
		}
		found = true
		id := strconv.FormatInt(d.issueID(ii), 10)
		var a, r obj
		admin.get("/rest/api/3/issue/"+id+"/worklog", &a)
		rest.get("/rest/api/3/issue/"+id+"/worklog", &r)
		if num(a["total"])-num(r["total"]) != hidden || len(arr(a["worklogs"]))-len(arr(r["worklogs"])) != hidden {
			t.Fatalf("issue %s: admin sees %v worklogs, restricted %v, want %d fewer", id, a["total"], r["total"], hidden)
		}
		restricted := 0
		for _, w := range arr(a["worklogs"]) {
			if _, ok := w.(obj)["visibility"]; ok {
				restricted++
			}
		}
		if restricted != hidden {
			t.Fatalf("issue %s: admin sees %d worklogs with visibility, want %d", id, restricted, hidden)
		}
		for _, w := range arr(r["worklogs"]) {
			if _, ok := w.(obj)["visibility"]; ok {
				t.Fatalf("issue %s: restricted user sees a role-restricted worklog", id)
			}
		}
		var is obj
		rest.get("/rest/api/3/issue/"+id+"?fields=worklog", &is)
		if wl := is["fields"].(obj)["worklog"].(obj); num(wl["total"]) != num(r["total"]) {
			t.Fatalf("issue %s: embedded total %v, endpoint %v", id, wl["total"], r["total"])
		}
		break
	}
	if !found {
		t.Fatal("no visible issue with a role-restricted worklog")
	}
	// The feed and worklog/list: the restricted user's ids are the
	// admin's minus the restricted worklogs of the projects it sees.
	clk.Advance(2 * time.Minute) // the feed leaves out the last minute
	feed := func(c *apiClient) map[int]bool {
		ids := map[int]bool{}
		for since := 0; ; {
			var p obj
			c.get("/rest/api/3/worklog/updated?since="+strconv.Itoa(since), &p)
			for _, v := range arr(p["values"]) {
				ids[num(v.(obj)["worklogId"])] = true
			}
			if p["lastPage"] == true {
				return ids
			}
			since = num(p["until"])
		}
	}
	all, seen := feed(admin), feed(rest)
	want := 0
	for i := range d.recs {
		if d.visibleIssue(int32(i), asRestricted) {
			want += len(d.visibleWorklogs(int32(i), asRestricted))
		}
	}
	if len(seen) != want || len(seen) >= len(all) {
		t.Fatalf("worklog/updated: restricted user sees %d worklogs (admin %d), want %d", len(seen), len(all), want)
	}
	hiddenID := 0
	for id := range all {
		i, ok := d.findWorklog(int64(id))
		if ok && d.visibleIssue(i, asRestricted) && !seen[id] {
			hiddenID = id
			break
		}
	}
	if hiddenID == 0 {
		t.Fatal("no worklog of a visible issue is hidden from the feed")
	}
	var listed []any
	rest.json("POST", "/rest/api/3/worklog/list", obj{"ids": []int{hiddenID}}, 200, &listed)
	if len(listed) != 0 {
		t.Fatalf("worklog/list gave the restricted user worklog %v", hiddenID)
	}
}

// TestGetUser: GET user finds one user by accountId (Cloud) or by
// username or key (Data Center), case-insensitively by username, and
// answers 404 for none and 400 without a parameter.
func TestGetUser(t *testing.T) {
	cloud, _ := startSim(t, Options{Issues: 10})
	dc, _ := startSim(t, Options{Issues: 10, Flavor: FlavorDataCenter})
	u := cloud.data.cat.users[5]
	d := dc.data.cat.users[5]
	for _, tc := range []struct {
		name  string
		s     *Server
		path  string
		want  int
		shown string // the user's displayName when found
	}{
		{"cloud by accountId", cloud, "/rest/api/3/user?accountId=" + u.AccountID, 200, u.DisplayName},
		{"cloud unknown", cloud, "/rest/api/3/user?accountId=nope", 404, ""},
		{"cloud without accountId", cloud, "/rest/api/3/user", 400, ""},
		{"dc by username", dc, "/rest/api/2/user?username=" + strings.ToUpper(d.Name), 200, d.DisplayName},
		{"dc by key", dc, "/rest/api/2/user?key=" + d.Key, 200, d.DisplayName},
		{"dc unknown", dc, "/rest/api/2/user?username=nobody", 404, ""},
		{"dc without a parameter", dc, "/rest/api/2/user", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out obj
			client(t, tc.s).json("GET", tc.path, nil, tc.want, &out)
			if tc.want == 200 && out["displayName"] != tc.shown {
				t.Fatalf("got %v, want %s", out["displayName"], tc.shown)
			}
			if tc.want != 200 && len(arr(out["errorMessages"])) == 0 {
				t.Fatalf("no errorMessages: %v", out)
			}
		})
	}
}
