package main

import (
	"fmt"
	"sort"
	"time"
)

// rank orders the runs the time budget may cut, most needed first. Every
// scenario's first run comes before any further run, so that a slow machine
// still measures all five scenarios; then the further runs whose medians
// the figures are; then scenario 4's runs in a row, which are jsync's own
// check and not one of the issue's figures.
type rank int

const (
	rankFirst  rank = iota // a configuration's first run
	rankMedian             // its further runs, for the median
	rankOwn                // jsync's own checks
)

// runKind names the long configurations that come after scenario 1, whose
// runs later runs must leave time for.
type runKind string

const (
	kindLatency    runKind = "scenario 2, parallel"
	kindSequential runKind = "scenario 2, -parallelism=1"
	kindScale      runKind = "scenario 5"
)

// schedule holds the runs of the later configurations not yet made, and
// what each took when it ran, to estimate the next.
type schedule struct {
	left map[runKind]int           // runs still planned
	made map[runKind]int           // runs made
	took map[runKind]time.Duration // the last run's wall time
	reqs int64                     // requests of scenario 2's first parallel run (0: unknown)
}

// order is the order in which the configurations run.
var order = []runKind{kindLatency, kindSequential, kindScale}

func newSchedule(o options) *schedule {
	s := &schedule{left: map[runKind]int{}, made: map[runKind]int{}, took: map[runKind]time.Duration{}}
	if o.Scenarios[2] {
		s.left[kindLatency], s.left[kindSequential] = o.Runs, o.SlowRuns
	}
	if o.Scenarios[5] {
		s.left[kindScale] = o.ScaleRuns
	}
	return s
}

// estimate is the expected wall time of a backfill of n issues from
// scenario 1's throughput; 0 when unknown (the run goes ahead).
func (b *bench) estimate(n int) time.Duration {
	if b.backfillIssues <= 0 {
		return 0
	}
	return time.Duration(float64(n) / float64(b.backfillIssues) * float64(b.backfillWall))
}

// estimateKind is the expected wall time of the next run of k: the last
// run's when there was one, otherwise from scenario 1's throughput (and, at
// -parallelism=1, every request waiting out the latency in turn).
func (b *bench) estimateKind(k runKind) time.Duration {
	if d := b.sched.took[k]; d > 0 {
		return d
	}
	switch k {
	case kindLatency:
		return b.estimate(b.o.Issues2)
	case kindSequential:
		base := b.sched.took[kindLatency]
		if base == 0 {
			base = b.estimate(b.o.Issues2)
		}
		reqs := b.sched.reqs
		if reqs == 0 && b.backfillIssues > 0 {
			reqs = b.backfillRequests * int64(b.o.Issues2) / b.backfillIssues
		}
		return base + time.Duration(reqs)*b.o.Latency
	case kindScale:
		return b.estimate(b.o.Issues5)
	}
	return 0
}

// reserved is the time that a run of rank r must leave in the budget for the
// later configurations' runs that rank above it, counting only those that
// fit in what is left (most needed first, then in the order they run), so
// that runs the budget cannot reach anyway do not hold time back.
func (b *bench) reserved(r rank, left time.Duration) time.Duration {
	type pending struct {
		rank  rank
		order int
		d     time.Duration
	}
	var ps []pending
	for i, k := range order {
		n := b.sched.left[k]
		if n == 0 {
			continue
		}
		d := b.estimateKind(k)
		if b.sched.made[k] == 0 {
			ps = append(ps, pending{rankFirst, i, d})
			n--
		}
		for ; n > 0; n-- {
			ps = append(ps, pending{rankMedian, i, d})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].rank < ps[j].rank })
	var sum time.Duration
	for _, p := range ps {
		if p.rank >= r {
			break
		}
		if sum+p.d <= left {
			sum += p.d
		}
	}
	return sum
}

// affordable reports whether work of rank r estimated to take d fits in what
// is left of the time budget after the time reserved for the runs that rank
// above it. When it does not, the cut is recorded in the report.
func (b *bench) affordable(what string, r rank, d time.Duration) bool {
	if b.deadline.IsZero() {
		return true
	}
	now := time.Now
	if b.now != nil {
		now = b.now
	}
	left := b.deadline.Sub(now())
	res := b.reserved(r, left)
	if d+res <= left {
		return true
	}
	leftText := "nothing"
	if left > 0 {
		leftText = fmtDur(left)
	}
	msg := fmt.Sprintf("%s: skipped, estimated %s with %s of the %s budget left", what, fmtDur(d), leftText, b.o.Budget)
	if res > 0 {
		msg += fmt.Sprintf(", of which %s was kept for runs that rank above it", fmtDur(res))
	}
	b.logf("budget: %s", msg)
	b.rep.Cuts = append(b.rep.Cuts, msg+".")
	return false
}

// startRun asks the budget for the next run of k (rank first for its first
// run, median for the others) and records it as made; false drops the runs
// of k still planned, since they would be cut too.
func (b *bench) startRun(what string, k runKind) bool {
	r := rankMedian
	if b.sched.made[k] == 0 {
		r = rankFirst
	}
	b.sched.left[k]--
	if !b.affordable(what, r, b.estimateKind(k)) {
		b.sched.left[k] = 0
		return false
	}
	b.sched.made[k]++
	return true
}

// ranMeasured records the wall time of a run of k, for the next estimate.
func (b *bench) ranMeasured(k runKind, m measurement) {
	b.sched.took[k] = m.Wall
	if k == kindLatency && b.sched.reqs == 0 {
		b.sched.reqs = m.Stats.Total
	}
}

// dropRuns forgets the planned runs of k (its scenario failed or stopped).
func (b *bench) dropRuns(k runKind) { b.sched.left[k] = 0 }
