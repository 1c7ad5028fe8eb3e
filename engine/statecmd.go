package engine

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
	"github.com/jsync-dev/jsync/engine/suggest"
)

// StateList returns every table state of every destination in the
// configuration, sorted by address.
func (e *Engine) StateList(ctx context.Context) ([]state.TableState, error) {
	var out []state.TableState
	seen := map[string]bool{}
	for _, name := range sortedKeys(e.cfg.Syncs) {
		sc := e.cfg.Syncs[name]
		addr := destinationAddr(sc.Destination)
		if seen[addr] {
			continue
		}
		seen[addr] = true
		d, err := e.readDestination(ctx, sc.Destination)
		if err != nil {
			return nil, err
		}
		snap, err := d.State(ctx)
		if err != nil {
			return nil, fmt.Errorf("read state of %s: %w", addr, err)
		}
		for _, ts := range snap.Tables {
			if _, ok := e.cfg.Syncs[ts.Sync]; ok && destinationAddr(e.cfg.Syncs[ts.Sync].Destination) == addr {
				out = append(out, *ts)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out, nil
}

// parseStateAddr splits sync.NAME[.TABLE].
func (e *Engine) parseStateAddr(addr string) (syncName, table string, err error) {
	parts := strings.Split(strings.TrimPrefix(addr, "sync."), ".")
	if !strings.HasPrefix(addr, "sync.") || len(parts) > 2 || parts[0] == "" {
		return "", "", fmt.Errorf("%q is not a state address; use sync.NAME.TABLE or sync.NAME (see `jsync state list`)", addr)
	}
	if _, ok := e.cfg.Syncs[parts[0]]; !ok {
		return "", "", fmt.Errorf("no sync %q in the configuration (have: %s)", parts[0], strings.Join(sortedKeys(e.cfg.Syncs), ", "))
	}
	if len(parts) == 2 {
		table = parts[1]
	}
	return parts[0], table, nil
}

// stateTable returns the catalogue entry of a table named in a state
// address of sync syncName, or an error for a name the sync's source does
// not offer (with the closest name). jsync's own pseudo-tables (the sync's
// last run and the rejects table) have no entry: nil, nil.
func (e *Engine) stateTable(ctx context.Context, syncName, table string) (*schema.Table, error) {
	if table == SyncStateTable || table == RejectsTable {
		return nil, nil
	}
	sc := e.cfg.Syncs[syncName]
	src, err := e.source(ctx, sc.Source)
	if err != nil {
		return nil, err
	}
	names := []string{RejectsTable}
	for _, t := range src.Tables() {
		if t.Name == table {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return nil, fmt.Errorf("unknown table %q in sync.%s: %s offers no such table%s (see `jsync tables`)",
		table, syncName, sourceAddr(sc.Source), suggest.DidYouMean(table, names, 3))
}

// rootTable is the table whose fetch brings t's rows: its top ancestor.
func (e *Engine) rootTable(ctx context.Context, syncName string, t *schema.Table) string {
	root := t.Name
	for p := t.Parent; p != ""; {
		root = p
		pt, err := e.stateTable(ctx, syncName, p)
		if err != nil || pt == nil {
			break
		}
		p = pt.Parent
	}
	return root
}

// StateShow returns one table's state.
func (e *Engine) StateShow(ctx context.Context, addr string) (*state.TableState, error) {
	syncName, table, err := e.parseStateAddr(addr)
	if err != nil {
		return nil, err
	}
	if table == "" {
		table = SyncStateTable
	}
	if _, err := e.stateTable(ctx, syncName, table); err != nil {
		return nil, err
	}
	d, err := e.readDestination(ctx, e.cfg.Syncs[syncName].Destination)
	if err != nil {
		return nil, err
	}
	snap, err := d.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if _, ok := snap.Tables[syncName+"."+table]; !ok {
		return nil, fmt.Errorf("no state for %s: it has never been synced (see `jsync state list`)", addr)
	}
	st := snap.Get(syncName, table)
	return &st, nil
}

// StateRemove resets the state of one table (sync.NAME.TABLE) or of every
// table of a sync (sync.NAME), so that the next apply fetches them in full
// and runs the sync even if its schedule says it is not due (the sync's own
// last run, SyncStateTable, is reset too). Pinned custom-field column names
// are kept. It takes the destination lock.
//
// An incremental child table (issue_comments) cannot be reset alone: its
// rows come with its parent's fetch, which its own state does not drive,
// so the next apply would fetch nothing more for it. StateRemove refuses
// it and names the table to reset instead.
func (e *Engine) StateRemove(ctx context.Context, addr string) (int, error) {
	syncName, table, err := e.parseStateAddr(addr)
	if err != nil {
		return 0, err
	}
	if table != "" {
		t, err := e.stateTable(ctx, syncName, table)
		if err != nil {
			return 0, err
		}
		if t != nil && t.Parent != "" && t.Replication == schema.Incremental {
			root := e.rootTable(ctx, syncName, t)
			return 0, fmt.Errorf("%s is fetched with %s, so resetting it alone would fetch nothing more; to refetch it, reset sync.%s.%s (jsync state rm sync.%s.%s), which refetches %s and the tables fetched with it",
				table, root, syncName, root, syncName, root, root)
		}
	}
	d, err := e.destination(ctx, e.cfg.Syncs[syncName].Destination)
	if err != nil {
		return 0, err
	}
	host, _ := os.Hostname()
	unlock, err := d.Lock(ctx, dest.LockInfo{PID: os.Getpid(), Host: host, Since: e.Now().UTC(), Op: "state rm"}, 0)
	if err != nil {
		return 0, err
	}
	defer unlock()
	snap, err := d.State(ctx)
	if err != nil {
		return 0, fmt.Errorf("read state: %w", err)
	}
	var reset []*state.TableState
	for _, ts := range snap.Tables {
		if ts.Sync != syncName || (table != "" && ts.Table != table && ts.Table != SyncStateTable) {
			continue
		}
		r := ts.Reset()
		reset = append(reset, &r)
	}
	n := 0
	for _, r := range reset {
		// sync.NAME._sync resets the sync's last run alone: the next
		// apply runs it whatever its schedule, its tables as they are.
		if r.Table != SyncStateTable || table == SyncStateTable {
			n++
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("no state for %s: nothing to reset (see `jsync state list`)", addr)
	}
	if err := d.CommitState(ctx, reset...); err != nil {
		return 0, fmt.Errorf("reset state: %w", err)
	}
	return n, nil
}
