// Package state holds the per-table sync state that destinations persist
// next to the data: cursors, last runs and pinned column names.
package state

import (
	"strings"
	"time"
)

// TableState is what jsync remembers about one (sync, table).
type TableState struct {
	Sync  string `json:"sync"`
	Table string `json:"table"`
	// Cursor is the incremental cursor (for issues: the largest `updated`
	// written, RFC 3339 in UTC). Empty means "never synced": the next run is
	// a full fetch.
	Cursor string `json:"cursor,omitempty"`
	// Extra holds resource-specific cursors, such as the last delete sweep.
	// Entries whose key starts with WrittenPrefix record which rows were
	// written; a reset (jsync state rm) keeps them, so that the next runs
	// still find the rows deleted in the source since.
	Extra map[string]string `json:"extra,omitempty"`
	// LastSuccess is when the last successful run of this table finished.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// PinnedColumns maps a Jira custom field id to the column name it was
	// first given, so renames in Jira never rename the column.
	PinnedColumns map[string]string `json:"pinned_columns,omitempty"`
}

// WrittenPrefix starts the Extra keys that a reset of the state keeps.
const WrittenPrefix = "written:"

// Reset is the state with its cursor forgotten (the next run fetches in
// full): it keeps the pinned column names and the record of rows written.
func (s TableState) Reset() TableState {
	out := TableState{Sync: s.Sync, Table: s.Table, PinnedColumns: s.PinnedColumns}
	for k, v := range s.Extra {
		if strings.HasPrefix(k, WrittenPrefix) {
			if out.Extra == nil {
				out.Extra = map[string]string{}
			}
			out.Extra[k] = v
		}
	}
	return out
}

// Key identifies a TableState.
func (s TableState) Key() string { return s.Sync + "." + s.Table }

// Run is one row of _jsync.runs.
type Run struct {
	ID         string    `json:"id"`
	Sync       string    `json:"sync"`
	Table      string    `json:"table"`
	Status     string    `json:"status"` // "success" | "failed" | "cancelled"
	Error      string    `json:"error,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Inserted   int64     `json:"inserted"`
	Updated    int64     `json:"updated"`
	Deleted    int64     `json:"deleted"`
	Requests   int64     `json:"requests"`
}

// Snapshot is the whole state of one destination.
type Snapshot struct {
	// Serial increases by one with every committed change of state. Plan
	// files record it to detect stale plans.
	Serial int64                  `json:"serial"`
	Tables map[string]*TableState `json:"tables"` // by TableState.Key()
}

// Get returns the state for (sync, table), or a zero state.
func (s *Snapshot) Get(sync, table string) TableState {
	if s != nil && s.Tables != nil {
		if t, ok := s.Tables[sync+"."+table]; ok {
			return *t
		}
	}
	return TableState{Sync: sync, Table: table}
}
