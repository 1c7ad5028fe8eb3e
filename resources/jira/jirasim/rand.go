package jirasim

// Deterministic randomness. Every generated value is a pure function of the
// seed and a path of integers (entity kind, issue number, item number, ...),
// so per-issue content can be produced lazily and identically on every call.

// Domain tags keep the random streams of different entity kinds apart.
// Their values seed the streams: add new tags at the end, or every
// dataset changes.
const (
	tagCatalogue uint64 = iota + 1
	tagIssue
	tagComment
	tagHistory
	tagWorklog
	tagLink
	tagSprint
	tagField
	tagMutation
	tagFault
	tagCounts
	tagIssueError
)

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rnd is a small splitmix64 stream.
type rnd struct{ s uint64 }

func newRnd(seed int64, path ...uint64) rnd {
	h := mix64(uint64(seed))
	for _, p := range path {
		h = mix64(h ^ p)
	}
	return rnd{s: h}
}

func (r *rnd) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); 0 when n <= 0.
func (r *rnd) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.next() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rnd) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rnd) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rnd) chance(p float64) bool { return r.float() < p }

var words = []string{
	"login", "cache", "export", "parquet", "invoice", "dashboard", "search", "timeout", "latency", "sync",
	"report", "billing", "webhook", "token", "upload", "mobile", "layout", "crash", "memory", "migration",
	"schema", "index", "queue", "retry", "audit", "filter", "pagination", "locale", "timezone", "permission",
	"sprint", "backlog", "release", "rollback", "deploy", "metrics", "alert", "replica", "snapshot", "archive",
}

func (r *rnd) sentence(n int) string {
	b := make([]byte, 0, n*9)
	for i := 0; i < n; i++ {
		w := words[r.intn(len(words))]
		if i == 0 {
			b = append(b, w[0]-32)
			b = append(b, w[1:]...)
			continue
		}
		b = append(b, ' ')
		b = append(b, w...)
	}
	return string(b)
}
