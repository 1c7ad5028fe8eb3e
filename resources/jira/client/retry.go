package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryableStatus: 429 and 503 (rate limiting, honouring the server's wait)
// and 500, 502, 504 (transient), and 409 to a GET: Jira answers it when a
// read took too long on its side (users/search past 10 s); its other 409s
// are conflicts of writes, which jsync does not make. Everything else
// fails fast.
func retryableStatus(method string, status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable,
		http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	case http.StatusConflict:
		return method == http.MethodGet
	}
	return false
}

// retryableTransport: connection resets, EOFs, timeouts and truncated bodies
// are retried; certificate problems, plain HTTP where TLS was expected,
// unknown host names, a refused redirect and oversized bodies are not.
func retryableTransport(err error) bool {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verifyErr *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		tooLarge  *bodyTooLarge
		dnsErr    *net.DNSError
	)
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false // a mistyped host name does not heal by waiting
	}
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid),
		errors.As(err, &verifyErr), errors.As(err, &recordErr), errors.Is(err, http.ErrSchemeMismatch),
		errors.As(err, &tooLarge), errors.Is(err, errRedirect):
		return false
	}
	return true
}

// backoff is the delay before retry number attempt+1: BaseBackoff doubled per
// attempt, capped at MaxBackoff, times a jitter factor.
func (c *Client) backoff(attempt int) time.Duration {
	d := float64(c.opts.BaseBackoff) * math.Pow(2, float64(attempt))
	if d > float64(c.opts.MaxBackoff) {
		d = float64(c.opts.MaxBackoff)
	}
	return time.Duration(d * c.opts.Jitter())
}

// serverWait is the wait the server asks for: Retry-After (seconds or an
// HTTP-date), else X-RateLimit-Reset (ISO-8601, seconds optional).
func (c *Client) serverWait(h http.Header) (time.Duration, bool) {
	now := c.opts.Now()
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if d, ok := parseRetryAfter(v, now); ok {
			return d, true
		}
	}
	for _, name := range []string{"X-RateLimit-Reset", "X-Beta-RateLimit-Reset"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if t, ok := parseResetTime(v); ok {
				return max(t.Sub(now), 0), true
			}
		}
	}
	return 0, false
}

// parseRetryAfter accepts delta-seconds (integer or decimal) or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return 0, true
		}
		if secs > float64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

var resetLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
}

// parseResetTime parses X-RateLimit-Reset, e.g. 2026-01-01T01:01:01Z or
// 2026-03-26T16:00Z. A value without a zone is taken as UTC.
func parseResetTime(v string) (time.Time, bool) {
	for _, layout := range resetLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Pause waits as the client would before retry number attempt+1 of a
// request (its backoff, with jitter), or until ctx ends. It is for an
// answer that succeeded but asks, in its content, to try part of it again:
// issue/bulkfetch's issueErrors.
func (c *Client) Pause(ctx context.Context, attempt int) error {
	return c.opts.Sleep(ctx, c.backoff(attempt))
}

func defaultJitter() float64 { return 0.7 + 0.6*rand.Float64() }

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
