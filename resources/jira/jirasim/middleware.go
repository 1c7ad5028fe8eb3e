package jirasim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServeHTTP is the front door: /_sim endpoints bypass everything; Jira
// endpoints go through latency, auth, rate limiting and fault injection, and
// are counted in Stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// mux.Handler only reports the pattern; serving through the mux sets
	// the path values.
	if strings.HasPrefix(r.URL.Path, gatewayPrefix) {
		var ok bool
		if r, ok = s.throughGateway(w, r); !ok {
			return
		}
	}
	_, pattern := s.mux.Handler(r)
	h := s.mux
	if strings.HasPrefix(r.URL.Path, "/_sim/") || r.URL.Path == "/_edge/tenant_info" { // public
		h.ServeHTTP(w, r)
		return
	}
	label := pattern
	if label == "" || label == "/" {
		label = "unmatched"
	}
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { s.stats.add(label, rec.status) }()
	tooMany := false
	if s.opts.MaxConcurrent > 0 {
		// Counted from arrival to answer, the latency included: the
		// server is busy with the request all that time.
		tooMany = s.serving.Add(1) > int64(s.opts.MaxConcurrent)
		defer s.serving.Add(-1)
	}
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			rec.status = 499
			return
		}
	}
	restricted, ok := s.authenticate(r)
	// An anonymous caller has no "myself" (Jira answers 401), which is how
	// a client tells anonymous access from its own.
	if !ok || (restricted == asAnonymous && strings.HasSuffix(r.URL.Path, "/myself")) {
		writeUnauthorized(rec, r, s.opts.Flavor)
		return
	}
	if tooMany {
		rec.Header().Set("Retry-After", "1")
		rec.Header().Set("RateLimit-Reason", ReasonConcurrent)
		writeRateLimited(rec, s.opts.Flavor)
		return
	}
	if pattern != "" && !s.limiter.allow(rec, label, restricted, s.opts.Flavor) {
		return
	}
	r = r.WithContext(withUser(r.Context(), restricted))
	if s.opts.Faults > 0 && s.injectFault(rec, r, h) {
		return
	}
	h.ServeHTTP(rec, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// --- auth ---

func authHeader(flavor, email, token, pat string) string {
	if flavor == FlavorDataCenter {
		return "Bearer " + pat
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token))
}

// authenticate returns who the caller is, and false in ok for missing or
// wrong credentials, unless Options.Anonymous serves those as anonymous.
func (s *Server) authenticate(r *http.Request) (who viewer, ok bool) {
	got := r.Header.Get("Authorization")
	if s.opts.Flavor == FlavorDataCenter && got == s.BasicAuthHeader() {
		return asAdmin, true
	}
	switch got {
	case s.AuthHeader():
		return asAdmin, true
	case s.RestrictedAuthHeader():
		return asRestricted, true
	}
	return asAnonymous, s.opts.Anonymous
}

// writeUnauthorized answers with the bodies seen in the wild: JSON normally,
// XML when the client did not negotiate JSON.
func writeUnauthorized(w http.ResponseWriter, r *http.Request, flavor string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
	if flavor == FlavorDataCenter {
		w.Header().Set("WWW-Authenticate", `OAuth realm="jira"`)
	}
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "xml") && !strings.Contains(accept, "json") {
		w.Header().Set("Content-Type", "application/xml;charset=UTF-8")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><status><status-code>401</status-code><message>Client must be authenticated to access this resource.</message></status>`)
		return
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Client must be authenticated to access this resource.", "status-code": 401})
}

// --- rate limiting ---

// limiter is a set of token buckets (capacity = one second of rate): one
// per endpoint shared by all callers, like Jira Cloud's burst limits, or,
// on Data Center, one per user across endpoints.
type limiter struct {
	rate    float64
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64) *limiter {
	return &limiter{rate: rate, buckets: map[string]*bucket{}, now: time.Now}
}

// endpointRate scales the rate of an endpoint (a mux pattern) as Jira
// Cloud's burst limits do: 100 requests per second for GET and POST, with
// published overrides for some endpoints (GET issue 150, its changelog 200,
// GET user 150, approximate-count 150), and 50 for PUT and DELETE.
func endpointRate(rate float64, endpoint, flavor string) float64 {
	if flavor == FlavorDataCenter {
		return rate // one admin-configured limit per user
	}
	method, path, _ := strings.Cut(endpoint, " ")
	switch {
	case method == "PUT" || method == "DELETE":
		return rate / 2
	case method == "GET" && strings.HasSuffix(path, "/issue/{id}/changelog"):
		return rate * 2
	case method == "GET" && (strings.HasSuffix(path, "/issue/{id}") || strings.HasSuffix(path, "/user")),
		method == "POST" && strings.HasSuffix(path, "/search/approximate-count"):
		return rate * 1.5
	}
	return rate
}

// allow takes a token, setting X-RateLimit-* headers, or writes the 429.
// Jira Cloud keeps a bucket per endpoint (its burst limits); Data Center
// one per user, across endpoints (its admin-configured rate limiting).
func (l *limiter) allow(w http.ResponseWriter, endpoint string, user viewer, flavor string) bool {
	if l.rate < 0 {
		return true
	}
	rate := endpointRate(l.rate, endpoint, flavor)
	capacity := math.Max(1, rate)
	key := endpoint
	if flavor == FlavorDataCenter {
		key = fmt.Sprintf("user %d", user)
	}
	l.mu.Lock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: capacity, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(capacity, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	remaining := int(b.tokens)
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	l.mu.Unlock()

	limit := strconv.Itoa(int(math.Ceil(rate)))
	w.Header().Set("X-RateLimit-Limit", limit)
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	retry := int(math.Ceil(wait.Seconds()))
	if retry < 1 {
		retry = 1
	}
	if flavor == FlavorDataCenter {
		// Data Center's headers, on every answer: the bucket's capacity
		// (Limit), what it refills per interval, and Retry-After 0 while
		// tokens remain. No reset time and no reason.
		w.Header().Set("X-RateLimit-FillRate", limit)
		w.Header().Set("X-RateLimit-Interval-Seconds", "1")
		if ok {
			w.Header().Set("Retry-After", "0")
			return true
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		writeRateLimited(w, flavor)
		return false
	}
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	w.Header().Set("X-RateLimit-Reset", now.Add(wait).UTC().Format("2006-01-02T15:04:05Z"))
	w.Header().Set("RateLimit-Reason", "jira-burst-based")
	writeRateLimited(w, flavor)
	return false
}

// ReasonConcurrent is the RateLimit-Reason of a 429 for too many requests
// in flight (Options.MaxConcurrent).
const ReasonConcurrent = "jira-max-concurrent-threads-across-all-instances-per-tenant-per-user"

func writeRateLimited(w http.ResponseWriter, flavor string) {
	if flavor == FlavorDataCenter {
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><title>HTTP Status 429 – Too Many Requests</title></head><body><h1>HTTP Status 429 – Too Many Requests</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> Rate limit exceeded.</p><p><b>Description</b> The user has sent too many requests in a given amount of time ("rate limiting").</p></body></html>`)
		return
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"errorMessages": []string{"The request has been rate-limited. Please try again later."}, "errors": map[string]any{}, "status": 429})
}

// --- faults ---

// Fault kinds, chosen deterministically from (seed, request number).
var faultKinds = []string{"500", "502", "503", "504", "reset", "slow", "truncated", "malformed", "429-no-retry-after"}

// SlowFaultDelay is how long a "slow" fault stalls before answering normally.
var SlowFaultDelay = 2 * time.Second

func (s *Server) injectFault(w *statusWriter, r *http.Request, h http.Handler) bool {
	n := s.reqNo.Add(1)
	rr := newRnd(s.opts.Seed, tagFault, n)
	if !rr.chance(s.opts.Faults) {
		return false
	}
	kind := faultKinds[rr.intn(len(faultKinds))]
	w.Header().Set("X-Jirasim-Fault", kind)
	switch kind {
	case "500", "502", "503", "504":
		code, _ := strconv.Atoi(kind)
		if code == 503 {
			w.Header().Set("Retry-After", "1")
		}
		writeJSON(w, code, map[string]any{"errorMessages": []string{"Internal server error"}, "errors": map[string]any{}})
	case "429-no-retry-after":
		// The 2026-04-22 gateway incident: no Retry-After.
		w.Header().Set("X-Failure-Category", "FAILURE CLIENT RATE LIMITED")
		writeRateLimited(w, s.opts.Flavor)
	case "reset":
		hj, ok := w.ResponseWriter.(http.Hijacker)
		if !ok {
			writeJSON(w, 502, map[string]any{"errorMessages": []string{"Bad gateway"}, "errors": map[string]any{}})
			return true
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			// Close the TCP socket under TLS with linger 0: an RST, not a
			// clean close_notify.
			raw := conn
			if tc, ok := conn.(*tls.Conn); ok {
				raw = tc.NetConn()
			}
			if tcp, ok := raw.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = raw.Close()
		}
		w.status = 0 // connection reset, no status
	case "slow":
		select {
		case <-time.After(SlowFaultDelay):
		case <-r.Context().Done():
			return true
		}
		return false
	case "truncated", "malformed":
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if kind == "truncated" {
			body = body[:len(body)/2]
		} else {
			body = append([]byte("{\"errorMessages\":[\"oops\""), bytes.TrimPrefix(body, []byte("{"))...)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}
	return true
}

// --- stats ---

type statsRecorder struct {
	mu     sync.Mutex
	counts map[string]map[int]int64
}

func (st *statsRecorder) add(endpoint string, status int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	m := st.counts[endpoint]
	if m == nil {
		m = map[int]int64{}
		st.counts[endpoint] = m
	}
	m[status]++
}

// Stats are request counts by endpoint pattern (e.g. "GET
// /rest/api/3/search/jql") and HTTP status. Status 0 is a connection reset.
type Stats struct {
	Endpoints map[string]map[string]int64 `json:"endpoints"`
	Total     int64                       `json:"total"`
}

// Stats returns the request counts so far (GET /_sim/stats).
func (s *Server) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := Stats{Endpoints: map[string]map[string]int64{}}
	for ep, m := range s.stats.counts {
		o := map[string]int64{}
		for code, n := range m {
			o[strconv.Itoa(code)] = n
			out.Total += n
		}
		out.Endpoints[ep] = o
	}
	return out
}

// String renders stats as sorted lines "endpoint status count".
func (st Stats) String() string {
	var lines []string
	for ep, m := range st.Endpoints {
		for code, n := range m {
			lines = append(lines, fmt.Sprintf("%-60s %s %d", ep, code, n))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// --- JSON and errors ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeEncoded(w, status, v, nil)
}

func writeEncoded(w http.ResponseWriter, status int, v any, embed func(string) ([]byte, bool)) {
	b, release, err := marshal(v, embed)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errorMessages": msgs, "errors": map[string]any{}})
}

func writeProblem(w http.ResponseWriter, status int, title, detail, instance string) {
	b, _ := json.Marshal(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance})
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

const msgIssueNotFound = "Issue does not exist or you do not have permission to see it."

// gatewayPrefix starts the paths of api.atlassian.com's gateway to a Cloud
// site: /ex/jira/{cloudId}/rest/api/3/..., the base URL of scoped API tokens
// and OAuth apps.
const gatewayPrefix = "/ex/jira/"

// throughGateway serves a gateway request as the site would: the cloud id
// must be the site's, and the rest of the path is the site's API. It
// answers the request itself (404) when the cloud id is another site's or
// the site is Data Center, which has no gateway.
func (s *Server) throughGateway(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	id, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, gatewayPrefix), "/")
	if s.opts.Flavor == FlavorDataCenter || id != s.opts.CloudID {
		writeErrors(w, http.StatusNotFound, "No site found for cloud id "+id)
		return nil, false
	}
	r2 := r.Clone(context.WithValue(r.Context(), gatewayKey{}, gatewayPrefix+id))
	r2.URL.Path, r2.URL.RawPath = "/"+rest, ""
	return r2, true
}

type gatewayKey struct{}

// pathURL is the absolute URL of r's path as the client sent it: under the
// gateway's /ex/jira/{cloudId} prefix when it came through the gateway.
func (s *Server) pathURL(r *http.Request) string {
	prefix, _ := r.Context().Value(gatewayKey{}).(string)
	return s.url + prefix + r.URL.Path
}
