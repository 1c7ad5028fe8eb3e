package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/spool"
	"github.com/jsync-dev/jsync/engine/state"
)

// tableSink connects one table's stream from a source to a destination
// writer goroutine. Records flow through a small buffered channel, so a slow
// destination slows the source down (backpressure) and memory stays bounded.
type tableSink struct {
	d       dest.Destination
	ns      string
	t       *schema.Table
	write   bool // false: fetched only for children; rows are discarded
	replace bool // full-table: one atomic Replace
	items   chan sinkItem
	done    chan struct{}

	// aborted is set when the table's fetch failed: a full-table Replace in
	// progress is then rolled back instead of committed, so a failed fetch
	// never replaces a table with partial content.
	aborted atomic.Bool

	mu        sync.Mutex
	err       error
	stats     dest.WriteStats
	lastState *state.TableState
	rows      atomic.Int64

	// stage, when set, makes the sink stage its rows and deletes in a
	// spool file instead of writing them (load = "after_fetch"); load
	// writes them once the fetch is done. A full-table sink never stages:
	// its Replace holds no memory while it waits.
	stage   *stager
	spool   *spool.Writer
	loaded  bool        // load wrote the whole spool
	loading atomic.Bool // load is writing the spool (progress)
	written atomic.Int64
}

// stager is where and how a sink stages.
type stager struct {
	dir, name string // spool files are dir/name-*.spool
	mem       memory.Allocator
}

// Kinds of spool entries.
const (
	spoolRows   spool.Kind = 1 // a record to write
	spoolDelete spool.Kind = 2 // keys to mark deleted; Meta is the dest.Mark as JSON
)

type sinkItem struct {
	rec   arrow.RecordBatch
	st    *state.TableState
	del   *deleteItem
	flush chan error
}

type deleteItem struct {
	keys arrow.RecordBatch
	mark dest.Mark
}

var _ source.Sink = (*tableSink)(nil)

func newTableSink(d dest.Destination, ns string, t *schema.Table, write bool) *tableSink {
	return &tableSink{
		d: d, ns: ns, t: t, write: write,
		replace: t.Replication == schema.FullTable,
		items:   make(chan sinkItem, 2),
		done:    make(chan struct{}),
	}
}

// errSinkClosed is returned when a source sends after the sink failed.
var errSinkClosed = errors.New("table writer stopped")

func (s *tableSink) send(ctx context.Context, it sinkItem) error {
	select {
	case s.items <- it:
		return nil
	case <-s.done:
		if it.rec != nil {
			it.rec.Release()
		}
		if it.del != nil {
			it.del.keys.Release()
		}
		if err := s.Err(); err != nil {
			return fmt.Errorf("write %s: %w", s.t.Name, err)
		}
		return errSinkClosed
	case <-ctx.Done():
		if it.rec != nil {
			it.rec.Release()
		}
		if it.del != nil {
			it.del.keys.Release()
		}
		return ctx.Err()
	}
}

func (s *tableSink) Send(ctx context.Context, rec arrow.RecordBatch) error {
	s.rows.Add(rec.NumRows())
	return s.send(ctx, sinkItem{rec: rec})
}

func (s *tableSink) Delete(ctx context.Context, keys arrow.RecordBatch, at, syncedBefore time.Time) error {
	return s.send(ctx, sinkItem{del: &deleteItem{keys: keys, mark: dest.Mark{At: at, SyncedBefore: syncedBefore}}})
}

func (s *tableSink) Checkpoint(ctx context.Context, st state.TableState) error {
	return s.send(ctx, sinkItem{st: &st})
}

// Flush waits until everything sent before is committed.
func (s *tableSink) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	if err := s.send(ctx, sinkItem{flush: ch}); err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close ends the stream; Wait then returns the result.
func (s *tableSink) Close() { close(s.items) }

// Abort marks the fetch as failed; call it before Close. An uncommitted
// full-table replacement is rolled back.
func (s *tableSink) Abort() { s.aborted.Store(true) }

// Wait blocks until the writer finished and returns its error.
func (s *tableSink) Wait() error {
	<-s.done
	return s.Err()
}

func (s *tableSink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *tableSink) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *tableSink) addStats(w dest.WriteStats) {
	s.mu.Lock()
	s.stats.Inserted += w.Inserted
	s.stats.Updated += w.Updated
	s.stats.Deleted += w.Deleted
	s.mu.Unlock()
}

type writeResult struct {
	stats dest.WriteStats
	err   error
}

// run is the writer goroutine. It must drain items until Close.
func (s *tableSink) run(ctx context.Context) {
	defer close(s.done)
	var (
		wch    chan dest.Batch
		wdone  chan writeResult
		cancel context.CancelFunc
	)
	start := func() {
		wch = make(chan dest.Batch)
		wdone = make(chan writeResult, 1)
		var wctx context.Context
		wctx, cancel = context.WithCancel(ctx)
		ch, done := wch, wdone
		go func() {
			var r writeResult
			if s.replace {
				r.stats, r.err = s.d.Replace(wctx, s.ns, s.t, ch)
			} else {
				r.stats, r.err = s.d.Write(wctx, s.ns, s.t, ch)
			}
			done <- r
			// Drain whatever the writer did not consume so senders never
			// block, and answer the flushes among it.
			err := r.err
			if err == nil {
				err = errSinkClosed
			}
			for b := range ch {
				if b.Record != nil {
					b.Record.Release()
				}
				b.Answer(err)
			}
		}()
	}
	stop := func() error {
		if wch == nil {
			return nil
		}
		var r writeResult
		if s.replace && s.aborted.Load() {
			// Roll back: cancel before the writer sees the end of the stream.
			cancel()
			r = <-wdone
			close(wch)
			r.err = nil // the fetch error is the table's error, not the rollback
		} else {
			close(wch)
			r = <-wdone
			cancel()
		}
		wch, wdone = nil, nil
		s.addStats(r.stats)
		return r.err
	}
	push := func(b dest.Batch) error {
		if wch == nil {
			start()
		}
		select {
		case wch <- b:
			return nil
		case r := <-wdone:
			// The writer returned early (an error): no more batches.
			if b.Record != nil {
				b.Record.Release()
			}
			close(wch)
			cancel()
			wch, wdone = nil, nil
			s.addStats(r.stats)
			if r.err == nil {
				r.err = errors.New("destination writer stopped early")
			}
			return r.err
		}
	}
	for it := range s.items {
		if s.Err() != nil {
			release(it)
			if it.flush != nil {
				it.flush <- s.Err()
			}
			continue
		}
		if s.staging() {
			if err := s.stageItem(it); err != nil {
				s.fail(err)
			}
			continue
		}
		var err error
		switch {
		case it.rec != nil:
			if !s.write {
				it.rec.Release()
				continue
			}
			err = push(dest.Batch{Record: it.rec})
		case it.st != nil:
			s.mu.Lock()
			st := *it.st
			s.lastState = &st
			s.mu.Unlock()
			if !s.write {
				err = s.d.CommitState(ctx, &st)
			} else {
				err = push(dest.Batch{State: &st})
			}
		case it.del != nil:
			if !s.write {
				it.del.keys.Release()
				continue
			}
			if s.replace {
				it.del.keys.Release()
				err = fmt.Errorf("delete on full-table table %s", s.t.Name)
				break
			}
			if err = stop(); err != nil {
				it.del.keys.Release()
				break
			}
			var n int64
			n, err = s.d.MarkDeleted(ctx, s.ns, s.t, it.del.keys, it.del.mark, nil)
			it.del.keys.Release()
			s.addStats(dest.WriteStats{Deleted: n})
		case it.flush != nil:
			if s.replace || wch == nil {
				// A Replace commits at its end; no writer, nothing to commit.
				it.flush <- nil
				break
			}
			// The writer commits what it has and answers, and goes on:
			// ending it here would stop this table's stream until it had,
			// which lasts as long as a checkpoint of the database when
			// one runs.
			if err = push(dest.Batch{Flushed: it.flush}); err != nil {
				it.flush <- err
			}
		}
		if err != nil {
			s.fail(err)
		}
	}
	if s.write {
		if s.replace && wch == nil && s.Err() == nil && !s.aborted.Load() {
			// A full table with no rows at all still replaces: it is empty now.
			start()
		}
		if err := stop(); err != nil {
			s.fail(err)
		}
	}
}

// staging reports whether the sink stages instead of writing.
func (s *tableSink) staging() bool { return s.stage != nil && s.write && !s.replace }

// stageItem appends it to the spool. States are only remembered: the
// engine commits each table's last state once every staged table is
// loaded. A flush returns at once, since nothing is committed before the
// load.
func (s *tableSink) stageItem(it sinkItem) error {
	switch {
	case it.st != nil:
		st := *it.st
		s.mu.Lock()
		s.lastState = &st
		s.mu.Unlock()
		return nil
	case it.flush != nil:
		it.flush <- nil
		return nil
	}
	defer release(it)
	if s.spool == nil {
		w, err := spool.Create(s.stage.dir, s.stage.name+"-*.spool", s.stage.mem)
		if err != nil {
			return fmt.Errorf("stage %s: %w", s.t.Name, err)
		}
		s.spool = w
	}
	var err error
	if it.rec != nil {
		err = s.spool.Append(spoolRows, it.rec, nil)
	} else {
		var meta []byte
		if meta, err = json.Marshal(it.del.mark); err == nil {
			err = s.spool.Append(spoolDelete, it.del.keys, meta)
		}
	}
	if err != nil {
		return fmt.Errorf("stage %s: %w", s.t.Name, err)
	}
	return nil
}

// load writes what the sink staged, through a sink that writes, in the
// order it was staged, without the states. The sink must be done (Wait).
// It deletes the spool file.
func (s *tableSink) load(ctx context.Context) (err error) {
	if s.spool == nil {
		s.loaded = true
		return nil
	}
	r, err := s.spool.Reader(s.stage.mem)
	s.spool = nil
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, r.Close()) }()
	ls := newTableSink(s.d, s.ns, s.t, true)
	go ls.run(ctx)
	s.loading.Store(true)
	defer s.loading.Store(false)
	var serr error
	for serr == nil {
		var e spool.Entry
		e, serr = r.Next()
		if serr != nil {
			break
		}
		switch e.Kind {
		case spoolRows:
			n := e.Record.NumRows()
			if serr = ls.send(ctx, sinkItem{rec: e.Record}); serr == nil {
				s.written.Add(n)
			}
		case spoolDelete:
			var m dest.Mark
			if jerr := json.Unmarshal(e.Meta, &m); jerr != nil || e.Record == nil {
				release(sinkItem{rec: e.Record})
				serr = fmt.Errorf("staged delete of %s is damaged: %v", s.t.Name, jerr)
				break
			}
			serr = ls.send(ctx, sinkItem{del: &deleteItem{keys: e.Record, mark: m}})
		default:
			release(sinkItem{rec: e.Record})
			serr = fmt.Errorf("staged entry of %s has unknown kind %d", s.t.Name, e.Kind)
		}
	}
	if errors.Is(serr, io.EOF) {
		serr = nil
	}
	ls.Close()
	werr := ls.Wait()
	s.addStats(ls.stats)
	if errors.Is(serr, errSinkClosed) {
		serr = nil // werr says why
	}
	if err := errors.Join(serr, werr); err != nil {
		return err
	}
	s.loaded = true
	return nil
}

// discard deletes what the sink staged without writing it.
func (s *tableSink) discard() error {
	if s.spool == nil {
		return nil
	}
	w := s.spool
	s.spool = nil
	return w.Remove()
}

func release(it sinkItem) {
	if it.rec != nil {
		it.rec.Release()
	}
	if it.del != nil {
		it.del.keys.Release()
	}
}
