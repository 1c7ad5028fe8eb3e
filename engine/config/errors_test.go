package config

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// expectation is one `# ERROR: <line>:<col> <summary substring>` (or
// `# WARNING: ...`) annotation in an error fixture. A line may carry
// several annotations; they usually trail the line they point at.
type expectation struct {
	severity  hcl.DiagnosticSeverity
	line, col int
	summary   string
}

func (e expectation) String() string {
	sev := "ERROR"
	if e.severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	return fmt.Sprintf("%s %d:%d %s", sev, e.line, e.col, e.summary)
}

var annotationRE = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*(\d+):(\d+)\s+([^#]+)`)

func readExpectations(t *testing.T, path string) []expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, m := range annotationRE.FindAllStringSubmatch(sc.Text(), -1) {
			line, _ := strconv.Atoi(m[2])
			col, _ := strconv.Atoi(m[3])
			sev := hcl.DiagError
			if m[1] == "WARNING" {
				sev = hcl.DiagWarning
			}
			out = append(out, expectation{severity: sev, line: line, col: col, summary: strings.TrimSpace(m[4])})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (e expectation) matches(d *hcl.Diagnostic) bool {
	return d.Severity == e.severity && d.Subject != nil &&
		d.Subject.Start.Line == e.line && d.Subject.Start.Column == e.col &&
		strings.Contains(d.Summary, e.summary)
}

// TestErrorFixtures loads each testdata/error-files/*.hcl on its own and
// checks that the diagnostics are exactly the annotated ones: every
// annotation matched, and no unannotated error or warning.
func TestErrorFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/error-files/*.hcl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no error fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := readExpectations(t, path)
			if len(want) == 0 {
				t.Fatal("fixture has no # ERROR: annotations")
			}
			cfg, diags := LoadFiles([]string{path}, testOptions())
			matched := make([]bool, len(diags))
			for _, w := range want {
				found := false
				for i, d := range diags {
					if !matched[i] && w.matches(d) {
						matched[i], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("missing diagnostic %s", w)
				}
			}
			for i, d := range diags {
				if !matched[i] {
					t.Errorf("unexpected diagnostic %s", describe(d))
				}
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without a subject: %s", describe(d))
				}
				if d.Summary == "" || d.Summary[:1] != strings.ToUpper(d.Summary[:1]) || strings.HasSuffix(d.Summary, ".") {
					t.Errorf("summary is not sentence case: %q", d.Summary)
				}
			}
			out := render(t, cfg, diags)
			for _, d := range diags {
				if d.Severity != hcl.DiagError || d.Subject == nil {
					continue
				}
				loc := fmt.Sprintf("%s:%d,%d-", path, d.Subject.Start.Line, d.Subject.Start.Column)
				if !strings.Contains(out, loc) {
					t.Errorf("rendered output lacks %q:\n%s", loc, out)
				}
			}
			if t.Failed() {
				t.Logf("all diagnostics:%s", summaries(diags))
			}
		})
	}
}

func describe(d *hcl.Diagnostic) string {
	sev := "ERROR"
	if d.Severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	loc := "?:?"
	if d.Subject != nil {
		loc = fmt.Sprintf("%d:%d", d.Subject.Start.Line, d.Subject.Start.Column)
	}
	return fmt.Sprintf("%s %s %s (%s)", sev, loc, d.Summary, d.Detail)
}

// TestErrorFixturesCoverage checks that the fixtures exercise every
// diagnostic the configuration language promises.
func TestErrorFixturesCoverage(t *testing.T) {
	required := []string{
		"Unsupported block type", "Unsupported argument", "Misplaced simulator block", "Misplaced argument",
		"Incorrect attribute value type",
		"Unknown table", "Unknown column", "Columns for an unselected table", "Empty table list", "Empty project list",
		"Invalid reference", "Reference to undeclared source", "Reference to undeclared destination",
		"Reference to undeclared sync", "Reference to undeclared input variable", "Reference to undeclared local value",
		"Unknown variable",
		"Cycle in sync dependencies", "Cycle in local values", "Table written by two syncs",
		"Duplicate source", "Duplicate destination", "Duplicate sync", "Duplicate variable", "Duplicate local value",
		"Missing credentials", "Conflicting credentials", "Unsupported credentials for the simulator", "Missing base_url",
		"Simulator with a remote base_url", "Simulator setting without effect", "Unsupported argument for the simulator",
		"Missing environment variable",
		"Insecure base_url", "Invalid base_url",
		"Invalid schedule", "Invalid start_date", "Invalid load", "Unreadable ca_file", "Invalid ca_file", "Reserved source name", "Reserved schema name", "Partition of a table not written", "Partition column not selected",
		"Unsupported source type", "Unsupported destination type",
		"No value for required variable", "Missing required argument",
	}
	paths, _ := filepath.Glob("testdata/error-files/*.hcl")
	seen := map[string]bool{}
	for _, p := range paths {
		for _, e := range readExpectations(t, p) {
			seen[e.summary] = true
		}
	}
	var missing []string
	for _, r := range required {
		found := false
		for s := range seen {
			if strings.Contains(s, r) || strings.Contains(r, s) && len(s) > len(r)/2 {
				found = true
			}
		}
		if !found {
			missing = append(missing, r)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no error fixture covers: %s", strings.Join(missing, "; "))
	}
}

// TestInvalidUTF8ReportedOnce checks that bytes that are not UTF-8 are
// reported once, as an encoding error at their position, without the parse
// errors HCL adds at the same position.
func TestInvalidUTF8ReportedOnce(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
	}{
		{name: "in a string", src: "destination \"duckdb\" \"w\" {\n  path = \"caf\xe9.duckdb\"\n}\n", line: 2, col: 14},
		{name: "in a label", src: "source \"jira\" \"x\xff\" {\n  simulator {}\n}\n", line: 1, col: 17},
		{name: "as an expression", src: "locals {\n  a = \xff\n}\n", line: 2, col: 7},
		{name: "in an interpolation", src: "locals {\n  a = \"${\xff}\"\n}\n", line: 2, col: 10},
		{name: "at the top level", src: "\xff\xfe\n", line: 1, col: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadString(t, tt.src, nil)
			var encoding int
			for _, d := range diags {
				if d.Subject == nil || d.Subject.Start.Line != tt.line || d.Subject.Start.Column != tt.col {
					continue
				}
				if d.Summary != "Invalid character encoding" {
					t.Errorf("another diagnostic at the encoding error: %s", describe(d))
				}
				encoding++
			}
			if encoding != 1 {
				t.Errorf("%d encoding errors at %d:%d, want 1:%s", encoding, tt.line, tt.col, summaries(diags))
			}
		})
	}
}

func TestDedupeDiagnostics(t *testing.T) {
	at := func(line, col int) *hcl.Range {
		return &hcl.Range{Filename: "a.hcl", Start: hcl.Pos{Line: line, Column: col}, End: hcl.Pos{Line: line, Column: col + 1}}
	}
	diag := func(sev hcl.DiagnosticSeverity, summary, detail string, subject *hcl.Range) *hcl.Diagnostic {
		return &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: detail, Subject: subject}
	}
	tests := []struct {
		name string
		in   hcl.Diagnostics
		want []int // indexes of in that are kept
	}{
		{name: "identical", in: hcl.Diagnostics{
			diag(hcl.DiagError, "A", "d", at(1, 1)), diag(hcl.DiagError, "A", "d", at(1, 1)),
		}, want: []int{0}},
		{name: "identical without a subject", in: hcl.Diagnostics{
			diag(hcl.DiagError, "A", "d", nil), diag(hcl.DiagError, "A", "d", nil),
		}, want: []int{0}},
		{name: "different detail, range or severity", in: hcl.Diagnostics{
			diag(hcl.DiagError, "A", "d", at(1, 1)), diag(hcl.DiagError, "A", "e", at(1, 1)),
			diag(hcl.DiagError, "A", "d", at(1, 2)), diag(hcl.DiagWarning, "A", "d", at(1, 1)),
			diag(hcl.DiagError, "A", "d", nil),
		}, want: []int{0, 1, 2, 3, 4}},
		{name: "parse errors at an encoding error", in: hcl.Diagnostics{
			diag(hcl.DiagError, "Unterminated template string", "x", at(2, 5)),
			diag(hcl.DiagError, badEncodingSummary, "y", at(2, 5)),
			diag(hcl.DiagError, "Invalid expression", "z", at(2, 5)),
			diag(hcl.DiagError, "Invalid expression", "z", at(3, 5)),
			diag(hcl.DiagWarning, "W", "w", at(2, 5)),
		}, want: []int{1, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want hcl.Diagnostics
			for _, i := range tt.want {
				want = append(want, tt.in[i])
			}
			got := dedupeDiagnostics(append(hcl.Diagnostics(nil), tt.in...))
			if len(got) != len(want) {
				t.Fatalf("got:%s\nwant:%s", summaries(got), summaries(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("got:%s\nwant:%s", summaries(got), summaries(want))
					break
				}
			}
		})
	}
}

// TestQuotedReferenceFixes checks the fix suggested for a reference written
// as a string.
func TestQuotedReferenceFixes(t *testing.T) {
	const base = `
source "jira" "demo" {
  simulator {}
}
destination "duckdb" "w" { path = "w.duckdb" }
sync "s" {
  source      = source.jira.demo
  destination = destination.duckdb.w
}
`
	tests := []struct {
		name, sync string
		want       string // "" for no fix
	}{
		{name: "source", sync: `source = "source.jira.demo"` + "\n  destination = destination.duckdb.w", want: "Remove the quotes: source = source.jira.demo."},
		{name: "destination", sync: "source = source.jira.demo\n  " + `destination = "destination.duckdb.w"`, want: "Remove the quotes: destination = destination.duckdb.w."},
		{name: "depends_on name", sync: `depends_on = ["s"]`, want: "Write it as a reference, without quotes: depends_on = [sync.s]."},
		{name: "depends_on address", sync: `depends_on = ["sync.s"]`, want: "Write it as a reference, without quotes: depends_on = [sync.s]."},
		{name: "depends_on not a name", sync: `depends_on = ["the s sync"]`},
		{name: "depends_on number", sync: `depends_on = [1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.sync, "source") {
				tt.sync = "source = source.jira.demo\n  destination = destination.duckdb.w\n  " + tt.sync
			}
			src := base + "sync \"t\" {\n  " + tt.sync + "\n}\n"
			_, diags := loadString(t, src, nil)
			var found *hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == "Invalid reference" {
					found = d
				}
			}
			if found == nil || found.Subject == nil || found.Subject.Start.Line < 11 {
				t.Fatalf("want an Invalid reference in sync t, got:%s", summaries(diags))
			}
			if tt.want == "" && (strings.Contains(found.Detail, "quotes") || strings.Contains(found.Detail, "sync.the")) {
				t.Errorf("detail suggests a fix: %q", found.Detail)
			}
			if tt.want != "" && !strings.HasSuffix(found.Detail, " "+tt.want) {
				t.Errorf("detail = %q, want it to end with %q", found.Detail, tt.want)
			}
		})
	}
}
