package duckdb

import (
	"context"
	"os"
	"sync"
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
type checkpointGate struct {
	mu   sync.Mutex
	cond *sync.Cond
	open int // Write transactions open
	// asked is closed while a checkpoint is asked for; a new channel
	// replaces it once the checkpoint is done.
	asked   chan struct{}
	pending bool
}

// gateWAL is the WAL size past which a Write's commit asks for a
// checkpoint. A variable for tests.
var gateWAL int64 = 256 << 20

func (g *checkpointGate) init() {
	g.cond = sync.NewCond(&g.mu)
	g.asked = make(chan struct{})
}

// enter waits while a checkpoint is asked for, then counts a Write
// transaction open. The wait does not watch the Write's ctx: it ends once
// the open transactions have ended their groups (each does at its next
// batch, at once when waiting, or on its own ctx) and the checkpoint ran. It returns the channel that is closed when a
// checkpoint is asked for: the transaction then ends its group.
func (g *checkpointGate) enter() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.pending {
		g.cond.Wait()
	}
	g.open++
	return g.asked
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
	// The commit that ended the last transaction may have checkpointed
	// already (DuckDB does when no other transaction is open), leaving the
	// WAL under gateWAL, and a cancelled sync needs none. DuckDB declines when a
	// transaction the gate does not hold is open; the next commit past
	// gateWAL asks again. A checkpoint that fails otherwise invalidates the
	// database, and every later statement reports it.
	if ctx.Err() == nil && d.walSize() > gateWAL {
		_, _ = d.db.ExecContext(ctx, "CHECKPOINT")
	}
	g.mu.Lock()
	g.pending = false
	g.asked = make(chan struct{})
	g.cond.Broadcast()
	g.mu.Unlock()
}

// outsideCheckpoint runs fn, statements of a Write outside its
// transactions, while the gate runs no checkpoint: like a Write
// transaction, it waits while one is asked for, and the gate's CHECKPOINT
// waits for it. A catalog change (a view registered or dropped, a side
// table created) beside the CHECKPOINT would make DuckDB decline it.
func (d *Destination) outsideCheckpoint(ctx context.Context, fn func() error) error {
	d.gate.enter()
	defer d.exit(ctx)
	return fn()
}

// walSize is the size of the database's WAL file, 0 when there is none.
func (d *Destination) walSize() int64 {
	fi, err := os.Stat(d.path + ".wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}
