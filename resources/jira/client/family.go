package client

import (
	"strings"
	"unicode"
)

// Family names the endpoint family a request belongs to, the unit Jira
// rate-limits by: the method plus the path with ids and keys replaced by
// {id}. "GET /rest/api/3/issue/ABC-12/comment" is
// "GET /rest/api/3/issue/{id}/comment".
func Family(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if i > 0 && (segs[i-1] == "api" || segs[i-1] == "agile") {
			continue // API version: 2, 3, latest, 1.0
		}
		if isIDSegment(s) {
			segs[i] = "{id}"
		}
	}
	return method + " /" + strings.Join(segs, "/")
}

// isIDSegment: anything with a digit (ids, issue keys, customfield_10010) or
// an all-uppercase project key. Resource names in Jira paths are lower or
// camel case words.
func isIDSegment(s string) bool {
	hasLetter, allUpper := false, true
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			return true
		case unicode.IsLetter(r):
			hasLetter = true
			if !unicode.IsUpper(r) {
				allUpper = false
			}
		case r == '_' || r == '-':
		default:
			return true // %-escapes, '@', '.' in emails ...
		}
	}
	return hasLetter && allUpper
}
