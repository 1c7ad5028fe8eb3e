package config

import (
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		every   time.Duration
		cron    string
		wantErr bool
	}{
		{in: "1h", every: time.Hour},
		{in: "30m", every: 30 * time.Minute},
		{in: "1d", every: 24 * time.Hour},
		{in: "1d12h", every: 36 * time.Hour},
		{in: " 2h ", every: 2 * time.Hour},
		{in: "0 * * * *", cron: "0 * * * *"},
		{in: "*/15 9-17 * * MON-FRI", cron: "*/15 9-17 * * MON-FRI"},
		{in: "@daily", cron: "@daily"},
		{in: "CRON_TZ=Europe/Berlin 0 6 * * *", cron: "CRON_TZ=Europe/Berlin 0 6 * * *"},
		{in: "", wantErr: true},
		{in: "0s", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "1x", wantErr: true},
		{in: "hourly", wantErr: true},
		{in: "61 * * * *", wantErr: true},
		{in: "0 0 * * * *", wantErr: true}, // 6 fields: seconds are not supported
		{in: "99999999d", wantErr: true},
		{in: "0 3 31 2 *", wantErr: true},          // February 31st
		{in: "0 0 30 2 *", wantErr: true},          // February 30th
		{in: "0 0 31 4,6 *", wantErr: true},        // April and June 31st
		{in: "0 0 29 2 *", cron: "0 0 29 2 *"},     // leap years
		{in: "0 0 31 1-2 *", cron: "0 0 31 1-2 *"}, // January 31st
		{in: "0 0 31 2 MON", cron: "0 0 31 2 MON"}, // day of month or week: Mondays in February
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSchedule(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseSchedule(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.in, err)
			}
			if got.Every != tt.every || got.Cron != tt.cron {
				t.Errorf("ParseSchedule(%q) = every %v cron %q, want every %v cron %q", tt.in, got.Every, got.Cron, tt.every, tt.cron)
			}
			if got.String() == "" {
				t.Error("empty String()")
			}
		})
	}
}

func TestScheduleDue(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	hourly, _ := ParseSchedule("1h")
	halfHourly, _ := ParseSchedule("30m")
	daily, _ := ParseSchedule("1d")
	sevenHours, _ := ParseSchedule("7h")
	weekly, _ := ParseSchedule("7d")
	cronTop, _ := ParseSchedule("0 * * * *")
	lazyCron := Schedule{Cron: "30 2 * * *"} // built without ParseSchedule, e.g. from a plan file
	tests := []struct {
		name      string
		s         Schedule
		last, now string
		due       bool
		next      string
	}{
		{name: "never ran", s: hourly, now: "2026-11-29T10:00:00Z", due: true},
		{name: "interval not yet", s: hourly, last: "2026-11-29T10:00:00Z", now: "2026-11-29T10:59:59Z", due: false, next: "2026-11-29T11:00:00Z"},
		{name: "interval exactly", s: hourly, last: "2026-11-29T10:00:00Z", now: "2026-11-29T11:00:00Z", due: true, next: "2026-11-29T11:00:00Z"},
		// A trigger every hour, late by a varying few minutes: due each time.
		{name: "late trigger, then a less late one", s: hourly, last: "2026-11-29T10:08:00Z", now: "2026-11-29T11:03:00Z", due: true, next: "2026-11-29T11:00:00Z"},
		{name: "same period", s: hourly, last: "2026-11-29T10:08:00Z", now: "2026-11-29T10:59:00Z", due: false, next: "2026-11-29T11:00:00Z"},
		{name: "half hours", s: halfHourly, last: "2026-11-29T10:29:59Z", now: "2026-11-29T10:30:00Z", due: true, next: "2026-11-29T10:30:00Z"},
		{name: "days at UTC midnight", s: daily, last: "2026-11-29T23:10:00+01:00", now: "2026-11-29T23:59:00Z", due: false, next: "2026-11-30T00:00:00Z"},
		// Under a day and not dividing it: periods start again at midnight.
		{name: "7h from midnight", s: sevenHours, last: "2026-11-29T00:00:00Z", now: "2026-11-29T06:59:59Z", due: false, next: "2026-11-29T07:00:00Z"},
		{name: "7h mid-day", s: sevenHours, last: "2026-11-29T15:20:00Z", now: "2026-11-29T21:00:00Z", due: true, next: "2026-11-29T21:00:00Z"},
		{name: "7h last period of the day is short", s: sevenHours, last: "2026-11-29T21:30:00Z", now: "2026-11-29T23:59:00Z", due: false, next: "2026-11-30T00:00:00Z"},
		{name: "7h in another zone", s: sevenHours, last: "2026-11-30T00:30:00+01:00", now: "2026-11-30T00:00:00Z", due: true, next: "2026-11-30T00:00:00Z"},
		{name: "weeks start on Monday", s: weekly, last: "2026-11-25T12:00:00Z", now: "2026-11-29T23:59:59Z", due: false, next: "2026-11-30T00:00:00Z"},
		{name: "cron not yet", s: cronTop, last: "2026-11-29T10:05:00Z", now: "2026-11-29T10:59:00Z", due: false, next: "2026-11-29T11:00:00Z"},
		{name: "cron due", s: cronTop, last: "2026-11-29T10:05:00Z", now: "2026-11-29T11:00:00Z", due: true, next: "2026-11-29T11:00:00Z"},
		{name: "cron in other zone", s: cronTop, last: "2026-11-29T11:05:00+01:00", now: "2026-11-29T10:30:00Z", due: false, next: "2026-11-29T11:00:00Z"},
		{name: "lazily parsed cron", s: lazyCron, last: "2026-11-29T03:00:00Z", now: "2026-11-30T02:30:00Z", due: true, next: "2026-11-30T02:30:00Z"},
		{name: "zero schedule always due", s: Schedule{}, last: "2026-11-29T10:00:00Z", now: "2026-11-29T10:00:00Z", due: true, next: "2026-11-29T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var last time.Time
			if tt.last != "" {
				last = at(tt.last)
			}
			now := at(tt.now)
			if got := tt.s.Due(last, now); got != tt.due {
				t.Errorf("Due = %v, want %v", got, tt.due)
			}
			next := tt.s.Next(last)
			if tt.next == "" {
				if !next.IsZero() {
					t.Errorf("Next = %v, want zero", next)
				}
			} else if !next.Equal(at(tt.next)) {
				t.Errorf("Next = %v, want %v", next, tt.next)
			}
		})
	}
}
