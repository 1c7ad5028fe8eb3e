package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
)

// DefaultParallelism is how many table fetches Apply runs at once unless
// ApplyOptions.Parallelism says otherwise.
const DefaultParallelism = 8

// ApplyOptions controls Apply.
type ApplyOptions struct {
	// Parallelism bounds concurrent table fetches (DefaultParallelism when
	// 0). When set, it also caps each source's requests in flight; when 0,
	// each source keeps its own bound (a Jira source's `concurrency`).
	Parallelism int
	// LockTimeout is how long to wait for another apply's lock; 0 fails at
	// once.
	LockTimeout time.Duration
	// AllowIncompatible permits incompatible column changes.
	AllowIncompatible bool
	// ProgressEvery is the period of progress events (default 2s).
	ProgressEvery time.Duration
}

// ProgressEvent reports a table's progress. Namespace is the schema (or
// directory) the table is written to, as the plan names it
// (Namespace.Table); Sync is the sync that runs it.
type ProgressEvent struct {
	Sync, Namespace, Table string
	// Rows counts the rows fetched (received from the source) so far: a
	// row received twice counts twice, though the destination stores it
	// once by key (TableResult's Inserted and Updated).
	Rows     int64
	Estimate int64
	Done     bool
	Err      error
	// ReadOnly: the table is only read, for its children; its rows are
	// not written (and a source need not send them, so Rows may be 0).
	ReadOnly bool
	// Loading is set while the rows a sync staged (load = "after_fetch")
	// are written after the fetch; Written counts those written so far.
	Loading bool
	Written int64
}

// TableResult is the outcome of one table. Namespace is the schema (or
// directory) the table is written to, as the plan names it; it is empty in
// the rows that are no table of the destination ("(prepare)", the sync's
// own state).
type TableResult struct {
	Sync, Namespace, Table string
	Written                bool
	// Rows counts the rows fetched; Inserted, Updated and Deleted the
	// changes to the rows stored, as the destination counts them: one per
	// key in each commit (a row fetched twice in one commit, such as an
	// issue link read from both its issues, is stored and counted once;
	// fetched again in a later commit of the run, it counts as updated
	// again).
	Rows     int64
	Inserted int64
	Updated  int64
	Deleted  int64
	Requests int64
	Duration time.Duration
	Err      error
}

// Result is the outcome of an apply.
type Result struct {
	Tables  []*TableResult
	Skipped []*plan.Sync // syncs that were not due
	Rejects int64
}

// Err joins the root causes: table errors that are not merely "a
// dependency failed".
func (r *Result) Err() error {
	var errs []error
	for _, t := range r.Tables {
		if t.Err != nil && !errors.Is(t.Err, dag.ErrUpstreamFailed) {
			errs = append(errs, fmt.Errorf("sync.%s.%s: %w", t.Sync, t.Table, t.Err))
		}
	}
	return errors.Join(errs...)
}

// syncRun holds one sync's execution state.
type syncRun struct {
	sp       *plan.Sync
	d        dest.Destination
	src      source.Source
	snap     *state.Snapshot
	tables   map[string]selected
	order    []string
	mode     map[string]*plan.Table
	mu       sync.Mutex
	results  map[string]*TableResult
	rejects  *rejectWriter
	startReq map[string]int64
	stageDir string // where tables stage, when the sync loads after the fetch
	// written are the tables the run writes; unwritten their columns it
	// keeps without writing (see extraUnwrittenPrefix).
	written   []string
	unwritten map[string][]string
	// started is when the run began: before any of its tables' runs, whose
	// LastSuccess is when each began.
	started time.Time
}

// Apply executes p. The plan must come from this configuration: a plan whose
// config digest or destination serials no longer match is refused as stale.
func (e *Engine) Apply(ctx context.Context, p *plan.Plan, opts ApplyOptions) (*Result, error) {
	// -parallelism bounds every source's requests under ctx: a saved
	// plan's apply discovers the sources again, then Sync.
	ctx = source.WithParallelism(ctx, opts.Parallelism)
	walkers := opts.Parallelism
	if walkers <= 0 {
		walkers = DefaultParallelism
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	res := &Result{}
	var due []*plan.Sync
	for _, sp := range p.Syncs {
		if sp.Due {
			due = append(due, sp)
		} else {
			res.Skipped = append(res.Skipped, sp)
		}
	}
	if p.ConfigDigest != e.cfg.Digest {
		return nil, p.CheckFresh(e.cfg.Digest, nil)
	}
	if err := e.checkPlan(ctx, p); err != nil {
		return nil, err
	}
	if len(due) == 0 {
		return res, nil
	}
	// Lock every destination (sorted, so two applies never deadlock), then
	// check that nobody changed their state since the plan was made.
	destNames := map[string]bool{}
	for _, sp := range due {
		destNames[sp.Destination] = true
	}
	host, _ := os.Hostname()
	info := dest.LockInfo{PID: os.Getpid(), Host: host, Since: e.Now().UTC(), Op: "apply"}
	serials := map[string]int64{}
	for _, dn := range sortedKeys(destNames) {
		sc := e.syncByDest(dn)
		d, err := e.destination(ctx, sc.Destination)
		if err != nil {
			return nil, err
		}
		unlock, err := d.Lock(ctx, info, opts.LockTimeout)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", dn, err)
		}
		defer func() {
			if err := unlock(); err != nil {
				e.Log.Warn("unlock failed", "destination", dn, "err", err)
			}
		}()
		snap, err := d.State(ctx)
		if err != nil {
			return nil, fmt.Errorf("read state of %s: %w", dn, err)
		}
		serials[dn] = snap.Serial
	}
	if err := p.CheckFresh(e.cfg.Digest, serials); err != nil {
		return nil, err
	}

	runs := map[string]*syncRun{}
	g := dag.New()
	for _, sp := range due {
		r := &syncRun{sp: sp, mode: map[string]*plan.Table{}, results: map[string]*TableResult{}, started: e.Now().UTC()}
		runs[sp.Name] = r
		g.Add("sync." + sp.Name)
		for _, pt := range sp.Tables {
			r.mode[pt.Name] = pt
		}
		r.mode[RejectsTable] = &plan.Table{Name: RejectsTable, Write: true, Mode: plan.ModeIncremental}
		for _, pt := range append(sp.Tables, r.mode[RejectsTable]) {
			n := "sync." + sp.Name + "." + pt.Name
			g.Connect(n, "sync."+sp.Name)
			if pt.Parent != "" && r.mode[pt.Parent] != nil {
				g.Connect(n, "sync."+sp.Name+"."+pt.Parent)
			}
		}
		for _, other := range e.cfg.Syncs[sp.Name].DependsOn {
			if e.inPlan(due, other) {
				for _, pt := range e.planOf(due, other).Tables {
					g.Connect("sync."+sp.Name, "sync."+other+"."+pt.Name)
				}
			}
		}
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("build graph: %w", err)
	}

	stopProgress := e.startProgress(runs, opts.ProgressEvery)
	results, err := g.Walk(ctx, walkers, func(ctx context.Context, v string) error {
		parts := strings.SplitN(strings.TrimPrefix(v, "sync."), ".", 2)
		r := runs[parts[0]]
		if len(parts) == 1 {
			return e.prepareSync(ctx, r, opts)
		}
		return e.runTable(ctx, r, parts[1], opts)
	})
	stopProgress()
	removeStagingDirs(runs, e.Log.Warn)
	if err != nil {
		return nil, err
	}

	// Collect results, commit each fully successful sync's run time.
	for _, sp := range due {
		r := runs[sp.Name]
		allOK := results["sync."+sp.Name] == nil
		var okTables []string
		for _, name := range append(tableNames(sp.Tables), RejectsTable) {
			tr := r.results[name]
			if tr == nil {
				tr = &TableResult{Sync: sp.Name, Namespace: sp.Namespace, Table: name, Written: r.mode[name].Write}
			}
			if verr := results["sync."+sp.Name+"."+name]; verr != nil && tr.Err == nil {
				tr.Err = verr
			}
			if prep := results["sync."+sp.Name]; prep != nil && tr.Err == nil {
				tr.Err = dag.Upstream("sync."+sp.Name, prep)
			}
			if tr.Err != nil {
				allOK = false
			} else {
				okTables = append(okTables, name)
			}
			if name == RejectsTable {
				if r.rejects != nil {
					res.Rejects += r.rejects.n
				}
				if tr.Err == nil {
					continue
				}
			}
			res.Tables = append(res.Tables, tr)
		}
		if prep := results["sync."+sp.Name]; prep != nil {
			res.Tables = append(res.Tables, &TableResult{Sync: sp.Name, Table: "(prepare)", Err: prep})
		}
		if r.d != nil && results["sync."+sp.Name] == nil {
			st := r.snap.Get(sp.Name, SyncStateTable)
			prev := st.Extra
			st.Extra = maps.Clone(st.Extra)
			if st.Extra == nil {
				st.Extra = map[string]string{}
			}
			// Each table that succeeded wrote its selected columns: its
			// record of unwritten ones is now this run's, whatever the
			// other tables did (kept, it would refetch it every run).
			var done []string
			for _, t := range r.written {
				if slices.Contains(okTables, t) {
					done = append(done, t)
				}
			}
			setUnwritten(st.Extra, done, r.unwritten, true)
			if allOK {
				st.LastSuccess = e.Now().UTC()
				st.Extra[extraRunStarted] = r.started.Format(time.RFC3339Nano)
			}
			if allOK || !maps.Equal(prev, st.Extra) {
				if err := r.d.CommitState(context.WithoutCancel(ctx), &st); err != nil {
					res.Tables = append(res.Tables, &TableResult{Sync: sp.Name, Table: SyncStateTable, Err: fmt.Errorf("commit sync state: %w", err)})
				}
			}
		}
	}
	return res, nil
}

// checkPlan checks every reference of p against the configuration: its
// syncs, their sources, destinations and namespaces, and each due sync's
// tables, which must be those the sync fetches. A plan that `jsync plan`
// made from this configuration always passes (its digest matched); one
// edited by hand may not, and applying it would act on things the
// configuration does not declare.
func (e *Engine) checkPlan(ctx context.Context, p *plan.Plan) error {
	if err := p.Validate(); err != nil {
		return planFileError("is incomplete: " + err.Error())
	}
	for _, sp := range p.Syncs {
		sc, ok := e.cfg.Syncs[sp.Name]
		if !ok {
			return planFileError(fmt.Sprintf("refers to sync.%s, which the configuration does not declare", sp.Name))
		}
		if err := checkAddr(sp.Name, "source", sp.Source, sourceAddr(sc.Source), e.cfg.Sources); err != nil {
			return err
		}
		if err := checkAddr(sp.Name, "destination", sp.Destination, destinationAddr(sc.Destination), e.cfg.Destinations); err != nil {
			return err
		}
		if sp.Namespace != sc.Source.Name {
			return planFileError(fmt.Sprintf("has sync.%s write to namespace %q, the configuration to %q", sp.Name, sp.Namespace, sc.Source.Name))
		}
		if !sp.Due {
			continue
		}
		src, err := e.source(ctx, sc.Source)
		if err != nil {
			return err
		}
		// The tables only: src.Tables() lacks the site's custom-field
		// columns, which a columns selection may name; the run checks
		// the columns against the discovered tables.
		tablesOnly := *sc
		tablesOnly.Columns, tablesOnly.ColumnRanges = nil, nil
		sel, err := selectTables(&tablesOnly, append(src.Tables(), RejectsSchema()))
		if err != nil {
			return err
		}
		if err := checkPlanTables(sp, sel); err != nil {
			return err
		}
	}
	return nil
}

// checkAddr checks that a plan's sync names the source or destination
// (kind) the configuration gives it: want.
func checkAddr[V any](syncName, kind, got, want string, declared map[string]V) error {
	if got == want {
		return nil
	}
	if _, ok := declared[strings.TrimPrefix(got, kind+".")]; !ok {
		return planFileError(fmt.Sprintf("refers to %s, which the configuration does not declare", got))
	}
	return planFileError(fmt.Sprintf("has sync.%s use %s, the configuration %s", syncName, got, want))
}

// checkPlanTables checks that a due sync's planned tables are those it
// fetches (sel, from the configuration), written or not as planned.
func checkPlanTables(sp *plan.Sync, sel []selected) error {
	want := map[string]selected{}
	var names []string
	for _, s := range sel {
		if s.t.Name != RejectsTable {
			want[s.t.Name] = s
			names = append(names, s.t.Name)
		}
	}
	planned := map[string]bool{}
	for _, pt := range sp.Tables {
		s, ok := want[pt.Name]
		switch {
		case !ok:
			return planFileError(fmt.Sprintf("lists table sync.%s.%s, which the sync does not fetch (it fetches %s)", sp.Name, pt.Name, strings.Join(names, ", ")))
		case pt.Write != s.write:
			return planFileError(fmt.Sprintf("has table sync.%s.%s with write=%t, the configuration with write=%t", sp.Name, pt.Name, pt.Write, s.write))
		case pt.Parent != s.t.Parent:
			return planFileError(fmt.Sprintf("has table sync.%s.%s with parent %q, the configuration with parent %q", sp.Name, pt.Name, pt.Parent, s.t.Parent))
		}
		planned[pt.Name] = true
	}
	for _, n := range names {
		if !planned[n] {
			return planFileError(fmt.Sprintf("lacks table sync.%s.%s, which the sync fetches", sp.Name, n))
		}
	}
	return nil
}

// planFileError reports a plan that does not match the configuration.
func planFileError(what string) error {
	return &plan.MismatchError{What: what}
}

func tableNames(ts []*plan.Table) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func (e *Engine) inPlan(due []*plan.Sync, name string) bool { return e.planOf(due, name) != nil }

func (e *Engine) planOf(due []*plan.Sync, name string) *plan.Sync {
	for _, sp := range due {
		if sp.Name == name {
			return sp
		}
	}
	return nil
}

func (e *Engine) syncByDest(addr string) *config.Sync {
	for _, name := range sortedKeys(e.cfg.Syncs) {
		sc := e.cfg.Syncs[name]
		if destinationAddr(sc.Destination) == addr {
			return sc
		}
	}
	return nil
}

// prepareSync opens the source, re-discovers its tables, checks them against
// the plan and migrates the destination.
func (e *Engine) prepareSync(ctx context.Context, r *syncRun, opts ApplyOptions) error {
	sc := e.cfg.Syncs[r.sp.Name]
	d, err := e.destination(ctx, sc.Destination)
	if err != nil {
		return err
	}
	r.d = d
	if err := e.prepareStaging(r, sc); err != nil {
		return err
	}
	if r.snap, err = d.State(ctx); err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	if r.src, err = e.source(ctx, sc.Source); err != nil {
		return err
	}
	disc, err := e.discover(ctx, r.sp.Name, r.src, r.snap)
	if err != nil {
		return err
	}
	sel, err := selectTables(sc, disc.Tables)
	if err != nil {
		return err
	}
	r.tables = map[string]selected{}
	for _, s := range sel {
		r.tables[s.t.Name] = s
		r.order = append(r.order, s.t.Name)
	}
	if err := checkPlanTables(r.sp, sel); err != nil {
		return err
	}
	for _, w := range disc.Warnings {
		e.Log.Warn(w, "sync", r.sp.Name)
	}
	changes, err := d.PlanMigrations(ctx, r.sp.Namespace, writtenTables(sel))
	if err != nil {
		return fmt.Errorf("plan migrations: %w", err)
	}
	if diff := diffChanges(r.sp.Changes, changes); diff != "" {
		return &plan.StaleError{Reasons: []string{"the source's schema changed since the plan was made (" + diff + ")"}}
	}
	for _, c := range changes {
		if c.Kind == schema.IncompatibleColumn && !opts.AllowIncompatible {
			return fmt.Errorf("%s; re-run with -allow-incompatible to recreate the column (existing values are cast where possible)", c)
		}
	}
	if err := d.Migrate(ctx, r.sp.Namespace, changes, dest.MigrateOptions{AllowIncompatible: opts.AllowIncompatible}); err != nil {
		return fmt.Errorf("migrate %s: %w", r.sp.Destination, err)
	}
	// Before any row is written without them: the columns this run keeps
	// but does not write, so that selecting them again refetches.
	r.written = nil
	for _, t := range writtenTables(sel) {
		r.written = append(r.written, t.Name)
	}
	r.unwritten = unwrittenColumns(changes)
	if len(r.unwritten) > 0 {
		st := r.snap.Get(r.sp.Name, SyncStateTable)
		st.Extra = maps.Clone(st.Extra)
		if st.Extra == nil {
			st.Extra = map[string]string{}
		}
		setUnwritten(st.Extra, r.written, r.unwritten, false)
		if !maps.Equal(st.Extra, r.snap.Get(r.sp.Name, SyncStateTable).Extra) {
			if err := d.CommitState(ctx, &st); err != nil {
				return fmt.Errorf("commit sync state: %w", err)
			}
			r.snap.Tables[r.sp.Name+"."+SyncStateTable] = &st
		}
	}
	r.startReq = r.src.Requests()
	return nil
}

func diffChanges(planned []*plan.Change, now []schema.TableChange) string {
	key := func(c *plan.Change) string { return string(c.Action) + " " + c.Table + "." + c.Column + " " + c.Type }
	a, b := map[string]*plan.Change{}, map[string]bool{}
	for _, c := range planned {
		a[key(c)] = c
	}
	for _, c := range now {
		b[key(toPlanChange(c))] = true
	}
	var diffs []string
	for k := range b {
		if a[k] == nil {
			diffs = append(diffs, "new: "+k)
		}
	}
	for k, c := range a {
		// The rejects table is the one table several syncs of a source
		// write: another sync of this apply may have created it since.
		if !b[k] && c.Table != RejectsTable {
			diffs = append(diffs, "gone: "+k)
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, ", ")
}

// runTable runs a table's node. The node of a group's root table (a table
// whose parent is not fetched) runs the source for the root and all its
// descendants, streaming into one sink per table; descendants' nodes then
// report what the group recorded for them.
func (e *Engine) runTable(ctx context.Context, r *syncRun, name string, opts ApplyOptions) error {
	r.mu.Lock()
	if tr, ok := r.results[name]; ok {
		r.mu.Unlock()
		return tr.Err
	}
	r.mu.Unlock()
	if name == RejectsTable {
		return nil // written by the groups; its result is set below
	}
	group := r.group(name)
	if len(group) == 0 {
		return fmt.Errorf("table %s is not among the tables the sync fetches; run `jsync plan` again", name)
	}
	return e.runGroup(ctx, r, group, opts)
}

// group returns root and its fetched descendants, in dependency order.
func (r *syncRun) group(root string) []string {
	in := map[string]bool{root: true}
	var out []string
	for _, n := range r.order {
		t := r.tables[n].t
		if n == root || (t.Parent != "" && in[t.Parent]) {
			in[n] = true
			out = append(out, n)
		}
	}
	return out
}

func (e *Engine) runGroup(ctx context.Context, r *syncRun, group []string, opts ApplyOptions) error {
	start := e.Now()
	now := start.UTC()
	// Writers and state commits do not stop when ctx is cancelled (SIGINT):
	// the batch in flight commits, then the run ends cleanly.
	wctx := context.WithoutCancel(ctx)
	sinks := map[string]*tableSink{}
	req := &source.SyncRequest{Tables: map[string]*source.TableRequest{}, Now: now}
	for _, n := range group {
		sel := r.tables[n]
		pt := r.mode[n]
		s := newTableSink(r.d, r.sp.Namespace, sel.t, sel.write)
		s.stage = e.stagerFor(r, n)
		go s.run(wctx)
		sinks[n] = s
		st := r.snap.Get(r.sp.Name, n)
		full := pt == nil || pt.Mode == plan.ModeFull
		if full {
			st.Cursor = ""
		}
		req.Tables[n] = &source.TableRequest{Table: sel.t, Write: sel.write, State: st, Full: full, Sink: s}
	}
	rejSink := newTableSink(r.d, r.sp.Namespace, RejectsSchema(), true)
	go rejSink.run(wctx)
	rw := &rejectWriter{sink: rejSink, source: r.sp.Namespace, now: now}
	r.mu.Lock()
	if r.rejects == nil {
		r.rejects = rw
	}
	r.mu.Unlock()
	req.Rejects = rw.add
	req.Barrier = func(ctx context.Context) error {
		for _, n := range group {
			if err := sinks[n].Flush(ctx); err != nil {
				return fmt.Errorf("flush %s: %w", n, err)
			}
		}
		return rejSink.Flush(ctx)
	}
	r.mu.Lock()
	for _, n := range group {
		r.results[n] = nil
	}
	r.mu.Unlock()
	e.registerSinks(r, sinks)

	syncErr := r.src.Sync(ctx, req)
	perTable := map[string]error{}
	var unattributed error
	for _, err := range flattenJoin(syncErr) {
		var te *source.TableError
		if errors.As(err, &te) && sinks[te.Table] != nil {
			perTable[te.Table] = errors.Join(perTable[te.Table], te.Err)
		} else {
			unattributed = errors.Join(unattributed, err)
		}
	}
	for n, s := range sinks {
		if perTable[n] != nil || unattributed != nil || failedAncestor(r, n, perTable) {
			s.Abort()
		}
		s.Close()
	}
	rejSink.Close()
	if err := rejSink.Wait(); err != nil {
		unattributed = errors.Join(unattributed, fmt.Errorf("write %s: %w", RejectsTable, err))
	}
	loadErr := e.loadStaged(ctx, wctx, r, group, sinks)
	reqs := r.src.Requests()
	failed := map[string]error{} // a table's error, for its children
	var finals []*state.TableState
	results := map[string]*TableResult{}
	for _, n := range group {
		s := sinks[n]
		werr := s.Wait()
		err := perTable[n]
		if werr != nil && !errors.Is(werr, errSinkClosed) {
			err = errors.Join(err, werr)
		}
		if err == nil && unattributed != nil {
			err = unattributed
		}
		t := r.tables[n].t
		if perr := failed[t.Parent]; err == nil && perr != nil {
			// Stopped with its parent by an interrupt, the child is
			// recorded as cancelled, as the parent is.
			err = dag.Upstream(t.Parent, perr)
		}
		if err != nil {
			failed[n] = err
		}
		tr := &TableResult{
			Sync: r.sp.Name, Namespace: r.sp.Namespace, Table: n, Written: s.write, Rows: s.rows.Load(),
			Inserted: s.stats.Inserted, Updated: s.stats.Updated, Deleted: s.stats.Deleted,
			Requests: reqs[n] - r.startReq[n], Duration: e.Now().Sub(start), Err: err,
		}
		results[n] = tr
		if err == nil {
			st := r.snap.Get(r.sp.Name, n)
			if s.lastState != nil {
				st = *s.lastState
			}
			st.Sync, st.Table = r.sp.Name, n
			st.LastSuccess = now
			st.PinnedColumns = pinnedColumns(t, st.PinnedColumns)
			finals = append(finals, &st)
		} else if s.staging() && s.loaded && loadErr == nil && s.lastState != nil {
			// What a failed table staged is loaded: its last
			// checkpoint commits, as it would have while fetching.
			st := *s.lastState
			st.Sync, st.Table = r.sp.Name, n
			finals = append(finals, &st)
		}
	}
	if len(finals) > 0 {
		if err := r.d.CommitState(wctx, finals...); err != nil {
			for _, st := range finals {
				results[st.Table].Err = fmt.Errorf("commit state: %w", err)
			}
		}
	}
	for _, n := range group {
		tr := results[n]
		status := "success"
		errText := ""
		if tr.Err != nil {
			status, errText = "failed", tr.Err.Error()
			if errors.Is(tr.Err, context.Canceled) {
				status = "cancelled"
			}
		}
		if tr.Written {
			run := state.Run{
				ID: fmt.Sprintf("%s-%s-%d", r.sp.Name, n, start.UnixNano()), Sync: r.sp.Name, Table: n,
				Status: status, Error: errText, StartedAt: start.UTC(), FinishedAt: e.Now().UTC(),
				Inserted: tr.Inserted, Updated: tr.Updated, Deleted: tr.Deleted, Requests: tr.Requests,
			}
			if err := r.d.RecordRun(wctx, run); err != nil {
				e.Log.Warn("record run failed", "table", n, "err", err)
			}
		}
		if e.Progress != nil {
			e.Progress(ProgressEvent{Sync: r.sp.Name, Namespace: r.sp.Namespace, Table: n, Rows: tr.Rows, Done: true, Err: tr.Err, Estimate: r.estimate(n),
				ReadOnly: !tr.Written})
		}
	}
	e.unregisterSinks(r, group)
	r.mu.Lock()
	for n, tr := range results {
		r.results[n] = tr
	}
	r.mu.Unlock()
	return results[group[0]].Err
}

// failedAncestor reports whether a table's parent (or its parent's parent)
// failed to fetch: its rows are then incomplete too.
func failedAncestor(r *syncRun, n string, failed map[string]error) bool {
	for {
		sel, ok := r.tables[n]
		if !ok || sel.t.Parent == "" {
			return false
		}
		n = sel.t.Parent
		if failed[n] != nil {
			return true
		}
	}
}

func (r *syncRun) estimate(n string) int64 {
	if pt := r.mode[n]; pt != nil {
		return pt.Estimate
	}
	return -1
}

func pinnedColumns(t *schema.Table, old map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range old {
		out[k] = v
	}
	for _, c := range t.Columns {
		if c.FieldID != "" {
			if _, ok := out[c.FieldID]; !ok {
				out[c.FieldID] = c.Name
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func flattenJoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flattenJoin(e)...)
		}
		return out
	}
	return []error{err}
}

// progress tracking

type liveSink struct {
	sync, ns, table string
	s               *tableSink
	est             int64
}

func (e *Engine) registerSinks(r *syncRun, sinks map[string]*tableSink) {
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	if e.live == nil {
		e.live = map[string]liveSink{}
	}
	for n, s := range sinks {
		if s.write {
			e.live[r.sp.Name+"."+n] = liveSink{sync: r.sp.Name, ns: r.sp.Namespace, table: n, s: s, est: r.estimate(n)}
		}
	}
}

func (e *Engine) unregisterSinks(r *syncRun, group []string) {
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	for _, n := range group {
		delete(e.live, r.sp.Name+"."+n)
	}
}

func (e *Engine) startProgress(runs map[string]*syncRun, every time.Duration) func() {
	if e.Progress == nil {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				e.liveMu.Lock()
				var evs []ProgressEvent
				for _, k := range sortedKeys(e.live) {
					l := e.live[k]
					evs = append(evs, ProgressEvent{Sync: l.sync, Namespace: l.ns, Table: l.table, Rows: l.s.rows.Load(), Estimate: l.est,
						Loading: l.s.loading.Load(), Written: l.s.written.Load()})
				}
				e.liveMu.Unlock()
				for _, ev := range evs {
					e.Progress(ev)
				}
			}
		}
	}()
	return func() { close(stop); <-done }
}
