package duckdb

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"

	"github.com/jsync-dev/jsync/dest"
)

// DuckDB checkpoints (writes committed data into the database file and
// empties the WAL) only at a commit that finds no other write transaction
// open. A sync writes each table in its own long transaction (see Write),
// so during a large first sync that moment never comes, and what the
// tables commit waits in the WAL and, evicted from the buffer pool, in the
// temporary directory until the final checkpoint. Measured at 200,000
// issues: 3.5-3.9 GB of WAL and temporary files at the peak, for a
// 0.54 GB file.
//
// The checkpoint gate makes that moment. When a Write's commit finds the
// WAL past gateWAL bytes, the gate asks for a checkpoint: no Write begins a
// transaction, and each open one ends its group at its next batch, or at
// once if it is waiting for one. Its rows commit early, which is safe,
// since a state only ever follows its rows. The last one out runs
// CHECKPOINT, unless its own commit already checkpointed. Then the Writes
// go on. Measured at 200,000 issues, alternating with the same build
// without the gate, 3 runs each: 0.96-0.97 GB of WAL and temporary files
// at the peak instead of 3.5-3.9 GB, the same rows, and the same wall time
// (115, 126 and 121 s against 122, 117 and 119 s), peak RSS (545-553 MB
// against 545-560 MB) and file size (0.47-0.54 GB). A file checkpointed in
// parts compresses a little worse: 129-138 MiB against 109-120 MiB at
// 50,000 issues. There, gating at 64 and 128 MB of WAL cost 16% and 7% of
// wall time, and at 256 MB nothing measurable (BENCHMARKS.md, fourteenth
// round). Other transactions (Replace, MarkDeleted, states alone) are
// short and not gated; if one is open, DuckDB declines the CHECKPOINT, and
// the next commit past gateWAL asks again. A Write's own statements outside
// its transactions are gated (outsideCheckpoint).
//
// While a checkpoint is asked for and runs, the Writes go on receiving
// their batches and hold them (up to holdBytes together), and write them
// once it is done: otherwise the source, whose sends wait for the writers,
// stops fetching for as long as the checkpoint lasts. The checkpoint runs
// on a goroutine of its own, so that no Write is busy with it. At 20,000
// issues with 150 ms of latency the fetch stood still for 1.5-1.8 s
// during each checkpoint (BENCHMARKS.md, twenty-fifth round).
type checkpointGate struct {
	mu   sync.Mutex
	open int // Write transactions open
	// asked is closed while a checkpoint is asked for; ran is closed once
	// it has run (or was not needed). New channels replace both then.
	asked, ran chan struct{}
	pending    bool
}

// gateWAL is the WAL size past which a Write's commit asks for a
// checkpoint. A variable for tests.
var gateWAL int64 = 256 << 20

func (g *checkpointGate) init() {
	g.asked, g.ran = make(chan struct{}), make(chan struct{})
}

// running returns the channel closed once the checkpoint asked for has
// run, or nil when none is asked for.
func (g *checkpointGate) running() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.pending {
		return nil
	}
	return g.ran
}

// enter waits while a checkpoint is asked for, then counts a Write
// transaction open. The wait does not watch the Write's ctx: it ends once
// the open transactions have ended their groups (each does at its next
// batch, at once when waiting, or on its own ctx) and the checkpoint ran. It returns the channel that is closed when a
// checkpoint is asked for: the transaction then ends its group.
func (g *checkpointGate) enter() <-chan struct{} {
	for {
		g.mu.Lock()
		if !g.pending {
			g.open++
			asked := g.asked
			g.mu.Unlock()
			return asked
		}
		ran := g.ran
		g.mu.Unlock()
		<-ran
	}
}

// exit ends a Write transaction that enter counted, once it has committed
// or rolled back. It asks for a checkpoint when the WAL is past gateWAL,
// and the last transaction out of an asked-for checkpoint runs it.
func (d *Destination) exit(ctx context.Context) {
	wal := d.walSize() // outside the lock: every Write commits through here
	g := &d.gate
	g.mu.Lock()
	g.open--
	if !g.pending && wal > gateWAL {
		g.pending = true
		close(g.asked)
	}
	run := g.pending && g.open == 0
	g.mu.Unlock()
	if !run {
		return
	}
	// The checkpoint runs on its own, so that the Write that happened to
	// be the last out holds its batches like the others (Destination.enter).
	// Close waits for it.
	d.checkpoints.Go(func() { d.checkpoint(ctx) })
}

// checkpoint runs the checkpoint asked for, then opens the gate again.
func (d *Destination) checkpoint(ctx context.Context) {
	g := &d.gate
	// The commit that ended the last transaction may have checkpointed
	// already (DuckDB does when no other transaction is open), leaving the
	// WAL under gateWAL, and a cancelled sync needs none. DuckDB declines when a
	// transaction the gate does not hold is open; the next commit past
	// gateWAL asks again. A checkpoint that fails otherwise invalidates the
	// database, and every later statement reports it; one begun is not
	// interrupted, even when the sync is cancelled meanwhile.
	if ctx.Err() == nil && d.walSize() > gateWAL {
		_, _ = d.db.ExecContext(context.WithoutCancel(ctx), "CHECKPOINT")
	}
	g.mu.Lock()
	g.pending = false
	close(g.ran)
	g.init()
	g.mu.Unlock()
}

// outsideCheckpoint runs fn, statements of a Write outside its
// transactions, while the gate runs no checkpoint: like a Write
// transaction, it waits while one is asked for (holding the Write's
// batches meanwhile), and the gate's CHECKPOINT waits for it. A catalog
// change (a view registered or dropped, a side table created) beside the
// CHECKPOINT would make DuckDB decline it.
func (d *Destination) outsideCheckpoint(ctx context.Context, in *inbox, fn func() error) error {
	d.enter(ctx, in)
	defer d.exit(ctx)
	return fn()
}

// enter counts a Write transaction open (checkpointGate.enter) once no
// checkpoint is asked for. While one is, the Write goes on receiving its
// batches and holds them (inbox.hold), so that the source keeps fetching
// while DuckDB checkpoints, as it would wait for the writers otherwise.
// Once ctx is done it stops holding and only waits, as the statements that
// end a Write (dropping its feed's view) must still run.
func (d *Destination) enter(ctx context.Context, in *inbox) (asked <-chan struct{}) {
	in.hold(ctx, d.gate.running())
	return d.gate.enter()
}

// walSize is the size of the database's WAL file, 0 when there is none.
func (d *Destination) walSize() int64 {
	fi, err := os.Stat(d.path + ".wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// holdBytes bounds the bytes of records (dest.RecordBytes) that Writes
// hold, together, while the gate's checkpoint runs: past it they wait for
// the checkpoint without receiving more. Measured at 50,000 issues without
// latency: 28 MB held by the end of a 6 s checkpoint, the source then
// bound by the one core the checkpoint leaves it. A variable for tests.
var holdBytes int64 = 32 << 20

// errWriteEnded answers the Flushed of batches a Write held when it
// ended early; its error is the Write's.
var errWriteEnded = errors.New("the table's write ended before committing")

// errAsked is inbox.next's answer when a checkpoint is asked for.
var errAsked = errors.New("checkpoint asked for")

// inbox is where a Write takes its batches from: first those it held
// while the gate's checkpoint ran, in order, then its channel's.
type inbox struct {
	ch     <-chan dest.Batch
	closed bool // ch is closed; held may still have batches
	held   []dest.Batch
	total  *atomic.Int64 // the bytes every Write holds (Destination.held)
}

// next returns the next batch (ok false at the end of the stream), or
// errAsked once asked is closed, or ctx's error.
func (in *inbox) next(ctx context.Context, asked <-chan struct{}) (b dest.Batch, ok bool, err error) {
	select {
	case <-ctx.Done():
		return b, false, ctx.Err()
	case <-asked:
		return b, false, errAsked
	default:
	}
	if len(in.held) > 0 {
		b, in.held[0] = in.held[0], dest.Batch{}
		in.held = in.held[1:]
		in.total.Add(-dest.RecordBytes(b.Record))
		return b, true, nil
	}
	if in.closed {
		return b, false, nil
	}
	select {
	case <-ctx.Done():
		return b, false, ctx.Err()
	case <-asked:
		return b, false, errAsked
	case b, ok = <-in.ch:
		in.closed = !ok
		return b, ok, nil
	}
}

// hold receives batches into held until ran is closed (nil: no checkpoint
// runs) or ctx is done, while the Writes together hold less than holdBytes
// in total.
func (in *inbox) hold(ctx context.Context, ran <-chan struct{}) {
	if ran == nil {
		return
	}
	for {
		ch := in.ch
		if in.closed || in.total.Load() >= holdBytes {
			ch = nil // wait for the checkpoint only
		}
		select {
		case <-ctx.Done():
			return
		case <-ran:
			return
		case b, ok := <-ch:
			if !ok {
				in.closed = true
				continue
			}
			in.held = append(in.held, b)
			in.total.Add(dest.RecordBytes(b.Record))
		}
	}
}

// release releases the records still held, and answers their Flushed,
// when the Write ends early.
func (in *inbox) release() {
	for _, b := range in.held {
		in.total.Add(-dest.RecordBytes(b.Record))
		if b.Record != nil {
			b.Record.Release()
		}
		b.Answer(errWriteEnded)
	}
	in.held = nil
}
