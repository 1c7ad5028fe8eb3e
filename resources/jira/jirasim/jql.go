package jirasim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The JQL subset sync clients use: project, updated, created, key/issuekey
// and id clauses combined with AND, OR, NOT and parentheses, plus ORDER BY
// over updated, created, key and id. Anything else is a JQL error (HTTP 400
// with Jira's errorMessages body), never a silently wrong result.

type jqlError struct{ msg string }

func (e *jqlError) Error() string { return e.msg }

func jqlErrorf(format string, args ...any) error { return &jqlError{msg: fmt.Sprintf(format, args...)} }

type token struct {
	kind   int // tWord, tString, tOp, tLParen, tRParen, tComma, tEOF
	text   string
	pos    int
	quoted bool
}

const (
	tWord = iota
	tString
	tOp
	tLParen
	tRParen
	tComma
	tEOF
)

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/:[]+*", r)
}

func lexJQL(q string) ([]token, error) {
	var out []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(':
			out = append(out, token{kind: tLParen, text: "(", pos: i})
			i++
		case c == ')':
			out = append(out, token{kind: tRParen, text: ")", pos: i})
			i++
		case c == ',':
			out = append(out, token{kind: tComma, text: ",", pos: i})
			i++
		case c == '"' || c == '\'':
			j := i + 1
			var b strings.Builder
			for j < len(rs) && rs[j] != c {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
				j++
			}
			if j >= len(rs) {
				return nil, jqlErrorf("Error in the JQL Query: The quoted string '%s' has not been completed. (line 1, character %d)", string(rs[i+1:]), i+1)
			}
			out = append(out, token{kind: tString, text: b.String(), pos: i, quoted: true})
			i = j + 1
		case c == '!' || c == '=' || c == '<' || c == '>' || c == '~':
			j := i + 1
			if j < len(rs) && rs[j] == '=' {
				j++
			}
			out = append(out, token{kind: tOp, text: string(rs[i:j]), pos: i})
			i = j
		case isWordRune(c):
			j := i
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
			out = append(out, token{kind: tWord, text: string(rs[i:j]), pos: i})
			i = j
		default:
			return nil, jqlErrorf("Error in the JQL Query: The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead. (line 1, character %d)", c, c, i+1)
		}
	}
	out = append(out, token{kind: tEOF, pos: len(rs)})
	return out, nil
}

// pred is a compiled where clause.
type pred func(d *dataset, i int32) bool

type sortKey struct {
	field string // updated, created, key, id
	desc  bool
}

type jqlQuery struct {
	where pred // nil = unbounded
	order []sortKey
	now   int64 // epoch ms: what the search index has of updated (Options.IndexLag)
}

type jqlParser struct {
	toks       []token
	p          int
	d          *dataset
	loc        *time.Location
	now        time.Time
	restricted viewer
}

// parseJQL compiles a query for one user.
func parseJQL(q string, d *dataset, loc *time.Location, now time.Time, restricted viewer) (*jqlQuery, error) {
	toks, err := lexJQL(q)
	if err != nil {
		return nil, err
	}
	ps := &jqlParser{toks: toks, d: d, loc: loc, now: now, restricted: restricted}
	out := &jqlQuery{now: now.UnixMilli()}
	if !ps.isKeyword("order") && ps.peek().kind != tEOF {
		if out.where, err = ps.parseOr(); err != nil {
			return nil, err
		}
	}
	if ps.isKeyword("order") {
		ps.p++
		if !ps.isKeyword("by") {
			return nil, ps.unexpected("'by'")
		}
		ps.p++
		for {
			t := ps.next()
			if t.kind != tWord && t.kind != tString {
				return nil, ps.unexpectedTok(t, "a field name")
			}
			f := lower(t.text)
			switch f {
			case "issuekey":
				f = "key"
			case "updated", "updateddate", "created", "createddate", "key", "id":
				f = strings.TrimSuffix(f, "date")
			default:
				return nil, jqlErrorf("Not able to sort using field '%s'.", t.text)
			}
			sk := sortKey{field: f}
			if ps.isKeyword("asc") {
				ps.p++
			} else if ps.isKeyword("desc") {
				sk.desc = true
				ps.p++
			}
			out.order = append(out.order, sk)
			if ps.peek().kind != tComma {
				break
			}
			ps.p++
		}
		if len(out.order) > 7 {
			return nil, jqlErrorf("The ORDER BY clause can't contain more than 7 fields.")
		}
	}
	if t := ps.peek(); t.kind != tEOF {
		return nil, ps.unexpectedTok(t, "either 'AND' or 'OR' or 'ORDER BY'")
	}
	return out, nil
}

func (ps *jqlParser) peek() token { return ps.toks[ps.p] }

func (ps *jqlParser) next() token {
	t := ps.toks[ps.p]
	if t.kind != tEOF {
		ps.p++
	}
	return t
}

func (ps *jqlParser) isKeyword(k string) bool {
	t := ps.peek()
	return t.kind == tWord && strings.EqualFold(t.text, k)
}

func (ps *jqlParser) unexpected(want string) error { return ps.unexpectedTok(ps.peek(), want) }

func (ps *jqlParser) unexpectedTok(t token, want string) error {
	if t.kind == tEOF {
		return jqlErrorf("Error in the JQL Query: Expecting %s but reached the end of the query.", want)
	}
	return jqlErrorf("Error in the JQL Query: Expecting %s but got '%s'. (line 1, character %d)", want, t.text, t.pos+1)
}

func (ps *jqlParser) parseOr() (pred, error) {
	left, err := ps.parseAnd()
	if err != nil {
		return nil, err
	}
	for ps.isKeyword("or") {
		ps.p++
		right, err := ps.parseAnd()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(d *dataset, i int32) bool { return l(d, i) || right(d, i) }
	}
	return left, nil
}

func (ps *jqlParser) parseAnd() (pred, error) {
	left, err := ps.parseUnary()
	if err != nil {
		return nil, err
	}
	for ps.isKeyword("and") {
		ps.p++
		right, err := ps.parseUnary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(d *dataset, i int32) bool { return l(d, i) && right(d, i) }
	}
	return left, nil
}

func (ps *jqlParser) parseUnary() (pred, error) {
	if ps.isKeyword("not") {
		ps.p++
		inner, err := ps.parseUnary()
		if err != nil {
			return nil, err
		}
		return func(d *dataset, i int32) bool { return !inner(d, i) }, nil
	}
	if ps.peek().kind == tLParen {
		ps.p++
		inner, err := ps.parseOr()
		if err != nil {
			return nil, err
		}
		if ps.peek().kind != tRParen {
			return nil, ps.unexpected("')'")
		}
		ps.p++
		return inner, nil
	}
	return ps.parseClause()
}

func (ps *jqlParser) parseClause() (pred, error) {
	ft := ps.next()
	if ft.kind != tWord && ft.kind != tString {
		return nil, ps.unexpectedTok(ft, "a field name")
	}
	field := lower(ft.text)
	switch field {
	case "issuekey":
		field = "key"
	case "createddate":
		field = "created"
	case "updateddate":
		field = "updated"
	case "project", "updated", "created", "key", "id":
	default:
		return nil, jqlErrorf("Field '%s' does not exist or you do not have permission to view it.", ft.text)
	}
	op, err := ps.parseOp()
	if err != nil {
		return nil, err
	}
	var vals []token
	if op == "in" || op == "not in" {
		if ps.peek().kind != tLParen {
			return nil, ps.unexpected("'('")
		}
		ps.p++
		for {
			t := ps.next()
			if t.kind != tWord && t.kind != tString {
				return nil, ps.unexpectedTok(t, "a value")
			}
			vals = append(vals, t)
			if ps.peek().kind == tComma {
				ps.p++
				continue
			}
			if ps.peek().kind != tRParen {
				return nil, ps.unexpected("')'")
			}
			ps.p++
			break
		}
	} else {
		t := ps.next()
		if t.kind != tWord && t.kind != tString {
			return nil, ps.unexpectedTok(t, "either a value, list or function")
		}
		if t.kind == tWord && ps.peek().kind == tLParen {
			return nil, jqlErrorf("Unable to find JQL function '%s()'.", t.text)
		}
		if t.kind == tWord && (strings.EqualFold(t.text, "empty") || strings.EqualFold(t.text, "null")) {
			return nil, jqlErrorf("The operator '%s' is not supported by the '%s' field in this simulator.", op, ft.text)
		}
		vals = []token{t}
	}
	switch field {
	case "project":
		return ps.projectClause(ft.text, op, vals)
	case "updated", "created":
		return ps.dateClause(field, op, vals)
	default:
		return ps.idClause(field, op, vals)
	}
}

func (ps *jqlParser) parseOp() (string, error) {
	t := ps.next()
	if t.kind == tOp {
		switch t.text {
		case "=", "!=", ">", ">=", "<", "<=":
			return t.text, nil
		}
		return "", jqlErrorf("Error in the JQL Query: The operator '%s' is not supported in this simulator. (line 1, character %d)", t.text, t.pos+1)
	}
	if t.kind == tWord {
		switch lower(t.text) {
		case "in":
			return "in", nil
		case "not":
			if ps.isKeyword("in") {
				ps.p++
				return "not in", nil
			}
		}
	}
	return "", ps.unexpectedTok(t, "operator")
}

func (ps *jqlParser) projectClause(name, op string, vals []token) (pred, error) {
	if op != "=" && op != "!=" && op != "in" && op != "not in" {
		return nil, jqlErrorf("The operator '%s' is not supported by the '%s' field.", op, name)
	}
	set := map[uint8]bool{}
	for _, v := range vals {
		found := false
		for pi, p := range ps.d.cat.projects {
			if (strings.EqualFold(p.Key, v.text) || strconv.Itoa(p.ID) == v.text || strings.EqualFold(p.Name, v.text)) && ps.d.visibleProject(pi, ps.restricted) {
				set[uint8(pi)] = true
				found = true
			}
		}
		if !found {
			return nil, jqlErrorf("The value '%s' does not exist for the field '%s'.", v.text, name)
		}
	}
	neg := op == "!=" || op == "not in"
	return func(d *dataset, i int32) bool { return set[d.recs[i].proj] != neg }, nil
}

var (
	relRe = regexp.MustCompile(`^([+-]?)(\d+)([wdhm]?)$`)
)

// jqlDate converts a JQL date value to epoch ms. Unquoted digits are epoch
// milliseconds; the documented literals are read in the user's time zone.
func (ps *jqlParser) jqlDate(field string, t token) (int64, error) {
	s := strings.TrimSpace(t.text)
	if !t.quoted {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
	}
	for _, layout := range []string{"2006/01/02 15:04", "2006-01-02 15:04", "2006/01/02", "2006-01-02"} {
		if tm, err := time.ParseInLocation(layout, s, ps.loc); err == nil {
			return tm.UnixMilli(), nil
		}
	}
	if m := relRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		unit := map[string]time.Duration{"": time.Minute, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[3]]
		off := time.Duration(n) * unit
		if m[1] == "-" {
			off = -off
		}
		return ps.now.Add(off).UnixMilli(), nil
	}
	return 0, jqlErrorf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", t.text, field)
}

func cmpPred(op string, get func(d *dataset, i int32) int64, v int64) (pred, bool) {
	switch op {
	case "=":
		return func(d *dataset, i int32) bool { return get(d, i) == v }, true
	case "!=":
		return func(d *dataset, i int32) bool { return get(d, i) != v }, true
	case ">":
		return func(d *dataset, i int32) bool { return get(d, i) > v }, true
	case ">=":
		return func(d *dataset, i int32) bool { return get(d, i) >= v }, true
	case "<":
		return func(d *dataset, i int32) bool { return get(d, i) < v }, true
	case "<=":
		return func(d *dataset, i int32) bool { return get(d, i) <= v }, true
	}
	return nil, false
}

func (ps *jqlParser) dateClause(field, op string, vals []token) (pred, error) {
	nowMs := ps.now.UnixMilli()
	get := func(d *dataset, i int32) int64 { return d.indexedUpdated(i, nowMs) }
	if field == "created" {
		get = func(d *dataset, i int32) int64 { return d.recs[i].created }
	}
	if op == "in" || op == "not in" {
		set := map[int64]bool{}
		for _, v := range vals {
			ms, err := ps.jqlDate(field, v)
			if err != nil {
				return nil, err
			}
			set[ms] = true
		}
		neg := op == "not in"
		return func(d *dataset, i int32) bool { return set[get(d, i)] != neg }, nil
	}
	ms, err := ps.jqlDate(field, vals[0])
	if err != nil {
		return nil, err
	}
	p, _ := cmpPred(op, get, ms)
	return p, nil
}

func (ps *jqlParser) idClause(field, op string, vals []token) (pred, error) {
	if field == "id" {
		var ids []int64
		for _, v := range vals {
			n, err := strconv.ParseInt(v.text, 10, 64)
			if err != nil {
				return nil, jqlErrorf("The issue key '%s' for field 'id' is invalid.", v.text)
			}
			ids = append(ids, n)
		}
		get := func(d *dataset, i int32) int64 { return d.issueID(i) }
		if op == "in" || op == "not in" {
			set := map[int64]bool{}
			for _, n := range ids {
				set[n] = true
			}
			neg := op == "not in"
			return func(d *dataset, i int32) bool { return set[d.issueID(i)] != neg }, nil
		}
		p, _ := cmpPred(op, get, ids[0])
		return p, nil
	}
	// key: equality resolves the issue (also via old keys of moved issues);
	// ranges compare key numbers within the key's project, as Jira does.
	if op == "in" || op == "not in" || op == "=" || op == "!=" {
		set := map[int32]bool{}
		for _, v := range vals {
			if _, _, err := issueKeyParts(v.text); err != nil {
				return nil, jqlErrorf("The issue key '%s' for field 'key' is invalid.", v.text)
			}
			i, ok := ps.d.lookup(v.text)
			if !ok || !ps.d.visibleIssue(i, ps.restricted) {
				return nil, jqlErrorf("An issue with key '%s' does not exist for field 'key'.", v.text)
			}
			set[i] = true
		}
		neg := op == "!=" || op == "not in"
		return func(d *dataset, i int32) bool { return set[i] != neg }, nil
	}
	proj, n, err := issueKeyParts(vals[0].text)
	if err != nil {
		return nil, jqlErrorf("The issue key '%s' for field 'key' is invalid.", vals[0].text)
	}
	pi := -1
	for k, p := range ps.d.cat.projects {
		if p.Key == proj {
			pi = k
		}
	}
	if pi < 0 {
		return nil, jqlErrorf("The issue key '%s' for field 'key' is invalid.", vals[0].text)
	}
	get := func(d *dataset, i int32) int64 {
		if int(d.recs[i].proj) != pi {
			return -1 << 62
		}
		return int64(d.recs[i].seq)
	}
	p, _ := cmpPred(op, get, int64(n))
	return func(d *dataset, i int32) bool { return int(d.recs[i].proj) == pi && p(d, i) }, nil
}

// run evaluates the query over the visible, live issues and sorts them. The
// id is always the final tie-breaker, so results are stable. Without ORDER BY
// the order is created DESC, the issue navigator's default.
func (q *jqlQuery) run(d *dataset, restricted viewer) []int32 {
	var out []int32
	for i := range d.recs {
		ii := int32(i)
		if !d.visibleIssue(ii, restricted) {
			continue
		}
		if q.where == nil || q.where(d, ii) {
			out = append(out, ii)
		}
	}
	order := q.order
	if len(order) == 0 {
		order = []sortKey{{field: "created", desc: true}}
	}
	sort.SliceStable(out, func(a, b int) bool {
		x, y := out[a], out[b]
		for _, k := range order {
			var vx, vy int64
			switch k.field {
			case "updated":
				vx, vy = d.indexedUpdated(x, q.now), d.indexedUpdated(y, q.now)
			case "created":
				vx, vy = d.recs[x].created, d.recs[y].created
			case "id":
				vx, vy = int64(x), int64(y)
			case "key":
				px, py := d.cat.projects[d.recs[x].proj].Key, d.cat.projects[d.recs[y].proj].Key
				if px != py {
					return (px < py) != k.desc
				}
				vx, vy = int64(d.recs[x].seq), int64(d.recs[y].seq)
			}
			if vx != vy {
				return (vx < vy) != k.desc
			}
		}
		return x < y
	})
	return out
}
