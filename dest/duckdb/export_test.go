//go:build duckdb_arrow

package duckdb

// SetGateWAL sets the WAL size past which a Write's commit asks for a
// checkpoint (checkpointGate), for the tests of package duckdb_test.
func SetGateWAL(n int64) { gateWAL = n }
