package parquet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

var _ dest.Destination = (*Destination)(nil)

// Options configures a Parquet destination.
type Options struct {
	// Path is the root directory. It is created if missing.
	Path string
	// PartitionBy maps a table name to its Hive partition column, for
	// example {"issues": "project_key"}. The column stays in the files too.
	PartitionBy map[string]string
	// Compression is the Parquet codec: "zstd" (default), "snappy", "gzip",
	// "lz4" or "none".
	Compression string
	// BucketWidth is the key range per file of an unpartitioned incremental
	// table with a single integer key, or text key of decimal numbers.
	// Zero means DefaultBucketWidth; -1 uses hash buckets instead. It is
	// fixed when the table is created.
	BucketWidth int64
	// Buckets is the number of primary-key hash buckets (files) of an
	// unpartitioned incremental table with any other key. Zero means
	// DefaultBuckets. It is fixed when the table is created.
	Buckets int
	// Allocator is used for Arrow memory; nil means the Go allocator.
	Allocator memory.Allocator
}

// Bucketing defaults, measured by BenchmarkUpsert: 200 changed issues in
// a 200k-row, 45-column table loaded in 10k-row commits; CPU time per run
// and rows rewritten, on the 2-core build machine:
//
//	layout       recent (newest 5% of ids)   mixed (80% recent, 20% any)
//	one bucket    412 ms, 10k rows rewritten  3804 ms, 200k
//	hash-8        581 ms, 10k                 3577 ms, 160k
//	range-10k     439 ms, 10k                 4313 ms, 180k
//	range-25k     257 ms, 10k                 3018 ms, 173k
//	range-100k    331 ms, 10k                 2965 ms, 200k
//
// Because new keys go to new files and updates stay in the file holding the
// key, recent changes hit the small recent files under every layout. Old
// keys are spread over the old files, so a run that touches 40 random old
// issues rewrites most of the table under any layout (Parquet cannot delete
// a row without rewriting its file). Key ranges still bound every file and
// every compaction to one range; 25k ids keeps files at ~2.5 MB of wide
// issues. Hash buckets bound them likewise for other keys.
const (
	// DefaultBucketWidth is the key range per file for integer keys.
	DefaultBucketWidth = 25_000
	// DefaultBuckets is the hash bucket count for other keys.
	DefaultBuckets = 8
)

// Destination is a directory of Parquet files plus a manifest and state in
// <path>/_jsync. It implements dest.Destination.
type Destination struct {
	root  string
	opts  Options
	codec compress.Compression
	mem   memory.Allocator
	// rowGroupRows is rowGroupRows except in benchmarks.
	rowGroupRows int64
	// groupRows and groupBytes are groupRows and groupBytes except in
	// tests.
	groupRows, groupBytes int64

	mu  sync.Mutex // guards man and every commit
	man *manifest

	tableMu sync.Map // tableKey → *sync.Mutex: one writer per table at a time

	keysMu sync.Mutex
	keys   map[string]map[string]keySet // file ID → column set (keySetName) → hashes (files are immutable)

	unlock func() error // set between Lock and unlock

	// unfinished is set while the last commit's renames and removals are
	// not all done (rollForward failed after the commit point): the next
	// commit finishes them first, since its manifest no longer lists them.
	unfinished bool

	// Test hooks. beforeCommit runs after the data files are durable and
	// before the manifest swap; an error aborts the commit (a crash before
	// the commit point). afterManifest runs right after the swap; an error
	// stops before the renames (a crash after the commit point).
	beforeCommit  func() error
	afterManifest func() error
	// crashPoint, when set, is called at every step of the commit protocol
	// where a crash leaves a distinct on-disk state; the SIGKILL test kills
	// the process there.
	crashPoint func(step string)
}

func (d *Destination) crash(step string) {
	if d.crashPoint != nil {
		d.crashPoint(step)
	}
}

func (d *Destination) metaDir() string      { return filepath.Join(d.root, "_jsync") }
func (d *Destination) tmpDir() string       { return filepath.Join(d.metaDir(), "tmp") }
func (d *Destination) manifestPath() string { return filepath.Join(d.metaDir(), "manifest.json") }
func (d *Destination) statePath() string    { return filepath.Join(d.metaDir(), "state.json") }
func (d *Destination) lockPath() string     { return filepath.Join(d.metaDir(), "lock") }
func (d *Destination) runsPath() string     { return filepath.Join(d.metaDir(), "runs.jsonl") }

// Open opens or creates the destination at opts.Path. It finishes the
// renames of a commit interrupted by a crash; removing garbage left by a
// crash waits for Lock, because another process may be writing.
func Open(ctx context.Context, opts Options) (*Destination, error) {
	if opts.Path == "" {
		return nil, errors.New("parquet destination: path is empty")
	}
	codec, err := parseCompression(opts.Compression)
	if err != nil {
		return nil, err
	}
	if opts.Buckets < 0 {
		return nil, fmt.Errorf("parquet destination: buckets must be >= 0, got %d", opts.Buckets)
	}
	if opts.BucketWidth < -1 {
		return nil, fmt.Errorf("parquet destination: bucket width must be >= -1, got %d", opts.BucketWidth)
	}
	root, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("parquet destination %s: %w", opts.Path, err)
	}
	d := &Destination{root: root, opts: opts, codec: codec, mem: opts.Allocator, keys: map[string]map[string]keySet{}, rowGroupRows: rowGroupRows,
		groupRows: groupRows, groupBytes: groupBytes}
	if d.mem == nil {
		d.mem = memory.DefaultAllocator
	}
	if err := os.MkdirAll(d.tmpDir(), 0o755); err != nil {
		return nil, fmt.Errorf("parquet destination %s is not writable: %w", root, err)
	}
	if err := checkWritable(d.tmpDir()); err != nil {
		return nil, fmt.Errorf("parquet destination %s is not writable: %w", root, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := readManifest(d.manifestPath())
	if err != nil {
		return nil, fmt.Errorf("parquet destination %s: %w", root, err)
	}
	d.man = m
	// Without the lock only the renames are safe to finish: a removal could
	// race with a newer commit of another process that reuses the path.
	if err := d.rollForward(m, false); err != nil {
		return nil, fmt.Errorf("parquet destination %s: finish interrupted commit: %w", root, err)
	}
	return d, nil
}

func parseCompression(s string) (compress.Compression, error) {
	switch strings.ToLower(s) {
	case "", "zstd":
		return compress.Codecs.Zstd, nil
	case "snappy":
		return compress.Codecs.Snappy, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "lz4", "lz4_raw":
		return compress.Codecs.Lz4Raw, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("parquet destination: unknown compression %q (want zstd, snappy, gzip, lz4 or none)", s)
}

// StagingDir is _jsync/staging under the destination's directory.
func (d *Destination) StagingDir() string { return filepath.Join(d.root, "_jsync", "staging") }

// Close releases the lock if it is still held.
func (d *Destination) Close() error {
	d.mu.Lock()
	unlock := d.unlock
	d.mu.Unlock()
	if unlock != nil {
		return unlock()
	}
	return nil
}

func (d *Destination) tableLock(key string) func() {
	v, _ := d.tableMu.LoadOrStore(key, &sync.Mutex{})
	m := v.(*sync.Mutex)
	m.Lock()
	return m.Unlock
}

// State returns the committed state.
func (d *Destination) State(ctx context.Context) (*state.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	snap := d.man.clone().State
	return &snap, nil
}

// CommitState commits table states without data.
func (d *Destination) CommitState(ctx context.Context, states ...*state.TableState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.commit(ctx, &commitReq{states: states})
}

// RecordRun upserts run by ID into <path>/_jsync/runs.jsonl, one JSON
// object per line. A new run is appended; a run already logged (the same
// run, finished later) is replaced by rewriting the file atomically.
func (d *Destination) RecordRun(ctx context.Context, run state.Run) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("encode run %s: %w", run.ID, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	raw, err := os.ReadFile(d.runsPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read run log: %w", err)
	}
	lines := bytes.Split(bytes.TrimRight(raw, "\n"), []byte("\n"))
	for i, l := range lines {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(l, &r) == nil && r.ID == run.ID {
			lines[i] = line
			out := append(bytes.Join(lines, []byte("\n")), '\n')
			if err := writeFileAtomic(d.runsPath(), out); err != nil {
				return fmt.Errorf("record run %s: %w", run.ID, err)
			}
			return nil
		}
	}
	f, err := os.OpenFile(d.runsPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open run log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("record run %s: %w", run.ID, err)
	}
	return nil
}

// Lock takes <path>/_jsync/lock (dest.LockFile: flock plus JSON holder
// info). After taking it, Lock reloads the manifest (another process may
// have committed), finishes an interrupted commit and removes the garbage a
// crash left behind.
func (d *Destination) Lock(ctx context.Context, info dest.LockInfo, timeout time.Duration) (func() error, error) {
	release, err := dest.LockFile(ctx, d.lockPath(), info, timeout)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m, err := readManifest(d.manifestPath())
	if err == nil {
		d.man = m
		err = d.rollForward(m, true)
	}
	if err == nil {
		err = d.collectGarbage(m)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("parquet destination %s: recover after lock: %w", d.root, err), release())
	}
	var once sync.Once
	unlock := func() error {
		var err error
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.unlock = nil
			err = release()
		})
		return err
	}
	d.unlock = unlock
	return unlock, nil
}

// makeDirs creates the directories the renames move files into, where
// missing, with durable directory entries.
func (d *Destination) makeDirs(renames []rename) error {
	made := map[string]bool{}
	for _, r := range renames {
		dir := filepath.Dir(relPath(d.root, r.To))
		if made[dir] {
			continue
		}
		made[dir] = true
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", r.To, err)
		}
		for p := dir; p != d.root && strings.HasPrefix(p, d.root); p = filepath.Dir(p) {
			if err := syncDir(filepath.Dir(p)); err != nil {
				return err
			}
		}
	}
	return nil
}

// rollForward finishes the renames and, if removals, the removals of the
// last commit. It is idempotent: a rename whose source is gone was already
// done.
func (d *Destination) rollForward(m *manifest, removals bool) error {
	dirs := map[string]bool{}
	for _, r := range m.Pending {
		from, to := relPath(d.root, r.From), relPath(d.root, r.To)
		if _, err := os.Stat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		dir := filepath.Dir(to)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			// The new directory's own entry must be durable too.
			for p := dir; p != d.root && strings.HasPrefix(p, d.root); p = filepath.Dir(p) {
				dirs[filepath.Dir(p)] = true
			}
		}
		if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s into place: %w", r.To, err)
		}
		dirs[dir] = true
		d.crash("renamed " + r.To)
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	if !removals {
		return nil
	}
	for _, rel := range m.Remove {
		p := relPath(d.root, rel)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove superseded %s: %w", rel, err)
		}
		removeEmptyDir(filepath.Dir(p))
		d.crash("removed " + rel)
	}
	return nil
}

// collectGarbage removes what a crash left behind: temporary files, and
// part files in table directories that the manifest does not list. It must
// run under the lock, after rollForward.
func (d *Destination) collectGarbage(m *manifest) error {
	entries, err := os.ReadDir(d.tmpDir())
	if err != nil {
		return fmt.Errorf("list %s: %w", d.tmpDir(), err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(d.tmpDir(), e.Name())); err != nil {
			return fmt.Errorf("remove temporary %s: %w", e.Name(), err)
		}
	}
	// Temporary manifests and state mirrors of an interrupted writeFileAtomic.
	metas, err := os.ReadDir(d.metaDir())
	if err != nil {
		return fmt.Errorf("list %s: %w", d.metaDir(), err)
	}
	for _, e := range metas {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-") {
			if err := os.Remove(filepath.Join(d.metaDir(), e.Name())); err != nil {
				return fmt.Errorf("remove temporary %s: %w", e.Name(), err)
			}
		}
	}
	for _, t := range m.Tables {
		live := map[string]bool{}
		for _, f := range t.Files {
			live[f.Path] = true
		}
		dir := relPath(d.root, path.Join(t.Namespace, t.Name))
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if e.IsDir() || !isPartFile(e.Name()) {
				return nil
			}
			rel, err := filepath.Rel(d.root, p)
			if err != nil {
				return err
			}
			if !live[filepath.ToSlash(rel)] {
				if err := os.Remove(p); err != nil {
					return fmt.Errorf("remove orphan %s: %w", rel, err)
				}
				removeEmptyDir(filepath.Dir(p))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("clean table %s.%s: %w", t.Namespace, t.Name, err)
		}
	}
	return nil
}

func isPartFile(name string) bool {
	return strings.HasPrefix(name, "part-") && strings.HasSuffix(name, ".parquet")
}

// removeEmptyDir removes dir if it is an empty Hive partition directory.
func removeEmptyDir(dir string) {
	if strings.Contains(filepath.Base(dir), "=") {
		_ = os.Remove(dir) // fails harmlessly when not empty
	}
}

// commitReq is one atomic change: new table entries (with their new files
// already durable in _jsync/tmp) and states.
type commitReq struct {
	tables  []*tableEntry // replace these entries (by namespace/name)
	renames []rename      // tmp → final for new file contents
	remove  []string      // files no longer live
	states  []*state.TableState

	// committed is set once the manifest swap succeeded. From then on the
	// temporary files belong to the committed manifest and must not be
	// cleaned up, even if a later step fails.
	committed bool
}

// discard removes the temporary files of a request that did not commit.
func (d *Destination) discard(req *commitReq) {
	if req.committed {
		return
	}
	for _, r := range req.renames {
		_ = os.Remove(relPath(d.root, r.From))
	}
}

// commit swaps in a new manifest holding req, then moves the new files into
// place and removes superseded ones. The manifest swap is the commit point:
// a crash before it leaves the previous dataset, a crash after it is
// finished by the next Open or Lock.
func (d *Destination) commit(ctx context.Context, req *commitReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.unfinished {
		// The manifest about to replace the last one would no longer list
		// its renames: finish them, or commit nothing.
		if err := d.rollForward(d.man, true); err != nil {
			return fmt.Errorf("finish commit %d first: %w", d.man.Version, err)
		}
		d.unfinished = false
	}
	// The new files' directory entries must be durable before the manifest
	// that refers to them, and their directories must exist: a directory
	// that cannot be made (a name too long, no permission) fails the commit
	// here, before its commit point, not the renames after it.
	if len(req.renames) > 0 {
		if err := syncDir(d.tmpDir()); err != nil {
			return err
		}
		if err := d.makeDirs(req.renames); err != nil {
			return err
		}
	}
	d.crash("before manifest")
	if d.beforeCommit != nil {
		if err := d.beforeCommit(); err != nil {
			return err
		}
	}
	m := d.man.clone()
	m.Version++
	var dropped []string // content ids that stop being live
	for _, t := range req.tables {
		k := tableKey(t.Namespace, t.Name)
		if old, ok := m.Tables[k]; ok {
			live := map[string]bool{}
			for _, f := range t.Files {
				live[f.ID] = true
			}
			for _, f := range old.Files {
				if !live[f.ID] {
					dropped = append(dropped, f.ID)
				}
			}
		}
		m.Tables[k] = t
	}
	if len(req.states) > 0 {
		m.State.Serial++
		for _, s := range req.states {
			if s == nil {
				continue
			}
			c := *s
			c.Extra = maps.Clone(s.Extra)
			c.PinnedColumns = maps.Clone(s.PinnedColumns)
			m.State.Tables[c.Key()] = &c
		}
	}
	m.Pending = req.renames
	// A path that gets new content by rename must not be removed after it.
	target := map[string]bool{}
	for _, r := range req.renames {
		target[r.To] = true
	}
	for _, p := range req.remove {
		if !target[p] {
			m.Remove = append(m.Remove, p)
		}
	}
	sort.Slice(m.Pending, func(i, j int) bool { return m.Pending[i].To < m.Pending[j].To })
	if err := writeManifest(d.manifestPath(), m); err != nil {
		return err
	}
	d.man = m
	req.committed = true
	d.unfinished = len(m.Pending) > 0 || len(m.Remove) > 0
	d.keysMu.Lock()
	for _, id := range dropped {
		delete(d.keys, id) // with every column set cached for the file
	}
	d.keysMu.Unlock()
	d.crash("after manifest")
	if d.afterManifest != nil {
		if err := d.afterManifest(); err != nil {
			return err
		}
	}
	if err := d.rollForward(m, true); err != nil {
		return fmt.Errorf("after commit %d (the next commit or open finishes it): %w", m.Version, err)
	}
	d.unfinished = false
	if len(req.states) > 0 {
		if err := d.writeStateMirror(m); err != nil {
			return err
		}
	}
	return nil
}

// writeStateMirror writes state.json, a readable copy of the committed
// state. manifest.json is authoritative; the mirror may lag it by one
// commit after a crash.
func (d *Destination) writeStateMirror(m *manifest) error {
	raw, err := json.MarshalIndent(m.State, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := writeFileAtomic(d.statePath(), raw); err != nil {
		return fmt.Errorf("write state mirror: %w", err)
	}
	return nil
}

// table returns a copy of the committed entry of (ns, name), or nil.
func (d *Destination) table(ns, name string) *tableEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.man.Tables[tableKey(ns, name)]; ok {
		return e.clone()
	}
	return nil
}

var _ dest.StagingDirer = (*Destination)(nil)

var _ dest.PlanWarner = (*Destination)(nil)

// PlanLayout warns of incremental tables whose partition_by changed since
// they were created: they keep their layout (a full table adopts the new
// one when it is next replaced).
func (d *Destination) PlanWarnings(ns dest.Namespace, tables []*schema.Table) []string {
	var out []string
	for _, t := range tables {
		e := d.table(ns, t.Name)
		want := d.opts.PartitionBy[t.Name]
		if e == nil || e.PartitionBy == want || t.Replication != schema.Incremental {
			continue
		}
		was, now := "not partitioned", "partition_by "+strconv.Quote(want)
		if e.PartitionBy != "" {
			was = "partitioned by " + strconv.Quote(e.PartitionBy)
		}
		if want == "" {
			now = "no partition_by"
		}
		out = append(out, fmt.Sprintf("table %s is %s in %s, and the configuration has %s: an incremental table keeps the layout it was created with; to change it, sync into a new destination directory (docs/parquet.md)",
			t.Name, was, d.root, now))
	}
	return out
}
