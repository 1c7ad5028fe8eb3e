//go:build duckdb_arrow && !(linux && cgo)

package duckdb

// TuneMalloc is a no-op: the glibc settings it makes (see the Linux
// version) do not apply here.
func TuneMalloc() []string { return nil }
