package jirasim

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestDatasetShape(t *testing.T) {
	const n = 20000
	var c, h, w, overC, overH, overW int
	maxC, maxH, maxW := 0, 0, 0
	for i := 0; i < n; i++ {
		ci, hi, wi := childCounts(1, i, n)
		c, h, w = c+ci, h+hi, w+wi
		if ci > 20 {
			overC++
		}
		if hi > 40 {
			overH++
		}
		if wi > 20 {
			overW++
		}
		maxC, maxH, maxW = max(maxC, ci), max(maxH, hi), max(maxW, wi)
	}
	avg := func(x int) float64 { return float64(x) / n }
	pct := func(x int) float64 { return 100 * float64(x) / n }
	if a := avg(c); a < 5 || a > 7 {
		t.Errorf("comments avg %.2f", a)
	}
	if a := avg(h); a < 7 || a > 9 {
		t.Errorf("histories avg %.2f", a)
	}
	if a := avg(w); a < 1.5 || a > 2.5 {
		t.Errorf("worklogs avg %.2f", a)
	}
	if p := pct(overC); p < 1.5 || p > 2.5 {
		t.Errorf("%.2f%% over the comment cap", p)
	}
	if p := pct(overH); p < 1.5 || p > 2.5 {
		t.Errorf("%.2f%% over the history cap", p)
	}
	if p := pct(overW); p < 0.6 || p > 1.4 {
		t.Errorf("%.2f%% over the worklog cap", p)
	}
	if maxC != 250 || maxH != 150 || maxW != 60 {
		t.Errorf("tails %d/%d/%d", maxC, maxH, maxW)
	}
}

func TestDatasetDeterministicAndSpansTwoYears(t *testing.T) {
	a, _ := startSim(t, Options{Issues: 200, Seed: 11})
	b, _ := startSim(t, Options{Issues: 200, Seed: 11})
	other, _ := startSim(t, Options{Issues: 200, Seed: 12})
	get := func(s *Server) []byte {
		code, _, body := client(t, s).do("GET", "/rest/api/3/issue/"+tailIssue(200)+"?expand=changelog", nil)
		if code != 200 {
			t.Fatal(code)
		}
		return bytes.ReplaceAll(body, []byte(s.URL()), nil)
	}
	if !bytes.Equal(get(a), get(b)) {
		t.Fatal("same seed, different issue")
	}
	if bytes.Equal(get(a), get(other)) {
		t.Fatal("different seeds, same issue")
	}
	d := a.data
	first, last := d.recs[0].created, d.recs[len(d.recs)-1].updated
	span := time.Duration(last-first) * time.Millisecond
	if span < 700*24*time.Hour || span > 731*24*time.Hour {
		t.Fatalf("timestamps span %v", span)
	}
}

// 200,000 issues must stay cheap: lazily generated content, compact index.
func TestLargeDatasetIsCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	start := time.Now()
	s, _ := startSim(t, Options{Issues: 200000})
	t.Logf("generated 200k issues in %v", time.Since(start))
	var page obj
	client(t, s).get("/rest/api/3/search/jql?jql=created%3E%3D0&maxResults=5000", &page)
	if len(arr(page["issues"])) != 5000 {
		t.Fatal("page")
	}
	b, _ := json.Marshal(s.Expected(zeroTime))
	t.Logf("expected %s", b)
}
