// Package source defines what the engine needs from a data source (the Jira
// resource in resources/jira implements it). It is a leaf package.
package source

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// Source is a configured, connected data source.
type Source interface {
	// Tables is the static catalogue: every table the source offers, with
	// the columns known without connecting (custom-field columns are added
	// by Discover). Used by `jsync tables`, validation and docs.
	Tables() []*schema.Table
	// Discover connects (serverInfo, myself, field catalogue) and returns the
	// tables with their dynamic columns. pinned maps table → field id →
	// column name already used in the destination, so renamed custom fields
	// keep their columns.
	Discover(ctx context.Context, pinned map[string]map[string]string) (*Discovery, error)
	// Estimate returns the approximate number of rows a sync of table from
	// st would fetch, or -1 when unknown. Used by plan only.
	Estimate(ctx context.Context, table string, st state.TableState) (int64, error)
	// Sync fetches the requested tables and streams them into their sinks.
	// It returns when every requested table is done or the first fatal
	// error. Errors for one table should not stop unrelated tables: the
	// returned error joins per-table errors (see TableError).
	Sync(ctx context.Context, req *SyncRequest) error
	// Requests reports the number of HTTP requests made so far, by table.
	Requests() map[string]int64
	Close() error
}

// Noter is implemented by sources that can say more about what an
// incremental sync of a table will do than its cursor: jsync plan shows
// the notes under the table.
type Noter interface {
	PlanNotes(table string, st state.TableState) []string
}

// WithParallelism caps the requests a source makes at once for everything
// it does under ctx: Discover, Estimate and Sync (jsync plan and apply
// -parallelism, when given). n <= 0 leaves the source's own bound.
func WithParallelism(ctx context.Context, n int) context.Context {
	if n <= 0 {
		return ctx
	}
	return context.WithValue(ctx, parallelismKey{}, n)
}

// ParallelismFrom returns the cap WithParallelism set on ctx, or 0.
func ParallelismFrom(ctx context.Context) int {
	n, _ := ctx.Value(parallelismKey{}).(int)
	return n
}

type parallelismKey struct{}

// Discovery is what a source learned by connecting.
type Discovery struct {
	Tables []*schema.Table
	// Info holds facts for the plan header, e.g. "deployment": "Cloud",
	// "version", "user", "time_zone".
	Info map[string]string
	// Warnings are shown by plan and apply (for example forbidden projects).
	Warnings []string
}

// SyncRequest lists what to fetch.
type SyncRequest struct {
	// Tables by name. A table whose Write is false is fetched only because a
	// selected child needs it; its rows are not written.
	Tables map[string]*TableRequest
	// Now is the run's reference time (for start_date defaults and
	// _jsync_synced_at).
	Now time.Time
	// Barrier blocks until everything sent to every sink of this sync has
	// been committed by the destination. Sources call it before
	// checkpointing a parent cursor that covers children rows.
	Barrier func(ctx context.Context) error
	// Rejects receives rows the source could not decode (see Reject). It is
	// never nil.
	Rejects func(ctx context.Context, r Reject) error
}

// Reject is a row the source received but could not turn into a typed row.
// It is kept in the destination's _jsync_rejects table with its raw payload,
// never dropped silently.
type Reject struct {
	Table  string
	Key    string
	Reason string
	Raw    []byte
}

// TableRequest is one table to fetch.
type TableRequest struct {
	Table *schema.Table // possibly projected to the selected columns
	Write bool
	State state.TableState
	// Full forces a full fetch, ignoring the cursor.
	Full bool
	Sink Sink
}

// Sink receives one table's data. Send blocks when the destination is
// behind (backpressure). Sinks take ownership of records and release them.
type Sink interface {
	// Send queues a record batch for upsert (incremental tables) or for the
	// replacement content (full-table tables).
	Send(ctx context.Context, rec arrow.RecordBatch) error
	// Delete marks the rows matching keys as deleted at `at` (rows marked
	// before keep their first time). keys carries the primary-key columns,
	// or other columns of the table (e.g. issue_id): a row matches when it
	// equals one of the records' rows on all of them. A non-zero
	// syncedBefore restricts the match to rows whose _jsync_synced_at is
	// before it, so rows the current run sent stay live. A later Send of a
	// row with a NULL deleted-at column makes it live again.
	Delete(ctx context.Context, keys arrow.RecordBatch, at, syncedBefore time.Time) error
	// Checkpoint commits st after everything sent before it on this sink,
	// atomically with the last batch where the destination allows.
	Checkpoint(ctx context.Context, st state.TableState) error
}

// TableError attributes an error to a table.
type TableError struct {
	Table string
	Err   error
}

func (e *TableError) Error() string { return e.Table + ": " + e.Err.Error() }
func (e *TableError) Unwrap() error { return e.Err }
