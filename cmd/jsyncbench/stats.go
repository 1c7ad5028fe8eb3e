package main

import (
	"sort"
	"strings"
)

// simStats is the JSON of GET /_sim/stats: request counts by endpoint
// pattern (for example "GET /rest/api/3/search/jql") and HTTP status (as a
// string; "0" is a connection reset).
type simStats struct {
	Endpoints map[string]map[string]int64 `json:"endpoints"`
	Total     int64                       `json:"total"`
}

// sub returns s minus an earlier snapshot, so that one simulator can serve
// several measured runs.
func (s simStats) sub(before simStats) simStats {
	out := simStats{Endpoints: map[string]map[string]int64{}}
	for ep, codes := range s.Endpoints {
		for code, n := range codes {
			d := n - before.Endpoints[ep][code]
			if d == 0 {
				continue
			}
			if out.Endpoints[ep] == nil {
				out.Endpoints[ep] = map[string]int64{}
			}
			out.Endpoints[ep][code] = d
			out.Total += d
		}
	}
	return out
}

// count sums the requests whose endpoint pattern satisfies match, over all
// statuses.
func (s simStats) count(match func(endpoint string) bool) int64 {
	var n int64
	for ep, codes := range s.Endpoints {
		if !match(ep) {
			continue
		}
		for _, c := range codes {
			n += c
		}
	}
	return n
}

// status sums the requests answered with one HTTP status.
func (s simStats) status(code string) int64 {
	var n int64
	for _, codes := range s.Endpoints {
		n += codes[code]
	}
	return n
}

// endpointPath strips the method from a pattern ("GET /rest/api/3/x" → "/rest/api/3/x").
func endpointPath(ep string) string {
	if _, p, ok := strings.Cut(ep, " "); ok {
		return p
	}
	return ep
}

// isSearch matches the issue search endpoints — /rest/api/{v}/search/jql
// and the legacy /rest/api/{v}/search that Data Center still serves — but
// not approximate-count, project/search or users/search.
func isSearch(ep string) bool {
	rest, ok := strings.CutPrefix(endpointPath(ep), "/rest/api/")
	if !ok {
		return false
	}
	_, op, ok := strings.Cut(rest, "/") // drop the version
	return ok && (op == "search" || op == "search/jql")
}

// isApproximateCount matches POST search/approximate-count.
func isApproximateCount(ep string) bool {
	return strings.HasSuffix(endpointPath(ep), "/search/approximate-count")
}

// endpointCount is one line of a per-endpoint breakdown.
type endpointCount struct {
	Endpoint string
	Requests int64
}

// byEndpoint lists endpoints by descending request count (ties by name).
func (s simStats) byEndpoint() []endpointCount {
	var out []endpointCount
	for ep := range s.Endpoints {
		out = append(out, endpointCount{ep, s.count(func(e string) bool { return e == ep })})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Requests != out[j].Requests {
			return out[i].Requests > out[j].Requests
		}
		return out[i].Endpoint < out[j].Endpoint
	})
	return out
}
