// Package dest defines what the engine needs from a destination. The
// implementations live in subpackages (dest/duckdb, dest/parquet) and all pass
// the shared conformance suite in dest/desttest.
package dest

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// Namespace groups the tables of one source (the DuckDB schema, the Parquet
// directory). By default it is the source name.
type Namespace = string

// Batch is one unit of work for Write: a record batch to upsert, and the
// state to commit atomically with it. Either may be nil.
type Batch struct {
	Record arrow.RecordBatch
	// State, if set, is committed in the same transaction as Record.
	State *state.TableState
	// Flushed, if set (Write only), asks the destination to commit what it
	// has received, this batch included, before it takes the next batch,
	// and then to send the commit's result on Flushed. Write answers every
	// Flushed it receives exactly once, also when it fails or is cancelled;
	// the caller answers those left in batches when Write returns.
	Flushed chan<- error
}

// Answer sends a commit's result to b.Flushed, if b has one.
func (b Batch) Answer(err error) {
	if b.Flushed != nil {
		b.Flushed <- err
	}
}

// MigrateOptions controls Migrate.
type MigrateOptions struct {
	// AllowIncompatible permits IncompatibleColumn changes (the column is
	// recreated and existing values are cast or lost).
	AllowIncompatible bool
}

// WriteStats counts what a write did.
type WriteStats struct {
	Inserted int64
	Updated  int64
	Deleted  int64
}

// Add returns the sum of s and o.
func (s WriteStats) Add(o WriteStats) WriteStats {
	return WriteStats{Inserted: s.Inserted + o.Inserted, Updated: s.Updated + o.Updated, Deleted: s.Deleted + o.Deleted}
}

// LockInfo names a lock holder.
type LockInfo struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Since time.Time `json:"since"`
	Op    string    `json:"op"`
}

func (l LockInfo) String() string {
	return fmt.Sprintf("pid %d on %s since %s (%s)", l.PID, l.Host, l.Since.Format(time.RFC3339), l.Op)
}

// ErrLocked is returned by Lock when another process holds the lock.
type ErrLocked struct {
	Holder LockInfo
	Path   string
}

func (e *ErrLocked) Error() string {
	return fmt.Sprintf("destination %s is locked by %s", e.Path, e.Holder)
}

// Mark says when rows were seen deleted (At) and, optionally, that only
// rows last synced before SyncedBefore are marked: the children of a
// re-read issue that the run did not write again are gone from Jira.
type Mark struct {
	At           time.Time
	SyncedBefore time.Time
}

// Destination is everything the engine needs from a place that stores data.
// Every method that does I/O takes ctx first. Implementations must be safe
// for concurrent Write/Replace calls on different tables.
type Destination interface {
	// PlanMigrations reports the schema changes needed to make the
	// destination match tables. It changes nothing.
	PlanMigrations(ctx context.Context, ns Namespace, tables []*schema.Table) ([]schema.TableChange, error)
	// Migrate applies changes from PlanMigrations. Incompatible changes fail
	// unless opts.AllowIncompatible.
	Migrate(ctx context.Context, ns Namespace, changes []schema.TableChange, opts MigrateOptions) error
	// Write upserts every batch by primary key until batches is closed. Each
	// batch's record and state commit together, or not at all. The
	// destination releases every Batch.Record it receives, also on error. On
	// error Write returns without draining batches; the caller drains it.
	// Records carrying every column of the table take the fastest path.
	Write(ctx context.Context, ns Namespace, t *schema.Table, batches <-chan Batch) (WriteStats, error)
	// Replace replaces the table's whole content with the batches, atomically:
	// readers see either the old or the new content. The final state is
	// committed with the new content.
	Replace(ctx context.Context, ns Namespace, t *schema.Table, batches <-chan Batch) (WriteStats, error)
	// MarkDeleted sets ColDeletedAt=at on the rows keys selects that are
	// not marked yet (the first deletion time is kept), commits st with it
	// atomically and returns how many rows it newly marked. The table must
	// have ColDeletedAt. The columns of keys decide what matches (see
	// MatchColumns): a record with exactly the primary-key columns selects
	// rows by key; any other set of the table's scalar columns (a child
	// table's issue_id, say; no primary key needed) selects every row whose
	// values equal one record row in all of them, NULLs matching nothing. An
	// unknown column or a wrong type is an error. With m.SyncedBefore set,
	// only rows whose ColSyncedAt is before it match: rows written by the
	// current run are left alone. keys may be nil (then only st is
	// committed) and stays owned by the caller.
	MarkDeleted(ctx context.Context, ns Namespace, t *schema.Table, keys arrow.RecordBatch, m Mark, st *state.TableState) (int64, error)
	// State reads the committed state.
	State(ctx context.Context) (*state.Snapshot, error)
	// CommitState commits table states (without data) and increments the
	// serial.
	CommitState(ctx context.Context, states ...*state.TableState) error
	// RecordRun appends a run to the run log (_jsync.runs).
	RecordRun(ctx context.Context, run state.Run) error
	// Lock takes the destination's exclusive apply lock, waiting up to
	// timeout. It returns *ErrLocked when another holder keeps it.
	Lock(ctx context.Context, info LockInfo, timeout time.Duration) (unlock func() error, err error)
	Close() error
}

// A MemoryPlanner is a Destination that can tell, before a sync, what
// writing its tables will ask of memory. PlanMemory returns the warnings
// for the plan (none when the tables fit the destination's defaults).
type MemoryPlanner interface {
	PlanMemory(tables []*schema.Table) []string
}

// A PlanWarner is a Destination with warnings for the plan about the
// tables a sync will write into namespace ns: a layout that the
// configuration sets when a table is created and that will stay as it is
// (Parquet's partitioning), or names that readers will find ambiguous.
type PlanWarner interface {
	PlanWarnings(ns Namespace, tables []*schema.Table) []string
}

// A StagingDirer is a Destination that names a local directory for the
// files a sync stages before loading them (load = "after_fetch"): next to
// its data, on the same disk. The engine creates it and removes it when
// empty.
type StagingDirer interface {
	StagingDir() string
}

// RecordBytes is the size of rec's buffers (shared buffers counted once per
// use), for destinations that bound what they gather; 0 for nil.
func RecordBytes(rec arrow.RecordBatch) int64 {
	if rec == nil {
		return 0
	}
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
	}
	for _, c := range rec.Columns() {
		walk(c.Data())
	}
	return n
}

// CheckPartitionType reports whether a column of type t can partition a
// table into Hive directories, whose values must read back exactly:
// strings and integers do; floats and timestamps would depend on their
// formatting.
func CheckPartitionType(t arrow.DataType) error {
	if arrow.IsInteger(t.ID()) || t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING {
		return nil
	}
	return fmt.Errorf("partition column has type %s; use a string or integer column", t)
}
