package jira

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// samplesDir holds byte-exact copies of ../shared/reference/jira/samples
// (provenance in its SOURCES.md).
const samplesDir = "testdata/samples"

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name))
	if err != nil {
		t.Fatalf("sample: %v", err)
	}
	return b
}

// TestCustomFieldSampleTypes proves that every custom field of the real
// Cloud field catalogue maps to a typed column, and that the known types
// get the type the issue promises.
func TestCustomFieldSampleTypes(t *testing.T) {
	fields, err := ParseFields(readSample(t, "go-atlassian__jira-v3-mocks__get-fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	cols := CustomColumns(fields, nil)
	nCustom := 0
	for _, f := range fields {
		if f.Custom {
			nCustom++
		}
	}
	if len(cols) != nCustom || nCustom < 30 {
		t.Fatalf("%d custom columns for %d custom fields", len(cols), nCustom)
	}
	want := map[string]struct {
		column string
		kind   ValueKind
		typ    arrow.DataType
	}{
		"customfield_10036": {"story_points", KindNumber, arrow.PrimitiveTypes.Float64},
		"customfield_10016": {"story_point_estimate", KindNumber, arrow.PrimitiveTypes.Float64},
		"customfield_10037": {"alliance", KindCascade, arrow.BinaryTypes.String},
		"customfield_10028": {"satisfaction_date", KindDateTime, arrow.FixedWidthTypes.Timestamp_us},
		"customfield_10020": {"sprint", KindSprints, arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		"customfield_10021": {"flagged", KindOptions, arrow.ListOf(arrow.BinaryTypes.String)},
		"customfield_10022": {"target_start", KindDate, arrow.FixedWidthTypes.Date32},
		"customfield_10024": {"chart_date_of_first_response", KindDateTime, arrow.FixedWidthTypes.Timestamp_us},
		"customfield_10026": {"request_participants", KindUsers, arrow.ListOf(arrow.BinaryTypes.String)},
		"customfield_10003": {"approvers", KindUsers, arrow.ListOf(arrow.BinaryTypes.String)},
		"customfield_10017": {"issue_color", KindString, arrow.BinaryTypes.String},
		"customfield_10019": {"rank", KindString, arrow.BinaryTypes.String},
		"customfield_10014": {"epic_link", KindString, arrow.BinaryTypes.String},
		"customfield_10011": {"epic_name", KindString, arrow.BinaryTypes.String},
		"customfield_10012": {"epic_status", KindOption, arrow.BinaryTypes.String},
		"customfield_10015": {"start_date", KindDate, arrow.FixedWidthTypes.Date32},
		"customfield_10005": {"change_type", KindOption, arrow.BinaryTypes.String},
		"customfield_10008": {"change_start_date", KindDateTime, arrow.FixedWidthTypes.Timestamp_us},
		"customfield_10018": {"parent_link", KindJSON, arrow.BinaryTypes.String},
		"customfield_10033": {"time_to_resolution", KindJSON, arrow.BinaryTypes.String},
		"customfield_10032": {"affected_services", KindJSON, arrow.BinaryTypes.String},
	}
	for _, c := range cols {
		cs := c.Columns()
		if len(cs) == 0 || cs[0].Type == nil || cs[0].FieldID != c.FieldID || cs[0].Description == "" {
			t.Errorf("%s: no typed column: %+v", c.FieldID, cs)
		}
		if c.Kind == KindJSON && !cs[0].JSON {
			t.Errorf("%s: JSON kind without JSON flag", c.FieldID)
		}
		if !snakeCase.MatchString(c.Column) {
			t.Errorf("%s: column %q is not snake_case", c.FieldID, c.Column)
		}
		w, ok := want[c.FieldID]
		if !ok {
			continue
		}
		delete(want, c.FieldID)
		if c.Column != w.column || c.Kind != w.kind || !arrow.TypeEqual(cs[0].Type, w.typ) {
			t.Errorf("%s: got %s %s %s, want %s %s %s", c.FieldID, c.Column, c.Kind, cs[0].Type, w.column, w.kind, w.typ)
		}
	}
	for id := range want {
		t.Errorf("%s: no column", id)
	}
	tb := IssuesTableWith(cols)
	seen := map[string]bool{}
	for _, c := range tb.Columns {
		if seen[c.Name] {
			t.Errorf("duplicate issues column %s", c.Name)
		}
		seen[c.Name] = true
	}
}

func TestCustomColumnsNaming(t *testing.T) {
	f := func(id, name, typ, custom string) Field {
		return Field{ID: id, Name: name, Custom: true, Schema: FieldSchema{Type: typ, Custom: custom, CustomID: customNumber(Field{ID: id})}}
	}
	fields := []Field{
		f("customfield_10200", "Story Points", "number", ""),
		f("customfield_10100", "Story points", "number", ""),
		f("customfield_10300", "Status", "string", ""),           // collides with a system column
		f("customfield_10400", "Notes", "string", pluginTextara), // rich text gets notes + notes_adf
		f("customfield_10500", "Renamed In Jira", "string", ""),
		f("customfield_10600", "日本語", "string", ""),
		f("customfield_10700", "2nd Reviewer", "user", ""),
		f("customfield_10800", "Équipe / Team", "string", ""),
		f("customfield_10900", "notes", "string", ""), // taken by 10400 (pinned below as notes? no: 10400 is notes)
		{ID: "summary", Name: "Summary", Schema: FieldSchema{Type: "string", System: "summary"}},
	}
	pinned := map[string]string{"customfield_10500": "old_name", "customfield_99999": "gone_field"}
	got := map[string]string{}
	for _, c := range CustomColumns(fields, pinned) {
		got[c.FieldID] = c.Column
		if c.Kind == KindRichText && c.ADF != c.Column+"_adf" {
			t.Errorf("%s: adf column %q", c.FieldID, c.ADF)
		}
	}
	want := map[string]string{
		"customfield_10100": "story_points",
		"customfield_10200": "story_points_10200",
		"customfield_10300": "status_10300",
		"customfield_10400": "notes",
		"customfield_10500": "old_name",
		"customfield_10600": "customfield_10600",
		"customfield_10700": "cf_2nd_reviewer",
		"customfield_10800": "equipe_team",
		"customfield_10900": "notes_10900",
	}
	if len(got) != len(want) {
		t.Errorf("got %d columns %v, want %d", len(got), got, len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: column %q, want %q", id, got[id], w)
		}
	}
	// A pinned name stays reserved: a new field called "Gone Field" must not take it.
	cols := CustomColumns([]Field{f("customfield_11000", "Gone field", "string", "")}, pinned)
	if cols[0].Column != "gone_field_11000" {
		t.Errorf("pinned name reused: %s", cols[0].Column)
	}
}
