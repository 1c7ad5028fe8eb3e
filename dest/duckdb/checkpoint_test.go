//go:build duckdb_arrow

package duckdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
)

// TestGateCheckpointsDuringWrites: while one Write holds its transaction
// open waiting for batches, another commits with the WAL past gateWAL. The
// waiting Write must end its group at once (its rows and state commit
// before its batches end), the gate must run a checkpoint once no Write
// transaction is open, and both Writes must then go on and write every
// row. Without the gate the first group stays open until its batches end,
// and DuckDB never checkpoints while it is; the test fails in 30 s.
func TestGateCheckpointsDuringWrites(t *testing.T) {
	old := gateWAL
	gateWAL = 1
	t.Cleanup(func() { gateWAL = old })
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, _, items := openItems(t)
	others := crashTable()
	others.Name = "others"
	changes, err := d.PlanMigrations(t.Context(), "acme", []*schema.Table{others})
	if err == nil {
		err = d.Migrate(t.Context(), "acme", changes, dest.MigrateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// The first Write gets one batch and then waits.
	ch := make(chan dest.Batch)
	done := make(chan error, 1)
	go func() {
		_, err := d.Write(ctx, "acme", items, ch)
		done <- err
	}()
	ch <- dest.Batch{Record: itemsRecord(mem, "a", 1, 2, 3), State: st("first")}
	// The second Write commits past gateWAL while the first is open. It
	// returns only once the gate's checkpoint has run: its feed's view is
	// dropped outside checkpoints, and the checkpoint waits for the first
	// Write to end its group.
	second := make(chan error, 1)
	go func() {
		_, err := d.Write(ctx, "acme", others, batches(dest.Batch{Record: itemsRecord(mem, "b", 7, 8)}))
		second <- err
	}()
	select {
	case err := <-second:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		msg := fmt.Sprintf("no checkpoint while a Write waited for batches (WAL %d bytes); items: %s", d.walSize(), snapshot(t, d))
		close(ch) // lets both Writes end
		<-done
		<-second
		t.Fatal(msg)
	}
	// Both commits are in the database file, not only in the WAL.
	for _, table := range []string{"acme.items", "acme.others"} {
		var segments, transient int
		if err := d.DB().QueryRowContext(t.Context(), `SELECT count(*), count(*) FILTER (WHERE NOT persistent) FROM pragma_storage_info(?)`, table).Scan(&segments, &transient); err != nil {
			t.Fatal(err)
		}
		if segments == 0 || transient > 0 {
			t.Errorf("%s: %d of %d segments not checkpointed", table, transient, segments)
		}
	}
	if got, want := snapshot(t, d), `rows 1=a/-,2=a/-,3=a/- | columns id,v,_jsync_deleted_at | serial 1 cursor "first"`; got != want {
		t.Errorf("after the early group:\n got %s\nwant %s", got, want)
	}
	// The first Write goes on in a new group.
	ch <- dest.Batch{Record: itemsRecord(mem, "c", 3, 4), State: st("second")}
	close(ch)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := snapshot(t, d), `rows 1=a/-,2=a/-,3=c/-,4=c/- | columns id,v,_jsync_deleted_at | serial 2 cursor "second"`; got != want {
		t.Errorf("after the Writes:\n got %s\nwant %s", got, want)
	}
	var others2 string
	if err := d.DB().QueryRowContext(t.Context(), `SELECT string_agg(id::VARCHAR, ',' ORDER BY id) FROM acme.others`).Scan(&others2); err != nil {
		t.Fatal(err)
	}
	if others2 != "7,8" {
		t.Errorf("others: %s, want 7,8", others2)
	}
}

// TestOutsideCheckpointWaitsForGate: a Write's statements outside its
// transactions (outsideCheckpoint) wait while a checkpoint is asked for
// and run after the gate's CHECKPOINT, which DuckDB would decline beside a
// catalog change.
func TestOutsideCheckpointWaitsForGate(t *testing.T) {
	old := gateWAL
	gateWAL = 1
	t.Cleanup(func() { gateWAL = old })
	d, _, _ := openItems(t)
	if _, err := d.DB().ExecContext(t.Context(), `CREATE TABLE acme.gate_probe (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if wal := d.walSize(); wal <= gateWAL {
		t.Fatalf("WAL %d bytes before the test, want more than %d", wal, gateWAL)
	}
	d.gate.enter() // a Write transaction stays open
	d.gate.enter()
	d.exit(t.Context()) // another commits past gateWAL: a checkpoint is asked for
	ran := make(chan int64, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		_ = d.outsideCheckpoint(t.Context(), &inbox{total: &d.held}, func() error { ran <- d.walSize(); return nil })
	}()
	defer func() { <-returned }() // its exit reads gateWAL
	select {
	case wal := <-ran:
		t.Fatalf("ran while a checkpoint was asked for (WAL %d bytes)", wal)
	case <-time.After(200 * time.Millisecond):
	}
	d.exit(t.Context()) // the open transaction ends: the gate checkpoints
	if wal := <-ran; wal != 0 {
		t.Errorf("ran with %d bytes of WAL, want 0: not after the checkpoint", wal)
	}
}

// TestWriteHoldsBatchesDuringCheckpoint: while the gate's checkpoint runs,
// a Write keeps receiving its batches (so that the source keeps fetching),
// up to holdBytes held across Writes, and writes them in order once the
// checkpoint is done.
func TestWriteHoldsBatchesDuringCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int64
		blocked bool // the second batch waits for the checkpoint
	}{
		{"held", 64 << 20, false},
		{"over holdBytes", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := holdBytes
			holdBytes = tc.limit
			t.Cleanup(func() { holdBytes = old })
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			d, _, items := openItems(t)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()

			// A checkpoint is asked for and runs until d.checkpoint below.
			d.gate.mu.Lock()
			d.gate.pending = true
			close(d.gate.asked)
			d.gate.mu.Unlock()

			ch := make(chan dest.Batch)
			done := make(chan error, 1)
			go func() {
				_, err := d.Write(ctx, "acme", items, ch)
				done <- err
			}()
			ch <- dest.Batch{Record: itemsRecord(mem, "a", 1, 2), State: st("first")}
			second := dest.Batch{Record: itemsRecord(mem, "b", 2, 3), State: st("second")}
			select {
			case ch <- second:
				if tc.blocked {
					t.Fatalf("a second batch was received with %d bytes held, over holdBytes %d", d.held.Load(), holdBytes)
				}
				if d.held.Load() == 0 {
					t.Error("no bytes counted as held")
				}
			case <-time.After(200 * time.Millisecond):
				if !tc.blocked {
					t.Fatal("the Write took no batch while the checkpoint ran")
				}
			}
			if got := snapshot(t, d); got != `rows  | columns id,v,_jsync_deleted_at | serial 0 cursor ""` {
				t.Errorf("written during the checkpoint: %s", got)
			}
			d.checkpoint(ctx) // the checkpoint ends
			if tc.blocked {
				ch <- second
			}
			close(ch)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got, want := snapshot(t, d), `rows 1=a/-,2=b/-,3=b/- | columns id,v,_jsync_deleted_at | serial 1 cursor "second"`; got != want {
				t.Errorf("after the checkpoint:\n got %s\nwant %s", got, want)
			}
			if n := d.held.Load(); n != 0 {
				t.Errorf("%d bytes still counted as held", n)
			}
		})
	}
}
