package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// inProcessSim starts the simulator package in-process and wraps it in a
// simProcess, so the harness's HTTP code runs against the real server.
func inProcessSim(t *testing.T, issues int) (*simProcess, *jirasim.Server) {
	t.Helper()
	srv, err := jirasim.Start(jirasim.Options{Issues: issues, Seed: 1, Email: benchEmail, Token: benchToken, Rate: -1,
		Caps: jirasim.Caps{Comments: benchCaps.Comments, Histories: benchCaps.Histories, Worklogs: benchCaps.Worklogs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return &simProcess{URL: srv.URL(), CAFile: ca, client: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}}, srv
}

// TestSimEndpointsContract reads /_sim/stats, /_sim/expected and
// /_sim/mutate from the real simulator into the harness's types.
func TestSimEndpointsContract(t *testing.T) {
	ctx := context.Background()
	p, srv := inProcessSim(t, 60)
	st0, err := p.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var scan pageScan
	dl, err := downloadPages(ctx, p, t.TempDir(), 2, 0, &scan)
	if err != nil {
		t.Fatal(err)
	}
	st1, err := p.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := st1.sub(st0)
	// The id listing (one page of 5000) plus the two slices' pages.
	if got := d.count(isSearch); got != int64(1+dl.Pages) {
		t.Errorf("search requests = %d, want %d (stats %+v)", got, 1+dl.Pages, d)
	}
	if d.Total != d.count(func(string) bool { return true }) {
		t.Errorf("Total %d disagrees with the endpoint counts %+v", d.Total, d.Endpoints)
	}
	// The harness's decoding agrees with the simulator's own Stats.
	var direct simStats
	b, _ := json.Marshal(srv.Stats())
	if err := json.Unmarshal(b, &direct); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(direct, st1) {
		t.Errorf("GET /_sim/stats = %+v, Stats() = %+v", st1, direct)
	}

	exp, err := p.Expected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"issues", "issue_comments", "changelogs", "worklogs", "projects", "users", "boards"} {
		if _, ok := exp[table]; !ok {
			t.Errorf("expected counts lack %q: %v", table, exp)
		}
	}
	if exp["issues"] != 60 || scan.issues != 60 {
		t.Errorf("issues: expected %d, scanned %d, want 60", exp["issues"], scan.issues)
	}

	res, err := p.Mutate(ctx, mutation{Update: 3, Comment: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Updated) != 3 || len(res.Commented) != 2 || res.AtMillis == 0 {
		t.Errorf("mutation result = %+v", res)
	}
	if n := res.changedIssues(); n < 1 || n > 5 {
		t.Errorf("changedIssues = %d, want 1..5", n)
	}
	if _, err := p.Mutate(ctx, mutation{Update: -1}); err == nil {
		t.Error("a negative mutation was accepted")
	}
}

func TestDownloadPagesScan(t *testing.T) {
	ctx := context.Background()
	p, srv := inProcessSim(t, 400)
	dir := t.TempDir()
	var scan pageScan
	dl, err := downloadPages(ctx, p, dir, 3, 2, &scan)
	if err != nil {
		t.Fatal(err)
	}
	// 400 issues in 3 slices of ≤ 134 at 100 per page: 2 pages each.
	if dl.Pages != 6 || dl.SavedPages != 2 {
		t.Errorf("download = %+v, want 6 pages, 2 saved", dl)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 2 {
		t.Errorf("saved files = %v", files)
	}
	var saved int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p rawPage
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		saved += int64(len(p.Issues))
	}
	if saved != dl.SavedIssues {
		t.Errorf("saved files hold %d issues, download says %d", saved, dl.SavedIssues)
	}
	exp := srv.Expected(time.Time{})
	shape := shapeFromExpected(exp.Tables)
	scan.apply(&shape)
	if scan.issues != 400 {
		t.Errorf("scanned %d issues, want 400", scan.issues)
	}
	// Every issue over a cap holds more than the cap; the tails bound them.
	for name, c := range map[string]struct {
		over    []int64
		cap, mx int64
	}{
		"comments":  {shape.OverComments, int64(benchCaps.Comments), shape.MaxComments},
		"histories": {shape.OverHistories, int64(benchCaps.Histories), shape.MaxHistories},
		"worklogs":  {shape.OverWorklogs, int64(benchCaps.Worklogs), shape.MaxWorklogs},
	} {
		for _, n := range c.over {
			if n <= c.cap || n > c.mx {
				t.Errorf("%s: over-cap total %d outside (%d, %d]", name, n, c.cap, c.mx)
			}
		}
	}
	// 400 issues of this dataset include long tails.
	if len(shape.OverComments) == 0 || len(shape.OverHistories) == 0 {
		t.Errorf("no truncated collections seen: %d comments, %d histories over the cap", len(shape.OverComments), len(shape.OverHistories))
	}
}

func TestIDSlices(t *testing.T) {
	ids := []int64{10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		n    int
		want [][2]int64
	}{
		{1, [][2]int64{{10, 16}}},
		{2, [][2]int64{{10, 12}, {13, 16}}},
		{3, [][2]int64{{10, 11}, {12, 13}, {14, 16}}},
		{10, [][2]int64{{10, 10}, {11, 11}, {12, 12}, {13, 13}, {14, 14}, {15, 15}, {16, 16}}},
		{0, nil},
	}
	for _, tt := range tests {
		if got := idSlices(ids, tt.n); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("idSlices(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if got := idSlices(nil, 2); got != nil {
		t.Errorf("idSlices(nil) = %v", got)
	}
}
