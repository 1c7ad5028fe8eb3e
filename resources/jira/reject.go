package jira

import (
	"context"
	"log/slog"
	"sync"
)

// Reject is a value or row the decoders could not represent in its typed
// column. Bad values are never dropped silently:
//
//   - a bad value in an ordinary column (a datetime without a zone, a string
//     where a number belongs…) sets that column to NULL, the row is still
//     written, and one Reject records the column and the raw JSON value; the
//     raw `fields` JSON of issues keeps the original as well (except in
//     the comment and worklog collections, which child tables hold);
//   - a row whose primary key or cursor column is missing or unreadable cannot
//     be written; it is rejected whole, with the raw JSON of the row.
//
// During a Sync, rejects go to the request's Rejects function (the engine
// keeps them in the _jsync_rejects table); outside one, or when the request
// has none, to Config.Rejects.
type Reject struct {
	Table string // table the value belongs to
	Key   string // primary key of the row, "" when unknown
	// Column is the column the value was meant for; empty for whole rows.
	Column string
	Reason string
	Raw    string // the raw JSON that could not be decoded
}

// RejectSink receives rejects. Implementations must be safe for concurrent use.
type RejectSink interface {
	Reject(ctx context.Context, r Reject)
}

// LogRejects logs every reject as a warning (the default sink). The raw value
// is logged truncated, since it may be a large document.
type LogRejects struct{ Logger *slog.Logger }

func (l LogRejects) Reject(ctx context.Context, r Reject) {
	raw := r.Raw
	if len(raw) > 200 {
		raw = raw[:200] + "…"
	}
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.WarnContext(ctx, "jira: value rejected", "table", r.Table, "key", r.Key, "column", r.Column, "reason", r.Reason, "raw", raw)
}

// RejectCollector keeps rejects in memory (tests, and the run summary).
type RejectCollector struct {
	mu      sync.Mutex
	rejects []Reject
}

func (c *RejectCollector) Reject(_ context.Context, r Reject) {
	c.mu.Lock()
	c.rejects = append(c.rejects, r)
	c.mu.Unlock()
}

// Rejects returns a copy of what was collected.
func (c *RejectCollector) Rejects() []Reject {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Reject(nil), c.rejects...)
}
