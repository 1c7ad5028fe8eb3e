package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/dag"
	"github.com/jsync-dev/jsync/engine/plan"
)

// progressView shows apply's progress: a bar per table on a terminal, and
// plain periodic lines otherwise (CI logs).
type progressView interface {
	Event(ev engine.ProgressEvent)
	Close()
}

// newProgressView returns the view of an apply of p. When p runs more than
// one sync, each table's name says which sync it belongs to: two syncs can
// read the same table.
func newProgressView(env *cliEnv, p *plan.Plan) progressView {
	multi := dueSyncs(p) > 1
	if env.isTTY {
		return newBarView(env.stderr, multi)
	}
	return &lineView{w: env.stderr, multi: multi}
}

// dueSyncs counts the syncs p runs.
func dueSyncs(p *plan.Plan) int {
	n := 0
	for _, sp := range p.Syncs {
		if sp.Due {
			n++
		}
	}
	return n
}

// progressName names a table in progress as the plan does
// (namespace.table), followed by its sync when the apply runs several.
func progressName(ev engine.ProgressEvent, multi bool) string {
	name := tableName(ev.Namespace, ev.Table)
	if multi {
		name += " (sync." + ev.Sync + ")"
	}
	return name
}

type lineView struct {
	w     io.Writer
	multi bool // the apply runs more than one sync
}

func (l *lineView) Event(ev engine.ProgressEvent) {
	name := progressName(ev, l.multi)
	switch {
	case ev.Done && stoppedBySignal(ev.Err):
		// The apply's cancellation (an interrupt), which a table stopped
		// with its parent carries too.
		if ev.ReadOnly {
			fmt.Fprintf(l.w, "%s: stopped (interrupted; read only, parent of selected tables)\n", name)
		} else {
			fmt.Fprintf(l.w, "%s: stopped after %s fetched (interrupted)\n", name, plural(ev.Rows, "row"))
		}
	case ev.Done && ev.ReadOnly && ev.Err != nil:
		fmt.Fprintf(l.w, "%s: failed (read only, parent of selected tables)\n", name)
	case ev.Done && ev.ReadOnly:
		fmt.Fprintf(l.w, "%s: done (read only, parent of selected tables; not written)\n", name)
	case ev.Done && errors.Is(ev.Err, dag.ErrUpstreamFailed):
		fmt.Fprintf(l.w, "%s: skipped after %s fetched: a table it depends on failed\n", name, plural(ev.Rows, "row"))
	case ev.Done && ev.Err != nil:
		fmt.Fprintf(l.w, "%s: failed after %s fetched\n", name, plural(ev.Rows, "row"))
	case ev.Done:
		fmt.Fprintf(l.w, "%s: done, %s fetched\n", name, plural(ev.Rows, "row"))
	case ev.Loading:
		fmt.Fprintf(l.w, "%s: fetched %s, writing them: %s written\n", name, plural(ev.Rows, "row"), thousands(ev.Written))
	case ev.Estimate > 0:
		fmt.Fprintf(l.w, "%s: %s fetched (~%d%%)\n", name, plural(ev.Rows, "row"), min(99, ev.Rows*100/ev.Estimate))
	default:
		fmt.Fprintf(l.w, "%s: %s fetched\n", name, plural(ev.Rows, "row"))
	}
}

func (l *lineView) Close() {}

type barView struct {
	mu    sync.Mutex
	p     *mpb.Progress
	bars  map[string]*tableBar // by sync and table
	multi bool
}

// tableBar is a table's bar; what says what its count is: the rows
// fetched, then, for a sync that loads after the fetch, those written.
type tableBar struct {
	*mpb.Bar
	what atomic.Value // string
}

func newBarView(w io.Writer, multi bool) *barView {
	return &barView{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40)), bars: map[string]*tableBar{}, multi: multi}
}

func (b *barView) Event(ev engine.ProgressEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := ev.Sync + "." + ev.Table
	name := progressName(ev, b.multi)
	bar, ok := b.bars[key]
	if !ok {
		total := ev.Estimate
		if total <= 0 {
			total = 0
		}
		bar = &tableBar{}
		bar.what.Store("fetched")
		bar.Bar = b.p.AddBar(total,
			mpb.PrependDecorators(decor.Name(name, decor.WC{W: 32, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(st decor.Statistics) string {
				what := bar.what.Load().(string)
				if what == "read only" {
					return "read only, not written"
				}
				return plural(st.Current, "row") + " " + what
			}), decor.OnComplete(decor.Name(""), " ✓")),
		)
		b.bars[key] = bar
	}
	if ev.ReadOnly {
		bar.what.Store("read only")
	}
	switch {
	case ev.Loading && !ev.Done:
		// Fetched: the bar now counts the staged rows written.
		bar.what.Store("written")
		bar.SetTotal(ev.Rows, false)
		bar.SetCurrent(min(ev.Written, ev.Rows))
		return
	case ev.Estimate > 0 && ev.Rows > ev.Estimate:
		bar.SetTotal(ev.Rows, false)
	}
	if ev.Done && ev.Err == nil && !ev.ReadOnly {
		bar.what.Store("fetched")
	}
	bar.SetCurrent(ev.Rows)
	if ev.Done {
		if ev.Err != nil {
			bar.Abort(false)
		} else {
			bar.SetTotal(ev.Rows, true)
		}
	}
}

func (b *barView) Close() {
	b.mu.Lock()
	for _, bar := range b.bars {
		if !bar.AbortedOrCompleted() {
			bar.Abort(false)
		}
	}
	b.mu.Unlock()
	b.p.Wait()
}
