// Package dag is a small directed acyclic graph with deterministic
// topological order, cycle detection and a bounded-parallel walk that skips
// the dependents of failed vertices. It knows nothing about HCL or Jira.
package dag

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
)

// Graph is a set of named vertices and "depends on" edges.
type Graph struct {
	nodes map[string]bool
	deps  map[string]map[string]bool // v → what v depends on
}

// New returns an empty graph.
func New() *Graph {
	return &Graph{nodes: map[string]bool{}, deps: map[string]map[string]bool{}}
}

// Add adds a vertex (idempotent).
func (g *Graph) Add(v string) {
	g.nodes[v] = true
	if g.deps[v] == nil {
		g.deps[v] = map[string]bool{}
	}
}

// Connect records that dependent depends on dependency. Both are added.
func (g *Graph) Connect(dependent, dependency string) {
	g.Add(dependent)
	g.Add(dependency)
	g.deps[dependent][dependency] = true
}

// Has reports whether v is a vertex.
func (g *Graph) Has(v string) bool { return g.nodes[v] }

// Vertices returns all vertices, sorted.
func (g *Graph) Vertices() []string {
	out := make([]string, 0, len(g.nodes))
	for v := range g.nodes {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// DependsOn returns the direct dependencies of v, sorted.
func (g *Graph) DependsOn(v string) []string {
	out := make([]string, 0, len(g.deps[v]))
	for d := range g.deps[v] {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Dependents returns the vertices that directly depend on v, sorted.
func (g *Graph) Dependents(v string) []string {
	var out []string
	for n, ds := range g.deps {
		if ds[v] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// CycleError lists the vertices of one cycle, in order.
type CycleError struct{ Cycle []string }

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(append(e.Cycle, e.Cycle[0]), " → ")
}

// Validate returns a *CycleError for the first cycle found (deterministic).
func (g *Graph) Validate() error {
	_, err := g.TopoOrder()
	return err
}

// TopoOrder returns the vertices with every dependency before its
// dependents; ties are broken by name, so the order is deterministic.
func (g *Graph) TopoOrder() ([]string, error) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var order, stack []string
	var visit func(v string) error
	visit = func(v string) error {
		switch color[v] {
		case grey:
			i := len(stack) - 1
			for stack[i] != v {
				i--
			}
			return &CycleError{Cycle: append([]string(nil), stack[i:]...)}
		case black:
			return nil
		}
		color[v] = grey
		stack = append(stack, v)
		for _, d := range g.DependsOn(v) {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		color[v] = black
		order = append(order, v)
		return nil
	}
	for _, v := range g.Vertices() {
		if err := visit(v); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// ErrUpstreamFailed is returned (wrapped) for vertices skipped because a
// dependency failed.
var ErrUpstreamFailed = errors.New("skipped: a dependency failed")

// Upstream is the error of what is skipped because dep ended with err: a
// cancellation of dep (an interrupt) carries over, so that what it stopped
// reads as stopped too, not failed; any other error is ErrUpstreamFailed.
func Upstream(dep string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped with %s: %w", dep, context.Canceled)
	}
	return fmt.Errorf("%w (%s)", ErrUpstreamFailed, dep)
}

// WorkerPanic is what Walk panics with when fn panicked for a vertex: the
// panic is raised again in Walk's goroutine, where the caller can recover
// it, instead of ending the process from a worker goroutine.
type WorkerPanic struct {
	Vertex string
	Value  any
	Stack  []byte // the worker's stack where it panicked
}

func (p *WorkerPanic) String() string { return fmt.Sprintf("%s: %v", p.Vertex, p.Value) }

// WalkFunc does the work of one vertex.
type WalkFunc func(ctx context.Context, v string) error

// Walk runs fn for every vertex once all its dependencies succeeded, with at
// most parallelism calls at a time. A vertex whose dependency failed is not
// run; its result is ErrUpstreamFailed. Walk returns each vertex's error
// (nil on success). Cancelling ctx stops starting new vertices. A panic in
// fn is raised again in Walk's goroutine as a *WorkerPanic.
func (g *Graph) Walk(ctx context.Context, parallelism int, fn WalkFunc) (map[string]error, error) {
	if _, err := g.TopoOrder(); err != nil {
		return nil, err
	}
	if parallelism < 1 {
		parallelism = 1
	}
	results := map[string]error{}
	var mu sync.Mutex
	pending := map[string]int{}
	for _, v := range g.Vertices() {
		pending[v] = len(g.deps[v])
	}
	ready := make(chan string, len(g.nodes))
	done := make(chan string, len(g.nodes))
	for _, v := range g.Vertices() {
		if pending[v] == 0 {
			ready <- v
		}
	}
	sem := make(chan struct{}, parallelism)
	panics := make(chan *WorkerPanic, len(g.nodes))
	var wg sync.WaitGroup
	finished := 0
	for finished < len(g.nodes) {
		select {
		case p := <-panics:
			panic(p)
		case v := <-ready:
			mu.Lock()
			var upstream error
			for _, d := range g.DependsOn(v) {
				if results[d] != nil {
					upstream = Upstream(d, results[d])
					break
				}
			}
			mu.Unlock()
			if upstream == nil && ctx.Err() != nil {
				upstream = ctx.Err()
			}
			if upstream != nil {
				mu.Lock()
				results[v] = upstream
				mu.Unlock()
				done <- v
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(v string) {
				defer wg.Done()
				defer func() {
					if r := recover(); r != nil {
						panics <- &WorkerPanic{Vertex: v, Value: r, Stack: debug.Stack()}
					}
				}()
				err := fn(ctx, v)
				mu.Lock()
				results[v] = err
				mu.Unlock()
				<-sem
				done <- v
			}(v)
		case v := <-done:
			finished++
			for _, n := range g.Dependents(v) {
				pending[n]--
				if pending[n] == 0 {
					ready <- n
				}
			}
		}
	}
	wg.Wait()
	return results, nil
}

// DOT renders the graph in Graphviz DOT, edges pointing from a dependent to
// what it depends on.
func (g *Graph) DOT(name string, label func(v string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir = \"RL\";\n", name)
	for _, v := range g.Vertices() {
		l := v
		if label != nil {
			l = label(v)
		}
		fmt.Fprintf(&b, "  %q [label=%q];\n", v, l)
	}
	for _, v := range g.Vertices() {
		for _, d := range g.DependsOn(v) {
			fmt.Fprintf(&b, "  %q -> %q;\n", v, d)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
