// Package jirasim is an in-process simulator of the Jira Cloud and Data Center
// REST APIs (platform v2/v3 and Agile 1.0), built for tests, demos and
// benchmarks. Shapes follow the official OpenAPI documents and real captured
// payloads; the dataset is deterministic from a seed and generated lazily so
// that hundreds of thousands of issues stay cheap.
package jirasim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Flavours.
const (
	FlavorCloud      = "cloud"
	FlavorDataCenter = "datacenter"
)

// Default credentials, used when Options leaves them empty.
const (
	DefaultEmail = "admin@example.com"
	DefaultToken = "sim-api-token"
	DefaultPAT   = "sim-personal-access-token"
	// Data Center also takes basic authentication with a user's password.
	DefaultUsername = "admin"
	DefaultPassword = "sim-password"
)

// The restricted user sees only some projects (ALPHA, OPS and DATA). Use these
// credentials to test "replicate only what the user can access".
const (
	RestrictedEmail = "restricted@example.com"
	RestrictedToken = "restricted-api-token"
	RestrictedPAT   = "restricted-personal-access-token"
)

// Options configures a simulator. The zero value is a Cloud site with 1000
// issues, seed 1, default credentials, TLS and the default limits.
type Options struct {
	Addr   string // listen address; "" = 127.0.0.1:0
	Issues int    // number of issues; 0 = 1000
	// Users is the number of users, at least (and by default) the 40 that
	// issues refer to; the others are active people only the user
	// endpoints list, as on a site where most users never touch the
	// synced projects.
	Users  int
	Seed   int64
	Flavor string // "cloud" (default) | "datacenter"
	Email  string // Cloud basic auth user; "" = DefaultEmail
	Token  string // Cloud API token; "" = DefaultToken
	PAT    string // Data Center personal access token; "" = DefaultPAT
	// Username and Password are Data Center's basic authentication;
	// "" = DefaultUsername, DefaultPassword.
	Username, Password string
	// CloudID is the Cloud site's id, which api.atlassian.com's gateway
	// routes by (/ex/jira/{cloudId}/rest/...) and _edge/tenant_info
	// reports; "" = one derived from Seed.
	CloudID string
	HTTP    bool // plain HTTP instead of TLS
	Latency time.Duration
	Rate    float64 // GET (and POST) requests per second per endpoint; 0 = 100; < 0 = unlimited
	Faults  float64 // probability of an injected fault per request
	// IssueErrors is the probability that POST issue/bulkfetch reports a
	// requested, visible issue in issueErrors instead of returning it:
	// Jira Cloud's answer "when Jira can't return an issue enumerated in
	// a request due to a retriable error or payload constraint" (200, the
	// other issues returned). Each request draws again.
	IssueErrors float64
	// MaxConcurrent, when positive, answers a Jira request that arrives
	// while that many are being served with 429 and RateLimit-Reason
	// jira-max-concurrent-threads-across-all-instances-per-tenant-per-user,
	// a reason field reports show from Jira Cloud.
	MaxConcurrent int
	Caps          Caps
	// Anonymous serves requests with missing or wrong credentials as an
	// anonymous user, as a Cloud site with anonymous access does (an
	// expired token has been reported to get an empty 200 from search):
	// no project is visible to it, and GET myself answers 401. Otherwise
	// they get 401.
	Anonymous bool
	// IndexLag is how long a change takes to reach the search index: Jira's
	// search is eventually consistent ("recent updates might not be
	// immediately visible"). Until then JQL matches and sorts a changed
	// issue by its `updated` of before the change; reading it by id or key
	// shows the change at once. Every other change takes a tenth of it, so
	// a later change can be found before an earlier one. 0 = immediately.
	IndexLag time.Duration
	TZ       string           // the users' time zone; "" = UTC
	Now      func() time.Time // nil = time.Now
}

// Caps are the embedded-collection caps. Zero fields take Jira Cloud's
// observed defaults (comments 20 and histories 40 in search, worklogs 20).
type Caps struct {
	Comments, Histories, Worklogs int
}

// Server is a running simulator.
type Server struct {
	opts   Options
	loc    *time.Location
	now    func() time.Time
	ln     net.Listener
	srv    *http.Server
	url    string
	caPEM  []byte
	client *http.Client
	mux    *http.ServeMux

	mu   sync.RWMutex // guards data
	data *dataset

	cacheMu  sync.Mutex
	searches map[string]*searchResult
	wlIndex  []worklogRef
	wlVer    uint64

	userMu   sync.Mutex
	userJSON map[string][][]byte // encoded users per API version

	stats   statsRecorder
	limiter *limiter
	reqNo   atomic.Uint64
	bulkNo  atomic.Uint64 // issue/bulkfetch requests, for IssueErrors
	serving atomic.Int64  // Jira requests being served (Options.MaxConcurrent)
	wg      sync.WaitGroup
}

// Start generates the dataset and starts serving.
func Start(opts Options) (*Server, error) {
	if opts.Issues == 0 {
		opts.Issues = 1000
	}
	if opts.Issues < 0 {
		return nil, fmt.Errorf("start simulator: issues must be >= 0, got %d", opts.Issues)
	}
	if opts.Flavor == "" {
		opts.Flavor = FlavorCloud
	}
	if opts.Flavor != FlavorCloud && opts.Flavor != FlavorDataCenter {
		return nil, fmt.Errorf("start simulator: unknown flavor %q (want cloud or datacenter)", opts.Flavor)
	}
	if opts.Email == "" {
		opts.Email = DefaultEmail
	}
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.PAT == "" {
		opts.PAT = DefaultPAT
	}
	if opts.Username == "" {
		opts.Username, opts.Password = DefaultUsername, DefaultPassword
	}
	if opts.CloudID == "" {
		r := uint64(opts.Seed)*0x9e3779b97f4a7c15 + 0x6a09e667f3bcc909
		opts.CloudID = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(r>>32), uint16(r>>16), uint16(r)&0xfff, uint16(r>>20)&0xfff, r&0xffffffffffff)
	}
	if opts.Rate == 0 {
		opts.Rate = 100
	}
	if opts.Faults < 0 || opts.Faults > 1 {
		return nil, fmt.Errorf("start simulator: faults must be a probability in [0,1], got %v", opts.Faults)
	}
	if opts.IssueErrors < 0 || opts.IssueErrors > 1 {
		return nil, fmt.Errorf("start simulator: issue errors must be a probability in [0,1], got %v", opts.IssueErrors)
	}
	if opts.Caps.Comments <= 0 {
		opts.Caps.Comments = 20
	}
	if opts.Caps.Histories <= 0 {
		opts.Caps.Histories = 40
	}
	if opts.Caps.Worklogs <= 0 {
		opts.Caps.Worklogs = 20
	}
	if opts.TZ == "" {
		opts.TZ = "UTC"
	}
	loc, err := time.LoadLocation(opts.TZ)
	if err != nil {
		return nil, fmt.Errorf("start simulator: load time zone %q: %w", opts.TZ, err)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	s := &Server{opts: opts, loc: loc, now: opts.Now, searches: map[string]*searchResult{}}
	if s.now == nil {
		s.now = time.Now
	}
	anchor := s.now().Truncate(time.Minute)
	cat := newCatalogue(opts.Seed, opts.Flavor, anchor, opts.Email, opts.Users)
	s.data = newDataset(opts.Seed, opts.Issues, cat, anchor)
	s.limiter = newLimiter(opts.Rate)
	s.stats.counts = map[string]map[int]int64{}
	s.routes()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only, so that connection-reset faults can hijack.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	scheme := "http"
	transport := &http.Transport{}
	if !opts.HTTP {
		ca, err := newCA(ln.Addr())
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("start simulator: %w", err)
		}
		s.caPEM = ca.certPEM
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{ca.leaf}, MinVersion: tls.VersionTLS12}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.certPEM)
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		scheme = "https"
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	s.client = &http.Client{Transport: transport, Timeout: 60 * time.Second}
	s.url = scheme + "://" + s.ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Serve returns http.ErrServerClosed after Close; a listener failure
		// after start shows up as connection errors in the clients.
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// URL is the base URL, e.g. https://127.0.0.1:41234.
func (s *Server) URL() string { return s.url }

// CACertPEM is the PEM of the CA that signed the server certificate (nil with HTTP).
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.caPEM...) }

// Client returns an HTTP client that trusts the simulator's CA.
func (s *Server) Client() *http.Client { return s.client }

// Close stops the server and closes idle client connections.
func (s *Server) Close() {
	_ = s.srv.Close()
	s.wg.Wait()
	if t, ok := s.client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// Flavor reports the configured flavour.
func (s *Server) Flavor() string { return s.opts.Flavor }

// Credentials returns the configured user's credentials: email and token on
// Cloud, or the PAT (in token) on Data Center.
func (s *Server) Credentials() (email, token string) {
	if s.opts.Flavor == FlavorDataCenter {
		return "", s.opts.PAT
	}
	return s.opts.Email, s.opts.Token
}

// AuthHeader is the Authorization header value for the configured user.
func (s *Server) AuthHeader() string {
	return authHeader(s.opts.Flavor, s.opts.Email, s.opts.Token, s.opts.PAT)
}

// BasicAuthHeader is the Data Center basic-authentication header of the
// configured user (Username and Password).
func (s *Server) BasicAuthHeader() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(s.opts.Username+":"+s.opts.Password))
}

// CloudID is the site's cloud id (Options.CloudID).
func (s *Server) CloudID() string { return s.opts.CloudID }

// RestrictedAuthHeader is the Authorization header value for the restricted user.
func (s *Server) RestrictedAuthHeader() string {
	return authHeader(s.opts.Flavor, RestrictedEmail, RestrictedToken, RestrictedPAT)
}
