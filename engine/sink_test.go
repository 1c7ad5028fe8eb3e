package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// loggingDest is a memDest that logs what its Writes receive, in order:
// "rows a,b,c" for a record (its ids), "state C" for a state, "flush",
// and "delete" for a MarkDeleted.
type loggingDest struct {
	*memDest
	mu  sync.Mutex
	log []string
}

func (d *loggingDest) note(s string) {
	d.mu.Lock()
	d.log = append(d.log, s)
	d.mu.Unlock()
}

func (d *loggingDest) Write(ctx context.Context, ns string, t *schema.Table, in <-chan dest.Batch) (dest.WriteStats, error) {
	out := make(chan dest.Batch)
	go func() {
		defer close(out)
		for b := range in {
			if b.Record != nil {
				ids := b.Record.Column(0).(*array.String)
				var vs []string
				for i := range ids.Len() {
					vs = append(vs, ids.Value(i))
				}
				d.note("rows " + strings.Join(vs, ","))
			}
			if b.State != nil {
				d.note("state " + b.State.Cursor)
			}
			if b.Flushed != nil {
				d.note("flush")
			}
			out <- b
		}
	}()
	return d.memDest.Write(ctx, ns, t, out)
}

func (d *loggingDest) MarkDeleted(ctx context.Context, ns string, t *schema.Table, keys arrow.RecordBatch, m dest.Mark, st *state.TableState) (int64, error) {
	d.note("delete")
	return d.memDest.MarkDeleted(ctx, ns, t, keys, m, st)
}

// TestSinkJoinsRecords: a sink hands the destination its small records
// joined, in order, and never moves rows past a state, a flush or a
// delete sent after them.
func TestSinkJoinsRecords(t *testing.T) {
	ctx := context.Background()
	tb := &schema.Table{Name: "issues", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.BinaryTypes.String, PrimaryKey: true},
		{Name: "title", Type: arrow.BinaryTypes.String},
		{Name: schema.ColDeletedAt, Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	}}
	d := &loggingDest{memDest: newMemDest()}
	if err := d.Migrate(ctx, "acme", []schema.TableChange{{Kind: schema.CreateTable, Table: tb}}, dest.MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := newTableSink(d, "acme", tb, true)
	s.mem = mem
	go s.run(ctx)
	next := 0
	rows := func(n int) {
		t.Helper()
		b := array.NewRecordBuilder(mem, tb.ArrowSchema())
		defer b.Release()
		for range n {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprint(next))
			b.Field(1).(*array.StringBuilder).Append("t")
			b.Field(2).AppendNull()
			next++
		}
		if err := s.Send(ctx, b.NewRecordBatch()); err != nil {
			t.Fatal(err)
		}
	}
	rows(2)
	rows(2)
	rows(1)
	if err := s.Checkpoint(ctx, state.TableState{Sync: "s", Table: "issues", Cursor: "c1"}); err != nil {
		t.Fatal(err)
	}
	rows(2)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows(1)
	rows(1)
	kb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}, nil))
	kb.Field(0).(*array.StringBuilder).Append("0")
	keys := kb.NewRecordBatch()
	kb.Release()
	if err := s.Delete(ctx, keys, time.Now(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	rows(2)
	s.Close()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	want := []string{"rows 0,1,2,3,4", "state c1", "rows 5,6", "flush", "rows 7,8", "delete", "rows 9,10"}
	if fmt.Sprint(d.log) != fmt.Sprint(want) {
		t.Errorf("destination received\n%q\nwant\n%q", d.log, want)
	}
	if s.stats.Inserted != 11 || s.stats.Deleted != 1 {
		t.Errorf("stats %+v, want 11 inserted and 1 deleted", s.stats)
	}
}
