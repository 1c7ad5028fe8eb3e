//go:build duckdb_arrow

package duckdb

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
)

// TestJoinCleanup: a cleanup failure is reported, unless it only repeats
// that the first failure already closed the connection.
func TestJoinCleanup(t *testing.T) {
	failed := errors.New("commit: Out of Memory Error")
	other := errors.New("drop view: I/O error")
	closed := fmt.Errorf("close feed: %w", sql.ErrConnDone)
	tests := []struct {
		name     string
		err, cln error
		want     []error
		wantNot  []error
	}{
		{"both fine", nil, nil, nil, nil},
		{"cleanup fails after success", nil, closed, []error{sql.ErrConnDone}, nil},
		{"connection gone after a failure", failed, closed, []error{failed}, []error{sql.ErrConnDone}},
		{"another cleanup failure after a failure", failed, other, []error{failed, other}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := joinCleanup(tt.err, tt.cln)
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("joinCleanup = %v, want nil: %v", got, tt.want == nil)
			}
			for _, w := range tt.want {
				if !errors.Is(got, w) {
					t.Errorf("joinCleanup = %v, want it to carry %v", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if errors.Is(got, w) {
					t.Errorf("joinCleanup = %v, want it without %v", got, w)
				}
			}
		})
	}
}
