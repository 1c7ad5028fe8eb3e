//go:build duckdb_arrow

// Package duckdb is the embedded DuckDB destination. Every namespace (source)
// is a DuckDB schema, every table a DuckDB table holding one row per key,
// and jsync's own bookkeeping lives in the _jsync schema:
//
//	_jsync.state    one row per (sync, table): cursor, extra cursors (JSON),
//	                last success, pinned custom-field column names (JSON)
//	_jsync.commits  one row per committed state change; the state serial is
//	                its row count (append-only, so concurrent table writers
//	                never conflict on a shared serial row)
//	_jsync.runs     one row per run of a table: status, error, timings, counts
//	_jsync.keys     the key columns of each table
//	_jsync."written:<schema>.<table>"
//	                the keys a Write appended since its last settle; empty
//	                outside its transactions
//	_jsync."pending:<schema>.<table>"
//	                a Replace's rows before they are merged into the new
//	                table (and a Write's, for a table with a PRIMARY KEY
//	                constraint); empty outside its transactions
//
// Record batches enter DuckDB through its Arrow C interface (duckdb-go's
// RegisterView, build tag duckdb_arrow). Rows commit in one transaction
// with the state that covers them (see Writing). Replace builds a staging
// table and swaps it in within one transaction, so readers see the old or
// the new content, never a mix.
//
// # Type mapping
//
//	Arrow                        DuckDB
//	bool                         BOOLEAN
//	int8/16/32/64                TINYINT/SMALLINT/INTEGER/BIGINT
//	uint8/16/32/64               UTINYINT/USMALLINT/UINTEGER/UBIGINT
//	float32/float64              FLOAT/DOUBLE
//	string, large_string         VARCHAR, or JSON when schema.Column.JSON
//	binary, large_binary         BLOB
//	date32, date64               DATE
//	timestamp (unit, tz != "")   TIMESTAMP WITH TIME ZONE (µs)
//	timestamp (unit, no tz)      TIMESTAMP (µs)
//	time32, time64               TIME
//	decimal128(p, s)             DECIMAL(p, s)
//	duration                     INTERVAL
//	list<T>, large_list<T>       T[]
//	fixed_size_list<T, n>        T[n]
//	struct<a: T, …>              STRUCT(a T, …)
//	map<K, V>                    MAP(K, V)
//
// JSON columns are DuckDB's JSON type: the text is stored as written, and a
// value that is not valid JSON fails its batch rather than being stored.
// They reach DuckDB as Arrow's JSON extension type, which DuckDB stores
// without parsing each value again (a VARCHAR to JSON cast did, at about
// a seventh of the write's time); jsync checks them itself (see feed).
// Every connection runs with TimeZone UTC.
//
// # Writing
//
// Tables carry no PRIMARY KEY constraint: DuckDB holds a constraint's ART
// index wholly in memory, so memory would grow with the data (tables that
// older versions created with one keep it and work the same). Keys stay
// unique because every write settles them. A Write appends its batches to
// the table, and their keys to the table's written-keys table, and commits
// them in groups: in one transaction, one join of the table with the
// written keys tells whether any key repeated; if one did, the older rows
// of the repeated keys are deleted. The written-keys table is emptied and
// the state of the group's last batch committed. A group ends with the
// batches (the engine ends them at each source checkpoint) or at mergeRows
// rows or mergeBytes bytes. Keys repeated within or across batches keep
// their last row. A batch that lacks some of the table's columns is merged
// on its own by UPDATE and INSERT, keeping the columns it lacks. DuckDB's
// memory_limit (DefaultMemoryLimit unless set, raised to WriteMemory of
// the tables being written) and a 64 MB checkpoint threshold keep memory
// flat: committed data is written out to the file and may be evicted.
// Appends run in parallel; settles, merges and commits take turns
// (beginMerge).
//
// While jsync has the file open for writing, DuckDB lets no other process
// open it, not even read-only: Open reports *InUseError naming the process
// (and the jsync apply-lock holder, if any), or waits up to
// Options.BusyTimeout.
package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bindings "github.com/duckdb/duckdb-go-bindings"
	duckdbdrv "github.com/duckdb/duckdb-go/v2"
	"golang.org/x/mod/semver"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/bytesize"
	"github.com/jsync-dev/jsync/engine/schema"
)

// MetaSchema is the DuckDB schema of jsync's own tables.
const MetaSchema = "_jsync"

// Options configures a DuckDB destination.
type Options struct {
	// Path is the database file. Its directory is created if missing.
	Path string
	// Schema, if set, is the DuckDB schema for every namespace. Empty means
	// each namespace (source) gets the schema of its own name.
	Schema string
	// ReadOnly opens the file read-only (for plan). Nothing is created, and
	// State reports an empty snapshot for a file jsync never wrote.
	ReadOnly bool
	// BusyTimeout is how long Open waits while another process holds the
	// file (DuckDB allows one process to open a file for writing). Zero
	// fails at once with *InUseError.
	BusyTimeout time.Duration
	// MemoryLimit is DuckDB's memory_limit for writing (e.g. "512MB").
	// Empty means DefaultMemoryLimit, raised for wide tables (see
	// WriteMemory).
	MemoryLimit string
	// StorageVersion is the DuckDB storage format of a database file this
	// destination creates ("v1.2.0"; see DefaultStorageVersion): the oldest
	// DuckDB that can read the file. An existing file keeps its format.
	StorageVersion string
}

// DefaultStorageVersion is the storage format of the database files jsync
// creates: DuckDB 1.2 and later read them. It is the oldest format with
// ZSTD for strings, which jsync uses for JSON columns (raw fields, rich
// text, changelog items): JSON compresses about four times better with it
// than with FSST, DuckDB's usual string compression, for about the same
// CPU (BENCHMARKS.md). Later formats also change the compression of the
// other columns (DICT_FSST), which cost about 30% more CPU per sync here.
const DefaultStorageVersion = "v1.2.0"

// zstdStrings is the first storage format with ZSTD for strings.
const zstdStrings = "v1.2.0"

// validStorageVersion reports whether v has the form of a DuckDB release,
// "v1.2.0". It goes into the connection string, so nothing else may.
func validStorageVersion(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v && semver.Prerelease(v) == ""
}

// DefaultMemoryLimit bounds DuckDB's buffer pool while jsync writes. jsync
// streams: its tables carry no in-memory key index, and uncommitted rows
// and data not yet checkpointed spill to a temporary directory beside the
// database, so a site of any size fits in it (see BENCHMARKS.md). What
// does not spill grows with the width of a table, not with its rows: when
// no limit is set, a Write raises the limit to WriteMemory of the tables
// being written if that is more.
const DefaultMemoryLimit = "192MB"

// defaultMemoryBytes is DefaultMemoryLimit in bytes.
var defaultMemoryBytes = func() int64 {
	b, err := bytesize.Parse(DefaultMemoryLimit)
	if err != nil {
		panic(err) // DefaultMemoryLimit is a constant
	}
	return b
}()

// WriteMemory is the memory_limit DuckDB needs to write tables of the
// given widths (columns, one entry per table) at the same time. Moving a
// group of rows from a pending table into a table (Replace) pins a block
// (256 KiB) of every column's data and validity in both tables, and
// DuckDB cannot evict pinned blocks: a 300-column table failed with "could
// not allocate block" under 320 MB. Only one merge, settle or commit runs
// at a time (see beginMerge), so the widest table needs its merge, 1.5 MB a
// column (about 1.3 MB measured); the others append meanwhile, 0.25 MB a
// column (five 100-column tables written at once passed with it on a
// loaded machine; without the merge turn three failed even at 400 MB).
// Plus 64 MB for everything else. A Write, which appends to the table
// itself, needs less; the sizing stays that of the merge.
// TestWideTableMemory checks it.
func WriteMemory(widths ...int) int64 {
	widest, sum := 0, 0
	for _, w := range widths {
		widest, sum = max(widest, w), sum+w
	}
	return 64<<20 + int64(widest)*(3<<19) + int64(sum-widest)*(1<<18)
}

// checkpointThreshold is how much WAL DuckDB gathers before a commit
// writes committed data into the database file. DuckDB checkpoints only
// when the committing transaction is the only one open, which is rare
// while several tables are written at once; the checkpoint gate
// (checkpointGate) makes such a moment once the WAL passes gateWAL. A low
// threshold checkpoints single-table writes and incremental runs early.
// Checkpoints forced between every few transactions cost more CPU than
// they save (see BENCHMARKS.md), hence the gate's larger threshold.
const checkpointThreshold = "64MB"

// allocatorFlushThreshold is DuckDB's
// allocator_bulk_deallocation_flush_threshold once jsync has written more
// than flushAfter in a process (noteWritten): a free of more than this at
// once (blocks evicted or dropped together, the end of a checkpoint) hands
// the memory freed so far back to the system.
//
// DuckDB allocates its blocks with its bundled jemalloc (Linux), which
// keeps freed pages resident for a while before returning them: 1 s of
// "dirty" decay in DuckDB 1.5, then as long again as "muzzy" pages
// (MADV_FREE), which still count as resident until the kernel is short of
// memory. A large sync churns through blocks faster than that: the pool
// is full, and blocks are evicted to the temporary directory and
// allocated again all the time. Measured with jemalloc's own statistics
// during 50,000- and 200,000-issue syncs: 20-130 MB of freed pages
// resident beside the 192 MB pool without a flush.
//
// So a writing process also skips the muzzy stage (skipMuzzyPages) and
// lets jemalloc's background thread purge on the decay's schedule
// (allocator_background_threads), off the threads that write. The flush
// then only bounds bursts. Until 2026-12 the threshold was 128 KiB, below
// a 256 KiB block, so that every block freed purged all freed memory: it
// kept the peak lowest, but DuckDB makes one arena per two cores, and each
// purge sent the whole arena's free pages back, to be faulted in and
// zeroed again at once. On 2 cores, 50,000 issues without latency, the
// builds alternating: 74.9 and 81.2 s at 495 and 492 MB peak RSS (2.0-2.1
// million page faults) with 128 KiB, against 53.3 and 58.1 s at 537 and
// 527 MB (1.0-1.1 million) now; 4 MiB alone 43.6-54.0 s at 577-601 MB,
// and with the background thread but muzzy pages kept 52.8-56.1 s at
// 567-582 MB (BENCHMARKS.md, twenty-third round). Where DuckDB uses
// another allocator these settings do nothing.
//
// Until flushAfter, DuckDB's own threshold applies: a small write does not
// fill the pool, so there is no churn to bound, and the flush would only
// cost page faults. Incremental runs of 500 changed issues on a
// 50,000-issue file took 4.8-5.4 s against 6.4-7.9 s with the flush from
// the start (BENCHMARKS.md, twenty-second round).
const allocatorFlushThreshold = "4MiB"

// flushAfter is the bytes (as Arrow holds them) a process writes before
// DuckDB's allocator flushes at allocatorFlushThreshold: a third of the
// default memory limit, so that a backfill switches in its first seconds,
// while an incremental run of a few hundred changed issues (tens of MB)
// keeps DuckDB's own threshold. A variable for the tests.
var flushAfter int64 = 64 << 20

// writeThreads is DuckDB's worker threads while jsync writes. jsync
// writes each table from its own connection, so its writes already run in
// parallel; DuckDB's workers on top of them only contend for the same
// cores (task queues, locks, context switches). Measured on 2 cores,
// 50,000 issues: 70.4 s and 71 s of CPU with one thread, against 81.0 s
// and 88.5 s with the default (one per core). Close restores the default
// first, so the final checkpoint uses every core.
const writeThreads = 1

// Destination writes to one DuckDB database file. It is safe for concurrent
// use; writes to different tables run in parallel transactions.
type Destination struct {
	db       *sql.DB
	path     string
	schema   string
	catalog  string // the database (catalog) name: the file name without its extension
	readOnly bool

	// idle holds the tables of finished Writes with their empty side
	// tables, by table, for the next Write of the table to reuse (creating
	// a table costs more than merging a few thousand rows). Close drops
	// the side tables.
	mu   sync.Mutex
	idle map[string]*pending

	// gate lets DuckDB checkpoint while tables are written
	// (checkpointGate).
	gate checkpointGate
	// checkpoints is the gate's checkpoint running, if any; held is the
	// bytes of records Writes hold meanwhile (inbox.hold).
	checkpoints sync.WaitGroup
	held        atomic.Int64

	// mergeMu lets one write transaction at a time run its merge and
	// commit (see beginMerge).
	mergeMu sync.Mutex

	// migrateMu runs one Migrate at a time: two syncs into one schema
	// start together, and DuckDB refuses the second of two concurrent
	// transactions that create the schema ("write-write conflict").
	migrateMu sync.Mutex

	// memMu guards memLimit, DuckDB's memory_limit in bytes, and writing,
	// the width of each table being written; autoMem says jsync sizes the
	// limit (Options.MemoryLimit was empty).
	memMu    sync.Mutex
	memLimit int64
	writing  map[*pending]int
	autoMem  bool
	// userLimit is Options.MemoryLimit as the user wrote it.
	userLimit string
	// written counts the bytes (as Arrow holds them) appended since Open;
	// flushing is set once DuckDB's allocator flushes at
	// allocatorFlushThreshold (noteWritten).
	written  atomic.Int64
	flushing atomic.Bool
	// zstdJSON is set when the file's storage format has ZSTD for strings:
	// JSON columns are then created with it (see DefaultStorageVersion).
	// In an older file ZSTD would leave them uncompressed.
	zstdJSON bool

	// beforeCommit, when set (tests only), runs inside every write
	// transaction after its statements and before COMMIT; an error aborts
	// the transaction as a crash at that point would.
	beforeCommit func(table string) error
}

var _ dest.Destination = (*Destination)(nil)

// InUseError reports that another process holds the database file.
type InUseError struct {
	Path string
	// PID is the holding process as DuckDB reported it, 0 if unknown.
	PID int
	// Holder is the jsync apply-lock holder recorded next to the file, if
	// any.
	Holder *dest.LockInfo
	Err    error
}

func (e *InUseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "database file %s is in use by another process", e.Path)
	if e.PID != 0 {
		fmt.Fprintf(&b, " (pid %d)", e.PID)
	}
	if e.Holder != nil {
		fmt.Fprintf(&b, "; the jsync apply lock is held by %s", e.Holder)
	}
	b.WriteString("; several processes can read a DuckDB file at once, but one writes it only while no other has it open: " +
		"wait for that process to finish or to close the file, or stop it")
	return b.String()
}

func (e *InUseError) Unwrap() error { return e.Err }

var lockPIDPattern = regexp.MustCompile(`\(PID (\d+)\)`)

// Open opens (creating if needed) the database file and jsync's _jsync
// tables. It returns *InUseError when another process holds the file for
// longer than opts.BusyTimeout, and a clear error for a corrupt or
// unwritable file.
func Open(ctx context.Context, opts Options) (*Destination, error) {
	deadline := time.Now().Add(opts.BusyTimeout)
	for {
		d, err := open(ctx, opts)
		if _, busy := errors.AsType[*InUseError](err); !busy || !time.Now().Before(deadline) {
			return d, err
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(err, ctx.Err())
		case <-time.After(min(busyPollInterval, time.Until(deadline))):
		}
	}
}

const busyPollInterval = 100 * time.Millisecond

func open(ctx context.Context, opts Options) (*Destination, error) {
	if opts.Path == "" {
		return nil, errors.New("open duckdb destination: empty path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("open duckdb destination %s: %w", opts.Path, err)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open duckdb destination %s: the path may not contain ? or #", path)
	}
	dsn := path
	version := cmp.Or(opts.StorageVersion, DefaultStorageVersion)
	if !validStorageVersion(version) {
		return nil, fmt.Errorf("open duckdb destination %s: storage version %q is not of the form v1.2.0", path, version)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open database file %s read-only: %w", path, err)
		}
		dsn += "?access_mode=read_only"
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the directory of database file %s: %w", path, err)
	} else {
		// Applies when DuckDB creates the file; an existing file keeps its
		// format.
		dsn += "?storage_compatibility_version=" + version
	}
	connector, err := duckdbdrv.NewConnector(dsn, initConn)
	if err != nil && strings.Contains(err.Error(), "storage_compatibility_version") {
		return nil, fmt.Errorf("open database file %s: storage version %q is not one DuckDB v%s can write: use the version of a DuckDB release from v0.10.0 to that one", path, version, strings.TrimPrefix(bindings.LibraryVersion(), "v"))
	}
	if err != nil {
		return nil, openError(path, opts.ReadOnly, err)
	}
	db := sql.OpenDB(connector)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(openError(path, opts.ReadOnly, err), db.Close())
	}
	d := &Destination{db: db, path: path, schema: opts.Schema, readOnly: opts.ReadOnly,
		autoMem: opts.MemoryLimit == "", memLimit: defaultMemoryBytes, userLimit: opts.MemoryLimit}
	d.gate.init()
	var format sql.NullString // the file's storage format, e.g. "v1.2.0+"
	if err := db.QueryRowContext(ctx, `SELECT current_database(), tags['storage_version'] FROM duckdb_databases()
		WHERE database_name = current_database()`).Scan(&d.catalog, &format); err != nil {
		return nil, errors.Join(openError(path, opts.ReadOnly, err), db.Close())
	}
	// DuckDB reports the format as "v1.2.0+".
	if v := strings.TrimSuffix(format.String, "+"); validStorageVersion(v) && semver.Compare(v, zstdStrings) >= 0 {
		d.zstdJSON = true
	}
	if !opts.ReadOnly {
		if _, err := db.ExecContext(ctx, "SET checkpoint_threshold = "+quoteString(checkpointThreshold)); err != nil {
			return nil, errors.Join(fmt.Errorf("configure %s: %w", path, err), db.Close())
		}
		limit := cmp.Or(opts.MemoryLimit, DefaultMemoryLimit)
		if _, err := db.ExecContext(ctx, "SET memory_limit = "+quoteString(limit)); err != nil {
			return nil, errors.Join(fmt.Errorf("configure %s: memory_limit %s: %w", path, limit, err), db.Close())
		}
		if _, err := db.ExecContext(ctx, "SET threads = "+strconv.Itoa(writeThreads)); err != nil {
			return nil, errors.Join(fmt.Errorf("configure %s: threads: %w", path, err), db.Close())
		}
		// See allocatorFlushThreshold. A tuning: should jemalloc refuse
		// it, its defaults stay (TestWriteSettings checks that it takes it).
		_, _ = skipMuzzyPages()
		if _, err := db.ExecContext(ctx, "SET allocator_background_threads = true"); err != nil {
			return nil, errors.Join(fmt.Errorf("configure %s: allocator background threads: %w", path, err), db.Close())
		}
		if err := d.bootstrap(ctx); err != nil {
			return nil, errors.Join(openError(path, opts.ReadOnly, err), db.Close())
		}
		if err := d.dropLeftovers(ctx); err != nil {
			return nil, errors.Join(fmt.Errorf("open database file %s: %w", path, err), db.Close())
		}
	}
	return d, nil
}

// initConn sets every connection's time zone to UTC, so TIMESTAMP WITH TIME
// ZONE values render, and convert to and from TIMESTAMP, in UTC whatever the
// host's zone.
func initConn(execer driver.ExecerContext) error {
	if _, err := execer.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil); err != nil {
		return fmt.Errorf("set time zone: %w", err)
	}
	return nil
}

// openError turns DuckDB's open failures into messages a user can act on.
func openError(path string, readOnly bool, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Could not set lock on file") || strings.Contains(msg, "Conflicting lock"):
		e := &InUseError{Path: path, Err: err}
		if m := lockPIDPattern.FindStringSubmatch(msg); m != nil {
			e.PID, _ = strconv.Atoi(m[1])
		}
		if h, ok := dest.ReadLockFile(path + ".lock"); ok {
			e.Holder = &h
		}
		return e
	case strings.Contains(msg, "not a valid DuckDB database file"),
		strings.Contains(msg, "Serialization Error"),
		strings.Contains(msg, "Corrupt"),
		strings.Contains(msg, "database file version"),
		strings.Contains(msg, "INTERNAL Error"):
		return fmt.Errorf("database file %s is corrupt or not a DuckDB database (move it away to start afresh): %w", path, err)
	case strings.Contains(msg, "Permission denied"),
		strings.Contains(msg, "Read-only file system"),
		strings.Contains(msg, "Not a directory"),
		strings.Contains(msg, "No such file or directory"),
		strings.Contains(msg, "Is a directory"):
		how := "writing"
		if readOnly {
			how = "reading"
		}
		return fmt.Errorf("cannot open database file %s for %s: %w", path, how, err)
	}
	return fmt.Errorf("open database file %s: %w", path, err)
}

// Path is the absolute path of the database file.
func (d *Destination) Path() string { return d.path }

// StagingDir is <path>.staging, beside the database file (DuckDB's own
// temporary directory is <path>.tmp).
func (d *Destination) StagingDir() string { return d.path + ".staging" }

// DB is the database handle, for queries over the synced tables (jsync
// query, tests). Callers must not write to jsync's tables through it.
func (d *Destination) DB() *sql.DB { return d.db }

// SchemaName is the DuckDB schema that holds namespace ns.
func (d *Destination) SchemaName(ns dest.Namespace) string {
	if d.schema != "" {
		return d.schema
	}
	return ns
}

// TableName is the quoted, schema-qualified name of table in namespace ns,
// ready for SQL.
// It is qualified by the database (catalog) name too: a file named
// acme.duckdb has a catalog "acme", and "acme"."issues" would be ambiguous
// with the schema "acme".
func (d *Destination) TableName(ns dest.Namespace, table string) string {
	return d.qualifiedSchema(ns) + "." + quoteIdent(table)
}

var _ dest.PlanWarner = (*Destination)(nil)

// PlanWarnings warns when the schema of namespace ns has the name of the
// database file (its catalog): DuckDB then refuses `schema.table` in
// readers' queries as ambiguous. jsync's own statements name the catalog.
func (d *Destination) PlanWarnings(ns dest.Namespace, tables []*schema.Table) []string {
	catalog := d.catalog
	if catalog == "" { // plan, before the file exists: DuckDB's naming
		catalog = strings.TrimSuffix(filepath.Base(d.path), filepath.Ext(d.path))
	}
	s := d.SchemaName(ns)
	if len(tables) == 0 || !strings.EqualFold(catalog, s) {
		return nil
	}
	return []string{fmt.Sprintf("the schema %s has the name of the database file %s: DuckDB reads %s.issues as ambiguous in your queries (write %s.%s.issues), so name the file differently or set schema = \"...\" in the destination block",
		s, filepath.Base(d.path), s, catalog, s)}
}

// qualifiedSchema is the quoted catalog.schema of namespace ns.
func (d *Destination) qualifiedSchema(ns dest.Namespace) string {
	return quoteIdent(d.catalog) + "." + quoteIdent(d.SchemaName(ns))
}

// Close closes the database. Uncommitted work is rolled back.
func (d *Destination) Close() error {
	d.checkpoints.Wait()
	d.mu.Lock()
	idle := d.idle
	d.idle = nil
	d.mu.Unlock()
	var errs []error
	for _, w := range idle {
		if err := w.dropSides(context.Background(), d.db); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return errors.Join(fmt.Errorf("close database file %s: %w", d.path, err), d.db.Close())
	}
	if !d.readOnly {
		// The checkpoint on close writes every table: let it use every
		// core. A failure only makes it slower.
		_, _ = d.db.Exec("RESET threads")
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close database file %s: %w", d.path, err)
	}
	return nil
}

// Lock takes the apply lock: an OS file lock on <path>.lock holding info as
// JSON. It is released when unlock is called or the process exits.
func (d *Destination) Lock(ctx context.Context, info dest.LockInfo, timeout time.Duration) (func() error, error) {
	unlock, err := dest.LockFile(ctx, d.path+".lock", info, timeout)
	if le, ok := errors.AsType[*dest.ErrLocked](err); ok {
		le.Path = d.path
		return nil, le
	}
	if err != nil {
		return nil, fmt.Errorf("lock database file %s: %w", d.path, err)
	}
	return unlock, nil
}

// withTx runs fn in a transaction on a dedicated connection. fn's error, or a
// beforeCommit hook error, rolls back. A connection whose rollback failed is
// discarded rather than returned to the pool with a transaction open.
func (d *Destination) withTx(ctx context.Context, table string, fn func(conn *sql.Conn) error) (err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer func() { err = joinCleanup(err, conn.Close()) }()
	return d.txOn(ctx, conn, table, func() error { return fn(conn) })
}

func (d *Destination) txOn(ctx context.Context, conn *sql.Conn, table string, fn func() error) error {
	return d.runTx(ctx, conn, func() error {
		if err := fn(); err != nil {
			return err
		}
		if d.beforeCommit != nil {
			return d.beforeCommit(table)
		}
		return nil
	})
}

// readTx runs fn in a read transaction, for a consistent snapshot.
func (d *Destination) readTx(ctx context.Context, fn func(conn *sql.Conn) error) (err error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("get connection: %w", err)
	}
	defer func() { err = joinCleanup(err, conn.Close()) }()
	return d.runTx(ctx, conn, func() error { return fn(conn) })
}

func (d *Destination) runTx(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		// A cancelled ctx can be reported after BEGIN ran: never pool a
		// connection whose transaction state is unknown.
		discard(conn)
		return fmt.Errorf("begin transaction: %w", err)
	}
	err := fn()
	if err == nil {
		// Every statement ran: commit even if ctx ends now, so that a
		// cancellation never makes the outcome ambiguous.
		_, err = conn.ExecContext(context.WithoutCancel(ctx), "COMMIT")
		if err == nil {
			return nil
		}
		err = fmt.Errorf("commit: %w", err)
	}
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
		discard(conn)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		// DuckDB reports an interrupted query as its own error; keep the
		// cause visible to errors.Is.
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// discard makes database/sql drop conn instead of pooling it.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

var viewSeq atomic.Uint64

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// timestampLiteral renders t as a TIMESTAMPTZ literal with µs precision.
func timestampLiteral(t time.Time) string {
	return "TIMESTAMPTZ " + quoteString(t.UTC().Format("2006-01-02 15:04:05.999999Z07:00"))
}

func checkTable(ns dest.Namespace, t *schema.Table) error {
	if ns == "" {
		return errors.New("empty namespace")
	}
	if t == nil || t.Name == "" {
		return errors.New("table without a name")
	}
	if ns == MetaSchema {
		return fmt.Errorf("namespace %s is reserved for jsync", MetaSchema)
	}
	return nil
}

// fitMemory counts w among the tables being written and raises DuckDB's
// memory_limit to their WriteMemory when jsync sizes it and the limit is
// lower. The limit never goes down while the destination is open. The
// returned func ends w's count. memory_limit is global to the database;
// it is set on the Write's own connection so that sizing never waits for
// the connection pool while holding memMu.
func (d *Destination) fitMemory(ctx context.Context, conn *sql.Conn, w *pending) (func(), error) {
	d.memMu.Lock()
	defer d.memMu.Unlock()
	if d.writing == nil {
		d.writing = map[*pending]int{}
	}
	d.writing[w] = len(w.cols)
	done := func() {
		d.memMu.Lock()
		delete(d.writing, w)
		d.memMu.Unlock()
	}
	if !d.autoMem {
		return done, nil
	}
	widths := d.widthsLocked()
	need := WriteMemory(widths...)
	if need <= d.memLimit {
		return done, nil
	}
	if _, err := conn.ExecContext(ctx, "SET memory_limit = "+quoteString(strconv.FormatInt(need>>20, 10)+"MiB")); err != nil {
		delete(d.writing, w)
		return nil, fmt.Errorf("raise memory_limit to %d MiB for tables of %v columns: %w", need>>20, widths, err)
	}
	d.memLimit = need
	return done, nil
}

// noteWritten counts n bytes appended. Once they pass flushAfter, it sets
// DuckDB's allocator to hand freed memory back at once
// (allocatorFlushThreshold): a write that large can fill the buffer pool
// and churn through it.
func (d *Destination) noteWritten(ctx context.Context, n int64) error {
	if d.written.Add(n) <= flushAfter || d.flushing.Swap(true) {
		return nil
	}
	if _, err := d.db.ExecContext(context.WithoutCancel(ctx), "SET allocator_bulk_deallocation_flush_threshold = "+quoteString(allocatorFlushThreshold)); err != nil {
		return fmt.Errorf("set the allocator flush threshold: %w", err)
	}
	return nil
}

// widthsLocked is the width of each table being written. memMu must be
// held.
func (d *Destination) widthsLocked() []int {
	widths := make([]int, 0, len(d.writing))
	for _, n := range d.writing {
		widths = append(widths, n)
	}
	return widths
}

// outOfMemory adds to a DuckDB out-of-memory error what the user can do
// about it. failed is the pending table of the Write that failed.
func (d *Destination) outOfMemory(err error, failed *pending) error {
	msg := err.Error()
	if !strings.Contains(msg, "Out of Memory") && !strings.Contains(msg, "could not allocate block") && !strings.Contains(msg, "failed to pin block") {
		return err
	}
	cols := len(failed.cols)
	d.memMu.Lock()
	widths := d.widthsLocked() // failed's among them until its Write returns
	d.memMu.Unlock()
	need := megabytes(WriteMemory(widths...))
	var hint string
	if d.autoMem {
		hint = fmt.Sprintf("DuckDB ran out of memory writing a table of %d columns with memory_limit sized by jsync (%d MB); set memory_limit in the destination block higher than that", cols, need)
	} else {
		hint = fmt.Sprintf("DuckDB ran out of the destination's memory_limit writing a table of %d columns; with the tables written beside it that needs about %d MB: %s", cols, need, raiseLimit(need))
	}
	// DuckDB's own advice is for its SQL users (SET threads, SET
	// memory_limit); jsync's replaces it.
	if i := strings.Index(msg, "Possible solutions:"); i > 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return &memoryError{err: err, msg: msg + "\n" + hint}
}

// joinCleanup joins the error of a cleanup step (closing a feed or a
// connection) to err, except when err already failed the connection: a
// connection discarded after a failure answers every later step with
// sql.ErrConnDone, which tells the user nothing.
func joinCleanup(err, cerr error) error {
	if err != nil && errors.Is(cerr, sql.ErrConnDone) {
		return err
	}
	return errors.Join(err, cerr)
}

// memoryError is a DuckDB out-of-memory error told in jsync's terms.
type memoryError struct {
	err error
	msg string
}

func (e *memoryError) Error() string { return e.msg }
func (e *memoryError) Unwrap() error { return e.err }

var _ dest.MemoryPlanner = (*Destination)(nil)

// PlanMemory warns, for the plan, of a table too wide for the default
// memory_limit: jsync will raise the limit, or, when the user set one
// below what the table needs, the sync would fail. It counts every table
// as written at once, so the figure is an upper bound.
func (d *Destination) PlanMemory(tables []*schema.Table) []string {
	var widest *schema.Table
	widths := make([]int, 0, len(tables))
	for _, t := range tables {
		widths = append(widths, len(t.Columns))
		if widest == nil || len(t.Columns) > len(widest.Columns) {
			widest = t
		}
	}
	if widest == nil || WriteMemory(len(widest.Columns)) <= defaultMemoryBytes {
		return nil
	}
	need := megabytes(WriteMemory(widths...))
	if d.autoMem {
		return []string{fmt.Sprintf("table %s has %d columns: while writing, jsync raises DuckDB's memory_limit to up to %d MB (set memory_limit in the destination block to choose another)", widest.Name, len(widest.Columns), need)}
	}
	limit, err := bytesize.Parse(d.userLimit)
	if err != nil || megabytes(limit) >= need {
		return nil
	}
	return []string{fmt.Sprintf("table %s has %d columns: writing it needs a memory_limit of about %d MB, and the destination sets %s, so the sync would fail: %s", widest.Name, len(widest.Columns), need, d.userLimit, raiseLimit(need))}
}

// megabytes rounds bytes up to DuckDB's megabytes (10^6 bytes).
func megabytes(b int64) int64 { return (b + 999_999) / 1_000_000 }

// raiseLimit is the advice for a memory_limit set below need megabytes.
func raiseLimit(need int64) string {
	return fmt.Sprintf("raise memory_limit in the destination block to at least \"%dMB\", or remove it to let jsync size it", need)
}

var _ dest.StagingDirer = (*Destination)(nil)
