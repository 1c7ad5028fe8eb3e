package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDestinationPathWritable: plan refuses a destination apply could not
// write (a file or directory this user may not write), instead of planning
// tables that apply then fails to create; state list and show, which only
// read, do not check. writable is stubbed with the paths denied, as
// permissions do not bind root.
func TestDestinationPathWritable(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	roFile := filepath.Join(dir, "ro.duckdb")
	lake := filepath.Join(dir, "lake")
	for _, d := range []string{ro, lake} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(roFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	denied := map[string]bool{ro: true, roFile: true, lake: true}
	old := writable
	writable = func(p string) bool { return !denied[p] }
	t.Cleanup(func() { writable = old })
	for _, tc := range []struct {
		name  string
		check func() error
		want  string // in the error; "" = no error
	}{
		{"new file in a writable directory", func() error { return creatable(filepath.Join(dir, "new", "jira.duckdb"), true) }, ""},
		{"new file in a read-only directory", func() error { return creatable(filepath.Join(ro, "jira.duckdb"), true) }, "may not write in " + ro},
		{"new file below a read-only directory", func() error { return creatable(filepath.Join(ro, "sub", "jira.duckdb"), true) }, "may not write in " + ro},
		{"new file in a read-only directory, only read", func() error { return creatable(filepath.Join(ro, "jira.duckdb"), false) }, ""},
		{"new file below a regular file", func() error { return creatable(filepath.Join(roFile, "jira.duckdb"), false) }, "is not a directory"},
		{"read-only file", func() error { return writableFile(roFile) }, "may not write " + roFile},
		{"read-only lake directory", func() error { return writableFile(lake) }, "may not write " + lake},
		{"writable file", func() error { return writableFile(filepath.Join(ro, "..", "ro.duckdb.wal")) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
