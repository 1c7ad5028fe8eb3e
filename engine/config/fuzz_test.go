package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes the loader or the diagnostic renderer
// panic, and that a load without errors yields a usable configuration. The
// seed corpus is every fixture plus testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.hcl", "testdata/error-files/*.hcl"} {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	opts := testOptions()
	opts.Vars = map[string]string{"token": "fuzz-token"}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, diags := load([]fileSource{{Name: "fuzz.hcl", Src: src}}, opts)
		if cfg == nil {
			t.Fatal("nil config")
		}
		if err := cfg.WriteDiagnostics(io.Discard, diags, true); err != nil {
			t.Fatal(err)
		}
		if diags.HasErrors() {
			return
		}
		for name, s := range cfg.Syncs {
			if s.Source == nil || s.Destination == nil {
				t.Fatalf("sync %s loaded without source or destination", name)
			}
			if s.Schedule.String() == "" {
				t.Fatalf("sync %s has no schedule", name)
			}
		}
		if cfg.Digest == "" {
			t.Fatal("no digest")
		}
	})
}
