//go:build duckdb_arrow && linux && cgo

package duckdb

import "testing"

// TestPinMallocThreshold checks that glibc takes the setting, and that an
// explicit MALLOC_MMAP_THRESHOLD_ is left to glibc.
func TestPinMallocThreshold(t *testing.T) {
	if !PinMallocThreshold() {
		t.Error("PinMallocThreshold did not set glibc's mmap threshold")
	}
	t.Setenv("MALLOC_MMAP_THRESHOLD_", "131072")
	if PinMallocThreshold() {
		t.Error("PinMallocThreshold overrode MALLOC_MMAP_THRESHOLD_")
	}
}
