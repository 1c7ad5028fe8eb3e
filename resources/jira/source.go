package jira

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/resources/jira/client"
)

// Config configures a Jira source.
type Config struct {
	// Name is the source's name (the `source "jira" "<name>"` label); it
	// fills _jsync_source.
	Name string
	// BaseURL is the site URL. CloudID routes requests through the
	// api.atlassian.com gateway instead (scoped tokens, service accounts).
	BaseURL, CloudID string
	// GatewayURL overrides https://api.atlassian.com, where CloudID routes
	// requests (tests, against the simulator's gateway).
	GatewayURL string
	// Credentials: Email + APIToken (Cloud), PAT or Username + Password (DC).
	Email, APIToken, PAT, Username, Password string
	// CAFile and CACertPEM add trusted CA certificates (the simulator).
	CAFile    string
	CACertPEM []byte
	// AllowHTTP permits http:// (the simulator only).
	AllowHTTP bool
	// StartDate bounds the first sync of issues; zero means one year before
	// the run.
	StartDate time.Time
	// Projects limits issues, versions and components to these project keys.
	Projects []string
	// RateLimit is requests/s per endpoint family (0: the client default).
	RateLimit float64
	// Concurrency bounds the requests in flight to the site, however the
	// fetchers nest (time slices, completions of truncated collections,
	// projects). 0 means the deployment's default: CloudConcurrency on
	// Jira Cloud, DataCenterConcurrency on Data Center. 1 means
	// sequential. All requests also share the rate limiter.
	Concurrency int
	// DeleteSweepInterval is how often the id-only sweep that detects
	// deleted issues runs: zero means every run, negative never.
	DeleteSweepInterval time.Duration
	Logger              *slog.Logger

	// Rejects receives values that could not be decoded when the sync
	// request carries no Rejects function (default: logged as warnings).
	Rejects RejectSink
	// BatchRows bounds record batches (default DefaultBatchRows).
	BatchRows int
	// Allocator for Arrow buffers (default: the Go allocator).
	Allocator memory.Allocator
	// Overlap is subtracted from the issues cursor (default 5 minutes): Jira
	// search is eventually consistent.
	Overlap time.Duration
}

// Source is the Jira source. It is safe for one Sync at a time.
type Source struct {
	cfg Config
	cl  *client.Client
	log *slog.Logger
	mem memory.Allocator

	reqMu    sync.Mutex
	reqs     map[string]int64
	inFlight chan struct{} // bounds concurrent requests while Syncs run
	syncs    int           // Syncs running, which share inFlight
	// withheld are inFlight's slots taken back after Jira refused
	// concurrent requests (lowerInFlight), last at lowered; held closes
	// when the bound is removed, ending the goroutines that hold them.
	withheld int
	lowered  time.Time
	held     chan struct{}

	httpTransport   *http.Transport
	checkpointPages int // issue pages between cursor checkpoints
	changelogPage   int // histories asked for per changelog/bulkfetch page
	listMax         int // changed issues an incremental run lists at most (maxListed)
	hydrateEvery    int // issues fetched by id between two checkpoints (hydrateChunk)

	mu   sync.Mutex
	disc *discovery
}

var (
	_ source.Source = (*Source)(nil)
	_ source.Noter  = (*Source)(nil)
)

// discovery is what Discover learned.
type discovery struct {
	info      *client.ServerInfo
	me        *client.User
	api       string // /rest/api/3 or /rest/api/2
	cloud     bool
	fieldsRaw []json.RawMessage
	custom    []CustomColumn
	tables    []*schema.Table
}

// New validates cfg and builds the source. It does no network I/O.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" {
		cfg.Name = "jira"
	}
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = DefaultBatchRows
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Rejects == nil {
		cfg.Rejects = LogRejects{Logger: cfg.Logger}
	}
	if cfg.Allocator == nil {
		cfg.Allocator = memory.NewGoAllocator()
	}
	s := &Source{cfg: cfg, log: cfg.Logger, mem: cfg.Allocator, reqs: map[string]int64{}, checkpointPages: defaultCheckpointPages, changelogPage: bulkChangelogPage,
		listMax: maxListed, hydrateEvery: hydrateChunk}
	if err := s.initTransport(); err != nil {
		return nil, err
	}
	cl, err := client.New(s.clientOptions())
	if err != nil {
		return nil, fmt.Errorf("jira source %s: %w", cfg.Name, err)
	}
	s.cl = cl
	return s, nil
}

// clientOptions are the HTTP client's options for cfg.
func (s *Source) clientOptions() client.Options {
	cfg := s.cfg
	return client.Options{
		BaseURL:    cfg.BaseURL,
		CloudID:    cfg.CloudID,
		GatewayURL: cfg.GatewayURL,
		Auth:       client.Auth{Email: cfg.Email, APIToken: cfg.APIToken, PAT: cfg.PAT, Username: cfg.Username, Password: cfg.Password},
		AllowHTTP:  cfg.AllowHTTP,
		RateLimit:  cfg.RateLimit,
		Transport:  countingTransport{next: s.httpTransport, s: s},
		Logger:     cfg.Logger,

		SourceName:       cfg.Name,
		ConfiguredCAFile: cfg.CAFile,
	}
}

// initTransport builds a TLS-verifying transport trusting the configured
// CAs; clientOptions wraps it to count requests by the table named in the
// request context.
func (s *Source) initTransport() error {
	var pool *x509.CertPool
	if s.cfg.CAFile != "" || len(s.cfg.CACertPEM) > 0 {
		sys, err := x509.SystemCertPool()
		if err != nil || sys == nil {
			sys = x509.NewCertPool()
		}
		pool = sys
		if s.cfg.CAFile != "" {
			pem, err := os.ReadFile(s.cfg.CAFile)
			if err != nil {
				return fmt.Errorf("jira source %s: read ca_file: %w", s.cfg.Name, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("jira source %s: ca_file %s: no PEM certificates", s.cfg.Name, s.cfg.CAFile)
			}
		}
		if len(s.cfg.CACertPEM) > 0 && !pool.AppendCertsFromPEM(s.cfg.CACertPEM) {
			return fmt.Errorf("jira source %s: CA certificate: no PEM certificates", s.cfg.Name)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	t.MaxIdleConnsPerHost = 32
	s.httpTransport = t
	return nil
}

type countingTransport struct {
	next http.RoundTripper
	s    *Source
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	table := client.TableFrom(req.Context())
	if table == "" {
		table = client.DiscoverTable
	}
	c.s.reqMu.Lock()
	c.s.reqs[table]++
	sem := c.s.inFlight
	c.s.reqMu.Unlock()
	if sem == nil {
		return c.next.RoundTrip(req)
	}
	select {
	case sem <- struct{}{}:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		<-sem
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if reason := resp.Header.Get("RateLimit-Reason"); client.ConcurrencyLimited(reason) {
			c.s.lowerInFlight(sem, reason)
		}
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { <-sem }}
	return resp, nil
}

// lowerInFlight halves the requests in flight for the rest of the run
// after Jira refused one for too many concurrent requests (a 429 whose
// RateLimit-Reason names them, e.g.
// jira-max-concurrent-threads-across-all-instances-per-tenant-per-user).
// The client retries the refused request after Retry-After, as for any
// 429. Requests already in flight may be refused together, so the bound
// is lowered at most once a second; it is never raised again within the
// run. Slots are taken back by holding them: a goroutine takes each one as
// a request returns it, and ends when the bound is removed.
func (s *Source) lowerInFlight(sem chan struct{}, reason string) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if sem != s.inFlight {
		return // the run that sent the request is over
	}
	now := time.Now()
	from := cap(sem) - s.withheld
	if from <= 1 || now.Sub(s.lowered) < time.Second {
		return
	}
	to := from / 2
	s.withheld += from - to
	s.lowered = now
	held := s.held
	go func() {
		for range from - to {
			select {
			case sem <- struct{}{}:
			case <-held:
				return
			}
		}
	}()
	s.log.Warn("Jira refused too many concurrent requests; requests in flight lowered for this run",
		"rate_limit_reason", reason, "from", from, "to", to,
		"hint", fmt.Sprintf("set concurrency = %d in source %q to start there", to, s.cfg.Name))
}

// releasingBody frees an in-flight slot when the response body is closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// limitInFlight bounds the HTTP requests in flight (the whole response
// included) to n while a Sync runs; done ends that Sync's part. The engine
// runs one Sync per table group, several at once, and they share one
// bound: the first sets it, the last one out removes it. (Each used to set
// its own and remove it when done, so the first catalogue table to finish
// left the issues unbounded.)
func (s *Source) limitInFlight(n int) (done func()) {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	if s.syncs == 0 && n > 0 {
		s.inFlight = make(chan struct{}, n)
		s.withheld, s.lowered, s.held = 0, time.Time{}, make(chan struct{})
	}
	s.syncs++
	return func() {
		s.reqMu.Lock()
		defer s.reqMu.Unlock()
		if s.syncs--; s.syncs == 0 && s.inFlight != nil {
			s.inFlight = nil
			close(s.held)
		}
	}
}

// Requests reports the HTTP requests sent so far (retries included), by the
// table they were made for; discovery requests (and any made for no table)
// count under client.DiscoverTable.
func (s *Source) Requests() map[string]int64 {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	out := make(map[string]int64, len(s.reqs))
	for k, v := range s.reqs {
		out[k] = v
	}
	return out
}

// Close closes idle HTTP connections.
func (s *Source) Close() error {
	s.httpTransport.CloseIdleConnections()
	return nil
}

// Tables is the static catalogue.
func (s *Source) Tables() []*schema.Table { return Tables() }

// Discover connects: serverInfo (Cloud or Data Center), myself (credentials
// and time zone), and the field catalogue (custom columns of issues).
func (s *Source) Discover(ctx context.Context, pinned map[string]map[string]string) (*source.Discovery, error) {
	d, err := s.discover(ctx, pinned[TableIssues])
	if err != nil {
		return nil, err
	}
	deployment := "Data Center"
	if d.cloud {
		deployment = "Cloud"
	}
	var warnings []string
	if len(s.cfg.Projects) > 0 {
		missing, err := s.invisibleProjects(ctx, d)
		if err != nil {
			return nil, err
		}
		if len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("projects not visible to this user, skipped: %s", strings.Join(missing, ", ")))
		}
	}
	return &source.Discovery{
		Warnings: warnings,
		Tables:   cloneTables(d.tables),
		Info: map[string]string{
			"deployment":    deployment,
			"version":       d.info.Version,
			"user":          d.me.DisplayName,
			"time_zone":     d.me.TimeZone,
			"custom_fields": fmt.Sprint(len(d.custom)),
		},
	}, nil
}

func cloneTables(ts []*schema.Table) []*schema.Table {
	out := make([]*schema.Table, len(ts))
	for i, t := range ts {
		c := *t
		c.Columns = append([]schema.Column(nil), t.Columns...)
		out[i] = &c
	}
	return out
}

// discoveryParallelism is how many of discovery's three requests may be in
// flight at once: all three, unless the source block's concurrency or
// -parallelism (source.WithParallelism) allows fewer.
func (s *Source) discoveryParallelism(ctx context.Context) int {
	n := 3
	if c := s.cfg.Concurrency; c > 0 {
		n = min(n, c)
	}
	if p := source.ParallelismFrom(ctx); p > 0 {
		n = min(n, p)
	}
	return n
}

func (s *Source) discover(ctx context.Context, pinned map[string]string) (*discovery, error) {
	ctx = client.WithTable(ctx, client.DiscoverTable)
	// serverInfo, myself and the field catalogue do not depend on each
	// other: one round trip. The catalogue is read from /rest/api/2/field,
	// which Cloud serves as well as Data Center (its answer is the same
	// under /rest/api/3: field definitions carry no rich text). Errors are
	// reported in that order: a wrong URL explains the others' failures.
	// The source's concurrency and -parallelism bound them too; serverInfo
	// goes out first.
	var (
		info                    *client.ServerInfo
		me                      *client.User
		fieldsRaw               []json.RawMessage
		infoErr, meErr, listErr error
	)
	sideCtx, cancelSide := context.WithCancel(ctx)
	defer cancelSide()
	var g errgroup.Group
	g.SetLimit(s.discoveryParallelism(ctx))
	g.Go(func() error {
		if info, infoErr = s.cl.ServerInfo(ctx); infoErr != nil {
			cancelSide() // the others' answers no longer matter
		}
		return nil
	})
	g.Go(func() error {
		me, meErr = s.cl.Myself(sideCtx)
		return nil
	})
	g.Go(func() error {
		listErr = s.cl.EachArray(sideCtx, "/rest/api/2/field", nil, func(items []json.RawMessage) error {
			fieldsRaw = append(fieldsRaw, items...)
			return nil
		})
		return nil
	})
	_ = g.Wait() // the calls report through their own errors, in order
	if listErr != nil {
		listErr = fmt.Errorf("read field catalogue: %w", listErr)
	}
	if err := cmp.Or(infoErr, meErr, listErr); err != nil {
		return nil, err
	}
	d := &discovery{info: info, me: me, api: info.APIBase(), cloud: info.IsCloud(), fieldsRaw: fieldsRaw}
	var fields []Field
	for i, raw := range d.fieldsRaw {
		var f Field
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("field catalogue entry %d: %w", i, err)
		}
		fields = append(fields, f)
	}
	d.custom = CustomColumns(fields, pinned)
	for _, t := range Tables() {
		if t.Name == TableIssues {
			t = IssuesTableWith(d.custom)
		}
		d.tables = append(d.tables, t)
	}
	s.mu.Lock()
	s.disc = d
	s.mu.Unlock()
	return d, nil
}

// Estimate returns the approximate number of issues a sync from st would
// fetch (approximate-count on Cloud, total on Data Center), -1 otherwise.
func (s *Source) Estimate(ctx context.Context, table string, st state.TableState) (int64, error) {
	if table != TableIssues {
		return -1, nil
	}
	d, err := s.ensureDiscovered(ctx, st.PinnedColumns)
	if err != nil {
		return -1, err
	}
	since, err := s.issuesSince(st, false, time.Now())
	if err != nil {
		return -1, err
	}
	jqlText, err := s.issuesJQL(s.cfg.Projects, since, time.Time{})
	if err != nil {
		return -1, err
	}
	n, err := s.countIssues(client.WithTable(ctx, table), d, jqlText)
	if err != nil {
		return -1, fmt.Errorf("estimate issues: %w", err)
	}
	if s.scopeChanged(st) {
		// The run also fetches the issues in the new scope that no run
		// wrote: about as many as the scope holds beyond the known ones.
		missing, err := s.estimateMissing(client.WithTable(ctx, table), d, st)
		if err != nil {
			return -1, fmt.Errorf("estimate issues: %w", err)
		}
		n += missing
	}
	return n, nil
}

// estimateMissing is the number of issues in scope (updated since the
// start date, in the configured projects) beyond those the state knows,
// or 0. Known issues of projects no longer configured make it low.
func (s *Source) estimateMissing(ctx context.Context, d *discovery, st state.TableState) (int64, error) {
	jqlText, err := s.issuesJQL(s.cfg.Projects, s.startDate(time.Now()), time.Time{})
	if err != nil {
		return 0, err
	}
	inScope, err := s.countIssues(ctx, d, jqlText)
	if err != nil {
		return 0, err
	}
	known, err := loadKnown(st.Extra)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, set := range known {
		n += set.GetCardinality()
	}
	return max(0, inScope-int64(n)), nil
}

// countIssues returns the number of issues jqlText matches: Cloud's
// search/approximate-count, or the total of a zero-size search on Data
// Center.
func (s *Source) countIssues(ctx context.Context, d *discovery, jqlText string) (int64, error) {
	if d.cloud {
		var out struct {
			Count int64 `json:"count"`
		}
		if err := s.cl.PostJSON(ctx, d.api+"/search/approximate-count", nil, map[string]any{"jql": jqlText}, &out); err != nil {
			return 0, err
		}
		return out.Count, nil
	}
	var out struct {
		Total int64 `json:"total"`
	}
	q := url.Values{"jql": {jqlText}, "maxResults": {"0"}, "fields": {"id"}}
	if err := s.cl.GetJSON(ctx, d.api+"/search", q, &out); err != nil {
		return 0, err
	}
	return out.Total, nil
}

func (s *Source) ensureDiscovered(ctx context.Context, pinned map[string]string) (*discovery, error) {
	s.mu.Lock()
	d := s.disc
	s.mu.Unlock()
	if d != nil {
		return d, nil
	}
	return s.discover(ctx, pinned)
}

// isStatus reports whether err is an HTTP error with one of the statuses.
func isStatus(err error, statuses ...int) bool {
	var herr *client.HTTPError
	if !errors.As(err, &herr) {
		return false
	}
	for _, st := range statuses {
		if herr.Status == st {
			return true
		}
	}
	return false
}

func upperAll(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.ToUpper(strings.TrimSpace(k))
	}
	return out
}

// invisibleProjects returns the configured project keys the user cannot see.
func (s *Source) invisibleProjects(ctx context.Context, d *discovery) ([]string, error) {
	r := &syncRun{s: &Source{cfg: s.cfg, cl: s.cl, log: s.log}, d: d}
	r.s.cfg.Projects = nil
	all, err := r.visibleProjects(client.WithTable(ctx, client.DiscoverTable))
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range upperAll(s.cfg.Projects) {
		if !slices.ContainsFunc(all, func(p projectRef) bool { return p.Key == k }) {
			missing = append(missing, k)
		}
	}
	return missing, nil
}
