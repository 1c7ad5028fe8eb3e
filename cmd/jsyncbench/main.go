// Command jsyncbench measures jsync against the Jira simulator and writes
// BENCHMARKS.md (issue 6). Every scenario runs bin/jirasim and
// `bin/jsync apply` as separate processes, the way users run them, and
// measures wall time, peak RSS, HTTP requests (from /_sim/stats) and
// correctness (row counts against /_sim/expected).
//
//	go run -tags duckdb_arrow ./cmd/jsyncbench -out BENCHMARKS.md
//	go run -tags duckdb_arrow ./cmd/jsyncbench -quick -scenarios 1,3 -out /tmp/b.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/resources/jira"
)

func main() {
	if out := os.Getenv(runnerEnv); out != "" {
		os.Exit(runnerMain(out, os.Args[1:]))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "jsyncbench:", err)
		os.Exit(2)
	}
	if err := run(ctx, opts, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "jsyncbench:", err)
		os.Exit(1)
	}
}

// options are the command-line settings.
type options struct {
	Out         string
	Include     string // Markdown file to append after the generated sections
	BinDir      string
	WorkDir     string // "" = a temporary directory, removed at the end
	Keep        bool   // keep the work directory
	Scenarios   map[int]bool
	Runs        int // runs per measured figure
	SlowRuns    int // runs of the -parallelism=1 comparison (scenario 2)
	ScaleRuns   int // runs of scenario 5
	SteadyRuns  int // incremental runs in a row after scenario 4 (0: none)
	Parallelism int
	Issues1     int // scenarios 1, 3 and 4
	Issues2     int
	Issues5     int
	RefPages    int // search pages the read_json reference loads
	Latency     time.Duration
	Rate        float64
	Quick       bool
	Budget      time.Duration // 0 = unlimited
	Load        string        // the sync's load attribute; "" = not set (jsync's default)
}

// defaultOptions are the sizes of issue 6, three runs of every figure, and
// a budget that fits `make bench` (two builds, this run and about a minute
// of scripts/bench-dest.sh) into 30 minutes on a 2-core machine (see
// budgetNote).
func defaultOptions() options {
	return options{
		Out: "BENCHMARKS.md", BinDir: "bin", Runs: 3, SlowRuns: 3, ScaleRuns: 3, SteadyRuns: 30,
		Issues1: 50_000, Issues2: 20_000, Issues5: 200_000, RefPages: 100,
		Latency: 150 * time.Millisecond, Rate: 100, Budget: 27 * time.Minute,
		Scenarios: map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true},
	}
}

// quickSizes are -quick's settings: a smoke run of a minute or two.
var quickSizes = map[string]string{
	"runs": "1", "slow-runs": "1", "scale-runs": "1", "steady-runs": "3",
	"issues1": "1000", "issues2": "300", "issues5": "2000", "ref-pages": "5",
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := defaultOptions()
	fs := flag.NewFlagSet("jsyncbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scen string
	fs.StringVar(&o.Out, "out", o.Out, "write the report to this file (its hand-written notes, if any, are kept)")
	fs.StringVar(&o.Include, "include", "", "append this Markdown file to the report, before the hand-written notes")
	fs.StringVar(&o.BinDir, "bin", o.BinDir, "directory holding the jsync and jirasim binaries")
	fs.StringVar(&o.WorkDir, "work", "", "work directory (default: a temporary directory, removed at the end)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory (databases, profiles, logs)")
	fs.StringVar(&scen, "scenarios", "1,2,3,4,5", "comma-separated scenarios to run")
	fs.IntVar(&o.Runs, "runs", o.Runs, "runs per figure (the median is reported)")
	fs.IntVar(&o.SlowRuns, "slow-runs", o.SlowRuns, "runs of scenario 2's -parallelism=1 comparison")
	fs.IntVar(&o.ScaleRuns, "scale-runs", o.ScaleRuns, "runs of scenario 5 (200,000 issues)")
	fs.IntVar(&o.SteadyRuns, "steady-runs", o.SteadyRuns, "incremental runs in a row after scenario 4, to check their cost does not grow (0: none)")
	fs.IntVar(&o.Parallelism, "parallelism", o.Parallelism, "jsync apply -parallelism for the measured runs (0: not given, jsync's defaults)")
	fs.IntVar(&o.Issues1, "issues1", o.Issues1, "issues in scenarios 1, 3 and 4")
	fs.IntVar(&o.Issues2, "issues2", o.Issues2, "issues in scenario 2")
	fs.IntVar(&o.Issues5, "issues5", o.Issues5, "issues in scenario 5")
	fs.IntVar(&o.RefPages, "ref-pages", o.RefPages, "search pages the read_json reference loads (0 = all)")
	fs.DurationVar(&o.Latency, "latency", o.Latency, "scenario 2's added latency per request")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "scenario 2's requests per second per endpoint")
	fs.BoolVar(&o.Quick, "quick", false, "small smoke run: 1 run each, 1000/300/2000 issues")
	fs.DurationVar(&o.Budget, "budget", o.Budget, "skip further runs and scenarios whose estimated time would pass this total (0 = no limit)")
	fs.StringVar(&o.Load, "load", "", `the sync's load attribute: "while_fetching" or "after_fetch" (default: not set, jsync's default)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	sc, err := parseScenarios(scen)
	if err != nil {
		return o, err
	}
	o.Scenarios = sc
	if o.Quick {
		// -quick's sizes apply to every size flag not given explicitly.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range quickSizes {
			if !set[name] {
				if err := fs.Set(name, v); err != nil {
					return o, fmt.Errorf("-quick: %w", err)
				}
			}
		}
	}
	for name, v := range map[string]int{"runs": o.Runs, "slow-runs": o.SlowRuns, "scale-runs": o.ScaleRuns,
		"issues1": o.Issues1, "issues2": o.Issues2, "issues5": o.Issues5} {
		if v < 1 {
			return o, fmt.Errorf("-%s must be at least 1, got %d", name, v)
		}
	}
	if o.Parallelism < 0 {
		return o, fmt.Errorf("-parallelism must be at least 1, or 0 for jsync's defaults, got %d", o.Parallelism)
	}
	if o.RefPages < 0 {
		return o, fmt.Errorf("-ref-pages must be >= 0, got %d", o.RefPages)
	}
	if o.Budget < 0 {
		return o, fmt.Errorf("-budget must be >= 0, got %v", o.Budget)
	}
	if o.Rate <= 0 {
		return o, fmt.Errorf("-rate must be positive, got %v", o.Rate)
	}
	if o.Out == "" {
		return o, errors.New("-out must name a file")
	}
	if o.Load != "" && o.Load != config.LoadWhileFetching && o.Load != config.LoadAfterFetch {
		return o, fmt.Errorf("-load must be %q or %q, got %q", config.LoadWhileFetching, config.LoadAfterFetch, o.Load)
	}
	return o, nil
}

// parseScenarios reads "1,3,5" into a set of scenario numbers 1–5.
func parseScenarios(s string) (map[int]bool, error) {
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 5 {
			return nil, fmt.Errorf("bad -scenarios entry %q (want numbers 1 to 5)", part)
		}
		out[n] = true
	}
	if len(out) == 0 {
		return nil, errors.New("-scenarios selects nothing")
	}
	return out, nil
}

func sortedScenarios(m map[int]bool) []int {
	var out []int
	for n := range m {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// parallelism names the measured runs' setting.
func (o options) parallelism() string {
	if o.Parallelism == 0 {
		return fmt.Sprintf("jsync's defaults (%d requests in flight, %d time slices read at once)", o.inFlight(), o.sliceWorkers())
	}
	return fmt.Sprintf("-parallelism=%d", o.Parallelism)
}

// inFlight is the most requests in flight the measured runs allow.
func (o options) inFlight() int {
	if o.Parallelism == 0 {
		return jira.CloudConcurrency
	}
	return min(o.Parallelism, jira.CloudConcurrency)
}

// sliceWorkers is how many time slices of the backfill the measured runs
// read at once.
func (o options) sliceWorkers() int { return min(o.inFlight(), jira.MaxSliceWorkers) }
