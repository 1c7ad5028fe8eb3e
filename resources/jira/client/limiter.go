package client

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per endpoint family, shared by every
// goroutine using the Client. It also carries pauses: a family pause after a
// burst 429 and a global pause after a quota 429.
//
// A family's rate adapts to Jira's: Jira Cloud's burst limit is a token
// bucket per endpoint shared by every app and API token on the tenant, so
// the share left to jsync moves with what else runs there. A burst 429
// halves the family's rate (at most once per lowerEvery, since the
// requests in flight are refused together), and the rate then grows back
// by rate/recoverTime per second without a 429 (additive increase,
// multiplicative decrease). The configured rate is the ceiling.
//
// Jira Data Center's rate limiting, where an administrator turned it on,
// is one token bucket per user across endpoints, and every answer states
// it (X-RateLimit-FillRate per X-RateLimit-Interval-Seconds, capacity
// X-RateLimit-Limit, X-RateLimit-Remaining). Once an answer has, the
// limiter keeps a copy of that bucket (user) which every request also
// takes a token from, so jsync stays under the user's limit instead of
// learning it from 429s; a 429 from it pauses every family.
type limiter struct {
	rate  float64 // ceiling, tokens per second; <= 0 means unlimited
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	mu          sync.Mutex
	buckets     map[string]*bucket
	globalUntil time.Time
	user        *userBucket // nil until a Data Center answer states its limit
}

// userBucket is the copy of a Data Center user's bucket.
type userBucket struct {
	tokens, capacity, rate float64
	last                   time.Time
}

type bucket struct {
	tokens     float64
	last       time.Time
	pauseUntil time.Time
	rate       float64   // current rate: the ceiling, lowered by burst 429s
	lowered    time.Time // when rate was last halved
}

const (
	// minRate is the lowest rate a family is lowered to, requests/s.
	minRate = 1
	// lowerEvery spaces the halvings of a family's rate.
	lowerEvery = time.Second
	// recoverTime is how long a family takes to grow from no rate to the
	// ceiling without a 429 (from half the ceiling: half of it).
	recoverTime = 30 * time.Second
)

func newLimiter(rate float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{rate: rate, now: now, sleep: sleep, buckets: map[string]*bucket{}}
}

// burst is the bucket capacity at a rate: a fifth of a second of requests.
func burst(rate float64) float64 { return math.Max(1, math.Floor(rate/5)) }

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
	paused := l.pausedUntilLocked(b)
	if p := paused.Sub(now); p > 0 {
		return p, false
	}
	if l.rate <= 0 {
		return l.takeUserLocked(now), true
	}
	// Time spent paused (the family's or every family's pause) neither
	// refills the bucket nor restores the rate.
	from := b.last
	if paused.After(from) {
		from = paused
	}
	elapsed := max(0, now.Sub(from).Seconds())
	if b.rate < l.rate {
		b.rate = math.Min(l.rate, b.rate+elapsed*l.rate/recoverTime.Seconds())
	}
	b.tokens = math.Min(burst(b.rate), b.tokens+elapsed*b.rate)
	b.last = now
	b.tokens--
	wait = 0
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	return max(wait, l.takeUserLocked(now)), true
}

// takeUserLocked takes a token from the user's bucket, if one is known,
// and returns how long its refill takes. Like the server's, it refills
// during pauses.
func (l *limiter) takeUserLocked(now time.Time) time.Duration {
	u := l.user
	if u == nil {
		return 0
	}
	u.tokens = math.Min(u.capacity, u.tokens+max(0, now.Sub(u.last).Seconds())*u.rate)
	u.last = now
	u.tokens--
	if u.tokens >= 0 {
		return 0
	}
	return time.Duration(-u.tokens / u.rate * float64(time.Second))
}

// observe reads a Data Center answer's rate-limit headers (see limiter):
// the user's bucket is created or updated, its tokens no more than the
// server says remain. It reports whether the answer stated such a limit.
func (l *limiter) observe(h http.Header) bool {
	fill, err1 := strconv.ParseFloat(h.Get("X-RateLimit-FillRate"), 64)
	interval, err2 := strconv.ParseFloat(h.Get("X-RateLimit-Interval-Seconds"), 64)
	if err1 != nil || err2 != nil || !(fill > 0) || !(interval > 0) || math.IsInf(fill, 0) || math.IsInf(interval, 0) {
		return false // NaN fails the comparisons
	}
	capacity, err := strconv.ParseFloat(h.Get("X-RateLimit-Limit"), 64)
	if err != nil || !(capacity >= 1) || math.IsInf(capacity, 0) {
		capacity = 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.user == nil {
		l.user = &userBucket{tokens: capacity, capacity: capacity, last: now}
	}
	u := l.user
	// Refill up to now at the old rate, then no more than the server says
	// remains now: later refills count from this answer.
	u.tokens = math.Min(u.capacity, u.tokens+max(0, now.Sub(u.last).Seconds())*u.rate)
	u.last = now
	u.rate, u.capacity = fill/interval, capacity
	u.tokens = math.Min(u.tokens, capacity)
	if rem, err := strconv.ParseFloat(h.Get("X-RateLimit-Remaining"), 64); err == nil && rem >= 0 {
		u.tokens = math.Min(u.tokens, rem)
	}
	return true
}

// pauseAll stops every family until t (a quota, or a Data Center user's
// limit), lowering no rate.
func (l *limiter) pauseAll(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauseAllLocked(until)
}

func (l *limiter) pauseAllLocked(until time.Time) {
	if until.After(l.globalUntil) {
		l.globalUntil = until
	}
}

// pausedUntilLocked is when the family's pause, or the global one, ends.
func (l *limiter) pausedUntilLocked(b *bucket) time.Time {
	if l.globalUntil.After(b.pauseUntil) {
		return l.globalUntil
	}
	return b.pauseUntil
}

func (l *limiter) bucketLocked(family string, now time.Time) *bucket {
	b, ok := l.buckets[family]
	if !ok {
		b = &bucket{tokens: burst(l.rate), last: now, rate: l.rate}
		l.buckets[family] = b
	}
	return b
}

// ConcurrencyLimited reports whether a 429's RateLimit-Reason refuses
// requests for being too many at once (field reports show
// jira-max-concurrent-threads-across-all-instances-per-tenant-per-user),
// not too many per second: fewer requests in flight answer it, a lower
// rate does not.
func ConcurrencyLimited(reason string) bool { return strings.Contains(reason, "concurrent") }

// pause stops a family (or, for a quota-based 429, every family) until t.
// A pause for a burst limit (any other reason but ConcurrencyLimited) also
// halves the family's rate, unless it was halved less than lowerEvery ago.
// It reports the family's rate before and after when it lowered it.
func (l *limiter) pause(family, reason string, until time.Time) (from, to float64, lowered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if strings.HasPrefix(reason, "jira-quota") {
		l.pauseAllLocked(until)
		return 0, 0, false
	}
	now := l.now()
	b := l.bucketLocked(family, now)
	if until.After(b.pauseUntil) {
		b.pauseUntil = until
	}
	if l.rate <= 0 || ConcurrencyLimited(reason) || b.rate <= minRate || now.Sub(b.lowered) < lowerEvery {
		return 0, 0, false
	}
	from = b.rate
	b.rate = math.Max(minRate, b.rate/2)
	b.tokens = math.Min(b.tokens, burst(b.rate))
	b.lowered = now
	return from, b.rate, true
}
