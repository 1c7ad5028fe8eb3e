package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
)

var testSyncedAt = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

// rows is a decoded table as strings (ValueStr), one map per row.
type rows []map[string]string

// harness decodes into collected record batches with a checked allocator.
type harness struct {
	t       *testing.T
	mem     *memory.CheckedAllocator
	rejects *RejectCollector
	e       *env
	outs    map[string]*tableOut
	recs    map[string][]arrow.RecordBatch
}

func newHarness(t *testing.T, custom []CustomColumn, batchRows int) *harness {
	t.Helper()
	h := &harness{t: t, mem: memory.NewCheckedAllocator(memory.NewGoAllocator()), rejects: &RejectCollector{},
		outs: map[string]*tableOut{}, recs: map[string][]arrow.RecordBatch{}}
	h.e = newEnv(context.Background(), h.rejects, custom)
	for _, tb := range Tables() {
		if tb.Name == TableIssues {
			tb = IssuesTableWith(custom)
		}
		name := tb.Name
		h.outs[name] = &tableOut{name: name, w: newRowWriter(h.mem, tb, "test", testSyncedAt), batchRows: batchRows,
			send: func(_ context.Context, rec arrow.RecordBatch) error {
				h.recs[name] = append(h.recs[name], rec)
				return nil
			}}
	}
	t.Cleanup(func() {
		for _, rs := range h.recs {
			for _, r := range rs {
				r.Release()
			}
		}
		for _, o := range h.outs {
			o.w.Release()
		}
		h.mem.AssertSize(t, 0)
	})
	return h
}

func (h *harness) issueOuts() issueOuts {
	return issueOuts{issues: h.outs[TableIssues], comments: h.outs[TableIssueComments], changelogs: h.outs[TableChangelogs],
		items: h.outs[TableChangelogItems], transitions: h.outs[TableIssueTransitions], worklogs: h.outs[TableWorklogs],
		links: h.outs[TableIssueLinks], sprintIssues: h.outs[TableSprintIssues]}
}

// rows flushes the table and returns its rows, validating every batch.
func (h *harness) rows(table string) rows {
	h.t.Helper()
	if err := h.outs[table].flush(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	var out rows
	for _, rec := range h.recs[table] {
		if !rec.Schema().Equal(h.outs[table].w.table.ArrowSchema()) {
			h.t.Fatalf("%s: batch schema differs from the table's", table)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			m := map[string]string{}
			for j, f := range rec.Schema().Fields() {
				col := rec.Column(j)
				if col.IsNull(i) {
					if !f.Nullable {
						h.t.Errorf("%s.%s: NULL in a non-nullable column", table, f.Name)
					}
					continue
				}
				m[f.Name] = col.ValueStr(i)
			}
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) noRejects() {
	h.t.Helper()
	for _, r := range h.rejects.Rejects() {
		h.t.Errorf("reject: %+v", r)
	}
}

func items(t *testing.T, raw []byte, key string) []json.RawMessage {
	t.Helper()
	if key != "" {
		var o map[string]json.RawMessage
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		raw = o[key]
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func checkRow(t *testing.T, table string, rs rows, key, keyVal string, want map[string]string) {
	t.Helper()
	for _, r := range rs {
		if r[key] != keyVal {
			continue
		}
		for col, v := range want {
			if r[col] != v {
				t.Errorf("%s[%s=%s].%s = %q, want %q", table, key, keyVal, col, r[col], v)
			}
		}
		return
	}
	t.Errorf("%s: no row with %s=%s", table, key, keyVal)
}

func TestDecodeCatalogueSamples(t *testing.T) {
	type tc struct {
		file, itemsKey, table string
		decode                func(e *env, out *tableOut, raw json.RawMessage)
		n                     int
		key, keyVal           string
		want                  map[string]string
	}
	cases := []tc{
		{"go-atlassian__jira-v3-mocks__get_priorities.json", "", TablePriorities, (*env).decodePriority, 5, "id", "1",
			map[string]string{"name": "Highest", "status_color": "#d04437", "_jsync_source": "test", "_jsync_synced_at": "2026-11-29T08:00:00Z"}},
		{"go-jira__testing-mock-data__all_statuses.json", "", TableStatuses, (*env).decodeStatus, -1, "id", "10000",
			map[string]string{"name": "Archived", "status_category_id": "1", "status_category_key": "undefined"}},
		{"go-jira__testing-mock-data__all_resolutions.json", "", TableResolutions, (*env).decodeResolution, -1, "id", "2",
			map[string]string{"name": "Won't Fix"}},
		{"go-jira__testing-mock-data__all_boards.json", "values", TableBoards, (*env).decodeBoard, 6, "id", "1",
			map[string]string{"name": "Test Mobile", "type": "scrum", "project_id": "10000", "project_key": "AP"}},
		{"go-jira__testing-mock-data__sprints.json", "values", TableSprints, (*env).decodeSprint, 6, "id", "740",
			map[string]string{"state": "closed", "origin_board_id": "734", "start_date": "2016-04-11T14:29:03.294Z",
				"end_date": "2016-04-27T15:29:00Z", "complete_date": "2016-04-28T12:08:48.543Z"}},
		{"go-atlassian__jira-mocks__get-board-sprints.json", "values", TableSprints, (*env).decodeSprint, 1, "id", "4",
			map[string]string{"name": "KP Sprint 3", "state": "future"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			h := newHarness(t, nil, 3) // small batches: several flushes per sample
			list := items(t, readSample(t, c.file), c.itemsKey)
			for _, it := range list {
				c.decode(h.e, h.outs[c.table], it)
			}
			rs := h.rows(c.table)
			if len(rs) != len(list) || (c.n >= 0 && len(rs) != c.n) {
				t.Fatalf("%d rows from %d items (want %d)", len(rs), len(list), c.n)
			}
			h.noRejects()
			checkRow(t, c.table, rs, c.key, c.keyVal, c.want)
		})
	}
	t.Run("single objects", func(t *testing.T) {
		h := newHarness(t, nil, 100)
		h.e.decodeBoard(h.outs[TableBoards], readSample(t, "go-atlassian__jira-mocks__get-board.json"))
		h.e.decodeSprint(h.outs[TableSprints], readSample(t, "go-atlassian__jira-mocks__get-sprint-by-id.json"))
		h.noRejects()
		checkRow(t, "boards", h.rows(TableBoards), "id", "4", map[string]string{"project_key": "KP", "project_id": "10000"})
		checkRow(t, "sprints", h.rows(TableSprints), "id", "1", map[string]string{"start_date": "2021-04-30T04:29:38.642Z",
			"end_date": "2021-05-14T04:29:00Z", "goal": ""})
	})
}

func TestDecodeFieldsSample(t *testing.T) {
	raw := readSample(t, "go-atlassian__jira-v3-mocks__get-fields.json")
	fields, err := ParseFields(raw)
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{}
	for _, c := range CustomColumns(fields, nil) {
		cols[c.FieldID] = c.Column
	}
	h := newHarness(t, nil, 1000)
	for _, it := range items(t, bytes.TrimSpace(raw), "") {
		h.e.decodeField(h.outs[TableFields], it, cols)
	}
	rs := h.rows(TableFields)
	if len(rs) != len(fields) || len(rs) != 81 {
		t.Fatalf("%d rows, want 81", len(rs))
	}
	h.noRejects()
	checkRow(t, "fields", rs, "id", "customfield_10020", map[string]string{"name": "Sprint", "custom": "true",
		"schema_type": "array", "schema_items": "json", "schema_custom": pluginSprint, "schema_custom_id": "10020", "column_name": "sprint"})
	checkRow(t, "fields", rs, "id", "labels", map[string]string{"schema_system": "labels", "clause_names": `["labels"]`})
}

func TestDecodeCommentsSample(t *testing.T) {
	h := newHarness(t, nil, 5)
	list := items(t, readSample(t, "go-atlassian__jira-v3-mocks__get-issue-comments-v2.json"), "comments")
	for _, it := range list {
		h.e.decodeComment(h.outs[TableIssueComments], it, "10009")
	}
	rs := h.rows(TableIssueComments)
	if len(rs) != 17 || len(list) != 17 {
		t.Fatalf("%d rows, want 17", len(rs))
	}
	h.noRejects()
	checkRow(t, "issue_comments", rs, "id", "10009", map[string]string{"issue_id": "10009", "body": "adasd",
		"author_account_id": "5b86be50b8e3cb5895860d6d", "created": "2021-02-27T20:33:21.051Z", "jsd_public": "true"})
	for _, r := range rs {
		if _, ok := r["body_adf"]; ok {
			t.Errorf("v2 wiki body produced ADF: %v", r)
		}
	}
}

// issueFieldsFromNames builds a field catalogue from an issue fetched with
// expand=names,schema.
func issueFieldsFromNames(t *testing.T, raw []byte) []Field {
	var doc struct {
		Names  map[string]string      `json:"names"`
		Schema map[string]FieldSchema `json:"schema"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var fields []Field
	for id, s := range doc.Schema {
		fields = append(fields, Field{ID: id, Name: doc.Names[id], Custom: s.Custom != "", Schema: s})
	}
	return fields
}

func TestDecodeIssueSample(t *testing.T) {
	raw := readSample(t, "jira-rest-java-client__json-issue__valid-5.0-with-changelog.json")
	custom := CustomColumns(issueFieldsFromNames(t, raw), nil)
	h := newHarness(t, custom, 2)
	info, ok := h.e.decodeIssue(h.issueOuts(), raw)
	if !ok {
		t.Fatalf("issue rejected: %+v", h.rejects.Rejects())
	}
	h.noRejects()
	if info.ID != "10000" || info.Key != "HST-1" || !info.Updated.Equal(time.Date(2012, 4, 12, 12, 30, 9, 688e6, time.UTC)) ||
		info.CommentsTruncated || info.ChangelogTruncated || info.WorklogsTruncated {
		t.Errorf("info = %+v", info)
	}
	issues := h.rows(TableIssues)
	if len(issues) != 1 {
		t.Fatalf("%d issues", len(issues))
	}
	checkRow(t, "issues", issues, "id", "10000", map[string]string{
		"key": "HST-1", "project_id": "10000", "project_key": "HST", "summary": "Simple history test - modified",
		"description": "Modified Description", "issue_type": "New Feature", "issue_type_id": "2", "is_subtask": "false",
		"status": "Open", "status_id": "1", "priority": "Minor", "created": "2012-04-12T12:27:37.672Z",
		"updated": "2012-04-12T12:30:09.688Z", "due_date": "2012-04-13", "assignee_account_id": "user2",
		"reporter_account_id": "user1", "labels": "[]", "work_ratio": "-1", "votes": "0", "watch_count": "0",
		"comment_count": "2", "worklog_count": "0",
		"date_field": "2012-04-12T12:26:00Z", "radio_field": "Two", "text_field": "Modified text field value",
	})
	// The raw fields object is kept whole, in order, except the embedded
	// comment and worklog collections (the child tables hold them).
	var doc struct{ Fields json.RawMessage }
	_ = json.Unmarshal(raw, &doc)
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(doc.Fields, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["comment"] == nil || fields["worklog"] == nil {
		t.Fatal("the sample lost its embedded comment or worklog collection")
	}
	var kept map[string]json.RawMessage
	if err := json.Unmarshal([]byte(issues[0]["fields"]), &kept); err != nil {
		t.Fatalf("fields column: %v", err)
	}
	delete(fields, "comment")
	delete(fields, "worklog")
	if len(kept) != len(fields) {
		t.Errorf("fields column has %d members, want %d", len(kept), len(fields))
	}
	for k, v := range fields {
		var want bytes.Buffer
		_ = json.Compact(&want, v)
		if string(kept[k]) != want.String() {
			t.Errorf("fields.%s = %s, want %s verbatim", k, kept[k], want.String())
		}
	}
	if _, ok := issues[0]["resolution_date"]; ok {
		t.Errorf("null resolutiondate decoded: %v", issues[0]["resolution_date"])
	}

	comments := h.rows(TableIssueComments)
	if len(comments) != 2 {
		t.Errorf("%d comments, want 2", len(comments))
	}
	checkRow(t, "issue_comments", comments, "id", "10001", map[string]string{"issue_id": "10000",
		"body": "Modified by User Two", "author_account_id": "user2", "created": "2012-04-12T12:30:09.682Z"})

	histories := h.rows(TableChangelogs)
	if len(histories) != 4 {
		t.Errorf("%d changelogs, want 4", len(histories))
	}
	checkRow(t, "changelogs", histories, "id", "10002", map[string]string{"issue_id": "10000", "item_count": "8",
		"author_account_id": "user2", "created": "2012-04-12T12:30:09.69Z"})
	checkRow(t, "changelogs", histories, "id", "10003", map[string]string{"item_count": "1"})

	itemRows := h.rows(TableChangelogItems)
	if len(itemRows) != 12 {
		t.Errorf("%d changelog items, want 12", len(itemRows))
	}
	for _, r := range itemRows {
		if r["changelog_id"] == "10002" && r["item_index"] == "4" {
			want := map[string]string{"field": "Date Field", "field_type": "custom", "from_value": "2012-04-11T14:26+0200",
				"from_string": "11/Apr/12 2:26 PM", "to_value": "2012-04-12T14:26+0200", "issue_id": "10000",
				"author_account_id": "user2", "created": "2012-04-12T12:30:09.69Z"} // the history's
			for k, v := range want {
				if r[k] != v {
					t.Errorf("changelog item 10002/4 %s = %q, want %q", k, r[k], v)
				}
			}
		}
	}

	transitions := h.rows(TableIssueTransitions)
	if len(transitions) != 2 {
		t.Errorf("%d transitions, want 2", len(transitions))
	}
	checkRow(t, "issue_transitions", transitions, "id", "5", map[string]string{"issue_id": "10000", "name": "Resolve Issue",
		"to_status_id": "5", "to_status": "Resolved"})
	if n := len(h.rows(TableWorklogs)); n != 0 {
		t.Errorf("%d worklogs, want 0", n)
	}
}

// TestDecodeSpecExamples decodes the official spec examples. They are
// synthetic and partly unfaithful (an `updated` of 1, a link id "10004L"),
// which is what rejects are for: the bad values must surface, not vanish.
func TestDecodeSpecExamples(t *testing.T) {
	dir := "testdata/openapi-examples" // copies of ../shared/reference/jira/openapi/examples
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("example: %v", err)
		}
		return b
	}
	h := newHarness(t, nil, 10)
	for _, it := range items(t, read("getWorklogsForIds__POST__200.json"), "") {
		h.e.decodeWorklog(h.outs[TableWorklogs], it, "")
	}
	for _, it := range items(t, read("getComments__GET__200.json"), "comments") {
		h.e.decodeComment(h.outs[TableIssueComments], it, "10010")
	}
	for _, it := range items(t, read("getBulkChangelogs__POST__200.json"), "issueChangeLogs") {
		id, histories, err := bulkChangelogEntry(it)
		if err != nil {
			t.Fatal(err)
		}
		for _, hst := range histories {
			h.e.decodeChangelog(h.outs[TableChangelogs], h.outs[TableChangelogItems], hst, id)
		}
	}
	for _, it := range items(t, read("searchProjects__GET__200.json"), "values") {
		h.e.decodeProject(h.outs[TableProjects], it)
	}
	for _, it := range items(t, read("getProjectVersionsPaginated__GET__200.json"), "values") {
		h.e.decodeVersion(h.outs[TableVersions], it, "")
	}
	for _, it := range items(t, read("getAllProjectRoles__GET__200.json"), "") {
		h.e.decodeRole(h.outs[TableRoles], it)
	}
	for _, it := range items(t, read("getAllUsers__GET__200.json"), "") {
		h.e.decodeUser(h.outs[TableUsers], it)
	}
	for _, it := range items(t, read("getIssueAllTypes__GET__200.json"), "") {
		h.e.decodeIssueType(h.outs[TableIssueTypes], it)
	}
	for _, it := range items(t, read("getStatusCategories__GET__200.json"), "") {
		h.e.decodeStatusCategory(h.outs[TableStatusCategories], it)
	}
	for _, it := range items(t, read("getAllProjectTypes__GET__200.json"), "") {
		h.e.decodeProjectType(h.outs[TableProjectTypes], it)
	}
	for _, it := range items(t, read("getAllProjectCategories__GET__200.json"), "") {
		h.e.decodeProjectCategory(h.outs[TableProjectCategories], it)
	}
	h.noRejects()
	checkRow(t, "worklogs", h.rows(TableWorklogs), "id", "100028", map[string]string{"issue_id": "10002",
		"comment": "I did some work here.", "time_spent_seconds": "12000", "started": "2021-01-17T12:34:00Z",
		"visibility_type": "group", "visibility_value": "jira-developers"})
	checkRow(t, "issue_comments", h.rows(TableIssueComments), "id", "10000", map[string]string{"visibility_type": "role"})
	checkRow(t, "changelogs", h.rows(TableChangelogs), "id", "10001", map[string]string{"issue_id": "10100",
		"created": "2017-04-13T08:00:29Z"}) // epoch seconds in the bulkfetch example
	checkRow(t, "projects", h.rows(TableProjects), "id", "10000", map[string]string{"key": "EX", "project_category_id": "10000", "style": "classic"})
	checkRow(t, "versions", h.rows(TableVersions), "id", "10000", map[string]string{"project_id": "10000",
		"release_date": "2010-07-06", "user_release_date": "6/Jul/2010", "released": "true"})
	checkRow(t, "roles", h.rows(TableRoles), "id", "10360", map[string]string{"scope_type": "PROJECT", "scope_project_id": "10000"})
	checkRow(t, "users", h.rows(TableUsers), "account_id", "5b10a2844c20165700ede21g", map[string]string{"display_name": "Mia Krystof", "active": "false"})
	if n := len(h.rows(TableUsers)); n != 2 {
		t.Errorf("%d users", n)
	}
	checkRow(t, "status_categories", h.rows(TableStatusCategories), "id", "9", map[string]string{"key": "completed"})
	if n := len(h.rows(TableProjectTypes)); n != 2 {
		t.Errorf("%d project types", n)
	}

	// The search example's issue has "updated": 1; it cannot be placed
	// on the cursor, so the whole issue is rejected with its raw JSON.
	h2 := newHarness(t, nil, 10)
	for _, it := range items(t, read("searchAndReconsileIssuesUsingJql__GET__200.json"), "issues") {
		if _, ok := h2.e.decodeIssue(h2.issueOuts(), it); ok {
			t.Errorf("issue with numeric updated accepted")
		}
	}
	rej := h2.rejects.Rejects()
	if len(rej) != 1 || rej[0].Table != TableIssues || rej[0].Key != "10002" || rej[0].Raw == "" {
		t.Errorf("rejects = %+v", rej)
	}
}

func TestDecodeBadValuesRejected(t *testing.T) {
	custom := CustomColumns([]Field{
		{ID: "customfield_1", Name: "Points", Custom: true, Schema: FieldSchema{Type: "number", Custom: pluginPrefix + "float", CustomID: 1}},
		{ID: "customfield_2", Name: "Due", Custom: true, Schema: FieldSchema{Type: "datetime", CustomID: 2}},
		{ID: "customfield_3", Name: "Team", Custom: true, Schema: FieldSchema{Type: "array", Items: "option", CustomID: 3}},
		{ID: "customfield_4", Name: "Cascade", Custom: true, Schema: FieldSchema{Type: "option-with-child", Custom: pluginCascade, CustomID: 4}},
		{ID: "customfield_5", Name: "Sprint", Custom: true, Schema: FieldSchema{Type: "array", Items: "json", Custom: pluginSprint, CustomID: 5}},
		{ID: "customfield_6", Name: "Notes", Custom: true, Schema: FieldSchema{Type: "string", Custom: pluginTextara, CustomID: 6}},
		{ID: "customfield_7", Name: "Owner", Custom: true, Schema: FieldSchema{Type: "user", CustomID: 7}},
	}, nil)
	h := newHarness(t, custom, 10)
	issue := `{"id":"1","key":"A-1","fields":{"updated":"2026-01-02T03:04:05.000+0100","created":"2026-01-02 03:04",
		"duedate":"tomorrow","customfield_1":"12.5x","customfield_2":"2026-01-02T03:04:05.000",
		"customfield_3":[{"value":"red"},{"value":"blue"}],"customfield_4":{"value":"EU","child":{"value":"DE"}},
		"customfield_5":[{"id":7,"name":"S7","state":"active"},"com.atlassian.greenhopper.service.sprint.Sprint@1[id=8,rapidViewId=1,state=CLOSED,name=S8]"],
		"customfield_6":{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hello"}]}]},
		"customfield_7":{"accountId":"abc","displayName":"X"},"labels":"oops"}}`
	if _, ok := h.e.decodeIssue(h.issueOuts(), json.RawMessage(issue)); !ok {
		t.Fatalf("issue rejected whole: %+v", h.rejects.Rejects())
	}
	rs := h.rows(TableIssues)
	checkRow(t, "issues", rs, "id", "1", map[string]string{"updated": "2026-01-02T02:04:05Z", "team": `["red","blue"]`,
		"cascade": "EU / DE", "sprint": "[7,8]", "notes": "hello", "owner": "abc"})
	for _, col := range []string{"created", "due_date", "points", "due", "labels"} {
		if v, ok := rs[0][col]; ok {
			t.Errorf("bad value in %s decoded as %q", col, v)
		}
	}
	if !bytes.Contains([]byte(rs[0]["notes_adf"]), []byte(`"hello"`)) {
		t.Errorf("notes_adf = %q", rs[0]["notes_adf"])
	}
	got := map[string]bool{}
	for _, r := range h.rejects.Rejects() {
		if r.Table != TableIssues || r.Key != "1" || r.Raw == "" {
			t.Errorf("reject without context: %+v", r)
		}
		got[r.Column] = true
	}
	for _, col := range []string{"created", "due_date", "points", "due", "labels"} {
		if !got[col] {
			t.Errorf("no reject for %s", col)
		}
	}
	sprints := h.rows(TableSprintIssues)
	if len(sprints) != 2 {
		t.Errorf("sprint_issues = %v", sprints)
	}
	checkRow(t, "sprint_issues", sprints, "sprint_id", "8", map[string]string{"issue_id": "1", "sprint_state": "closed"})
}

// TestDecodeOptionShapes: select, cascading select and multi-select
// values are read from their options' "value"; an option without it, or a
// cascade whose child is not an option, leaves the column NULL with a
// reject instead of a blank, a partial value or a shorter list.
func TestDecodeOptionShapes(t *testing.T) {
	custom := CustomColumns([]Field{
		{ID: "customfield_1", Name: "Choice", Custom: true, Schema: FieldSchema{Type: "option", Custom: pluginPrefix + "select", CustomID: 1}},
		{ID: "customfield_2", Name: "Region", Custom: true, Schema: FieldSchema{Type: "option-with-child", Custom: pluginCascade, CustomID: 2}},
		{ID: "customfield_3", Name: "Multi", Custom: true, Schema: FieldSchema{Type: "array", Items: "option", Custom: pluginPrefix + "multiselect", CustomID: 3}},
	}, nil)
	tests := []struct {
		name, col, value string
		want             string // "" for NULL with a reject
	}{
		{"select", "choice", `{"id":"10001","value":"Red"}`, "Red"},
		{"select as a string (Data Center)", "choice", `"Red"`, "Red"},
		{"select without value", "choice", `{"id":"10001","name":"Red"}`, ""},
		{"cascade", "region", `{"value":"EU","child":{"value":"DE"}}`, "EU / DE"},
		{"cascade without a child", "region", `{"value":"EU"}`, "EU"},
		{"cascade with a null child", "region", `{"value":"EU","child":null}`, "EU"},
		{"cascade without a parent value", "region", `{"id":"10002","child":{"value":"DE"}}`, ""},
		{"cascade with a string child", "region", `{"value":"EU","child":"DE"}`, ""},
		{"cascade child without value", "region", `{"value":"EU","child":{"id":"3"}}`, ""},
		{"multi-select", "multi", `[{"value":"a"},{"value":"b"}]`, `["a","b"]`},
		{"multi-select item without value", "multi", `[{"value":"a"},{"id":"10009"}]`, ""},
	}
	fields := map[string]string{"choice": "customfield_1", "region": "customfield_2", "multi": "customfield_3"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkIssueField(t, newHarness(t, custom, 10), fields[tc.col], tc.value, tc.col, tc.want)
		})
	}
}

// checkIssueField decodes an issue whose field is value and checks column
// col: want, or NULL with a reject when want is "".
func checkIssueField(t *testing.T, h *harness, field, value, col, want string) {
	t.Helper()
	issue := `{"id":"1","key":"A-1","fields":{"updated":"2026-01-02T03:04:05.000+0100","` + field + `":` + value + `}}`
	if _, ok := h.e.decodeIssue(h.issueOuts(), json.RawMessage(issue)); !ok {
		t.Fatalf("issue rejected whole: %+v", h.rejects.Rejects())
	}
	got, set := h.rows(TableIssues)[0][col]
	rejected := false
	for _, r := range h.rejects.Rejects() {
		rejected = rejected || r.Column == col
	}
	switch {
	case want != "" && (got != want || rejected):
		t.Errorf("%s = %q (rejected %v), want %q", col, got, rejected, want)
	case want == "" && (set || !rejected):
		t.Errorf("%s = %q (set %v, rejected %v), want NULL and a reject", col, got, set, rejected)
	}
}

// TestDecodeStringArrays: a null item in a string array (labels, or a
// custom field of strings) is kept as a NULL element where Jira has it,
// not dropped, so the list keeps its length and positions; an object
// among the items is rejected.
func TestDecodeStringArrays(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // "" for NULL with a reject
	}{
		{"strings", `["a","b"]`, `["a","b"]`},
		{"empty", `[]`, `[]`},
		{"numbers as text", `["a",7]`, `["a","7"]`},
		{"a null item", `["a",null,"b"]`, `["a",null,"b"]`},
		{"a null first item", `[null,"b"]`, `[null,"b"]`},
		{"only nulls", `[null,null]`, `[null,null]`},
		{"an object item", `["a",{"x":1}]`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkIssueField(t, newHarness(t, nil, 10), "labels", tc.value, "labels", tc.want)
		})
	}
}

// TestDecodeRepairsJSONText: an emoji cut in half (a lone surrogate
// escape) in an issue's raw fields or in a JSON custom field is written as
// U+FFFD, as Go's decoding does for text columns: DuckDB's JSON type
// refuses the escape, and the issue's table could not be written at all.
func TestDecodeRepairsJSONText(t *testing.T) {
	h := newHarness(t, nil, 10)
	issue := `{"id":"1","key":"A-1","fields":{"updated":"2026-01-02T03:04:05.000+0100","summary":"cut \ud83d","customfield_99999":{"v":"cut \ud83d"}}}`
	if _, ok := h.e.decodeIssue(h.issueOuts(), json.RawMessage(issue)); !ok {
		t.Fatalf("issue rejected whole: %+v", h.rejects.Rejects())
	}
	row := h.rows(TableIssues)[0]
	if got := row["summary"]; got != "cut \uFFFD" {
		t.Errorf("summary = %q, want %q", got, "cut \uFFFD")
	}
	if f := row["fields"]; strings.Contains(f, `\ud83d`) || !strings.Contains(f, `"cut \ufffd"`) {
		t.Errorf("fields = %s, want the lone surrogate as \\ufffd", f)
	}
}

func TestDecodeTruncatedCollections(t *testing.T) {
	h := newHarness(t, nil, 10)
	issue := `{"id":"9","key":"A-9","fields":{"updated":"2026-01-02T03:04:05.000Z",
		"comment":{"comments":[{"id":"1","body":"x"}],"maxResults":1,"total":3,"startAt":0},
		"worklog":{"startAt":0,"maxResults":20,"total":1,"worklogs":[{"id":"5","timeSpentSeconds":60}]}},
		"changelog":{"startAt":0,"maxResults":1,"total":2,"histories":[{"id":"7","items":[]}]}}`
	info, ok := h.e.decodeIssue(h.issueOuts(), json.RawMessage(issue))
	if !ok || !info.CommentsTruncated || !info.ChangelogTruncated || info.WorklogsTruncated {
		t.Fatalf("info = %+v ok=%v", info, ok)
	}
	h.noRejects()
	if n := len(h.rows(TableIssueComments)); n != 0 {
		t.Errorf("truncated comments written: %d", n)
	}
	if n := len(h.rows(TableChangelogs)); n != 0 {
		t.Errorf("truncated changelog written: %d", n)
	}
	checkRow(t, "worklogs", h.rows(TableWorklogs), "id", "5", map[string]string{"issue_id": "9", "time_spent_seconds": "60"})
	checkRow(t, "issues", h.rows(TableIssues), "id", "9", map[string]string{"comment_count": "3", "worklog_count": "1"})
}

func TestProjectionSkipsColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tb := TableByName(TablePriorities).Project([]string{"name"})
	var got []arrow.RecordBatch
	out := &tableOut{name: TablePriorities, w: newRowWriter(mem, tb, "s", testSyncedAt), batchRows: 100,
		send: func(_ context.Context, r arrow.RecordBatch) error { got = append(got, r); return nil }}
	defer out.w.Release()
	e := newEnv(context.Background(), &RejectCollector{}, nil)
	for _, it := range items(t, readSample(t, "go-atlassian__jira-v3-mocks__get_priorities.json"), "") {
		e.decodePriority(out, it)
	}
	if err := out.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].NumRows() != 5 {
		t.Fatalf("got %d batches", len(got))
	}
	var names []string
	for _, f := range got[0].Schema().Fields() {
		names = append(names, f.Name)
	}
	if want := []string{"id", "name", schema.ColSource, schema.ColSyncedAt}; !equalStrings(names, want) {
		t.Errorf("projected batch columns %v, want %v", names, want)
	}
	for _, r := range got {
		r.Release()
	}
}

func TestTableOutKeyRepeats(t *testing.T) {
	for _, firstWins := range []bool{false, true} {
		h := newHarness(t, nil, 100)
		out := h.outs[TablePriorities]
		if firstWins {
			out.runKeys = map[string]struct{}{}
		}
		for _, name := range []string{"old", "new"} {
			h.e.decodePriority(out, json.RawMessage(`{"id":"1","name":"`+name+`"}`))
		}
		h.e.decodePriority(out, json.RawMessage(`{"id":"2","name":"other"}`))
		rs := h.rows(TablePriorities)
		batches := len(h.recs[TablePriorities])
		want, wantRows, wantBatches := "new", 3, 2 // the repeat flushed the batch
		if firstWins {
			want, wantRows, wantBatches = "old", 2, 1
		}
		if len(rs) != wantRows || batches != wantBatches {
			t.Errorf("firstWins=%v: %d rows in %d batches, want %d in %d", firstWins, len(rs), batches, wantRows, wantBatches)
		}
		last := ""
		for _, r := range rs {
			if r["id"] == "1" {
				last = r["name"]
			}
		}
		if last != want {
			t.Errorf("firstWins=%v: id 1 ends as %q, want %q", firstWins, last, want)
		}
	}
}

func TestRequestRejectsForwarding(t *testing.T) {
	var got []source.Reject
	fail := errors.New("disk full")
	q := &requestRejects{fn: func(_ context.Context, r source.Reject) error {
		got = append(got, r)
		if len(got) == 2 {
			return fail
		}
		return nil
	}}
	q.Reject(context.Background(), Reject{Table: "issues", Key: "1", Column: "due_date", Reason: "not a Jira date", Raw: `"x"`})
	q.Reject(context.Background(), Reject{Table: "issues", Reason: "missing primary key id", Raw: `{}`})
	q.Reject(context.Background(), Reject{Table: "issues", Key: "3", Reason: "later"})
	if len(got) != 3 || got[0].Reason != "column due_date: not a Jira date (the row was kept with NULL there)" ||
		string(got[0].Raw) != `"x"` || got[1].Reason != "missing primary key id" {
		t.Errorf("forwarded %+v", got)
	}
	if !errors.Is(q.Err(), fail) {
		t.Errorf("Err() = %v", q.Err())
	}
}

// TestEverySampleIsDecoded keeps the sample tests honest: every payload in
// testdata/samples is decoded by one of the tests above, except the error
// envelopes, which are not rows (the client parses them).
func TestEverySampleIsDecoded(t *testing.T) {
	covered := map[string]string{
		"go-atlassian__jira-mocks__get-board-sprints.json":                 "TestDecodeCatalogueSamples",
		"go-atlassian__jira-mocks__get-board.json":                         "TestDecodeCatalogueSamples",
		"go-atlassian__jira-mocks__get-sprint-by-id.json":                  "TestDecodeCatalogueSamples",
		"go-atlassian__jira-v3-mocks__get-fields.json":                     "TestDecodeFieldsSample",
		"go-atlassian__jira-v3-mocks__get-issue-comments-v2.json":          "TestDecodeCommentsSample",
		"go-atlassian__jira-v3-mocks__get_priorities.json":                 "TestDecodeCatalogueSamples",
		"go-jira__testing-mock-data__all_boards.json":                      "TestDecodeCatalogueSamples",
		"go-jira__testing-mock-data__all_resolutions.json":                 "TestDecodeCatalogueSamples",
		"go-jira__testing-mock-data__all_statuses.json":                    "TestDecodeCatalogueSamples",
		"go-jira__testing-mock-data__sprints.json":                         "TestDecodeCatalogueSamples",
		"jira-rest-java-client__json-issue__valid-5.0-with-changelog.json": "TestDecodeIssueSample",
		"jira-rest-java-client__json-error__valid.json":                    "error envelope",
		"observed-error-bodies__github-issues.json":                        "error envelopes",
	}
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		if _, ok := covered[filepath.Base(f)]; !ok {
			t.Errorf("sample %s is decoded by no test", filepath.Base(f))
		}
	}
}

// TestRunKeysBounded: past rememberedKeys the run forgets the keys it
// wrote (a repeat is then written again) instead of growing.
func TestRunKeysBounded(t *testing.T) {
	out := &tableOut{runKeys: map[string]struct{}{}, batchKeys: map[string]struct{}{}}
	for i := range rememberedKeys {
		out.runKeys[strconv.Itoa(i)] = struct{}{}
	}
	ok, err := out.admit(t.Context(), "new")
	if err != nil || !ok {
		t.Fatalf("admit new key = %v, %v", ok, err)
	}
	if len(out.runKeys) != 1 {
		t.Errorf("%d keys remembered after the bound, want 1 (the map cleared)", len(out.runKeys))
	}
	if ok, _ := out.admit(t.Context(), "new"); ok {
		t.Error("a key admitted since the clear was admitted again")
	}
}

// TestUserRefsRepeated: user objects are read once per text (env.users);
// repeated, the same text still gives the same reference, different users
// differ, a bad user is rejected every time it appears, and the cache
// stays bounded.
func TestUserRefsRepeated(t *testing.T) {
	h := newHarness(t, nil, 100)
	comment := func(id, author string) json.RawMessage {
		return json.RawMessage(`{"id":"` + id + `","author":` + author + `,"created":"2026-01-02T03:04:05.000+0000"}`)
	}
	cases := []struct {
		id, author, want string // want "" means NULL
	}{
		{"1", `{"accountId":"a1","displayName":"A"}`, "a1"},
		{"2", `{"accountId":"b2","displayName":"B"}`, "b2"},
		{"3", `{"accountId":"a1","displayName":"A"}`, "a1"},
		{"4", `{"key":"dc-user","name":"dcname"}`, "dc-user"},
		{"5", `{"displayName":"nobody"}`, ""},
		{"6", `{"displayName":"nobody"}`, ""},
		{"7", `"not a user"`, ""},
		{"8", `"not a user"`, ""},
		{"9", `null`, ""},
	}
	for _, c := range cases {
		h.e.decodeComment(h.outs[TableIssueComments], comment(c.id, c.author), "100")
	}
	rs := h.rows(TableIssueComments)
	for _, c := range cases {
		var row map[string]string
		for _, r := range rs {
			if r["id"] == c.id {
				row = r
			}
		}
		if row == nil {
			t.Errorf("comment %s not written", c.id)
			continue
		}
		if got := row["author_account_id"]; got != c.want {
			t.Errorf("comment %s: author_account_id = %q, want %q", c.id, got, c.want)
		}
	}
	rejected := map[string]bool{}
	for _, r := range h.rejects.Rejects() {
		if r.Column == "author_account_id" {
			rejected[r.Key] = true
		}
	}
	if !rejected["7"] || !rejected["8"] || len(rejected) != 2 {
		t.Errorf("rejected authors of comments %v, want 7 and 8", rejected)
	}
	for i := range maxCachedUsers + 10 {
		if _, _, err := h.e.userRef(json.RawMessage(`{"accountId":"u` + strconv.Itoa(i) + `"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.e.users); n > maxCachedUsers {
		t.Errorf("%d users cached, want at most %d", n, maxCachedUsers)
	}
}

// TestDecodeUserArrays: a multi-user custom field keeps each user's
// reference (through env.userRef) and rejects a list holding a non-user.
func TestDecodeUserArrays(t *testing.T) {
	custom := CustomColumns([]Field{
		{ID: "customfield_8", Name: "Watchers", Custom: true, Schema: FieldSchema{Type: "array", Items: "user", CustomID: 8}},
	}, nil)
	for _, c := range []struct {
		name, value, want string
		rejected          bool
	}{
		{"users", `[{"accountId":"a1"},{"key":"dc2"},{"displayName":"nobody"},{"accountId":"a1"}]`, `["a1","dc2","a1"]`, false},
		{"a string among users", `[{"accountId":"a1"},"a2"]`, "", true},
		{"null among users", `[{"accountId":"a1"},null]`, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, custom, 10)
			issue := `{"id":"1","key":"A-1","fields":{"updated":"2026-01-02T03:04:05.000+0000","customfield_8":` + c.value + `}}`
			if _, ok := h.e.decodeIssue(h.issueOuts(), json.RawMessage(issue)); !ok {
				t.Fatalf("issue rejected whole: %+v", h.rejects.Rejects())
			}
			rs := h.rows(TableIssues)
			if got := rs[0]["watchers"]; got != c.want {
				t.Errorf("watchers = %q, want %q", got, c.want)
			}
			rejected := false
			for _, r := range h.rejects.Rejects() {
				rejected = rejected || r.Column == "watchers"
			}
			if rejected != c.rejected {
				t.Errorf("watchers rejected = %v, want %v (%+v)", rejected, c.rejected, h.rejects.Rejects())
			}
		})
	}
}

func TestBulkChangelogEntry(t *testing.T) {
	tests := []struct {
		name, raw string
		id        string
		histories int
		err       string
	}{
		{"string id", `{"issueId":"10001","changeHistories":[{"id":"1"},{"id":"2"}]}`, "10001", 2, ""},
		{"numeric id", `{"issueId":10001,"changeHistories":[{"id":"1"}]}`, "10001", 1, ""},
		{"no histories", `{"issueId":"10001","changeHistories":[]}`, "10001", 0, ""},
		{"null histories", `{"issueId":"10001","changeHistories":null}`, "10001", 0, ""},
		{"missing id", `{"changeHistories":[]}`, "", 0, "issueId: missing"},
		{"empty id", `{"issueId":"","changeHistories":[]}`, "", 0, "issueId: missing"},
		{"object id", `{"issueId":{},"changeHistories":[]}`, "", 0, "issueId: want string, got object"},
		{"histories not an array", `{"issueId":"1","changeHistories":{}}`, "", 0, "changeHistories: want array, got object"},
		{"not an object", `[1]`, "", 0, "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			id, histories, err := bulkChangelogEntry(raw)
			if !errMatches(t, err, tt.err) {
				return
			}
			if id != tt.id || len(histories) != tt.histories {
				t.Fatalf("got %q with %d histories, want %q with %d", id, len(histories), tt.id, tt.histories)
			}
			// The histories alias the page rather than copying it.
			for _, h := range histories {
				if &h[0] != &raw[bytes.Index(raw, h)] {
					t.Fatalf("history %s is a copy", h)
				}
			}
		})
	}
}
