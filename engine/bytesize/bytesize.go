// Package bytesize reads memory sizes written the way DuckDB takes them:
// a number, optional spaces and a unit ("512MB", "2 GiB", "1.5GB"). KB, MB,
// GB and TB are powers of 1000; KiB, MiB, GiB and TiB powers of 1024; units
// are case-insensitive. The config validates memory_limit with it and the
// DuckDB destination reads the bytes from it, so both agree on one grammar.
package bytesize

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]i?b|b)$`)

var units = map[string]float64{
	"b":  1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// Parse returns the bytes s stands for.
func Parse(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, fmt.Errorf("%q is not a memory size: write a number and a unit, for example \"512MB\" or \"2GB\"", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a memory size: %w", s, err)
	}
	b := n * units[m[2]]
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large a memory size", s)
	}
	return int64(b), nil
}
