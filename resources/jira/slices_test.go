package jira

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/client"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// TestSliceQueue follows the queue through takes, splits and finishes:
// waiting slices go first and in time order; then the running slice with
// the most left to read (by its own pace) is cut at the middle of what it
// has left, and the new slice sits right after it.
func TestSliceQueue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	type progress struct {
		read, page int
		updated    int // hours after t0
		cut        int // 0: none
	}
	tests := []struct {
		name string
		// bounds of the slices in hours (the last hi 0: open-ended), all
		// running, with their progress
		bounds [][2]int
		prog   []progress
		now    int
		// want: no split (retry as given), or a split of victim at cut
		wantSplit  bool
		wantRetry  bool
		wantVictim int
		wantLo     int
		wantHi     int // 0: open-ended
	}{
		{name: "most left wins", bounds: [][2]int{{0, 10}, {10, 20}}, now: 30,
			// slice 0: 100 issues in 2 h, 8 h left: about 400 left; slice 1: 100 in 8 h, 2 h left: 25
			prog:      []progress{{read: 100, page: 100, updated: 2}, {read: 100, page: 100, updated: 18}},
			wantSplit: true, wantVictim: 0, wantLo: 6, wantHi: 10},
		{name: "open-ended slice ends at the run's start", bounds: [][2]int{{0, 10}, {10, 0}}, now: 30,
			prog:      []progress{{read: 100, page: 100, updated: 9}, {read: 100, page: 100, updated: 12}},
			wantSplit: true, wantVictim: 1, wantLo: 21, wantHi: 0},
		{name: "a cut slice is split within its cut", bounds: [][2]int{{0, 20}}, now: 30,
			prog:      []progress{{read: 300, page: 100, updated: 2, cut: 10}},
			wantSplit: true, wantVictim: 0, wantLo: 6, wantHi: 10},
		{name: "too little left", bounds: [][2]int{{0, 10}}, now: 30,
			prog: []progress{{read: 100, page: 100, updated: 5}}},
		{name: "no progress yet: look again later", bounds: [][2]int{{0, 10}}, now: 30,
			prog: []progress{{}}, wantRetry: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &sliceQueue{now: at(tt.now), fetch: func() *issueFetch { return &issueFetch{} }}
			for i, b := range tt.bounds {
				s := &timeSlice{f: &issueFetch{}, lo: at(b[0]), running: true}
				if b[1] != 0 {
					s.hi = at(b[1])
				}
				p := tt.prog[i]
				s.f.prog.read, s.f.prog.page = p.read, p.page
				if p.read > 0 {
					s.f.prog.updated = at(p.updated)
				}
				if p.cut != 0 {
					s.f.prog.cut = at(p.cut)
				}
				q.slices = append(q.slices, s)
			}
			victims := append([]*timeSlice(nil), q.slices...)
			ns, retry := q.take()
			if !tt.wantSplit {
				if ns != nil || retry != tt.wantRetry {
					t.Fatalf("take = %v, retry %v; want no slice, retry %v", ns, retry, tt.wantRetry)
				}
				return
			}
			if ns == nil {
				t.Fatal("no split")
			}
			v := victims[tt.wantVictim]
			wantHi := time.Time{}
			if tt.wantHi != 0 {
				wantHi = at(tt.wantHi)
			}
			if !ns.lo.Equal(at(tt.wantLo)) || !ns.hi.Equal(wantHi) || !ns.running {
				t.Errorf("new slice [%v, %v) running %v, want [%v, %v)", ns.lo, ns.hi, ns.running, at(tt.wantLo), wantHi)
			}
			if !v.f.prog.cut.Equal(ns.lo) {
				t.Errorf("victim cut at %v, want the new slice's start %v", v.f.prog.cut, ns.lo)
			}
			if idx := indexOf(q.slices, v); idx < 0 || idx+1 >= len(q.slices) || q.slices[idx+1] != ns {
				t.Errorf("new slice is not right after the victim")
			}
			if q.splits != 1 {
				t.Errorf("splits = %d", q.splits)
			}
		})
	}
}

func indexOf(ss []*timeSlice, s *timeSlice) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// TestSliceQueueTakeAndPrefix: waiting slices are taken oldest first; the
// prefix grows only from the start of the range and is not reported once
// it is the whole range.
func TestSliceQueueTakeAndPrefix(t *testing.T) {
	q := &sliceQueue{}
	var fs []*issueFetch
	for range 3 {
		f := &issueFetch{}
		fs = append(fs, f)
		q.slices = append(q.slices, &timeSlice{f: f})
	}
	for i := range 3 {
		s, _ := q.take()
		if s == nil || s.f != fs[i] {
			t.Fatalf("take %d: got %v, want slice %d", i, s, i)
		}
	}
	steps := []struct {
		finish    int
		wantGrew  bool
		wantCount int
		wantAll   bool
	}{
		{finish: 1}, // not from the start
		{finish: 0, wantGrew: true, wantCount: 2}, // 0 and 1
		{finish: 2, wantAll: true},                // the whole range: the final checkpoint's
	}
	for _, st := range steps {
		prefix, grew, all := q.finish(q.slices[st.finish])
		if grew != st.wantGrew || len(prefix) != st.wantCount {
			t.Errorf("finish %d: prefix of %d, grew %v; want %d, %v", st.finish, len(prefix), grew, st.wantCount, st.wantGrew)
		}
		if all != st.wantAll {
			t.Errorf("finish %d: all done %v, want %v", st.finish, all, st.wantAll)
		}
	}
}

// TestSliceQueueRunCheckpointsAside: a checkpoint that waits (for the
// destination to commit, as during a checkpoint of the database) does not
// hold the workers: they read the other slices meanwhile. Checkpoints come
// in order with growing prefixes, the latest only, and a prefix not
// checkpointed when the whole range is done is dropped; a failed
// checkpoint is returned and ends the checkpoints.
func TestSliceQueueRunCheckpointsAside(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			q := &sliceQueue{}
			for range 5 {
				q.slices = append(q.slices, &timeSlice{f: &issueFetch{}})
			}
			started, release := make(chan struct{}), make(chan struct{})
			var mu sync.Mutex
			read := 0
			var prefixes []int
			pages := func(s *timeSlice) error {
				if s != q.slices[0] {
					<-started // the first checkpoint is waiting
				}
				mu.Lock()
				defer mu.Unlock()
				read++
				if read == len(q.slices) {
					close(release) // every slice read while the first checkpoint waited
				}
				return nil
			}
			flush := func(*timeSlice) error { return nil }
			checkpoint := func(prefix []*issueFetch) error {
				mu.Lock()
				prefixes = append(prefixes, len(prefix))
				first := len(prefixes) == 1
				mu.Unlock()
				if first {
					close(started)
					select {
					case <-release:
					case <-time.After(30 * time.Second):
						return errors.New("the workers waited for the checkpoint")
					}
					if fail {
						return errors.New("commit failed")
					}
				}
				return nil
			}
			err := q.run(t.Context(), 1, pages, flush, checkpoint)
			if fail {
				if err == nil || err.Error() != "commit failed" {
					t.Fatalf("run = %v, want the checkpoint's error", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			// One worker: slice 0 ends first and its checkpoint waits; the
			// others are read meanwhile, and their prefixes (2 to 4) are
			// dropped once the whole range is done.
			if len(prefixes) != 1 || prefixes[0] != 1 {
				t.Errorf("checkpointed prefixes %v, want [1]", prefixes)
			}
		})
	}
}

// skewedCounts answers approximate-count with estimates that fall with
// the part's lower bound: the older a part, the more issues it claims.
// The simulator's issues are mostly updated recently (as real sites'
// are), so the cuts leave the newest slice with most of the issues, as a
// wrong estimate would (Jira's counts are approximate).
type skewedCounts struct {
	next http.RoundTripper
	end  time.Time // a day after the run starts
}

var lowerBound = regexp.MustCompile(`updated >= (\d+)`)

func (c skewedCounts) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/search/approximate-count") {
		return c.next.RoundTrip(req)
	}
	var body struct{ JQL string }
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		return nil, err
	}
	m := lowerBound.FindStringSubmatch(body.JQL)
	if m == nil {
		return nil, fmt.Errorf("no lower bound in %q", body.JQL)
	}
	ms, _ := strconv.ParseInt(m[1], 10, 64)
	days := (c.end.UnixMilli() - ms) / (24 * 3600 * 1000)
	count := max(1, days*days*days)
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(fmt.Sprintf(`{"count":%d}`, count)))}, nil
}

// TestSimSlicesSplit: with unequal slices (skewedCounts), free workers split the slices
// still running; every row arrives once and the cursor checkpoints never
// cover an issue whose rows were not sent before their barrier.
func TestSimSlicesSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	f := newSimFixtureWith(t, jirasim.Options{Issues: 3000, Flavor: jirasim.FlavorCloud, Latency: 5 * time.Millisecond,
		Caps: jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20}}, false)
	f.src.cfg.Concurrency = 4
	var logs syncBuffer
	f.src.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.setClient(func(o *client.Options) {
		o.Transport = skewedCounts{next: o.Transport, end: f.clock.Now().Add(24 * time.Hour)}
	})
	f.syncWithin(time.Minute)
	f.checkCounts("sync")
	out := logs.String()
	if !strings.Contains(out, "backfill time slices split") {
		t.Fatalf("no slice was split:\n%s", out)
	}
	i := strings.Index(out, "backfill time slices split")
	t.Log(strings.SplitN(out[i:], "\n", 2)[0])
	checkCursorDiscipline(t, f)

	// The cursor and known issues left by the split slices carry the next
	// run: it sees the changes and the deletions.
	if _, err := f.sim.Mutate(jirasim.Mutation{Update: 30, Comment: 10, Worklog: 10, DeleteIssues: 5}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Minute) // past worklog/deleted's "not in the last minute"
	f.syncWithin(time.Minute)
	f.checkCounts("incremental sync after the split backfill")
}

// TestSimSlicesForSmallSites: a backfill never cuts more time slices than
// its issues fill search pages. One count of the whole window decides; a
// site of a page is read in one search without the slices' counts, which
// were most of a small site's requests.
func TestSimSlicesForSmallSites(t *testing.T) {
	if testing.Short() {
		t.Skip("simulator sync")
	}
	for _, tt := range []struct {
		flavor    string
		issues    int
		maxCounts int64 // approximate-count requests (Cloud): 1 + 2 per slice
		maxSearch int64 // search requests (both kinds on Data Center)
	}{
		{jirasim.FlavorCloud, 60, 1, 3},             // oldest, one page, the id sweep
		{jirasim.FlavorCloud, 450, 1 + 2*5, 3 + 4},  // at most 5 slices
		{jirasim.FlavorDataCenter, 200, 0, 4},       // oldest, count, one page, the id sweep
		{jirasim.FlavorDataCenter, 1200, 0, 4 + 20}, // at most 5 slices of 250, 2 counts each
	} {
		t.Run(fmt.Sprintf("%s-%d", tt.flavor, tt.issues), func(t *testing.T) {
			f := newSimFixture(t, tt.flavor, tt.issues, false)
			f.src.cfg.Concurrency = 16 // 8 slices read at once: 16 slices unless bounded
			f.sync()
			f.checkCounts("first sync")
			ep := f.sim.Stats().Endpoints
			counts := ep["POST /rest/api/3/search/approximate-count"]["200"]
			searches := ep["POST /rest/api/3/search/jql"]["200"] + ep["GET /rest/api/2/search"]["200"]
			if counts > tt.maxCounts {
				t.Errorf("%d approximate-count requests, want at most %d", counts, tt.maxCounts)
			}
			if searches > tt.maxSearch {
				t.Errorf("%d search requests, want at most %d", searches, tt.maxSearch)
			}
			t.Logf("%d counts, %d searches", counts, searches)
		})
	}
}

func TestSlicesFor(t *testing.T) {
	for _, tt := range []struct {
		n           int
		total, page int64
		want        int
	}{
		{16, -1, 100, 16},     // the count failed: as many as asked
		{16, 0, 100, 1},       // nothing to read
		{16, 40, 100, 1},      // less than a page
		{16, 100, 100, 1},     // exactly a page
		{16, 101, 100, 2},     // a page and one issue
		{16, 450, 100, 5},     // one slice a page
		{16, 50_000, 100, 16}, // more pages than slices
		{16, 1200, 250, 5},    // Data Center's slice pages
	} {
		if got := slicesFor(tt.n, tt.total, tt.page); got != tt.want {
			t.Errorf("slicesFor(%d, %d, %d) = %d, want %d", tt.n, tt.total, tt.page, got, tt.want)
		}
	}
}
