package jirasim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The issue index: the only per-issue state held in memory. Everything else
// about an issue (fields, comments, histories, worklogs) is regenerated from
// (seed, issue number) on demand, then patched with the mutation overlay.

const (
	issueIDBase   = 10000
	commentIDBase = 10000
	historyIDBase = 10000
	worklogIDBase = 10000
	linkIDBase    = 10000
)

type issueRec struct {
	created, updated int64 // epoch ms
	baseUpdated      int64 // generated updated, before mutations
	seq              int32 // number in the key
	parent           int32 // issue number of the parent (sub-tasks), -1 otherwise
	epic             int32 // issue number of the epic, -1 otherwise
	proj             uint8
	typ              uint8
	status           uint8
	deleted          bool
	// base counts of generated children
	nComments, nHistories, nWorklogs uint16
}

type link struct {
	ID       int
	Typ      int
	From, To int32 // outward issue, inward issue
}

// staleIndex is what the search index still has of a changed issue: its
// updated before the change, until (epoch ms) the change is indexed.
type staleIndex struct{ updated, until int64 }

type dataset struct {
	// stale holds the issues whose last change the search index has not
	// caught up with (Options.IndexLag).
	stale   map[int32]staleIndex
	indexed int // changes sent to the index, to vary their lag
	seed    int64
	start   time.Time // two years before now
	now     time.Time // generation anchor
	cat     *catalogue
	recs    []issueRec
	// prefix sums of generated children, for global ids
	commentBase, historyBase, worklogBase []int32
	links                                 []link
	linksByIssue                          map[int32][]int32
	subtasks                              map[int32][]int32
	keyIndex                              map[string]int32 // historic keys of moved issues
	bySeq                                 [][]int32        // per project: issue number by key number-1
	overlays                              map[int32]*overlay
	addedFields                           int
	nextComment, nextHistory, nextWorklog int
	deletedWorklogs                       []worklogRef // ordered by deletion time
	mutations                             uint64
	version                               uint64 // bumped on every change; invalidates caches
}

type worklogRef struct {
	ID         int64
	Time       int64 // updated or deleted, epoch ms
	Issue      int32
	Deleted    bool
	Restricted bool // a live worklog only the Developers role may read
}

// childCounts draws the per-issue collection sizes. Shape (per issue):
// comments avg ~6 with 2% above 20 (tail to 250), histories avg ~8 with 2%
// above 40 (tail to 150), worklogs avg ~2 with 1% above 20 (tail to 60).
// The issue in the middle of the range always carries the maximum tails.
func childCounts(seed int64, i, n int) (c, h, w int) {
	r := newRnd(seed, tagCounts, uint64(i))
	if i == n/2 {
		return 250, 150, 60
	}
	cube := func() float64 { u := r.float(); return u * u * u }
	if r.chance(0.02) {
		c = 21 + int(229*cube())
	} else {
		c = r.between(0, 9)
	}
	if r.chance(0.02) {
		h = 41 + int(109*cube())
	} else {
		h = r.between(0, 14)
	}
	if r.chance(0.01) {
		w = 21 + int(39*cube())
	} else {
		w = []int{0, 0, 1, 1, 2, 2, 3, 4, 4}[r.intn(9)]
	}
	return c, h, w
}

func newDataset(seed int64, n int, cat *catalogue, now time.Time) *dataset {
	d := &dataset{seed: seed, now: now, start: now.Add(-2 * 365 * 24 * time.Hour), cat: cat,
		recs: make([]issueRec, n), commentBase: make([]int32, n+1), historyBase: make([]int32, n+1), worklogBase: make([]int32, n+1),
		linksByIssue: map[int32][]int32{}, subtasks: map[int32][]int32{}, keyIndex: map[string]int32{}, overlays: map[int32]*overlay{}}
	span := now.Add(-10*time.Minute).UnixMilli() - d.start.UnixMilli()
	startMs := d.start.UnixMilli()
	// Per project: candidate parents and epics so far.
	d.bySeq = make([][]int32, len(cat.projects))
	parents := make([][]int32, len(cat.projects))
	epics := make([][]int32, len(cat.projects))
	weights := []int{30, 20, 15, 15, 12, 8}
	totalW := 0
	for _, w := range weights[:len(cat.projects)] {
		totalW += w
	}
	for i := 0; i < n; i++ {
		r := newRnd(seed, tagIssue, uint64(i))
		rec := issueRec{parent: -1, epic: -1}
		x, p := r.intn(totalW), 0
		for x >= weights[p] {
			x -= weights[p]
			p++
		}
		rec.proj = uint8(p)
		cat.projects[p].nextSeq++
		rec.seq = cat.projects[p].nextSeq
		d.bySeq[p] = append(d.bySeq[p], int32(i))
		slot := span / int64(n)
		rec.created = startMs + span*int64(i)/int64(n) + int64(r.float()*float64(slot))
		u := r.float()
		rec.updated = rec.created + int64(u*u*float64(startMs+span-rec.created))
		rec.baseUpdated = rec.updated
		switch t := r.intn(100); {
		case t < 4:
			rec.typ = typeEpic
		case t < 18 && len(parents[p]) > 0:
			rec.typ = typeSubtask
			rec.parent = parents[p][len(parents[p])-1-r.intn(min(len(parents[p]), 20))]
			d.subtasks[rec.parent] = append(d.subtasks[rec.parent], int32(i))
		case t < 40:
			rec.typ = typeBug
		case t < 70:
			rec.typ = typeStory
		default:
			rec.typ = typeTask
		}
		if rec.typ != typeSubtask && rec.typ != typeEpic && len(epics[p]) > 0 && r.chance(0.4) {
			rec.epic = epics[p][r.intn(len(epics[p]))]
		}
		// Older issues are mostly done.
		age := float64(startMs+span-rec.created) / float64(span)
		if r.chance(0.3 + 0.6*age) {
			rec.status = 3
		} else {
			rec.status = uint8([]int{0, 0, 1, 2, 4}[r.intn(5)])
		}
		c, h, w := childCounts(seed, i, n)
		rec.nComments, rec.nHistories, rec.nWorklogs = uint16(c), uint16(h), uint16(w)
		d.commentBase[i+1] = d.commentBase[i] + int32(c)
		d.historyBase[i+1] = d.historyBase[i] + int32(h)
		d.worklogBase[i+1] = d.worklogBase[i] + int32(w)
		switch rec.typ {
		case typeEpic:
			epics[p] = append(epics[p], int32(i))
		case typeSubtask:
		default:
			parents[p] = append(parents[p], int32(i))
		}
		if i > 0 && r.chance(0.1) {
			to := int32(r.intn(i))
			l := link{ID: linkIDBase + len(d.links), Typ: r.intn(len(linkTypes)), From: int32(i), To: to}
			d.linksByIssue[int32(i)] = append(d.linksByIssue[int32(i)], int32(len(d.links)))
			d.linksByIssue[to] = append(d.linksByIssue[to], int32(len(d.links)))
			d.links = append(d.links, l)
		}
		d.recs[i] = rec
	}
	d.nextComment = commentIDBase + int(d.commentBase[n])
	d.nextHistory = historyIDBase + int(d.historyBase[n])
	d.nextWorklog = worklogIDBase + int(d.worklogBase[n])
	return d
}

func (d *dataset) issueID(i int32) int64 { return issueIDBase + int64(i) }

func (d *dataset) key(i int32) string {
	r := &d.recs[i]
	return d.cat.projects[r.proj].Key + "-" + strconv.Itoa(int(r.seq))
}

// lookup resolves an issue id or key (case-insensitive, including the
// historic keys of moved issues). Deleted issues are not found.
func (d *dataset) lookup(idOrKey string) (int32, bool) {
	if n, err := strconv.ParseInt(idOrKey, 10, 64); err == nil {
		i := n - issueIDBase
		if i < 0 || i >= int64(len(d.recs)) || d.recs[i].deleted {
			return 0, false
		}
		return int32(i), true
	}
	k := strings.ToUpper(idOrKey)
	if i, ok := d.keyIndex[k]; ok {
		return i, !d.recs[i].deleted
	}
	dash := strings.LastIndexByte(k, '-')
	if dash <= 0 {
		return 0, false
	}
	seq, err := strconv.Atoi(k[dash+1:])
	if err != nil {
		return 0, false
	}
	for pi := range d.cat.projects {
		if d.cat.projects[pi].Key != k[:dash] || seq < 1 || seq > len(d.bySeq[pi]) {
			continue
		}
		i := d.bySeq[pi][seq-1]
		if int(d.recs[i].proj) != pi || d.recs[i].deleted {
			return 0, false // moved away (found via keyIndex) or deleted
		}
		return i, true
	}
	return 0, false
}

// sprintsOf returns the sprint indexes an issue belongs to: software project
// issues (not sub-tasks or epics) land in the sprint covering their creation
// time with 70% probability, and 20% of those were carried over into the next.
func (d *dataset) sprintsOf(i int32) []int {
	rec := &d.recs[i]
	if rec.typ == typeSubtask || rec.typ == typeEpic {
		return nil
	}
	var b *board
	for bi := range d.cat.boards {
		if d.cat.boards[bi].Project == int(rec.proj) && d.cat.boards[bi].Type == "scrum" && len(d.cat.boards[bi].Sprints) > 0 && d.cat.sprints[d.cat.boards[bi].Sprints[0]].Board == bi {
			b = &d.cat.boards[bi]
			break
		}
	}
	if b == nil {
		return nil
	}
	r := newRnd(d.seed, tagSprint, uint64(i))
	if !r.chance(0.7) {
		return nil
	}
	created := time.UnixMilli(rec.created)
	first := d.cat.sprints[b.Sprints[0]]
	k := int(created.Sub(first.Start) / sprintLen)
	if k < 0 {
		k = 0
	}
	if k >= len(b.Sprints) {
		k = len(b.Sprints) - 1
	}
	out := []int{b.Sprints[k]}
	if k+1 < len(b.Sprints) && r.chance(0.2) {
		out = append(out, b.Sprints[k+1])
	}
	return out
}

// visibleProject reports whether the user (admin or restricted) may browse
// the project.
func (d *dataset) visibleProject(p int, restricted viewer) bool {
	switch restricted {
	case asAdmin:
		return true
	case asRestricted:
		return d.cat.projects[p].Restricted
	}
	return false // anonymous: no project grants anonymous access
}

func (d *dataset) visibleIssue(i int32, restricted viewer) bool {
	return !d.recs[i].deleted && d.visibleProject(int(d.recs[i].proj), restricted)
}

// worklogIndex returns all live worklogs sorted by (updated, id), and the
// deleted ones sorted by deletion time.
func (d *dataset) worklogIndex() []worklogRef {
	var out []worklogRef
	for i := range d.recs {
		if d.recs[i].deleted {
			continue
		}
		for _, w := range d.worklogs(int32(i)) {
			out = append(out, worklogRef{ID: w.ID, Time: w.Updated, Issue: int32(i), Restricted: w.Restricted})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Time != out[b].Time {
			return out[a].Time < out[b].Time
		}
		return out[a].ID < out[b].ID
	})
	return out
}

// findWorklog resolves a worklog id to its issue.
func (d *dataset) findWorklog(id int64) (int32, bool) {
	local := id - worklogIDBase
	if local >= 0 && local < int64(d.worklogBase[len(d.recs)]) {
		i := sort.Search(len(d.recs), func(k int) bool { return int64(d.worklogBase[k+1]) > local })
		return int32(i), i < len(d.recs)
	}
	for i, o := range d.overlays {
		for _, w := range o.worklogs {
			if w.ID == id {
				return i, true
			}
		}
	}
	return 0, false
}

// findComment resolves a comment id to its issue.
func (d *dataset) findComment(id int64) (int32, bool) {
	local := id - commentIDBase
	if local >= 0 && local < int64(d.commentBase[len(d.recs)]) {
		i := sort.Search(len(d.recs), func(k int) bool { return int64(d.commentBase[k+1]) > local })
		return int32(i), i < len(d.recs)
	}
	for i, o := range d.overlays {
		for _, c := range o.comments {
			if c.ID == id {
				return i, true
			}
		}
	}
	return 0, false
}

func fmtTime(ms int64, loc *time.Location) string {
	return time.UnixMilli(ms).In(loc).Format("2006-01-02T15:04:05.000-0700")
}

func fmtSprintTime(t time.Time, flavor string, loc *time.Location) string {
	if flavor == FlavorDataCenter {
		return t.In(loc).Format("2006-01-02T15:04:05.000-07:00")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func issueKeyParts(k string) (string, int, error) {
	dash := strings.LastIndexByte(k, '-')
	if dash <= 0 {
		return "", 0, fmt.Errorf("not an issue key: %q", k)
	}
	n, err := strconv.Atoi(k[dash+1:])
	if err != nil {
		return "", 0, fmt.Errorf("not an issue key: %q", k)
	}
	return strings.ToUpper(k[:dash]), n, nil
}

// indexedUpdated is issue i's updated as the search index has it at now
// (epoch ms).
func (d *dataset) indexedUpdated(i int32, now int64) int64 {
	if e, ok := d.stale[i]; ok && now < e.until {
		return e.updated
	}
	return d.recs[i].updated
}

// pendingIndex counts the changes the search index has not caught up with
// at now (epoch ms).
func (d *dataset) pendingIndex(now int64) int {
	n := 0
	for _, e := range d.stale {
		if now < e.until {
			n++
		}
	}
	return n
}
