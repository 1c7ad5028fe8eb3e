package jira

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// idSet is a set of numeric Jira ids, stored in state as sorted ranges
// ("10000-10499,10501,10503-10600"). Issue ids are dense, so the known ids of
// a project take a few bytes per gap rather than per issue. The delete sweep
// needs them: the source cannot read the destination, so it remembers which
// issues it wrote, per project.
type idSet map[int64]struct{}

func parseIDSet(s string) (idSet, error) {
	set := idSet{}
	if s == "" {
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("id set: bad id %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a || b-a > 1e8 {
				return nil, fmt.Errorf("id set: bad range %q", part)
			}
		}
		for n := a; n <= b; n++ {
			set[n] = struct{}{}
		}
	}
	return set, nil
}

func (s idSet) String() string {
	ids := make([]int64, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(ids[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatInt(ids[j], 10))
		}
		i = j + 1
	}
	return b.String()
}
