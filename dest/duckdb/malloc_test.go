//go:build duckdb_arrow && linux && cgo

package duckdb

import (
	"slices"
	"testing"
)

// TestTuneMalloc checks that glibc takes every setting, and that one given
// in the environment is left to glibc.
func TestTuneMalloc(t *testing.T) {
	all := []string{"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX"}
	if got := TuneMalloc(); !slices.Equal(got, all) {
		t.Errorf("TuneMalloc set %q, want %q", got, all)
	}
	t.Setenv("MALLOC_MMAP_THRESHOLD_", "131072")
	t.Setenv("MALLOC_ARENA_MAX", "8")
	if got, want := TuneMalloc(), []string{"MALLOC_TRIM_THRESHOLD_"}; !slices.Equal(got, want) {
		t.Errorf("with two settings in the environment, TuneMalloc set %q, want %q", got, want)
	}
}
