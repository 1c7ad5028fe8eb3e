package jira

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/engine/state"
)

// TestOverlapSeen: the overlap set keeps the issues at or after the bound
// (the newest `updated` per id), round-trips through its encoding, and past
// maxOverlapSeen keeps the most recently updated issues.
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
	// An issue two slices of the run read changed during the run: the next
	// run reads it again.
	g := &issueFetch{read: map[string]time.Time{"3": ms(7500), "5": ms(8000), "6": ms(8500)},
		readNow: map[string]bool{"3": true, "5": true, "6": true}, reread: map[string]bool{"6": true}}
	f.readNow = map[string]bool{"2": true, "3": true, "4": true}
	if got := overlapSeen(prev, []*issueFetch{f, g}, ms(5000)); got != "2:6000,5:8000" {
		t.Errorf("overlapSeen with issues read twice in the run = %q, want them left out", got)
	}
	f.readNow = nil
	if got := parseOverlapSeen("7:12,bad,:3,8:x"); len(got) != 1 || !got["7"].Equal(ms(12)) {
		t.Errorf("parseOverlapSeen of damaged text = %v, want only 7", got)
	}
	// Past the bound: the newest maxOverlapSeen entries stay. Issue i was
	// updated at i ms; the 10 oldest go, whatever their ids sort as.
	big := &issueFetch{read: map[string]time.Time{}}
	for i := range maxOverlapSeen + 10 {
		big.read[strconv.Itoa(i)] = ms(int64(i))
	}
	kept := parseOverlapSeen(overlapSeen(nil, []*issueFetch{big}, ms(0)))
	if len(kept) != maxOverlapSeen {
		t.Fatalf("overlapSeen past the bound kept %d entries, want %d", len(kept), maxOverlapSeen)
	}
	for i := range 10 {
		if _, ok := kept[strconv.Itoa(i)]; ok {
			t.Errorf("overlapSeen past the bound kept issue %d, one of the 10 oldest", i)
		}
	}
	if _, ok := kept[strconv.Itoa(maxOverlapSeen+9)]; !ok {
		t.Errorf("overlapSeen past the bound dropped the newest issue")
	}
}

// TestIssuesSince: the search starts the overlap before the later of the
// cursor and searched_at; a first or full sync starts at the start date.
func TestIssuesSince(t *testing.T) {
	at := func(s string) time.Time { return time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Add(mustDuration(t, s)) }
	s := &Source{cfg: Config{Overlap: 5 * time.Minute, StartDate: at("0s").AddDate(-1, 0, 0)}}
	for _, tc := range []struct {
		name   string
		cursor string
		extra  map[string]string
		full   bool
		want   time.Time
	}{
		{"first sync", "", nil, false, at("0s").AddDate(-1, 0, 0)},
		{"full sync", at("10h").Format(time.RFC3339Nano), nil, true, at("0s").AddDate(-1, 0, 0)},
		{"cursor alone", at("10h").Format(time.RFC3339Nano), nil, false, at("9h55m")},
		{"searched after the last change", at("10h").Format(time.RFC3339Nano),
			map[string]string{extraSearchedAt: at("12h").Format(time.RFC3339Nano)}, false, at("11h55m")},
		{"searched before the cursor", at("10h").Format(time.RFC3339Nano),
			map[string]string{extraSearchedAt: at("9h").Format(time.RFC3339Nano)}, false, at("9h55m")},
		{"searched_at unreadable", at("10h").Format(time.RFC3339Nano),
			map[string]string{extraSearchedAt: "yesterday"}, false, at("9h55m")},
	} {
		got, err := s.issuesSince(state.TableState{Cursor: tc.cursor, Extra: tc.extra}, tc.full, at("13h"))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: issuesSince = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestPlanNotes: the plan notes a scope change only for the issues of an
// incremental sync whose recorded scope differs, and only when sweeps run.
func TestPlanNotes(t *testing.T) {
	s := &Source{cfg: Config{Projects: []string{"OPS", "ENG"}}}
	now := s.scope()
	for _, tc := range []struct {
		name  string
		table string
		st    state.TableState
		sweep time.Duration
		want  bool
	}{
		{"scope changed", TableIssues, state.TableState{Cursor: "x", Extra: map[string]string{extraScope: "projects=ENG;start=default"}}, 0, true},
		{"same scope", TableIssues, state.TableState{Cursor: "x", Extra: map[string]string{extraScope: now}}, 0, false},
		{"scope not recorded yet", TableIssues, state.TableState{Cursor: "x"}, 0, false},
		{"first sync", TableIssues, state.TableState{Extra: map[string]string{extraScope: "projects=ENG;start=default"}}, 0, false},
		{"sweeps turned off", TableIssues, state.TableState{Cursor: "x", Extra: map[string]string{extraScope: "projects=ENG;start=default"}}, -1, false},
		{"another table", TableIssueComments, state.TableState{Cursor: "x", Extra: map[string]string{extraScope: "projects=ENG;start=default"}}, 0, false},
	} {
		s.cfg.DeleteSweepInterval = tc.sweep
		if got := len(s.PlanNotes(tc.table, tc.st)) > 0; got != tc.want {
			t.Errorf("%s: note %v, want %v", tc.name, got, tc.want)
		}
	}
	if now != "projects=ENG,OPS;start=default" {
		t.Errorf("scope %q: want the keys sorted", now)
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
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
		all:        []*tableOut{links, sprints, worklogs},
	}
	worklogs.batchKeys = map[string]struct{}{}
	f.finished(3 * time.Second)
	if worklogs.batchKeys != nil {
		t.Error("batch key set kept after finished: its buckets would stay for the rest of the run")
	}
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

func TestBalancedCuts(t *testing.T) {
	cases := []struct {
		name   string
		counts []int64
		n      int
		want   []int
	}{
		{"even", []int64{10, 10, 10, 10, 10, 10, 10, 10}, 4, []int{2, 4, 6}},
		{"skewed to recent", []int64{1, 1, 2, 2, 4, 8, 14, 32}, 4, []int{6, 7}},
		{"one heavy part", []int64{0, 0, 100, 0}, 4, []int{3}},
		{"empty head", []int64{0, 0, 0, 5, 5, 5, 5}, 2, []int{5}},
		{"all zero", []int64{0, 0, 0}, 2, nil},
		{"one slice", []int64{3, 4}, 1, []int{}},
		{"more slices than parts", []int64{5, 5}, 4, []int{1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := balancedCuts(c.counts, c.n)
			if !slices.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("balancedCuts(%v, %d) = %v, want %v", c.counts, c.n, got, c.want)
			}
			prev := 0
			for _, k := range got {
				if k <= prev || k >= len(c.counts) {
					t.Fatalf("cut %d out of order or range in %v", k, got)
				}
				prev = k
			}
		})
	}
}
