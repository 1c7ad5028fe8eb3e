//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDestinationPathWritable: plan refuses a destination apply could not
// write (a file or directory of another user), instead of planning tables
// that apply then fails to create. Permissions do not bind root, so the
// test needs another user.
func TestDestinationPathWritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write anywhere: run as another user to check permissions")
	}
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	roFile := filepath.Join(dir, "ro.duckdb")
	if err := os.WriteFile(roFile, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(ro, 0o755) })
	for _, tc := range []struct {
		name, path string
		check      func(string) error
		want       string // in the error; "" = no error
	}{
		{"new file in a writable directory", filepath.Join(dir, "new", "jira.duckdb"), creatable, ""},
		{"new file in a read-only directory", filepath.Join(ro, "jira.duckdb"), creatable, "may not write in " + ro},
		{"new file below a read-only directory", filepath.Join(ro, "sub", "jira.duckdb"), creatable, "may not write in " + ro},
		{"read-only file", roFile, writableFile, "may not write " + roFile},
		{"lake directory read-only", ro, writableFile, "may not write " + ro},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check(tc.path)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
