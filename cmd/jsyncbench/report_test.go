package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleTop = `File: jsync
Build ID: abc
Type: cpu
Time: 2026-11-29 08:00:00 UTC
Duration: 30.11s, Total samples = 50.20s (166.72%)
Showing nodes accounting for 40s, 79.68% of 50.20s total
Dropped 900 nodes (cum <= 0.25s)
      flat  flat%   sum%        cum   cum%
     10.0s 19.92% 19.92%     12.0s 23.90%  encoding/json.(*decodeState).object
      8.0s 15.94% 35.86%      8.0s 15.94%  runtime.cgocall
      6.0s 11.95% 47.81%      9.0s 17.93%  runtime.scanobject
      5.0s  9.96% 57.77%      5.0s  9.96%  crypto/internal/fips140/aes/gcm.gcmAesDec
      3.0s  5.98% 63.75%      3.0s  5.98%  github.com/apache/arrow-go/v18/arrow/array.(*StringBuilder).Append
      2.0s  3.98% 67.73%      2.0s  3.98%  syscall.Syscall6
      1.0s  1.99% 69.72%      1.0s  1.99%  github.com/jsync-dev/jsync/engine.(*x).y
`

func TestParseTopAndCategorize(t *testing.T) {
	es := parseTop(sampleTop)
	if len(es) != 7 {
		t.Fatalf("parsed %d entries, want 7: %+v", len(es), es)
	}
	if es[0] != (topEntry{FlatPct: 19.92, CumPct: 23.90, Func: "encoding/json.(*decodeState).object"}) {
		t.Errorf("first entry = %+v", es[0])
	}
	got := categorize(es)
	want := []categoryShare{
		{"JSON decoding", 19.92},
		{"DuckDB and other C code (cgo)", 15.94},
		{"garbage collection and allocation", 11.95},
		{"TLS and crypto", 9.96},
		{"Arrow record building", 5.98},
		{"network and syscalls", 3.98},
		{"other", 1.99},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("categorize =\n%+v\nwant\n%+v", got, want)
	}
	if s := formatShares(got); !strings.HasPrefix(s, "JSON decoding 20%, DuckDB and other C code (cgo) 16%") {
		t.Errorf("formatShares = %q", s)
	}
	top := topLines(sampleTop, 2)
	if strings.Contains(top, "Build ID") || strings.Contains(top, "runtime.scanobject") || !strings.Contains(top, "runtime.cgocall") ||
		!strings.Contains(top, "Duration: 30.11s") {
		t.Errorf("topLines(2) =\n%s", top)
	}
}

func TestOwnStages(t *testing.T) {
	cum := `      flat  flat%   sum%        cum   cum%
         0     0%     0%      4.73s 59.13%  github.com/jsync-dev/jsync/resources/jira/client.(*Client).EachCursorPagePOST
         0     0%     0%      4.70s 58.38%  runtime.goexit
         0     0%     0%      4.67s 58.38%  github.com/jsync-dev/jsync/resources/jira.(*issueFetch).pages
         0     0%     0%      4.67s 58.38%  github.com/jsync-dev/jsync/resources/jira.(*issueFetch).pages.func1
     0.01s  0.12%  0.12%      3.68s 46.00%  github.com/jsync-dev/jsync/dest/duckdb.(*Destination).Write
`
	got := ownStages(cum, 2)
	want := []topEntry{
		{CumPct: 59.13, Func: "resources/jira/client.(*Client).EachCursorPagePOST"},
		{CumPct: 58.38, Func: "resources/jira.(*issueFetch).pages"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ownStages = %+v, want %+v", got, want)
	}
	if got := ownStages(cum, 10); len(got) != 3 || got[2].Func != "dest/duckdb.(*Destination).Write" {
		t.Errorf("ownStages(10) = %+v (closures with the parent's share are skipped)", got)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 50000: "50,000", 1234567: "1,234,567", -4000: "-4,000"} {
		if got := fmtInt(in); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", in, got, want)
		}
	}
	if got := fmtDur(1500 * time.Millisecond); got != "1.50 s" {
		t.Errorf("fmtDur = %q", got)
	}
	if got := fmtDur(95 * time.Second); got != "95.0 s" {
		t.Errorf("fmtDur = %q", got)
	}
	if got := fmtMB(150 << 20); got != "150 MB" {
		t.Errorf("fmtMB = %q", got)
	}
	if got := perThousand(1234, 50000); got != "24.7" {
		t.Errorf("perThousand = %q", got)
	}
	if got := perThousand(5, 0); got != "—" {
		t.Errorf("perThousand with no issues = %q", got)
	}
}

func TestWriteMarkdown(t *testing.T) {
	shape := &datasetShape{Issues: 50000, Comments: 300000, Histories: 400000, Worklogs: 100000, Projects: 6, Users: 40, Boards: 8,
		OverComments: make([]int64, 1000), OverHistories: make([]int64, 1000), OverWorklogs: make([]int64, 500),
		MaxComments: 250, MaxHistories: 150, MaxWorklogs: 60}
	r := &report{
		Started: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC), Elapsed: 25 * time.Minute, Command: "jsyncbench -out BENCHMARKS.md",
		Machine: machineFacts{Cores: 2, CPU: "Test CPU", MemTotal: "23.4 GiB", GoVersion: "go1.26.8", OS: "linux/amd64", Commit: "abc1234", JsyncVer: "jsync dev", LoadAvg: "0.1 0.2 0.3"},
		Budget:  "Budget note.",
		Shape:   shape,
		Formula: minimumFormula(jiraCloudLimits),
		Rows: []row{
			{Scenario: nameS1, Issues: 50000, Requests: 1234, Wall: 100 * time.Second, PeakRSS: 150 << 20, Database: 112 << 20, Reference: "read_json 300 issues/s",
				Ratio: "1.67×", Target: "≥ 0.5× read_json", Verdict: verdictMet, Runs: 3},
			{Scenario: nameS2, Issues: 20000, Requests: 700, Wall: 40 * time.Second, Reference: "floor 7.00 s", Ratio: "5.71×",
				Target: "≤ 1.5× floor", Verdict: verdictNotMet, Runs: 3},
			{Scenario: nameS5, Issues: 200000, Requests: 5000, Wall: 400 * time.Second, Verdict: verdictFailed, Runs: 1},
		},
		Sections: []section{{Title: nameS1, Body: "Detail text.\n"}},
		Gaps:     []string{"2. gap explained"},
		Errors:   []string{"4. could not start"},
	}
	var b strings.Builder
	if err := writeMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# jsync benchmarks",
		"2026-11-29 08:00 UTC (25m0s in total)",
		"| CPU | 2 cores, Test CPU |",
		"| Go | go1.26.8 |",
		"| Peak RSS | Database | Reference |",
		"| 1. Backfill, local | 50,000 | 1,234 | 24.7 | 100.0 s | 500 | 150 MB | 112 MB | read_json 300 issues/s | 1.67× | ≥ 0.5× read_json | met | 3 |",
		"| 2. Backfill at 150 ms, rate 100 | 20,000 | 700 | 35.0 | 40.0 s | 500 | — | — | floor 7.00 s | 5.71× | ≤ 1.5× floor | **not met** | 3 |",
		"| 5. Memory at scale | 200,000 | 5,000 | 25.0 | 400.0 s | — | — | — |", // FAILED: no issues/s
		"**FAILED**",
		"## Unmet targets\n\n- 2. gap explained",
		"## Scenarios that could not run\n\n- 4. could not start",
		"| comments (cap 20) | 300,000 | 6.00 | 1,000 (2.00%) | 250 |",
		"| worklogs (cap 20) | 100,000 | 2.00 | 500 (1.00%) | 60 |",
		"## API minimum (scenario 3)",
		"## 1. Backfill, local\n\nDetail text.",
		"Budget note.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n---\n%s", want, md)
		}
	}
	if strings.Contains(md, "%!") {
		t.Errorf("formatting error in report:\n%s", md)
	}
	if strings.Contains(md, "load =") || !strings.Contains(md, "`make bench` rewrites this file") {
		t.Errorf("a report of jsync's default load names a load mode or the wrong make target:\n%s", md)
	}

	// With -load after_fetch the report says so, and names its own target.
	r.Load = "after_fetch"
	b.Reset()
	if err := writeMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md = b.String()
	for _, want := range []string{"Every sync sets `load = \"after_fetch\"`.", "`make bench-after-fetch` rewrites this file"} {
		if !strings.Contains(md, want) {
			t.Errorf("after_fetch report lacks %q", want)
		}
	}
}

// TestReportKeepsNotes: a new report keeps the hand-written notes of the
// one it replaces, after the generated sections and the included Markdown,
// and says so.
func TestReportKeepsNotes(t *testing.T) {
	notes := notesMarker + "\n\n## Where the remaining gaps come from\n\nWritten by hand.\n"
	for _, tc := range []struct {
		name, prev, want string
	}{
		{"none", "# jsync benchmarks\n\nfigures\n", ""},
		{"after the figures", "# jsync benchmarks\n\nfigures\n\n" + notes, notes},
		{"whole file", notes, notes},
		{"marker inside a line is not one", "text " + notesMarker + "\nmore\n", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keptNotes(tc.prev); got != tc.want {
				t.Errorf("keptNotes = %q, want %q", got, tc.want)
			}
		})
	}

	r := &report{Started: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), Command: "jsyncbench -out BENCHMARKS.md",
		Sections: []section{{Title: nameS1, Body: "Detail text."}}, Gaps: []string{"5. over by 125 MB"},
		Include: "## Destination write throughput\n\nTable.\n", Notes: notes}
	var b strings.Builder
	if err := writeMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if !strings.HasSuffix(md, "Table.\n\n"+notes) {
		t.Errorf("the report does not end with the included section, then the notes:\n%s", md)
	}
	if i, j := strings.Index(md, "Detail text."), strings.Index(md, "## Destination write throughput"); i < 0 || j < i {
		t.Errorf("the included section is not after the generated ones:\n%s", md)
	}
	for _, want := range []string{"rewrites this file, except the notes written by hand at its end, which it keeps.",
		"The notes at the end of this file explain each gap"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// A report written again from this one keeps the same notes.
	if got := keptNotes(md); got != notes {
		t.Errorf("notes of the new report = %q, want %q", got, notes)
	}
}

func TestStats(t *testing.T) {
	before := simStats{Total: 3, Endpoints: map[string]map[string]int64{
		"GET /rest/api/3/search/jql": {"200": 2},
		"GET /rest/api/3/field":      {"200": 1},
	}}
	after := simStats{Total: 12, Endpoints: map[string]map[string]int64{
		"GET /rest/api/3/search/jql":                {"200": 5, "429": 1},
		"POST /rest/api/3/search/jql":               {"200": 1},
		"POST /rest/api/3/search/approximate-count": {"200": 1},
		"GET /rest/api/2/search":                    {"200": 1},
		"GET /rest/api/3/field":                     {"200": 1},
		"POST /rest/api/3/changelog/bulkfetch":      {"200": 2},
		"GET /rest/api/3/project/search":            {"200": 1},
		"GET /rest/api/3/users/search":              {"200": 1},
		"GET /rest/agile/1.0/board/{id}/issue":      {"200": 1},
	}}
	d := after.sub(before)
	if d.Total != 12 {
		t.Errorf("sub total = %d, want 12", d.Total)
	}
	if _, ok := d.Endpoints["GET /rest/api/3/field"]; ok {
		t.Errorf("an unchanged endpoint is kept: %v", d.Endpoints)
	}
	if got := d.count(isSearch); got != 6 { // 3+1 GET jql, 1 POST jql, 1 legacy; not project/users search
		t.Errorf("search requests = %d, want 6", got)
	}
	if got := d.count(isApproximateCount); got != 1 {
		t.Errorf("approximate-count = %d, want 1", got)
	}
	if got := d.status("429"); got != 1 {
		t.Errorf("429s = %d", got)
	}
	be := d.byEndpoint()
	if be[0] != (endpointCount{"GET /rest/api/3/search/jql", 4}) || be[1].Requests != 2 || len(be) != 8 {
		t.Errorf("byEndpoint = %+v", be)
	}
	tbl := endpointTable(d)
	if !strings.Contains(tbl, "| `GET /rest/api/3/search/jql` | 4 |") || !strings.Contains(tbl, "429 Too Many Requests) | 1 |") {
		t.Errorf("endpointTable =\n%s", tbl)
	}
}
