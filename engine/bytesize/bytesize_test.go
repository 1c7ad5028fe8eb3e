package bytesize

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string // substring of the error; "" = no error
	}{
		{"512MB", 512_000_000, ""},
		{"512mb", 512_000_000, ""},
		{" 2 GiB ", 2 << 30, ""},
		{"1.5GB", 1_500_000_000, ""},
		{"100B", 100, ""},
		{"64KiB", 64 << 10, ""},
		{"3TB", 3_000_000_000_000, ""},
		{"1TiB", 1 << 40, ""},
		{"0MB", 0, ""},
		{"512", 0, "write a number and a unit"},
		{"lots", 0, "not a memory size"},
		{"MB", 0, "not a memory size"},
		{"-1GB", 0, "not a memory size"},
		{"1.GB", 0, "not a memory size"},
		{"5 bytes", 0, "not a memory size"},
		{"1PB", 0, "not a memory size"},
		{"99999999999TiB", 0, "too large"},
	} {
		got, err := Parse(c.in)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("Parse(%q): %v", c.in, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("Parse(%q) = %d, %v; want an error containing %q", c.in, got, err, c.err)
		case c.err == "" && got != c.want:
			t.Errorf("Parse(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
