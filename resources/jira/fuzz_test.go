package jira

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzDecodeIssue feeds arbitrary bytes to the issue decoder with every
// child table and a spread of custom-field kinds. It must never panic, must
// produce valid batches whose non-nullable columns hold no NULLs, and must
// release all memory.
func FuzzDecodeIssue(f *testing.F) {
	f.Add([]byte(`{"id":"1","key":"A-1","fields":{"updated":"2026-01-02T03:04:05.000+0100"}}`))
	f.Add([]byte(`{"id":1,"fields":{"updated":"2026-01-02T03:04:05Z","comment":{"comments":[{"id":"2"}],"total":1},"issuelinks":[{"id":"3","outwardIssue":{"id":"4"}}]}}`))
	custom := CustomColumns([]Field{
		{ID: "customfield_1", Name: "N", Custom: true, Schema: FieldSchema{Type: "number", CustomID: 1}},
		{ID: "customfield_2", Name: "D", Custom: true, Schema: FieldSchema{Type: "date", CustomID: 2}},
		{ID: "customfield_3", Name: "T", Custom: true, Schema: FieldSchema{Type: "datetime", CustomID: 3}},
		{ID: "customfield_4", Name: "O", Custom: true, Schema: FieldSchema{Type: "array", Items: "option", CustomID: 4}},
		{ID: "customfield_5", Name: "C", Custom: true, Schema: FieldSchema{Type: "option-with-child", Custom: pluginCascade, CustomID: 5}},
		{ID: "customfield_6", Name: "S", Custom: true, Schema: FieldSchema{Type: "array", Items: "json", Custom: pluginSprint, CustomID: 6}},
		{ID: "customfield_7", Name: "R", Custom: true, Schema: FieldSchema{Type: "string", Custom: pluginTextara, CustomID: 7}},
		{ID: "customfield_8", Name: "U", Custom: true, Schema: FieldSchema{Type: "array", Items: "user", CustomID: 8}},
		{ID: "customfield_9", Name: "X", Custom: true, Schema: FieldSchema{Type: "sd-feedback", CustomID: 9}},
	}, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		e := newEnv(context.Background(), &RejectCollector{}, custom)
		outs := map[string]*tableOut{}
		var recs []arrow.RecordBatch
		for _, tb := range Tables() {
			if tb.Name == TableIssues {
				tb = IssuesTableWith(custom)
			}
			outs[tb.Name] = &tableOut{name: tb.Name, w: newRowWriter(mem, tb, "f", testSyncedAt), batchRows: 3,
				send: func(_ context.Context, r arrow.RecordBatch) error { recs = append(recs, r); return nil }}
		}
		io := issueOuts{issues: outs[TableIssues], comments: outs[TableIssueComments], changelogs: outs[TableChangelogs],
			items: outs[TableChangelogItems], transitions: outs[TableIssueTransitions], worklogs: outs[TableWorklogs],
			links: outs[TableIssueLinks], sprintIssues: outs[TableSprintIssues]}
		e.decodeIssue(io, json.RawMessage(data))
		for _, o := range outs {
			if err := o.flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			o.w.Release()
		}
		for _, r := range recs {
			for j, fl := range r.Schema().Fields() {
				col := r.Column(j)
				if col.Len() != int(r.NumRows()) {
					t.Fatalf("column %s has %d values for %d rows", fl.Name, col.Len(), r.NumRows())
				}
				if !fl.Nullable && col.NullN() > 0 {
					t.Fatalf("NULL in non-nullable %s", fl.Name)
				}
			}
			r.Release()
		}
		mem.AssertSize(t, 0)
	})
}
