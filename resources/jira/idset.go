package jira

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
)

// idSet is a set of numeric Jira ids, stored in state as sorted ranges
// ("10000-10499,10501,10503-10600"). The delete sweep needs them: the
// source cannot read the destination, so it remembers which issues it
// wrote, per project. In memory the set is a compressed bitmap: issue ids
// are dense, so a site's known ids take a few bytes per run of ids, where
// a Go map took about 25 bytes per issue (5 MB at 200,000 issues, growing
// with the site).
type idSet struct{ roaring64.Bitmap }

// maxIDRange bounds one range of a stored set: a larger one is damage,
// not a site.
const maxIDRange = 1e8

func newIDSet() *idSet { return &idSet{Bitmap: *roaring64.New()} }

func parseIDSet(s string) (*idSet, error) {
	set := newIDSet()
	if s == "" {
		return set, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 63)
		if err != nil {
			return nil, fmt.Errorf("id set: bad id %q", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 63); err != nil || b < a || b-a > maxIDRange {
				return nil, fmt.Errorf("id set: bad range %q", part)
			}
		}
		set.AddRange(a, b+1)
	}
	return set, nil
}

func (s *idSet) add(id int64) { s.Add(uint64(id)) }

// String renders the set as sorted ranges.
func (s *idSet) String() string {
	var b strings.Builder
	it := s.Iterator()
	for it.HasNext() {
		lo := it.Next()
		hi := lo
		for it.HasNext() && it.PeekNext() == hi+1 {
			hi = it.Next()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(lo, 10))
		if hi > lo {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(hi, 10))
		}
	}
	return b.String()
}
