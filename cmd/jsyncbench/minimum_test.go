package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCeilDiv(t *testing.T) {
	tests := []struct{ a, b, want int64 }{{0, 100, 0}, {-3, 100, 0}, {1, 100, 1}, {100, 100, 1}, {101, 100, 2}, {50000, 100, 500}}
	for _, tt := range tests {
		if got := ceilDiv(tt.a, tt.b); got != tt.want {
			t.Errorf("ceilDiv(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestAPIMinimum(t *testing.T) {
	tests := []struct {
		name  string
		shape datasetShape
		want  minimum
	}{
		{
			name: "benchmark-like dataset",
			shape: datasetShape{
				Issues: 50_000, Comments: 300_000, Histories: 400_000, Worklogs: 108_101,
				Projects: 6, Users: 40, Boards: 8,
				OverComments:  []int64{250, 21, 100, 101}, // 3 + 1 + 1 + 2 pages of 100
				OverHistories: repeat(41, 1017),           // 2 requests by ids, but 41,697 histories need 5 pages
				OverWorklogs:  []int64{60, 21},            // 2 per-issue pages < the feed
			},
			want: minimum{
				Search: 500, Changelog: 5, Comments: 7,
				WorklogsViaFeed: 109 + 109, WorklogsPerIssue: 2, Worklogs: 2,
				// 9 single calls + 1 project page + 2×6 + 1 user page + 1 board page + 8 sprint pages
				Catalogue: 9 + 1 + 12 + 1 + 1 + 8,
			},
		},
		{
			name: "histories bound by page size, worklogs by the feed",
			shape: datasetShape{
				Issues: 1000, Worklogs: 1000, Projects: 1, Users: 999, Boards: 0,
				OverHistories: []int64{9000, 9000, 9000}, // 27000 histories: 3 pages of 10000
				OverWorklogs:  []int64{21, 21, 21},       // 3 per-issue pages > feed 1 + 1
			},
			want: minimum{
				Search: 10, Changelog: 3, Comments: 0,
				WorklogsViaFeed: 2, WorklogsPerIssue: 3, Worklogs: 2,
				Catalogue: 9 + 1 + 2 + 1 + 1 + 0, // users: ⌈1000/1000⌉; no boards still costs one board page
			},
		},
		{
			name:  "empty site still asks once",
			shape: datasetShape{},
			want:  minimum{Search: 1, WorklogsViaFeed: 1, Catalogue: 9 + 1 + 0 + 1 + 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apiMinimum(tt.shape, jiraCloudLimits)
			if got != tt.want {
				t.Errorf("apiMinimum =\n%+v\nwant\n%+v", got, tt.want)
			}
			if got.Total() != got.Search+got.Changelog+got.Worklogs+got.Comments+got.Catalogue {
				t.Errorf("Total %d does not add up", got.Total())
			}
		})
	}
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestNaiveRequests(t *testing.T) {
	s := datasetShape{Issues: 1000, Projects: 2, Users: 10, Boards: 1}
	m := apiMinimum(s, jiraCloudLimits)
	if got, want := naiveRequests(s, jiraCloudLimits), m.Search+m.Catalogue+4000; got != want {
		t.Errorf("naive = %d, want %d", got, want)
	}
}

func TestMinimumFormulaStatesLimits(t *testing.T) {
	f := minimumFormula(jiraCloudLimits)
	for _, want := range []string{"⌈issues ÷ 100⌉", "changelog/bulkfetch", "worklog/updated", "worklog/list", "issue/{id}/comment", "catalogue", "Naive"} {
		if !strings.Contains(f, want) {
			t.Errorf("formula lacks %q:\n%s", want, f)
		}
	}
	if strings.Contains(f, "%!") {
		t.Errorf("formula has a formatting error:\n%s", f)
	}
}

func TestDependentChainAndFloor(t *testing.T) {
	tests := []struct {
		issues int64
		slices int
		want   int64
	}{
		{20000, 8, 2 + 25},
		{20000, 1, 2 + 200},
		{50, 8, 2 + 1},
		{0, 8, 2 + 1},
		{20000, 0, 2 + 200}, // treated as one slice
	}
	for _, tt := range tests {
		if got := dependentChain(tt.issues, 100, tt.slices); got != tt.want {
			t.Errorf("dependentChain(%d, %d) = %d, want %d", tt.issues, tt.slices, got, tt.want)
		}
	}
	if got := latencyFloor(700, 100, 150*time.Millisecond, 27); got != 7*time.Second {
		t.Errorf("rate-bound floor = %v, want 7s", got)
	}
	if got := latencyFloor(300, 100, 150*time.Millisecond, 27); got != 4050*time.Millisecond {
		t.Errorf("chain-bound floor = %v, want 4.05s", got)
	}
}

func TestCompareParts(t *testing.T) {
	st := simStats{Endpoints: map[string]map[string]int64{
		"POST /rest/api/3/search/jql":               {"200": 510, "429": 5},
		"POST /rest/api/3/changelog/bulkfetch":      {"200": 40},
		"GET /rest/api/3/issue/{id}/changelog":      {"200": 2},
		"GET /rest/api/3/worklog/updated":           {"200": 110},
		"POST /rest/api/3/worklog/list":             {"200": 109},
		"GET /rest/api/3/issue/{id}/worklog":        {"200": 3},
		"GET /rest/api/3/issue/{id}/comment":        {"200": 1500},
		"GET /rest/api/2/serverInfo":                {"200": 1},
		"POST /rest/api/3/search/approximate-count": {"200": 1},
		"GET /rest/api/3/project/search":            {"200": 1},
		"GET /rest/agile/1.0/board/{id}/sprint":     {"200": 8},
	}}
	m := minimum{Search: 500, Changelog: 7, Worklogs: 218, Comments: 1474, Catalogue: 32}
	got := compareParts(m, st)
	want := []partCount{
		{"search (search/jql)", 500, 515},
		{"changelog (bulkfetch, issue changelog)", 7, 42},
		{"worklogs (feed, list, issue worklog)", 218, 222},
		{"comments (issue comment)", 1474, 1500},
		{"not in the minimum (serverInfo, myself, approximate-count)", 0, 2},
		{"catalogue (everything else)", 32, 9},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("compareParts =\n%+v\nwant\n%+v", got, want)
	}
}
