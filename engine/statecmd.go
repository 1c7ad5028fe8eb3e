package engine

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/state"
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
		d, err := e.destination(ctx, sc.Destination)
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

// StateShow returns one table's state.
func (e *Engine) StateShow(ctx context.Context, addr string) (*state.TableState, error) {
	syncName, table, err := e.parseStateAddr(addr)
	if err != nil {
		return nil, err
	}
	if table == "" {
		table = SyncStateTable
	}
	d, err := e.destination(ctx, e.cfg.Syncs[syncName].Destination)
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
// and runs the sync even if its schedule says it is not due. Pinned
// custom-field column names are kept. It takes the destination lock.
func (e *Engine) StateRemove(ctx context.Context, addr string) (int, error) {
	syncName, table, err := e.parseStateAddr(addr)
	if err != nil {
		return 0, err
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
		reset = append(reset, &state.TableState{Sync: ts.Sync, Table: ts.Table, PinnedColumns: ts.PinnedColumns})
	}
	n := 0
	for _, r := range reset {
		if r.Table != SyncStateTable {
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
