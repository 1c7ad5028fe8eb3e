//go:build duckdb_arrow && linux && cgo

package duckdb

/*
#include <malloc.h>

static int jsync_mallopt(int param, int value) {
	return mallopt(param, value);
}
*/
import "C"

import "os"

// TuneMalloc sets glibc's allocator for processes that write with DuckDB,
// each setting unless its environment variable is set (glibc reads those
// itself). It returns the names of the settings it made.
//
// DuckDB allocates its C++ objects with malloc. Three glibc defaults cost
// either memory or time there:
//   - The mmap threshold starts at 128 KB, and each free of a mapped block
//     raises it (up to 32 MB), after which blocks of that size come from the
//     arenas of DuckDB's threads, where freed memory stays resident between
//     the small blocks still in use. Measured over a 200,000-issue sync:
//     glibc's free memory grew with the data to 190 MB (malloc_trim gave
//     none of it back); with the threshold fixed it stayed at 15 MB. A fixed
//     threshold turns off that adjustment.
//   - Fixed too low, it maps and unmaps every large block: each checkpoint
//     of a text column builds an FSST encoder of several hundred KB and
//     ZSTD contexts of a few MB, and each mapping is paid again in page
//     faults. At 256 KB those were a third of a sync's page faults; at
//     1 MB, the ZSTD contexts were still most of the final checkpoint of
//     an incremental run.
//   - A freed block at the top of an arena is given back to the system
//     past the trim threshold (128 KB), so the same encoder faulted its
//     pages in again at the next column.
//
// With 4 MB for both instead (and at most two arenas, so that the memory
// each keeps stays bounded whatever the number of threads calling into
// DuckDB), a backfill takes about half the page faults and 14-15% less
// time at about the same peak, and an incremental run's final checkpoint
// takes half the time: see BENCHMARKS.md, twenty-fourth round.
func TuneMalloc() []string {
	var set []string
	for _, s := range mallocSettings {
		if _, ok := os.LookupEnv(s.env); ok {
			continue
		}
		if C.jsync_mallopt(s.param, C.int(s.value)) == 1 {
			set = append(set, s.env)
		}
	}
	return set
}

var mallocSettings = []struct {
	env   string // glibc's environment variable for the setting
	param C.int
	value int
}{
	{"MALLOC_MMAP_THRESHOLD_", C.M_MMAP_THRESHOLD, 4 << 20},
	{"MALLOC_TRIM_THRESHOLD_", C.M_TRIM_THRESHOLD, 4 << 20},
	{"MALLOC_ARENA_MAX", C.M_ARENA_MAX, 2},
}
