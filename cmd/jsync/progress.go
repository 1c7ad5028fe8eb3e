package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/jsync-dev/jsync/engine"
)

// progressView shows apply's progress: a bar per table on a terminal, and
// plain periodic lines otherwise (CI logs).
type progressView interface {
	Event(ev engine.ProgressEvent)
	Close()
}

func newProgressView(env *cliEnv) progressView {
	if env.isTTY {
		return newBarView(env.stderr)
	}
	return &lineView{w: env.stderr}
}

type lineView struct{ w io.Writer }

func (l *lineView) Event(ev engine.ProgressEvent) {
	name := ev.Sync + "." + ev.Table
	switch {
	case ev.Done && ev.Err != nil:
		fmt.Fprintf(l.w, "%s: failed after %s rows\n", name, thousands(ev.Rows))
	case ev.Done:
		fmt.Fprintf(l.w, "%s: done, %s rows\n", name, thousands(ev.Rows))
	case ev.Loading:
		fmt.Fprintf(l.w, "%s: fetched %s rows, writing them: %s written\n", name, thousands(ev.Rows), thousands(ev.Written))
	case ev.Estimate > 0:
		fmt.Fprintf(l.w, "%s: %s rows (~%d%%)\n", name, thousands(ev.Rows), min(99, ev.Rows*100/ev.Estimate))
	default:
		fmt.Fprintf(l.w, "%s: %s rows\n", name, thousands(ev.Rows))
	}
}

func (l *lineView) Close() {}

type barView struct {
	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*mpb.Bar
}

func newBarView(w io.Writer) *barView {
	return &barView{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40)), bars: map[string]*mpb.Bar{}}
}

func (b *barView) Event(ev engine.ProgressEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := ev.Sync + "." + ev.Table
	bar, ok := b.bars[name]
	if !ok {
		total := ev.Estimate
		if total <= 0 {
			total = 0
		}
		bar = b.p.AddBar(total,
			mpb.PrependDecorators(decor.Name(name, decor.WC{W: 32, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.CurrentNoUnit("%d rows"), decor.OnComplete(decor.Name(""), " ✓")),
		)
		b.bars[name] = bar
	}
	switch {
	case ev.Loading && !ev.Done:
		// Fetched: the bar now counts the staged rows written.
		bar.SetTotal(ev.Rows, false)
		bar.SetCurrent(min(ev.Written, ev.Rows))
		return
	case ev.Estimate > 0 && ev.Rows > ev.Estimate:
		bar.SetTotal(ev.Rows, false)
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
