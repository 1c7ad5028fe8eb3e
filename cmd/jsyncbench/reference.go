package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// referenceJQL bounds the search the way the jsync config does (start_date).
const referenceJQL = `created >= "2000-01-01"`

// rawPage is the part of a search/jql page the scan reads.
type rawPage struct {
	Issues []struct {
		ID        string `json:"id"`
		Changelog *struct {
			Total     int64             `json:"total"`
			Histories []json.RawMessage `json:"histories"`
		} `json:"changelog"`
		Fields struct {
			Comment *struct {
				Total    int64             `json:"total"`
				Comments []json.RawMessage `json:"comments"`
			} `json:"comment"`
			Worklog *struct {
				Total    int64             `json:"total"`
				Worklogs []json.RawMessage `json:"worklogs"`
			} `json:"worklog"`
		} `json:"fields"`
	} `json:"issues"`
	IsLast        bool   `json:"isLast"`
	NextPageToken string `json:"nextPageToken"`
}

// pageScan accumulates what the minimum needs from the raw pages.
type pageScan struct {
	mu                                        sync.Mutex
	issues                                    int64
	overComments, overHistories, overWorklogs []int64
	maxComments, maxHistories, maxWorklogs    int64
}

// add records one decoded page. An embedded collection is truncated when it
// holds fewer items than its total, which is how a client sees it.
func (s *pageScan) add(p *rawPage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, is := range p.Issues {
		s.issues++
		if c := is.Fields.Comment; c != nil {
			s.maxComments = max(s.maxComments, c.Total)
			if int64(len(c.Comments)) < c.Total {
				s.overComments = append(s.overComments, c.Total)
			}
		}
		if c := is.Changelog; c != nil {
			s.maxHistories = max(s.maxHistories, c.Total)
			if int64(len(c.Histories)) < c.Total {
				s.overHistories = append(s.overHistories, c.Total)
			}
		}
		if c := is.Fields.Worklog; c != nil {
			s.maxWorklogs = max(s.maxWorklogs, c.Total)
			if int64(len(c.Worklogs)) < c.Total {
				s.overWorklogs = append(s.overWorklogs, c.Total)
			}
		}
	}
}

// apply copies the scan into a shape whose totals came from /_sim/expected.
func (s *pageScan) apply(shape *datasetShape) {
	s.mu.Lock()
	defer s.mu.Unlock()
	shape.OverComments, shape.OverHistories, shape.OverWorklogs = s.overComments, s.overHistories, s.overWorklogs
	shape.MaxComments, shape.MaxHistories, shape.MaxWorklogs = s.maxComments, s.maxHistories, s.maxWorklogs
}

// searchGet performs one authenticated GET of search/jql and returns the body.
func (p *simProcess) searchGet(ctx context.Context, q url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/rest/api/3/search/jql?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(benchEmail, benchToken)
	req.Header.Set("Accept", "application/json")
	for attempt := 0; ; attempt++ {
		resp, err := p.client.Do(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 10 {
			time.Sleep(time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, body)
		}
		return body, nil
	}
}

// issueIDs lists every issue id in ascending order (fields=id pages of 5000).
func (p *simProcess) issueIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	token := ""
	for page := 1; ; page++ {
		q := url.Values{"jql": {referenceJQL + " ORDER BY id ASC"}, "fields": {"id"}, "maxResults": {"5000"}}
		if token != "" {
			q.Set("nextPageToken", token)
		}
		body, err := p.searchGet(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list issue ids, page %d: %w", page, err)
		}
		var rp rawPage
		if err := json.Unmarshal(body, &rp); err != nil {
			return nil, fmt.Errorf("list issue ids, page %d: decode: %w", page, err)
		}
		for _, is := range rp.Issues {
			n, err := strconv.ParseInt(is.ID, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("list issue ids, page %d: id %q: %w", page, is.ID, err)
			}
			ids = append(ids, n)
		}
		if rp.IsLast || rp.NextPageToken == "" {
			break
		}
		token = rp.NextPageToken
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// idSlices splits sorted ids into at most n contiguous [lo, hi] ranges.
func idSlices(ids []int64, n int) [][2]int64 {
	if len(ids) == 0 || n < 1 {
		return nil
	}
	n = min(n, len(ids))
	var out [][2]int64
	for k := 0; k < n; k++ {
		lo, hi := k*len(ids)/n, (k+1)*len(ids)/n-1
		out = append(out, [2]int64{ids[lo], ids[hi]})
	}
	return out
}

// downloadResult says what downloadPages fetched and saved.
type downloadResult struct {
	Pages       int   // pages fetched (and scanned)
	SavedPages  int   // pages written to disk
	SavedIssues int64 // issues in the saved pages
}

// downloadPages fetches every search/jql page (fields=*all,
// expand=changelog, asking for the largest page; the server shrinks it),
// `slices` id ranges concurrently, and scans them. The first maxSave pages
// (0 = all) are written under dir as JSON files, exactly as received.
func downloadPages(ctx context.Context, p *simProcess, dir string, slices, maxSave int, scan *pageScan) (downloadResult, error) {
	var res downloadResult
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create page dir: %w", err)
	}
	ids, err := p.issueIDs(ctx)
	if err != nil {
		return res, err
	}
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	for k, r := range idSlices(ids, slices) {
		g.Go(func() error {
			jql := fmt.Sprintf("%s AND id >= %d AND id <= %d ORDER BY id ASC", referenceJQL, r[0], r[1])
			token := ""
			for n := 1; ; n++ {
				q := url.Values{"jql": {jql}, "fields": {"*all"}, "expand": {"changelog"}, "maxResults": {"5000"}}
				if token != "" {
					q.Set("nextPageToken", token)
				}
				body, err := p.searchGet(ctx, q)
				if err != nil {
					return fmt.Errorf("fetch slice %d page %d: %w", k, n, err)
				}
				var rp rawPage
				if err := json.Unmarshal(body, &rp); err != nil {
					return fmt.Errorf("fetch slice %d page %d: decode: %w", k, n, err)
				}
				scan.add(&rp)
				mu.Lock()
				res.Pages++
				save := maxSave == 0 || res.SavedPages < maxSave
				if save {
					res.SavedPages++
					res.SavedIssues += int64(len(rp.Issues))
				}
				mu.Unlock()
				if save {
					name := filepath.Join(dir, fmt.Sprintf("s%02d-p%05d.json", k, n))
					if err := os.WriteFile(name, body, 0o644); err != nil {
						return fmt.Errorf("save page: %w", err)
					}
				}
				if rp.IsLast || rp.NextPageToken == "" {
					return nil
				}
				token = rp.NextPageToken
			}
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	return res, nil
}

// readJSONTime times DuckDB creating a table from the saved pages:
// CREATE TABLE t AS SELECT * FROM read_json('<dir>/*.json'), in a fresh
// database file.
func readJSONTime(ctx context.Context, pagesDir, dbPath string) (time.Duration, error) {
	_ = os.Remove(dbPath)
	_ = os.Remove(dbPath + ".wal")
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return 0, fmt.Errorf("open reference database: %w", err)
	}
	defer func() {
		db.Close()
		_ = os.Remove(dbPath)
		_ = os.Remove(dbPath + ".wal")
	}()
	glob := filepath.Join(pagesDir, "*.json")
	q := fmt.Sprintf(`CREATE TABLE t AS SELECT * FROM read_json('%s')`, escapeSQLString(glob))
	start := time.Now()
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("reference read_json: %w", err)
	}
	d := time.Since(start)
	var rows int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&rows); err != nil {
		return 0, fmt.Errorf("reference count: %w", err)
	}
	if rows == 0 {
		return 0, fmt.Errorf("reference read_json loaded no pages from %s", glob)
	}
	return d, nil
}

func escapeSQLString(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}
