package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
)

// planFlags are shared by plan and apply.
type planFlags struct {
	configFlags
	targets     multiFlag
	force       bool
	fullRefresh bool
	lockTimeout time.Duration
}

// register adds the config flags and plan's selection flags; verb is
// "plan" or "run" for the help texts.
func (pf *planFlags) register(fs *flag.FlagSet, verb string) {
	pf.configFlags.register(fs)
	fs.Var(&pf.targets, "target", "limit the "+verb+" to the sync `sync.NAME` (repeatable)")
	fs.BoolVar(&pf.force, "force", false, verb+" every sync, whether its schedule makes it due or not")
	fs.BoolVar(&pf.fullRefresh, "full-refresh", false, "ignore cursors: fetch every table in full")
	fs.DurationVar(&pf.lockTimeout, "lock-timeout", 0, "wait up to `DURATION` (e.g. 10m) while another jsync apply, or another process, holds a destination (default: fail at once)")
}

// failBusy prints err, and when a destination was locked or in use by
// another process, how to wait for it.
func (env *cliEnv) failBusy(err error, lockTimeout time.Duration) int {
	_, locked := errors.AsType[*dest.ErrLocked](err)
	inUse, busy := errors.AsType[*duckdb.InUseError](err)
	if !locked && !busy {
		return env.fail(err)
	}
	env.fail(err)
	// Only the apply lock says an apply holds it: a DuckDB file can also
	// be held by a reader (a dashboard, the DuckDB CLI) or another tool.
	apply := locked || inUse.Holder != nil
	holder := "Another process"
	if apply {
		holder = "Another jsync apply"
	}
	switch {
	case lockTimeout > 0:
		fmt.Fprintf(env.stderr, "%s still held this destination after -lock-timeout=%s. Wait for it, or raise -lock-timeout.\n", holder, lockTimeout)
	case apply:
		fmt.Fprintln(env.stderr, "Another jsync apply is running against this destination. Wait for it, or pass -lock-timeout=10m to wait.")
	default:
		fmt.Fprintln(env.stderr, "Another process has this destination open. Wait for it to close the file, or pass -lock-timeout=10m to wait.")
	}
	return exitError
}

// parseConfigFlags parses a command that only takes the config flags and
// no arguments. done reports that the command ends with code.
func parseConfigFlags(env *cliEnv, name, usage string, args []string) (cf *configFlags, code int, done bool) {
	fs := newFlagSet(env, name, usage)
	cf = &configFlags{}
	cf.register(fs)
	if code, done := parseFlags(fs, args); done {
		return nil, code, true
	}
	if fs.NArg() > 0 {
		return nil, env.errorf("%s takes no arguments, got %q", name, fs.Arg(0)), true
	}
	return cf, 0, false
}

func runPlan(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "plan", "plan [options]")
	var pf planFlags
	pf.register(fs, "plan")
	out := fs.String("out", "", "save the plan to `FILE`, to apply exactly this plan with: jsync apply FILE")
	detailed := fs.Bool("detailed-exitcode", false, "exit 0 when there is nothing to do, 1 on error, 2 when there is work to do")
	asJSON := fs.Bool("json", false, "print the plan as JSON (see README: plan JSON)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return env.errorf("plan takes no arguments, got %q; did you mean -target=sync.%s?", fs.Arg(0), fs.Arg(0))
	}
	if err := env.checkPlanOut(fs, *out); err != nil {
		return env.fail(err)
	}
	cfg, ok := env.loadConfig(&pf.configFlags)
	if !ok {
		return exitError
	}
	logger := newLogger(env.stderr)
	opener, cleanup := env.planOpener(logger, pf.lockTimeout, true)
	defer cleanup()
	eng := engine.New(cfg, opener)
	eng.Log = logger
	defer eng.Close()
	p, err := eng.Plan(ctx, engine.PlanOptions{Targets: pf.targets, Force: pf.force, FullRefresh: pf.fullRefresh})
	if err != nil {
		// What apply would still do: the syncs that could be planned.
		// Nothing is saved, and -json prints nothing, from a plan that
		// misses syncs.
		if p != nil && len(p.Syncs) > 0 && !*asJSON {
			renderPlan(env.stdout, p)
			fmt.Fprintln(env.stdout)
		}
		return env.failBusy(err, pf.lockTimeout)
	}
	if *asJSON {
		if err := writePlanJSON(env.stdout, p); err != nil {
			return env.fail(err)
		}
	} else {
		renderPlan(env.stdout, p)
	}
	if *out != "" {
		if err := p.WriteFile(env.path(*out)); err != nil {
			return env.fail(err)
		}
		if !*asJSON {
			fmt.Fprintf(env.stdout, "\nSaved the plan to %s. To apply exactly this plan, run:\n  jsync apply %s\n", *out, *out)
		}
	}
	if *detailed && p.HasWork() {
		return exitChanges
	}
	return exitOK
}

// checkPlanOut refuses a -out that would save nothing or destroy a file
// that is not a plan: an empty name, a configuration file (.hcl, which
// the next command would also load as configuration), a directory, or
// any existing file that is not a jsync plan (a database, for instance).
func (env *cliEnv) checkPlanOut(fs *flag.FlagSet, out string) error {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "out" })
	if !given {
		return nil
	}
	if strings.TrimSpace(out) == "" {
		return errors.New("-out needs a file name to save the plan to, e.g. -out=jsync.plan")
	}
	if strings.EqualFold(filepath.Ext(out), ".hcl") {
		return fmt.Errorf("-out=%s: will not write a plan over a configuration file (.hcl files are read as configuration); choose another name, e.g. -out=jsync.plan", out)
	}
	st, err := os.Stat(env.path(out))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("-out=%s: %w", out, err)
	case st.IsDir():
		return fmt.Errorf("-out=%s is a directory; give a file name, e.g. -out=%s", out, filepath.Join(out, "jsync.plan"))
	}
	if !plan.LooksLikePlan(env.path(out)) {
		return fmt.Errorf("-out=%s: the file exists and is not a jsync plan; will not overwrite it; choose another name, e.g. -out=jsync.plan", out)
	}
	return nil
}

// parallelismUsage documents -parallelism for apply and serve.
const parallelismUsage = "at most `N` concurrent table fetches (default 8); when given, also the most requests in flight to each source (default: the source's concurrency)"

// badParallelism reports a -parallelism below 1; 0 is "not given".
func (env *cliEnv) badParallelism(fs *flag.FlagSet, n int) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "parallelism" })
	if given && n < 1 {
		env.errorf("-parallelism must be at least 1, got %d; leave it out for the defaults", n)
		return true
	}
	return false
}

func runApply(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "apply", "apply [options] [PLANFILE]")
	var pf planFlags
	pf.register(fs, "run")
	autoApprove := fs.Bool("auto-approve", false, "do not ask for confirmation")
	parallelism := fs.Int("parallelism", 0, parallelismUsage)
	allowIncompatible := fs.Bool("allow-incompatible", false, "allow incompatible column type changes (the column is recreated)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `FILE`")
	memprofile := fs.String("memprofile", "", "write a heap profile to `FILE` at the end")
	// Options may follow the plan file too (apply p.plan -auto-approve).
	files, code, done := parseInterspersed(fs, args)
	if done {
		return code
	}
	if len(files) > 1 {
		return env.errorf("apply takes at most one plan file, got %d arguments: %s", len(files), strings.Join(files, " "))
	}
	if env.badParallelism(fs, *parallelism) {
		return exitError
	}
	if *cpuprofile != "" {
		f, err := os.Create(env.path(*cpuprofile))
		if err != nil {
			return env.fail(fmt.Errorf("create CPU profile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return env.fail(fmt.Errorf("start CPU profile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		defer func() {
			f, err := os.Create(env.path(*memprofile))
			if err != nil {
				env.fail(fmt.Errorf("create heap profile: %w", err))
				return
			}
			defer f.Close()
			runtime.GC()
			_ = pprof.WriteHeapProfile(f)
		}()
	}
	cfg, ok := env.loadConfig(&pf.configFlags)
	if !ok {
		return exitError
	}
	logger := newLogger(env.stderr)
	eng := engine.New(cfg, env.opener(logger, pf.lockTimeout))
	eng.Log = logger
	defer eng.Close()

	var p *plan.Plan
	// planErr: the syncs that could not be planned. The others are
	// applied, as serve does: a site that is down must not hold back the
	// syncs of other sites.
	var planErr error
	if len(files) == 1 {
		if pf.force || len(pf.targets) > 0 || pf.fullRefresh {
			return env.errorf("-force, -target and -full-refresh belong to `jsync plan` when applying a saved plan")
		}
		var err error
		if p, err = plan.ReadFile(env.path(files[0])); err != nil {
			return env.fail(err)
		}
	} else {
		var err error
		p, err = eng.Plan(ctx, engine.PlanOptions{Targets: pf.targets, Force: pf.force, FullRefresh: pf.fullRefresh, Parallelism: *parallelism, ToApply: true})
		if err != nil {
			if p == nil || !p.HasWork() {
				return env.failBusy(err, pf.lockTimeout)
			}
			env.failBusy(err, pf.lockTimeout)
			fmt.Fprintln(env.stderr, "The syncs above could not be planned; the others are applied, and apply exits with 1.")
			planErr = err
		}
		renderPlan(env.stdout, p)
		if !p.HasWork() {
			return exitOK
		}
		if !*autoApprove {
			if !env.isTTY {
				return env.errorf("apply needs confirmation, but the input is not a terminal.\n\nRe-run with -auto-approve, or save a plan and apply it:\n  jsync plan -out=jsync.plan\n  jsync apply jsync.plan")
			}
			fmt.Fprint(env.stdout, "\nDo you want to apply this plan? Only 'yes' will be accepted: ")
			line, _ := bufio.NewReader(env.stdin).ReadString('\n')
			if strings.TrimSpace(line) != "yes" {
				fmt.Fprintln(env.stdout, "Apply cancelled.")
				return exitError
			}
		}
	}
	view := newProgressView(env, p)
	eng.Progress = view.Event
	start := time.Now()
	opts := engine.ApplyOptions{Parallelism: *parallelism, LockTimeout: pf.lockTimeout, AllowIncompatible: *allowIncompatible}
	if env.isTTY {
		opts.ProgressEvery = 200 * time.Millisecond
	} else {
		opts.ProgressEvery = 10 * time.Second
	}
	res, err := eng.Apply(ctx, p, opts)
	view.Close()
	if err != nil {
		return env.failBusy(errors.Join(planErr, err), pf.lockTimeout)
	}
	interrupted := ctx.Err() != nil
	renderSummary(env.stdout, res, time.Since(start), interrupted)
	err = res.Err()
	if interrupted {
		// The tables the signal stopped are no failure of theirs: only
		// other causes are errors.
		others := []error{planErr}
		for _, t := range res.Tables {
			// A table skipped for a failed parent is no cause of its own.
			if t.Err != nil && !stoppedBySignal(t.Err) && !errors.Is(t.Err, dag.ErrUpstreamFailed) {
				others = append(others, fmt.Errorf("sync.%s.%s: %w", t.Sync, t.Table, t.Err))
			}
		}
		if err := errors.Join(others...); err != nil {
			fmt.Fprintln(env.stderr)
			env.fail(err)
		}
		fmt.Fprintln(env.stderr, "Interrupted: the rows and checkpoints committed are kept; the next apply goes on from each table's last checkpoint (jsync plan shows where; a backfill stopped before its first checkpoint starts over).")
		return exitInterrupted
	}
	if err = errors.Join(planErr, err); err != nil {
		fmt.Fprintln(env.stderr)
		return env.fail(err)
	}
	return exitOK
}

func runValidate(ctx context.Context, env *cliEnv, args []string) int {
	cf, code, done := parseConfigFlags(env, "validate", "validate [options]", args)
	if done {
		return code
	}
	cfg, ok := env.loadConfig(cf)
	if !ok {
		return exitError
	}
	fmt.Fprintf(env.stdout, "Success! The configuration is valid: %s, %s, %s.\n",
		plural(len(cfg.Sources), "source"), plural(len(cfg.Destinations), "destination"), plural(len(cfg.Syncs), "sync"))
	return exitOK
}

func runVersion(ctx context.Context, env *cliEnv, args []string) int {
	fs := newFlagSet(env, "version", "version")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		return env.errorf("version takes no arguments, got %q", fs.Arg(0))
	}
	fmt.Fprintf(env.stdout, "jsync %s (%s, %s/%s)\n", engine.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}

// syncConfig returns the named sync or an error listing the known ones.
func syncConfig(cfg *config.Config, name string) (*config.Sync, error) {
	if sc, ok := cfg.Syncs[strings.TrimPrefix(name, "sync.")]; ok {
		return sc, nil
	}
	var names []string
	for n := range cfg.Syncs {
		names = append(names, "sync."+n)
	}
	return nil, fmt.Errorf("no sync %q in the configuration (have: %s)", name, strings.Join(names, ", "))
}
