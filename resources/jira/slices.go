package jira

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// A backfill reads its time range as time slices, several at once (see
// syncIssues). The slices hold about the same number of issues when they
// start, but they do not end together: a slice is a chain of search pages,
// each requested with the previous page's nextPageToken, and some chains
// are slowed by their truncated collections. Once no slice is waiting, a
// free worker splits the running slice with the most left to read: the
// slice stops at the middle of its remaining time range (cut) and the
// worker reads the rest as a new slice. Without it, the last slices of a
// run were read one page after another while the other workers sat idle.

// errSliceCut ends a slice's search at its cut.
var errSliceCut = errors.New("the time slice was split")

// minSplitPages is the least a slice must have left to read, in its own
// pages, to be split: a split costs the new slice's first round trip and
// up to two pages the old one read past the cut.
const minSplitPages = 3

// stealRetry is how long a worker with nothing to take waits before it
// looks again, while some running slice has not read a page yet (its
// remaining work is unknown until it has).
const stealRetry = 50 * time.Millisecond

// sliceProgress is what a slice has read, for the worker that may split
// it, and the cut that ends it.
type sliceProgress struct {
	mu      sync.Mutex
	read    int       // issues read
	page    int       // most issues in one page
	updated time.Time // largest `updated` read
	cut     time.Time // zero: none; else issues updated at or after it are left to another slice
}

// timeSlice is one slice of the backfill: issues updated in [lo, hi), hi
// zero for the open-ended newest slice.
type timeSlice struct {
	f      *issueFetch
	lo, hi time.Time
	// running: a worker reads it; paged: its search has ended; done: its
	// rows are flushed.
	running, paged, done bool
}

// sliceQueue hands the slices to workers, oldest first, then splits
// running ones. slices stays in time order: a split inserts the new slice
// right after the one it came from.
type sliceQueue struct {
	mu     sync.Mutex
	slices []*timeSlice
	now    time.Time // the end of the open-ended slice, for estimates
	fetch  func() *issueFetch
	splits int
}

// take returns the next slice to read, or nil. retry is true when nil may
// change: some running slice has not reported its progress yet.
func (q *sliceQueue) take() (s *timeSlice, retry bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range q.slices {
		if !s.running {
			s.running = true
			return s, false
		}
	}
	return q.splitLocked()
}

// splitLocked cuts the running slice with the most issues left to read
// (estimated from its own progress: issues read per unit of time so far)
// at the middle of its remaining time range, and returns the new slice.
func (q *sliceQueue) splitLocked() (*timeSlice, bool) {
	victim := -1
	var cut, end time.Time // end: where the victim ends now (zero: open-ended)
	best, retry := 0.0, false
	for i, s := range q.slices {
		if !s.running || s.paged {
			continue
		}
		p := &s.f.prog
		p.mu.Lock()
		read, page, cur, sEnd := p.read, p.page, p.updated, p.cut // cuts change only here, under q.mu
		p.mu.Unlock()
		if read == 0 || !cur.After(s.lo) {
			retry = true
			continue
		}
		if sEnd.IsZero() {
			sEnd = s.hi
		}
		hi := sEnd
		if hi.IsZero() {
			hi = q.now
		}
		if !hi.After(cur) {
			continue
		}
		left := float64(read) * float64(hi.Sub(cur)) / float64(cur.Sub(s.lo))
		if left < float64(minSplitPages*page) || left <= best {
			continue
		}
		mid := cur.Add(hi.Sub(cur) / 2).Truncate(time.Millisecond)
		if !mid.After(cur) || !mid.Before(hi) {
			continue
		}
		victim, cut, end, best = i, mid, sEnd, left
	}
	if victim < 0 {
		return nil, retry
	}
	p := &q.slices[victim].f.prog
	p.mu.Lock()
	p.cut = cut
	p.mu.Unlock()
	// The new slice takes the rest of the victim's range, right after it.
	ns := &timeSlice{f: q.fetch(), lo: cut, hi: end, running: true}
	q.slices = slices.Insert(q.slices, victim+1, ns)
	q.splits++
	return ns, false
}

// finish marks s done and returns the fetchers of the slices now done from
// the start of the range (the prefix), whether the prefix grew and is not
// the whole range (the final checkpoint covers that), and whether every
// slice is done.
func (q *sliceQueue) finish(s *timeSlice) (prefix []*issueFetch, grew, all bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	before := q.prefixLocked()
	s.done = true
	n := q.prefixLocked()
	if n == len(q.slices) {
		return nil, false, true
	}
	if n == before {
		return nil, false, false
	}
	for _, p := range q.slices[:n] {
		prefix = append(prefix, p.f)
	}
	return prefix, true, false
}

func (q *sliceQueue) prefixLocked() int {
	n := 0
	for n < len(q.slices) && q.slices[n].done {
		n++
	}
	return n
}

// run reads the slices with n workers: pages reads a slice's search (up to
// its cut), flush sends its rows, and checkpoint is called with the prefix
// of done slices whenever it grows, one call at a time and in order. It
// returns the slices' errors; a worker whose slice failed takes no more.
//
// The checkpoints run on a goroutine of their own, with the latest prefix
// only: a checkpoint first waits for the destination to commit what was
// sent (a barrier), which lasts as long as a checkpoint of the database
// file when one runs, and the worker that finished a slice goes on
// meanwhile with the next. A prefix not yet checkpointed when every slice
// is done is dropped: the caller's final checkpoint covers the whole range.
func (q *sliceQueue) run(ctx context.Context, n int, pages, flush func(*timeSlice) error, checkpoint func(prefix []*issueFetch) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards errs, latest and failed
	var errs []error
	var latest []*issueFetch // the prefix to checkpoint next
	failed := false          // a checkpoint failed: no more are made
	wake := make(chan struct{}, 1)
	saved := make(chan struct{})
	go func() {
		defer close(saved)
		for range wake {
			mu.Lock()
			prefix := latest
			latest = nil
			mu.Unlock()
			if prefix == nil {
				continue
			}
			if err := checkpoint(prefix); err != nil {
				mu.Lock()
				errs, failed = append(errs, err), true
				mu.Unlock()
			}
		}
	}()
	one := func(s *timeSlice) error {
		err := pages(s)
		q.mu.Lock()
		s.paged = true // no longer split
		q.mu.Unlock()
		if err != nil {
			return err
		}
		if err := flush(s); err != nil {
			return err
		}
		mu.Lock()
		prefix, grew, all := q.finish(s)
		if grew && !failed {
			latest = prefix
		} else if all {
			latest = nil
		}
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default: // the saver is already woken
		}
		return nil
	}
	for range n {
		wg.Go(func() {
			for {
				s, retry := q.take()
				if s == nil {
					if !retry {
						return
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(stealRetry):
					}
					continue
				}
				if err := one(s); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	close(wake)
	<-saved
	return errors.Join(errs...)
}

// fetchers returns every slice's fetcher, in time order.
func (q *sliceQueue) fetchers() []*issueFetch {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*issueFetch, len(q.slices))
	for i, s := range q.slices {
		out[i] = s.f
	}
	return out
}
