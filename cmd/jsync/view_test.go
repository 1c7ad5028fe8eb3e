package main

import "testing"

func TestCursorText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2026-11-30T10:54:00.445Z", "2026-11-30T10:54:00.445Z"},
		{"1796040819550", "1796040819550 (2026-11-30T12:13:39Z)"},
		{"1796040819", "1796040819"},       // seconds: not shown as a time
		{"12345", "12345"},                 // an id-like cursor
		{"9999999999999", "9999999999999"}, // year 2286
		{"0000000000000", "0000000000000"}, // 1970
		{"", ""},
	}
	for _, tt := range tests {
		if got := cursorText(tt.in); got != tt.want {
			t.Errorf("cursorText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
