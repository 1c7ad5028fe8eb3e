package dag

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
)

func TestTopoOrder(t *testing.T) {
	tests := map[string]struct {
		edges [][2]string
		want  []string
		cycle bool
	}{
		"chain":   {edges: [][2]string{{"c", "b"}, {"b", "a"}}, want: []string{"a", "b", "c"}},
		"diamond": {edges: [][2]string{{"d", "b"}, {"d", "c"}, {"b", "a"}, {"c", "a"}}, want: []string{"a", "b", "c", "d"}},
		"cycle":   {edges: [][2]string{{"a", "b"}, {"b", "c"}, {"c", "a"}}, cycle: true},
		"self":    {edges: [][2]string{{"a", "a"}}, cycle: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := New()
			for _, e := range tc.edges {
				g.Connect(e[0], e[1])
			}
			got, err := g.TopoOrder()
			if tc.cycle {
				var ce *CycleError
				if !errors.As(err, &ce) || len(ce.Cycle) == 0 {
					t.Fatalf("want cycle error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v want %v", got, tc.want)
				}
			}
		})
	}
}

func TestWalkOrderParallelismAndFailure(t *testing.T) {
	g := New()
	// p1 ← c1, c2 ; p2 ← c3 ; c1 fails → g1 (depends on c1) skipped.
	g.Connect("c1", "p1")
	g.Connect("c2", "p1")
	g.Connect("c3", "p2")
	g.Connect("g1", "c1")
	var mu sync.Mutex
	var ran []string
	var inflight, maxInflight atomic.Int32
	boom := errors.New("boom")
	res, err := g.Walk(context.Background(), 2, func(ctx context.Context, v string) error {
		n := inflight.Add(1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		defer inflight.Add(-1)
		mu.Lock()
		for _, d := range g.DependsOn(v) {
			found := false
			for _, r := range ran {
				found = found || r == d
			}
			if !found {
				t.Errorf("%s ran before its dependency %s", v, d)
			}
		}
		ran = append(ran, v)
		mu.Unlock()
		if v == "c1" {
			return boom
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if maxInflight.Load() > 2 {
		t.Errorf("parallelism exceeded: %d", maxInflight.Load())
	}
	if !errors.Is(res["c1"], boom) {
		t.Errorf("c1: %v", res["c1"])
	}
	if !errors.Is(res["g1"], ErrUpstreamFailed) {
		t.Errorf("g1 should be skipped, got %v", res["g1"])
	}
	for _, v := range []string{"p1", "p2", "c2", "c3"} {
		if res[v] != nil {
			t.Errorf("%s: %v", v, res[v])
		}
	}
	sort.Strings(ran)
	if len(ran) != 5 {
		t.Errorf("ran %v", ran)
	}
}

func TestWalkCancelled(t *testing.T) {
	g := New()
	g.Connect("b", "a")
	ctx, cancel := context.WithCancel(context.Background())
	res, err := g.Walk(ctx, 1, func(ctx context.Context, v string) error {
		cancel()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if res["a"] != nil || !errors.Is(res["b"], context.Canceled) {
		t.Fatalf("got %v", res)
	}
}

// TestWalkPanicReachesCaller: a panic in fn is raised again in Walk's
// goroutine, where the caller can recover it, naming the vertex.
func TestWalkPanicReachesCaller(t *testing.T) {
	g := New()
	g.Connect("b", "a")
	var got any
	func() {
		defer func() { got = recover() }()
		_, _ = g.Walk(context.Background(), 2, func(ctx context.Context, v string) error {
			if v == "a" {
				var s []int
				_ = s[0]
			}
			return nil
		})
	}()
	wp, ok := got.(*WorkerPanic)
	if !ok || wp.Vertex != "a" || len(wp.Stack) == 0 {
		t.Fatalf("recovered %#v, want a *WorkerPanic for vertex a with its stack", got)
	}
}

// TestUpstreamCarriesCancellation: a vertex skipped because its
// dependency was cancelled is cancelled too (it reads as stopped, not
// failed); skipped for any other error, it is ErrUpstreamFailed.
func TestUpstreamCarriesCancellation(t *testing.T) {
	for _, tc := range []struct {
		name                string
		depErr              error
		cancelled, upstream bool
	}{
		{"cancelled", fmt.Errorf("search: %w", context.Canceled), true, false},
		{"failed", errors.New("HTTP 500"), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := New()
			g.Connect("child", "parent")
			res, err := g.Walk(context.Background(), 1, func(ctx context.Context, v string) error {
				if v == "parent" {
					return tc.depErr
				}
				t.Errorf("%s ran although its dependency ended with %v", v, tc.depErr)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got := res["child"]
			if errors.Is(got, context.Canceled) != tc.cancelled || errors.Is(got, ErrUpstreamFailed) != tc.upstream {
				t.Fatalf("child: %v; cancelled %v, upstream failed %v; want %v, %v", got,
					errors.Is(got, context.Canceled), errors.Is(got, ErrUpstreamFailed), tc.cancelled, tc.upstream)
			}
		})
	}
}
