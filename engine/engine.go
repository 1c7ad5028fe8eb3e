// Package engine turns a configuration into a plan and applies it: it opens
// sources and destinations, computes schema changes and what each table will
// fetch, and runs the (sync, table) dependency graph with bounded
// parallelism, streaming Arrow batches from fetchers into destination writers.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/hcl/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/engine/suggest"
)

// SyncStateTable is the pseudo-table under which a sync's own last
// successful run is kept in state.
const SyncStateTable = "_sync"

// extraRunStarted, in the sync state's Extra, is when the last successful
// run began (RFC 3339 with fractions).
const extraRunStarted = "run_started_at"

// extraUnwrittenPrefix, with a table's name, in the sync state's Extra,
// lists (comma-separated) the columns of the table that a run kept but did
// not write: left out of the sync's columns, or a custom field the site no
// longer had. Rows written then lack their values, so a later selection of
// such a column fetches the table in full. Under state.WrittenPrefix, a
// reset (jsync state rm) keeps it: it is a record of rows written.
const extraUnwrittenPrefix = state.WrittenPrefix + "unwritten:"

// unwrittenColumns returns the columns that changes keep but do not
// write (schema.ExtraColumn), by table.
func unwrittenColumns(changes []schema.TableChange) map[string][]string {
	out := map[string][]string{}
	for _, c := range changes {
		if c.Kind == schema.ExtraColumn && c.Column != nil {
			out[c.Table.Name] = append(out[c.Table.Name], c.Column.Name)
		}
	}
	return out
}

// setUnwritten records in extra the unwritten columns of each table in
// written: added to those recorded (union) or, after a successful run,
// in their place (replace).
func setUnwritten(extra map[string]string, written []string, unwritten map[string][]string, replace bool) {
	for _, t := range written {
		key := extraUnwrittenPrefix + t
		cols := unwritten[t]
		if !replace && extra[key] != "" {
			cols = append(strings.Split(extra[key], ","), cols...)
		}
		slices.Sort(cols)
		cols = slices.Compact(cols)
		if len(cols) == 0 {
			delete(extra, key)
		} else {
			extra[key] = strings.Join(cols, ",")
		}
	}
}

// Version is jsync's version, recorded in plan files.
var Version = "dev"

// Opener opens the concrete sources and destinations; cmd/jsync wires it.
type Opener struct {
	Source      func(ctx context.Context, s *config.Source) (source.Source, error)
	Destination func(ctx context.Context, d *config.Destination) (dest.Destination, error)
	// ReadDestination, if set, opens a destination only to read its state
	// and plan against it: a Plan without PlanOptions.ToApply (jsync
	// plan, serve's planning) and the state list and show commands. A
	// DuckDB file is then opened read-only, which other readers of the
	// file (dashboards, the DuckDB CLI) can share, while the sites are
	// asked what they hold. Apply opens the destination again with
	// Destination to write it, and checks that its state did not change
	// in between. Nil plans with Destination.
	ReadDestination func(ctx context.Context, d *config.Destination) (dest.Destination, error)
}

// Engine plans and applies one configuration.
type Engine struct {
	cfg  *config.Config
	open Opener
	// Now is the clock (tests override it).
	Now func() time.Time
	// Log receives progress and warnings. Never secrets.
	Log *slog.Logger
	// Progress, if set, is called periodically while tables are written
	// and once more when each table finished.
	Progress func(ev ProgressEvent)
	// Allocator holds the staged batches read back for loading (Go's
	// allocator when nil).
	Allocator memory.Allocator

	mu          sync.Mutex
	sources     map[string]source.Source
	dests       map[string]dest.Destination  // opened to write
	readers     map[string]dest.Destination  // opened to plan (Opener.ReadDestination)
	discoveries map[string]*source.Discovery // by sync name
	liveMu      sync.Mutex                   // guards live, which the progress ticker reads
	live        map[string]liveSink
	loadSem     chan struct{} // bounds staged tables loaded at once
}

// New returns an engine for cfg.
func New(cfg *config.Config, open Opener) *Engine {
	return &Engine{
		cfg: cfg, open: open, Now: time.Now,
		Log:         slog.New(slog.NewTextHandler(os.Stderr, nil)),
		loadSem:     make(chan struct{}, loadParallelism),
		sources:     map[string]source.Source{},
		dests:       map[string]dest.Destination{},
		readers:     map[string]dest.Destination{},
		discoveries: map[string]*source.Discovery{},
	}
}

// Close closes every opened source and destination.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, k := range sortedKeys(e.sources) {
		if err := e.sources[k].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", k, err))
		}
	}
	if err := e.closeReadersLocked(); err != nil {
		errs = append(errs, err)
	}
	for _, k := range sortedKeys(e.dests) {
		if err := e.dests[k].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", k, err))
		}
	}
	e.sources, e.dests = map[string]source.Source{}, map[string]dest.Destination{}
	return errors.Join(errs...)
}

func sourceAddr(s *config.Source) string           { return "source." + s.Type + "." + s.Name }
func destinationAddr(d *config.Destination) string { return "destination." + d.Type + "." + d.Name }

func (e *Engine) source(ctx context.Context, s *config.Source) (source.Source, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return cachedOpen(e.sources, sourceAddr(s), func() (source.Source, error) { return e.open.Source(ctx, s) })
}

// cachedOpen returns cache[k], or opens it and keeps it there. The caller
// holds e.mu.
func cachedOpen[T any](cache map[string]T, k string, open func() (T, error)) (T, error) {
	if v, ok := cache[k]; ok {
		return v, nil
	}
	v, err := open()
	if err != nil {
		return v, fmt.Errorf("open %s: %w", k, err)
	}
	cache[k] = v
	return v, nil
}

// destination opens d to write it. Every reader (readDestination) is
// closed first: DuckDB lets a process open a file one way at a time, and a
// reader of another file kept while this one waits for another process
// could hold up that process, which may be waiting for it in turn.
func (e *Engine) destination(ctx context.Context, d *config.Destination) (dest.Destination, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := destinationAddr(d)
	if _, ok := e.dests[k]; !ok {
		if err := e.closeReadersLocked(); err != nil {
			return nil, err
		}
	}
	return cachedOpen(e.dests, k, func() (dest.Destination, error) { return e.open.Destination(ctx, d) })
}

// closeReadersLocked closes the destinations opened to plan. e.mu is held.
func (e *Engine) closeReadersLocked() error {
	var errs []error
	for _, k := range sortedKeys(e.readers) {
		if err := e.readers[k].Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s after planning: %w", k, err))
		}
		delete(e.readers, k)
	}
	return errors.Join(errs...)
}

// readDestination opens d to read its state and plan against it
// (Opener.ReadDestination), or returns d opened to write when it is.
func (e *Engine) readDestination(ctx context.Context, d *config.Destination) (dest.Destination, error) {
	if e.open.ReadDestination == nil {
		return e.destination(ctx, d)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := destinationAddr(d)
	if dst, ok := e.dests[k]; ok {
		return dst, nil
	}
	return cachedOpen(e.readers, k, func() (dest.Destination, error) { return e.open.ReadDestination(ctx, d) })
}

// PlanOptions controls Plan.
type PlanOptions struct {
	// Targets limits the plan to these syncs ("sync.NAME" or "NAME").
	Targets []string
	// Force plans every sync, due or not.
	Force bool
	// FullRefresh ignores cursors: every table is fetched in full.
	FullRefresh bool
	// Parallelism, when above 0, caps the requests in flight to each
	// source while planning (jsync apply -parallelism).
	Parallelism int
	// ToApply plans with the destinations opened to write, as Apply
	// will: a second apply then waits for the first to finish before it
	// plans (-lock-timeout), instead of planning beside it and finding
	// its plan stale. Without it a plan only reads them
	// (Opener.ReadDestination).
	ToApply bool
}

// Syncs returns the names of the syncs selected by targets, sorted, with an
// error naming unknown targets.
func (e *Engine) Syncs(targets []string) ([]string, error) {
	if len(targets) == 0 {
		return sortedKeys(e.cfg.Syncs), nil
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range targets {
		name := strings.TrimPrefix(t, "sync.")
		if _, ok := e.cfg.Syncs[name]; !ok {
			return nil, fmt.Errorf("-target=%s: no sync %q in the configuration (have: %s)", t, name, strings.Join(sortedKeys(e.cfg.Syncs), ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Plan computes the plan. It changes nothing: it only reads destination
// state and calls the sources' discovery endpoints. A sync that cannot be
// planned is reported in the error, with the syncs that depend on it; the
// plan returned beside the error holds every other sync.
func (e *Engine) Plan(ctx context.Context, opts PlanOptions) (*plan.Plan, error) {
	names, err := e.Syncs(opts.Targets)
	if err != nil {
		return nil, err
	}
	ctx = source.WithParallelism(ctx, opts.Parallelism)
	now := e.Now().UTC()
	p := &plan.Plan{
		Version: plan.FormatVersion, JsyncVersion: Version, CreatedAt: now,
		ConfigDigest: e.cfg.Digest, Serials: map[string]int64{},
		Force: opts.Force, Targets: opts.Targets,
	}
	// Syncs are planned with those they depend on first (dag.Walk, one at
	// a time: they share p.Serials), so that one whose dependency could
	// not be planned is left out before its source is asked anything:
	// apply runs a sync after those it depends on, and not when one of
	// them fails. Plan and errors keep the order of names.
	g := dag.New()
	for _, name := range names {
		g.Add(name)
		for _, dep := range e.cfg.Syncs[name].DependsOn {
			if slices.Contains(names, dep) {
				g.Connect(name, dep)
			}
		}
	}
	planned := map[string]*plan.Sync{}
	results, err := g.Walk(ctx, 1, func(ctx context.Context, name string) error {
		sp, err := e.planSync(ctx, name, now, opts, p.Serials)
		planned[name] = sp
		return err
	})
	if err != nil {
		return nil, err // config.Load refuses cycles
	}
	var errs []error
	for _, name := range names {
		switch err := results[name]; {
		case err == nil:
			p.Syncs = append(p.Syncs, planned[name])
		case errors.Is(err, dag.ErrUpstreamFailed):
			errs = append(errs, fmt.Errorf("plan sync.%s: not planned: it depends on sync.%s, which could not be planned", name, failedDependency(g, results, name)))
		default:
			errs = append(errs, fmt.Errorf("plan sync.%s: %w", name, err))
		}
	}
	return p, errors.Join(errs...)
}

// failedDependency returns the first direct dependency of v that failed
// in a walk's results.
func failedDependency(g *dag.Graph, results map[string]error, v string) string {
	for _, dep := range g.DependsOn(v) {
		if results[dep] != nil {
			return dep
		}
	}
	return ""
}

func (e *Engine) planSync(ctx context.Context, name string, now time.Time, opts PlanOptions, serials map[string]int64) (*plan.Sync, error) {
	sc := e.cfg.Syncs[name]
	open := e.readDestination
	if opts.ToApply {
		open = e.destination
	}
	d, err := open(ctx, sc.Destination)
	if err != nil {
		return nil, err
	}
	snap, err := d.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state of %s: %w", destinationAddr(sc.Destination), err)
	}
	serials[destinationAddr(sc.Destination)] = snap.Serial
	sp := &plan.Sync{
		Name: name, Source: sourceAddr(sc.Source), Destination: destinationAddr(sc.Destination),
		Namespace: sc.Source.Name, Schedule: sc.Schedule.String(),
		Tables: []*plan.Table{}, // an array in JSON even when not due
	}
	if sc.Load == config.LoadAfterFetch {
		sp.Load = sc.Load
	}
	last := snap.Get(name, SyncStateTable).LastSuccess
	// When the last successful run began: a table whose own last success
	// is older was not part of it. Schedules count from it (a state
	// written before jsync kept it: from the run's end).
	lastRunStarted, _ := time.Parse(time.RFC3339Nano, snap.Get(name, SyncStateTable).Extra[extraRunStarted])
	scheduledFrom := last
	if !lastRunStarted.IsZero() {
		scheduledFrom = lastRunStarted
	}
	switch {
	case opts.Force:
		sp.Due, sp.Reason = true, "forced by -force"
	case last.IsZero():
		sp.Due, sp.Reason = true, "never run"
		if _, reset := snap.Tables[name+"."+SyncStateTable]; reset {
			sp.Reason = "state reset by jsync state rm"
		}
	case sc.Schedule.Due(scheduledFrom, now):
		sp.Due, sp.Reason = true, fmt.Sprintf("last run %s, schedule %s", last.UTC().Format(time.RFC3339), sc.Schedule)
	default:
		sp.NextDue = sc.Schedule.Next(scheduledFrom).UTC()
		sp.Reason = fmt.Sprintf("not due until %s (schedule %s)", sp.NextDue.Format(time.RFC3339), sc.Schedule)
		return sp, nil
	}
	src, err := e.source(ctx, sc.Source)
	if err != nil {
		return nil, err
	}
	disc, err := e.discover(ctx, name, src, snap)
	if err != nil {
		return nil, err
	}
	sp.SourceInfo, sp.Warnings = disc.Info, disc.Warnings
	sel, err := selectTables(sc, disc.Tables)
	if err != nil {
		return nil, err
	}
	sp.Warnings = append(sp.Warnings, readOnlyParentWarnings(sel)...)
	written := writtenTables(sel)
	if err := checkPartitionColumns(sc, written); err != nil {
		return nil, err
	}
	if mp, ok := d.(dest.MemoryPlanner); ok {
		sp.Warnings = slices.Concat(sp.Warnings, mp.PlanMemory(written))
	}
	if lp, ok := d.(dest.PlanWarner); ok {
		sp.Warnings = slices.Concat(sp.Warnings, lp.PlanWarnings(sp.Namespace, written))
	}
	changes, err := d.PlanMigrations(ctx, sp.Namespace, written)
	if err != nil {
		return nil, fmt.Errorf("plan migrations in %s: %w", destinationAddr(sc.Destination), err)
	}
	created := map[string]bool{}
	added, refill := map[string][]string{}, map[string][]string{}
	syncExtra := snap.Get(name, SyncStateTable).Extra
	for _, t := range written {
		// Columns selected again after runs that did not write them.
		prev := strings.Split(syncExtra[extraUnwrittenPrefix+t.Name], ",")
		for _, c := range t.Columns {
			if slices.Contains(prev, c.Name) {
				refill[t.Name] = append(refill[t.Name], "column "+c.Name+" (not written while left out)")
			}
		}
	}
	for _, c := range changes {
		sp.Changes = append(sp.Changes, toPlanChange(c))
		switch c.Kind {
		case schema.CreateTable:
			created[c.Table.Name] = true
		case schema.AddColumn:
			// A catalogue column, or a custom field's the sync's columns
			// name, is new here because the selection (or jsync) changed:
			// the rows written have values for it that only fetching them
			// again gives. A new custom field of the site is filled as
			// issues change.
			if c.Column.FieldID == "" || slices.Contains(sc.Columns[c.Table.Name], c.Column.Name) {
				refill[c.Table.Name] = append(refill[c.Table.Name], "new column "+c.Column.Name)
			} else {
				added[c.Table.Name] = append(added[c.Table.Name], c.Column.Name)
			}
		case schema.IncompatibleColumn:
			// A custom field whose type changed: the old values can only
			// be cast (or lost), so every row is read again in the new
			// type once the column is recreated (-allow-incompatible).
			refill[c.Table.Name] = append(refill[c.Table.Name], "column "+c.Column.Name+" of a new type")
		}
	}
	refillNote := func(table string) string {
		return fmt.Sprintf("+ %s: every row is fetched again to fill it", strings.Join(refill[table], ", "))
	}
	planned := map[string]*plan.Table{}
	for _, st := range sel {
		if st.t.Name == RejectsTable {
			continue
		}
		ts := snap.Get(name, st.t.Name)
		pt := &plan.Table{
			Name: st.t.Name, Write: st.write, Replication: st.t.Replication.String(),
			Parent: st.t.Parent, Columns: st.t.ColumnNames(), Estimate: -1,
		}
		parent := planned[st.t.Parent]
		switch {
		case st.t.Replication == schema.FullTable:
			pt.Mode = plan.ModeFull
		case parent != nil && ts.Cursor == "":
			// A child without a cursor of its own follows its parent's fetch:
			// its rows come with the parent's rows (and are re-synced with
			// every changed parent).
			pt.Mode, pt.Since = parent.Mode, parent.Since
			// A child table created now, or one that missed runs of its
			// parent (left out of tables for a while, or failed), lacks
			// the children of what the parent fetched meanwhile: both are
			// fetched in full.
			missed := !ts.LastSuccess.IsZero() && ts.LastSuccess.Before(lastRunStarted)
			if st.write && (created[st.t.Name] || missed || refill[st.t.Name] != nil) && pt.Mode != plan.ModeFull {
				pt.Mode, pt.Since = plan.ModeFull, ""
				parent.Mode, parent.Since = plan.ModeFull, ""
				switch {
				case missed:
					pt.Notes = append(pt.Notes, fmt.Sprintf("+ last synced %s, before the sync's last run: fetched in full, with %s",
						ts.LastSuccess.UTC().Format(time.RFC3339), st.t.Parent))
				case refill[st.t.Name] != nil:
					pt.Notes = append(pt.Notes, refillNote(st.t.Name))
				}
			}
		case opts.FullRefresh || ts.Cursor == "" || (st.write && created[st.t.Name]):
			pt.Mode = plan.ModeFull
		case !st.write:
			// A table read only for its children keeps no cursor: one
			// left from when it was written is behind what changed since.
			pt.Mode = plan.ModeFull
		case st.write && refill[st.t.Name] != nil:
			// Its rows come from its parent's too (a child with a cursor
			// of its own), which must then be read in full as well.
			pt.Mode = plan.ModeFull
			pt.Notes = append(pt.Notes, refillNote(st.t.Name))
			if parent != nil {
				parent.Mode, parent.Since = plan.ModeFull, ""
			}
		default:
			pt.Mode, pt.Since = plan.ModeIncremental, ts.Cursor
		}
		planned[pt.Name] = pt
		sp.Tables = append(sp.Tables, pt)
	}
	// A child is fetched with its parent: when the parent is fetched in
	// full, so is the child, whether it has a cursor of its own (the
	// worklogs' feed) or was planned before a later sibling made the
	// parent full (a new or refilled child table). Parents come before
	// their children, so one pass in order also reaches grandchildren.
	for _, pt := range sp.Tables {
		if parent := planned[pt.Parent]; parent != nil && pt.Replication != schema.FullTable.String() &&
			parent.Mode == plan.ModeFull && pt.Mode != plan.ModeFull {
			pt.Mode, pt.Since = plan.ModeFull, ""
		}
	}
	// Estimates and notes once every mode is settled.
	for _, pt := range sp.Tables {
		ts := snap.Get(name, pt.Name)
		if pt.Mode == plan.ModeFull {
			ts.Cursor = ""
		}
		if n, err := src.Estimate(ctx, pt.Name, ts); err == nil {
			pt.Estimate = n
		} else {
			e.Log.Warn("estimate failed", "table", pt.Name, "err", err)
		}
		if n, ok := src.(source.Noter); ok && pt.Mode == plan.ModeIncremental && pt.Write {
			pt.Notes = append(pt.Notes, n.PlanNotes(pt.Name, ts)...)
		}
		if cols := added[pt.Name]; len(cols) > 0 && pt.Mode == plan.ModeIncremental {
			pt.Notes = append(pt.Notes, fmt.Sprintf("+ new custom field column %s: filled as issues change; "+
				"jsync apply -full-refresh -force -target=sync.%s fills it for every row now", strings.Join(cols, ", "), name))
		}
	}
	return sp, nil
}

func (e *Engine) discover(ctx context.Context, syncName string, src source.Source, snap *state.Snapshot) (*source.Discovery, error) {
	e.mu.Lock()
	if d, ok := e.discoveries[syncName]; ok {
		e.mu.Unlock()
		return d, nil
	}
	e.mu.Unlock()
	pinned := map[string]map[string]string{}
	if snap != nil {
		for _, ts := range snap.Tables {
			if ts.Sync == syncName && len(ts.PinnedColumns) > 0 {
				pinned[ts.Table] = ts.PinnedColumns
			}
		}
	}
	disc, err := src.Discover(ctx, pinned)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", sourceAddr(e.cfg.Syncs[syncName].Source), err)
	}
	disc.Tables = append(disc.Tables, RejectsSchema())
	e.mu.Lock()
	e.discoveries[syncName] = disc
	e.mu.Unlock()
	return disc, nil
}

func toPlanChange(c schema.TableChange) *plan.Change {
	pc := &plan.Change{Table: c.Table.Name, Type: c.NewType, OldType: c.OldType}
	if c.Column != nil {
		pc.Column = c.Column.Name
	}
	switch c.Kind {
	case schema.CreateTable:
		pc.Action, pc.Columns = plan.ActCreate, len(c.Table.Columns)
	case schema.AddColumn, schema.WidenColumn:
		pc.Action = plan.ActAlter
	case schema.IncompatibleColumn:
		pc.Action = plan.ActIncompatible
	case schema.ExtraColumn:
		pc.Action = plan.ActKeep
	}
	return pc
}

// Selection is one table of a sync's fetch. Write is false for a table
// fetched only because a selected table needs its data.
type Selection struct {
	Table *schema.Table
	Write bool
}

// Select resolves a sync's table and column selection against tables, in
// dependency order (the same resolution plan and apply use).
func Select(sc *config.Sync, tables []*schema.Table) ([]Selection, error) {
	sel, err := selectTables(sc, tables)
	out := make([]Selection, 0, len(sel))
	for _, s := range sel {
		if s.t.Name != RejectsTable {
			out = append(out, Selection{Table: s.t, Write: s.write})
		}
	}
	return out, err
}

// selected is one table of a sync's fetch.
type selected struct {
	t     *schema.Table
	write bool
}

// selectTables resolves a sync's table and column selection against the
// discovered tables: selected tables are written, their ancestors fetched
// without being written. The result is in dependency order.
func selectTables(sc *config.Sync, all []*schema.Table) ([]selected, error) {
	byName := map[string]*schema.Table{}
	for _, t := range all {
		byName[t.Name] = t
	}
	want := map[string]bool{}
	if len(sc.Tables) == 0 {
		for _, t := range all {
			want[t.Name] = true
		}
	}
	for _, n := range sc.Tables {
		if byName[n] == nil {
			return nil, fmt.Errorf("sync.%s: the source offers no table %q", sc.Name, n)
		}
		want[n] = true
	}
	want[RejectsTable] = true
	need := map[string]bool{}
	var addAncestors func(n string)
	addAncestors = func(n string) {
		t := byName[n]
		if t == nil || need[n] {
			return
		}
		need[n] = true
		if t.Parent != "" {
			addAncestors(t.Parent)
		}
		for _, d := range t.DependsOn {
			addAncestors(d)
		}
	}
	for n := range want {
		addAncestors(n)
	}
	var errs []error
	var out []selected
	for _, t := range orderTables(all, need) {
		pt := t
		if cols, ok := sc.Columns[t.Name]; ok {
			for i, c := range cols {
				if t.Column(c) == nil {
					var at *hcl.Range
					if rs := sc.ColumnRanges[t.Name]; i < len(rs) {
						at = &rs[i]
					}
					errs = append(errs, noColumnError(at, "", t, c))
				}
			}
			pt = t.Project(cols)
		}
		out = append(out, selected{t: pt, write: want[t.Name]})
	}
	return out, errors.Join(errs...)
}

// orderTables returns the needed tables with parents before children, in
// catalogue order otherwise.
func orderTables(all []*schema.Table, need map[string]bool) []*schema.Table {
	byName := map[string]*schema.Table{}
	for _, t := range all {
		byName[t.Name] = t
	}
	var out []*schema.Table
	done := map[string]bool{}
	var visit func(t *schema.Table)
	visit = func(t *schema.Table) {
		if done[t.Name] {
			return
		}
		done[t.Name] = true
		if p := byName[t.Parent]; p != nil {
			visit(p)
		}
		for _, d := range t.DependsOn {
			if p := byName[d]; p != nil {
				visit(p)
			}
		}
		out = append(out, t)
	}
	for _, t := range all {
		if need[t.Name] {
			visit(t)
		}
	}
	return out
}

func writtenTables(sel []selected) []*schema.Table {
	var out []*schema.Table
	for _, s := range sel {
		if s.write {
			out = append(out, s.t)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkPartitionColumns checks that the partition column of each written
// table is one of its columns, now that custom-field columns are known,
// and of a type that can partition.
func checkPartitionColumns(sc *config.Sync, written []*schema.Table) error {
	var errs []error
	for _, t := range written {
		col, ok := sc.Destination.PartitionBy[t.Name]
		if !ok {
			continue
		}
		var at *hcl.Range
		where := ""
		if rs, ok := sc.Destination.PartitionRanges[t.Name]; ok {
			at = &rs[1]
			where = at.String() + ": "
		}
		c := t.Column(col)
		switch {
		case c == nil:
			errs = append(errs, noColumnError(at, "partition_by: ", t, col))
		case dest.CheckPartitionType(c.Type) != nil:
			errs = append(errs, fmt.Errorf("%spartition_by: table %s: column %s: %w", where, t.Name, col, dest.CheckPartitionType(c.Type)))
		}
	}
	return errors.Join(errs...)
}

// noColumnError is the error for a configured column that table t lacks
// once the site's custom fields are known, at the configuration's range
// when known.
func noColumnError(at *hcl.Range, what string, t *schema.Table, col string) error {
	where := ""
	if at != nil {
		where = at.String() + ": "
	}
	return fmt.Errorf("%s%stable %s has no column %q, and the site has no custom field of that name%s",
		where, what, t.Name, col, suggest.DidYouMean(col, t.ColumnNames(), 3))
}

// readOnlyParentWarnings warns of incremental tables read only for their
// selected children: they keep no cursor, so every run reads them in full.
// Marking the children of deleted parents is the source's work (the Jira
// source keeps the ids it needs for that in the children's states).
func readOnlyParentWarnings(sel []selected) []string {
	var out []string
	for _, p := range sel {
		if p.write || p.t.Replication != schema.Incremental {
			continue
		}
		var children []string
		for _, c := range sel {
			if c.write && c.t.Parent == p.t.Name {
				children = append(children, c.t.Name)
			}
		}
		if len(children) > 0 {
			out = append(out, fmt.Sprintf("%s %s selected without %s: every run reads all of %s again; add %q to tables so that runs read only what changed",
				strings.Join(children, ", "), isAre(len(children)), p.t.Name, p.t.Name, p.t.Name))
		}
	}
	return out
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
