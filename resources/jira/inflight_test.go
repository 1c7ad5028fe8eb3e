package jira

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/resources/jira/client"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// peakTransport is the network under the source's in-flight limit: it
// holds every request a few milliseconds and records how many were in
// flight at once, and the paths in the order they went out.
type peakTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	cur   int
	peak  int
	paths []string
	// by method and path: requests in flight now and at most
	curOf, peakOf map[string]int
}

func (p *peakTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, req.URL.Path)
	p.cur++
	p.peak = max(p.peak, p.cur)
	what := req.Method + " " + req.URL.Path
	if p.curOf == nil {
		p.curOf, p.peakOf = map[string]int{}, map[string]int{}
	}
	p.curOf[what]++
	p.peakOf[what] = max(p.peakOf[what], p.curOf[what])
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.cur--
		p.curOf[what]--
		p.mu.Unlock()
	}()
	time.Sleep(3 * time.Millisecond)
	return p.next.RoundTrip(req)
}

// usePeak sends the source's requests through a peakTransport, which it
// returns; counted keeps the source's per-table request counts.
func (f *simFixture) usePeak(counted bool) *peakTransport {
	f.t.Helper()
	p := &peakTransport{next: f.src.httpTransport}
	f.setClient(func(o *client.Options) {
		o.Transport = p
		if counted {
			o.Transport = countingTransport{next: p, s: f.src}
		}
	})
	return p
}

// TestSimInFlightBound: however the fetchers nest (catalogue tables, time
// slices, pages fetched ahead, completions), and however many Syncs run at
// once (the engine runs one per table group, in parallel), no more
// requests are in flight than the source's concurrency, or than
// -parallelism (source.WithParallelism) when that is lower.
func TestSimInFlightBound(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tt := range []struct {
		name        string
		parallelism int
		want        int
	}{{"concurrency", 0, 2}, {"-parallelism=1", 1, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSimFixtureCaps(t, jirasim.FlavorCloud, 3000, false, 0, jirasim.Caps{Comments: 2, Histories: 3, Worklogs: 2})
			p := f.usePeak(true)
			ctx := source.WithParallelism(t.Context(), tt.parallelism)
			disc, err := f.src.Discover(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(disc.Tables))
			for _, root := range disc.Tables {
				if root.Parent != "" {
					continue
				}
				group := []*schema.Table{root}
				for _, c := range disc.Tables {
					if c.Parent == root.Name {
						group = append(group, c)
					}
				}
				wg.Go(func() { errs <- f.src.Sync(ctx, f.dest.request(group, f.clock.Now())) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			f.checkCounts("sync")
			if f.src.cfg.Concurrency != 2 {
				t.Fatalf("fixture concurrency %d, the cases assume 2", f.src.cfg.Concurrency)
			}
			if p.peak > tt.want {
				t.Errorf("%d requests in flight at once, want at most %d", p.peak, tt.want)
			}
		})
	}
}

// TestConcurrency: the source's `concurrency` bounds its requests in
// flight, its deployment's default when unset; -parallelism, when given,
// only lowers it; at most MaxSliceWorkers time slices are read at once.
func TestConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		cloud       bool
		concurrency int // Config.Concurrency (the source block's)
		parallelism int // source.WithParallelism (-parallelism)
		want        int
		wantSlices  int
	}{
		{"cloud default", true, 0, 0, CloudConcurrency, MaxSliceWorkers},
		{"data center default", false, 0, 0, DataCenterConcurrency, MaxSliceWorkers},
		{"source setting", true, 3, 0, 3, 3},
		{"source setting above the defaults", false, 40, 0, 40, MaxSliceWorkers},
		{"-parallelism lowers the default", true, 0, 1, 1, 1},
		{"-parallelism lowers the setting", false, 12, 5, 5, 5},
		{"-parallelism does not raise the setting", true, 4, 32, 4, 4},
		{"-parallelism does not raise the default", true, 0, 32, CloudConcurrency, MaxSliceWorkers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &syncRun{s: &Source{cfg: Config{Concurrency: tt.concurrency}}, d: &discovery{cloud: tt.cloud},
				req: &source.SyncRequest{}, parallelism: tt.parallelism}
			if got := r.concurrency(); got != tt.want {
				t.Errorf("concurrency() = %d, want %d", got, tt.want)
			}
			if got := r.sliceWorkers(); got != tt.wantSlices {
				t.Errorf("sliceWorkers() = %d, want %d", got, tt.wantSlices)
			}
		})
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSimConcurrencyRefused: a site that refuses more than 3 requests in
// flight (429, RateLimit-Reason jira-max-concurrent-threads-…) against a
// source allowed 12: the refused requests are retried, every row arrives,
// the source halves its requests in flight (once a second at most) and
// tells the user which concurrency to set.
func TestSimConcurrencyRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync with retries")
	}
	f := newSimFixtureWith(t, jirasim.Options{Issues: 600, Flavor: jirasim.FlavorCloud, MaxConcurrent: 3, Latency: 20 * time.Millisecond,
		Caps: jirasim.Caps{Comments: 2, Histories: 3, Worklogs: 2}}, false)
	var logs syncBuffer
	f.src.cfg.Concurrency = 12
	f.src.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Without the lowering, this sync was still retrying refused requests
	// after 10 minutes: fail in one instead.
	f.syncWithin(time.Minute)
	f.checkCounts("sync")
	var refused int64
	for _, byStatus := range f.sim.Stats().Endpoints {
		refused += byStatus["429"]
	}
	if refused == 0 {
		t.Fatal("the simulator refused no request; the test does not exercise the limit")
	}
	t.Logf("%d requests refused; %d of 12 slots withheld", refused, f.src.withheld)
	if f.src.withheld < 6 {
		t.Errorf("%d of 12 slots withheld after %d refusals, want at least 6 (halved once)", f.src.withheld, refused)
	}
	if out := logs.String(); !strings.Contains(out, "requests in flight lowered for this run") ||
		!strings.Contains(out, "rate_limit_reason="+jirasim.ReasonConcurrent) || !strings.Contains(out, `set concurrency = 6 in source \"sim\"`) {
		t.Errorf("warning missing or incomplete:\n%s", out)
	}
}

// TestDiscoveryRoundTrip: discovery's three requests (serverInfo, myself,
// the field catalogue) go out together, unless the source's concurrency or
// -parallelism allows fewer at once; one at a time, serverInfo goes first
// (a wrong URL fails there).
func TestDiscoveryRoundTrip(t *testing.T) {
	tests := []struct {
		name        string
		flavor      string
		concurrency int
		parallelism int
		wantPeak    int
	}{
		{"cloud defaults", jirasim.FlavorCloud, 0, 0, 3},
		{"data center defaults", jirasim.FlavorDataCenter, 0, 0, 3},
		{"concurrency 2", jirasim.FlavorCloud, 2, 0, 2},
		{"concurrency 1", jirasim.FlavorCloud, 1, 0, 1},
		{"-parallelism=1", jirasim.FlavorCloud, 0, 1, 1},
		{"-parallelism above concurrency", jirasim.FlavorCloud, 2, 8, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSimFixtureCaps(t, tt.flavor, 20, false, 0, jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20})
			f.src.cfg.Concurrency = tt.concurrency
			p := f.usePeak(false)
			ctx := source.WithParallelism(t.Context(), tt.parallelism)
			disc, err := f.src.Discover(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if disc.Info["custom_fields"] == "0" {
				t.Errorf("no custom fields discovered: %v", disc.Info)
			}
			if p.peak != tt.wantPeak {
				t.Errorf("%d discovery requests in flight at once, want %d", p.peak, tt.wantPeak)
			}
			if tt.wantPeak == 1 && (len(p.paths) == 0 || !strings.HasSuffix(p.paths[0], "/serverInfo")) {
				t.Errorf("requests %v: want serverInfo first", p.paths)
			}
			sorted := slices.Sorted(slices.Values(p.paths))
			if want := []string{"/rest/api/2/field", "/rest/api/2/myself", "/rest/api/2/serverInfo"}; !slices.Equal(sorted, want) {
				t.Errorf("requests %v, want %v", p.paths, want)
			}
		})
	}
}

// TestSimHealFetchesAhead: issues fetched by id (here the heal after a
// project is added) go out several chunks at once, up to hydrateAhead,
// and every one of them is written. With a checkpoint after every chunk
// of 100, the next chunks are still fetched while one is committed.
func TestSimHealFetchesAhead(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tt := range []struct {
		name, flavor, request string
		every                 int // hydrateEvery; 0 keeps the default
	}{
		{"cloud", jirasim.FlavorCloud, "POST /rest/api/3/issue/bulkfetch", 0},
		{"cloud_checkpoint_every_chunk", jirasim.FlavorCloud, "POST /rest/api/3/issue/bulkfetch", 100},
		{"datacenter", jirasim.FlavorDataCenter, "GET /rest/api/2/search", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newSimFixtureCaps(t, tt.flavor, 1500, false, 0, jirasim.Caps{Comments: 2, Histories: 3, Worklogs: 2})
			if tt.every > 0 {
				f.src.hydrateEvery = tt.every
			}
			f.src.cfg.Projects = []string{"ALPHA"}
			f.sync()
			f.src.cfg.Projects = nil
			f.src.disc = nil
			f.clock.Advance(time.Hour)
			p := f.usePeak(false)
			f.sync()
			f.checkCounts("after the heal")
			if got := p.peakOf[tt.request]; got < 2 || got > hydrateAhead {
				t.Errorf("%d of %s in flight at once, want 2 to %d", got, tt.request, hydrateAhead)
			}
		})
	}
}
