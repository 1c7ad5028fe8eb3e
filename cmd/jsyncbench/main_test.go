package main

import (
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o options)
		wantErr string
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o options) {
			if o.Runs != 3 || o.Issues1 != 50_000 || o.Issues2 != 20_000 || o.Issues5 != 200_000 || o.Parallelism != 0 {
				t.Errorf("defaults = %+v", o)
			}
			if o.Latency != 150*time.Millisecond || o.Rate != 100 || o.Out != "BENCHMARKS.md" || o.BinDir != "bin" {
				t.Errorf("defaults = %+v", o)
			}
			if !reflect.DeepEqual(o.Scenarios, map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true}) {
				t.Errorf("scenarios = %v", o.Scenarios)
			}
		}},
		{name: "quick shrinks sizes", args: []string{"-quick"}, check: func(t *testing.T, o options) {
			if o.Runs != 1 || o.Issues1 != 1000 || o.Issues2 != 300 || o.Issues5 != 2000 || o.RefPages != 5 {
				t.Errorf("quick = %+v", o)
			}
		}},
		{name: "explicit flags beat quick", args: []string{"-quick", "-runs", "2", "-issues1", "700"}, check: func(t *testing.T, o options) {
			if o.Runs != 2 || o.Issues1 != 700 || o.Issues2 != 300 {
				t.Errorf("quick with overrides = %+v", o)
			}
		}},
		{name: "scenario subset", args: []string{"-scenarios", "1, 3", "-out", "x.md"}, check: func(t *testing.T, o options) {
			if !reflect.DeepEqual(o.Scenarios, map[int]bool{1: true, 3: true}) || o.Out != "x.md" {
				t.Errorf("got %v %q", o.Scenarios, o.Out)
			}
		}},
		{name: "scenario out of range", args: []string{"-scenarios", "6"}, wantErr: `bad -scenarios entry "6"`},
		{name: "scenario not a number", args: []string{"-scenarios", "one"}, wantErr: `bad -scenarios entry "one"`},
		{name: "no scenario", args: []string{"-scenarios", ","}, wantErr: "selects nothing"},
		{name: "zero runs", args: []string{"-runs", "0"}, wantErr: "-runs must be at least 1"},
		{name: "negative ref pages", args: []string{"-ref-pages", "-1"}, wantErr: "-ref-pages must be >= 0"},
		{name: "negative budget", args: []string{"-budget", "-1m"}, wantErr: "-budget must be >= 0"},
		{name: "zero rate", args: []string{"-rate", "0"}, wantErr: "-rate must be positive"},
		{name: "load after fetch", args: []string{"-load", "after_fetch"}, check: func(t *testing.T, o options) {
			if o.Load != "after_fetch" || !strings.Contains(commandLine(o), "-load after_fetch") {
				t.Errorf("load %q, command line %q", o.Load, commandLine(o))
			}
		}},
		{name: "unknown load", args: []string{"-load", "later"}, wantErr: `-load must be "while_fetching" or "after_fetch", got "later"`},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, o)
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []int64
		want int64
	}{
		{nil, 0},
		{[]int64{5}, 5},
		{[]int64{9, 1, 5}, 5},
		{[]int64{4, 1, 3, 2}, 2}, // the lower middle
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
	in := []int64{3, 1, 2}
	median(in)
	if !reflect.DeepEqual(in, []int64{3, 1, 2}) {
		t.Errorf("median reordered its input: %v", in)
	}
}

func TestSimArgs(t *testing.T) {
	got := simConfig{Issues: 20000, Seed: 1, Latency: 150 * time.Millisecond, Rate: 100, Caps: benchCaps}.args("ca.pem")
	want := []string{"-addr", "127.0.0.1:0", "-issues", "20000", "-seed", "1", "-email", benchEmail, "-token", benchToken,
		"-ca-out", "ca.pem", "-caps", "comments=20,histories=40,worklogs=20", "-rate", "100", "-latency", "150ms"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args =\n%q\nwant\n%q", got, want)
	}
	// No rate: unlimited (jirasim's -rate 0), no latency flag.
	got = simConfig{Issues: 5, Seed: 1, Caps: benchCaps}.args("c")
	if got[len(got)-1] != "0" || got[len(got)-2] != "-rate" {
		t.Errorf("unlimited args = %q", got)
	}
}

func TestAffordable(t *testing.T) {
	b := &bench{o: options{Budget: 10 * time.Minute}, log: io.Discard, rep: &report{}, sched: newSchedule(options{})}
	if !b.affordable("anything", rankMedian, time.Hour) {
		t.Error("no deadline: everything is affordable")
	}
	b.deadline = time.Now().Add(5 * time.Minute)
	if !b.affordable("short run", rankMedian, time.Minute) {
		t.Error("a 1m run with 5m left was refused")
	}
	if b.affordable("long run", rankMedian, time.Hour) {
		t.Error("a 1h run with 5m left was allowed")
	}
	if len(b.rep.Cuts) != 1 || !strings.Contains(b.rep.Cuts[0], "long run: skipped, estimated 3600.0 s") {
		t.Errorf("cuts = %q", b.rep.Cuts)
	}
	if got := b.estimate(1000); got != 0 {
		t.Errorf("estimate without a throughput = %v, want 0", got)
	}
	b.backfillIssues, b.backfillWall = 250, time.Second
	if got := b.estimate(1000); got != 4*time.Second {
		t.Errorf("estimate(1000) at 250 issues/s = %v, want 4s", got)
	}
}

// TestBudgetRanks: on a machine too slow for every run, the budget keeps
// time for every scenario's first run before the further runs of a median,
// and for those before scenario 4's runs in a row; time is not held back
// for runs that could not fit anyway.
func TestBudgetRanks(t *testing.T) {
	o := defaultOptions() // 3 runs of each; 20,000 and 200,000 issues; 150 ms
	// At 500 issues/s: a parallel scenario 2 run 40 s; a sequential one
	// 40 s + 1,000 requests × 150 ms = 190 s; a scenario 5 run 400 s.
	newBench := func(left time.Duration) *bench {
		now := time.Now()
		b := &bench{o: o, log: io.Discard, rep: &report{}, sched: newSchedule(o),
			backfillIssues: 50_000, backfillWall: 100 * time.Second, backfillRequests: 2_500, now: func() time.Time { return now }}
		b.deadline = now.Add(left)
		return b
	}
	for _, tt := range []struct {
		name string
		left time.Duration
		rank rank
		want time.Duration // reserved
	}{
		// A run in a row keeps time for all that fits: 3 × 40 + 3 × 190 + 400 s.
		{"own, plenty", time.Hour, rankOwn, 3*40*time.Second + 3*190*time.Second + 3*400*time.Second},
		// With 15 minutes, the first runs (40 + 190 + 400 s) and then
		// what fits of the medians in order: two parallel runs (80 s) and
		// one sequential (190 s) fit in 900 s; the second sequential does not.
		{"own, 15 minutes", 15 * time.Minute, rankOwn, 630*time.Second + 80*time.Second + 190*time.Second},
		// A further run of a median keeps time only for the first runs.
		{"median", time.Hour, rankMedian, 630 * time.Second},
		// A first run keeps nothing back.
		{"first", time.Hour, rankFirst, 0},
		// With 5 minutes, scenario 5's first run (400 s) cannot fit and is
		// not kept for: 40 + 190 s.
		{"median, 5 minutes", 5 * time.Minute, rankMedian, 230 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBench(tt.left)
			if got := b.reserved(tt.rank, tt.left); got != tt.want {
				t.Errorf("reserved = %v, want %v", got, tt.want)
			}
		})
	}

	// The sequence on a slow machine: 25 minutes left after scenario 1.
	// The first ten runs in a row rank with the medians; the others stop
	// while the later scenarios' first runs and medians still fit; every
	// first run is made, and scenario 5's further runs are cut.
	b := newBench(25 * time.Minute)
	spend := func(d time.Duration) { b.deadline = b.deadline.Add(-d) }
	steady := 0
	for i := 1; i <= 60; i++ {
		r := rankOwn
		if i <= 2*steadyGroup {
			r = rankMedian
		}
		if !b.affordable("steady", r, 10*time.Second) {
			break
		}
		steady++
		spend(10 * time.Second)
	}
	var made []string
	for _, k := range []struct {
		kind runKind
		took time.Duration
	}{{kindLatency, 40 * time.Second}, {kindSequential, 190 * time.Second}, {kindScale, 400 * time.Second}} {
		for i := 0; i < 3 && b.startRun(string(k.kind), k.kind); i++ {
			made = append(made, string(k.kind))
			b.ranMeasured(k.kind, measurement{applyRun: applyRun{Wall: k.took}})
			spend(k.took)
		}
	}
	want := []string{"scenario 2, parallel", "scenario 2, parallel", "scenario 2, parallel",
		"scenario 2, -parallelism=1", "scenario 2, -parallelism=1", "scenario 2, -parallelism=1", "scenario 5"}
	if !reflect.DeepEqual(made, want) {
		t.Errorf("runs made = %q, want %q", made, want)
	}
	// 1,500 s less the 1,090 s of those runs leaves 410 s: 41 runs in a
	// row of 10 s, the last of which leaves only its own margin.
	if steady != 41 {
		t.Errorf("runs in a row = %d, want 41", steady)
	}
	if n := len(b.rep.Cuts); n == 0 || !strings.Contains(b.rep.Cuts[n-1], "scenario 5: skipped") {
		t.Errorf("cuts = %q, want scenario 5's second run cut", b.rep.Cuts)
	}
}

// TestParallelism: the harness describes and computes the floor with the
// bounds jsync applies for a Cloud source at each -parallelism.
func TestParallelism(t *testing.T) {
	if o := (options{}); o.inFlight() != jira.CloudConcurrency || o.sliceWorkers() != jira.MaxSliceWorkers {
		t.Errorf("defaults: %d in flight, %d slices; jsync has %d and %d", o.inFlight(), o.sliceWorkers(), jira.CloudConcurrency, jira.MaxSliceWorkers)
	}
	for _, tt := range []struct{ par, inFlight, slices int }{{0, 24, 8}, {1, 1, 1}, {4, 4, 4}, {12, 12, 8}, {32, 24, 8}} {
		o := options{Parallelism: tt.par}
		if o.inFlight() != tt.inFlight || o.sliceWorkers() != tt.slices {
			t.Errorf("-parallelism=%d: %d in flight, %d slices; want %d, %d", tt.par, o.inFlight(), o.sliceWorkers(), tt.inFlight, tt.slices)
		}
	}
}
