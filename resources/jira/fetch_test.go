package jira

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestFetchOrdered(t *testing.T) {
	errFetch, errUse := errors.New("fetch failed"), errors.New("use failed")
	for _, tt := range []struct {
		name      string
		n, ahead  int
		failFetch int // index whose fetch fails; -1: none
		failUse   int // index whose use fails; -1: none
		wantUsed  int
		wantErr   error
	}{
		{"none", 0, 4, -1, -1, 0, nil},
		{"fewer than ahead", 3, 4, -1, -1, 3, nil},
		{"many", 50, 4, -1, -1, 50, nil},
		{"one at a time", 7, 1, -1, -1, 7, nil},
		{"ahead zero means one", 5, 0, -1, -1, 5, nil},
		{"a fetch fails", 20, 4, 9, -1, 9, errFetch},
		{"the first fetch fails", 20, 4, 0, -1, 0, errFetch},
		{"a use fails", 20, 4, -1, 5, 6, errUse},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu        sync.Mutex
				cur, peak int
				started   = map[int]bool{}
				running   int
			)
			fetch := func(ctx context.Context, i int) (int, error) {
				mu.Lock()
				cur++
				running++
				peak = max(peak, cur)
				started[i] = true
				mu.Unlock()
				defer func() {
					mu.Lock()
					cur--
					running--
					mu.Unlock()
				}()
				// Later indexes answer first, so order is not luck.
				select {
				case <-time.After(time.Duration(8-i%8) * time.Millisecond):
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				if i == tt.failFetch {
					return 0, fmt.Errorf("chunk %d: %w", i, errFetch)
				}
				return i * 10, nil
			}
			var used []int
			use := func(v int) error {
				if len(used) == tt.failUse {
					used = append(used, v)
					return errUse
				}
				used = append(used, v)
				return nil
			}
			err := fetchOrdered(t.Context(), tt.n, tt.ahead, fetch, use)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(used) != tt.wantUsed {
				t.Fatalf("used %d results, want %d", len(used), tt.wantUsed)
			}
			for i, v := range used {
				if v != i*10 {
					t.Fatalf("result %d is %d: out of order (%v)", i, v, used)
				}
			}
			if bound := max(1, tt.ahead); peak > bound {
				t.Errorf("%d fetches in flight at once, want at most %d", peak, bound)
			}
			if tt.n >= 2*max(1, tt.ahead) && tt.ahead > 1 && tt.wantErr == nil && peak < 2 {
				t.Errorf("fetches ran one at a time (peak %d)", peak)
			}
			if running != 0 {
				t.Errorf("%d fetches still running after fetchOrdered returned", running)
			}
			if tt.wantErr != nil && len(started) == tt.n && tt.n > 2*max(1, tt.ahead) {
				t.Errorf("all %d fetches started despite the error", tt.n)
			}
		})
	}
}
