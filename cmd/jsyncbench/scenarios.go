package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// bench runs the scenarios and fills the report.
type bench struct {
	o              options
	log            io.Writer
	work           string
	jsync, jirasim string
	rep            *report

	// Scenario 1's figures, which scenarios 4 and 5 compare against.
	backfillWall time.Duration
	backfillRSS  int64
	backfillDir  string // the last scenario-1 run's config dir (scenario 4 continues it)
	// Scenario 1's issues and requests, to estimate the later scenarios'
	// runs (0 until it succeeded).
	backfillIssues, backfillRequests int64

	sched *schedule // the later configurations' runs, for the budget

	deadline time.Time        // zero without a budget
	now      func() time.Time // the clock (nil: time.Now)
}

// budgetReserve is kept back from the budget for profiles and the report.
const budgetReserve = 30 * time.Second

// measurement is one measured `jsync apply`.
type measurement struct {
	applyRun
	Stats      simStats
	SimCPU     time.Duration // simulator CPU during the apply (0 if unknown)
	Mismatches []mismatch
	Dir        string
	Database   int64 // bytes of the DuckDB file after the apply
}

// ok reports whether the run produced exactly the expected rows.
func (m measurement) ok() bool { return len(m.Mismatches) == 0 }

func run(ctx context.Context, o options, log io.Writer) error {
	start := time.Now()
	b := &bench{o: o, log: log, jsync: filepath.Join(o.BinDir, "jsync"), jirasim: filepath.Join(o.BinDir, "jirasim"),
		rep: &report{Started: start, Command: commandLine(o), Load: o.Load}, sched: newSchedule(o)}
	for _, bin := range []string{b.jsync, b.jirasim} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("need %s (run make build): %w", bin, err)
		}
	}
	var err error
	if b.jsync, err = filepath.Abs(b.jsync); err != nil {
		return err
	}
	if b.jirasim, err = filepath.Abs(b.jirasim); err != nil {
		return err
	}
	b.work = o.WorkDir
	if b.work == "" {
		if b.work, err = os.MkdirTemp("", "jsyncbench-"); err != nil {
			return fmt.Errorf("create work dir: %w", err)
		}
		if !o.Keep {
			defer os.RemoveAll(b.work)
		}
	} else if err := os.MkdirAll(b.work, 0o755); err != nil {
		return fmt.Errorf("create work dir: %w", err)
	}
	if o.Budget > 0 {
		b.deadline = start.Add(o.Budget - budgetReserve)
	}
	if o.Include != "" {
		inc, err := os.ReadFile(o.Include)
		if err != nil {
			return fmt.Errorf("read -include: %w", err)
		}
		b.rep.Include = string(inc)
	}
	b.rep.Machine = collectMachineFacts(ctx, b.jsync)
	b.rep.Budget = budgetNote(o)
	b.logf("work dir %s", b.work)

	sc := o.Scenarios
	if sc[1] || sc[3] || sc[4] {
		b.scenariosLocal(ctx)
	}
	if sc[2] {
		b.scenarioLatency(ctx)
	}
	if sc[5] {
		b.scenarioScale(ctx)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	b.rep.Elapsed = time.Since(start)
	if err := b.keepNotes(o.Out); err != nil {
		return err
	}
	f, err := os.Create(o.Out)
	if err != nil {
		return fmt.Errorf("create report: %w", err)
	}
	if err := writeMarkdown(f, b.rep); err != nil {
		f.Close()
		return fmt.Errorf("write report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b.logf("wrote %s in %s", o.Out, b.rep.Elapsed.Round(time.Second))
	return nil
}

// keepNotes reads the hand-written notes of the report being replaced.
func (b *bench) keepNotes(out string) error {
	prev, err := os.ReadFile(out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read the notes of the previous report: %w", err)
	}
	b.rep.Notes = keptNotes(string(prev))
	return nil
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, "%s jsyncbench: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// fail records a scenario that could not run.
func (b *bench) fail(scenario string, err error) {
	b.logf("%s: %v", scenario, err)
	b.rep.Errors = append(b.rep.Errors, fmt.Sprintf("%s: %s", scenario, firstLine(err.Error())))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// newDir creates a fresh directory under the work dir.
func (b *bench) newDir(name string) (string, error) {
	d := filepath.Join(b.work, name)
	if err := os.RemoveAll(d); err != nil {
		return "", err
	}
	return d, os.MkdirAll(d, 0o755)
}

// startSim starts a simulator in its own directory under the work dir.
func (b *bench) startSim(ctx context.Context, name string, cfg simConfig) (*simProcess, error) {
	d, err := b.newDir(name)
	if err != nil {
		return nil, err
	}
	b.logf("start jirasim %s", strings.Join(cfg.args("ca.pem"), " "))
	return startSim(ctx, b.jirasim, d, cfg)
}

// apply runs one measured apply in dir against sim and checks row counts.
func (b *bench) apply(ctx context.Context, sim *simProcess, dir string, ao applyOptions) (measurement, error) {
	m := measurement{Dir: dir}
	before, err := sim.Stats(ctx)
	if err != nil {
		return m, err
	}
	cpu0, cpuOK := processCPU(sim.Pid())
	b.logf("jsync apply (-parallelism=%d; 0: not given) in %s", ao.Parallelism, filepath.Base(dir))
	m.applyRun, err = runApply(ctx, b.jsync, dir, ao)
	if err != nil {
		return m, err
	}
	after, err := sim.Stats(ctx)
	if err != nil {
		return m, err
	}
	if cpu1, ok := processCPU(sim.Pid()); ok && cpuOK {
		m.SimCPU = cpu1 - cpu0
	}
	m.Stats = after.sub(before)
	want, err := sim.Expected(ctx)
	if err != nil {
		return m, err
	}
	got, err := countRows(ctx, filepath.Join(dir, dbFile), benchNamespace)
	if err != nil {
		return m, err
	}
	m.Mismatches = compareCounts(want, got)
	fi, err := os.Stat(filepath.Join(dir, dbFile))
	if err != nil {
		return m, fmt.Errorf("size of the database file: %w", err)
	}
	m.Database = fi.Size()
	b.logf("  %s, %d requests, peak RSS %s, database %s, jsync CPU %s, simulator CPU %s, %d table(s) wrong",
		fmtDur(m.Wall), m.Stats.Total, fmtMB(m.MaxRSS), fmtMB(m.Database), fmtDur(m.UserCPU+m.SysCPU), fmtDur(m.SimCPU), len(m.Mismatches))
	return m, nil
}

// backfill applies into a fresh config dir.
func (b *bench) backfill(ctx context.Context, sim *simProcess, name string, ao applyOptions) (measurement, error) {
	dir, err := b.newDir(name)
	if err != nil {
		return measurement{}, err
	}
	if err := writeConfig(dir, sim.URL, sim.CAFile, b.o.Load); err != nil {
		return measurement{}, err
	}
	return b.apply(ctx, sim, dir, ao)
}

// runs is a set of measurements of one configuration.
type runs []measurement

func (rs runs) failed() []string {
	var out []string
	for i, m := range rs {
		for _, mm := range m.Mismatches {
			out = append(out, fmt.Sprintf("run %d: %s", i+1, mm))
		}
	}
	return out
}

func (rs runs) wall() time.Duration {
	return medianDur(rs, func(m measurement) time.Duration { return m.Wall })
}
func (rs runs) simCPU() time.Duration {
	return medianDur(rs, func(m measurement) time.Duration { return m.SimCPU })
}
func (rs runs) jsyncCPU() time.Duration {
	return medianDur(rs, func(m measurement) time.Duration { return m.UserCPU + m.SysCPU })
}
func (rs runs) rss() int64 { return medianInt(rs, func(m measurement) int64 { return m.MaxRSS }) }
func (rs runs) database() int64 {
	return medianInt(rs, func(m measurement) int64 { return m.Database })
}
func (rs runs) requests() int64 {
	return medianInt(rs, func(m measurement) int64 { return m.Stats.Total })
}

func medianDur(rs runs, f func(measurement) time.Duration) time.Duration {
	return time.Duration(medianInt(rs, func(m measurement) int64 { return int64(f(m)) }))
}

func medianInt(rs runs, f func(measurement) int64) int64 {
	xs := make([]int64, 0, len(rs))
	for _, m := range rs {
		xs = append(xs, f(m))
	}
	return median(xs)
}

// median of xs (the lower middle for an even count); 0 for none.
func median(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int64(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)/2]
}

// cpuNote explains where a run's wall time went on the shared cores.
func cpuNote(rs runs) string {
	wall := rs.wall()
	if wall <= 0 {
		return ""
	}
	j, s := rs.jsyncCPU(), rs.simCPU()
	capacity := time.Duration(runtime.NumCPU()) * wall
	return fmt.Sprintf("jsync used %s of CPU and the simulator %s, of the %s that %d cores give in %s (%.0f%% busy).",
		fmtDur(j), fmtDur(s), fmtDur(capacity), runtime.NumCPU(), fmtDur(wall), 100*float64(j+s)/float64(capacity))
}

// endpointTable renders a per-endpoint request breakdown of one run.
func endpointTable(st simStats) string {
	var b strings.Builder
	b.WriteString("| Endpoint | Requests |\n|---|---:|\n")
	for _, e := range st.byEndpoint() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", e.Endpoint, fmtInt(e.Requests))
	}
	if n := st.status("429"); n > 0 {
		fmt.Fprintf(&b, "| (of which 429 Too Many Requests) | %s |\n", fmtInt(n))
	}
	return b.String()
}

// profileSummary runs pprof on a CPU or heap profile and returns a short
// markdown summary: cost categories and the top functions.
func (b *bench) profileSummary(ctx context.Context, prof, what string, extra ...string) string {
	if _, err := os.Stat(prof); err != nil {
		return fmt.Sprintf("(no %s profile: %v)", what, err)
	}
	full, err := pprofTop(ctx, b.jsync, prof, 300, extra...)
	if err != nil {
		return fmt.Sprintf("(%s profile unreadable: %v)", what, err)
	}
	var s strings.Builder
	if shares := formatShares(categorize(parseTop(full))); shares != "" {
		fmt.Fprintf(&s, "Flat %s by cost category: %s.\n\n", what, shares)
	}
	if cum, err := pprofTop(ctx, b.jsync, prof, 300, append([]string{"-cum"}, extra...)...); err == nil {
		if st := ownStages(cum, 10); len(st) > 0 {
			fmt.Fprintf(&s, "Cumulative %s in jsync's own code (largest first):\n\n| Function | Cumulative |\n|---|---:|\n", what)
			for _, e := range st {
				fmt.Fprintf(&s, "| `%s` | %.1f%% |\n", e.Func, e.CumPct)
			}
			s.WriteString("\n")
		}
	}
	cmd := strings.Join(append([]string{"go tool pprof -top"}, extra...), " ")
	fmt.Fprintf(&s, "`%s` (first 15 lines):\n\n```\n%s\n```\n", cmd, topLines(full, 15))
	return s.String()
}

// commandLine reconstructs the invocation for the report header.
func commandLine(o options) string {
	args := []string{"jsyncbench"}
	if o.Quick {
		args = append(args, "-quick")
	}
	d := defaultOptions()
	if o.Runs != d.Runs && !o.Quick {
		args = append(args, fmt.Sprintf("-runs %d", o.Runs))
	}
	if o.SlowRuns != d.SlowRuns && !o.Quick {
		args = append(args, fmt.Sprintf("-slow-runs %d", o.SlowRuns))
	}
	if o.SteadyRuns != d.SteadyRuns && !o.Quick {
		args = append(args, fmt.Sprintf("-steady-runs %d", o.SteadyRuns))
	}
	if o.Load != "" {
		args = append(args, "-load "+o.Load)
	}
	if len(o.Scenarios) != 5 {
		var ns []string
		for _, n := range sortedScenarios(o.Scenarios) {
			ns = append(ns, fmt.Sprint(n))
		}
		args = append(args, "-scenarios "+strings.Join(ns, ","))
	}
	if o.Include != "" {
		args = append(args, "-include "+o.Include)
	}
	return strings.Join(append(args, "-out "+filepath.Base(o.Out)), " ")
}

// budgetNote states how the time budget is met.
func budgetNote(o options) string {
	budget := "no time budget (`-budget 0`)"
	if o.Budget > 0 {
		budget = fmt.Sprintf("a budget of %s (`-budget`). A further run that would pass it, counting the time kept for the runs "+
			"that rank above it, is skipped and listed below. Every scenario's first run ranks first (the later scenarios' first runs are "+
			"estimated from scenario 1's throughput), so that all five are measured; then the further runs of each figure's median; "+
			"then scenario 4's runs in a row, which are jsync's own check", o.Budget)
	}
	return fmt.Sprintf("Planned: scenario 1 (and 3, which reuses its runs), 4 and 2 with %s take the median of %d runs (`-runs`), "+
		"and scenario 4 goes on with %d incremental runs in a row (`-steady-runs`); "+
		"the -parallelism=1 comparison of scenario 2 runs %d time(s) and scenario 5 (%s issues) %d time(s) (`-slow-runs`, `-scale-runs`). "+
		"The first run of each configuration is the profiled one (`-cpuprofile`/`-memprofile`). "+
		"The read_json reference loads the first %d search pages (its throughput is per issue, so a sample of pages measures it) "+
		"with the same number of runs. The harness works to %s.",
		o.parallelism(), o.Runs, o.SteadyRuns, o.SlowRuns, fmtInt(int64(o.Issues5)), o.ScaleRuns, o.RefPages, budget)
}

// collectMachineFacts gathers cores, CPU model, memory, Go and jsync versions.
func collectMachineFacts(ctx context.Context, jsyncBin string) machineFacts {
	f := machineFacts{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		CPU: "unknown", MemTotal: "unknown", Commit: "unknown", JsyncVer: "unknown", LoadAvg: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				f.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb); err == nil {
					f.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fs := strings.Fields(string(b)); len(fs) >= 3 {
			f.LoadAvg = strings.Join(fs[:3], " ")
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		f.Commit = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, jsyncBin, "version").Output(); err == nil {
		f.JsyncVer = strings.TrimSpace(firstLine(string(out)))
	}
	return f
}
