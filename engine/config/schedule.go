package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule says how often a sync runs: every fixed interval, or on a cron
// expression (five fields, or a descriptor such as @daily; evaluated in UTC
// unless it starts with CRON_TZ=<zone>).
type Schedule struct {
	// Every is the interval of an interval schedule.
	Every time.Duration
	// Cron is the expression of a cron schedule.
	Cron string
	// Source is the schedule as written in the configuration.
	Source string

	cron cron.Schedule // parsed Cron; nil until needed
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a duration ("1h", "30m", "1d") or a 5-field cron
// expression ("0 * * * *", "@daily").
func ParseSchedule(s string) (Schedule, error) {
	src := strings.TrimSpace(s)
	if src == "" {
		return Schedule{}, errors.New("the schedule is empty")
	}
	if looksLikeDuration(src) {
		d, err := parseDuration(src)
		if err != nil {
			return Schedule{}, err
		}
		if d <= 0 {
			return Schedule{}, fmt.Errorf("the interval %q must be positive", src)
		}
		return Schedule{Every: d, Source: src}, nil
	}
	sched, err := cronParser.Parse(src)
	if err != nil {
		return Schedule{}, fmt.Errorf("%q is neither a duration nor a valid cron expression: %w", src, err)
	}
	// The cron library gives up after five years without a match and
	// returns the zero time, which would make the sync due on every run.
	if sched.Next(time.Now()).IsZero() {
		return Schedule{}, fmt.Errorf("this cron expression never fires: no time in the next five years matches %q; check that its day of the month exists in its month (February has 28 or 29 days; April, June, September and November have 30)", src)
	}
	return Schedule{Cron: src, Source: src, cron: sched}, nil
}

// looksLikeDuration reports whether s is meant as a duration (a number
// followed by a unit) rather than a cron expression.
func looksLikeDuration(s string) bool {
	if strings.ContainsAny(s, " \t*@/,?") {
		return false
	}
	return len(s) > 1 && (s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+' || s[0] == '.')
}

// parseDuration is time.ParseDuration plus a "d" (24h) unit: "1d", "1d12h".
func parseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		var rest time.Duration
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
		}
		if days > 1e5 || days < -1e5 {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		return time.Duration(days*float64(24*time.Hour)) + rest, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return d, nil
}

// Next returns when a sync whose last successful run started at last is
// next due. A zero last (never ran) returns the zero time: due immediately.
//
// A duration counts in periods aligned to UTC: "1h" is due once in each
// UTC hour, "30m" at :00 and :30, "1d" at each UTC midnight. A sync is
// due once a new period has begun since its last run started, so a
// trigger that fires every period (a CI cron), late by a varying few
// minutes or early by the length of a run, runs it every time; counting
// the interval from the last run instead would skip every other trigger.
// A duration under a day that does not divide it starts again at each
// UTC midnight, as cron's steps do: "7h" at 00:00, 07:00, 14:00 and
// 21:00, the last period 3 hours long. Longer ones count from 0001-01-01
// UTC, a Monday: "7d" starts each Monday at 00:00 UTC.
// A cron expression is due at its first time after the last run started.
func (s Schedule) Next(last time.Time) time.Time {
	const day = 24 * time.Hour
	if last.IsZero() {
		return time.Time{}
	}
	switch {
	case s.Every >= day:
		return last.UTC().Truncate(s.Every).Add(s.Every)
	case s.Every > 0:
		// time.Time's Truncate counts from 0001-01-01 UTC, a midnight.
		start := last.UTC().Truncate(day)
		next, end := start.Add(last.Sub(start).Truncate(s.Every)+s.Every), start.Add(day)
		if next.After(end) {
			return end
		}
		return next
	case s.Cron != "":
		sched := s.cron
		if sched == nil {
			var err error
			if sched, err = cronParser.Parse(s.Cron); err != nil {
				// Unparseable schedules never come out of Load; treat as
				// always due rather than never running.
				return last
			}
		}
		return sched.Next(last.UTC())
	}
	return last // the zero Schedule: always due
}

// Due reports whether a sync whose last successful run started at last
// should run at now.
func (s Schedule) Due(last, now time.Time) bool {
	return !now.Before(s.Next(last))
}

// String returns the schedule as written, or a canonical form.
func (s Schedule) String() string {
	switch {
	case s.Source != "":
		return s.Source
	case s.Every > 0:
		return s.Every.String()
	}
	return s.Cron
}
