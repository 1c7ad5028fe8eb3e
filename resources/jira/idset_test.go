package jira

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestIDSetRoundTrip(t *testing.T) {
	tests := []struct {
		name, in, out string
		len           uint64
		err           string
	}{
		{"empty", "", "", 0, ""},
		{"one", "10001", "10001", 1, ""},
		{"ranges", "10000-10499,10501,10503-10600", "10000-10499,10501,10503-10600", 599, ""},
		{"adjacent parts join", "5,6,7-9,10", "5-10", 6, ""},
		{"unordered and overlapping", "20-30,1,25-40", "1,20-40", 22, ""},
		{"large ids", "9000000000-9000000002", "9000000000-9000000002", 3, ""},
		{"bad id", "10,x", "", 0, `bad id "x"`},
		{"negative", "-5", "", 0, `bad id "-5"`},
		{"backwards range", "9-3", "", 0, `bad range "9-3"`},
		{"range too large", "1-200000000", "", 0, `bad range "1-200000000"`},
		{"empty part", "1,,2", "", 0, `bad id ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseIDSet(tt.in)
			if !errMatches(t, err, tt.err) {
				return
			}
			if got := s.String(); got != tt.out || s.GetCardinality() != tt.len {
				t.Fatalf("String() = %q with %d ids, want %q with %d", got, s.GetCardinality(), tt.out, tt.len)
			}
		})
	}
}

func TestMergeKnown(t *testing.T) {
	parse := func(s string) *idSet {
		set, err := parseIDSet(s)
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	k := knownIDs{"A": parse("1-10"), "B": parse("20-30")}
	// 5 moved to B, 25 moved to C (a new project), 11 and 31 are new.
	mergeKnown(k, map[int64]string{5: "B", 25: "C", 11: "A", 31: "B", 20: "B"})
	got := map[string]string{}
	for pid, set := range k {
		got[pid] = set.String()
	}
	want := map[string]string{"A": "1-4,6-11", "B": "5,20-24,26-31", "C": "25"}
	if !maps.Equal(got, want) {
		t.Errorf("known = %v, want %v", got, want)
	}
	if !k["B"].has(5) || k["A"].has(5) || k["Z"].has(5) || k["A"].has(-1) {
		t.Error("has disagrees with the sets")
	}
	extra := k.extra(map[string]string{"other": "x", extraKnownPrefix + "gone": "1-3"})
	keys := slices.Sorted(maps.Keys(extra))
	if want := []string{"other", extraKnownPrefix + "A", extraKnownPrefix + "B", extraKnownPrefix + "C"}; !slices.Equal(keys, want) {
		t.Errorf("extra keys = %v, want %v", keys, want)
	}
}

// has reports whether id is in s (a nil set holds nothing).
func (s *idSet) has(id int64) bool { return s != nil && id >= 0 && s.Contains(uint64(id)) }

// errMatches fails t unless err contains want (no error when want is
// empty), and reports whether the case goes on to check a result.
func errMatches(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatal(err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("err = %v, want %q", err, want)
	}
	return want == ""
}

func TestIDBounds(t *testing.T) {
	set := func(ids ...uint64) *idSet {
		s := newIDSet()
		for _, id := range ids {
			s.add(int64(id))
		}
		return s
	}
	seq := func(from, n uint64) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = from + uint64(i)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		known *idSet
		page  uint64
		parts int
		want  []int64
	}{
		{"none known", set(), 1000, 8, nil},
		{"one page", set(seq(10000, 1000)...), 1000, 8, nil},
		{"just over a page", set(seq(10000, 1001)...), 1000, 8, []int64{10500}},
		{"four pages, two parts", set(seq(10000, 4000)...), 1000, 2, []int64{12000}},
		{"four pages, eight parts", set(seq(10000, 4000)...), 1000, 8, []int64{11000, 12000, 13000}},
		{"concurrency 1", set(seq(10000, 4000)...), 1000, 1, nil},
		{"concurrency 0 counts as 1", set(seq(10000, 4000)...), 1000, 0, nil},
		// Cut by count, not by id: the sparse ids above 1,000,000 get a
		// range of their own.
		{"skewed", set(append(seq(1, 2000), seq(1000000, 2000)...)...), 1000, 2, []int64{1000000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := idBounds(tc.known, tc.page, tc.parts); !slices.Equal(got, tc.want) {
				t.Errorf("idBounds = %v, want %v", got, tc.want)
			}
		})
	}
}
