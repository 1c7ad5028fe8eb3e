package client

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Recognisable secrets: tests grep every output for them.
const (
	testEmail    = "robot@example.com"
	testToken    = "ATATT-SECRET-TOKEN-3x4mpl3"
	testPAT      = "PAT-SECRET-NjQ5MzQ2"
	testPassword = "hunter2-SECRET-pw"
)

// fakeClock is an injectable clock: Sleep records the wait and advances Now
// instantly, so backoff tests never really sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 26, 15, 59, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	if d > 0 {
		f.now = f.now.Add(d)
	}
	f.mu.Unlock()
	return ctx.Err()
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// newTLSServer starts an HTTPS test server and returns a client that trusts
// it (through RootCAs, not a custom transport, so the real TLS config is
// exercised) and uses a fake clock.
func newTLSServer(t *testing.T, h http.Handler, mod ...func(*Options)) (*Client, *httptest.Server, *fakeClock) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake noise from reset tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	clock := newFakeClock()
	opts := Options{
		BaseURL: srv.URL,
		Auth:    Auth{Email: testEmail, APIToken: testToken},
		RootCAs: pool,
		Now:     clock.Now,
		Sleep:   clock.Sleep,
		Jitter:  func() float64 { return 1 },
	}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, srv, clock
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	switch b := v.(type) {
	case []byte:
		_, _ = w.Write(b)
	case string:
		_, _ = w.Write([]byte(b))
	default:
		_ = json.NewEncoder(w).Encode(v)
	}
}

// rateOf is the family's current rate (the ceiling for a family not yet
// used).
func (l *limiter) rateOf(family string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[family]; ok {
		return b.rate
	}
	return l.rate
}
