//go:build duckdb_arrow && linux && cgo

package duckdb

/*
#include <malloc.h>

static int jsync_mmap_threshold(int n) {
#ifdef M_MMAP_THRESHOLD
	return mallopt(M_MMAP_THRESHOLD, n);
#else
	return 0;
#endif
}
*/
import "C"

import "os"

// PinMallocThreshold fixes glibc's mmap threshold at mallocMmapThreshold,
// for processes that write with DuckDB, unless MALLOC_MMAP_THRESHOLD_ is
// set. It reports whether the threshold is set.
//
// DuckDB allocates its C++ objects with malloc. glibc starts by serving
// blocks of 128 KB and more with mmap, returned to the system when freed,
// but each such free raises the threshold (up to 32 MB), after which
// blocks of that size come from the arenas of DuckDB's threads, where
// freed memory stays resident between the small blocks still in use.
// Measured over a 200,000-issue sync: glibc's free memory grew with the
// data to 190 MB (malloc_trim gave none of it back); with the threshold
// fixed it stayed at 15 MB. A fixed threshold turns off that adjustment.
func PinMallocThreshold() bool {
	if _, ok := os.LookupEnv("MALLOC_MMAP_THRESHOLD_"); ok {
		return false
	}
	return C.jsync_mmap_threshold(mallocMmapThreshold) == 1
}

// mallocMmapThreshold is glibc's own starting value, doubled: blocks of
// 128-256 KB are frequent enough that mapping each costs system time.
const mallocMmapThreshold = 256 << 10
