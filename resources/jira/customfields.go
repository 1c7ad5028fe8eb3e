package jira

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

// Field is one entry of the field catalogue (GET /rest/api/{2,3}/field).
type Field struct {
	ID          string      `json:"id"`
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Custom      bool        `json:"custom"`
	Orderable   bool        `json:"orderable"`
	Navigable   bool        `json:"navigable"`
	Searchable  bool        `json:"searchable"`
	ClauseNames []string    `json:"clauseNames"`
	Schema      FieldSchema `json:"schema"`
}

// FieldSchema is a field's schema: type, item type for arrays, and the
// system field or custom field type (plugin key).
type FieldSchema struct {
	Type     string `json:"type"`
	Items    string `json:"items"`
	System   string `json:"system"`
	Custom   string `json:"custom"`
	CustomID int64  `json:"customId"`
}

// ParseFields decodes a field catalogue page (a bare JSON array).
func ParseFields(raw []byte) ([]Field, error) {
	var fields []Field
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decode field catalogue: %w", err)
	}
	return fields, nil
}

// ValueKind says how a custom field's JSON value becomes a column value.
type ValueKind int

const (
	KindJSON     ValueKind = iota // unknown type: the value as a JSON string
	KindString                    // string, url, rank, epic link key…
	KindRichText                  // textarea: plain text plus the ADF JSON beside it
	KindNumber                    // number → double
	KindDate                      // date → date32
	KindDateTime                  // datetime → timestamp (UTC)
	KindOption                    // option → its value
	KindOptions                   // array of options → list<string> of values
	KindCascade                   // cascading select → "parent / child"
	KindUser                      // user → account id (Cloud) / user key (DC)
	KindUsers                     // array of users → list<string>
	KindStrings                   // array of strings (labels) → list<string>
	KindSprints                   // Sprint field → list<int64> of sprint ids
	KindGroup                     // group → name
	KindGroups                    // array of groups → list<string>
	KindVersion                   // version → name
	KindVersions                  // array of versions → list<string> of names
	KindProject                   // project → key
)

var kindNames = [...]string{"json", "string", "rich text", "number", "date", "datetime", "option", "options",
	"cascading select", "user", "users", "strings", "sprints", "group", "groups", "version", "versions", "project"}

func (k ValueKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// arrowType is the column type of a kind.
func (k ValueKind) arrowType() arrow.DataType {
	switch k {
	case KindNumber:
		return typeFloat64
	case KindDate:
		return typeDate
	case KindDateTime:
		return typeTimestamp
	case KindOptions, KindUsers, KindStrings, KindGroups, KindVersions:
		return typeStrings
	case KindSprints:
		return arrow.ListOf(arrow.PrimitiveTypes.Int64)
	}
	return typeString
}

// Custom field type keys with a specific mapping, whatever their schema type.
const (
	pluginPrefix  = "com.atlassian.jira.plugin.system.customfieldtypes:"
	pluginSprint  = "com.pyxis.greenhopper.jira:gh-sprint"
	pluginEpic    = "com.pyxis.greenhopper.jira:gh-epic-link"
	pluginRank    = "com.pyxis.greenhopper.jira:gh-lexo-rank"
	pluginTextara = pluginPrefix + "textarea"
	pluginURL     = pluginPrefix + "url"
	pluginCascade = pluginPrefix + "cascadingselect"
)

// pluginKinds maps the standard custom field types to kinds. They win over
// schema.type, which old servers report loosely (radio buttons as "string").
var pluginKinds = map[string]ValueKind{
	pluginSprint:                      KindSprints,
	pluginEpic:                        KindString,
	pluginRank:                        KindString,
	pluginURL:                         KindString,
	pluginTextara:                     KindRichText,
	pluginCascade:                     KindCascade,
	pluginPrefix + "textfield":        KindString,
	pluginPrefix + "readonlyfield":    KindString,
	pluginPrefix + "float":            KindNumber,
	pluginPrefix + "datepicker":       KindDate,
	pluginPrefix + "datetime":         KindDateTime,
	pluginPrefix + "select":           KindOption,
	pluginPrefix + "radiobuttons":     KindOption,
	pluginPrefix + "multiselect":      KindOptions,
	pluginPrefix + "multicheckboxes":  KindOptions,
	pluginPrefix + "userpicker":       KindUser,
	pluginPrefix + "multiuserpicker":  KindUsers,
	pluginPrefix + "grouppicker":      KindGroup,
	pluginPrefix + "multigrouppicker": KindGroups,
	pluginPrefix + "version":          KindVersion,
	pluginPrefix + "multiversion":     KindVersions,
	pluginPrefix + "project":          KindProject,
	pluginPrefix + "labels":           KindStrings,
}

// KindOf maps a field schema to a value kind. Anything not recognised is
// kept as JSON, so no value is ever lost.
func KindOf(s FieldSchema) ValueKind {
	if k, ok := pluginKinds[s.Custom]; ok {
		return k
	}
	switch s.Type {
	case "string":
		return KindString
	case "number":
		return KindNumber
	case "date":
		return KindDate
	case "datetime":
		return KindDateTime
	case "option":
		return KindOption
	case "option-with-child":
		return KindCascade
	case "user":
		return KindUser
	case "group":
		return KindGroup
	case "version":
		return KindVersion
	case "project":
		return KindProject
	case "array":
		switch s.Items {
		case "option":
			return KindOptions
		case "user":
			return KindUsers
		case "string":
			return KindStrings
		case "group":
			return KindGroups
		case "version":
			return KindVersions
		}
	}
	return KindJSON
}

// CustomColumn is the column (or, for rich text, the pair of columns) a
// custom field maps to in the issues table.
type CustomColumn struct {
	FieldID string
	Field   Field
	Kind    ValueKind
	Column  string // the value column
	ADF     string // the *_adf JSON column of rich-text fields; "" otherwise
}

// Columns returns the schema columns of the custom field.
func (c CustomColumn) Columns() []schema.Column {
	desc := fmt.Sprintf("Custom field %q (%s", c.Field.Name, c.FieldID)
	if c.Field.Schema.Custom != "" {
		desc += ", " + c.Field.Schema.Custom
	}
	desc += "): " + c.Kind.String() + "."
	col := schema.Column{Name: c.Column, Type: c.Kind.arrowType(), Description: desc, FieldID: c.FieldID, JSON: c.Kind == KindJSON}
	if c.Kind != KindRichText {
		return []schema.Column{col}
	}
	col.Description = desc + " Plain text; the ADF document is in " + c.ADF + "."
	return []schema.Column{col, {Name: c.ADF, Type: typeString, JSON: true, FieldID: c.FieldID,
		Description: fmt.Sprintf("Custom field %q (%s) as the original ADF JSON document (Cloud v3).", c.Field.Name, c.FieldID)}}
}

// SnakeCase turns a display name into a column name: ASCII letters and
// digits lower-cased, every other run of characters replaced by one
// underscore; letters with diacritics lose them. It returns "" when nothing
// usable is left.
func SnakeCase(name string) string {
	var b strings.Builder
	underscore := false
	for _, r := range name {
		r = foldASCII(r)
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if underscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			underscore = false
			b.WriteRune(unicode.ToLower(r))
		default:
			underscore = true
		}
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "cf_" + s
	}
	return s
}

// foldASCII maps common Latin letters with diacritics to ASCII.
func foldASCII(r rune) rune {
	const from, to = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝ", "aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUY"
	if i := strings.IndexRune(from, r); i >= 0 {
		return rune(to[len([]rune(from[:i]))])
	}
	return r
}

// CustomColumns maps the custom fields of a catalogue to issue columns.
//
// Names come from the display name in snake_case. pinned (field id → column
// name, from the destination's state) wins, so a field renamed in Jira keeps
// its column, and pinned names stay reserved even when their field is gone.
// A name that is taken (by a system column of issues, a pinned column, or a
// field with a smaller custom id) gets the suffix _<custom id>. Fields are
// assigned in custom-id order, so the result is deterministic.
func CustomColumns(fields []Field, pinned map[string]string) []CustomColumn {
	taken := map[string]bool{}
	for _, c := range issuesTable().Columns {
		taken[c.Name] = true
	}
	for _, name := range pinned {
		taken[name] = true
		taken[name+"_adf"] = true
	}
	var custom []Field
	for _, f := range fields {
		if f.Custom && strings.HasPrefix(f.ID, "customfield_") {
			custom = append(custom, f)
		}
	}
	sort.SliceStable(custom, func(i, j int) bool { return customNumber(custom[i]) < customNumber(custom[j]) })

	var out []CustomColumn
	for _, f := range custom {
		c := CustomColumn{FieldID: f.ID, Field: f, Kind: KindOf(f.Schema)}
		if name, ok := pinned[f.ID]; ok {
			c.Column = name
		} else {
			base := SnakeCase(f.Name)
			if base == "" {
				base = f.ID
			}
			name := base
			if taken[name] || (c.Kind == KindRichText && taken[name+"_adf"]) {
				name = base + "_" + strconv.FormatInt(customNumber(f), 10)
			}
			for n := 2; taken[name] || (c.Kind == KindRichText && taken[name+"_adf"]); n++ {
				name = base + "_" + strconv.FormatInt(customNumber(f), 10) + "_" + strconv.Itoa(n)
			}
			c.Column = name
		}
		taken[c.Column] = true
		if c.Kind == KindRichText {
			c.ADF = c.Column + "_adf"
			taken[c.ADF] = true
		}
		out = append(out, c)
	}
	return out
}

func customNumber(f Field) int64 {
	if f.Schema.CustomID != 0 {
		return f.Schema.CustomID
	}
	n, _ := strconv.ParseInt(strings.TrimPrefix(f.ID, "customfield_"), 10, 64)
	return n
}

// IssuesTableWith returns the issues table with the custom columns appended
// before the meta columns.
func IssuesTableWith(custom []CustomColumn) *schema.Table {
	t := issuesTable()
	var base, meta []schema.Column
	for _, c := range t.Columns {
		if strings.HasPrefix(c.Name, "_jsync_") {
			meta = append(meta, c)
		} else {
			base = append(base, c)
		}
	}
	for _, c := range custom {
		base = append(base, c.Columns()...)
	}
	t.Columns = append(base, meta...)
	return t
}

// sprintFieldID returns the id of the Sprint custom field, or "".
func sprintFieldID(custom []CustomColumn) string {
	for _, c := range custom {
		if c.Kind == KindSprints {
			return c.FieldID
		}
	}
	return ""
}
