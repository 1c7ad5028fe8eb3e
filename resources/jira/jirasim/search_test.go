package jirasim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSearchJQLCursorPaging(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 300})
	c := client(t, s)
	q := url.Values{"jql": {"project in (ALPHA, BETA, OPS, HELP, DATA, MKT) ORDER BY key ASC"}, "maxResults": {"40"}}
	seen := map[string]bool{}
	pages := 0
	for {
		var page obj
		c.get("/rest/api/3/search/jql?"+q.Encode(), &page)
		pages++
		for _, k := range []string{"total", "startAt", "maxResults"} {
			if _, has := page[k]; has {
				t.Fatalf("search/jql page carries %q", k)
			}
		}
		for _, is := range arr(page["issues"]) {
			m := is.(obj)
			if len(m["fields"].(obj)) != 0 {
				t.Fatalf("default fields must be id only, got %v", m["fields"])
			}
			if seen[str(m["id"])] {
				t.Fatalf("issue %s twice", m["id"])
			}
			seen[str(m["id"])] = true
		}
		if page["isLast"] == true {
			if _, has := page["nextPageToken"]; has {
				t.Fatal("last page has nextPageToken")
			}
			break
		}
		q.Set("nextPageToken", str(page["nextPageToken"]))
	}
	if want := s.Expected(zeroTime).Tables["issues"]; int64(len(seen)) != want || pages != int((want+39)/40) {
		t.Fatalf("visited %d issues in %d pages, want %d", len(seen), pages, want)
	}
}

func TestSearchJQLValidation(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 200})
	c := client(t, s)
	var first obj
	c.get("/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=2", &first)
	tok := str(first["nextPageToken"])
	tests := []struct {
		name, method, path string
		body               any
		contentType        string
		want               int
		wantBody           string
	}{
		{"unbounded", "GET", "/rest/api/3/search/jql?jql=order+by+key+desc", nil, "", 400, msgUnbounded},
		{"empty jql", "GET", "/rest/api/3/search/jql", nil, "", 400, msgUnbounded},
		{"maxResults 0", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=0", nil, "", 400, "between 1 and 5000"},
		{"maxResults 5001", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=5001", nil, "", 400, "between 1 and 5000"},
		{"maxResults 5000", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=5000", nil, "", 200, `"isLast":true`},
		{"malformed token", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&nextPageToken=zzz", nil, "", 400, "next page token"},
		{"numeric token", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&nextPageToken=12", nil, "", 400, "next page token"},
		{"token bound to query", "GET", "/rest/api/3/search/jql?jql=project%3DBETA&maxResults=2&nextPageToken=" + tok, nil, "", 400, "next page token"},
		{"token ok", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=2&nextPageToken=" + tok, nil, "", 200, `"issues"`},
		{"empty token is page one", "GET", "/rest/api/3/search/jql?jql=project%3DALPHA&maxResults=2&nextPageToken=", nil, "", 200, str(arr(first["issues"])[0].(obj)["id"])},
		{"bad jql field", "GET", "/rest/api/3/search/jql?jql=summary~foo", nil, "", 400, "errorMessages"},
		{"unknown project", "GET", "/rest/api/3/search/jql?jql=project%3DXYZ", nil, "", 400, "The value 'XYZ' does not exist for the field 'project'."},
		{"post without content type", "POST", "/rest/api/3/search/jql", nil, "", 415, "Content-Type 'null' is not supported."},
		{"post unknown property", "POST", "/rest/api/3/search/jql", obj{"jql": "project = ALPHA", "bogus": 1}, "application/json", 400, "errorMessages"},
		{"post wrong type", "POST", "/rest/api/3/search/jql", obj{"jql": "project = ALPHA", "maxResults": "abc"}, "application/json", 400, "errorMessages"},
		{"post null token", "POST", "/rest/api/3/search/jql?jql=garbage", obj{"jql": "project = ALPHA", "nextPageToken": nil}, "application/json", 200, `"issues"`},
		{"legacy search gone", "GET", "/rest/api/3/search?jql=project%3DALPHA", nil, "", 410, "CHANGE-2046"},
		{"legacy search gone v2", "POST", "/rest/api/2/search", obj{"jql": "project = ALPHA"}, "application/json", 410, "CHANGE-2046"},
		{"legacy search gone latest", "GET", "/rest/api/latest/search?jql=project%3DALPHA", nil, "", 410, "CHANGE-2046"},
		{"search/id gone", "POST", "/rest/api/3/search/id", obj{"jql": "project = ALPHA"}, "application/json", 410, "CHANGE-2046"},
		{"approximate count unbounded", "POST", "/rest/api/3/search/approximate-count", obj{"jql": ""}, "application/json", 400, msgUnbounded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, s.URL()+tc.path, nil)
			if tc.body != nil {
				req, _ = http.NewRequest(tc.method, s.URL()+tc.path, strings.NewReader(mustJSON(t, tc.body)))
			}
			req.Header.Set("Authorization", s.AuthHeader())
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b := readAll(t, resp)
			if resp.StatusCode != tc.want || !strings.Contains(b, tc.wantBody) {
				t.Fatalf("got %d %s, want %d containing %q", resp.StatusCode, truncate([]byte(b)), tc.want, tc.wantBody)
			}
		})
	}
}

func TestSearchJQLShrinksHeavyPages(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 300})
	c := client(t, s)
	var light, heavy obj
	c.get("/rest/api/3/search/jql?jql=created+>%3D+0&maxResults=250&fields=id,key", &light)
	c.get("/rest/api/3/search/jql?jql=created+>%3D+0&maxResults=250&fields=*all", &heavy)
	if n := len(arr(light["issues"])); n != 250 {
		t.Fatalf("fields=id,key: %d issues, want 250", n)
	}
	if n := len(arr(heavy["issues"])); n != 100 {
		t.Fatalf("fields=*all: %d issues, want the shrunk page of 100", n)
	}
	if heavy["isLast"] != false {
		t.Fatal("shrunk page must not be last")
	}
	var count obj
	c.json("POST", "/rest/api/3/search/approximate-count", obj{"jql": "created >= 0"}, 200, &count)
	if num(count["count"]) != 300 {
		t.Fatalf("approximate count %v", count)
	}
}

func TestSearchJQLNamesSchemaAndFieldSelection(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 50})
	c := client(t, s)
	var page obj
	c.get("/rest/api/3/search/jql?jql=created>%3D0&maxResults=3&fields=summary,status,-status,customfield_10020&expand=names,schema", &page)
	names := page["names"].(obj)
	if _, ok := names["summary"]; !ok || len(names) != 2 {
		t.Fatalf("names %v", names)
	}
	if _, ok := page["schema"].(obj)["customfield_10020"]; !ok {
		t.Fatal("schema lacks the sprint field")
	}
	f := arr(page["issues"])[0].(obj)["fields"].(obj)
	if _, ok := f["status"]; ok {
		t.Fatal("-status must exclude status")
	}
	if _, ok := f["summary"]; !ok {
		t.Fatal("summary missing")
	}

	// Only exclusions: the default fields less those (search: navigable;
	// GET issue: all).
	for _, tc := range []struct{ path, kept string }{
		{"/rest/api/3/search/jql?jql=created>%3D0&maxResults=1&fields=-description", "summary"},
		{"/rest/api/3/issue/" + str(arr(page["issues"])[0].(obj)["id"]) + "?fields=-description", "summary"},
	} {
		var is obj
		if strings.Contains(tc.path, "search") {
			var p obj
			c.get(tc.path, &p)
			is = arr(p["issues"])[0].(obj)
		} else {
			c.get(tc.path, &is)
		}
		f := is["fields"].(obj)
		if _, ok := f["description"]; ok {
			t.Errorf("%s: description not excluded", tc.path)
		}
		if _, ok := f[tc.kept]; !ok || len(f) < 10 {
			t.Errorf("%s: %d fields, %s missing: want the default fields but description", tc.path, len(f), tc.kept)
		}
	}
}

func TestLegacySearchDataCenter(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 1200, Flavor: FlavorDataCenter})
	c := client(t, s)
	var page obj
	c.get("/rest/api/2/search?jql=&maxResults=5000&fields=key", &page)
	if num(page["maxResults"]) != 1000 || num(page["total"]) != 1200 || len(arr(page["issues"])) != 1000 || num(page["startAt"]) != 0 {
		t.Fatalf("page: maxResults=%v total=%v issues=%d", page["maxResults"], page["total"], len(arr(page["issues"])))
	}
	c.get("/rest/api/2/search?jql=project%3DALPHA&startAt=5&maxResults=3", &page)
	if num(page["startAt"]) != 5 || len(arr(page["issues"])) != 3 || str(page["expand"]) != "schema,names" {
		t.Fatalf("page %v", page)
	}
	c.json("POST", "/rest/api/2/search", obj{"jql": "project = ALPHA", "startAt": 0, "maxResults": 2, "fields": []string{"summary"}}, 200, &page)
	if len(arr(page["issues"])) != 2 {
		t.Fatal("POST search")
	}
	var latest []any
	c.get("/rest/api/latest/field", &latest)
	if len(latest) == 0 {
		t.Fatal("DC /rest/api/latest")
	}
	for _, p := range []string{"/rest/api/2/search/jql?jql=project%3DALPHA", "/rest/api/3/myself", "/rest/api/2/issue/10001/changelog"} {
		if code, _, _ := c.do("GET", p, nil); code != 404 {
			t.Errorf("DC %s: %d, want 404", p, code)
		}
	}
}
