package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

const (
	nameS2   = "2. Backfill at 150 ms, rate 100"
	nameS2p1 = "2. same, -parallelism=1"
	nameS5   = "5. Memory at scale"
)

// dependentChain is the longest chain of requests that must follow one
// another in a backfill of issues split into `slices` concurrent search
// slices: one discovery request (serverInfo) before anything else, the
// search pages of one slice (each needs the previous page's nextPageToken),
// and one follow-up for the children of the last page (a bulk changelog or
// comment page needs the issue ids that page returned).
func dependentChain(issues, pageSize int64, slices int) int64 {
	pages := max(1, ceilDiv(issues, pageSize))
	return 2 + ceilDiv(pages, int64(max(1, slices)))
}

// latencyFloor is issue 6's floor: the larger of requests ÷ rate and
// latency × the dependent chain.
func latencyFloor(requests int64, rate float64, latency time.Duration, chain int64) time.Duration {
	byRate := time.Duration(float64(requests) / rate * float64(time.Second))
	return max(byRate, latency*time.Duration(chain))
}

// scenarioLatency is scenario 2: a backfill against a simulator with real
// latency and Jira Cloud's burst rate, at the default parallelism and at
// -parallelism=1.
func (b *bench) scenarioLatency(ctx context.Context) {
	o := b.o
	if !b.startRun(nameS2, kindLatency) {
		b.dropRuns(kindSequential)
		return
	}
	fail := func(name string, err error) {
		b.dropRuns(kindLatency)
		b.dropRuns(kindSequential)
		b.fail(name, err)
	}
	sim, err := b.startSim(ctx, "sim-latency", simConfig{Issues: o.Issues2, Seed: 1, Latency: o.Latency, Rate: o.Rate, Caps: benchCaps})
	if err != nil {
		fail(nameS2, err)
		return
	}
	defer func() {
		if err := sim.Stop(); err != nil {
			b.logf("%v", err)
		}
	}()
	expected, err := sim.Expected(ctx)
	if err != nil {
		fail(nameS2, err)
		return
	}
	issues := expected["issues"]
	var par, seq runs
	for i := 1; i <= o.Runs; i++ {
		if i > 1 && !b.startRun(fmt.Sprintf("%s, run %d", nameS2, i), kindLatency) {
			break
		}
		ao := applyOptions{Parallelism: o.Parallelism}
		if i == 1 {
			ao.CPUProfile = "cpu.prof"
		}
		m, err := b.backfill(ctx, sim, fmt.Sprintf("s2-par-run%d", i), ao)
		if err != nil {
			fail(nameS2, err)
			return
		}
		b.ranMeasured(kindLatency, m)
		par = append(par, m)
	}
	for i := 1; i <= o.SlowRuns; i++ {
		// Sequentially, every request waits out the latency in turn.
		if !b.startRun(fmt.Sprintf("%s, run %d", nameS2p1, i), kindSequential) {
			break
		}
		m, err := b.backfill(ctx, sim, fmt.Sprintf("s2-seq-run%d", i), applyOptions{Parallelism: 1})
		if err != nil {
			b.dropRuns(kindSequential)
			b.fail(nameS2p1, err)
			return
		}
		b.ranMeasured(kindSequential, m)
		seq = append(seq, m)
	}

	req := par.requests()
	chain := dependentChain(issues, jiraCloudLimits.SearchPage, o.sliceWorkers())
	floor := latencyFloor(req, o.Rate, o.Latency, chain)
	wall := par.wall()
	r := row{Scenario: nameS2, Issues: issues, Requests: req, Wall: wall, PeakRSS: par.rss(), Database: par.database(), Runs: len(par),
		Reference: "floor " + fmtDur(floor), Ratio: fmt.Sprintf("%.2f×", float64(wall)/float64(floor)), Target: "≤ 1.5× floor"}
	// Every request takes at least the latency, so requests × latency ÷
	// wall is a lower bound on the mean number of requests in flight.
	inFlight := float64(req) * o.Latency.Seconds() / wall.Seconds()
	seqWall := seq.wall()
	speedup := float64(seqWall) / float64(max(wall, 1))
	r2 := row{Scenario: nameS2p1, Issues: issues, Requests: seq.requests(), Wall: seqWall, PeakRSS: seq.rss(), Database: seq.database(), Runs: len(seq),
		Reference: "parallel " + fmtDur(wall), Ratio: fmt.Sprintf("%.1f× slower", speedup),
		Target: "≥ 8× slower than parallel"}

	var body strings.Builder
	fmt.Fprintf(&body, "`jirasim -issues %d -latency %s -rate %g`: every request waits %s, and each endpoint allows %g requests per second "+
		"(a token bucket, like Jira Cloud's burst limit; 429 with Retry-After beyond it).\n\n", issues, o.Latency, o.Rate, o.Latency, o.Rate)
	fmt.Fprintf(&body, "Floor = max(requests ÷ %g/s, %s × longest dependent chain) = max(%s ÷ %g = %s, %s × %d = %s) = **%s**. ",
		o.Rate, o.Latency, fmtInt(req), o.Rate, fmtDur(time.Duration(float64(req)/o.Rate*float64(time.Second))),
		o.Latency, chain, fmtDur(o.Latency*time.Duration(chain)), fmtDur(floor))
	fmt.Fprintf(&body, "The chain: %d search pages of %d issues (the server's page size with every field) read by %d time slices at once "+
		"leaves ⌈%d ÷ %d⌉ = %d pages for each, which follow one another through nextPageToken; "+
		"plus one discovery request (serverInfo) before the first search and one follow-up (bulk changelog or comment page) after the last page. "+
		"The rate term counts all requests against one bucket, although Jira's limit is per endpoint, so it errs on the high side. "+
		"Neither term counts the server's own time to render pages; on this machine the simulator shares the 2 cores with jsync.\n\n",
		ceilDiv(issues, jiraCloudLimits.SearchPage), jiraCloudLimits.SearchPage, o.sliceWorkers(),
		ceilDiv(issues, jiraCloudLimits.SearchPage), o.sliceWorkers(), ceilDiv(ceilDiv(issues, jiraCloudLimits.SearchPage), int64(o.sliceWorkers())))
	fmt.Fprintf(&body, "The parallel runs use %s. CPU: %s On average at least %.1f requests were in flight (requests × %s ÷ wall).\n\n",
		o.parallelism(), cpuNote(par), inFlight, o.Latency)
	if len(seq) > 0 {
		fmt.Fprintf(&body, "CPU at -parallelism=1: %s\n\n", cpuNote(seq))
	}
	fmt.Fprintf(&body, "Requests of the first parallel run:\n\n%s\n", endpointTable(par[0].Stats))
	fmt.Fprintf(&body, "Profile of the first parallel run:\n\n%s\n", b.profileSummary(ctx, filepath.Join(par[0].Dir, "cpu.prof"), "CPU time"))

	switch {
	case len(par.failed()) > 0:
		r.Verdict = verdictFailed
		fmt.Fprintf(&body, "**FAILED** (parallel) — row counts differ: %s.\n\n", strings.Join(par.failed(), "; "))
	case float64(wall) <= 1.5*float64(floor):
		r.Verdict = verdictMet
	default:
		r.Verdict = verdictNotMet
		b.rep.Gaps = append(b.rep.Gaps, fmt.Sprintf("%s: %s is %.2f× the floor of %s (target ≤ 1.5×, i.e. %s; %s over). %s "+
			"On average at least %.1f requests were in flight, with %d allowed.",
			nameS2, fmtDur(wall), float64(wall)/float64(floor), fmtDur(floor), fmtDur(floor*3/2), fmtDur(wall-floor*3/2), cpuNote(par),
			inFlight, o.inFlight()))
	}
	switch {
	case len(seq) == 0:
		r2.Verdict, r2.Ratio = verdictNA, "not run"
	case len(seq.failed()) > 0 || len(par.failed()) > 0:
		r2.Verdict = verdictFailed
		if len(seq.failed()) > 0 {
			fmt.Fprintf(&body, "**FAILED** (-parallelism=1) — row counts differ: %s.\n\n", strings.Join(seq.failed(), "; "))
		}
	case speedup >= 8:
		r2.Verdict = verdictMet
	default:
		r2.Verdict = verdictNotMet
		b.rep.Gaps = append(b.rep.Gaps, fmt.Sprintf("%s: the parallel run is %.1f× faster than -parallelism=1 (%s vs %s), target ≥ 8×. "+
			"At -parallelism=1 every request waits out its %s in turn; in the parallel run %s",
			nameS2p1, speedup, fmtDur(wall), fmtDur(seqWall), o.Latency, strings.TrimSuffix(cpuNote(par), ".")+"."))
	}
	b.rep.Rows = append(b.rep.Rows, r, r2)
	b.rep.Sections = append(b.rep.Sections, section{Title: "2. Backfill at real latency", Body: body.String()})
}

// scenarioScale is scenario 5: a backfill of many more issues, whose peak
// RSS must stay near scenario 1's.
func (b *bench) scenarioScale(ctx context.Context) {
	o := b.o
	if !b.startRun(nameS5, kindScale) {
		r := row{Scenario: nameS5, Issues: int64(o.Issues5), Ratio: "not run", Target: "≤ 1.2× scenario 1, < 400 MB"}
		if b.backfillRSS > 0 {
			r.Reference = "scenario 1 " + fmtMB(b.backfillRSS)
			if b.backfillRSS >= 400<<20 {
				b.rep.Gaps = append(b.rep.Gaps, fmt.Sprintf("%s (not run within the budget): scenario 1 alone peaks at %s with %s issues, "+
					"%.1f× the 400 MB limit; see scenario 1's allocation profile.", nameS5, fmtMB(b.backfillRSS), fmtInt(int64(o.Issues1)),
					float64(b.backfillRSS)/(400<<20)))
			}
		}
		b.rep.Rows = append(b.rep.Rows, r)
		return
	}
	fail := func(err error) {
		b.dropRuns(kindScale)
		b.fail(nameS5, err)
	}
	sim, err := b.startSim(ctx, "sim-scale", simConfig{Issues: o.Issues5, Seed: 1, Caps: benchCaps})
	if err != nil {
		fail(err)
		return
	}
	defer func() {
		if err := sim.Stop(); err != nil {
			b.logf("%v", err)
		}
	}()
	expected, err := sim.Expected(ctx)
	if err != nil {
		fail(err)
		return
	}
	var rs runs
	for i := 1; i <= o.ScaleRuns; i++ {
		if i > 1 && !b.startRun(fmt.Sprintf("%s, run %d", nameS5, i), kindScale) {
			break
		}
		ao := applyOptions{Parallelism: o.Parallelism}
		if i == 1 {
			ao.MemProfile = "mem.prof"
		}
		m, err := b.backfill(ctx, sim, fmt.Sprintf("s5-run%d", i), ao)
		if err != nil {
			fail(err)
			return
		}
		b.ranMeasured(kindScale, m)
		rs = append(rs, m)
	}
	peak := rs.rss()
	const limit = 400 << 20
	r := row{Scenario: nameS5, Issues: expected["issues"], Requests: rs.requests(), Wall: rs.wall(), PeakRSS: peak, Database: rs.database(), Runs: len(rs),
		Target: "≤ 1.2× scenario 1, < 400 MB"}
	var ratio float64
	if b.backfillRSS > 0 {
		ratio = float64(peak) / float64(b.backfillRSS)
		r.Reference = "scenario 1 " + fmtMB(b.backfillRSS)
		r.Ratio = fmt.Sprintf("%.2f×", ratio)
	} else {
		r.Reference = "scenario 1 not measured"
	}
	var body strings.Builder
	fmt.Fprintf(&body, "`jirasim -issues %d`, no added latency. Peak RSS %s against scenario 1's %s (%s issues). CPU: %s\n\n",
		expected["issues"], fmtMB(peak), fmtMB(b.backfillRSS), fmtInt(int64(o.Issues1)), cpuNote(rs))
	last := rs[0]
	fmt.Fprintf(&body, "Heap profile at the end of the first run (`-memprofile`), allocations over the whole run:\n\n%s\n",
		b.profileSummary(ctx, filepath.Join(last.Dir, "mem.prof"), "allocated bytes", "-sample_index=alloc_space"))
	fmt.Fprintf(&body, "Live heap at the end:\n\n%s\n", b.profileSummary(ctx, filepath.Join(last.Dir, "mem.prof"), "in-use bytes", "-sample_index=inuse_space"))
	switch {
	case len(rs.failed()) > 0:
		r.Verdict = verdictFailed
		fmt.Fprintf(&body, "**FAILED** — row counts differ: %s.\n\n", strings.Join(rs.failed(), "; "))
	case peak < limit && b.backfillRSS > 0 && ratio <= 1.2:
		r.Verdict = verdictMet
	case peak < limit && b.backfillRSS == 0:
		r.Verdict = verdictNotMet
		b.rep.Gaps = append(b.rep.Gaps, fmt.Sprintf("%s: %s is under 400 MB, but scenario 1 did not run, so growth with the data is unmeasured.", nameS5, fmtMB(peak)))
	default:
		r.Verdict = verdictNotMet
		var gaps []string
		if peak >= limit {
			gaps = append(gaps, fmt.Sprintf("%s is over the 400 MB limit by %s", fmtMB(peak), fmtMB(peak-limit)))
		}
		if ratio > 1.2 {
			gaps = append(gaps, fmt.Sprintf("%s is %.2f× scenario 1's %s (allowed %s)", fmtMB(peak), ratio, fmtMB(b.backfillRSS),
				fmtMB(int64(1.2*float64(b.backfillRSS)))))
		}
		b.rep.Gaps = append(b.rep.Gaps, fmt.Sprintf("%s: %s; see the heap profile of scenario 5.", nameS5, strings.Join(gaps, "; ")))
	}
	b.rep.Rows = append(b.rep.Rows, r)
	b.rep.Sections = append(b.rep.Sections, section{Title: nameS5, Body: body.String()})
}
