package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
)

// RejectsTable keeps rows a source received but could not type, with the raw
// payload and the reason, so that nothing is ever dropped silently.
const RejectsTable = "_jsync_rejects"

// RejectsSchema is the definition of the rejects table.
func RejectsSchema() *schema.Table {
	return &schema.Table{
		Name:        RejectsTable,
		Description: "Rows jsync received from the source but could not turn into typed rows: the raw payload and the reason. Never dropped silently.",
		Replication: schema.Incremental,
		Columns: []schema.Column{
			{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true, Description: "SHA-256 of table, key, reason and payload."},
			{Name: "table_name", Type: arrow.BinaryTypes.String, NotNull: true, Description: "The table the row was meant for."},
			{Name: "key", Type: arrow.BinaryTypes.String, Description: "The row's key as far as it could be read."},
			{Name: "reason", Type: arrow.BinaryTypes.String, NotNull: true, Description: "Why the row could not be typed."},
			{Name: "raw", Type: arrow.BinaryTypes.String, JSON: false, Description: "The raw payload as received."},
			{Name: schema.ColSource, Type: arrow.BinaryTypes.String, Description: "The source the row came from."},
			{Name: schema.ColSyncedAt, Type: arrow.FixedWidthTypes.Timestamp_us, Description: "When jsync received the row."},
		},
	}
}

// rejectWriter batches rejects into records for the rejects sink.
type rejectWriter struct {
	mu     sync.Mutex
	sink   *tableSink
	source string
	now    time.Time
	n      int64
}

func (w *rejectWriter) add(ctx context.Context, r source.Reject) error {
	if w == nil || w.sink == nil {
		return fmt.Errorf("reject in %s (%s): %s", r.Table, r.Key, r.Reason)
	}
	sum := sha256.Sum256([]byte(r.Table + "\x00" + r.Key + "\x00" + r.Reason + "\x00" + string(r.Raw)))
	t := RejectsSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.ArrowSchema())
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(hex.EncodeToString(sum[:]))
	b.Field(1).(*array.StringBuilder).Append(r.Table)
	b.Field(2).(*array.StringBuilder).Append(r.Key)
	b.Field(3).(*array.StringBuilder).Append(r.Reason)
	b.Field(4).(*array.StringBuilder).Append(string(r.Raw))
	b.Field(5).(*array.StringBuilder).Append(w.source)
	b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(w.now.UnixMicro()))
	rec := b.NewRecordBatch()
	w.mu.Lock()
	w.n++
	w.mu.Unlock()
	return w.sink.Send(ctx, rec)
}
