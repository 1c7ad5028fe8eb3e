//go:build duckdb_arrow

package duckdb

// SetGateWAL sets the WAL size past which a Write's commit asks for a
// checkpoint (checkpointGate), for the tests of package duckdb_test.
func SetGateWAL(n int64) { gateWAL = n }

// SetFlushAfter sets the bytes written after which DuckDB's allocator
// flushes (noteWritten) and returns the previous value.
func SetFlushAfter(n int64) int64 { old := flushAfter; flushAfter = n; return old }

// AllocatorDecay is allocatorDecay, for the tests of package duckdb_test.
var AllocatorDecay = allocatorDecay
