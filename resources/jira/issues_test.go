package jira

import (
	"strconv"
	"testing"
	"time"
)

// TestOverlapSeen: the overlap set keeps the issues at or after the bound
// (the newest `updated` per id), round-trips through its encoding, and is
// dropped past maxOverlapSeen.
func TestOverlapSeen(t *testing.T) {
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	prev := map[string]time.Time{"1": ms(1000), "2": ms(5000)}
	f := &issueFetch{read: map[string]time.Time{"2": ms(6000), "3": ms(7000), "4": ms(100)}}
	for _, tc := range []struct {
		name string
		from time.Time
		want string
	}{
		{"all", ms(0), "1:1000,2:6000,3:7000,4:100"},
		{"bounded", ms(5000), "2:6000,3:7000"},
		{"none", ms(9000), ""},
	} {
		got := overlapSeen(prev, []*issueFetch{f}, tc.from)
		if got != tc.want {
			t.Errorf("%s: overlapSeen = %q, want %q", tc.name, got, tc.want)
		}
		back := parseOverlapSeen(got)
		if again := overlapSeen(back, nil, ms(0)); again != got {
			t.Errorf("%s: round trip %q → %q", tc.name, got, again)
		}
	}
	if got := parseOverlapSeen("7:12,bad,:3,8:x"); len(got) != 1 || !got["7"].Equal(ms(12)) {
		t.Errorf("parseOverlapSeen of damaged text = %v, want only 7", got)
	}
	big := &issueFetch{read: map[string]time.Time{}}
	for i := 0; i <= maxOverlapSeen; i++ {
		big.read[strconv.Itoa(i)] = ms(1)
	}
	if got := overlapSeen(nil, []*issueFetch{big}, ms(0)); got != "" {
		t.Errorf("overlapSeen past the bound kept %d bytes", len(got))
	}
}

// TestFinishedSlice: a finished slice keeps only the reads the overlap set
// can still use (updated within the overlap of its last `updated`), and
// stops remembering link and sprint keys.
func TestFinishedSlice(t *testing.T) {
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	links := &tableOut{runKeys: map[string]struct{}{"a": {}}}
	sprints := &tableOut{runKeys: map[string]struct{}{"b": {}}}
	worklogs := &tableOut{runKeys: map[string]struct{}{"c": {}}}
	f := &issueFetch{
		maxUpdated: ms(10_000),
		read:       map[string]time.Time{"old": ms(1_000), "edge": ms(7_000), "new": ms(9_500)},
		outs:       issueOuts{links: links, sprintIssues: sprints, worklogs: worklogs},
	}
	f.finished(3 * time.Second)
	if _, ok := f.read["old"]; ok || len(f.read) != 2 {
		t.Errorf("reads after finished = %v, want edge and new", f.read)
	}
	if links.runKeys != nil || sprints.runKeys != nil {
		t.Errorf("link/sprint keys kept: %v %v", links.runKeys, sprints.runKeys)
	}
	if len(worklogs.runKeys) != 1 {
		t.Errorf("worklog keys = %v, want kept (worklog/updated uses them)", worklogs.runKeys)
	}
	// What the slice keeps is what overlapSeen would use at the cursor.
	if got := overlapSeen(nil, []*issueFetch{f}, ms(10_000).Add(-3*time.Second)); got != "edge:7000,new:9500" {
		t.Errorf("overlapSeen after finished = %q", got)
	}
}
