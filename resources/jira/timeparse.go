package jira

import (
	"fmt"
	"strings"
	"time"
)

// Jira renders datetimes in several forms (jira-api.md §2.4):
//
//	platform API   2021-05-08T07:04:25.376+0100   offset without colon, in the user's zone
//	Agile, Cloud   2021-04-30T04:29:38.642Z
//	Agile, DC      2016-04-11T07:29:03.294-07:00
//	older entries  2012-04-11T14:26+0200          no seconds
//
// Go accepts a fractional second after the seconds field even when the
// layout has none, so these layouts cover the millisecond forms too.
var datetimeLayouts = []string{
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04Z07:00",
}

// ParseDateTime parses a Jira datetime string into UTC. A value without a
// zone offset is an error: guessing a zone is how syncs lose data.
func ParseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a Jira datetime: %q", s)
}

// ParseEpoch converts an epoch number to UTC. Jira uses milliseconds
// (worklog/updated) and, in the changelog/bulkfetch example, seconds; values
// below 1e11 (year 5138 in seconds, 1973 in milliseconds) are read as seconds.
func ParseEpoch(n float64) (time.Time, error) {
	if n < 0 || n > 1e15 {
		return time.Time{}, fmt.Errorf("epoch value %v out of range", n)
	}
	if n < 1e11 {
		sec := int64(n)
		return time.Unix(sec, int64((n-float64(sec))*1e9)).UTC(), nil
	}
	return time.UnixMilli(int64(n)).UTC(), nil
}

// ParseDate parses a Jira date (yyyy-MM-dd). A full datetime is accepted too
// and yields its calendar date in its own offset.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a Jira date: %q", s)
}
