package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

// TestParseInterspersed: options are parsed wherever they stand among the
// arguments, and "--" ends them.
func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		pos     []string
		configs []string
	}{
		{[]string{"list"}, []string{"list"}, nil},
		{[]string{"-config=a.hcl", "list"}, []string{"list"}, []string{"a.hcl"}},
		{[]string{"list", "-config=a.hcl"}, []string{"list"}, []string{"a.hcl"}},
		{[]string{"show", "-config", "a.hcl", "sync.x.y", "-config=b.hcl"}, []string{"show", "sync.x.y"}, []string{"a.hcl", "b.hcl"}},
		{[]string{"rm", "--", "-config=a.hcl"}, []string{"rm", "-config=a.hcl"}, nil},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var configs multiFlag
		fs.Var(&configs, "config", "")
		pos, _, done := parseInterspersed(fs, tc.args)
		if done || !slices.Equal(pos, tc.pos) || !slices.Equal(configs, tc.configs) {
			t.Errorf("%q: arguments %q, -config %q, done %v; want %q, %q", tc.args, pos, configs, done, tc.pos, tc.configs)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, code, done := parseInterspersed(fs, []string{"list", "-nope"}); !done || code != exitError {
		t.Errorf("an unknown option after an argument: done %v, code %d; want done, %d", done, code, exitError)
	}
	if _, code, done := parseInterspersed(fs, []string{"list", "-h"}); !done || code != exitOK {
		t.Errorf("-h after an argument: done %v, code %d; want done, %d", done, code, exitOK)
	}
}
