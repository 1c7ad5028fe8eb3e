package jirasim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	cloud, _ := startSim(t, Options{Issues: 20, Email: "me@x.io", Token: "tok"})
	dc, _ := startSim(t, Options{Issues: 20, Flavor: FlavorDataCenter, PAT: "pat-1"})
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	for _, tc := range []struct {
		name   string
		s      *Server
		path   string
		auth   string
		accept string
		want   int
		body   string
	}{
		{"cloud none", cloud, "/rest/api/3/myself", "", "", 401, `{"message":"Client must be authenticated to access this resource.","status-code":401}`},
		{"cloud wrong token", cloud, "/rest/api/3/myself", basic("me@x.io", "nope"), "", 401, `"status-code":401`},
		{"cloud xml", cloud, "/rest/api/3/myself", "", "application/xml", 401, "<status><status-code>401</status-code>"},
		{"cloud bearer refused", cloud, "/rest/api/3/myself", "Bearer tok", "", 401, "status-code"},
		{"cloud ok", cloud, "/rest/api/3/myself", basic("me@x.io", "tok"), "", 200, `"emailAddress":"me@x.io"`},
		{"cloud restricted", cloud, "/rest/api/3/myself", basic(RestrictedEmail, RestrictedToken), "", 200, "Rita Restricted"},
		{"dc pat", dc, "/rest/api/2/myself", "Bearer pat-1", "", 200, `"name":"admin"`},
		{"dc restricted pat", dc, "/rest/api/2/myself", "Bearer " + RestrictedPAT, "", 200, `"name":"restricted"`},
		{"dc basic refused", dc, "/rest/api/2/myself", basic("admin", "pat-1"), "", 401, "status-code"},
		{"sim needs no auth", cloud, "/_sim/expected", "", "", 200, `"tables"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", tc.s.URL()+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := tc.s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b := readAll(t, resp)
			if resp.StatusCode != tc.want || !strings.Contains(b, tc.body) {
				t.Fatalf("got %d %s", resp.StatusCode, b)
			}
		})
	}
	// The restricted user sees fewer projects and cannot read others' issues.
	c := client(t, cloud)
	c.auth = cloud.RestrictedAuthHeader()
	var ps obj
	c.get("/rest/api/3/project/search", &ps)
	if num(ps["total"]) != 3 {
		t.Fatalf("restricted sees %v projects", ps["total"])
	}
	var page obj
	client(t, cloud).get("/rest/api/3/search/jql?jql=project%3DBETA&maxResults=1", &page)
	id := str(arr(page["issues"])[0].(obj)["id"])
	if code, _, _ := c.do("GET", "/rest/api/3/issue/"+id, nil); code != 404 {
		t.Fatalf("restricted user read a BETA issue: %d", code)
	}
}

// TestRateLimit: Jira Cloud limits each endpoint (burst limits, with a
// reason and a reset time); Data Center limits each user across endpoints,
// with its own headers on every answer and none of Cloud's.
func TestRateLimit(t *testing.T) {
	for _, flavor := range []string{FlavorCloud, FlavorDataCenter} {
		t.Run(flavor, func(t *testing.T) {
			dc := flavor == FlavorDataCenter
			// A tiny rate: the bucket holds one token and refills in ~17 minutes,
			// so the outcome does not depend on timing.
			s, _ := startSim(t, Options{Issues: 10, Flavor: flavor, Rate: 0.001})
			c := client(t, s)
			code, h, _ := c.do("GET", "/rest/api/2/serverInfo", nil)
			if code != 200 || h.Get("X-RateLimit-Limit") == "" || h.Get("X-RateLimit-Remaining") != "0" {
				t.Fatalf("first: %d %v", code, h)
			}
			if dc && (h.Get("Retry-After") != "0" || h.Get("X-RateLimit-FillRate") == "" || h.Get("X-RateLimit-Interval-Seconds") != "1") {
				t.Errorf("Data Center answer without its rate-limit headers: %v", h)
			}
			code, h, body := c.do("GET", "/rest/api/2/serverInfo", nil)
			if code != 429 {
				t.Fatalf("second: %d", code)
			}
			want := []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Reason"}
			if dc {
				want = []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-FillRate", "X-RateLimit-Interval-Seconds"}
				for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reason"} {
					if v := h.Get(k); v != "" {
						t.Errorf("Data Center 429 with Cloud's %s: %q", k, v)
					}
				}
			}
			for _, k := range want {
				if h.Get(k) == "" {
					t.Errorf("429 lacks %s", k)
				}
			}
			if !dc {
				if h.Get("RateLimit-Reason") != "jira-burst-based" {
					t.Errorf("reason %q", h.Get("RateLimit-Reason"))
				}
				if _, err := time.Parse("2006-01-02T15:04:05Z", h.Get("X-RateLimit-Reset")); err != nil {
					t.Errorf("reset %q: %v", h.Get("X-RateLimit-Reset"), err)
				}
			}
			wantBody := "The request has been rate-limited"
			if dc {
				wantBody = "Rate limit exceeded."
			}
			if !strings.Contains(string(body), wantBody) {
				t.Errorf("body %s", body)
			}
			// Cloud: buckets are per endpoint. Data Center: the user's one
			// bucket covers every endpoint. /_sim is never limited.
			wantOther := 200
			if dc {
				wantOther = 429
			}
			if code, _, _ := c.do("GET", "/rest/api/2/field", nil); code != wantOther {
				t.Errorf("another endpoint: %d, want %d", code, wantOther)
			}
			for k := 0; k < 3; k++ {
				if code, _, _ := c.do("GET", "/_sim/stats", nil); code != 200 {
					t.Errorf("_sim limited: %d", code)
				}
			}
		})
	}
}

// TestMaxConcurrent: beyond MaxConcurrent requests in flight (the latency
// counts), a Jira request gets 429 with the concurrency reason; once they
// are answered, requests pass again.
func TestMaxConcurrent(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 10, Rate: -1, MaxConcurrent: 2, Latency: time.Second})
	c := client(t, s)
	type answer struct {
		code int
		h    http.Header
	}
	answers := make(chan answer, 5)
	for range 5 {
		go func() {
			code, h, _ := c.do("GET", "/rest/api/3/serverInfo", nil)
			answers <- answer{code, h}
		}()
	}
	counts := map[int]int{}
	for range 5 {
		a := <-answers
		counts[a.code]++
		if a.code == 429 && (a.h.Get("RateLimit-Reason") != ReasonConcurrent || a.h.Get("Retry-After") == "") {
			t.Errorf("429 headers %v", a.h)
		}
	}
	if counts[200] != 2 || counts[429] != 3 {
		t.Fatalf("answers by status %v, want 2 × 200 and 3 × 429", counts)
	}
	if code, _, _ := c.do("GET", "/rest/api/3/serverInfo", nil); code != 200 {
		t.Fatalf("after the others were answered: %d", code)
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	old := SlowFaultDelay
	SlowFaultDelay = time.Millisecond
	t.Cleanup(func() { SlowFaultDelay = old })
	sequence := func() []string {
		s, _ := startSim(t, Options{Issues: 10, Seed: 42, Faults: 0.6})
		// A fresh connection per request: Go's transport silently retries a
		// request whose reused connection was reset.
		tr := s.Client().Transport.(*http.Transport).Clone()
		tr.DisableKeepAlives = true
		hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		var out []string
		for k := 0; k < 60; k++ {
			req, _ := http.NewRequest("GET", s.URL()+"/rest/api/3/field", nil)
			req.Header.Set("Authorization", s.AuthHeader())
			resp, err := hc.Do(req)
			if err != nil {
				out = append(out, "reset")
				continue
			}
			b := readAll(t, resp)
			kind := resp.Header.Get("X-Jirasim-Fault")
			switch kind {
			case "", "slow":
				var v []any
				if resp.StatusCode != 200 || json.Unmarshal([]byte(b), &v) != nil {
					t.Fatalf("unfaulted or slow request broken: %d", resp.StatusCode)
				}
			case "truncated", "malformed":
				var v any
				if json.Unmarshal([]byte(b), &v) == nil {
					t.Fatalf("%s body decodes", kind)
				}
			case "503":
				if resp.Header.Get("Retry-After") == "" {
					t.Fatal("503 without Retry-After")
				}
			case "429-no-retry-after":
				if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" {
					t.Fatal("gateway 429")
				}
			}
			out = append(out, kind)
		}
		st := s.Stats()
		if st.Total != 60 {
			t.Fatalf("stats total %d", st.Total)
		}
		return out
	}
	a, b := sequence(), sequence()
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("fault sequences differ:\n%v\n%v", a, b)
	}
	kinds := map[string]bool{}
	for _, k := range a {
		kinds[k] = true
	}
	if !kinds["reset"] {
		t.Error("no connection reset reached the client")
	}
	if len(kinds) < 6 {
		t.Fatalf("too few fault kinds in 60 requests: %v", kinds)
	}
}

func TestStatsAndLatency(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 10, Latency: time.Millisecond})
	c := client(t, s)
	c.get("/rest/api/3/field", nil)
	c.get("/rest/api/3/field", nil)
	c.do("GET", "/rest/api/3/issue/NOPE-1", nil)
	c.get("/_sim/expected", nil)
	c.do("GET", "/rest/api/3/nothing/here", nil)
	var st Stats
	c.get("/_sim/stats", &st)
	if st.Endpoints["GET /rest/api/3/field"]["200"] != 2 || st.Endpoints["GET /rest/api/3/issue/{id}"]["404"] != 1 ||
		st.Endpoints["unmatched"]["404"] != 1 || st.Total != 4 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(st.String(), "GET /rest/api/3/field") {
		t.Fatal("String()")
	}
}

// TestAnonymousMode: with Anonymous, wrong or missing credentials are an
// anonymous user, as on a Cloud site with anonymous access: search answers
// 200 with nothing, catalogue endpoints answer, and myself answers 401.
// Without it they get 401 everywhere.
func TestAnonymousMode(t *testing.T) {
	for _, anonymous := range []bool{false, true} {
		s, _ := startSim(t, Options{Issues: 50, Anonymous: anonymous})
		c := client(t, s)
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte("someone@example.com:expired-token"))
		code, _, body := c.do("GET", "/rest/api/3/search/jql?jql=created>%3D0&fields=id", nil)
		if !anonymous {
			if code != http.StatusUnauthorized {
				t.Fatalf("without anonymous mode: search answered %d", code)
			}
			continue
		}
		if code != http.StatusOK || !strings.Contains(string(body), `"issues":[]`) {
			t.Fatalf("anonymous search: %d %s", code, truncate(body))
		}
		if code, _, _ := c.do("GET", "/rest/api/3/myself", nil); code != http.StatusUnauthorized {
			t.Fatalf("anonymous myself: %d, want 401", code)
		}
		var projects obj
		c.get("/rest/api/3/project/search", &projects)
		if len(arr(projects["values"])) != 0 {
			t.Fatalf("anonymous sees %d projects", len(arr(projects["values"])))
		}
		var statuses []any
		c.get("/rest/api/3/status", &statuses)
		if len(statuses) == 0 {
			t.Fatal("anonymous gets no statuses")
		}
	}
}

// TestGatewayAndBasic: a Cloud site answers through api.atlassian.com's
// gateway path for its own cloud id (which _edge/tenant_info reports) and
// 404 for another; Data Center takes basic authentication with a password.
func TestGatewayAndBasic(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 20})
	c := client(t, s)
	code, _, body := c.do("GET", "/_edge/tenant_info", nil)
	var ti obj
	if code != http.StatusOK || json.Unmarshal(body, &ti) != nil || str(ti["cloudId"]) != s.CloudID() || len(s.CloudID()) != 36 {
		t.Fatalf("tenant_info: %d %s (cloud id %q)", code, body, s.CloudID())
	}
	var me obj
	c.get("/ex/jira/"+s.CloudID()+"/rest/api/3/myself", &me)
	if str(me["accountId"]) == "" {
		t.Fatalf("myself through the gateway: %v", me)
	}
	// PageBean URLs keep the gateway's prefix (jira-api.md §11.4).
	var page obj
	base := s.URL() + "/ex/jira/" + s.CloudID() + "/rest/api/3/project/search?"
	c.get("/ex/jira/"+s.CloudID()+"/rest/api/3/project/search?maxResults=2", &page)
	for _, k := range []string{"self", "nextPage"} {
		if u := str(page[k]); !strings.HasPrefix(u, base) {
			t.Errorf("project/search through the gateway: %s = %q, want it under %q", k, u, base)
		}
	}
	if code, _, _ := c.do("GET", "/ex/jira/00000000-0000-4000-8000-000000000000/rest/api/3/myself", nil); code != http.StatusNotFound {
		t.Fatalf("another cloud id: %d, want 404", code)
	}

	dc, _ := startSim(t, Options{Issues: 20, Flavor: FlavorDataCenter})
	b := client(t, dc)
	b.auth = dc.BasicAuthHeader()
	var dme obj
	b.get("/rest/api/2/myself", &dme)
	if str(dme["name"]) == "" {
		t.Fatalf("DC myself with basic auth: %v", dme)
	}
	b.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(DefaultUsername+":wrong"))
	if code, _, _ := b.do("GET", "/rest/api/2/myself", nil); code != http.StatusUnauthorized {
		t.Fatalf("DC basic with a wrong password: %d", code)
	}
}

func TestEndpointRate(t *testing.T) {
	for _, tc := range []struct {
		endpoint, flavor string
		want             float64
	}{
		{"GET /rest/api/3/search/jql", FlavorCloud, 100},
		{"POST /rest/api/3/search/jql", FlavorCloud, 100},
		{"GET /rest/api/3/issue/{id}", FlavorCloud, 150},
		{"GET /rest/api/3/issue/{id}/changelog", FlavorCloud, 200},
		{"GET /rest/api/3/issue/{id}/comment", FlavorCloud, 100},
		{"GET /rest/api/3/user", FlavorCloud, 150},
		{"POST /rest/api/3/search/approximate-count", FlavorCloud, 150},
		{"PUT /rest/api/3/issue/{id}", FlavorCloud, 50},
		{"GET /rest/api/2/issue/{id}", FlavorDataCenter, 100},
	} {
		if got := endpointRate(100, tc.endpoint, tc.flavor); got != tc.want {
			t.Errorf("%s (%s): %v, want %v", tc.endpoint, tc.flavor, got, tc.want)
		}
	}
	s, _ := startSim(t, Options{Issues: 10, Rate: 100})
	_, h, _ := client(t, s).do("GET", "/rest/api/3/issue/"+tailIssue(10), nil)
	if got := h.Get("X-RateLimit-Limit"); got != "150" {
		t.Fatalf("GET issue X-RateLimit-Limit = %q, want 150", got)
	}
}
