//go:build duckdb_arrow && linux && cgo

package duckdb

/*
#include <stdio.h>
#include <sys/types.h>

// DuckDB's bundled jemalloc, when the library has it (Linux builds).
// Weak: where it is missing the pointer is NULL and nothing is set.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// jsync_je_muzzy sets the muzzy decay of every arena, and the default of
// arenas made later, in milliseconds. It returns -1 without jemalloc,
// else the first mallctl error (0 on success).
static int jsync_je_muzzy(long ms) {
	if (!duckdb_je_mallctl) {
		return -1;
	}
	ssize_t v = ms;
	int rc = duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &v, sizeof v);
	if (rc != 0) {
		return rc;
	}
	unsigned n = 0;
	size_t len = sizeof n;
	if ((rc = duckdb_je_mallctl("arenas.narenas", &n, &len, NULL, 0)) != 0) {
		return rc;
	}
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		// An arena not made yet fails (EFAULT); it takes the default.
		snprintf(name, sizeof name, "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &v, sizeof v);
	}
	return 0;
}

// jsync_je_read_decay reads the dirty and muzzy decay of new arenas.
static int jsync_je_read_decay(long *dirty_ms, long *muzzy_ms) {
	if (!duckdb_je_mallctl) {
		return -1;
	}
	ssize_t v;
	size_t len = sizeof v;
	int rc = duckdb_je_mallctl("arenas.dirty_decay_ms", &v, &len, NULL, 0);
	if (rc != 0) {
		return rc;
	}
	*dirty_ms = v;
	len = sizeof v;
	if ((rc = duckdb_je_mallctl("arenas.muzzy_decay_ms", &v, &len, NULL, 0)) != 0) {
		return rc;
	}
	*muzzy_ms = v;
	return 0;
}
*/
import "C"

import (
	"fmt"
	"time"
)

// skipMuzzyPages makes DuckDB's jemalloc hand the pages it purges back to
// the system at once (MADV_DONTNEED), instead of first marking them free
// (MADV_FREE, jemalloc's muzzy stage): the kernel takes such pages back
// only under memory pressure, and until then they count as resident. It
// reports whether the library has jemalloc and took the setting.
func skipMuzzyPages() (bool, error) {
	switch rc := C.jsync_je_muzzy(0); rc {
	case -1:
		return false, nil
	case 0:
		return true, nil
	default:
		return false, fmt.Errorf("set DuckDB's allocator muzzy decay: mallctl error %d", int(rc))
	}
}

// allocatorDecay reads the decay of DuckDB's jemalloc for new arenas; ok
// is false where the library has no jemalloc.
func allocatorDecay() (dirty, muzzy time.Duration, ok bool) {
	var d, m C.long
	if C.jsync_je_read_decay(&d, &m) != 0 {
		return 0, 0, false
	}
	return time.Duration(d) * time.Millisecond, time.Duration(m) * time.Millisecond, true
}
