package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one scripted server answer.
type step func(w http.ResponseWriter, r *http.Request)

func status(code int, headers ...string) step {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		writeJSON(w, code, `{"errorMessages":["scripted failure"],"errors":{}}`)
	}
}

func ok(body string) step {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, body) }
}

func resetConn(w http.ResponseWriter, r *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func shortBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "100")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(`{"a":`))
	resetConn(w, r)
}

// script serves the steps in order; the last one repeats.
func script(steps ...step) (http.Handler, *atomic.Int32) {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(steps) {
			i = len(steps) - 1
		}
		steps[i](w, r)
	}), &n
}

func TestRetries(t *testing.T) {
	s := time.Second
	tests := []struct {
		name       string
		steps      []step
		maxRetries int
		wantSleeps []time.Duration // exact, jitter fixed at 1
		wantStatus int             // 0 = success
		wantErr    string
	}{
		{name: "429 honours Retry-After seconds", steps: []step{status(429, "Retry-After", "7"), ok(`{}`)}, wantSleeps: []time.Duration{7 * s}},
		{name: "429 Retry-After 0 still backs off", steps: []step{status(429, "Retry-After", "0"), ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "429 backoff longer than Retry-After wins", steps: []step{status(429), status(429), status(429, "Retry-After", "2"), ok(`{}`)},
			wantSleeps: []time.Duration{1 * s, 2 * s, 4 * s}},
		{name: "503 Retry-After HTTP-date", steps: []step{status(503, "Retry-After", "Thu, 26 Mar 2026 16:00:30 GMT"), ok(`{}`)}, wantSleeps: []time.Duration{90 * s}},
		{name: "429 X-RateLimit-Reset without seconds", steps: []step{status(429, "X-RateLimit-Reset", "2026-03-26T16:00Z", "RateLimit-Reason", "jira-burst-based"), ok(`{}`)},
			wantSleeps: []time.Duration{60 * s}},
		{name: "429 X-RateLimit-Reset with seconds", steps: []step{status(429, "X-RateLimit-Reset", "2026-03-26T15:59:30Z"), ok(`{}`)}, wantSleeps: []time.Duration{30 * s}},
		{name: "Retry-After beats X-RateLimit-Reset", steps: []step{status(429, "Retry-After", "5", "X-RateLimit-Reset", "2026-03-26T16:00:00Z"), ok(`{}`)},
			wantSleeps: []time.Duration{5 * s}},
		{name: "429 without headers backs off exponentially", steps: []step{status(429), status(429), ok(`{}`)}, wantSleeps: []time.Duration{1 * s, 2 * s}},
		{name: "500 502 504 retried", steps: []step{status(500), status(502), status(504), ok(`{}`)}, wantSleeps: []time.Duration{1 * s, 2 * s, 4 * s}},
		{name: "connection reset retried", steps: []step{resetConn, ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "short body retried", steps: []step{shortBody, ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "truncated JSON retried", steps: []step{ok(`{"values":[1,2`), ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "backoff capped at MaxBackoff", steps: []step{status(500)}, maxRetries: 7, wantStatus: 500,
			wantSleeps: []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s}, wantErr: "after 8 attempts"},
		{name: "429 storm gives up", steps: []step{status(429, "Retry-After", "1", "RateLimit-Reason", "jira-burst-based")}, maxRetries: 2, wantStatus: 429,
			wantSleeps: []time.Duration{1 * s, 2 * s}, wantErr: "rate limited by Jira (jira-burst-based)"},
		{name: "too-many-at-once 429 storm names concurrency", steps: []step{status(429, "Retry-After", "1", "RateLimit-Reason", "jira-max-concurrent-threads-across-all-instances-per-tenant-per-user")},
			maxRetries: 1, wantStatus: 429, wantSleeps: []time.Duration{1 * s}, wantErr: "too many requests at once (jira-max-concurrent-threads-across-all-instances-per-tenant-per-user); lower concurrency"},
		{name: "wait beyond MaxWait fails", steps: []step{status(429, "Retry-After", "1847", "RateLimit-Reason", "jira-burst-based")}, wantStatus: 429,
			wantErr: "more than the 15m0s limit"},
		{name: "quota waits for its reset beyond MaxWait", steps: []step{status(429, "Retry-After", "1847", "RateLimit-Reason", "jira-quota-global-based"), ok(`{}`)},
			wantSleeps: []time.Duration{1847 * s}},
		{name: "quota reset past the hour fails", steps: []step{status(429, "Retry-After", "3700", "RateLimit-Reason", "jira-quota-tenant-based")}, wantStatus: 429,
			wantErr: "more than the 1h1m0s limit"},
		{name: "400 fails fast", steps: []step{status(400), ok(`{}`)}, wantStatus: 400},
		{name: "401 fails fast", steps: []step{status(401), ok(`{}`)}, wantStatus: 401, wantErr: "check the email and API token, or the PAT"},
		{name: "403 fails fast", steps: []step{status(403), ok(`{}`)}, wantStatus: 403},
		{name: "404 fails fast", steps: []step{status(404), ok(`{}`)}, wantStatus: 404},
		{name: "409 to a GET retried (users/search past 10 s)", steps: []step{status(409), ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "410 fails fast", steps: []step{status(410), ok(`{}`)}, wantStatus: 410, wantErr: "CHANGE-2046"},
		{name: "malformed JSON retried", steps: []step{ok(`{"a":}`), ok(`{}`)}, wantSleeps: []time.Duration{1 * s}},
		{name: "malformed JSON gives up", steps: []step{ok(`{"a":}`)}, maxRetries: 1, wantSleeps: []time.Duration{1 * s}, wantErr: "invalid JSON response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, served := script(tt.steps...)
			c, _, clock := newTLSServer(t, h, func(o *Options) {
				if tt.maxRetries != 0 {
					o.MaxRetries = tt.maxRetries
				}
				o.RateLimit = -1
			})
			var out map[string]any
			err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, &out)
			if tt.wantStatus == 0 && tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else if err == nil {
				t.Fatalf("succeeded, want error")
			}
			if tt.wantStatus != 0 {
				var herr *HTTPError
				if !errors.As(err, &herr) || herr.Status != tt.wantStatus {
					t.Fatalf("err = %v, want HTTPError %d", err, tt.wantStatus)
				}
				if herr.Attempts != int(served.Load()) {
					t.Errorf("Attempts = %d, server saw %d", herr.Attempts, served.Load())
				}
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want containing %q", err, tt.wantErr)
			}
			got := clock.Sleeps()
			if len(got) != len(tt.wantSleeps) {
				t.Fatalf("sleeps = %v, want %v", got, tt.wantSleeps)
			}
			for i := range got {
				if got[i] != tt.wantSleeps[i] {
					t.Errorf("sleep[%d] = %v, want %v", i, got[i], tt.wantSleeps[i])
				}
			}
			if int64(served.Load()) != c.Requests() {
				t.Errorf("server saw %d requests, client counted %d", served.Load(), c.Requests())
			}
			if want := int64(len(tt.wantSleeps)); c.Retries() != want {
				t.Errorf("Retries() = %d, want %d", c.Retries(), want)
			}
		})
	}
}

func TestRetryJitterNeverBelowServerWait(t *testing.T) {
	// With the lowest jitter the backoff shrinks, but Retry-After is a floor.
	h, _ := script(status(429, "Retry-After", "3"), status(429, "Retry-After", "3"), ok(`{}`))
	c, _, clock := newTLSServer(t, h, func(o *Options) { o.Jitter = func() float64 { return 0.7 } })
	if err := c.GetJSON(context.Background(), "/x", nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range clock.Sleeps() {
		if d < 3*time.Second {
			t.Errorf("slept %v, shorter than Retry-After 3s", d)
		}
	}
}

// roundTripFunc is an in-memory transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAttemptTimeoutRetried(t *testing.T) {
	var n atomic.Int32
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if n.Add(1) == 1 { // hang until the per-attempt timeout fires
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
	})
	clock := newFakeClock()
	c, err := New(Options{BaseURL: "https://jira.example.com", Transport: transport, Timeout: 10 * time.Millisecond,
		Now: clock.Now, Sleep: clock.Sleep, Jitter: func() float64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ OK bool }
	if err := c.GetJSON(context.Background(), "/x", nil, &out); err != nil || !out.OK {
		t.Fatalf("err = %v ok = %v", err, out.OK)
	}
	if got := clock.Sleeps(); len(got) != 1 || got[0] != time.Second {
		t.Errorf("sleeps = %v, want one 1s backoff", got)
	}
	if n.Load() != 2 {
		t.Errorf("attempts = %d, want 2", n.Load())
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	h, served := script(status(503))
	ctx, cancel := context.WithCancel(context.Background())
	c, _, _ := newTLSServer(t, h, func(o *Options) {
		o.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	})
	err := c.GetJSON(ctx, "/x", nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("err = %v, want the last failure named", err)
	}
	if served.Load() != 1 {
		t.Errorf("served = %d, want 1", served.Load())
	}
}

func TestParseRetryAfterAndReset(t *testing.T) {
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-4", 0, true},
		{"Thu, 01 Jan 2026 01:01:00 GMT", time.Minute, true},
		{"Thu, 01 Jan 2026 00:59:00 GMT", 0, true},
		{"1e12", time.Duration(1<<63 - 1), true},
		{"1e400", 0, false},
		{"soon", 0, false},
	} {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v,%v want %v,%v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		in   string
		want time.Time
	}{
		{"2026-01-01T01:01:01Z", time.Date(2026, 1, 1, 1, 1, 1, 0, time.UTC)},
		{"2026-03-26T16:00Z", time.Date(2026, 3, 26, 16, 0, 0, 0, time.UTC)},
		{"2026-03-26T16:00:00.500+01:00", time.Date(2026, 3, 26, 15, 0, 0, 5e8, time.UTC)},
		{"2026-03-26T16:00+0100", time.Date(2026, 3, 26, 15, 0, 0, 0, time.UTC)},
	} {
		got, ok := parseResetTime(tt.in)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("parseResetTime(%q) = %v,%v want %v", tt.in, got, ok, tt.want)
		}
	}
	if _, ok := parseResetTime("tomorrow"); ok {
		t.Error("parseResetTime(tomorrow) ok")
	}
}

func TestLimiterTokenBucket(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(10, clock.Now, clock.Sleep) // burst 2
	var waits []time.Duration
	for range 5 {
		d, reserved := l.reserve("GET /a")
		if !reserved {
			t.Fatal("not reserved without a pause")
		}
		waits = append(waits, d)
	}
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i := range want {
		if waits[i] != want[i] {
			t.Errorf("wait[%d] = %v, want %v (all %v)", i, waits[i], want[i], waits)
		}
	}
	// Another family has its own bucket.
	if d, _ := l.reserve("GET /b"); d != 0 {
		t.Errorf("other family waits %v", d)
	}
	// After a second the bucket has refilled (to its burst).
	_ = clock.Sleep(context.Background(), time.Second)
	if d, _ := l.reserve("GET /a"); d != 0 {
		t.Errorf("after refill wait = %v", d)
	}
}

func TestLimiterPauses(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(-1, clock.Now, clock.Sleep)
	l.pause("GET /a", "jira-burst-based", clock.Now().Add(5*time.Second))
	if d, reserved := l.reserve("GET /a"); d != 5*time.Second || reserved {
		t.Errorf("burst-paused family: wait %v reserved %v", d, reserved)
	}
	if d, _ := l.reserve("GET /b"); d != 0 {
		t.Errorf("burst pause leaked to another family: %v", d)
	}
	l.pause("GET /a", "jira-quota-global-based", clock.Now().Add(time.Minute))
	if d, _ := l.reserve("GET /b"); d != time.Minute {
		t.Errorf("quota pause must stop every family: wait %v", d)
	}
	if err := l.wait(context.Background(), "GET /c"); err != nil {
		t.Fatal(err)
	}
	if got := clock.Sleeps(); len(got) != 1 || got[0] != time.Minute {
		t.Errorf("wait slept %v, want [1m]", got)
	}
}

func TestQuota429PausesOtherFamilies(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		n := len(paths)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "120")
			w.Header().Set("RateLimit-Reason", "jira-quota-tenant-based")
			writeJSON(w, 429, `{}`)
			return
		}
		writeJSON(w, 200, `{}`)
	})
	clock := newFakeClock()
	aSleeping := make(chan struct{})
	release := make(chan struct{})
	var calls atomic.Int32
	sleep := func(ctx context.Context, d time.Duration) error {
		if calls.Add(1) == 1 { // goroutine A backing off after the 429
			close(aSleeping)
			<-release
		}
		return clock.Sleep(ctx, d)
	}
	c, _, _ := newTLSServer(t, h, func(o *Options) {
		o.RateLimit = -1
		o.Now = clock.Now
		o.Sleep = sleep
	})
	errA := make(chan error, 1)
	go func() { errA <- c.GetJSON(context.Background(), "/rest/api/3/a", nil, nil) }()
	<-aSleeping
	// A quota-based 429 on family a must hold back family b too.
	if err := c.GetJSON(context.Background(), "/rest/api/3/b", nil, nil); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	got := clock.Sleeps()
	if len(got) != 2 || got[0] != 120*time.Second {
		t.Fatalf("sleeps = %v, want b to wait 120s for the quota pause before a's own 120s", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	var served atomic.Int64
	var failed sync.Map
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		// The first attempt of every third request fails.
		if id := r.URL.RawQuery; strings.HasSuffix(id, "0") || strings.HasSuffix(id, "3") || strings.HasSuffix(id, "6") {
			if _, seen := failed.LoadOrStore(id, true); !seen {
				writeJSON(w, 502, `{}`)
				return
			}
		}
		writeJSON(w, 200, `{"ok":true}`)
	})
	c, _, _ := newTLSServer(t, h, func(o *Options) {
		o.RateLimit = 100000
		o.Now = nil
		o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() } // no real backoff
	})
	var wg sync.WaitGroup
	errs := make(chan error, 160)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				path := "/rest/api/3/issue/" + string(rune('A'+g)) + "-1/comment"
				if i%2 == 0 {
					path = "/rest/api/3/myself"
				}
				var out struct{ OK bool }
				q := url.Values{"req": {fmt.Sprintf("%d-%d", g, i)}}
				if err := c.GetJSON(context.Background(), path, q, &out); err != nil {
					errs <- err
				} else if !out.OK {
					errs <- errors.New("not ok")
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.Retries() == 0 {
		t.Error("no retries happened")
	}
	if c.Requests() != served.Load() {
		t.Errorf("Requests() = %d, server saw %d", c.Requests(), served.Load())
	}
	var sum int64
	for _, n := range c.RequestsByFamily() {
		sum += n
	}
	if sum != c.Requests() {
		t.Errorf("family counts sum to %d, total %d", sum, c.Requests())
	}
}

func TestBodyTooLargeFailsFast(t *testing.T) {
	h, served := script(ok(`{"values":["` + strings.Repeat("x", 4096) + `"]}`))
	c, _, clock := newTLSServer(t, h, func(o *Options) { o.MaxBodyBytes = 1024 })
	err := c.GetJSON(WithTable(context.Background(), "issues"), "/rest/api/3/search/jql", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Fatalf("err = %v", err)
	}
	if served.Load() != 1 || len(clock.Sleeps()) != 0 {
		t.Errorf("oversized body retried: served %d sleeps %v", served.Load(), clock.Sleeps())
	}
}

func TestPersistentFailureNamesEndpointStatusTable(t *testing.T) {
	h, _ := script(status(502))
	c, _, _ := newTLSServer(t, h, func(o *Options) { o.MaxRetries = 2 })
	err := c.GetJSON(WithTable(context.Background(), "worklogs"), "/rest/api/3/worklog/updated", nil, nil)
	for _, want := range []string{"GET /rest/api/3/worklog/updated", "HTTP 502", "table worklogs", "after 3 attempts"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

// TestLimiterAdaptsToBurst429 follows one family's rate through burst and
// quota 429s: halved by a burst 429 (once per lowerEvery), never below
// minRate, untouched by a quota 429 or a limiter without a ceiling, and
// grown back by ceiling/recoverTime per second once the pause is over.
func TestLimiterAdaptsToBurst429(t *testing.T) {
	const fam = "GET /issue/{id}/comment"
	type step struct {
		advance  time.Duration // clock moves first
		burst429 bool          // a jira-burst-based 429 pausing 1 s
		quota429 bool          // a jira-quota-global-based 429 pausing 1 s
		// a 429 for too many requests in flight, pausing 1 s
		concurrent429 bool
		reserve       bool          // take a token (applies the recovery)
		pauseFor      time.Duration // the 429's pause; 1 s when zero
		wantRate      float64
		wantLowered   bool
	}
	tests := []struct {
		name    string
		ceiling float64
		steps   []step
	}{
		{name: "burst 429 halves, once per second", ceiling: 100, steps: []step{
			{reserve: true, wantRate: 100},
			{burst429: true, wantRate: 50, wantLowered: true},
			{advance: 300 * time.Millisecond, burst429: true, wantRate: 50},
			{advance: 800 * time.Millisecond, burst429: true, wantRate: 25, wantLowered: true},
		}},
		{name: "recovers additively after the pause, up to the ceiling", ceiling: 100, steps: []step{
			{burst429: true, wantRate: 50, wantLowered: true},
			// Paused until 1 s: no recovery while paused.
			{advance: time.Second, reserve: true, wantRate: 50},
			{advance: 6 * time.Second, reserve: true, wantRate: 70},
			{advance: 9 * time.Second, reserve: true, wantRate: 100},
			{advance: time.Minute, reserve: true, wantRate: 100},
		}},
		{name: "never below the minimum", ceiling: 3, steps: []step{
			{burst429: true, wantRate: 1.5, wantLowered: true},
			{advance: time.Second, burst429: true, wantRate: 1, wantLowered: true},
			{advance: time.Second, burst429: true, wantRate: 1},
		}},
		{name: "quota 429 pauses but keeps the rate", ceiling: 100, steps: []step{
			{quota429: true, wantRate: 100},
		}},
		{name: "no recovery during a quota pause either", ceiling: 100, steps: []step{
			{burst429: true, wantRate: 50, wantLowered: true},
			{advance: time.Second, reserve: true, wantRate: 50},
			// Every family paused from 1 s to 10 s (the quota's reset).
			{quota429: true, pauseFor: 9 * time.Second, wantRate: 50},
			{advance: 9 * time.Second, reserve: true, wantRate: 50},
			{advance: 3 * time.Second, reserve: true, wantRate: 60},
		}},
		{name: "too-many-at-once 429 pauses but keeps the rate", ceiling: 100, steps: []step{
			{concurrent429: true, wantRate: 100},
		}},
		{name: "no ceiling, nothing to lower", ceiling: -1, steps: []step{
			{burst429: true, wantRate: -1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			l := newLimiter(tt.ceiling, clock.Now, clock.Sleep)
			for i, st := range tt.steps {
				_ = clock.Sleep(context.Background(), st.advance)
				lowered := false
				pause := cmp.Or(st.pauseFor, time.Second)
				switch {
				case st.burst429:
					_, _, lowered = l.pause(fam, "jira-burst-based", clock.Now().Add(pause))
				case st.quota429:
					_, _, lowered = l.pause(fam, "jira-quota-global-based", clock.Now().Add(pause))
				case st.concurrent429:
					_, _, lowered = l.pause(fam, "jira-max-concurrent-threads-across-all-instances-per-tenant-per-user", clock.Now().Add(time.Second))
					if d, _ := l.reserve(fam); d != time.Second {
						t.Fatalf("step %d: the family is not paused for Retry-After: wait %v", i, d)
					}
				}
				if st.reserve {
					l.reserve(fam)
				}
				if got := l.rateOf(fam); math.Abs(got-st.wantRate) > 1e-9 || lowered != st.wantLowered {
					t.Fatalf("step %d: rate %v lowered %v, want %v %v", i, got, lowered, st.wantRate, st.wantLowered)
				}
			}
		})
	}
}

// TestLimiterLoweredRateSpacesRequests: after a halving the bucket refills
// at the lowered rate, and another family keeps the ceiling.
func TestLimiterLoweredRateSpacesRequests(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(20, clock.Now, clock.Sleep) // burst 4
	l.pause("GET /a", "", clock.Now())          // no reason: a burst limit (Data Center, gateways)
	var waits []time.Duration
	for range 4 {
		d, _ := l.reserve("GET /a")
		waits = append(waits, d)
	}
	// Rate 10, burst 2: two at once, then one every 100 ms.
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Errorf("waits at the lowered rate = %v, want %v", waits, want)
	}
	if got := l.rateOf("GET /b"); got != 20 {
		t.Errorf("another family's rate = %v, want the ceiling 20", got)
	}
}

func TestRetryableStatus(t *testing.T) {
	tests := []struct {
		method string
		status int
		want   bool
	}{
		{http.MethodGet, 429, true}, {http.MethodPost, 429, true},
		{http.MethodGet, 503, true}, {http.MethodGet, 500, true}, {http.MethodGet, 502, true}, {http.MethodGet, 504, true},
		{http.MethodGet, 409, true}, {http.MethodPost, 409, false},
		{http.MethodGet, 400, false}, {http.MethodGet, 401, false}, {http.MethodGet, 403, false},
		{http.MethodGet, 404, false}, {http.MethodGet, 410, false}, {http.MethodPost, 413, false},
	}
	for _, tt := range tests {
		if got := retryableStatus(tt.method, tt.status); got != tt.want {
			t.Errorf("retryableStatus(%s, %d) = %v, want %v", tt.method, tt.status, got, tt.want)
		}
	}
}

// TestLimiterFollowsDataCenterUserLimit: once an answer states a Data
// Center user's bucket (capacity 3, 5 a second), every family shares it:
// requests are spaced at its fill rate whatever jsync's own rate.
func TestLimiterFollowsDataCenterUserLimit(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(100, clock.Now, clock.Sleep)
	if l.observe(http.Header{"X-Ratelimit-Limit": {"350"}, "X-Ratelimit-Remaining": {"0"}}) {
		t.Fatal("a Cloud answer (no fill rate) taken for a Data Center user's limit")
	}
	if !l.observe(http.Header{"X-Ratelimit-Limit": {"3"}, "X-Ratelimit-Remaining": {"2"},
		"X-Ratelimit-Fillrate": {"5"}, "X-Ratelimit-Interval-Seconds": {"1"}, "Retry-After": {"0"}}) {
		t.Fatal("Data Center headers not read")
	}
	var waits []time.Duration
	for _, family := range []string{"GET /a", "GET /b", "GET /c", "GET /d", "GET /e"} {
		d, reserved := l.reserve(family)
		if !reserved {
			t.Fatal("not reserved without a pause")
		}
		waits = append(waits, d)
	}
	// 2 tokens remain, then one every 200 ms, across families.
	want := []time.Duration{0, 0, 200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	// A pause for the user's 429 holds every family, lowering no rate.
	_ = clock.Sleep(context.Background(), time.Second)
	l.pauseAll(clock.Now().Add(2 * time.Second))
	if d, reserved := l.reserve("GET /z"); d != 2*time.Second || reserved {
		t.Errorf("after a user 429: wait %v reserved %v, want 2s and not reserved", d, reserved)
	}
}

// TestDataCenterUserLimit429PausesAll: a Data Center 429 (no reason, the
// user's bucket headers) pauses every family for its Retry-After.
func TestDataCenterUserLimit429PausesAll(t *testing.T) {
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "10")
		w.Header().Set("X-RateLimit-FillRate", "10")
		w.Header().Set("X-RateLimit-Interval-Seconds", "1")
		if n.Add(1) == 1 {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", "3")
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(429)
			_, _ = w.Write([]byte("<html>Rate limit exceeded.</html>"))
			return
		}
		w.Header().Set("X-RateLimit-Remaining", "9")
		w.Header().Set("Retry-After", "0")
		writeJSON(w, 200, `{}`)
	})
	clock := newFakeClock()
	var c *Client
	var during time.Duration
	c, _, _ = newTLSServer(t, h, func(o *Options) {
		o.Jitter = func() float64 { return 1 }
		o.Now = clock.Now
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			if during == 0 {
				during, _ = c.lim.reserve("GET /rest/api/2/b")
			}
			return clock.Sleep(ctx, d)
		}
	})
	if err := c.GetJSON(context.Background(), "/rest/api/2/a", nil, nil); err != nil {
		t.Fatal(err)
	}
	if during != 3*time.Second {
		t.Errorf("another family during the user's 429 pause waits %v, want 3s", during)
	}
	if got := clock.Sleeps(); len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("slept %v, want [3s]", got)
	}
	for family, b := range c.lim.buckets {
		if b.rate != c.lim.rate {
			t.Errorf("%s: rate lowered to %v by the user's 429", family, b.rate)
		}
	}
}

// TestRefusedBeforeAnyAnswer: connections refused before the site has
// answered anything (a wrong port, a site down) fail after 3 attempts
// instead of a minute of retries; once it has answered, a refusal (a
// restart) is retried as long as any transient failure.
func TestRefusedBeforeAnyAnswer(t *testing.T) {
	for _, tc := range []struct {
		name       string
		answered   bool
		wantSleeps []time.Duration
		wantErr    string
	}{
		{"never answered", false, []time.Duration{1 * time.Second, 2 * time.Second}, "no request to this site has been answered: check base_url"},
		{"answered before", true, []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, "gave up after 5 attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, srv, clock := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) }),
				func(o *Options) { o.MaxRetries = 4; o.RateLimit = -1 })
			var out map[string]any
			if tc.answered {
				if err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, &out); err != nil {
					t.Fatal(err)
				}
			}
			srv.Close()
			err := c.GetJSON(context.Background(), "/rest/api/3/myself", nil, &out)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if got := clock.Sleeps(); !slices.Equal(got, tc.wantSleeps) {
				t.Errorf("slept %v, want %v", got, tc.wantSleeps)
			}
		})
	}
}
