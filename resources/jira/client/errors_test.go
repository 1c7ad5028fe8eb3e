package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestObservedErrorBodies serves every error body in the observed-error
// sample and checks the message extracted and the advice given.
func TestObservedErrorBodies(t *testing.T) {
	var sample struct {
		Entries []struct {
			Status      int             `json:"status"`
			Context     string          `json:"context"`
			ContentType string          `json:"content_type"`
			Body        json.RawMessage `json:"body"`
			BodyText    string          `json:"body_text"`
			BodyPrefix  string          `json:"body_text_prefix"`
			Fragment    json.RawMessage `json:"body_fragment"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(readTestdata(t, "observed-error-bodies__github-issues.json"), &sample); err != nil {
		t.Fatal(err)
	}
	if len(sample.Entries) < 8 {
		t.Fatalf("sample has %d entries", len(sample.Entries))
	}
	// What each entry's Error() must say (message from the body, advice).
	wantByContext := map[string][]string{
		"removal":                {"The requested API has been removed", "endpoint removed by Atlassian (CHANGE-2046)"},
		"JSON form, 2019":        {"Client must be authenticated to access this resource.", "check the email and API token, or the PAT"},
		"XML form":               {"Client must be authenticated to access this resource.", "check the email and API token, or the PAT"},
		"account password":       {"Basic authentication with passwords is deprecated", "check the email and API token, or the PAT"},
		"Issue missing":          {"Issue does not exist or you do not have permission to see it.", "not found, or not visible"},
		"JSON form, 2026":        {"The request has been rate-limited", "rate limited by Jira"},
		"older HTML":             {"HTTP 429", "rate limited by Jira"},
		"Tomcat":                 {"HTTP 429", "rate limited by Jira"},
		"no body and no Content": {"Content-Type 'null' is not supported.", "HTTP 415"},
		"unconvertible integer":  {"Failed to convert 'startAt'", "Jira rejected the request"},
	}
	for _, e := range sample.Entries {
		body := string(e.Body)
		switch {
		case e.BodyText != "":
			body = e.BodyText
		case e.BodyPrefix != "":
			body = e.BodyPrefix
		case len(e.Fragment) > 0:
			body = string(e.Fragment)
		}
		ct := strings.Fields(e.ContentType + " ")[0]
		var want []string
		for k, v := range wantByContext {
			if strings.Contains(e.Context, k) {
				want = v
			}
		}
		if want == nil {
			t.Errorf("no expectation for sample %q", e.Context)
			continue
		}
		t.Run(e.Context, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(e.Status)
				_, _ = w.Write([]byte(body))
			})
			c, _, _ := newTLSServer(t, h, func(o *Options) { o.MaxRetries = -1 })
			err := c.GetJSON(WithTable(context.Background(), "issues"), "/rest/api/3/search", nil, nil)
			var herr *HTTPError
			if !errors.As(err, &herr) || herr.Status != e.Status {
				t.Fatalf("err = %v, want HTTPError %d", err, e.Status)
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q\nwant it to contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "table issues") {
				t.Errorf("Error() = %q, want the table named", err)
			}
			if strings.Contains(err.Error(), "<html") || strings.Contains(err.Error(), "<!") {
				t.Errorf("HTML leaked into the message: %q", err)
			}
			if len(herr.Body) > maxErrorBody+len("…") {
				t.Errorf("Body not trimmed: %d bytes", len(herr.Body))
			}
		})
	}
}

func TestFieldErrorsAndPermissionAdvice(t *testing.T) {
	body := readTestdata(t, "jira-rest-java-client__json-error__valid.json")
	h, _ := script(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 400, body) })
	c, _, _ := newTLSServer(t, h)
	err := c.GetJSON(context.Background(), "/rest/api/2/issue/ABC-1", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "customfield_10000: abcfsd") {
		t.Errorf("err = %v, want the field error", err)
	}

	tests := []struct{ endpoint, table, want string }{
		{"/rest/api/3/users/search", "users", `"Browse users and groups" permission to read table users`},
		{"/rest/api/3/project/ABC/role", "roles", `"Administer Jira or Administer projects"`},
		{"/rest/api/3/search/jql", "issues", `"Browse projects" permission to read table issues`},
		{"/rest/api/3/issue/ABC-1/worklog", "", `"Browse projects (and worklog visibility)" permission to read this data`},
	}
	for _, tt := range tests {
		e := &HTTPError{Method: "GET", Endpoint: tt.endpoint, Table: tt.table, Status: 403}
		if !strings.Contains(e.Error(), tt.want) {
			t.Errorf("403 on %s: %q, want %q", tt.endpoint, e.Error(), tt.want)
		}
	}
}

func TestErrorMessagesShapes(t *testing.T) {
	tests := []struct {
		name, body, ct string
		want           []string
	}{
		{"error collection", `{"errorMessages":["a","b"],"errors":{"z":"1","y":"2"}}`, "application/json", []string{"a", "b", "y: 2", "z: 1"}},
		{"empty collection", `{"errorMessages":[],"errors":{}}`, "application/json", nil},
		{"problem json", `{"title":"Unsupported Media Type","detail":"d"}`, "application/problem+json", []string{"d"}},
		{"problem title only", `{"title":"Unsupported Media Type"}`, "application/problem+json", []string{"Unsupported Media Type"}},
		{"xml", `<?xml version="1.0"?><status><status-code>401</status-code><message>m</message></status>`, "application/xml", []string{"m"}},
		{"html", `<html><body>boom</body></html>`, "text/html", nil},
		{"text", "line one\nline two", "text/plain", []string{"line one"}},
		{"empty", "", "", nil},
		{"wrong types", `{"errorMessages":"not a list"}`, "application/json", nil},
	}
	for _, tt := range tests {
		got := errorMessages([]byte(tt.body), tt.ct)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: errorMessages = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDataCenterLoginDenied(t *testing.T) {
	h, _ := script(status(403, "X-Authentication-Denied-Reason", "CAPTCHA_CHALLENGE; login-url=https://jira.example.com/login.jsp"))
	c, _, _ := newTLSServer(t, h, func(o *Options) { o.Auth = Auth{Username: "bob", Password: testPassword} })
	err := c.GetJSON(context.Background(), "/rest/api/2/myself", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "CAPTCHA_CHALLENGE") || !strings.Contains(err.Error(), "log in once in a browser") {
		t.Errorf("err = %v", err)
	}
}

func TestHTMLInsteadOfJSON(t *testing.T) {
	h, _ := script(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Log in with SSO</body></html>"))
	})
	c, _, _ := newTLSServer(t, h)
	err := c.GetJSON(WithTable(context.Background(), "projects"), "/rest/api/3/project/search", nil, new(map[string]any))
	var derr *DecodeError
	if !errors.As(err, &derr) || !strings.Contains(err.Error(), "SSO") || !strings.Contains(err.Error(), "table projects") {
		t.Errorf("err = %v", err)
	}
}

// TestDiscoveryLabel checks that the label that counts discovery requests
// (DiscoverTable) never shows in errors or log lines, which say the
// request was made while connecting to the site, and that a table's own
// requests still name the table.
func TestDiscoveryLabel(t *testing.T) {
	html := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!DOCTYPE html><html><body>Log in with SSO</body></html>"))
	}
	tests := []struct {
		name    string
		table   string
		steps   []step
		want    []string // in the error
		wantLog string   // in the log, "" for no log line
	}{
		{name: "401 while connecting", table: DiscoverTable, steps: []step{status(401)},
			want: []string{"HTTP 401 Unauthorized (while connecting to the site)", "authentication failed"}},
		{name: "403 while connecting", table: DiscoverTable, steps: []step{status(403)},
			want: []string{"HTTP 403 Forbidden (while connecting to the site)", "permission to read this data"}},
		{name: "HTML while connecting", table: DiscoverTable, steps: []step{html},
			want: []string{"(while connecting to the site): decode response", "SSO"}},
		{name: "retried while connecting", table: DiscoverTable, steps: []step{status(503), status(404)},
			want: []string{"HTTP 404 Not Found (while connecting to the site)"}, wantLog: `while="connecting to the site"`},
		{name: "403 of a table", table: "users", steps: []step{status(403)},
			want: []string{"HTTP 403 Forbidden (table users)", `leave "users" out of the sync's tables`}},
		{name: "retried for a table", table: "issues", steps: []step{status(503), status(404)},
			want: []string{"HTTP 404 Not Found (table issues)"}, wantLog: "table=issues"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := script(tt.steps...)
			var logBuf bytes.Buffer
			c, _, _ := newTLSServer(t, h, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil)) })
			err := c.GetJSON(WithTable(context.Background(), tt.table), "/rest/api/2/serverInfo", nil, new(map[string]any))
			if err == nil {
				t.Fatal("request succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tt.wantLog != "" && !strings.Contains(logBuf.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logBuf.String())
			}
			for _, out := range []string{err.Error(), logBuf.String()} {
				if strings.Contains(out, DiscoverTable) {
					t.Errorf("%q shows in %q", DiscoverTable, out)
				}
			}
		})
	}
}
