package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// tableOut is one table's output during a sync: a row writer whose batches
// go to send once they reach batchRows rows.
type tableOut struct {
	name      string
	w         *rowWriter
	send      func(context.Context, arrow.RecordBatch) error
	batchRows int
	// Destinations upsert batch by batch, so a key must not repeat within a
	// batch. batchKeys holds the keys of the pending batch: a repeated key
	// flushes the batch first, so the later row wins (an issue re-read with
	// a newer `updated`, with its children). runKeys, when set, holds every
	// key written in this run and makes the first row win instead, for rows
	// that are the same whichever copy is read (an issue link read from both
	// ends, a sprint listed by two boards).
	batchKeys map[string]struct{}
	runKeys   map[string]struct{}
}

// rememberedKeys bounds the keys a run remembers to skip rows it already
// wrote (tableOut.runKeys, issueFetch.read). Past it the memory is
// cleared: a row written twice costs a write, never correctness, since
// destinations merge rows by key. Without the bound memory would grow
// with the site.
const rememberedKeys = 100_000

// admit decides whether a row with key may be appended, flushing the
// pending batch when it already holds the key.
func (t *tableOut) admit(ctx context.Context, key string) (bool, error) {
	if t.runKeys != nil {
		if _, dup := t.runKeys[key]; dup {
			return false, nil
		}
		if len(t.runKeys) >= rememberedKeys {
			clear(t.runKeys)
		}
		t.runKeys[key] = struct{}{}
	}
	if t.batchKeys == nil {
		t.batchKeys = map[string]struct{}{}
	}
	if _, dup := t.batchKeys[key]; dup {
		if err := t.flush(ctx); err != nil {
			return false, err
		}
	}
	t.batchKeys[key] = struct{}{}
	return true, nil
}

// flush sends the pending rows, if any.
func (t *tableOut) flush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	clear(t.batchKeys)
	rec := t.w.flush()
	if rec == nil {
		return nil
	}
	if err := t.send(ctx, rec); err != nil {
		return fmt.Errorf("send %s batch: %w", t.name, err)
	}
	return nil
}

// env is the decoding context of one sync: where rejects go, the custom
// field mapping, and the first error met while sending batches.
type env struct {
	ctx         context.Context
	rejects     RejectSink
	custom      []CustomColumn
	sprintField string
	// skipIssue, when set, is asked before an issue is written; true
	// skips it with its children (an issue re-read in an overlap).
	skipIssue func(id string, updated time.Time) bool
	err       error
	// users caches userRef by the text of the user object: the same
	// authors recur in every comment, worklog and history of a page, and
	// reading one costs more than hashing its text. Cleared when full.
	users map[string]string
	// scratch is reused to build values that the row writer copies.
	scratch []byte
}

// maxCachedUsers bounds env.users (about 0.5 KB an entry).
const maxCachedUsers = 2048

func newEnv(ctx context.Context, rejects RejectSink, custom []CustomColumn) *env {
	if rejects == nil {
		rejects = LogRejects{}
	}
	return &env{ctx: ctx, rejects: rejects, custom: custom, sprintField: sprintFieldID(custom)}
}

func (e *env) reject(table, key, column, reason string, raw json.RawMessage) {
	e.rejects.Reject(e.ctx, Reject{Table: table, Key: key, Column: column, Reason: reason, Raw: string(raw)})
}

// key reads a primary-key value; a missing or unreadable key rejects the
// whole row.
func (e *env) key(out *tableOut, row json.RawMessage, field string, raw json.RawMessage) (string, bool) {
	if out == nil {
		return "", false
	}
	s, ok, err := asString(raw)
	if err != nil || !ok || s == "" {
		reason := "missing primary key " + field
		if err != nil {
			reason = "primary key " + field + ": " + err.Error()
		}
		e.reject(out.name, "", "", reason, row)
		return "", false
	}
	return s, true
}

// object parses a row; a row that is not an object is rejected.
func (e *env) object(table string, raw json.RawMessage) obj {
	o, err := parseObj(raw)
	if err != nil || o == nil {
		reason := "row is null"
		if err != nil {
			reason = "row: " + err.Error()
		}
		e.reject(table, "", "", reason, raw)
		return nil
	}
	return o
}

// row is one row being written. Its setters parse a raw JSON value for a
// column; a value that does not fit is rejected and the column left NULL.
// Columns the (projected) table does not have are skipped without work.
// All methods are no-ops on a nil row, so decoders need not check whether a
// table was requested.
type row struct {
	e   *env
	out *tableOut
	key string
}

func (e *env) begin(out *tableOut, key string) *row {
	if out == nil {
		return nil
	}
	ok, err := out.admit(e.ctx, key)
	if err != nil && e.err == nil {
		e.err = err
	}
	if !ok || err != nil {
		return nil
	}
	out.w.begin()
	return &row{e: e, out: out, key: key}
}

func (r *row) end() {
	if r == nil {
		return
	}
	r.out.w.end()
	if r.out.w.full(r.out.batchRows) {
		if err := r.out.flush(r.e.ctx); err != nil && r.e.err == nil {
			r.e.err = err
		}
	}
}

func (r *row) want(col string) bool { return r != nil && r.out.w.has(col) }

func (r *row) reject(col string, err error, raw json.RawMessage) {
	r.e.reject(r.out.name, r.key, col, err.Error(), raw)
}

// set puts a Go value (put ignores a column the table does not have).
func (r *row) set(col string, v any) {
	if r == nil {
		return
	}
	if err := r.out.w.put(col, v); err != nil {
		r.reject(col, err, nil)
	}
}

func (r *row) setOK(col string, v any, ok bool, err error, raw json.RawMessage) {
	if err != nil {
		r.reject(col, err, raw)
		return
	}
	if ok {
		r.set(col, v)
	}
}

// setParsed parses raw with parse into column col when the column is
// wanted: a value is set, an absent one left NULL, a bad one rejected.
func setParsed[T any](r *row, col string, raw json.RawMessage, parse func(json.RawMessage) (T, bool, error)) {
	if r.want(col) {
		v, ok, err := parse(raw)
		r.setOK(col, v, ok, err, raw)
	}
}

func (r *row) str(col string, raw json.RawMessage)   { setParsed(r, col, raw, asString) }
func (r *row) int(col string, raw json.RawMessage)   { setParsed(r, col, raw, asInt) }
func (r *row) float(col string, raw json.RawMessage) { setParsed(r, col, raw, asFloat) }
func (r *row) bool(col string, raw json.RawMessage)  { setParsed(r, col, raw, asBool) }
func (r *row) strs(col string, raw json.RawMessage)  { setParsed(r, col, raw, asStrings) }
func (r *row) json(col string, raw json.RawMessage)  { setParsed(r, col, raw, compactJSON) }

func (r *row) time(col string, raw json.RawMessage, epoch bool) {
	setParsed(r, col, raw, func(raw json.RawMessage) (time.Time, bool, error) { return asTime(raw, epoch) })
}

func asTime(raw json.RawMessage, epoch bool) (time.Time, bool, error) {
	switch k := kindOf(raw); k {
	case 0, 'n':
		return time.Time{}, false, nil
	case '"':
		s, _, err := asString(raw)
		if err != nil {
			return time.Time{}, false, err
		}
		if s == "" {
			return time.Time{}, false, nil
		}
		t, err := ParseDateTime(s)
		return t, err == nil, err
	case '{', '[', 't', 'f':
		return time.Time{}, false, fmt.Errorf("want datetime, got %s", kindName(k))
	default:
		if !epoch {
			return time.Time{}, false, fmt.Errorf("want datetime string, got number %s", truncate(string(raw)))
		}
		f, _, err := asFloat(raw)
		if err != nil {
			return time.Time{}, false, err
		}
		t, err := ParseEpoch(f)
		return t, err == nil, err
	}
}

func (r *row) date(col string, raw json.RawMessage) {
	if r.want(col) {
		s, ok, err := asString(raw)
		if err != nil || !ok || s == "" {
			r.setOK(col, nil, false, err, raw)
			return
		}
		t, err := ParseDate(s)
		r.setOK(col, t, err == nil, err, raw)
	}
}

// text reads a rich-text value: ADF (an object) becomes plain text in col
// and the document in adfCol; a string (wiki markup) goes to col verbatim.
func (r *row) text(col, adfCol string, raw json.RawMessage) {
	if !r.want(col) && !r.want(adfCol) {
		return
	}
	switch kindOf(raw) {
	case 0, 'n':
		return
	case '{':
		r.json(adfCol, raw)
		if r.want(col) {
			s, err := adfToText(raw)
			r.setOK(col, s, err == nil, err, raw)
		}
	default:
		r.str(col, raw)
	}
}

// user reads a user object into its reference (see userRef).
func (r *row) user(col string, raw json.RawMessage) {
	if r.want(col) {
		ref, ok, err := r.e.userRef(raw)
		r.setOK(col, ref, ok, err, raw)
	}
}

// userRef reads a user object as userRef does; null, absent or a user
// without any of its fields yields ok false.
func (e *env) userRef(raw json.RawMessage) (string, bool, error) {
	if isNull(raw) {
		return "", false, nil
	}
	if ref, ok := e.users[string(raw)]; ok {
		return ref, ref != "", nil
	}
	o, err := parseObj(raw)
	if err != nil {
		return "", false, err
	}
	ref, _ := userRef(o)
	if e.users == nil || len(e.users) >= maxCachedUsers {
		e.users = make(map[string]string, 64)
	}
	e.users[string(raw)] = ref
	return ref, ref != "", nil
}

// userRef is how every table refers to a user: the accountId on Cloud, the
// user key on Data Center (which has no accountId), or the user name when an
// old server sends neither.
func userRef(o obj) (string, bool) {
	for _, k := range []string{"accountId", "key", "name"} {
		if s, ok, _ := asString(o.get(k)); ok && s != "" {
			return s, true
		}
	}
	return "", false
}

// sub returns a nested object; a value that is not an object is rejected
// (reported under col) and yields nil.
func (r *row) sub(col string, raw json.RawMessage) obj {
	if r == nil {
		return nil
	}
	o, err := parseObj(raw)
	if err != nil {
		r.reject(col, err, raw)
		return nil
	}
	return o
}

// ids reads the "id" of each object of an array (components, versions).
func (r *row) ids(col string, raw json.RawMessage) {
	r.listOf(col, raw, "id")
}

// listOf reads one string member of each object of an array.
func (r *row) listOf(col string, raw json.RawMessage, member string) {
	if !r.want(col) || isNull(raw) {
		return
	}
	items, err := parseArray(raw)
	if err != nil {
		r.reject(col, err, raw)
		return
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		o, err := parseObj(it)
		if err != nil || o == nil {
			r.reject(col, fmt.Errorf("item is not an object"), raw)
			return
		}
		s, ok, err := asString(o.get(member))
		if err == nil && !ok {
			err = fmt.Errorf("item without %q", member)
		}
		if err != nil {
			r.reject(col, err, raw)
			return
		}
		out = append(out, s)
	}
	r.set(col, out)
}

// ---- catalogue tables ----

func (e *env) decodeProject(out *tableOut, raw json.RawMessage) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	for _, m := range [][2]string{{"key", "key"}, {"name", "name"}, {"url", "url"}, {"email", "email"},
		{"project_type_key", "projectTypeKey"}, {"style", "style"}, {"assignee_type", "assigneeType"}, {"self", "self"}} {
		col, k := m[0], m[1]
		r.str(col, o.get(k))
	}
	r.text("description", "", o.get("description"))
	r.bool("simplified", o.get("simplified"))
	r.bool("is_private", o.get("isPrivate"))
	r.bool("archived", o.get("archived"))
	r.user("lead_account_id", o.get("lead"))
	if cat := r.sub("project_category_id", o.get("projectCategory")); cat != nil {
		r.str("project_category_id", cat.get("id"))
	}
	r.strs("project_keys", o.get("projectKeys"))
	r.end()
}

func (e *env) decodeVersion(out *tableOut, raw json.RawMessage, projectID string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	if isNull(o.get("projectId")) && projectID != "" {
		r.set("project_id", projectID)
	}
	r.str("project_id", o.get("projectId"))
	for _, m := range [][2]string{{"name", "name"}, {"description", "description"},
		{"user_start_date", "userStartDate"}, {"user_release_date", "userReleaseDate"}, {"self", "self"}} {
		col, k := m[0], m[1]
		r.str(col, o.get(k))
	}
	r.bool("archived", o.get("archived"))
	r.bool("released", o.get("released"))
	r.bool("overdue", o.get("overdue"))
	r.date("start_date", o.get("startDate"))
	r.date("release_date", o.get("releaseDate"))
	r.end()
}

func (e *env) decodeComponent(out *tableOut, raw json.RawMessage, projectID string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	if isNull(o.get("projectId")) && projectID != "" {
		r.set("project_id", projectID)
	}
	r.str("project_id", o.get("projectId"))
	for _, m := range [][2]string{{"project_key", "project"}, {"name", "name"}, {"description", "description"},
		{"assignee_type", "assigneeType"}, {"real_assignee_type", "realAssigneeType"}, {"self", "self"}} {
		col, k := m[0], m[1]
		r.str(col, o.get(k))
	}
	r.bool("is_assignee_type_valid", o.get("isAssigneeTypeValid"))
	r.user("lead_account_id", o.get("lead"))
	r.user("assignee_account_id", o.get("assignee"))
	r.user("real_assignee_account_id", o.get("realAssignee"))
	r.int("issue_count", o.get("issueCount"))
	r.end()
}

// decodeSimple handles the flat catalogue tables: key column, then
// column → JSON member string columns.
func (e *env) decodeSimple(out *tableOut, raw json.RawMessage, keyCol, keyMember string, strCols [][2]string, more func(r *row, o obj)) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, keyMember, o.get(keyMember))
	if !ok {
		return
	}
	var key any = id
	if col := out.w.table.Column(keyCol); col != nil && col.Type.ID() == arrow.INT64 {
		n, ok, err := asInt(o.get(keyMember))
		if err != nil || !ok {
			e.reject(out.name, id, "", "primary key "+keyMember+" is not an integer", raw)
			return
		}
		key = n
	}
	r := e.begin(out, id)
	r.set(keyCol, key)
	for _, m := range strCols {
		r.str(m[0], o.get(m[1]))
	}
	if more != nil {
		more(r, o)
	}
	r.end()
}

func (e *env) decodeProjectType(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "key", "key", [][2]string{{"formatted_key", "formattedKey"},
		{"description_i18n_key", "descriptionI18nKey"}, {"color", "color"}, {"icon", "icon"}}, nil)
}

func (e *env) decodeProjectCategory(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"}, {"self", "self"}}, nil)
}

func (e *env) decodeResolution(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"},
		{"icon_url", "iconUrl"}, {"self", "self"}}, func(r *row, o obj) {
		r.bool("is_default", firstPresent(o, "isDefault", "default"))
	})
}

func (e *env) decodeRole(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"}, {"self", "self"}},
		func(r *row, o obj) {
			r.json("actors", o.get("actors"))
			if sc := r.sub("scope_type", o.get("scope")); sc != nil {
				r.str("scope_type", sc.get("type"))
				if p := r.sub("scope_project_id", sc.get("project")); p != nil {
					r.str("scope_project_id", p.get("id"))
				}
			}
		})
}

func (e *env) decodeUser(out *tableOut, raw json.RawMessage) {
	o := e.object(out.name, raw)
	if o == nil {
		return
	}
	id, ok := userRef(o)
	if !ok {
		e.reject(out.name, "", "", "user without accountId, key or name", raw)
		return
	}
	r := e.begin(out, id)
	r.set("account_id", id)
	for _, m := range [][2]string{{"key", "key"}, {"name", "name"}} {
		col, k := m[0], m[1]
		if s, ok, _ := asString(o.get(k)); ok && s != "" {
			r.set(col, s)
		}
	}
	for _, m := range [][2]string{{"display_name", "displayName"}, {"email_address", "emailAddress"},
		{"time_zone", "timeZone"}, {"locale", "locale"}, {"account_type", "accountType"}, {"self", "self"}} {
		col, k := m[0], m[1]
		r.str(col, o.get(k))
	}
	r.bool("active", o.get("active"))
	r.end()
}

func (e *env) decodeField(out *tableOut, raw json.RawMessage, columns map[string]string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	r.str("key", o.get("key"))
	r.str("name", o.get("name"))
	r.bool("custom", o.get("custom"))
	r.bool("navigable", o.get("navigable"))
	r.bool("orderable", o.get("orderable"))
	r.bool("searchable", o.get("searchable"))
	r.strs("clause_names", o.get("clauseNames"))
	if sc := r.sub("schema_type", o.get("schema")); sc != nil {
		r.str("schema_type", sc.get("type"))
		r.str("schema_items", sc.get("items"))
		r.str("schema_system", sc.get("system"))
		r.str("schema_custom", sc.get("custom"))
		r.int("schema_custom_id", sc.get("customId"))
	}
	if col, ok := columns[id]; ok {
		r.set("column_name", col)
	}
	r.end()
}

func (e *env) decodeStatus(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"},
		{"icon_url", "iconUrl"}, {"self", "self"}}, func(r *row, o obj) {
		if c := r.sub("status_category_id", o.get("statusCategory")); c != nil {
			r.int("status_category_id", c.get("id"))
			r.str("status_category_key", c.get("key"))
		}
		if sc := r.sub("scope_project_id", o.get("scope")); sc != nil {
			if p := r.sub("scope_project_id", sc.get("project")); p != nil {
				r.str("scope_project_id", p.get("id"))
			}
		}
	})
}

func (e *env) decodeStatusCategory(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"key", "key"}, {"name", "name"},
		{"color_name", "colorName"}, {"self", "self"}}, nil)
}

func (e *env) decodePriority(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"},
		{"status_color", "statusColor"}, {"icon_url", "iconUrl"}, {"self", "self"}}, func(r *row, o obj) {
		r.bool("is_default", o.get("isDefault"))
	})
}

func (e *env) decodeIssueType(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"description", "description"},
		{"icon_url", "iconUrl"}, {"self", "self"}}, func(r *row, o obj) {
		r.bool("subtask", o.get("subtask"))
		r.int("hierarchy_level", o.get("hierarchyLevel"))
		r.int("avatar_id", o.get("avatarId"))
		if sc := r.sub("scope_project_id", o.get("scope")); sc != nil {
			if p := r.sub("scope_project_id", sc.get("project")); p != nil {
				r.str("scope_project_id", p.get("id"))
			}
		}
	})
}

func (e *env) decodeBoard(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"type", "type"}, {"self", "self"}},
		func(r *row, o obj) {
			if loc := r.sub("project_id", o.get("location")); loc != nil {
				r.str("project_id", loc.get("projectId"))
				r.str("project_key", loc.get("projectKey"))
			}
		})
}

func (e *env) decodeSprint(out *tableOut, raw json.RawMessage) {
	e.decodeSimple(out, raw, "id", "id", [][2]string{{"name", "name"}, {"state", "state"}, {"goal", "goal"}, {"self", "self"}},
		func(r *row, o obj) {
			r.time("start_date", o.get("startDate"), false)
			r.time("end_date", o.get("endDate"), false)
			r.time("complete_date", o.get("completeDate"), false)
			r.time("created_date", o.get("createdDate"), false)
			r.int("origin_board_id", o.get("originBoardId"))
		})
}

func firstPresent(o obj, keys ...string) json.RawMessage {
	for _, k := range keys {
		if v := o.get(k); !isNull(v) {
			return v
		}
	}
	return nil
}

// ---- issue children ----

func (e *env) decodeComment(out *tableOut, raw json.RawMessage, issueID string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	r.set("issue_id", issueID)
	r.user("author_account_id", o.get("author"))
	r.user("update_author_account_id", o.get("updateAuthor"))
	r.text("body", "body_adf", o.get("body"))
	r.time("created", o.get("created"), false)
	r.time("updated", o.get("updated"), false)
	if v := r.sub("visibility_type", o.get("visibility")); v != nil {
		r.str("visibility_type", v.get("type"))
		r.str("visibility_value", v.get("value"))
	}
	r.bool("jsd_public", o.get("jsdPublic"))
	r.str("self", o.get("self"))
	r.end()
}

func (e *env) decodeWorklog(out *tableOut, raw json.RawMessage, issueID string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	if s, ok, _ := asString(o.get("issueId")); ok && s != "" {
		issueID = s
	}
	if issueID == "" {
		e.reject(out.name, id, "", "worklog without issueId", raw)
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	r.set("issue_id", issueID)
	r.user("author_account_id", o.get("author"))
	r.user("update_author_account_id", o.get("updateAuthor"))
	r.text("comment", "comment_adf", o.get("comment"))
	r.time("started", o.get("started"), false)
	r.str("time_spent", o.get("timeSpent"))
	r.int("time_spent_seconds", o.get("timeSpentSeconds"))
	r.time("created", o.get("created"), false)
	r.time("updated", o.get("updated"), false)
	if v := r.sub("visibility_type", o.get("visibility")); v != nil {
		r.str("visibility_type", v.get("type"))
		r.str("visibility_value", v.get("value"))
	}
	r.str("self", o.get("self"))
	r.end()
}

// decodeChangelog writes one history to changelogs and its items to
// changelog_items (either may be nil).
func (e *env) decodeChangelog(histories, items *tableOut, raw json.RawMessage, issueID string) {
	name := TableChangelogs
	if histories == nil {
		if items == nil {
			return
		}
		name = TableChangelogItems
	}
	o := e.object(name, raw)
	if o == nil {
		return
	}
	id, ok, err := asString(o.get("id"))
	if err != nil || !ok || id == "" {
		e.reject(name, "", "", "missing primary key id", raw)
		return
	}
	list, err := parseArray(o.get("items"))
	if err != nil {
		e.reject(name, id, "items", err.Error(), o.get("items"))
	}
	// The history's author and time, read once for its row and every item.
	created, author := o.get("created"), o.get("author")
	at, atOK, atErr := asTime(created, true)
	ref, refOK, refErr := e.userRef(author)
	setWhoWhen := func(r *row) {
		if r.want("created") {
			r.setOK("created", at, atOK, atErr, created)
		}
		if r.want("author_account_id") {
			r.setOK("author_account_id", ref, refOK, refErr, author)
		}
	}
	if r := e.begin(histories, id); r != nil {
		r.set("id", id)
		r.set("issue_id", issueID)
		setWhoWhen(r)
		r.set("item_count", int64(len(list)))
		r.json("items", o.get("items"))
		r.json("history_metadata", o.get("historyMetadata"))
		r.end()
	}
	if items == nil {
		return
	}
	for i, it := range list {
		io := e.object(TableChangelogItems, it)
		if io == nil {
			continue
		}
		r := e.begin(items, id+"/"+strconv.Itoa(i))
		if r == nil {
			continue
		}
		r.set("changelog_id", id)
		r.set("item_index", int64(i))
		r.set("issue_id", issueID)
		setWhoWhen(r)
		for _, m := range [][2]string{{"field", "field"}, {"field_type", "fieldtype"}, {"field_id", "fieldId"},
			{"from_value", "from"}, {"from_string", "fromString"}, {"to_value", "to"}, {"to_string", "toString"}} {
			col, k := m[0], m[1]
			r.str(col, io.get(k))
		}
		r.end()
	}
}

func (e *env) decodeTransition(out *tableOut, raw json.RawMessage, issueID string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id+"/"+issueID)
	r.set("id", id)
	r.set("issue_id", issueID)
	r.str("name", o.get("name"))
	if to := r.sub("to_status_id", o.get("to")); to != nil {
		r.str("to_status_id", to.get("id"))
		r.str("to_status", to.get("name"))
		if c := r.sub("to_status_category", to.get("statusCategory")); c != nil {
			r.str("to_status_category", c.get("key"))
		}
	}
	for _, m := range [][2]string{{"has_screen", "hasScreen"}, {"is_global", "isGlobal"}, {"is_initial", "isInitial"},
		{"is_available", "isAvailable"}, {"is_conditional", "isConditional"}, {"is_looped", "isLooped"}} {
		col, k := m[0], m[1]
		r.bool(col, o.get(k))
	}
	r.end()
}

// decodeIssueLink writes a link read from the payload of issue (id, key),
// normalised so that source is the outward side.
func (e *env) decodeIssueLink(out *tableOut, raw json.RawMessage, issueID, issueKey string) {
	o := e.object(out.name, raw)
	id, ok := e.key(out, raw, "id", o.get("id"))
	if !ok {
		return
	}
	r := e.begin(out, id)
	r.set("id", id)
	// issue_id is the source (outward) issue whichever end the link was
	// read from, so the row is the same from both ends and from every run.
	if other := r.sub("target_issue_id", o.get("outwardIssue")); other != nil {
		r.set("source_issue_id", issueID)
		r.set("source_issue_key", issueKey)
		r.str("target_issue_id", other.get("id"))
		r.str("target_issue_key", other.get("key"))
	} else if other := r.sub("source_issue_id", o.get("inwardIssue")); other != nil {
		r.str("issue_id", other.get("id"))
		r.str("source_issue_id", other.get("id"))
		r.str("source_issue_key", other.get("key"))
		r.set("target_issue_id", issueID)
		r.set("target_issue_key", issueKey)
	}
	r.set("issue_id", issueID) // no-op when set to the source above
	if t := r.sub("type_id", o.get("type")); t != nil {
		r.str("type_id", t.get("id"))
		r.str("type_name", t.get("name"))
		r.str("outward", t.get("outward"))
		r.str("inward", t.get("inward"))
	}
	r.end()
}

// ---- issues ----

// issueOuts are the outputs fed from an issue page; nil ones are skipped.
type issueOuts struct {
	issues, comments, changelogs, items, transitions, worklogs, links, sprintIssues *tableOut
}

// issueInfo is what the fetcher needs to know about a decoded issue.
type issueInfo struct {
	ID, Key, ProjectID, ProjectKey string
	Updated                        time.Time
	// Truncated embedded collections (total > items): the fetcher completes
	// them; their embedded items were not written.
	CommentsTruncated, WorklogsTruncated, ChangelogTruncated bool
}

// collection is an embedded page such as fields.comment.
type collection struct {
	items     []json.RawMessage
	total     int64
	truncated bool
}

func (e *env) collection(table, key, itemsKey string, raw json.RawMessage) collection {
	switch kindOf(raw) {
	case 0, 'n':
		return collection{}
	case '[': // the spec example's bare-array form
		items, err := parseArray(raw)
		if err != nil {
			e.reject(table, key, itemsKey, err.Error(), raw)
		}
		return collection{items: items, total: int64(len(items))}
	}
	o, err := parseObj(raw)
	if err != nil {
		e.reject(table, key, itemsKey, err.Error(), raw)
		return collection{}
	}
	items, err := parseArray(o.get(itemsKey))
	if err != nil {
		e.reject(table, key, itemsKey, err.Error(), o.get(itemsKey))
	}
	c := collection{items: items, total: int64(len(items))}
	if n, ok, err := asInt(o.get("total")); err == nil && ok {
		c.total = n
		c.truncated = n > int64(len(items))
	}
	return c
}

// decodeIssue writes one issue and the children cut from it. ok is false
// when the issue was rejected whole (no id, or no readable `updated`) or
// skipped by env.skipIssue.
func (e *env) decodeIssue(outs issueOuts, raw json.RawMessage) (info issueInfo, ok bool) {
	o := e.object(TableIssues, raw)
	if o == nil {
		return info, false
	}
	id, ok, err := asString(o.get("id"))
	if err != nil || !ok || id == "" {
		e.reject(TableIssues, "", "", "missing primary key id", raw)
		return info, false
	}
	info.ID = id
	info.Key, _, _ = asString(o.get("key"))
	f, err := parseObj(o.get("fields"))
	if err != nil {
		e.reject(TableIssues, id, "", "fields: "+err.Error(), raw)
		return info, false
	}
	updated, uok, err := asTime(f.get("updated"), false)
	if err != nil || !uok {
		reason := "missing fields.updated"
		if err != nil {
			reason = "fields.updated: " + err.Error()
		}
		e.reject(TableIssues, id, "", reason, raw)
		return info, false
	}
	info.Updated = updated
	if e.skipIssue != nil && e.skipIssue(id, updated) {
		return info, false
	}

	r := e.begin(outs.issues, id)
	r.set("id", id)
	r.str("key", o.get("key"))
	if p, err := parseObj(f.get("project")); err == nil && p != nil {
		r.str("project_id", p.get("id"))
		r.str("project_key", p.get("key"))
		info.ProjectKey, _, _ = asString(p.get("key"))
		info.ProjectID, _, _ = asString(p.get("id"))
	} else if err != nil {
		r.reject("project_id", err, f.get("project"))
	}
	r.str("summary", f.get("summary"))
	r.text("description", "description_adf", f.get("description"))
	r.text("environment", "environment_adf", f.get("environment"))
	if t := r.sub("issue_type", f.get("issuetype")); t != nil {
		r.str("issue_type_id", t.get("id"))
		r.str("issue_type", t.get("name"))
		r.bool("is_subtask", t.get("subtask"))
	}
	if s := r.sub("status", f.get("status")); s != nil {
		r.str("status_id", s.get("id"))
		r.str("status", s.get("name"))
		if c := r.sub("status_category", s.get("statusCategory")); c != nil {
			r.str("status_category", c.get("key"))
		}
	}
	r.time("status_category_changed_at", f.get("statuscategorychangedate"), false)
	if p := r.sub("priority", f.get("priority")); p != nil {
		r.str("priority_id", p.get("id"))
		r.str("priority", p.get("name"))
	}
	if p := r.sub("resolution", f.get("resolution")); p != nil {
		r.str("resolution_id", p.get("id"))
		r.str("resolution", p.get("name"))
	}
	r.time("resolution_date", f.get("resolutiondate"), false)
	r.time("created", f.get("created"), false)
	r.set("updated", updated)
	r.time("last_viewed", f.get("lastViewed"), false)
	r.date("due_date", f.get("duedate"))
	r.user("assignee_account_id", f.get("assignee"))
	r.user("reporter_account_id", f.get("reporter"))
	r.user("creator_account_id", f.get("creator"))
	if p := r.sub("parent_id", f.get("parent")); p != nil {
		r.str("parent_id", p.get("id"))
		r.str("parent_key", p.get("key"))
	}
	r.strs("labels", f.get("labels"))
	r.ids("component_ids", f.get("components"))
	r.ids("fix_version_ids", f.get("fixVersions"))
	r.ids("affected_version_ids", f.get("versions"))
	if s := r.sub("security_level", f.get("security")); s != nil {
		r.str("security_level", s.get("name"))
	}
	for _, m := range [][2]string{{"time_original_estimate_seconds", "timeoriginalestimate"},
		{"time_estimate_seconds", "timeestimate"}, {"time_spent_seconds", "timespent"},
		{"aggregate_time_original_estimate_seconds", "aggregatetimeoriginalestimate"},
		{"aggregate_time_estimate_seconds", "aggregatetimeestimate"},
		{"aggregate_time_spent_seconds", "aggregatetimespent"}, {"work_ratio", "workratio"}} {
		col, k := m[0], m[1]
		r.int(col, f.get(k))
	}
	if v := r.sub("votes", f.get("votes")); v != nil {
		r.int("votes", v.get("votes"))
	}
	if w := r.sub("watch_count", firstPresent(f, "watches", "watcher")); w != nil {
		r.int("watch_count", w.get("watchCount"))
	}
	comments := e.collection(TableIssueComments, id, "comments", f.get("comment"))
	worklogs := e.collection(TableWorklogs, id, "worklogs", f.get("worklog"))
	if !isNull(f.get("comment")) {
		r.set("comment_count", comments.total)
	}
	if !isNull(f.get("worklog")) {
		r.set("worklog_count", worklogs.total)
	}
	r.rawFields("fields", o.get("fields"))
	for _, c := range e.custom {
		e.customValue(r, c, f.get(c.FieldID))
	}
	r.end()

	// Children. Truncated collections are left to the fetcher, which
	// fetches them whole; writing the partial list too would only
	// duplicate keys within a run.
	info.CommentsTruncated = comments.truncated
	if !comments.truncated {
		for _, c := range comments.items {
			if outs.comments != nil {
				e.decodeComment(outs.comments, c, id)
			}
		}
	}
	info.WorklogsTruncated = worklogs.truncated
	if !worklogs.truncated {
		for _, w := range worklogs.items {
			if outs.worklogs != nil {
				e.decodeWorklog(outs.worklogs, w, id)
			}
		}
	}
	if !isNull(o.get("changelog")) {
		hist := e.collection(TableChangelogs, id, "histories", o.get("changelog"))
		info.ChangelogTruncated = hist.truncated
		if !hist.truncated {
			for _, h := range hist.items {
				e.decodeChangelog(outs.changelogs, outs.items, h, id)
			}
		}
	}
	if outs.transitions != nil {
		ts, err := parseArray(o.get("transitions"))
		if err != nil {
			e.reject(TableIssueTransitions, id, "", err.Error(), o.get("transitions"))
		}
		for _, t := range ts {
			e.decodeTransition(outs.transitions, t, id)
		}
	}
	if outs.links != nil {
		links, err := parseArray(f.get("issuelinks"))
		if err != nil {
			e.reject(TableIssueLinks, id, "", err.Error(), f.get("issuelinks"))
		}
		for _, l := range links {
			e.decodeIssueLink(outs.links, l, id, info.Key)
		}
	}
	if outs.sprintIssues != nil && e.sprintField != "" {
		e.decodeSprintIssues(outs.sprintIssues, f.get(e.sprintField), id)
	}
	return info, true
}

func (e *env) decodeSprintIssues(out *tableOut, raw json.RawMessage, issueID string) {
	items, err := parseArray(raw)
	if err != nil {
		e.reject(out.name, issueID, "sprint", err.Error(), raw)
		return
	}
	for _, it := range items {
		id, state, err := sprintRef(it)
		if err != nil {
			e.reject(out.name, issueID, "sprint_id", err.Error(), it)
			continue
		}
		r := e.begin(out, strconv.FormatInt(id, 10)+"/"+issueID)
		r.set("sprint_id", id)
		r.set("issue_id", issueID)
		if state != "" {
			r.set("sprint_state", state)
		}
		r.end()
	}
}

// legacySprint matches the Data Center toString form of a sprint:
// com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=1,rapidViewId=1,state=CLOSED,name=…]
var legacySprint = regexp.MustCompile(`\[id=(\d+)(?:.*?,state=([A-Za-z]+))?`)

// sprintRef reads one value of the Sprint field: an object (Cloud, newer
// DC) or the legacy string form.
func sprintRef(raw json.RawMessage) (int64, string, error) {
	if kindOf(raw) == '"' {
		s, _, _ := asString(raw)
		m := legacySprint.FindStringSubmatch(s)
		if m == nil {
			return 0, "", fmt.Errorf("unrecognised sprint value %s", truncate(s))
		}
		id, err := strconv.ParseInt(m[1], 10, 64)
		return id, strings.ToLower(m[2]), err
	}
	o, err := parseObj(raw)
	if err != nil || o == nil {
		return 0, "", fmt.Errorf("sprint value is not an object")
	}
	id, ok, err := asInt(o.get("id"))
	if err != nil || !ok {
		return 0, "", fmt.Errorf("sprint without id")
	}
	state, _, _ := asString(o.get("state"))
	return id, state, nil
}

// customValue writes one custom field according to its kind.
func (e *env) customValue(r *row, c CustomColumn, raw json.RawMessage) {
	if r == nil || isNull(raw) {
		return
	}
	col := c.Column
	switch c.Kind {
	case KindString:
		r.str(col, raw)
	case KindRichText:
		r.text(col, c.ADF, raw)
	case KindNumber:
		r.float(col, raw)
	case KindDate:
		r.date(col, raw)
	case KindDateTime:
		r.time(col, raw, false)
	case KindOption:
		if kindOf(raw) == '"' {
			r.str(col, raw)
		} else {
			r.member(col, raw, "value")
		}
	case KindOptions:
		r.listOf(col, raw, "value")
	case KindCascade:
		if v, err := cascadeValue(r.sub(col, raw)); err != nil {
			r.reject(col, err, raw)
		} else if v != "" {
			r.set(col, v)
		}
	case KindUser:
		r.user(col, raw)
	case KindUsers:
		r.users(col, raw)
	case KindStrings:
		r.strs(col, raw)
	case KindSprints:
		if !r.want(col) {
			return
		}
		items, err := parseArray(raw)
		if err != nil {
			r.reject(col, err, raw)
			return
		}
		ids := make([]int64, 0, len(items))
		for _, it := range items {
			id, _, err := sprintRef(it)
			if err != nil {
				r.reject(col, err, raw)
				return
			}
			ids = append(ids, id)
		}
		r.set(col, ids)
	case KindGroup:
		r.member(col, raw, "name")
	case KindGroups:
		r.listOf(col, raw, "name")
	case KindVersion:
		r.member(col, raw, "name")
	case KindVersions:
		r.listOf(col, raw, "name")
	case KindProject:
		r.member(col, raw, "key")
	default:
		r.json(col, raw)
	}
}

// member reads one string member of an object value.
func (r *row) member(col string, raw json.RawMessage, member string) {
	if o := r.sub(col, raw); o != nil {
		if isNull(o.get(member)) {
			r.reject(col, fmt.Errorf("object without %q", member), raw)
			return
		}
		r.str(col, o.get(member))
	}
}

// cascadeValue is a cascading select's "parent / child" (or "parent"
// without a child); "" for nil (not an object, already rejected).
func cascadeValue(o obj) (string, error) {
	if o == nil {
		return "", nil
	}
	v, ok, err := asString(o.get("value"))
	if err == nil && !ok {
		err = fmt.Errorf(`option without "value"`)
	}
	if err != nil {
		return "", err
	}
	raw := o.get("child")
	if isNull(raw) {
		return v, nil
	}
	child, err := parseObj(raw)
	if err != nil {
		return "", fmt.Errorf("child option: %w", err)
	}
	cv, ok, err := asString(child.get("value"))
	if err == nil && !ok {
		err = fmt.Errorf(`child option without "value"`)
	}
	if err != nil {
		return "", err
	}
	return v + " / " + cv, nil
}

// users reads an array of user objects into references.
func (r *row) users(col string, raw json.RawMessage) {
	if !r.want(col) {
		return
	}
	items, err := parseArray(raw)
	if err != nil {
		r.reject(col, err, raw)
		return
	}
	refs := make([]string, 0, len(items))
	for _, it := range items {
		ref, ok, err := r.e.userRef(it)
		if err != nil || isNull(it) {
			r.reject(col, fmt.Errorf("user is not an object"), raw)
			return
		}
		if ok {
			refs = append(refs, ref)
		}
	}
	r.set(col, refs)
}
