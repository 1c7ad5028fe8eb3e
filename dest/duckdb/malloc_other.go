//go:build duckdb_arrow && !(linux && cgo)

package duckdb

// PinMallocThreshold is a no-op: the glibc setting it makes (see the Linux
// version) does not apply here.
func PinMallocThreshold() bool { return false }
