//go:build duckdb_arrow && !(linux && cgo)

package duckdb

import "time"

// skipMuzzyPages does nothing: DuckDB bundles jemalloc on Linux only.
func skipMuzzyPages() (bool, error) { return false, nil }

// allocatorDecay reports no jemalloc.
func allocatorDecay() (dirty, muzzy time.Duration, ok bool) { return 0, 0, false }
