package jira

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/jsync-dev/jsync/engine/jsonscan"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// BenchmarkDecodePage validates, indexes and decodes one search/jql page of 100
// issues (fields=*all, expand=changelog, as the simulator serves it) into
// every issue table's Arrow builders: the per-page CPU cost of a backfill
// without the network and the destination.
func BenchmarkDecodePage(b *testing.B) {
	sim, err := jirasim.Start(jirasim.Options{Issues: 2000, Seed: 1, Rate: -1,
		Caps: jirasim.Caps{Comments: 20, Histories: 40, Worklogs: 20}})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	req := httptest.NewRequest("GET", "/rest/api/3/search/jql?jql=created%3E%3D0+ORDER+BY+created&fields=*all&expand=changelog,transitions&maxResults=100", nil)
	req.Header.Set("Authorization", sim.AuthHeader())
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("search: %d %s", rec.Code, rec.Body.Bytes())
	}
	page := rec.Body.Bytes()

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	e := newEnv(context.Background(), &RejectCollector{}, nil)
	outs := map[string]*tableOut{}
	for _, tb := range Tables() {
		outs[tb.Name] = &tableOut{name: tb.Name, w: newRowWriter(mem, tb, "bench", testSyncedAt), batchRows: 10000,
			send: func(_ context.Context, rec arrow.RecordBatch) error { rec.Release(); return nil }}
	}
	defer func() {
		for _, o := range outs {
			o.w.Release()
		}
		mem.AssertSize(b, 0)
	}()
	io := issueOuts{issues: outs[TableIssues], comments: outs[TableIssueComments], changelogs: outs[TableChangelogs],
		items: outs[TableChangelogItems], transitions: outs[TableIssueTransitions], worklogs: outs[TableWorklogs],
		links: outs[TableIssueLinks], sprintIssues: outs[TableSprintIssues]}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		doc := jsonscan.Index(page)
		if doc == nil {
			b.Fatal("invalid page")
		}
		doc.Register()
		env, err := jsonscan.Object(page)
		if err != nil {
			b.Fatal(err)
		}
		issues, err := jsonscan.Array(env["issues"])
		if err != nil || len(issues) != 100 {
			b.Fatalf("issues: %d %v", len(issues), err)
		}
		for _, it := range issues {
			if _, ok := e.decodeIssue(io, it); !ok {
				b.Fatal("decode failed")
			}
		}
		for _, o := range outs {
			if err := o.flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		doc.Release()
		if e.err != nil {
			b.Fatal(e.err)
		}
	}
}
