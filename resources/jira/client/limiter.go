package client

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per endpoint family, shared by every
// goroutine using the Client. It also carries pauses: a family pause after a
// burst 429 and a global pause after a quota 429.
type limiter struct {
	rate  float64 // tokens per second; <= 0 means unlimited
	burst float64
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu          sync.Mutex
	buckets     map[string]*bucket
	globalUntil time.Time
}

type bucket struct {
	tokens     float64
	last       time.Time
	pauseUntil time.Time
}

func newLimiter(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	burst := math.Max(1, math.Floor(rate/5))
	return &limiter{rate: rate, burst: burst, now: now, sleep: sleep, buckets: map[string]*bucket{}}
}

// wait blocks until the family may send one request, or ctx ends.
func (l *limiter) wait(ctx context.Context, family string) error {
	for {
		d, reserved := l.reserve(family)
		if d <= 0 {
			return nil
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
		if reserved {
			return nil
		}
		// A pause ended: go round again to take a token.
	}
}

// reserve returns how long the caller must wait. reserved reports whether a
// token was taken (the wait is for the bucket to refill); when false the
// family is paused and the caller must call reserve again after waiting.
func (l *limiter) reserve(family string) (wait time.Duration, reserved bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucketLocked(family, now)
	if p := l.pauseLeftLocked(b, now); p > 0 {
		return p, false
	}
	if l.rate <= 0 {
		return 0, true
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0, true
	}
	return time.Duration(-b.tokens / l.rate * float64(time.Second)), true
}

func (l *limiter) pauseLeftLocked(b *bucket, now time.Time) time.Duration {
	until := b.pauseUntil
	if l.globalUntil.After(until) {
		until = l.globalUntil
	}
	return until.Sub(now)
}

func (l *limiter) bucketLocked(family string, now time.Time) *bucket {
	b, ok := l.buckets[family]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[family] = b
	}
	return b
}

// pause stops a family (or, for a quota-based 429, every family) until t.
func (l *limiter) pause(family, reason string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.HasPrefix(reason, "jira-quota") {
		if until.After(l.globalUntil) {
			l.globalUntil = until
		}
		return
	}
	b := l.bucketLocked(family, l.now())
	if until.After(b.pauseUntil) {
		b.pauseUntil = until
	}
}
