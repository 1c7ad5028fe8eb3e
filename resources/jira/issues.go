package jira

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/errgroup"

	"github.com/jsync-dev/jsync/engine/jsonscan"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/resources/jira/client"
	"github.com/jsync-dev/jsync/resources/jira/jql"
)

// State keys of the issues table (state.TableState.Extra).
const (
	extraLastSweep = "last_delete_sweep" // RFC 3339 time (with fractions) of the last id sweep
	// + project id → idSet of issues written; state.WrittenPrefix makes
	// a reset keep them. legacyKnownPrefix is how jsync named them before.
	extraKnownPrefix  = state.WrittenPrefix + "known_ids:"
	legacyKnownPrefix = "known_ids:"
	// issues written within the overlap before the cursor, as id:updated-ms
	// pairs: the next run skips them when their `updated` is unchanged.
	extraOverlapSeen = "overlap_seen"
	// Jira's clock (RFC 3339) when the last complete run of the issues
	// began: that run read every issue updated before it, but for those
	// Jira's search index had not caught up with, which the overlap covers.
	extraSearchedAt = "searched_at"
	// the configured scope (projects, start_date) the known ids were synced
	// under; a change makes the next run sweep, and fetch what it lacks.
	extraScope = "scope"
	// + idSet of the issues the sweep found deleted: a child table that
	// was left out of the sync meanwhile marks their rows when it is
	// fetched in full again (markDeletedChildren). Kept in the issues
	// state, and in the children's when issues are not written.
	extraDeletedIDs = state.WrittenPrefix + "deleted_ids"
	// worklogs table
	extraDeletedSince = "deleted_since" // epoch ms cursor of worklog/deleted
)

// issue children fed from issue pages.
var issueChildren = []string{TableIssueComments, TableChangelogs, TableChangelogItems, TableIssueTransitions,
	TableWorklogs, TableIssueLinks, TableSprintIssues}

// backfillWindow is the search window above which issues are fetched in
// parallel time slices.
const backfillWindow = 7 * 24 * time.Hour

// defaultCheckpointPages is how many issue pages a sequential sync reads
// between checkpoints of the issues cursor.
const defaultCheckpointPages = 10

// issuesSince is the lower bound of the issues JQL: the overlap before the
// later of the cursor (the last `updated` read) and the time the last
// complete run began (searched_at), or the start date (default one year
// before now) on a first or full sync. A site that was quiet before the
// last run is thus not read again from its last change: after a bulk
// import whose issues all carry the same few minutes, every run would
// otherwise list or read them all again.
func (s *Source) issuesSince(st state.TableState, full bool, now time.Time) (time.Time, error) {
	if full || st.Cursor == "" {
		return s.startDate(now), nil
	}
	cur, err := time.Parse(time.RFC3339Nano, st.Cursor)
	if err != nil {
		return time.Time{}, fmt.Errorf("issues cursor %q: %w", st.Cursor, err)
	}
	// An unreadable searched_at only costs a longer read.
	if at, err := time.Parse(time.RFC3339Nano, st.Extra[extraSearchedAt]); err == nil && at.After(cur) {
		cur = at
	}
	return cur.Add(-s.cfg.Overlap).UTC(), nil
}

// startDate is where issues start: the configured start_date, or one year
// before now.
func (s *Source) startDate(now time.Time) time.Time {
	if s.cfg.StartDate.IsZero() {
		return now.AddDate(-1, 0, 0).UTC()
	}
	return s.cfg.StartDate.UTC()
}

// issuesJQL builds `[project in (…) AND] updated >= <ms> [AND updated < <ms>]
// ORDER BY updated ASC, id ASC`. Bounds are epoch milliseconds, which Jira
// reads without a time zone, so the user's profile zone cannot shift them.
func (s *Source) issuesJQL(projects []string, since, until time.Time) (string, error) {
	b := jql.New()
	if len(projects) > 0 {
		b.ProjectIn(projects...)
	}
	b.UpdatedSince(since)
	if !until.IsZero() {
		b.UpdatedBefore(until)
	}
	b.OrderBy("updated", jql.Asc).OrderBy("id", jql.Asc)
	return b.Build()
}

// oldestUpdated returns the `updated` of the oldest issue updated since
// `since` (one search request for one issue), or ok=false when there is none.
func (r *syncRun) oldestUpdated(ctx context.Context, keys []string, since time.Time) (time.Time, bool, error) {
	ctx = client.WithTable(ctx, TableIssues)
	jqlText, err := r.s.issuesJQL(keys, since, time.Time{})
	if err != nil {
		return time.Time{}, false, err
	}
	var page struct {
		Issues []struct {
			Fields struct {
				Updated string `json:"updated"`
			} `json:"fields"`
		} `json:"issues"`
	}
	if r.d.cloud {
		body := map[string]any{"jql": jqlText, "fields": []string{"updated"}, "maxResults": 1}
		err = r.s.cl.PostJSON(ctx, r.d.api+"/search/jql", nil, body, &page)
	} else {
		err = r.s.cl.GetJSON(ctx, r.d.api+"/search", url.Values{"jql": {jqlText}, "fields": {"updated"}, "maxResults": {"1"}}, &page)
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("find the oldest issue to slice the backfill: %w", err)
	}
	if len(page.Issues) == 0 {
		return time.Time{}, false, nil
	}
	t, err := ParseDateTime(page.Issues[0].Fields.Updated)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("find the oldest issue to slice the backfill: updated %q: %w", page.Issues[0].Fields.Updated, err)
	}
	return t, true, nil
}

// countAhead counts the issues updated since since, in the background
// (beside oldestUpdated, so that it adds no round trip), for slicesFor.
// The result is -1 when the count failed.
func (r *syncRun) countAhead(ctx context.Context, keys []string, since time.Time) func() int64 {
	out := make(chan int64, 1)
	go func() {
		n := int64(-1)
		if jqlText, err := r.s.issuesJQL(keys, since, time.Time{}); err == nil {
			if c, err := r.s.countIssues(client.WithTable(ctx, TableIssues), r.d, jqlText); err == nil && c >= 0 {
				n = c
			}
		}
		out <- n
	}()
	return func() int64 { return <-out }
}

// slicesFor bounds the n time slices of a backfill of total issues by
// its search pages of page issues: a slice holding less than a page saves
// no round trip, and slicing costs count requests (sliceBounds), which on
// a small site were most of the sync's requests (33 to slice 40 issues).
// An unknown total (-1: the count failed) keeps n, as the counts only
// balance the work.
func slicesFor(n int, total, page int64) int {
	if total < 0 {
		return n
	}
	return int(max(1, min(int64(n), (total+page-1)/page)))
}

// sliceParts is how many equal-width parts per time slice sliceBounds
// counts: the finer, the more even the slices, at one count request each.
const sliceParts = 2

// sliceBounds splits [since, now) into at most n time slices that hold
// about the same number of issues, and returns their n+1 bounds (the last
// is zero: the newest slice is open-ended). Issues are rarely spread evenly
// over time: recently updated ones dominate, so with equal widths the
// newest slice is a chain of pages many times longer than the others,
// read one after another while the rest of the run waits. It counts the
// issues of sliceParts×n equal-width parts, concurrently, and cuts where
// the running count passes each n-th of the total. A failed or empty count
// falls back to equal widths: the counts only balance the work.
func (r *syncRun) sliceBounds(ctx context.Context, keys []string, since time.Time, n int) []time.Time {
	parts := sliceParts * n
	width := r.now.Sub(since) / time.Duration(parts)
	at := func(i int) time.Time { return since.Add(time.Duration(i) * width) }
	bounds := func(cuts []int) []time.Time {
		b := []time.Time{since}
		for _, c := range cuts {
			b = append(b, at(c))
		}
		return append(b, time.Time{})
	}
	even := func() []time.Time {
		cuts := make([]int, n-1)
		for k := range cuts {
			cuts[k] = (k + 1) * sliceParts
		}
		return bounds(cuts)
	}
	counts := make([]int64, parts)
	errs := make([]error, parts)
	ctx = client.WithTable(ctx, TableIssues)
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.concurrency())
	for i := range parts {
		var hi time.Time
		if i < parts-1 {
			hi = at(i + 1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			jqlText, err := r.s.issuesJQL(keys, at(i), hi)
			if err == nil {
				counts[i], err = r.s.countIssues(ctx, r.d, jqlText)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return even() // the slices' own requests report the cancellation
	}
	for i, c := range counts {
		if errs[i] != nil || c < 0 {
			r.s.log.Warn("jira: could not count issues to balance the backfill slices; using equal time slices", "error", errors.Join(errs...))
			return even()
		}
	}
	cuts := balancedCuts(counts, n)
	if cuts == nil {
		return even()
	}
	return bounds(cuts)
}

// balancedCuts returns where to cut parts with these issue counts into at
// most n runs of about equal total: the indices of the parts that start a
// new run, in increasing order (never 0, never past the last part). It
// returns nil when the counts are all zero.
func balancedCuts(counts []int64, n int) []int {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total <= 0 {
		return nil
	}
	cuts := []int{}
	var cum int64
	k := 1 // the next run to start
	for i := 0; i < len(counts)-1 && k < n; i++ {
		cum += counts[i]
		if cum*int64(n) >= int64(k)*total {
			cuts = append(cuts, i+1)
			for k < n && cum*int64(n) >= int64(k)*total {
				k++
			}
		}
	}
	return cuts
}

// issueFetch is one sequential reader of issue pages with its own outputs
// (parallel time slices each get one).
type issueFetch struct {
	r    *syncRun
	e    *env
	outs issueOuts
	all  []*tableOut

	maxUpdated time.Time
	// maxSeen is the largest `updated` read, of issues written or skipped:
	// where a Data Center search restarts.
	maxSeen time.Time
	placed  map[int64]string     // issue id → project id, for the known sets
	read    map[string]time.Time // issue id → updated, of issues decoded
	// readNow are the issues this fetch wrote, and reread those it wrote
	// twice: they changed while the run read them.
	readNow, reread map[string]bool
	// resync is set in incremental runs: once the children of the issues
	// read (resynced) are sent, their older child rows, those this run did
	// not write again, are marked deleted: Jira no longer has them.
	resync   bool
	resynced []string
	// pendingChangelogs are issues whose embedded changelog is truncated,
	// waiting to be completed together through changelog/bulkfetch
	// (Cloud): up to bulkChangelogIssues per request, across pages.
	pendingChangelogs []string
	// inflight are the completions of the last pages, oldest first (nil
	// for a page with none), fetched while the next pages are read; settle
	// decodes them. Up to depth pages' completions are in flight (at least
	// one): a backfill slice waits for a page's completions at its next
	// page, while hydrate, whose chunks are independent, lets them run
	// hydrateAhead deep.
	inflight []*completions
	depth    int
	// prog is the slice's progress and cut (see sliceQueue); cut is
	// prog.cut as of the page being read, and cutReached is set when an
	// issue at or past it was left out.
	prog       sliceProgress
	cut        time.Time
	cutReached bool
}

// bulkChangelogIssues is changelog/bulkfetch's limit of issue ids per
// request, and bulkChangelogPage the histories asked for per page (the
// server may lower it; pages are followed by its token). The server
// accepts up to 10,000, but a page of 10,000 histories is about 11 MB of
// JSON, held twice per slice while the next page is fetched: at 200,000
// issues the slices ending together held 88 MB of such pages at once.
// 2,500 keeps a page near the size of a search page, for about 1% more
// requests (BENCHMARKS.md).
const (
	bulkChangelogIssues = 1000
	bulkChangelogPage   = 2500
)

func (r *syncRun) newIssueFetch(ctx context.Context, first bool, seen map[string]time.Time) *issueFetch {
	f := &issueFetch{r: r, e: r.env(ctx), placed: map[int64]string{}, read: maps.Clone(seen), resync: !first,
		readNow: map[string]bool{}, reread: map[string]bool{}}
	if f.read == nil {
		f.read = map[string]time.Time{}
	}
	f.e.skipIssue = func(id string, updated time.Time) bool {
		if updated.After(f.maxSeen) {
			f.maxSeen = updated
		}
		if !f.cut.IsZero() && !updated.Before(f.cut) {
			// Issues come in `updated` order: this one and the rest of
			// the slice belong to the slice split from it.
			f.cutReached = true
			return true
		}
		if !f.newer(id, updated) {
			return true
		}
		if len(f.read) >= rememberedKeys {
			clear(f.read)
			clear(f.readNow)
		}
		f.read[id] = updated
		if f.readNow[id] {
			f.reread[id] = true
		}
		f.readNow[id] = true
		return false
	}
	mk := func(name string) *tableOut {
		// Links and sprint membership read twice are the same row; for the
		// rest a later read is newer. Worklog ids written in an incremental
		// run are remembered, so worklog/updated does not fetch them again.
		out := r.newOut(name, name == TableIssueLinks || name == TableSprintIssues || (name == TableWorklogs && !first))
		if out != nil {
			f.all = append(f.all, out)
		}
		return out
	}
	f.outs = issueOuts{issues: mk(TableIssues), comments: mk(TableIssueComments), changelogs: mk(TableChangelogs),
		items: mk(TableChangelogItems), transitions: mk(TableIssueTransitions), worklogs: mk(TableWorklogs),
		links: mk(TableIssueLinks), sprintIssues: mk(TableSprintIssues)}
	return f
}

// newer reports whether an issue read with this `updated` is written: it
// was not read in this run yet, or only with an older `updated`.
func (f *issueFetch) newer(id string, updated time.Time) bool {
	prev, ok := f.read[id]
	return !ok || updated.After(prev)
}

// markChildren marks the child rows of the issues deleted: by issue_id, and
// issue links by either end. Worklogs too when withWorklogs. A non-zero
// syncedBefore spares the rows synced since (see source.Sink.Delete).
func (r *syncRun) markChildren(ctx context.Context, ids []string, withWorklogs bool, syncedBefore time.Time) error {
	for _, c := range issueChildren {
		if c == TableWorklogs && !withWorklogs {
			continue
		}
		if err := r.markChild(ctx, c, ids, syncedBefore); err != nil {
			return err
		}
	}
	return nil
}

// markChild marks the rows of one child table of the issues deleted.
func (r *syncRun) markChild(ctx context.Context, table string, ids []string, syncedBefore time.Time) error {
	if table != TableIssueLinks {
		return r.deleteBy(ctx, table, "issue_id", ids, syncedBefore)
	}
	if err := r.deleteBy(ctx, table, "source_issue_id", ids, syncedBefore); err != nil {
		return err
	}
	return r.deleteBy(ctx, table, "target_issue_id", ids, syncedBefore)
}

// deletedIDs are the issues the sweep found deleted so far, as the issues
// state and the children's states record them (extraDeletedIDs).
func (r *syncRun) deletedIDs(st state.TableState) (*idSet, error) {
	all := newIDSet()
	extras := []map[string]string{st.Extra}
	for _, c := range r.stateChildren(true) {
		extras = append(extras, r.req.Tables[c].State.Extra)
	}
	for _, extra := range extras {
		set, err := parseIDSet(extra[extraDeletedIDs])
		if err != nil {
			return nil, fmt.Errorf("deleted issue ids in state: %w", err)
		}
		all.Or(&set.Bitmap)
	}
	return all, nil
}

// setDeleted records the deleted issues in a state's extra.
func setDeleted(extra map[string]string, deleted *idSet) {
	if deleted.IsEmpty() {
		delete(extra, extraDeletedIDs)
		return
	}
	extra[extraDeletedIDs] = deleted.String()
}

// markDeletedChildren marks, in each child table fetched in full over rows
// written before (a table left out of the sync for a while and added back,
// or a full refresh), the rows of the issues deleted: such a table missed
// the sweeps that marked the other tables' rows. Issues known again (made
// visible again) are no longer deleted.
func (r *syncRun) markDeletedChildren(ctx context.Context, deleted *idSet, known knownIDs) error {
	for _, set := range known {
		deleted.AndNot(&set.Bitmap)
	}
	if deleted.IsEmpty() {
		return nil
	}
	var ids []string
	for _, c := range issueChildren {
		tr := r.wanted(c)
		if tr == nil || !tr.Full || tr.State.LastSuccess.IsZero() {
			continue
		}
		if ids == nil {
			for it := deleted.Iterator(); it.HasNext(); {
				ids = append(ids, strconv.FormatUint(it.Next(), 10))
			}
		}
		if err := r.markChild(ctx, c, ids, time.Time{}); err != nil {
			return fmt.Errorf("mark the %s of deleted issues: %w", c, err)
		}
	}
	return nil
}

func (f *issueFetch) release() {
	f.abandon()
	for _, o := range f.all {
		o.w.Release()
	}
}

// finished lets go what a completed time slice no longer needs, so that
// the memory of a backfill does not grow with the slices done: the keys
// of links and sprint memberships it wrote (no more rows come), and the
// issues it read before its last `updated` minus the overlap (the overlap
// set keeps only issues within the overlap of the cursor, which is at or
// past that).
func (f *issueFetch) finished(overlap time.Duration) {
	for _, o := range []*tableOut{f.outs.links, f.outs.sprintIssues} {
		if o != nil {
			o.runKeys = nil
		}
	}
	// A fresh map, since a Go map keeps its buckets after its entries
	// are deleted; so do the batch key sets after a flush.
	from := f.maxUpdated.Add(-overlap)
	keep := map[string]time.Time{}
	for id, u := range f.read {
		if !u.Before(from) {
			keep[id] = u
		}
	}
	f.read = keep
	for _, o := range f.all {
		o.batchKeys = nil
	}
}

// flush decodes the completions in flight, completes the pending
// changelogs, sends every pending row, then marks the stale children of the
// issues re-read since the last flush.
func (f *issueFetch) flush(ctx context.Context) error {
	if err := f.settle(); err != nil {
		return err
	}
	if err := f.drainChangelogs(ctx); err != nil {
		return err
	}
	if err := f.flushOuts(ctx); err != nil {
		return err
	}
	if len(f.resynced) == 0 {
		return nil
	}
	// Each sink applies the marks after the rows sent before them; rows of
	// this run carry _jsync_synced_at = r.now (stored to the microsecond)
	// and are left alone. Worklogs are marked too when no worklog feed
	// runs (a first or full run, or issues read for their children
	// alone): every issue read then brings all its worklogs.
	ids := f.resynced
	f.resynced = nil
	return f.r.markChildren(ctx, ids, f.r.noWorklogFeed, f.r.now.Truncate(time.Microsecond))
}

// flushOuts sends the rows decoded so far.
func (f *issueFetch) flushOuts(ctx context.Context) error {
	for _, o := range f.all {
		if err := o.flush(ctx); err != nil {
			return err
		}
	}
	return f.e.err
}

// syncIssues fetches issues and the children cut from them, completes
// truncated collections, reads the worklog feeds, sweeps for deleted issues
// and checkpoints. Errors of the worklog feeds and the sweep come back as
// *source.TableError; others concern issues. The issues cursor is
// committed only after req.Barrier confirms that the children rows of the
// same pages are committed.
func (r *syncRun) syncIssues(ctx context.Context) error {
	tr := r.req.Tables[TableIssues]
	wantChild := false
	for _, c := range issueChildren {
		wantChild = wantChild || r.wanted(c) != nil
	}
	if r.wanted(TableIssues) == nil && !wantChild {
		return nil
	}
	var st state.TableState
	full := false
	if tr != nil {
		st, full = tr.State, tr.Full
	}
	ctx = client.WithTable(ctx, TableIssues)
	// The search names the projects only when the configuration limits
	// them; otherwise only a delete sweep lists the projects, when it runs.
	var keys []string
	if len(r.s.cfg.Projects) > 0 {
		projects, err := r.visibleProjects(ctx)
		if err != nil {
			return err
		}
		for _, p := range projects {
			keys = append(keys, p.Key)
		}
	}
	since, err := r.s.issuesSince(st, full, r.now)
	if err != nil {
		return err
	}
	first := full || st.Cursor == ""
	var cursor time.Time
	if !first {
		cursor, _ = time.Parse(time.RFC3339Nano, st.Cursor)
	}
	known, err := loadKnown(st.Extra)
	if err != nil {
		return err
	}
	// Issues read only for their children keep no cursor, so every run
	// reads them all; the children's states keep the known ids instead,
	// so that the sweep marks the children of deleted issues, and each
	// issue read replaces its children (a deleted comment is marked).
	// Either side falls back on the other when it knows nothing, so that
	// a sync that starts or stops writing issues still marks what was
	// deleted in between.
	childOnly := r.childOnly()
	if childOnly || len(known) == 0 {
		ck, err := r.childKnown()
		if err != nil {
			return err
		}
		if len(ck) > 0 {
			known = ck
		}
	}
	deleted, err := r.deletedIDs(st)
	if err != nil {
		return err
	}
	// fresh: nothing was written before, so no row can be stale. A full
	// run over written rows (-full-refresh, a lost cursor) keeps the ids
	// they record, so that the sweep finds those deleted since, and
	// replaces the children of every issue it reads, as incremental runs
	// do.
	fresh := first && len(known) == 0
	if first {
		// A first or full run resumed after a failure must go on from its
		// own cursor: an earlier run's searched_at would skip what it has
		// not read again yet.
		st.Extra = maps.Clone(st.Extra)
		delete(st.Extra, extraSearchedAt)
	}
	// A first or full run, or one that reads issues only for their
	// children, reads no worklog feed: the issues bring every worklog.
	r.noWorklogFeed = first || childOnly
	// When this run began by Jira's clock; recorded once every issue is read.
	searchedAt, searchedOK := r.serverStart()

	// Issues written in the previous run's overlap window are skipped when
	// re-read with the same `updated` (the overlap re-reads them on purpose,
	// in case Jira's search index was behind; unchanged they need nothing).
	var seen map[string]time.Time
	if !first {
		seen = parseOverlapSeen(st.Extra[extraOverlapSeen])
	}

	// save commits the issues state (cursor, known ids, the overlap set)
	// after a barrier. done are the fetchers whose reads it covers.
	save := func(ctx context.Context, upTo time.Time, extra map[string]string, done []*issueFetch) error {
		if tr == nil || tr.Sink == nil || !tr.Write {
			// Issues fetched only for their children keep no cursor: a
			// later run that writes issues must start from the start date.
			return nil
		}
		if err := r.barrier(ctx); err != nil {
			return fmt.Errorf("wait for children rows: %w", err)
		}
		next := st
		at := cursor
		if upTo.After(cursor) {
			next.Cursor = upTo.UTC().Format(time.RFC3339Nano)
			at = upTo
		}
		if v := overlapSeen(seen, done, at.Add(-r.s.cfg.Overlap)); v != "" {
			extra[extraOverlapSeen] = v
		} else {
			delete(extra, extraOverlapSeen)
		}
		next.Extra = extra
		next.PinnedColumns = r.pinned(st.PinnedColumns)
		next.LastSuccess = r.now
		return r.checkpoint(ctx, TableIssues, next)
	}

	var fetchers []*issueFetch
	defer func() {
		for _, f := range fetchers {
			f.release()
		}
	}()
	slices := 1
	// A long window (a first sync, or a backfill resumed from its last
	// checkpoint) is split into time slices fetched concurrently. The
	// slices cover where the issues are: from the oldest matching issue's
	// `updated`, not from the start date, which may lie years earlier.
	if r.concurrency() > 1 && r.now.Sub(since) > backfillWindow {
		total := r.countAhead(ctx, keys, since)
		if oldest, ok, err := r.oldestUpdated(ctx, keys, since); err != nil {
			return err
		} else if ok && oldest.After(since) {
			since = oldest.Truncate(time.Millisecond)
		}
		if r.now.Sub(since) > backfillWindow {
			page := int64(cloudSearchPage)
			if !r.d.cloud {
				page = dcSlicePage
			}
			slices = slicesFor(2*r.sliceWorkers(), total(), page)
		}
	}
	var bounds []time.Time
	if slices > 1 {
		bounds = r.sliceBounds(ctx, keys, since, slices)
		slices = len(bounds) - 1
	}
	if slices == 1 {
		f := r.newIssueFetch(ctx, fresh, seen)
		fetchers = append(fetchers, f)
		fetched := false // the changed issues were fetched by id
		if r.d.cloud && !first {
			var err error
			fetched, bounds, err = r.fetchChanged(ctx, f, keys, since, func(upTo time.Time) error {
				return save(ctx, upTo, f.placeKnown(known).extra(st.Extra), fetchers)
			})
			if err != nil {
				return err
			}
		}
		switch {
		case len(bounds) > 2:
			// Too many changed issues to list: time slices read them, as
			// in a backfill.
			f.release()
			fetchers = nil
			slices = len(bounds) - 1
		case !fetched:
			if err := r.fetchSequential(ctx, f, keys, since, func() error {
				return save(ctx, f.maxUpdated, f.placeKnown(known).extra(st.Extra), fetchers)
			}); err != nil {
				return err
			}
		}
	}
	if slices > 1 {
		// Time slices fetched concurrently, oldest first, so that the
		// prefix of finished slices grows early: when it grows, the cursor
		// is checkpointed at its largest `updated`, and a crashed backfill
		// resumes from there. Once none waits, running slices are split
		// (sliceQueue). The last slice is open-ended (bounds[slices] is
		// zero): it catches issues updated during the sync.
		q := &sliceQueue{now: r.now, fetch: func() *issueFetch { return r.newIssueFetch(ctx, fresh, seen) }}
		for i := range slices {
			q.slices = append(q.slices, &timeSlice{f: q.fetch(), lo: bounds[i], hi: bounds[i+1]})
		}
		err := q.run(ctx, r.sliceWorkers(),
			func(ts *timeSlice) error {
				if err := ts.f.pages(ctx, keys, ts.lo, ts.hi, dcSlicePage, nil); err != nil && !errors.Is(err, errSliceCut) {
					return err
				}
				return nil
			},
			func(ts *timeSlice) error {
				if err := ts.f.flush(ctx); err != nil {
					return err
				}
				ts.f.finished(r.s.cfg.Overlap)
				return nil
			},
			func(prefix []*issueFetch) error {
				// The prefix only grows, in slice order; a fetcher's
				// issues join the known sets once (placeKnown empties
				// its own).
				upTo := cursor
				for _, pf := range prefix {
					if pf.maxUpdated.After(upTo) {
						upTo = pf.maxUpdated
					}
					pf.placeKnown(known)
				}
				return save(ctx, upTo, known.extra(st.Extra), prefix)
			})
		fetchers = q.fetchers()
		if q.splits > 0 {
			r.s.log.Debug("jira: backfill time slices split to keep every worker reading", "slices", len(fetchers), "splits", q.splits)
		}
		if err != nil {
			return err
		}
	}
	maxUpdated := cursor
	for _, f := range fetchers {
		if err := f.flush(ctx); err != nil {
			return err
		}
		if f.maxUpdated.After(maxUpdated) {
			maxUpdated = f.maxUpdated
		}
		f.placeKnown(known)
	}

	var errs []error
	// A sync that reads every issue for its children needs no worklog
	// feeds: the issues bring every worklog, and the sweep and the
	// re-read issues mark the deleted ones.
	// The feeds' state is checkpointed after the final save, which waits
	// for the rows sent: waiting for them here would hold the sweep back.
	var worklogState *state.TableState
	if r.wanted(TableWorklogs) != nil && !childOnly {
		if next, err := r.worklogFeeds(ctx, fetchers[0], first, known); err != nil {
			errs = append(errs, &source.TableError{Table: TableWorklogs, Err: err})
		} else {
			worklogState = &next
		}
	}
	extra := known.extra(st.Extra)
	missing, swept, err := r.sweepDeleted(ctx, known, deleted, st, first, childOnly)
	if err != nil {
		errs = append(errs, &source.TableError{Table: TableIssues, Err: fmt.Errorf("delete sweep: %w", err)})
	}
	if len(missing) > 0 {
		// Issues Jira has, updated since the start date, that no run wrote:
		// from projects added to the configuration or made visible to the
		// user since, or from before a start date moved back.
		r.s.log.Info("jira: fetching issues missing from the destination (a project added or made visible, an earlier start date, or issues the search missed)",
			"issues", len(missing))
		if err := r.heal(ctx, known, missing, func() error {
			return save(ctx, maxUpdated, known.extra(extra), fetchers)
		}); err != nil {
			swept = false // the next run sweeps again
			errs = append(errs, &source.TableError{Table: TableIssues, Err: fmt.Errorf("fetch issues missing from the destination: %w", err)})
		}
	}
	if swept {
		extra[extraLastSweep] = r.now.Format(time.RFC3339Nano)
		extra[extraScope] = r.s.scope()
	}
	if err := r.markDeletedChildren(ctx, deleted, known); err != nil {
		errs = append(errs, &source.TableError{Table: TableIssues, Err: err})
	}
	if err := fetchers[0].flush(ctx); err != nil {
		return err
	}
	extra = known.extra(extra)
	setDeleted(extra, deleted)
	if searchedOK {
		extra[extraSearchedAt] = searchedAt.UTC().Format(time.RFC3339Nano)
	}
	if err := save(ctx, maxUpdated, extra, fetchers); err != nil {
		return err
	}
	if worklogState != nil {
		// save waited for every row sent so far (the issues are written
		// when the worklog feeds run), the feeds' rows included.
		if err := r.checkpoint(ctx, TableWorklogs, *worklogState); err != nil {
			return err
		}
	}
	for _, c := range r.stateChildren(childOnly) {
		cst := r.req.Tables[c].State
		cst.LastSuccess = r.now
		if childOnly {
			cst.Extra = known.extra(cst.Extra)
			setDeleted(cst.Extra, deleted)
		} else {
			// The issues state keeps them now: drop those of a run that
			// read issues only for their children, which would be stale
			// by the next such run.
			cst.Extra = knownIDs{}.extra(cst.Extra)
		}
		if err := r.checkpoint(ctx, c, cst); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// serverStart is when this run began by Jira's clock: serverInfo's
// serverTime, read at discovery, before any search. ok is false when the
// server did not say, or when its clock is more than an hour from this
// machine's, which is not trusted to bound a search: the next run then
// reads from its cursor alone.
func (r *syncRun) serverStart() (t time.Time, ok bool) {
	if r.d.info == nil {
		return time.Time{}, false
	}
	t, err := ParseDateTime(r.d.info.ServerTime)
	if err != nil {
		return time.Time{}, false
	}
	if d := t.Sub(r.now); d > time.Hour || d < -time.Hour {
		r.s.log.Warn("jira: the server's clock is more than an hour from this machine's; the next incremental run reads from its cursor alone",
			"server_time", t, "local_time", r.now)
		return time.Time{}, false
	}
	return t, true
}

// fetchChanged is an incremental Cloud run's first step. It lists the
// issues updated since `since` (light search pages) and fetches by id those
// it must write (fetched is true), hydrateChunk at a time, checkpointing
// the cursor after each chunk just before the earliest listed `updated` of
// the issues still to fetch. When more than listMax match, it returns the
// bounds of time slices to read them in full pages, as a backfill does,
// unless the run reads one page at a time (concurrency 1). A bulk change
// of thousands of issues is thus fetched several requests at once, not one
// search page after another.
func (r *syncRun) fetchChanged(ctx context.Context, f *issueFetch, keys []string, since time.Time, checkpoint func(upTo time.Time) error) (fetched bool, bounds []time.Time, err error) {
	ids, times, listed, ok, err := f.changedIssues(ctx, keys, since)
	if err != nil {
		return false, nil, err
	}
	if ok {
		err := f.hydrate(ctx, ids, r.s.hydrateEvery, func(done int) error {
			if done == len(ids) {
				return nil // the run's final save follows
			}
			// Every issue still to fetch was updated after the cursor.
			upTo := earliest(times[done:])
			if !upTo.IsZero() {
				upTo = upTo.Add(-time.Millisecond)
			}
			return checkpoint(upTo)
		})
		// The cursor is what the listing covered, not the `updated` of
		// the issues as fetched: one changed again between the listing
		// and its fetch carries a later time, and an issue changed in
		// between that the listing did not see would fall behind the
		// next run's overlap.
		if f.maxUpdated.After(listed) {
			f.maxUpdated = listed
		}
		return true, nil, err
	}
	if r.concurrency() == 1 {
		return false, nil, nil
	}
	return false, r.sliceBounds(ctx, keys, since, 2*r.sliceWorkers()), nil
}

// earliest is the earliest of times that is not zero, or zero.
func earliest(times []time.Time) time.Time {
	var t time.Time
	for _, u := range times {
		if !u.IsZero() && (t.IsZero() || u.Before(t)) {
			t = u
		}
	}
	return t
}

// fetchSequential reads the issues since `since` in full search pages with
// one fetcher, calling checkpoint every checkpointPages pages.
func (r *syncRun) fetchSequential(ctx context.Context, f *issueFetch, keys []string, since time.Time, checkpoint func() error) error {
	page := 0
	return f.pages(ctx, keys, since, time.Time{}, dcAlonePage, func() error {
		page++
		if page%r.s.checkpointPages != 0 {
			return nil
		}
		if err := f.flush(ctx); err != nil {
			return err
		}
		return checkpoint()
	})
}

// pinned is the custom-field column mapping to persist: the previous one
// (a field deleted in Jira keeps its name reserved, since its column stays
// in the destination) plus the current fields.
func (r *syncRun) pinned(prev map[string]string) map[string]string {
	m := make(map[string]string, len(prev)+len(r.d.custom))
	for id, col := range prev {
		m[id] = col
	}
	for _, c := range r.d.custom {
		m[c.FieldID] = c.Column
	}
	return m
}

// handle decodes a page of issues (with their children) and completes the
// truncated collections.
func (f *issueFetch) handle(ctx context.Context, items []json.RawMessage) error {
	f.prog.mu.Lock()
	f.cut = f.prog.cut
	f.prog.mu.Unlock()
	var trunc []issueInfo
	read := 0
	for _, it := range items {
		info, ok := f.e.decodeIssue(f.outs, it)
		if !ok {
			continue
		}
		read++
		if info.Updated.After(f.maxUpdated) {
			f.maxUpdated = info.Updated
		}
		if f.resync {
			f.resynced = append(f.resynced, info.ID)
		}
		if n, err := strconv.ParseInt(info.ID, 10, 64); err == nil && n >= 0 && info.ProjectID != "" {
			f.placed[n] = info.ProjectID
		}
		if info.CommentsTruncated || info.WorklogsTruncated || info.ChangelogTruncated {
			trunc = append(trunc, info)
		}
	}
	if f.e.err != nil {
		return f.e.err
	}
	f.prog.mu.Lock()
	f.prog.read += read
	f.prog.page = max(f.prog.page, len(items))
	f.prog.updated = f.maxUpdated
	f.prog.mu.Unlock()
	if err := f.complete(ctx, trunc); err != nil {
		return err
	}
	if f.cutReached {
		return errSliceCut
	}
	return nil
}

// Page sizes of a Data Center search of full issues. Data Center grants up
// to jira.search.views.default.max (usually 1000), but its
// expand=changelog returns every history, so a page of 1000 can be tens of
// MB, held twice by each fetcher reading pages (the page being decoded and
// the next). Time slices, 8 fetchers at once, ask for fewer. Measured on a
// 20,000-issue backfill at 150 ms latency, alternating: 1000 a page
// 12.5-13.0 s and 798-851 MB peak RSS; 250 a page 11.3-11.8 s and
// 481-508 MB; 100 a page 13.2-13.4 s and 411-442 MB. A single fetcher (an
// incremental run) keeps 1000: 7,822 changed issues took 12.5 s, and 20.7 s
// at 250, one page after another.
const (
	dcSlicePage = 250
	dcAlonePage = 1000
)

// cloudSearchPage is the issues of a Cloud search page with fields=*all
// and expand=changelog: the server caps such pages at 100.
const cloudSearchPage = 100

// hydrateChunk is how many issues fetched by id (the changed issues of an
// incremental Cloud run, the missing ones of a heal) are written between
// two checkpoints of the issues state.
const hydrateChunk = 5000

// maxListed bounds the issues an incremental Cloud run lists, and so fetches
// by id, before it falls back to full search pages in time slices: as many
// as the overlap set holds. A run soon after a bulk change finds the
// changed issues again in its cursor overlap, lists them (ten light pages
// at most) and skips those already written, instead of reading them all
// again in full pages.
const maxListed = maxOverlapSeen

// lightPage is the page size asked for when listing issues with one field:
// Jira's largest, which it grants to pages of id, key or a few fields.
const lightPage = 5000

var errTooManyChanged = errors.New("too many changed issues to fetch by id")

// changedIssues lists the id and `updated` of the issues updated since
// `since` (light search pages: few fields, so up to 5000 issues a page) and
// returns the ids to write, oldest first, with their listed `updated` (zero
// when unreadable): not those already written with the same `updated`, such
// as the unchanged issues of the cursor overlap. listedMax is the latest
// `updated` listed, written or not. ok is false when more than the
// source's listMax issues match.
func (f *issueFetch) changedIssues(ctx context.Context, keys []string, since time.Time) (ids []string, times []time.Time, listedMax time.Time, ok bool, err error) {
	r := f.r
	jqlText, err := r.s.issuesJQL(keys, since, time.Time{})
	if err != nil {
		return nil, nil, time.Time{}, false, err
	}
	listed := 0
	body := map[string]any{"jql": jqlText, "fields": []string{"updated"}, "maxResults": lightPage}
	err = r.s.cl.EachCursorPagePOST(ctx, r.d.api+"/search/jql", body, "issues", func(items []json.RawMessage) error {
		if listed += len(items); listed > r.s.listMax {
			return errTooManyChanged
		}
		for _, it := range items {
			rawID, u, err := decodeListed(it)
			if err != nil {
				return err
			}
			id, ok, err := asString(rawID)
			if err != nil || !ok || id == "" {
				return fmt.Errorf("listed issue without an id: %s", truncate(string(it)))
			}
			if u.After(listedMax) {
				listedMax = u
			}
			if !u.IsZero() && !f.newer(id, u) {
				continue
			}
			ids = append(ids, id)
			times = append(times, u)
		}
		return nil
	})
	if errors.Is(err, errTooManyChanged) {
		return nil, nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, nil, time.Time{}, false, fmt.Errorf("list changed issues: %w", err)
	}
	return ids, times, listedMax, true, nil
}

// decodeListed reads an issue of a listing (fields=updated, or id and
// updated): its raw id and its `updated`, zero when missing or unreadable.
// Such an issue is fetched anyway, and decodeIssue rejects it with the
// reason.
func decodeListed(it json.RawMessage) (id json.RawMessage, updated time.Time, err error) {
	var v struct {
		ID     json.RawMessage `json:"id"`
		Fields struct {
			Updated json.RawMessage `json:"updated"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(it, &v); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode listed issue: %w", err)
	}
	if u, ok, err := asTime(v.Fields.Updated, false); err == nil && ok {
		updated = u
	}
	return v.ID, updated, nil
}

// hydrateAhead bounds the chunks of ids fetched while an earlier one is
// decoded, and the chunks whose completions are in flight. Each answer is
// a page of 100 issues with every field (a few MB), so this also bounds
// what hydrate holds, as the backfill's slices are bounded. Measured on a
// heal of 13,864 issues at 150 ms latency (rate 100), alternating builds:
// one chunk at a time 44.8 and 45.9 s; 4 ahead 19.7 and 20.1 s; 8 ahead
// 16.8 and 16.6 s, with 12-15 MB more peak RSS than 4.
const hydrateAhead = 8

// hydrate fetches issues by id, 100 per POST issue/bulkfetch (fields=*all,
// expand=changelog,transitions, the same shape as search pages), and
// handles them like search pages, in the order of ids. Up to hydrateAhead
// chunks (at most the run's concurrency) are in flight while one is
// decoded. Data Center, which has no bulkfetch, and Cloud sites that do not
// offer it search the ids instead. Every `every` ids, and after the last,
// it flushes the rows and calls checkpoint with how many ids are done; the
// next chunks stay in flight meanwhile, so a checkpoint costs the flush and
// the commit, not a pipeline drained and filled again.
func (f *issueFetch) hydrate(ctx context.Context, ids []string, every int, checkpoint func(done int) error) error {
	r := f.r
	if every <= 0 {
		every = max(1, len(ids)) // no checkpoint before the last id
	}
	// Chunks of at most 100 ids, none across a multiple of every.
	type chunk struct{ lo, hi int }
	var chunks []chunk
	for lo := 0; lo < len(ids); {
		hi := min(lo+100, len(ids), (lo/every+1)*every)
		chunks = append(chunks, chunk{lo, hi})
		lo = hi
	}
	type hydrated struct {
		items []json.RawMessage
		done  int // ids done once items are handled
	}
	var noBulk atomic.Bool // bulkfetch answered 404 or 405
	fetch := func(ctx context.Context, i int) (hydrated, error) {
		c := chunks[i]
		ids := ids[c.lo:c.hi]
		var items []json.RawMessage
		if r.d.cloud && !noBulk.Load() {
			got, rest, err := f.bulkFetch(ctx, ids)
			if err != nil && !isStatus(err, http.StatusNotFound, http.StatusMethodNotAllowed) {
				return hydrated{}, fmt.Errorf("issue bulkfetch: %w", err)
			}
			if err != nil {
				noBulk.Store(true)
			}
			items, ids = got, rest
		}
		if len(ids) > 0 {
			found, err := f.searchIDs(ctx, ids)
			if err != nil {
				return hydrated{}, err
			}
			items = append(items, found...)
		}
		return hydrated{items, c.hi}, nil
	}
	use := func(h hydrated) error {
		if err := f.handle(ctx, h.items); err != nil {
			return err
		}
		if h.done%every != 0 && h.done != len(ids) {
			return nil
		}
		if err := f.flush(ctx); err != nil {
			return err
		}
		return checkpoint(h.done)
	}
	// A fetcher that hydrates reads no pages: its chunks' completions can
	// all be in flight together.
	ahead := min(hydrateAhead, r.concurrency())
	f.depth = ahead
	return fetchOrdered(ctx, len(chunks), ahead, fetch, use)
}

// issueErrorRetries is how many times bulkFetch asks issue/bulkfetch again
// for the issues an answer listed in issueErrors, after the client's
// backoff, before it leaves them to a search by id.
const issueErrorRetries = 2

// bulkFetch reads the issues of ids (at most 100) with POST
// issue/bulkfetch. Jira answers 200 with the issues it "can't return …
// due to a retriable error or payload constraint" in issueErrors instead
// of issues; bulkFetch asks for those again, up to issueErrorRetries
// times, and returns the ones still refused in rest, for the caller to
// search by id: an issue listed as changed is never dropped because Jira
// could not return it once. On an error, items and rest are what was read
// and what was not.
func (f *issueFetch) bulkFetch(ctx context.Context, ids []string) (items []json.RawMessage, rest []string, err error) {
	r := f.r
	rest = ids
	for attempt := 0; ; attempt++ {
		var resp struct {
			Issues      []json.RawMessage `json:"issues"`
			IssueErrors []struct {
				ID           json.RawMessage `json:"id"`
				ErrorMessage string          `json:"errorMessage"`
			} `json:"issueErrors"`
		}
		body := map[string]any{"issueIdsOrKeys": rest, "fields": []string{"*all"}, "expand": []string{"changelog", "transitions"}}
		if err := r.s.cl.PostJSON(ctx, r.d.api+"/issue/bulkfetch", nil, body, &resp); err != nil {
			return items, rest, err
		}
		items = append(items, resp.Issues...)
		if len(resp.IssueErrors) == 0 {
			return items, nil, nil
		}
		rest = make([]string, 0, len(resp.IssueErrors))
		for _, e := range resp.IssueErrors {
			id, ok, err := asString(e.ID)
			if !ok || err != nil || id == "" {
				// Which issue failed is unknown: stop here rather than
				// let the cursor pass it.
				return items, rest, fmt.Errorf("an issue in issueErrors has no usable id (%s): %s", truncate(string(e.ID)), e.ErrorMessage)
			}
			rest = append(rest, id)
		}
		if attempt == issueErrorRetries {
			r.s.log.Warn("jira: issue/bulkfetch could not return some changed issues after retries; searching them by id",
				"issues", len(rest), "first", rest[0], "message", resp.IssueErrors[0].ErrorMessage)
			return items, rest, nil
		}
		if err := r.s.cl.Pause(ctx, attempt); err != nil {
			return items, rest, err
		}
	}
}

// searchIDs reads the issues of ids (at most 100, one page) with a search
// (`id in (…)`): search/jql on Cloud, the offset-paged search on Data
// Center.
func (f *issueFetch) searchIDs(ctx context.Context, ids []string) ([]json.RawMessage, error) {
	r := f.r
	jqlText, err := jql.New().In("id", ids...).OrderBy("id", jql.Asc).Build()
	if err != nil {
		return nil, err
	}
	items, err := collect(func(fn client.PageFunc) error {
		if r.d.cloud {
			body := map[string]any{"jql": jqlText, "fields": []string{"*all"}, "expand": "changelog,transitions", "maxResults": cloudSearchPage}
			return r.s.cl.EachCursorPagePOST(ctx, r.d.api+"/search/jql", body, "issues", fn)
		}
		q := url.Values{"jql": {jqlText}, "fields": {"*all"}, "expand": {"changelog,transitions"}, "maxResults": {"100"}}
		return r.s.cl.EachPageOf(ctx, r.d.api+"/search", q, "issues", fn)
	})
	if err != nil {
		return nil, fmt.Errorf("search issues by id: %w", err)
	}
	return items, nil
}

// pages reads the issues updated in [since, until) page by page; afterPage
// runs after each page has been decoded (its truncated collections may
// still be completing: flush waits for them).
func (f *issueFetch) pages(ctx context.Context, keys []string, since, until time.Time, dcPage int, afterPage func() error) error {
	r := f.r
	handle := func(items []json.RawMessage) error {
		if err := f.handle(ctx, items); err != nil {
			return err
		}
		if afterPage != nil {
			return afterPage()
		}
		return nil
	}
	if r.d.cloud {
		jqlText, err := r.s.issuesJQL(keys, since, until)
		if err != nil {
			return err
		}
		body := map[string]any{"jql": jqlText, "fields": []string{"*all"}, "expand": "changelog,transitions", "maxResults": 5000}
		if err := r.s.cl.EachCursorPagePOST(ctx, r.d.api+"/search/jql", body, "issues", handle); err != nil {
			return fmt.Errorf("search issues: %w", err)
		}
		return nil
	}
	// Data Center pages by offset, which skips an issue at a page boundary
	// when one read before it is updated meanwhile (it moves to the end),
	// and DC 10 refuses startAt+maxResults beyond 10,000. So the query
	// restarts after every page from the largest `updated` read so far;
	// issues re-read at that boundary are skipped (skipIssue). If a whole
	// page shares one millisecond the restart could not advance, so paging
	// goes on by offset, only until a page reads past that millisecond:
	// then it restarts from there again, so that offsets stay small.
	lo, restarting := since, true
	for {
		jqlText, err := r.s.issuesJQL(keys, lo, until)
		if err != nil {
			return err
		}
		q := url.Values{"jql": {jqlText}, "fields": {"*all"}, "expand": {"changelog,transitions"}, "maxResults": {strconv.Itoa(dcPage)}}
		err = r.s.cl.EachPageOf(ctx, r.d.api+"/search", q, "issues", func(items []json.RawMessage) error {
			if err := handle(items); err != nil {
				return err
			}
			if restarting || f.maxSeen.Truncate(time.Millisecond).After(lo) {
				return client.ErrRestart
			}
			return nil
		})
		if errors.Is(err, client.ErrRestart) {
			if next := f.maxSeen.Truncate(time.Millisecond); next.After(lo) {
				lo, restarting = next, true
			} else {
				restarting = false
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("search issues: %w", err)
		}
		return nil
	}
}

// completion is one fetch that completes a truncated collection: fetch
// runs concurrently with others (network only); decode runs afterwards, in
// job order, on the fetcher's goroutine.
type completion struct {
	what   string
	issue  string // the issue's id
	fetch  func(ctx context.Context) ([]json.RawMessage, error)
	decode func(items []json.RawMessage)
}

// completions are the fetches of one page's completions, running while the
// fetcher goes on to its next page.
type completions struct {
	jobs    []completion
	results [][]json.RawMessage
	errs    []error
	done    chan struct{} // closed when every fetch has returned
	cancel  context.CancelFunc
}

// complete fetches the whole of each truncated embedded collection:
// comments and worklogs by paging their issue endpoints, changelogs through
// changelog/bulkfetch (Cloud, up to 1000 issues per request) or the issue's
// changelog endpoint. Up to Concurrency fetches run at once, all within the
// client's rate limiter.
//
// The fetches of a page overlap the reading and decoding of the next page:
// complete starts them and returns after decoding the previous page's, so
// that a time slice does not wait out a round trip on every page. The last
// page's are decoded by settle, which flush calls first.
func (f *issueFetch) complete(ctx context.Context, infos []issueInfo) error {
	r := f.r
	var jobs []completion
	var changelogIDs []string
	pageAll := func(table, path string, q url.Values, key string) func(context.Context) ([]json.RawMessage, error) {
		return func(ctx context.Context) ([]json.RawMessage, error) {
			ctx = client.WithTable(ctx, table)
			return collect(func(fn client.PageFunc) error { return r.s.cl.EachPageOf(ctx, path, q, key, fn) })
		}
	}
	for _, info := range infos {
		id := info.ID
		if info.CommentsTruncated && f.outs.comments != nil {
			jobs = append(jobs, completion{what: "comments of issue " + info.Key, issue: id,
				fetch: pageAll(TableIssueComments, r.d.api+"/issue/"+id+"/comment", url.Values{"maxResults": {"100"}}, "comments"),
				decode: func(items []json.RawMessage) {
					for _, it := range items {
						f.e.decodeComment(f.outs.comments, it, id)
					}
				}})
		}
		if info.WorklogsTruncated && f.outs.worklogs != nil {
			jobs = append(jobs, completion{what: "worklogs of issue " + info.Key, issue: id,
				fetch: pageAll(TableWorklogs, r.d.api+"/issue/"+id+"/worklog", nil, "worklogs"),
				decode: func(items []json.RawMessage) {
					for _, it := range items {
						f.e.decodeWorklog(f.outs.worklogs, it, id)
					}
				}})
		}
		if info.ChangelogTruncated && (f.outs.changelogs != nil || f.outs.items != nil) {
			changelogIDs = append(changelogIDs, id)
		}
	}
	if r.d.cloud {
		f.pendingChangelogs = append(f.pendingChangelogs, changelogIDs...)
	} else {
		for _, id := range changelogIDs {
			jobs = append(jobs, completion{what: "changelog of issue " + id, issue: id,
				fetch: func(ctx context.Context) ([]json.RawMessage, error) {
					return f.issueChangelog(client.WithTable(ctx, TableChangelogs), id)
				},
				decode: func(items []json.RawMessage) { f.decodeHistories(id, items) }})
		}
	}
	// One entry per page, nil when it has nothing to complete: a page's
	// completions are decoded depth pages later.
	f.inflight = append(f.inflight, f.startCompletions(ctx, jobs))
	if err := f.decodeInflight(max(1, f.depth)); err != nil {
		return err
	}
	if f.e.err == nil && len(f.pendingChangelogs) >= bulkChangelogIssues {
		return f.drainChangelogs(ctx)
	}
	return f.e.err
}

// startCompletions starts fetching jobs, up to Concurrency at once.
func (f *issueFetch) startCompletions(ctx context.Context, jobs []completion) *completions {
	if len(jobs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &completions{jobs: jobs, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(c.done)
		c.results, c.errs = fetchAll(ctx, len(jobs), f.r.concurrency(), func(ctx context.Context, i int) ([]json.RawMessage, error) {
			return jobs[i].fetch(ctx)
		})
	}()
	return c
}

// settle waits for the completions still in flight and decodes them.
func (f *issueFetch) settle() error { return f.decodeInflight(0) }

// decodeInflight decodes the oldest pages' completions, waiting for them,
// until at most keep pages' are left in flight.
func (f *issueFetch) decodeInflight(keep int) error {
	for len(f.inflight) > keep {
		c := f.inflight[0]
		f.inflight = f.inflight[1:]
		if err := f.decodeCompletions(c); err != nil {
			return err
		}
	}
	return nil
}

// decodeCompletions waits for c's fetches and decodes their items in job
// order. The first failed fetch fails the page, but for an issue gone
// since its page (noteVanished).
func (f *issueFetch) decodeCompletions(c *completions) error {
	if c == nil {
		return nil
	}
	<-c.done
	c.cancel()
	for i, j := range c.jobs {
		if c.errs[i] != nil {
			if f.r.noteVanished(j.issue, j.what, c.errs[i]) {
				continue
			}
			return fmt.Errorf("%s: %w", j.what, c.errs[i])
		}
		j.decode(c.results[i])
	}
	return f.e.err
}

// noteVanished records an issue whose collection (what) answered 404
// after the issue came on a search page: it was deleted or hidden from the
// user meanwhile, which must not fail the sync. The run then sweeps
// whatever its interval: an issue no longer listed is marked deleted with
// its children, one listed again is fetched again, so that its truncated
// collection does not stay truncated. It reports whether err was such a
// 404.
func (r *syncRun) noteVanished(id, what string, err error) bool {
	if id == "" || !isStatus(err, http.StatusNotFound) {
		return false
	}
	if r.s.cfg.DeleteSweepInterval < 0 {
		r.s.log.Warn("jira: an issue was deleted or hidden during the sync; delete sweeps are off, so its rows stay as read from its search page",
			"issue_id", id, "fetching", what)
	} else {
		r.s.log.Warn("jira: an issue was deleted or hidden during the sync; the delete sweep at the end of the run checks it",
			"issue_id", id, "fetching", what)
	}
	r.vanishedMu.Lock()
	r.vanished = append(r.vanished, id)
	r.vanishedMu.Unlock()
	return true
}

// vanishedIDs returns the issues noteVanished recorded.
func (r *syncRun) vanishedIDs() *idSet {
	r.vanishedMu.Lock()
	defer r.vanishedMu.Unlock()
	set := newIDSet()
	for _, id := range r.vanished {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n >= 0 {
			set.add(n)
		}
	}
	return set
}

// abandon stops the completions in flight, whose rows are not wanted: the
// fetch failed.
func (f *issueFetch) abandon() {
	for _, c := range f.inflight {
		if c != nil {
			c.cancel()
		}
	}
	for _, c := range f.inflight {
		if c != nil {
			<-c.done
		}
	}
	f.inflight = nil
}

func (f *issueFetch) decodeHistories(id string, items []json.RawMessage) {
	for _, h := range items {
		f.e.decodeChangelog(f.outs.changelogs, f.outs.items, h, id)
	}
}

// bulkChangelogEntry reads one {issueId, changeHistories} entry of a
// changelog/bulkfetch page. The histories alias the page: a page holds up
// to bulkChangelogPage of them, and copying each would double its memory.
func bulkChangelogEntry(raw json.RawMessage) (string, []json.RawMessage, error) {
	ms, err := jsonscan.Members(raw)
	if err != nil {
		return "", nil, err
	}
	id, ok, err := asString(jsonscan.Get(ms, "issueId"))
	if err == nil && (!ok || id == "") {
		err = errors.New("missing")
	}
	if err != nil {
		return "", nil, fmt.Errorf("issueId: %w", err)
	}
	histories, err := parseArray(jsonscan.Get(ms, "changeHistories"))
	if err != nil {
		return "", nil, fmt.Errorf("changeHistories: %w", err)
	}
	return id, histories, nil
}

// drainChangelogs completes the pending truncated changelogs.
func (f *issueFetch) drainChangelogs(ctx context.Context) error {
	ctx = client.WithTable(ctx, TableChangelogs)
	for len(f.pendingChangelogs) > 0 {
		n := min(len(f.pendingChangelogs), bulkChangelogIssues)
		if err := f.bulkChangelogs(ctx, f.pendingChangelogs[:n]); err != nil {
			return err
		}
		f.pendingChangelogs = f.pendingChangelogs[n:]
	}
	f.pendingChangelogs = nil
	return f.e.err
}

// bulkChangelogs reads every history of up to 1000 issues through
// changelog/bulkfetch, page by page (entries are {issueId,
// changeHistories}), falling back to each issue's changelog endpoint when
// bulkfetch is not offered.
func (f *issueFetch) bulkChangelogs(ctx context.Context, ids []string) error {
	r := f.r
	body := map[string]any{"issueIdsOrKeys": ids, "maxResults": r.s.changelogPage}
	pages := 0
	err := r.s.cl.EachCursorPagePOST(ctx, r.d.api+"/changelog/bulkfetch", body, "issueChangeLogs", func(items []json.RawMessage) error {
		pages++
		for _, it := range items {
			id, histories, err := bulkChangelogEntry(it)
			if err != nil {
				f.e.reject(TableChangelogs, "", "", "bulkfetch entry: "+err.Error(), it)
				continue
			}
			f.decodeHistories(id, histories)
		}
		return f.e.err
	})
	if err == nil {
		return nil
	}
	if pages > 0 || !isStatus(err, http.StatusNotFound, http.StatusMethodNotAllowed) {
		return fmt.Errorf("changelog bulkfetch: %w", err)
	}
	results, errs := fetchAll(ctx, len(ids), r.concurrency(), func(ctx context.Context, i int) ([]json.RawMessage, error) {
		return f.issueChangelog(ctx, ids[i])
	})
	for i, id := range ids {
		if errs[i] != nil {
			if r.noteVanished(id, "changelog of issue "+id, errs[i]) {
				continue
			}
			return errs[i]
		}
		f.decodeHistories(id, results[i])
	}
	return f.e.err
}

// issueChangelog pages issue/{id}/changelog; where that endpoint does not
// exist (Data Center), it reads the issue with expand=changelog, which Data
// Center returns uncapped.
func (f *issueFetch) issueChangelog(ctx context.Context, id string) ([]json.RawMessage, error) {
	r := f.r
	all, err := collect(func(fn client.PageFunc) error {
		return r.s.cl.EachPageBean(ctx, r.d.api+"/issue/"+id+"/changelog", url.Values{"maxResults": {"100"}}, fn)
	})
	if err == nil {
		return all, nil
	}
	if !isStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("changelog of issue %s: %w", id, err)
	}
	var issue struct {
		Changelog struct {
			Total     int64             `json:"total"`
			Histories []json.RawMessage `json:"histories"`
		} `json:"changelog"`
	}
	if err := r.s.cl.GetJSON(ctx, r.d.api+"/issue/"+id, url.Values{"expand": {"changelog"}, "fields": {"id"}}, &issue); err != nil {
		return nil, fmt.Errorf("changelog of issue %s: %w", id, err)
	}
	if int64(len(issue.Changelog.Histories)) < issue.Changelog.Total {
		f.e.reject(TableChangelogs, id, "", fmt.Sprintf("Jira returned %d of %d histories and offers no changelog paging here",
			len(issue.Changelog.Histories), issue.Changelog.Total), nil)
	}
	return issue.Changelog.Histories, nil
}

// worklogFeeds reads worklog/updated (changed worklogs, hydrated through
// worklog/list in batches of 1000) and worklog/deleted (Sink.Delete) from
// the worklogs cursors, sends what they bring, and returns the worklogs
// state to checkpoint once the rows sent are committed. On a first sync
// the issue pages already carried every worklog, so the cursors just start
// at the run.
func (r *syncRun) worklogFeeds(ctx context.Context, f *issueFetch, first bool, known knownIDs) (state.TableState, error) {
	ctx = client.WithTable(ctx, TableWorklogs)
	tr := r.req.Tables[TableWorklogs]
	st := tr.State
	// worklog/updated omits the last minute; start there next time.
	startMs := r.now.Add(-2 * time.Minute).UnixMilli()
	updatedSince, deletedSince := startMs, startMs
	if !first && !tr.Full && st.Cursor != "" {
		n, err := strconv.ParseInt(st.Cursor, 10, 64)
		if err != nil {
			return st, fmt.Errorf("worklogs cursor %q: %w", st.Cursor, err)
		}
		updatedSince = n
		if d, err := strconv.ParseInt(st.Extra[extraDeletedSince], 10, 64); err == nil {
			deletedSince = d
		} else {
			deletedSince = n
		}
		var ids []int64
		next, err := r.s.cl.EachSincePage(ctx, r.d.api+"/worklog/updated", updatedSince, nil, func(items []json.RawMessage) error {
			for _, it := range items {
				var v struct {
					WorklogID int64 `json:"worklogId"`
				}
				if err := json.Unmarshal(it, &v); err != nil {
					f.e.reject(TableWorklogs, "", "", "worklog/updated entry: "+err.Error(), it)
					continue
				}
				if _, done := f.outs.worklogs.runKeys[strconv.FormatInt(v.WorklogID, 10)]; !done {
					ids = append(ids, v.WorklogID)
				}
			}
			return nil
		})
		if isStatus(err, http.StatusNotFound) {
			r.s.log.Warn("jira: worklog/updated is not available; worklogs come from issue pages only", "source", r.s.cfg.Name)
			next, err = updatedSince, nil
		}
		if err != nil {
			return st, fmt.Errorf("worklog/updated: %w", err)
		}
		for start := 0; start < len(ids); start += 1000 {
			chunk := ids[start:min(start+1000, len(ids))]
			if err := r.s.cl.PostArray(ctx, r.d.api+"/worklog/list", map[string]any{"ids": chunk}, func(items []json.RawMessage) error {
				for _, it := range items {
					// The feed lists the worklogs of every issue the user
					// sees; those of issues outside the sync's scope (other
					// projects than projects, or not updated since the
					// start date) are not this sync's.
					var w struct {
						IssueID json.RawMessage `json:"issueId"` // a string on Cloud and Data Center
					}
					if json.Unmarshal(it, &w) == nil {
						if id, ok, err := asInt(w.IssueID); err == nil && ok && !known.contains(id) {
							continue
						}
					}
					f.e.decodeWorklog(f.outs.worklogs, it, "")
				}
				return f.e.err
			}); err != nil {
				return st, fmt.Errorf("worklog/list: %w", err)
			}
		}
		updatedSince = next

		var deleted []string
		nextDel, err := r.s.cl.EachSincePage(ctx, r.d.api+"/worklog/deleted", deletedSince, nil, func(items []json.RawMessage) error {
			for _, it := range items {
				var v struct {
					WorklogID int64 `json:"worklogId"`
				}
				if err := json.Unmarshal(it, &v); err == nil && v.WorklogID != 0 {
					deleted = append(deleted, strconv.FormatInt(v.WorklogID, 10))
				}
			}
			return nil
		})
		if isStatus(err, http.StatusNotFound) {
			nextDel, err = deletedSince, nil
		}
		if err != nil {
			return st, fmt.Errorf("worklog/deleted: %w", err)
		}
		if err := f.flush(ctx); err != nil {
			return st, err
		}
		if err := r.deleteKeys(ctx, TableWorklogs, deleted); err != nil {
			return st, err
		}
		deletedSince = nextDel
	}
	if err := f.flush(ctx); err != nil {
		return st, err
	}
	next := st
	next.Cursor = strconv.FormatInt(updatedSince, 10)
	next.Extra = map[string]string{extraDeletedSince: strconv.FormatInt(deletedSince, 10)}
	next.LastSuccess = r.now
	return next, nil
}

// deleteKeys marks rows of a table with a single-column string key deleted.
func (r *syncRun) deleteKeys(ctx context.Context, table string, ids []string) error {
	return r.deleteBy(ctx, table, "", ids, time.Time{})
}

// deleteBy marks deleted the rows of a table whose string column col (the
// single-column primary key when col is "") holds one of the values.
func (r *syncRun) deleteBy(ctx context.Context, table, col string, ids []string, syncedBefore time.Time) error {
	tr := r.wanted(table)
	if tr == nil || len(ids) == 0 {
		return nil
	}
	if col == "" {
		pk := tr.Table.PrimaryKey()
		if len(pk) != 1 {
			return fmt.Errorf("delete from %s: composite keys are not supported", table)
		}
		col = pk[0]
	}
	sch := arrow.NewSchema([]arrow.Field{{Name: col, Type: typeString}}, nil)
	b := array.NewRecordBuilder(r.s.mem, sch)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues(ids, nil)
	rec := b.NewRecordBatch()
	if err := tr.Sink.Delete(ctx, rec, r.now, syncedBefore); err != nil {
		return fmt.Errorf("mark %d %s deleted: %w", len(ids), table, err)
	}
	return nil
}

// maxOverlapSeen bounds the overlap set kept in the issues state (about
// 23 bytes an entry, so at most about 1.2 MB, reached only when that many
// issues change within the overlap); past it the set keeps the most
// recently updated issues, the ones the next run's overlap is likeliest to
// find again, and the next run rewrites the others.
const maxOverlapSeen = 50000

// overlapSeen encodes the issues with `updated` at or after from, of the
// previous set and of the reads of done, as id:epoch-ms pairs sorted by id;
// at most maxOverlapSeen of them, the newest.
func overlapSeen(prev map[string]time.Time, done []*issueFetch, from time.Time) string {
	in := map[string]int64{}
	add := func(m map[string]time.Time) {
		for id, u := range m {
			if !u.Before(from) && u.UnixMilli() > in[id] {
				in[id] = u.UnixMilli()
			}
		}
	}
	add(prev)
	reads := map[string]int{}
	for _, f := range done {
		add(f.read)
		for id := range f.readNow {
			reads[id]++
		}
	}
	// An issue read twice in this run (by two slices, or by one whose
	// pages shifted) changed while the run read it: its children rows of
	// the first read may hold what the second no longer has (a comment
	// deleted meanwhile), which only a read in another run marks. So the
	// next run must not skip it.
	for _, f := range done {
		for id := range f.reread {
			delete(in, id)
		}
	}
	for id, n := range reads {
		if n > 1 {
			delete(in, id)
		}
	}
	if len(in) == 0 {
		return ""
	}
	ids := slices.Collect(maps.Keys(in))
	if len(ids) > maxOverlapSeen {
		// Newest first; ties by id, so the cut does not depend on map order.
		slices.SortFunc(ids, func(a, b string) int {
			return cmp.Or(cmp.Compare(in[b], in[a]), cmp.Compare(a, b))
		})
		ids = ids[:maxOverlapSeen]
	}
	slices.Sort(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, id+":"+strconv.FormatInt(in[id], 10))
	}
	return strings.Join(parts, ",")
}

// parseOverlapSeen reads overlapSeen's encoding; a damaged value yields
// what it can (an entry lost only means that issue is written again).
func parseOverlapSeen(v string) map[string]time.Time {
	out := map[string]time.Time{}
	for _, p := range strings.Split(v, ",") {
		id, ms, ok := strings.Cut(p, ":")
		n, err := strconv.ParseInt(ms, 10, 64)
		if ok && err == nil && id != "" {
			out[id] = time.UnixMilli(n).UTC()
		}
	}
	return out
}

// knownIDs is, per project id, the issue ids written to the destination.
type knownIDs map[string]*idSet

func loadKnown(extra map[string]string) (knownIDs, error) {
	k := knownIDs{}
	for key, v := range extra {
		pid, ok := strings.CutPrefix(key, extraKnownPrefix)
		if !ok {
			pid, ok = strings.CutPrefix(key, legacyKnownPrefix)
		}
		if ok {
			set, err := parseIDSet(v)
			if err != nil {
				return nil, fmt.Errorf("issues state %s: %w", key, err)
			}
			k[pid] = set
		}
	}
	return k, nil
}

// contains reports whether issue id is in one of the sets.
func (k knownIDs) contains(id int64) bool {
	for _, set := range k {
		if set.Contains(uint64(id)) {
			return true
		}
	}
	return false
}

// placeKnown moves the issues f placed since its last call into k.
func (f *issueFetch) placeKnown(k knownIDs) knownIDs {
	if len(f.placed) > 0 {
		mergeKnown(k, f.placed)
		f.placed = map[int64]string{}
	}
	return k
}

// mergeKnown places each written issue in its project's set (and removes
// it from any other, for moved issues).
func mergeKnown(k knownIDs, placed map[int64]string) {
	all := newIDSet()
	byProject := map[string]*idSet{}
	for id, pid := range placed {
		all.add(id)
		if byProject[pid] == nil {
			byProject[pid] = newIDSet()
		}
		byProject[pid].add(id)
	}
	for _, set := range k {
		set.AndNot(&all.Bitmap)
	}
	for pid, ids := range byProject {
		if k[pid] == nil {
			k[pid] = newIDSet()
		}
		k[pid].Or(&ids.Bitmap)
	}
}

// extra renders the sets into a copy of base.
func (k knownIDs) extra(base map[string]string) map[string]string {
	out := map[string]string{}
	for key, v := range base {
		if !strings.HasPrefix(key, extraKnownPrefix) && !strings.HasPrefix(key, legacyKnownPrefix) {
			out[key] = v
		}
	}
	for pid, set := range k {
		if !set.IsEmpty() {
			out[extraKnownPrefix+pid] = set.String()
		}
	}
	return out
}

// sweepDeleted lists the ids of every issue in the visible projects (one
// field besides the id, large pages) and marks known issues that are gone
// as deleted. Issues of projects the user no longer sees are left alone: a
// permission change is not a delete. It runs every DeleteSweepInterval,
// and at once when the configured scope changed. missing are the issues
// listed, updated since the start date, that are not known: no run wrote
// them. swept reports that a sweep ran. childOnly: the issues are read
// only for their children, whose states keep the known ids (childKnown);
// such a run has read every issue, so it always sweeps.
func (r *syncRun) sweepDeleted(ctx context.Context, known knownIDs, deleted *idSet, st state.TableState, first, childOnly bool) (missing []string, swept bool, err error) {
	if r.s.cfg.DeleteSweepInterval < 0 || (childOnly && len(r.stateChildren(true)) == 0) {
		return nil, false, nil
	}
	// A first or full run sweeps too: it reads slices of `updated` page by
	// page while the site changes, and an issue updated meanwhile leaves
	// its slice and moves the rows behind it across a page boundary, so
	// one of them can be missed; issues can also be deleted meanwhile, or
	// (a full run over written rows) since an earlier run.
	vanished := r.vanishedIDs()
	last, err := time.Parse(time.RFC3339, st.Extra[extraLastSweep])
	if !first && err == nil && r.now.Sub(last) < r.s.cfg.DeleteSweepInterval && st.Extra[extraScope] == r.s.scope() && vanished.IsEmpty() {
		return nil, false, nil
	}
	projects, err := r.visibleProjects(ctx)
	if err != nil {
		return nil, false, err
	}
	visible := map[string]bool{}
	keys := make([]string, 0, len(projects))
	for _, p := range projects {
		visible[p.ID] = true
		keys = append(keys, p.Key)
	}
	all := newIDSet()
	for _, set := range known {
		all.Or(&set.Bitmap)
	}
	start := r.s.startDate(r.now)
	listed := newIDSet()
	var mu sync.Mutex // collect runs for several id ranges at once
	collect := func(items []json.RawMessage) (lastID int64, err error) {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			rawID, u, err := decodeListed(it)
			if err != nil {
				return lastID, err
			}
			n, ok, err := asInt(rawID)
			if err != nil || !ok || n < 0 {
				return lastID, fmt.Errorf("issue id %s is not numeric", rawID)
			}
			listed.add(n)
			lastID = max(lastID, n)
			if vanished.Contains(uint64(n)) {
				// Hidden for a moment, or its collection's 404 was the
				// server's: fetched again.
				missing = append(missing, strconv.FormatInt(n, 10))
				continue
			}
			if all.Contains(uint64(n)) {
				continue
			}
			if u.IsZero() || !u.Before(start) {
				missing = append(missing, strconv.FormatInt(n, 10))
			}
		}
		return lastID, nil
	}
	if err := r.listIssueIDRanges(ctx, keys, all, collect); err != nil {
		return nil, false, fmt.Errorf("list issue ids: %w", err)
	}
	slices.SortFunc(missing, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	var gone []string
	for pid, set := range known {
		if !visible[pid] {
			if len(r.s.cfg.Projects) == 0 {
				r.s.log.Warn("jira: a project is no longer visible; its issues are kept, not marked deleted", "project_id", pid)
			}
			continue
		}
		absent := set.Clone()
		absent.AndNot(&listed.Bitmap)
		for it := absent.Iterator(); it.HasNext(); {
			gone = append(gone, strconv.FormatUint(it.Next(), 10))
		}
		set.AndNot(absent)
		deleted.Or(absent)
	}
	if err := r.deleteKeys(ctx, TableIssues, gone); err != nil {
		return nil, false, err
	}
	if err := r.markChildren(ctx, gone, true, time.Time{}); err != nil {
		return nil, false, err
	}
	return missing, true, nil
}

// childOnly reports whether the issues are read only for their children:
// the sync writes issue children but not issues. Such a sync keeps no
// issues cursor, so every run reads every issue.
func (r *syncRun) childOnly() bool { return r.wanted(TableIssues) == nil }

// stateChildren are the written child tables whose state syncIssues
// checkpoints at the end of a run; a sync that reads issues only for their
// children keeps the known ids in them (childKnown). worklogs is one only
// then: otherwise its state is its feeds' (see worklogFeeds).
func (r *syncRun) stateChildren(childOnly bool) []string {
	var out []string
	for _, c := range issueChildren {
		if (c != TableWorklogs || childOnly) && r.wanted(c) != nil {
			out = append(out, c)
		}
	}
	return out
}

// childKnown is the union of the known ids in the states of the
// stateChildren (each saved at the end of a run that read issues only for
// their children). A table added to the sync later knows fewer, and
// marking its rows of an issue it never held changes nothing.
func (r *syncRun) childKnown() (knownIDs, error) {
	k := knownIDs{}
	for _, c := range r.stateChildren(true) {
		ck, err := loadKnown(r.req.Tables[c].State.Extra)
		if err != nil {
			return nil, fmt.Errorf("%s state: %w", c, err)
		}
		for pid, set := range ck {
			if k[pid] == nil {
				k[pid] = newIDSet()
			}
			k[pid].Or(&set.Bitmap)
		}
	}
	return k, nil
}

// heal fetches the missing issues by id, with their children, and adds
// them to the known ids, committing (checkpoint) the rows and the known ids
// that record them after every hydrateChunk issues, so that a stopped run
// keeps what it fetched.
func (r *syncRun) heal(ctx context.Context, known knownIDs, missing []string, checkpoint func() error) error {
	f := r.newIssueFetch(ctx, false, nil)
	defer f.release()
	return f.hydrate(ctx, missing, r.s.hydrateEvery, func(int) error {
		f.placeKnown(known)
		return checkpoint()
	})
}

// PlanNotes implements source.Noter: after a change of `projects` or
// `start_date`, an incremental sync of the issues also sweeps and fetches
// the issues no run wrote.
func (s *Source) PlanNotes(table string, st state.TableState) []string {
	if table != TableIssues || !s.scopeChanged(st) {
		return nil
	}
	return []string{"+ projects or start_date changed since the last run: it also lists every issue and fetches those no run wrote"}
}

// scopeChanged reports whether the issues' next incremental run sweeps and
// heals because `projects` or `start_date` changed since the last run.
func (s *Source) scopeChanged(st state.TableState) bool {
	if st.Cursor == "" || s.cfg.DeleteSweepInterval < 0 {
		return false
	}
	prev := st.Extra[extraScope]
	return prev != "" && prev != s.scope()
}

// scope identifies what the configuration asks of the issues: the project
// keys (sorted) and the start date ("default": one year before each run).
func (s *Source) scope() string {
	keys := slices.Sorted(slices.Values(s.cfg.Projects))
	start := "default"
	if !s.cfg.StartDate.IsZero() {
		start = s.cfg.StartDate.UTC().Format(time.RFC3339)
	}
	return "projects=" + strings.Join(keys, ",") + ";start=" + start
}

// listIssueIDRanges lists the ids (and `updated`) of every issue of the
// projects through listIssueIDs, in ranges of id read at once, one per
// listIDsPage ids known (the ranges cut where the known ids reach each
// share), and at most the run's concurrency. A page of a range follows the
// one before it, so one range of a large site is a long chain of requests
// at the end of a run: at 1,000,000 issues, 200 pages of 5,000 on Cloud.
// The first range starts at 0 and the last has no end, so issues created
// since the run read its pages are listed too. collect returns the largest
// id of its items, and may run for several ranges at once.
func (r *syncRun) listIssueIDRanges(ctx context.Context, keys []string, known *idSet, collect func(items []json.RawMessage) (lastID int64, err error)) error {
	page := uint64(listIDsPageDC)
	if r.d.cloud {
		page = listIDsPageCloud
	}
	bounds := idBounds(known, page, r.concurrency())
	g, ctx := errgroup.WithContext(ctx)
	for i := range len(bounds) + 1 {
		var lo, hi int64
		if i > 0 {
			lo = bounds[i-1]
		}
		if i < len(bounds) {
			hi = bounds[i]
		}
		g.Go(func() error { return r.listIssueIDs(ctx, keys, lo, hi, collect) })
	}
	return g.Wait()
}

// The page sizes of the id listing: Cloud's largest for a search of ids,
// and Data Center's default jira.search.views.default.max.
const (
	listIDsPageCloud = 5000
	listIDsPageDC    = 1000
)

// idBounds cuts the ids of known into ranges of about page ids each, at
// most parts of them, and returns where each range after the first
// starts: nil for a single range.
func idBounds(known *idSet, page uint64, parts int) []int64 {
	n := known.GetCardinality()
	k := min(uint64(max(parts, 1)), (n+page-1)/page)
	var bounds []int64
	for j := uint64(1); j < k; j++ {
		v, err := known.Select(j * n / k)
		if err != nil || v > math.MaxInt64 {
			return nil // cannot happen: the rank is below the cardinality
		}
		if len(bounds) == 0 || int64(v) > bounds[len(bounds)-1] {
			bounds = append(bounds, int64(v))
		}
	}
	return bounds
}

// listIssueIDs pages the ids (and `updated`) of the issues of the
// projects with ids from lo (0: from the first), up to but not including
// hi (0: to the last), ordered by id.
// On Data Center, whose offset paging stops at 10,000 results, the query
// restarts after each window with `id > <last id read>` (collect returns
// the largest id of a page).
func (r *syncRun) listIssueIDs(ctx context.Context, keys []string, lo, hi int64, collect func(items []json.RawMessage) (lastID int64, err error)) error {
	ctx = client.WithTable(ctx, TableIssues)
	var lastID int64
	build := func(after int64) (string, error) {
		b := jql.New().ProjectIn(keys...)
		switch {
		case after > 0:
			b.Where("id > " + strconv.FormatInt(after, 10))
		case lo > 0:
			b.Where("id >= " + strconv.FormatInt(lo, 10))
		}
		if hi > 0 {
			b.Where("id < " + strconv.FormatInt(hi, 10))
		}
		return b.OrderBy("id", jql.Asc).Build()
	}
	page := func(items []json.RawMessage) error {
		n, err := collect(items)
		lastID = max(lastID, n)
		return err
	}
	if r.d.cloud {
		jqlText, err := build(0)
		if err != nil {
			return err
		}
		return r.s.cl.EachCursorPagePOST(ctx, r.d.api+"/search/jql", map[string]any{"jql": jqlText, "fields": []string{"id", "updated"}, "maxResults": listIDsPageCloud}, "issues", page)
	}
	// Data Center pages by offset: a page restarts the query after the
	// largest id read, so that issues deleted meanwhile do not shift one
	// past a page boundary, where it would look deleted too.
	for after := int64(0); ; {
		jqlText, err := build(after)
		if err != nil {
			return err
		}
		restart := lastID
		err = r.s.cl.EachPageOf(ctx, r.d.api+"/search", url.Values{"jql": {jqlText}, "fields": {"id,updated"}, "maxResults": {strconv.Itoa(listIDsPageDC)}}, "issues",
			func(items []json.RawMessage) error {
				if err := page(items); err != nil {
					return err
				}
				if lastID > restart {
					return client.ErrRestart
				}
				return nil
			})
		if errors.Is(err, client.ErrRestart) {
			after = lastID
			continue
		}
		return err
	}
}
