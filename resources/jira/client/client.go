// Package client is jsync's HTTP client for the Jira REST API (Cloud and
// Data Center). It handles authentication, TLS, per-endpoint-family rate
// limiting, retries with backoff that honours Retry-After and
// X-RateLimit-Reset, user-facing errors that never reveal credentials, and
// the six pagination styles Jira uses (see pages.go).
//
// Every request sends Accept: application/json, Accept-Language: en (so
// dates never arrive in a locale format) and User-Agent: jsync/<version>.
package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jsync-dev/jsync/engine/jsonscan"
)

// Defaults for Options.
const (
	// DefaultRateLimit is Jira Cloud's documented default burst limit for
	// GET and POST, per endpoint: the ceiling of each endpoint family's
	// rate, which a burst 429 halves (see limiter).
	DefaultRateLimit   = 100 // requests/s per endpoint family
	DefaultMaxRetries  = 6
	DefaultTimeout     = 60 * time.Second
	DefaultBaseBackoff = 1 * time.Second
	DefaultMaxBackoff  = 30 * time.Second
	DefaultMaxWait     = 15 * time.Minute
	// refusedFirstAttempts bounds the attempts of a request refused
	// before the site has answered any (1 s and 2 s of backoff).
	refusedFirstAttempts = 3
	// quotaMaxWait is the longest wait for an hourly quota's reset (at the
	// top of the UTC hour), with a minute to spare.
	quotaMaxWait      = 61 * time.Minute
	DefaultMaxBody    = 256 << 20
	DefaultGatewayURL = "https://api.atlassian.com"
)

// DefaultUserAgent is "jsync/<version>" from the build information of the
// running binary ("jsync/dev" when built from a working tree).
var DefaultUserAgent = userAgent()

func userAgent() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return "jsync/" + strings.TrimPrefix(bi.Main.Version, "v")
	}
	return "jsync/dev"
}

// Options configures a Client. Only BaseURL (or CloudID) is required.
type Options struct {
	// BaseURL is the site, e.g. https://example.atlassian.net or
	// https://jira.example.com/jira (a context path is kept).
	BaseURL string
	// CloudID, if set, sends every request through the gateway
	// https://api.atlassian.com/ex/jira/{cloudId} (scoped API tokens and
	// service accounts). BaseURL is then informational only.
	CloudID string
	// GatewayURL overrides https://api.atlassian.com (tests only).
	GatewayURL string
	Auth       Auth
	// CAFile is a PEM bundle trusted in addition to RootCAs (or the system
	// pool when RootCAs is nil).
	CAFile string
	// RootCAs replaces the system pool as the base trust store.
	RootCAs *x509.CertPool
	// AllowHTTP permits http:// URLs. Only for the simulator and tests.
	AllowHTTP bool
	// RateLimit is the steady request rate per endpoint family, in
	// requests/s. 0 means DefaultRateLimit; negative disables limiting.
	RateLimit float64
	// MaxRetries bounds the retries of one request. 0 means
	// DefaultMaxRetries; negative means no retries.
	MaxRetries int
	// UserAgent defaults to DefaultUserAgent: "jsync/<module version>", or
	// "jsync/dev" in a development build.
	UserAgent string
	// Timeout bounds one attempt (connect to last body byte). 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Transport replaces the default TLS-verifying transport (tests, or
	// instrumentation). CAFile and RootCAs must then be empty.
	Transport http.RoundTripper
	// Logger receives debug lines per request and warnings per retry. Nil
	// discards.
	Logger *slog.Logger
	// SourceName and ConfiguredCAFile only word the advice given with
	// connection errors: the source's name in the configuration
	// (source "jira" "NAME") and its ca_file, which a custom Transport
	// may trust already (CAFile names it otherwise).
	SourceName, ConfiguredCAFile string

	// BaseBackoff is the first retry delay (doubled per retry, jittered by
	// U(0.7,1.3)); MaxBackoff caps it. Retry-After and X-RateLimit-Reset
	// are honoured even when longer than MaxBackoff, up to MaxWait: a
	// server asking for a longer wait fails the request instead.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	MaxWait     time.Duration
	// MaxBodyBytes bounds a response body. 0 means DefaultMaxBody.
	MaxBodyBytes int64

	// Now and Sleep replace the clock (tests). Sleep must return ctx.Err()
	// when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a factor for backoff delays; default U(0.7, 1.3).
	Jitter func() float64
}

// Client talks to one Jira deployment. It is safe for concurrent use; the
// rate limiter and counters are shared by all goroutines.
type Client struct {
	base    *url.URL
	site    string
	auth    Auth
	secrets []string
	hc      *http.Client
	opts    Options
	log     *slog.Logger
	lim     *limiter

	requests atomic.Int64
	retries  atomic.Int64
	// answered is set once the site has answered a request (any status).
	answered atomic.Bool
	mu       sync.Mutex
	byFamily map[string]int64
	// sizes is the body size of each family's last response: the next
	// body's buffer starts at about that size (see readBody).
	sizes map[string]int
	// prefetch holds a slot for each cursor loop holding a page fetched
	// ahead although its pages take longer to handle than to fetch (see
	// cursorPages and prefetchSlots).
	prefetch chan struct{}
}

// prefetchSlots bounds the cursor loops that fetch their next page ahead
// while their pages take longer to handle than to fetch: one per CPU.
// Fetching ahead overlaps a page's round trip with the handling of the
// page before it. When the round trip is the longer part (a remote site)
// every loop gains and may; when handling is (a site on the same network),
// the loops are bound by the CPU, and beyond one per CPU a page fetched
// ahead only waits, held in memory (a search page of 100 issues is a few
// MB). Measured on 2 cores, alternating runs against every slice fetching
// ahead: 200,000 issues without latency, peak RSS 550 against 569 MB in
// 131.0 against 133.6 s; 50,000 issues, 494 and 493 against 524 and
// 520 MB in 31.1 and 30.6 against 29.3 and 30.5 s; 20,000 issues at
// 150 ms, where every loop still fetches ahead, 15.41 against 15.42 s
// (medians of 3; see BENCHMARKS.md).
func prefetchSlots() int { return runtime.GOMAXPROCS(0) }

// New validates opts and builds a Client. It does no network I/O (it reads
// CAFile if set).
func New(opts Options) (*Client, error) {
	if err := opts.Auth.validate(); err != nil {
		return nil, err
	}
	raw := opts.BaseURL
	if opts.CloudID != "" {
		if strings.ContainsAny(opts.CloudID, "/?#% ") {
			return nil, fmt.Errorf("cloud_id %q: must be the bare cloud id", opts.CloudID)
		}
		gw := opts.GatewayURL
		if gw == "" {
			gw = DefaultGatewayURL
		}
		raw = strings.TrimRight(gw, "/") + "/ex/jira/" + url.PathEscape(opts.CloudID)
	}
	if raw == "" {
		return nil, errors.New("jira base URL is empty: set base_url (or cloud_id)")
	}
	base, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("jira base URL %q: %w", raw, err)
	}
	switch base.Scheme {
	case "https":
	case "http":
		if !opts.AllowHTTP {
			return nil, fmt.Errorf("jira base URL %q: must use https:// (credentials are never sent in clear text)", raw)
		}
	default:
		return nil, fmt.Errorf("jira base URL %q: must be an https:// URL", raw)
	}
	if base.Host == "" {
		return nil, fmt.Errorf("jira base URL %q: no host", raw)
	}
	if base.User != nil {
		return nil, errors.New("jira base URL must not contain credentials; use the auth settings")
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("jira base URL %q: must not have a query or fragment", raw)
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""

	if opts.RateLimit == 0 {
		opts.RateLimit = DefaultRateLimit
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = DefaultMaxRetries
	} else if opts.MaxRetries < 0 {
		opts.MaxRetries = 0
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = DefaultBaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Jitter == nil {
		opts.Jitter = defaultJitter
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	transport := opts.Transport
	if transport == nil {
		tlsConf, err := tlsConfig(opts.RootCAs, opts.CAFile)
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConf
		t.MaxIdleConnsPerHost = 32
		transport = t
	} else if opts.CAFile != "" || opts.RootCAs != nil {
		return nil, errors.New("client options: CAFile/RootCAs cannot be combined with a custom Transport")
	}

	c := &Client{
		base:     base,
		site:     opts.BaseURL,
		auth:     opts.Auth,
		secrets:  opts.Auth.secrets(),
		opts:     opts,
		log:      log,
		lim:      newLimiter(opts.RateLimit, opts.Now, opts.Sleep),
		byFamily: map[string]int64{},
		sizes:    map[string]int{},
		prefetch: make(chan struct{}, prefetchSlots()),
	}
	c.hc = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("%w: stopped after 5 redirects", errRedirect)
			}
			if req.URL.Scheme != "https" && !opts.AllowHTTP {
				return fmt.Errorf("%w: refusing redirect to non-https URL %s", errRedirect, req.URL.Redacted())
			}
			return nil
		},
	}
	return c, nil
}

// errRedirect marks a redirect the client refused; it is not retried.
var errRedirect = errors.New("redirect refused")

// tlsConfig builds a verifying TLS configuration. There is deliberately no
// way to turn verification off.
func tlsConfig(roots *x509.CertPool, caFile string) (*tls.Config, error) {
	pool := roots
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		if pool == nil {
			sys, err := x509.SystemCertPool()
			if err != nil || sys == nil {
				sys = x509.NewCertPool()
			}
			pool = sys
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificates found", caFile)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// BaseURL is the URL every request path is appended to (the gateway URL
// when CloudID is set).
func (c *Client) BaseURL() string { return c.base.String() }

// Gateway reports whether requests go through the api.atlassian.com gateway.
func (c *Client) Gateway() bool { return c.opts.CloudID != "" }

// Requests is the number of HTTP requests sent so far, retries included.
func (c *Client) Requests() int64 { return c.requests.Load() }

// Retries is the number of requests that were retries.
func (c *Client) Retries() int64 { return c.retries.Load() }

// RequestsByFamily counts requests per endpoint family, e.g.
// "GET /rest/api/3/issue/{id}/comment". The map is a copy.
func (c *Client) RequestsByFamily() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.byFamily))
	for k, v := range c.byFamily {
		out[k] = v
	}
	return out
}

// Response is a successful (2xx) answer.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Attempts int
	// doc validates and indexes Body when it is JSON (see ValidJSON).
	doc *jsonscan.Doc
}

// ValidJSON reports whether Body was checked to be valid JSON; decoders
// may then split it without validating again (package jsonscan).
func (r *Response) ValidJSON() bool { return r.doc != nil }

// GetJSON GETs path and decodes the JSON body into out (nil discards it).
func (c *Client) GetJSON(ctx context.Context, path string, query url.Values, out any) error {
	return c.doJSON(ctx, http.MethodGet, path, query, nil, out)
}

// PostJSON POSTs body as JSON to path and decodes the answer into out.
// jsync only POSTs read operations (search, bulk fetches), which are
// idempotent, so POSTs are retried like GETs.
func (c *Client) PostJSON(ctx context.Context, path string, query url.Values, body, out any) error {
	return c.doJSON(ctx, http.MethodPost, path, query, body, out)
}

func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.Do(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return c.decodeError(ctx, method, path, resp.Body, err)
	}
	return nil
}

// DecodeError is a 2xx response whose body could not be decoded.
type DecodeError struct {
	Method, Endpoint, Table string
	Err                     error
	Snippet                 string // start of the body, secret-free
}

func (e *DecodeError) Error() string {
	t := tableNote(e.Table)
	hint := ""
	if strings.HasPrefix(strings.TrimSpace(e.Snippet), "<") {
		hint = " — got HTML or XML instead of JSON: is base_url the Jira REST root, and is a login (SSO) or proxy page in the way?"
	}
	return fmt.Sprintf("jira: %s %s%s: decode response: %v; body starts %q%s", e.Method, e.Endpoint, t, e.Err, e.Snippet, hint)
}

func (c *Client) decodeError(ctx context.Context, method, path string, body []byte, err error) *DecodeError {
	return &DecodeError{Method: method, Endpoint: path, Table: TableFrom(ctx), Err: err, Snippet: c.snippet(body)}
}

func (e *DecodeError) Unwrap() error { return e.Err }

func (c *Client) snippet(body []byte) string {
	// Redacted whole, then cut: a secret across the cut would show in part.
	return truncate(redact(string(body), c.secrets), 200)
}

// Do sends one logical request, retrying as described in the package doc,
// and returns the 2xx response. path is relative to the base URL, starts
// with "/" and is URL-escaped (build segments with url.PathEscape), e.g.
// "/rest/api/3/myself"; query may be nil. body, if not nil,
// is sent as JSON ([]byte and json.RawMessage are sent as they are).
// Failures are *HTTPError (non-2xx), *DecodeError, or a wrapped transport
// error; none contains credentials.
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body any) (*Response, error) {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?#") || strings.Contains(path, "://") {
		return nil, fmt.Errorf("jira: %s %q: path must start with / and carry no query (use the query argument)", method, path)
	}
	var payload []byte
	if body != nil {
		switch b := body.(type) {
		case []byte:
			payload = b
		case json.RawMessage:
			payload = b
		default:
			var err error
			if payload, err = json.Marshal(body); err != nil {
				return nil, fmt.Errorf("jira: %s %s: encode body: %w", method, path, err)
			}
		}
	}
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("jira: %s %q: bad path escape: %w", method, path, err)
	}
	u := *c.base
	u.Path = c.base.Path + unescaped
	u.RawPath = c.base.EscapedPath() + path
	u.RawQuery = query.Encode()
	family := Family(method, path)
	table := TableFrom(ctx)

	var lastErr error
	for attempt := 0; ; attempt++ {
		if err := c.lim.wait(ctx, family); err != nil {
			return nil, c.ctxErr(method, path, err, lastErr)
		}
		resp, err := c.attempt(ctx, method, &u, family, payload)
		userLimited := err == nil && c.lim.observe(resp.Header)
		n := attempt + 1
		var wait time.Duration
		switch {
		case err == nil && resp.Status >= 200 && resp.Status < 300:
			if terr := brokenJSON(resp); terr != nil {
				lastErr = c.decodeError(ctx, method, path, resp.Body, terr)
				wait = c.backoff(attempt)
				break
			}
			resp.Attempts = n
			return resp, nil
		case err == nil:
			herr := c.httpError(method, path, table, resp, n)
			if !retryableStatus(method, resp.Status) {
				return nil, herr
			}
			lastErr = herr
			wait = c.backoff(attempt)
			if resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusServiceUnavailable {
				if hint, ok := c.serverWait(resp.Header); ok {
					// An hourly quota (apps' points on Jira Cloud) is a
					// wall until the top of the UTC hour, when it resets:
					// every request pauses until then, as Atlassian
					// advises, whatever MaxWait.
					quota := strings.HasPrefix(herr.Reason, "jira-quota")
					limit := c.opts.MaxWait
					if quota {
						limit = max(limit, quotaMaxWait)
					}
					if hint > limit {
						herr.Messages = append(herr.Messages, fmt.Sprintf("server asked to wait %s, more than the %s limit", hint.Round(time.Second), limit))
						return nil, herr
					}
					if hint > wait {
						// Never shorter than the server asked; spread
						// waiters over up to 30% more (30 s more for a
						// quota) so they do not all return at the same
						// instant.
						spread := time.Duration(float64(hint) * max(0, c.opts.Jitter()-1))
						if quota {
							spread = min(spread, 30*time.Second)
						}
						wait = hint + spread
					}
					if quota && hint >= time.Minute {
						c.log.Warn("jira hourly quota used up: every request pauses until it resets", "rate_limit_reason", herr.Reason,
							"until", c.opts.Now().Add(wait).UTC().Format(time.RFC3339))
					}
				}
				if userLimited {
					// A Data Center user's limit covers every endpoint.
					c.lim.pauseAll(c.opts.Now().Add(wait))
				} else if from, to, ok := c.lim.pause(family, herr.Reason, c.opts.Now().Add(wait)); ok {
					c.log.Info("jira rate limit: request rate for this endpoint lowered", "family", family,
						"from", math.Round(from*10)/10, "to", math.Round(to*10)/10, "rate_limit_reason", herr.Reason)
				}
			}
		default:
			if ctx.Err() != nil {
				return nil, c.ctxErr(method, path, ctx.Err(), lastErr)
			}
			if !retryableTransport(err) {
				msg := redact(err.Error(), c.secrets)
				if advice := transportAdvice(err, c.opts.SourceName, cmp.Or(c.opts.CAFile, c.opts.ConfiguredCAFile)); advice != "" {
					msg += " — " + advice
				}
				return nil, fmt.Errorf("jira: %s %s: %s", method, path, msg)
			}
			lastErr = fmt.Errorf("jira: %s %s: %s", method, path, redact(err.Error(), c.secrets))
			if !c.answered.Load() && errors.Is(err, syscall.ECONNREFUSED) && attempt+1 >= refusedFirstAttempts {
				// Nothing has ever answered at this address: a wrong
				// base_url or port, or a site that is down, which a
				// minute of retries would only delay reporting.
				return nil, fmt.Errorf("%w (refused %d times, and no request to this site has been answered: check base_url and that the site is up)", lastErr, attempt+1)
			}
			wait = c.backoff(attempt)
		}
		if attempt >= c.opts.MaxRetries {
			switch lastErr.(type) {
			case *HTTPError, *DecodeError:
				return nil, lastErr
			}
			if n == 1 {
				return nil, lastErr
			}
			return nil, fmt.Errorf("%w (gave up after %d attempts)", lastErr, n)
		}
		c.retries.Add(1)
		reason := ""
		if herr, ok := lastErr.(*HTTPError); ok {
			reason = herr.Reason
		}
		c.log.Warn("jira request failed; retrying", "method", method, "endpoint", path, tableAttr(table),
			"attempt", n, "wait", wait, "rate_limit_reason", reason, "error", lastErr.Error())
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return nil, c.ctxErr(method, path, err, lastErr)
		}
	}
}

func (c *Client) ctxErr(method, path string, err, last error) error {
	if last != nil {
		return fmt.Errorf("jira: %s %s: %w (last failure: %v)", method, path, err, last)
	}
	return fmt.Errorf("jira: %s %s: %w", method, path, err)
}

// attempt sends one HTTP request and reads the whole body.
func (c *Client) attempt(ctx context.Context, method string, u *url.URL, family string, payload []byte) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h := c.auth.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	c.requests.Add(1)
	c.mu.Lock()
	c.byFamily[family]++
	hint := c.sizes[family]
	c.mu.Unlock()

	start := c.opts.Now()
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	c.answered.Store(true)
	defer res.Body.Close()
	body, err := readBody(io.LimitReader(res.Body, c.opts.MaxBodyBytes+1), hint)
	if err != nil {
		return nil, fmt.Errorf("read body (HTTP %d): %w", res.StatusCode, err)
	}
	if int64(len(body)) > c.opts.MaxBodyBytes {
		return nil, &bodyTooLarge{limit: c.opts.MaxBodyBytes}
	}
	c.mu.Lock()
	c.sizes[family] = len(body)
	c.mu.Unlock()
	c.log.Debug("jira request", "method", method, "family", family, "status", res.StatusCode,
		"bytes", len(body), "elapsed", c.opts.Now().Sub(start))
	return &Response{Status: res.StatusCode, Header: res.Header, Body: body}, nil
}

type bodyTooLarge struct{ limit int64 }

func (e *bodyTooLarge) Error() string {
	return fmt.Sprintf("response body larger than %d bytes", e.limit)
}

func (c *Client) httpError(method, path, table string, resp *Response, attempts int) *HTTPError {
	ct := resp.Header.Get("Content-Type")
	// Everything shown is redacted before it is cut to length: a secret
	// across the cut would show in part.
	body := redact(string(resp.Body), c.secrets)
	msgs := errorMessages([]byte(body), ct)
	for i := range msgs {
		// Decoded, a secret escaped in the body (\" or \/ in JSON,
		// &amp; in XML) reads as itself.
		msgs[i] = redact(msgs[i], c.secrets)
	}
	if reason := resp.Header.Get("X-Authentication-Denied-Reason"); reason != "" {
		// Data Center after repeated failed logins: CAPTCHA_CHALLENGE.
		msgs = append(msgs, "login denied by Jira ("+truncate(redact(reason, c.secrets), 120)+"): log in once in a browser to clear it, then check the credentials")
	}
	return &HTTPError{
		Method:   method,
		Endpoint: path,
		Table:    table,
		Status:   resp.Status,
		Messages: msgs,
		Body:     truncate(strings.TrimSpace(body), maxErrorBody),
		Reason:   resp.Header.Get("RateLimit-Reason"),
		Attempts: attempts,
	}
}

// brokenJSON reports a 2xx JSON body that ends early (a cut connection
// behind a proxy) or is not valid JSON (a proxy or a node in trouble):
// both are retried, and the last attempt's error is a DecodeError.
func brokenJSON(resp *Response) error {
	ct := resp.Header.Get("Content-Type")
	if len(bytes.TrimSpace(resp.Body)) == 0 || (ct != "" && !strings.Contains(ct, "json")) {
		return nil
	}
	// One pass validates the body and indexes its containers.
	if resp.doc = jsonscan.Index(resp.Body); resp.doc != nil {
		return nil
	}
	// A body cut short may still end in whitespace (a cut inside `true`
	// followed by a newline reads as "invalid character ' ' in literal
	// true"), so judge the body without its trailing whitespace.
	body := bytes.TrimRight(resp.Body, " \t\r\n")
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	// Go reports the end of input inside a literal (`tru`) as "invalid
	// character ' ' in literal" at the body's very end.
	cutLiteral := errors.As(err, &se) && strings.Contains(se.Error(), "invalid character ' ' in literal") && se.Offset >= int64(len(body))
	if errors.As(err, &se) && (strings.Contains(se.Error(), "unexpected end of JSON input") || cutLiteral) {
		return fmt.Errorf("truncated JSON response (%d bytes)", len(resp.Body))
	}
	// Invalid JSON that looks like JSON is retried too; a body that is not
	// JSON at all (an HTML page from a proxy) would only be sent again.
	if lead := bytes.TrimLeft(body, " \t\r\n"); err != nil && (lead[0] == '{' || lead[0] == '[') {
		return fmt.Errorf("invalid JSON response (%d bytes): %w", len(resp.Body), err)
	}
	return nil
}

// readBody reads r to its end like io.ReadAll, but into a buffer that
// starts at hint plus an eighth (the size of the family's last body) when
// hint is known. Jira sends pages chunked, without a Content-Length, and a
// search page is megabytes: growing from io.ReadAll's 512 bytes allocated
// and copied about 2.5 times each body.
func readBody(r io.Reader, hint int) ([]byte, error) {
	b := make([]byte, 0, max(512, hint+hint/8))
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append grow the buffer
		}
	}
}
