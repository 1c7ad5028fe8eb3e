package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
		wantURL string
	}{
		{name: "https ok", opts: Options{BaseURL: "https://acme.atlassian.net/"}, wantURL: "https://acme.atlassian.net"},
		{name: "context path kept", opts: Options{BaseURL: "https://jira.example.com/jira/"}, wantURL: "https://jira.example.com/jira"},
		{name: "http refused", opts: Options{BaseURL: "http://jira.example.com"}, wantErr: "must use https://"},
		{name: "http allowed for simulator", opts: Options{BaseURL: "http://127.0.0.1:8080", AllowHTTP: true}, wantURL: "http://127.0.0.1:8080"},
		{name: "other scheme", opts: Options{BaseURL: "ftp://jira.example.com"}, wantErr: "https://"},
		{name: "no scheme", opts: Options{BaseURL: "jira.example.com"}, wantErr: "https://"},
		{name: "empty", opts: Options{}, wantErr: "empty"},
		{name: "credentials in URL", opts: Options{BaseURL: "https://u:" + testPassword + "@jira.example.com"}, wantErr: "must not contain credentials"},
		{name: "query in URL", opts: Options{BaseURL: "https://jira.example.com/?x=1"}, wantErr: "query"},
		{name: "cloud id gateway", opts: Options{CloudID: "abc-123"}, wantURL: "https://api.atlassian.com/ex/jira/abc-123"},
		{name: "cloud id with slash", opts: Options{CloudID: "abc/../x"}, wantErr: "bare cloud id"},
		{name: "email without token", opts: Options{BaseURL: "https://a.atlassian.net", Auth: Auth{Email: testEmail}}, wantErr: "both an email and an API token"},
		{name: "user without password", opts: Options{BaseURL: "https://a.atlassian.net", Auth: Auth{Username: "bob"}}, wantErr: "both a username and a password"},
		{name: "two modes", opts: Options{BaseURL: "https://a.atlassian.net", Auth: Auth{PAT: testPAT, Email: testEmail, APIToken: testToken}}, wantErr: "only one of"},
		{name: "missing ca file", opts: Options{BaseURL: "https://a.atlassian.net", CAFile: "/nonexistent/ca.pem"}, wantErr: "read ca_file"},
		{name: "transport plus CA", opts: Options{BaseURL: "https://a.atlassian.net", CAFile: "x", Transport: http.DefaultTransport}, wantErr: "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() error = %v, want containing %q", err, tt.wantErr)
				}
				assertNoSecret(t, err.Error())
				return
			}
			if err != nil {
				t.Fatalf("New(): %v", err)
			}
			if got := c.BaseURL(); got != tt.wantURL {
				t.Errorf("BaseURL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

func TestRequestHeadersPerAuthMode(t *testing.T) {
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name     string
		auth     Auth
		wantAuth string
	}{
		{"cloud api token", Auth{Email: testEmail, APIToken: testToken}, basic(testEmail, testToken)},
		{"data center pat", Auth{PAT: testPAT}, "Bearer " + testPAT},
		{"data center basic", Auth{Username: "bob", Password: testPassword}, basic("bob", testPassword)},
		{"anonymous", Auth{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got http.Header
			var gotBody []byte
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				gotBody, _ = io.ReadAll(r.Body)
				writeJSON(w, 200, `{"ok":true}`)
			})
			c, _, _ := newTLSServer(t, h, func(o *Options) { o.Auth = tt.auth; o.UserAgent = "jsync/1.2.3" })
			var out struct{ OK bool }
			if err := c.PostJSON(context.Background(), "/rest/api/3/search/jql", nil, map[string]any{"jql": "project = X"}, &out); err != nil {
				t.Fatal(err)
			}
			if !out.OK {
				t.Error("response not decoded")
			}
			for k, want := range map[string]string{
				"Authorization":   tt.wantAuth,
				"Accept":          "application/json",
				"Accept-Language": "en",
				"User-Agent":      "jsync/1.2.3",
				"Content-Type":    "application/json",
			} {
				if g := got.Get(k); g != want {
					t.Errorf("header %s = %q, want %q", k, g, want)
				}
			}
			if string(gotBody) != `{"jql":"project = X"}` {
				t.Errorf("body = %s", gotBody)
			}
		})
	}
}

func TestDefaultUserAgentAndGatewayPath(t *testing.T) {
	var gotPath, gotUA string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotUA = r.URL.Path, r.UserAgent()
		writeJSON(w, 200, `{}`)
	})
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c, err := New(Options{CloudID: "1324a887-45db-1bf4-1e99-ef0ff456d421", GatewayURL: srv.URL, Transport: srv.Client().Transport,
		Auth: Auth{Email: testEmail, APIToken: testToken}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, nil); err != nil {
		t.Fatal(err)
	}
	if want := "/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421/rest/api/3/myself"; gotPath != want {
		t.Errorf("path = %q, want %q", gotPath, want)
	}
	if gotUA != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", gotUA, DefaultUserAgent)
	}
	if !c.Gateway() {
		t.Error("Gateway() = false")
	}
}

func TestTLSVerifiedByDefault(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 200, `{}`)
	}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)

	// No trust for the test CA: must fail, and fail fast (no retries).
	clock := newFakeClock()
	c, err := New(Options{BaseURL: srv.URL, Auth: Auth{PAT: testPAT}, Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	err = c.GetJSON(context.Background(), "/rest/api/2/myself", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if len(clock.Sleeps()) != 0 || c.Requests() != 1 {
		t.Errorf("certificate errors must not be retried: sleeps=%v requests=%d", clock.Sleeps(), c.Requests())
	}
	assertNoSecret(t, err.Error())

	// CAFile adds the test CA: succeeds.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = New(Options{BaseURL: srv.URL, Auth: Auth{PAT: testPAT}, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.GetJSON(context.Background(), "/rest/api/2/myself", nil, nil); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	if hits.Load() != 1 {
		t.Errorf("server hits = %d, want 1", hits.Load())
	}

	// A file with no certificates is refused at New.
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a cert"), 0o600)
	if _, err := New(Options{BaseURL: srv.URL, CAFile: bad}); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("bad ca_file: err = %v", err)
	}
}

func TestRedirectToHTTPRefused(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("credentials followed a redirect to http: %s", r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	c, _, _ := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/steal", http.StatusFound)
	}))
	err := c.GetJSON(context.Background(), "/rest/api/2/myself", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "refusing redirect") {
		t.Fatalf("err = %v, want refusing redirect", err)
	}
	if c.Requests() != 1 {
		t.Errorf("requests = %d, want 1 (not retried)", c.Requests())
	}
}

func TestPathEscaping(t *testing.T) {
	var gotRaw string
	c, _, _ := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotRaw = r.URL.EscapedPath()
		writeJSON(w, 200, `{}`)
	}))
	path := "/rest/api/2/user/properties/" + url.PathEscape("a/b c%")
	if err := c.GetJSON(context.Background(), path, url.Values{"jql": {`project = "A B"`}}, nil); err != nil {
		t.Fatal(err)
	}
	if want := "/rest/api/2/user/properties/a%2Fb%20c%25"; gotRaw != want {
		t.Errorf("server saw %q, want %q", gotRaw, want)
	}
	if _, err := c.Do(context.Background(), http.MethodGet, "/bad%zz", nil, nil); err == nil {
		t.Error("bad escape accepted")
	}
}

func TestDoRejectsBadPaths(t *testing.T) {
	c, _, _ := newTLSServer(t, http.NotFoundHandler())
	for _, p := range []string{"rest/api/3/myself", "/rest/api/3/search?jql=x", "https://evil.example.com/x", "/a#b"} {
		if _, err := c.Do(context.Background(), http.MethodGet, p, nil, nil); err == nil {
			t.Errorf("Do(%q) succeeded, want error", p)
		}
	}
	if c.Requests() != 0 {
		t.Errorf("requests = %d, want 0", c.Requests())
	}
}

func TestAuthNeverRevealsSecrets(t *testing.T) {
	auths := []Auth{
		{Email: testEmail, APIToken: testToken},
		{PAT: testPAT},
		{Username: "bob", Password: testPassword},
	}
	for _, a := range auths {
		opts := Options{BaseURL: "https://a.atlassian.net", Auth: a}
		var logBuf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
		logger.Info("auth", "auth", a, "opts", opts)
		slog.New(slog.NewTextHandler(&logBuf, nil)).Info("auth", "auth", a)
		js, err := json.Marshal(struct {
			Auth Auth
			Ptr  *Auth
		}{a, &a})
		if err != nil {
			t.Fatal(err)
		}
		outputs := []string{
			string(js),
			a.String(), a.GoString(),
			fmt.Sprintf("%v %+v %#v %s %q %x %X", a, a, a, a, a, a, a),
			fmt.Sprintf("%v %+v %#v", opts, opts, opts),
			fmt.Sprintf("%v", &opts),
			logBuf.String(),
		}
		for _, out := range outputs {
			assertNoSecret(t, out)
		}
		if !strings.Contains(a.String(), "(sensitive)") {
			t.Errorf("String() = %q, want (sensitive) marker", a.String())
		}
	}
}

// assertNoSecret fails if s contains any test secret, raw or base64-encoded.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range []string{testToken, testPAT, testPassword} {
		forms := []string{sec, base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + sec)),
			base64.StdEncoding.EncodeToString([]byte("bob:" + sec))}
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("output reveals a secret (%q...): %s", f[:6], s)
			}
		}
	}
}

func TestErrorsNeverRevealSecrets(t *testing.T) {
	// A hostile or misconfigured server that echoes the request headers back
	// in its error body, for each auth mode.
	for _, a := range []Auth{{Email: testEmail, APIToken: testToken}, {PAT: testPAT}, {Username: "bob", Password: testPassword}} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b strings.Builder
			_ = r.Header.Write(&b)
			body := fmt.Sprintf(`{"errorMessages":["bad request: %s"],"errors":{"token":%q}}`,
				strings.ReplaceAll(b.String(), "\r\n", " "), a.APIToken+a.PAT+a.Password)
			writeJSON(w, 400, body)
		})
		var logBuf bytes.Buffer
		c, _, _ := newTLSServer(t, h, func(o *Options) {
			o.Auth = a
			o.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, nil)
		var herr *HTTPError
		if !errors.As(err, &herr) {
			t.Fatalf("err = %v, want *HTTPError", err)
		}
		assertNoSecret(t, err.Error())
		assertNoSecret(t, herr.Body)
		assertNoSecret(t, strings.Join(herr.Messages, " "))
		assertNoSecret(t, fmt.Sprintf("%+v %#v", herr, herr))
		assertNoSecret(t, logBuf.String())
		if !strings.Contains(herr.Body, "(sensitive)") {
			t.Errorf("Body = %q, want redaction marker", herr.Body)
		}
	}
}

// TestCutErrorsNeverRevealSecrets: error bodies are cut to length for
// messages and snippets; a secret that spans the cut must not show in
// part (it is redacted before the cut).
func TestCutErrorsNeverRevealSecrets(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString([]byte(testEmail + ":" + testToken))
	tests := []struct {
		name   string
		status int
		ct     string
		body   func(r *http.Request) string
	}{
		{"2xx HTML page, token at the snippet's cut", 200, "text/html",
			func(*http.Request) string {
				return "<html>" + strings.Repeat("x", 200-6-10) + testToken + " rest of page</html>"
			}},
		{"plain-text 401, token at the message's cut", 401, "text/plain",
			func(*http.Request) string { return strings.Repeat("y", 300-10) + testToken + " denied" }},
		{"plain-text 401 echoing the Authorization header", 401, "text/plain",
			func(r *http.Request) string {
				return strings.Repeat("y", 300-40) + strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ") + " denied"
			}},
		{"JSON 400, header at the body's cut", 400, "application/json",
			func(r *http.Request) string {
				return `{"errorMessages":["` + strings.Repeat("z", maxErrorBody-40) + r.Header.Get("Authorization") + `"]}`
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ct)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body(r)))
			}), func(o *Options) { o.MaxRetries = -1; o.RateLimit = -1 })
			var out map[string]any
			err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, &out)
			if err == nil {
				t.Fatal("want an error")
			}
			outs := []string{err.Error(), fmt.Sprintf("%+v", err)}
			var herr *HTTPError
			if errors.As(err, &herr) {
				outs = append(outs, herr.Body, strings.Join(herr.Messages, " "))
			}
			for _, out := range outs {
				for _, part := range []string{testToken[:6], b64[:12]} {
					if strings.Contains(out, part) {
						t.Errorf("shows %q, part of a secret:\n%s", part, out)
					}
				}
			}
		})
	}
}

func TestCountersAndFamilies(t *testing.T) {
	c, _, _ := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{}`)
	}))
	ctx := context.Background()
	for _, p := range []string{"/rest/api/3/issue/ABC-1/comment", "/rest/api/3/issue/10002/comment", "/rest/api/3/myself"} {
		if err := c.GetJSON(ctx, p, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c.Requests() != 3 {
		t.Errorf("Requests() = %d, want 3", c.Requests())
	}
	want := map[string]int64{"GET /rest/api/3/issue/{id}/comment": 2, "GET /rest/api/3/myself": 1}
	got := c.RequestsByFamily()
	if len(got) != len(want) {
		t.Fatalf("RequestsByFamily() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("RequestsByFamily()[%q] = %d, want %d", k, got[k], v)
		}
	}
}

func TestFamily(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/rest/api/3/myself", "GET /rest/api/3/myself"},
		{"GET", "/rest/api/3/issue/ABC-123/comment", "GET /rest/api/3/issue/{id}/comment"},
		{"GET", "/rest/api/2/issue/10001/worklog", "GET /rest/api/2/issue/{id}/worklog"},
		{"GET", "/rest/api/3/project/ABC/versions", "GET /rest/api/3/project/{id}/versions"},
		{"POST", "/rest/api/3/search/jql", "POST /rest/api/3/search/jql"},
		{"GET", "/rest/agile/1.0/board/84/sprint", "GET /rest/agile/1.0/board/{id}/sprint"},
		{"GET", "/rest/api/latest/serverInfo", "GET /rest/api/latest/serverInfo"},
		{"GET", "/rest/api/3/field/customfield_10010/context", "GET /rest/api/3/field/{id}/context"},
		{"GET", "/rest/api/3/projectCategory", "GET /rest/api/3/projectCategory"},
		{"GET", "/rest/api/3/search/approximate-count", "GET /rest/api/3/search/approximate-count"},
	}
	for _, tt := range tests {
		if got := Family(tt.method, tt.path); got != tt.want {
			t.Errorf("Family(%s, %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestShortSecretsNotRedacted: a one- to three-character secret is not
// replaced in error text, which it would garble, as the CLI's redaction.
func TestShortSecretsNotRedacted(t *testing.T) {
	if got := redact(`Get "https://t.example/rest": refused`, []string{"t"}); got != `Get "https://t.example/rest": refused` {
		t.Errorf("redact with a one-character secret = %q", got)
	}
	if got := redact("token abcd-secret here", []string{"abcd-secret"}); got != "token (sensitive) here" {
		t.Errorf("redact = %q", got)
	}
}
