package jirasim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Lazily generated per-issue children. Each item is a pure function of
// (seed, issue number, item number); mutations append to the overlay.

type commentItem struct {
	ID                   int64
	Author, UpdateAuthor int
	Created, Updated     int64
	Text                 string
	Restricted           bool // role visibility
}

type changeItem struct {
	Field, FieldType, FieldID string
	From, FromString          *string
	To, ToString              *string
}

type historyItem struct {
	ID      int64
	Author  int
	Created int64
	Items   []changeItem
}

type worklogItem struct {
	ID                        int64
	Issue                     int32
	Author, UpdateAuthor      int
	Created, Updated, Started int64
	Seconds                   int
	Text                      string
	Restricted                bool // role visibility
}

type overlay struct {
	comments        []commentItem
	histories       []historyItem
	worklogs        []worklogItem
	deletedWorklogs map[int64]bool
	deletedComments map[int64]bool
	summaryRev      int
}

func (d *dataset) overlayOf(i int32) *overlay {
	o := d.overlays[i]
	if o == nil {
		o = &overlay{deletedWorklogs: map[int64]bool{}, deletedComments: map[int64]bool{}}
		d.overlays[i] = o
	}
	return o
}

// itemTime places item j of n strictly inside its own slot of
// [created, generated updated], so generated items are in ascending order.
func (d *dataset) itemTime(i int32, j, n int, u float64) int64 {
	rec := &d.recs[i]
	span := float64(rec.baseUpdated - rec.created)
	return rec.created + int64(span*(float64(2*j+1)+u)/float64(2*n+2))
}

// pickUser returns mostly active humans, sometimes a former (inactive) user.
func pickUser(r *rnd) int {
	if r.chance(0.05) {
		return firstInactive + r.intn(firstApp-firstInactive)
	}
	return r.intn(firstInactive)
}

func (d *dataset) comments(i int32) []commentItem {
	rec := &d.recs[i]
	n := int(rec.nComments)
	out := make([]commentItem, 0, n)
	for j := 0; j < n; j++ {
		r := newRnd(d.seed, tagComment, uint64(i), uint64(j))
		c := commentItem{ID: int64(commentIDBase + int(d.commentBase[i]) + j), Author: pickUser(&r)}
		c.Created = d.itemTime(i, j, n, r.float())
		c.Updated, c.UpdateAuthor = c.Created, c.Author
		if r.chance(0.1) {
			c.Updated += int64(r.float() * float64(d.recs[i].baseUpdated-c.Created))
		}
		c.Text = r.sentence(4 + r.intn(12))
		c.Restricted = r.chance(0.05)
		out = append(out, c)
	}
	if o := d.overlays[i]; o != nil {
		out = append(out, o.comments...)
		out = slices.DeleteFunc(out, func(c commentItem) bool { return o.deletedComments[c.ID] })
	}
	return out
}

func (d *dataset) historyItemCount(i int32, j int) int {
	return len(d.genHistory(i, j, int(d.recs[i].nHistories)).Items)
}

func sp(s string) *string { return &s }

func (d *dataset) userRef(u int) string {
	if d.cat.flavor == FlavorDataCenter {
		return d.cat.users[u].Name
	}
	return d.cat.users[u].AccountID
}

func (d *dataset) histories(i int32) []historyItem {
	rec := &d.recs[i]
	n := int(rec.nHistories)
	out := make([]historyItem, 0, n)
	for j := 0; j < n; j++ {
		out = append(out, d.genHistory(i, j, n))
	}
	if o := d.overlays[i]; o != nil {
		out = append(out, o.histories...)
	}
	return out
}

// genHistory is generated history j of the n of issue i.
func (d *dataset) genHistory(i int32, j, n int) historyItem {
	r := newRnd(d.seed, tagHistory, uint64(i), uint64(j))
	k := 1 + r.intn(3)
	h := historyItem{ID: int64(historyIDBase + int(d.historyBase[i]) + j)}
	if r.chance(0.08) {
		h.Author = firstApp + r.intn(numUsers-firstApp) // automation
	} else {
		h.Author = pickUser(&r)
	}
	h.Created = d.itemTime(i, j, n, r.float())
	used := map[int]bool{}
	for x := 0; x < k; x++ {
		f := r.intn(8)
		for used[f] {
			f = (f + 1) % 8
		}
		used[f] = true
		h.Items = append(h.Items, d.changeItem(&r, f))
	}
	// Jira records an item per value added to or removed from a
	// multi-value field (labels, fix versions, components): one history
	// often has several items of one field.
	if used[4] && r.chance(0.5) {
		h.Items = append(h.Items, changeItem{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: sp(words[r.intn(len(words))]), ToString: sp("")})
	}
	return h
}

func (d *dataset) changeItem(r *rnd, f int) changeItem {
	switch f {
	case 0:
		a, b := r.intn(len(statuses)), r.intn(len(statuses))
		return changeItem{Field: "status", FieldType: "jira", FieldID: "status", From: sp(statuses[a].ID), FromString: sp(statuses[a].Name), To: sp(statuses[b].ID), ToString: sp(statuses[b].Name)}
	case 1:
		b := pickUser(r)
		it := changeItem{Field: "assignee", FieldType: "jira", FieldID: "assignee", To: sp(d.userRef(b)), ToString: sp(d.cat.users[b].DisplayName)}
		if r.chance(0.5) {
			a := pickUser(r)
			it.From, it.FromString = sp(d.userRef(a)), sp(d.cat.users[a].DisplayName)
		}
		return it
	case 2:
		a, b := r.intn(len(priorities)), r.intn(len(priorities))
		return changeItem{Field: "priority", FieldType: "jira", FieldID: "priority", From: sp(priorities[a].ID), FromString: sp(priorities[a].Name), To: sp(priorities[b].ID), ToString: sp(priorities[b].Name)}
	case 3:
		return changeItem{Field: "summary", FieldType: "jira", FieldID: "summary", FromString: sp(r.sentence(4)), ToString: sp(r.sentence(5))}
	case 4:
		return changeItem{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: sp(""), ToString: sp(words[r.intn(len(words))])}
	case 5:
		a, b := r.between(1, 13), r.between(1, 13)
		return changeItem{Field: "Story Points", FieldType: "custom", FieldID: "customfield_10036", FromString: sp(strconv.Itoa(a)), ToString: sp(strconv.Itoa(b))}
	case 6:
		return changeItem{Field: "description", FieldType: "jira", FieldID: "description", FromString: sp(r.sentence(6)), ToString: sp(r.sentence(8))}
	default:
		a := resolutions[r.intn(len(resolutions))]
		// Older history entries predate fieldId, as in real data.
		return changeItem{Field: "resolution", FieldType: "jira", To: sp(a.ID), ToString: sp(a.Name)}
	}
}

// worklogs returns the live (not deleted) worklogs of an issue, ordered by
// creation time.
func (d *dataset) worklogs(i int32) []worklogItem {
	rec := &d.recs[i]
	n := int(rec.nWorklogs)
	o := d.overlays[i]
	out := make([]worklogItem, 0, n)
	for j := 0; j < n; j++ {
		id := int64(worklogIDBase + int(d.worklogBase[i]) + j)
		if o != nil && o.deletedWorklogs[id] {
			continue
		}
		r := newRnd(d.seed, tagWorklog, uint64(i), uint64(j))
		w := worklogItem{ID: id, Issue: i, Author: pickUser(&r)}
		w.Created = d.itemTime(i, j, n, r.float())
		w.Updated, w.UpdateAuthor = w.Created, w.Author
		if r.chance(0.15) {
			w.Updated += int64(r.float() * float64(d.recs[i].baseUpdated-w.Created))
		}
		w.Started = w.Created - int64(r.intn(8*3600))*1000
		w.Seconds = 900 * r.between(1, 32)
		w.Text = r.sentence(3 + r.intn(6))
		// Drawn from a stream of its own, so that the other values stay
		// those of datasets made before worklogs had visibility.
		vr := newRnd(d.seed, tagWorklog, uint64(i), uint64(j), 1)
		w.Restricted = vr.chance(0.05)
		out = append(out, w)
	}
	if o != nil {
		for _, w := range o.worklogs {
			if !o.deletedWorklogs[w.ID] {
				out = append(out, w)
			}
		}
	}
	return out
}

// visibleWorklogs are issue i's worklogs the user may read: as for
// comments, those restricted to the Developers role are hidden from the
// restricted user, in every endpoint, feed and total ("only worklogs
// visible to the user are returned").
func (d *dataset) visibleWorklogs(i int32, restricted viewer) []worklogItem {
	ws := d.worklogs(i)
	if restricted == asAdmin {
		return ws
	}
	out := ws[:0:0]
	for _, w := range ws {
		if !w.Restricted {
			out = append(out, w)
		}
	}
	return out
}

func (d *dataset) transitions(i int32) []transitionDef {
	return workflow[d.recs[i].status]
}

// linksOf returns the links of an issue whose other end is visible to the
// user and not deleted.
func (d *dataset) linksOf(i int32, restricted viewer) []link {
	var out []link
	for _, li := range d.linksByIssue[i] {
		l := d.links[li]
		other := l.To
		if other == i {
			other = l.From
		}
		if d.visibleIssue(other, restricted) {
			out = append(out, l)
		}
	}
	return out
}

// formatDuration renders seconds the way Jira does with 8h days and 5d weeks.
func formatDuration(sec int) string {
	if sec <= 0 {
		return "0m"
	}
	units := []struct {
		s    int
		name string
	}{{5 * 8 * 3600, "w"}, {8 * 3600, "d"}, {3600, "h"}, {60, "m"}}
	var parts []string
	for _, u := range units {
		if sec >= u.s {
			parts = append(parts, fmt.Sprintf("%d%s", sec/u.s, u.name))
			sec %= u.s
		}
	}
	return strings.Join(parts, " ")
}

// visibleComments are issue i's comments the user may read: the restricted
// user has no project role, so comments restricted to the Developers role
// are hidden from it, in every endpoint and in the totals, as Jira hides
// them.
func (d *dataset) visibleComments(i int32, restricted viewer) []commentItem {
	cs := d.comments(i)
	if restricted == asAdmin {
		return cs
	}
	var out []commentItem
	for _, c := range cs {
		if !c.Restricted {
			out = append(out, c)
		}
	}
	return out
}
