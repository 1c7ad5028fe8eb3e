package jira

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/client"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// gatedTransport sits in front of the source's transport. It holds the
// first comment request until holdUntil search pages in all have been
// requested (or a timeout passes, which it records), and can fail the
// n-th comment request with HTTP 400.
type gatedTransport struct {
	next      http.RoundTripper
	holdUntil int
	failNth   int

	mu       sync.Mutex
	searches int
	comments int
	waiting  chan struct{} // closed once holdUntil searches were requested
	timedOut bool
}

func (g *gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	g.mu.Lock()
	switch {
	case strings.HasSuffix(path, "/search/jql"):
		g.searches++
		if g.waiting != nil && g.searches >= g.holdUntil {
			close(g.waiting)
			g.waiting = nil
		}
	case strings.HasSuffix(path, "/comment"):
		g.comments++
		if g.failNth > 0 && g.comments == g.failNth {
			g.mu.Unlock()
			return &http.Response{StatusCode: http.StatusBadRequest, Status: "400 Bad Request", Request: req,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   io.NopCloser(strings.NewReader(`{"errorMessages":["injected by the test"],"errors":{}}`))}, nil
		}
		// A comment request made after the page it waits for was
		// requested has nothing to wait for.
		if g.holdUntil > 0 && g.comments == 1 && g.searches < g.holdUntil {
			wait := make(chan struct{})
			g.waiting = wait
			g.mu.Unlock()
			select {
			case <-wait:
			case <-time.After(10 * time.Second):
				g.mu.Lock()
				g.timedOut, g.waiting = true, nil
				g.mu.Unlock()
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
			return g.next.RoundTrip(req)
		}
	}
	g.mu.Unlock()
	return g.next.RoundTrip(req)
}

// newWindowFixture is a Cloud site whose issues of the last 6 days fill a
// few search pages, most of them with a truncated comment list (cap 2). A
// window under backfillWindow is read by one fetcher, page after page.
func newWindowFixture(t *testing.T, g *gatedTransport) *simFixture {
	t.Helper()
	f := newSimFixtureCaps(t, jirasim.FlavorCloud, 15000, false, 0, jirasim.Caps{Comments: 2, Histories: 40, Worklogs: 20})
	f.start = f.clock.Now().Add(-6 * 24 * time.Hour).Truncate(time.Millisecond)
	f.src = f.newSource(jirasim.FlavorCloud, false)
	f.setClient(func(o *client.Options) {
		g.next = o.Transport
		o.Transport = g
	})
	return f
}

// TestSimCompletionsOverlapNextPage: a page's truncated collections are
// fetched while the fetcher reads on. The first page's first comment fetch
// is held until the third search page is requested: the second is fetched
// while the first is decoded, but a fetcher that waits for the first
// page's completions never requests the third. The rows are still all
// there. (The gate counts pages in all, not from the comment request:
// the third page may be requested before the held comment is.)
func TestSimCompletionsOverlapNextPage(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	g := &gatedTransport{holdUntil: 3}
	f := newWindowFixture(t, g)
	f.sync()
	f.checkCounts("sync with a held comment fetch")
	if g.timedOut {
		t.Errorf("the fetcher waited for the first page's comment fetch before requesting the third page (%d search pages, %d comment requests)",
			g.searches, g.comments)
	}
	if g.searches < 4 {
		t.Errorf("only %d search pages: the test needs a fetcher with several pages", g.searches)
	}
}

// TestSimCompletionFailureFailsSync: a completion that fails after its
// page was handed on still fails the sync, naming the issue, and nothing
// in flight is leaked (the fixture checks the allocator).
func TestSimCompletionFailureFailsSync(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	g := &gatedTransport{failNth: 3}
	f := newWindowFixture(t, g)
	ctx := context.Background()
	disc, err := f.src.Discover(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = f.src.Sync(ctx, f.dest.request(disc.Tables, f.clock.Now()))
	if err == nil || !strings.Contains(err.Error(), "comments of issue") || !strings.Contains(err.Error(), "injected by the test") {
		t.Fatalf("sync error = %v; want the failed comment fetch, naming the issue", err)
	}
}
