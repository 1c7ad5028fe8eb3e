package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/config"
)

// A sync with load = "after_fetch" stages the rows and deletes of each
// incremental table in a spool file on local disk while it fetches, and
// writes them to the destination once the fetch of the table's group is
// done. The fetch (search pages in flight, Arrow batches being built) and
// the destination's load (DuckDB's buffer pool) then never hold memory at
// the same time. The states are committed once every staged table of the
// group is loaded, so a state never runs ahead of rows, in any table. The
// price: what a stopped run staged is not loaded (it starts again from its
// last committed state), and the load no longer overlaps a fetch that
// waits on Jira.

// loadParallelism bounds the staged tables loaded at once, over the whole
// apply. One lets the destination checkpoint between tables but leaves a
// core idle while it appends; two kept both cores busy. Measured at
// 200,000 issues (BENCHMARKS.md, tenth round): 165 s and 367 MB peak RSS
// with one, 136 s and 404 MB with two.
const loadParallelism = 2

// stagingDirName is the staging directory, under the system's temporary
// directory, of a destination that does not name its own.
const stagingDirName = "jsync-staging"

// stagingDir returns the directory for d's staged files: the one the
// destination names (next to its data: same disk, and not a tmpfs that
// would hold the files in memory), else one under the system's temporary
// directory.
func stagingDir(d dest.Destination) string {
	if sd, ok := d.(dest.StagingDirer); ok {
		return sd.StagingDir()
	}
	return filepath.Join(os.TempDir(), stagingDirName)
}

// prepareStaging creates r's staging directory when its sync loads after
// the fetch, and deletes the spool files that an earlier apply of the sync
// left when it stopped (the destination's lock is held: nothing else uses
// them).
func (e *Engine) prepareStaging(r *syncRun, sc *config.Sync) error {
	if sc.Load != config.LoadAfterFetch {
		return nil
	}
	dir := stagingDir(r.d)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create staging directory: %w (load = %q stages on local disk)", err, config.LoadAfterFetch)
	}
	left, _ := filepath.Glob(filepath.Join(dir, spoolPrefix(r.sp.Name)+"*.spool"))
	for _, f := range left {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("remove staged file of an earlier apply: %w", err)
		}
	}
	if len(left) > 0 {
		e.Log.Info("removed staged files an earlier apply left", "sync", r.sp.Name, "files", len(left))
	}
	r.stageDir = dir
	return nil
}

func spoolPrefix(syncName string) string { return syncName + "." }

// stagerFor returns how table n of r stages, or nil when r loads while
// fetching.
func (e *Engine) stagerFor(r *syncRun, n string) *stager {
	if r.stageDir == "" {
		return nil
	}
	mem := e.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &stager{dir: r.stageDir, name: spoolPrefix(r.sp.Name) + n, mem: mem}
}

// loadStaged writes what the group's sinks staged, once every sink is done.
// When ctx was cancelled (the user stopped the apply) the staged files are
// deleted instead: loading them could take minutes. A table whose load
// fails fails; when any load fails, every staged table of the group fails
// with it, uncommitted, since its state may count on the rows that were not
// loaded. It returns the first load error.
func (e *Engine) loadStaged(ctx, wctx context.Context, r *syncRun, group []string, sinks map[string]*tableSink) error {
	var staged []*tableSink
	var bytes int64
	for _, n := range group {
		s := sinks[n]
		if !s.staging() {
			continue
		}
		_ = s.Wait() // the sink's own error stays the table's
		staged = append(staged, s)
		if s.spool != nil {
			bytes += s.spool.Size()
		}
	}
	if len(staged) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		for _, s := range staged {
			if derr := s.discard(); derr != nil {
				e.Log.Warn("remove staged file", "table", s.t.Name, "err", derr)
			}
			s.fail(fmt.Errorf("staged rows not loaded: %w", err))
		}
		e.Log.Warn("apply stopped: staged rows not loaded; the next apply fetches them again", "sync", r.sp.Name)
		return err
	}
	// The fetch's memory goes back to the system before the load needs
	// the destination's.
	debug.FreeOSMemory()
	e.Log.Info("loading staged rows", "sync", r.sp.Name, "tables", len(staged), "bytes", bytes)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		from  string
	)
	for _, s := range staged {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loadSem <- struct{}{}
			err := s.load(wctx)
			<-e.loadSem
			if err != nil {
				err = fmt.Errorf("load staged rows: %w", err)
				s.fail(err)
				mu.Lock()
				if first == nil {
					first, from = err, s.t.Name
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		for _, s := range staged {
			if s.t.Name != from {
				s.fail(fmt.Errorf("state not committed: loading the staged rows of %s failed", from))
			}
		}
	}
	return first
}

// removeStagingDirs deletes the staging directories of the syncs that used
// one, when nothing is left in them.
func removeStagingDirs(runs map[string]*syncRun, log func(msg string, args ...any)) {
	done := map[string]bool{}
	for _, r := range runs {
		if r.stageDir == "" || done[r.stageDir] {
			continue
		}
		done[r.stageDir] = true
		if err := os.Remove(r.stageDir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			log("remove staging directory", "dir", r.stageDir, "err", err)
		}
	}
}
