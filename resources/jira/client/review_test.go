package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The server says no token remains (another client of the same user spent
// them) well after the limiter's last reservation: the next request must
// wait for a refill, not go out at once.
func TestObserveRemainingAfterGap(t *testing.T) {
	clock := newFakeClock()
	l := newLimiter(-1, clock.Now, clock.Sleep)
	h := http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {"10"},
		"X-Ratelimit-Fillrate": {"1"}, "X-Ratelimit-Interval-Seconds": {"1"}}
	if !l.observe(h) {
		t.Fatal("not observed")
	}
	if d, _ := l.reserve("GET /a"); d != 0 {
		t.Fatalf("first wait %v", d)
	}
	// A slow request: its answer comes 10 s later, saying 0 remain.
	_ = clock.Sleep(context.Background(), 10*time.Second)
	h.Set("X-Ratelimit-Remaining", "0")
	l.observe(h)
	d, _ := l.reserve("GET /a")
	if d < time.Second-time.Millisecond {
		t.Errorf("server says 0 tokens remain now, refill 1/s; next request waits %v, want ~1s (tokens %v)", d, l.user.tokens)
	}
}

// A secret the error body carries JSON-escaped (a password with a quote)
// must be redacted in the decoded message too, not only in the raw body.
func TestEscapedSecretInJSONMessage(t *testing.T) {
	const pw = `pa"ss-w0rd`
	c, _, _ := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"errorMessages":["login failed for pa\"ss-w0rd"]}`))
	}), func(o *Options) {
		o.MaxRetries = -1
		o.RateLimit = -1
		o.Auth = Auth{Username: "bob", Password: pw}
	})
	err := c.GetJSON(context.Background(), "/rest/api/2/myself", nil, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	var herr *HTTPError
	errors.As(err, &herr)
	for _, s := range []string{err.Error(), strings.Join(herr.Messages, " | ")} {
		if strings.Contains(s, pw) {
			t.Errorf("error shows the password: %s", s)
		}
	}
}
