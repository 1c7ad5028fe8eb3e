package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

// pprofTop runs `go tool pprof -top` on a profile of bin and returns its
// output. extra are further pprof flags (e.g. -sample_index=alloc_space).
func pprofTop(ctx context.Context, bin, prof string, nodes int, extra ...string) (string, error) {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	args := append([]string{"tool", "pprof", "-top", fmt.Sprintf("-nodecount=%d", nodes)}, extra...)
	args = append(args, bin, prof)
	out, err := exec.CommandContext(ctx, goCmd, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof -top %s: %w: %s", prof, err, tail(string(out), 5))
	}
	return string(out), nil
}

// topEntry is one line of `pprof -top`: flat and cumulative shares and
// the function.
type topEntry struct {
	FlatPct, CumPct float64
	Func            string
}

// parseTop reads the entries of `pprof -top` output; header lines are
// skipped. Lines look like
//
//	1.20s 12.00% 12.00%  2.50s 25.00%  encoding/json.(*decodeState).object
func parseTop(out string) []topEntry {
	var es []topEntry
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || !strings.HasSuffix(f[4], "%") {
			continue
		}
		flat, err1 := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		cum, err2 := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		if err1 != nil || err2 != nil {
			continue
		}
		es = append(es, topEntry{FlatPct: flat, CumPct: cum, Func: strings.Join(f[5:], " ")})
	}
	return es
}

// costCategories group functions by where time goes; the first match wins.
var costCategories = []struct {
	Name     string
	Prefixes []string
}{
	{"JSON decoding", []string{"encoding/json.", "github.com/jsync-dev/jsync/resources/jira.decode", "unicode/utf8.", "strconv."}},
	{"TLS and crypto", []string{"crypto/", "vendor/golang.org/x/crypto/", "golang.org/x/crypto/"}},
	{"garbage collection and allocation", []string{"runtime.gc", "runtime.scanobject", "runtime.mallocgc", "runtime.greyobject",
		"runtime.findObject", "runtime.markBits", "runtime.heapBits", "runtime.memclrNoHeapPointers", "runtime.(*mspan)",
		"runtime.(*gcWork)", "runtime.spanOf", "runtime.typePointers", "runtime.(*mheap)", "runtime.(*mcache)", "runtime.nextFreeFast",
		"runtime.wbBuf", "runtime.bulkBarrier", "runtime.gcDrain", "runtime.markroot"}},
	{"DuckDB and other C code (cgo)", []string{"runtime.cgocall", "runtime._ExternalCode", "runtime.asmcgocall", "_cgo", "github.com/duckdb/", "["}},
	{"Arrow record building", []string{"github.com/apache/arrow-go/"}},
	{"network and syscalls", []string{"syscall.", "internal/poll.", "net.", "net/http.", "runtime.netpoll", "internal/runtime/syscall"}},
	{"scheduler and preemption", []string{"runtime.asyncPreempt", "runtime.futex", "runtime.usleep", "runtime.mcall", "runtime.park", "runtime.schedule",
		"runtime.findRunnable", "runtime.stealWork", "runtime.runqgrab", "runtime.epoll", "runtime.nanotime", "runtime.procyield",
		"runtime.lock", "runtime.unlock", "runtime.osyield"}},
	{"memory copies and hashing", []string{"runtime.memmove", "runtime.memequal", "runtime.aeshash", "runtime.mapaccess",
		"runtime.mapassign", "internal/runtime/maps.", "runtime.slicebytetostring", "runtime.concatstring", "runtime.growslice"}},
}

// categoryShare is the flat share of one cost category.
type categoryShare struct {
	Name string
	Pct  float64
}

// categorize sums flat shares per category; the rest is "other".
func categorize(es []topEntry) []categoryShare {
	sums := map[string]float64{}
	for _, e := range es {
		name := "other"
		for _, c := range costCategories {
			if hasAnyPrefix(e.Func, c.Prefixes) {
				name = c.Name
				break
			}
		}
		sums[name] += e.FlatPct
	}
	var out []categoryShare
	for n, p := range sums {
		out = append(out, categoryShare{n, p})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pct != out[j].Pct {
			return out[i].Pct > out[j].Pct
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// ownStages lists the n largest cumulative shares among jsync's own
// functions (from `pprof -top -cum` output): where the time goes by stage.
func ownStages(cumOut string, n int) []topEntry {
	const own = "github.com/jsync-dev/jsync/"
	var out []topEntry
	for _, e := range parseTop(cumOut) {
		if !strings.HasPrefix(e.Func, own) || strings.Contains(e.Func, ".func") && len(out) > 0 && out[len(out)-1].CumPct == e.CumPct {
			continue
		}
		e.Func = strings.TrimPrefix(e.Func, own)
		out = append(out, e)
		if len(out) == n {
			break
		}
	}
	return out
}

// formatShares renders "JSON decoding 41%, GC 22%, …".
func formatShares(cs []categoryShare) string {
	var parts []string
	for _, c := range cs {
		if c.Pct < 0.5 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", c.Name, c.Pct))
	}
	return strings.Join(parts, ", ")
}

// topLines keeps pprof's header and the first n entries, for a code block.
func topLines(out string, n int) string {
	var keep []string
	entries := 0
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(parseTop(line)) == 1 {
			if entries == n {
				break
			}
			entries++
		} else if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}
