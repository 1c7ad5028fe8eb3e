package desttest

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// Diff compares two relations (SQL that may follow FROM, with the same
// columns in the same order) as multisets, with EXCEPT ALL in both
// directions, in db. onlyLeft holds rows left has more often than right,
// onlyRight the reverse. Use it to check that two destinations, or a
// destination and an uninterrupted reference run, hold identical data; the
// DuckDB destination's DB can read Parquet files with read_parquet, so one
// handle sees both.
func Diff(ctx context.Context, db *sql.DB, left, right string) (onlyLeft, onlyRight [][]any, err error) {
	onlyLeft, err = queryAll(ctx, db, "SELECT * FROM "+left+" EXCEPT ALL SELECT * FROM "+right)
	if err != nil {
		return nil, nil, fmt.Errorf("diff %s and %s: %w", left, right, err)
	}
	onlyRight, err = queryAll(ctx, db, "SELECT * FROM "+right+" EXCEPT ALL SELECT * FROM "+left)
	if err != nil {
		return nil, nil, fmt.Errorf("diff %s and %s: %w", right, left, err)
	}
	return onlyLeft, onlyRight, nil
}

// SameRows fails t unless the relations hold the same rows (see Diff). It
// reports up to 10 differing rows each way.
func SameRows(t testing.TB, db *sql.DB, left, right string) {
	t.Helper()
	onlyLeft, onlyRight, err := Diff(t.Context(), db, left, right)
	if err != nil {
		t.Fatal(err)
	}
	if len(onlyLeft)+len(onlyRight) == 0 {
		return
	}
	t.Errorf("%d rows only in %s, %d only in %s; first ones:\n  only left:  %v\n  only right: %v",
		len(onlyLeft), left, len(onlyRight), right, onlyLeft[:min(10, len(onlyLeft))], onlyRight[:min(10, len(onlyRight))])
}

func queryAll(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rs.Err()
}
