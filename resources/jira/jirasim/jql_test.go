package jirasim

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testDataset(t *testing.T, n int) (*dataset, time.Time) {
	t.Helper()
	now := time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC)
	cat := newCatalogue(1, FlavorCloud, now, DefaultEmail, 0)
	return newDataset(1, n, cat, now), now
}

func TestJQLDateLiteralsUseUserTimeZone(t *testing.T) {
	d, now := testDataset(t, 10)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, tc := range []struct {
		lit  string
		loc  *time.Location
		want time.Time
	}{
		{`"2026/03/01 14:05"`, berlin, time.Date(2026, 3, 1, 13, 5, 0, 0, time.UTC)},
		{`"2026-07-01 14:05"`, berlin, time.Date(2026, 7, 1, 12, 5, 0, 0, time.UTC)}, // DST
		{`"2026/03/01"`, la, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
		{`'2026-03-01'`, la, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
		{`2026-03-01`, time.UTC, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{`1732877091000`, berlin, time.UnixMilli(1732877091000)}, // unquoted: epoch ms
		{`"1440"`, berlin, now.Add(1440 * time.Minute)},          // quoted number: minutes
		{`"-5d"`, berlin, now.Add(-5 * 24 * time.Hour)},
		{`-1h`, berlin, now.Add(-time.Hour)},
		{`"-2w"`, la, now.Add(-14 * 24 * time.Hour)},
		{`"-30m"`, la, now.Add(-30 * time.Minute)},
		{`"-30"`, la, now.Add(-30 * time.Minute)},
	} {
		t.Run(tc.lit, func(t *testing.T) {
			ps := &jqlParser{d: d, loc: tc.loc, now: now}
			toks, err := lexJQL(tc.lit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ps.jqlDate("updated", toks[0])
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want.UnixMilli() {
				t.Fatalf("got %v, want %v", time.UnixMilli(got).UTC(), tc.want.UTC())
			}
		})
	}
}

func TestJQLEvaluation(t *testing.T) {
	d, _ := testDataset(t, 500)
	utc := time.UTC
	mid := d.recs[250].updated
	count := func(f func(r *issueRec, i int32) bool) int {
		n := 0
		for i := range d.recs {
			if f(&d.recs[i], int32(i)) {
				n++
			}
		}
		return n
	}
	alpha := count(func(r *issueRec, _ int32) bool { return r.proj == 0 })
	for _, tc := range []struct {
		jql  string
		want int
	}{
		{"project = ALPHA", alpha},
		{"project = alpha", alpha},
		{"project = 10000", alpha},
		{`project = "Alpha Platform"`, alpha},
		{"project in (ALPHA, BETA)", count(func(r *issueRec, _ int32) bool { return r.proj <= 1 })},
		{"project not in (ALPHA)", 500 - alpha},
		{"project != ALPHA", 500 - alpha},
		{"updated >= " + strconv.FormatInt(mid, 10), count(func(r *issueRec, _ int32) bool { return r.updated >= mid })},
		{"updated > " + strconv.FormatInt(mid, 10), count(func(r *issueRec, _ int32) bool { return r.updated > mid })},
		{"updated < " + strconv.FormatInt(mid, 10), count(func(r *issueRec, _ int32) bool { return r.updated < mid })},
		{"updated <= " + strconv.FormatInt(mid, 10) + " AND project = ALPHA", count(func(r *issueRec, _ int32) bool { return r.updated <= mid && r.proj == 0 })},
		{"created >= 0 AND (project = ALPHA OR project = BETA)", count(func(r *issueRec, _ int32) bool { return r.proj <= 1 })},
		{"NOT project = ALPHA", 500 - alpha},
		{"id = 10005", 1},
		{"id in (10001, 10002, 99999)", 2},
		{"id > 10490", 9},
		{"id >= 10490 and id < 10495", 5},
		{"key = " + d.key(7), 1},
		{"issuekey in (" + d.key(7) + ", " + d.key(8) + ")", 2},
		{"key > ALPHA-10", count(func(r *issueRec, _ int32) bool { return r.proj == 0 && r.seq > 10 })},
		{"key <= ALPHA-10", 10},
	} {
		t.Run(tc.jql, func(t *testing.T) {
			q, err := parseJQL(tc.jql, d, utc, d.now, asAdmin)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(q.run(d, asAdmin)); got != tc.want {
				t.Fatalf("got %d issues, want %d", got, tc.want)
			}
		})
	}
}

func TestJQLOrderBy(t *testing.T) {
	d, _ := testDataset(t, 300)
	for _, tc := range []struct {
		jql  string
		less func(a, b *issueRec, ia, ib int32) bool // must hold for consecutive results (non-strict)
	}{
		{"created >= 0 ORDER BY updated ASC, id ASC", func(a, b *issueRec, ia, ib int32) bool {
			return a.updated < b.updated || (a.updated == b.updated && ia < ib)
		}},
		{"created >= 0 order by created desc", func(a, b *issueRec, _, _ int32) bool { return a.created >= b.created }},
		{"created >= 0 ORDER BY id DESC", func(_, _ *issueRec, ia, ib int32) bool { return ia > ib }},
		{"created >= 0 ORDER BY key", func(a, b *issueRec, _, _ int32) bool {
			ka, kb := d.cat.projects[a.proj].Key, d.cat.projects[b.proj].Key
			return ka < kb || (ka == kb && a.seq < b.seq)
		}},
	} {
		t.Run(tc.jql, func(t *testing.T) {
			q, err := parseJQL(tc.jql, d, time.UTC, d.now, asAdmin)
			if err != nil {
				t.Fatal(err)
			}
			res := q.run(d, asAdmin)
			for k := 1; k < len(res); k++ {
				if !tc.less(&d.recs[res[k-1]], &d.recs[res[k]], res[k-1], res[k]) {
					t.Fatalf("order broken at %d", k)
				}
			}
		})
	}
}

func TestJQLErrors(t *testing.T) {
	d, _ := testDataset(t, 20)
	for _, jql := range []string{
		"summary ~ foo",
		"assignee = currentUser()",
		"project = NOPE",
		"project in (ALPHA",
		"updated >= \"yesterday\"",
		"updated >= now()",
		"project = ALPHA AND",
		"project = ALPHA ORDER BY summary",
		"project = ALPHA ORDER BY",
		"(project = ALPHA",
		"project ALPHA",
		"key = NOPE-1",
		"key = garbage",
		"project = ALPHA ORDER BY updated, created, key, id, updated, created, key, id",
		"updated is EMPTY",
		"project = ALPHA & project = BETA",
		`project = "ALPHA`,
		"id = abc",
		"project > ALPHA",
	} {
		t.Run(jql, func(t *testing.T) {
			_, err := parseJQL(jql, d, time.UTC, d.now, asAdmin)
			var je *jqlError
			if !errors.As(err, &je) || je.msg == "" {
				t.Fatalf("want a JQL error, got %v", err)
			}
		})
	}
}

// Restricted users cannot name projects they cannot see.
func TestJQLRestrictedProjects(t *testing.T) {
	s, _ := startSim(t, Options{Issues: 50})
	c := client(t, s)
	c.auth = s.RestrictedAuthHeader()
	code, _, body := c.do("GET", "/rest/api/3/search/jql?"+url.Values{"jql": {"project = BETA"}}.Encode(), nil)
	if code != 400 || !strings.Contains(string(body), "The value 'BETA' does not exist for the field 'project'.") {
		t.Fatalf("%d %s", code, body)
	}
	var page obj
	c.get("/rest/api/3/search/jql?"+url.Values{"jql": {"project = ALPHA"}}.Encode(), &page)
	if len(arr(page["issues"])) == 0 {
		t.Fatal("restricted user sees ALPHA")
	}
}

func TestSearchTimeZoneEndToEnd(t *testing.T) {
	// The same wall-clock literal selects different instants per time zone.
	var counts []int
	for _, tz := range []string{"Pacific/Kiritimati", "Pacific/Pago_Pago"} {
		s, clk := startSim(t, Options{Issues: 400, TZ: tz})
		day := clk.Now().AddDate(0, -6, 0).Format("2006-01-02")
		var c obj
		client(t, s).json("POST", "/rest/api/3/search/approximate-count", obj{"jql": `created >= "` + day + ` 00:00"`}, 200, &c)
		counts = append(counts, num(c["count"]))
	}
	if counts[0] <= counts[1] {
		t.Fatalf("UTC+14 midnight is earlier than UTC-11 midnight, so it must match more issues: %v", counts)
	}
}
