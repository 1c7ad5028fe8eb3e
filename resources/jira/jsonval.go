package jira

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/jsync-dev/jsync/engine/jsonscan"
)

// obj is a JSON object decoded one level deep; values stay raw until read,
// so the raw bytes of nested documents (fields, ADF) are kept exactly.
type obj []jsonscan.Member

// get returns the raw value of key, or nil when o has no such member.
func (o obj) get(key string) json.RawMessage { return jsonscan.Get(o, key) }

// parseObj decodes a JSON object. null or absent yields (nil, nil).
func parseObj(raw json.RawMessage) (obj, error) {
	if isNull(raw) {
		return nil, nil
	}
	if k := kindOf(raw); k != '{' {
		return nil, fmt.Errorf("want object, got %s", kindName(k))
	}
	// raw comes from a document validated when it arrived (see
	// client.Response.ValidJSON): split it without validating again.
	o, err := jsonscan.Members(raw)
	if err != nil {
		return nil, err
	}
	return o, nil
}

// parseArray decodes a JSON array. null or absent yields (nil, nil).
func parseArray(raw json.RawMessage) ([]json.RawMessage, error) {
	if isNull(raw) {
		return nil, nil
	}
	if k := kindOf(raw); k != '[' {
		return nil, fmt.Errorf("want array, got %s", kindName(k))
	}
	return jsonscan.Array(raw)
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// kindOf returns the first byte of the value: '{', '[', '"', 't'/'f', 'n' or a number start.
func kindOf(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func kindName(k byte) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n', 0:
		return "null"
	}
	return "number"
}

// asString reads a string. Numbers and booleans are accepted as their
// literal text (Jira mixes "10000" and 10000 for ids). ok is false for null.
func asString(raw json.RawMessage) (s string, ok bool, err error) {
	switch k := kindOf(raw); k {
	case 0, 'n':
		return "", false, nil
	case '"':
		s, err = jsonscan.String(raw)
		return s, err == nil, err
	case '{', '[':
		return "", false, fmt.Errorf("want string, got %s", kindName(k))
	default:
		return string(bytes.TrimSpace(raw)), true, nil
	}
}

// asInt reads an integer, from a number or a numeric string.
func asInt(raw json.RawMessage) (int64, bool, error) {
	s, ok, err := scalarText(raw)
	if !ok || err != nil {
		return 0, false, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("want integer, got %s", truncate(s))
	}
	return int64(f), true, nil
}

// asFloat reads a number, from a number or a numeric string.
func asFloat(raw json.RawMessage) (float64, bool, error) {
	s, ok, err := scalarText(raw)
	if !ok || err != nil {
		return 0, false, err
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false, fmt.Errorf("want number, got %s", truncate(s))
	}
	return f, true, nil
}

// asBool reads a boolean (or the strings "true"/"false").
func asBool(raw json.RawMessage) (bool, bool, error) {
	s, ok, err := scalarText(raw)
	if !ok || err != nil {
		return false, false, err
	}
	switch s {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, fmt.Errorf("want boolean, got %s", truncate(s))
}

func scalarText(raw json.RawMessage) (string, bool, error) {
	switch k := kindOf(raw); k {
	case 0, 'n':
		return "", false, nil
	case '"':
		s, err := jsonscan.String(raw)
		if err != nil {
			return "", false, err
		}
		return s, true, nil
	case '{', '[':
		return "", false, fmt.Errorf("want scalar, got %s", kindName(k))
	default:
		return string(bytes.TrimSpace(raw)), true, nil
	}
}

// stringList is a list of strings with null items: valid[i] is false
// where the server sent null. Lists without nulls are plain []string.
type stringList struct {
	vals  []string
	valid []bool
}

// asStrings reads an array of strings (or of numbers, as text). It is a
// []string, or a stringList when some items are null: a null item stays a
// NULL element, so the list keeps the length and positions it has in Jira.
func asStrings(raw json.RawMessage) (any, bool, error) {
	items, err := parseArray(raw)
	if err != nil || items == nil {
		return nil, false, err
	}
	out := make([]string, 0, len(items))
	var valid []bool
	for i, it := range items {
		s, ok, err := asString(it)
		if err != nil {
			return nil, false, fmt.Errorf("item %d: %w", i, err)
		}
		if !ok && valid == nil {
			valid = slices.Repeat([]bool{true}, i) // the items before the first null
		}
		if valid != nil {
			valid = append(valid, ok)
		}
		out = append(out, s)
	}
	if valid != nil {
		return stringList{vals: out, valid: valid}, true, nil
	}
	return out, true, nil
}

// compactJSON returns the value as compact JSON text; ok is false for null.
// Text that is already compact is returned as is, aliasing raw: the row
// writer copies it into the Arrow buffer without an intermediate string.
// Lone surrogate escapes and invalid UTF-8 become U+FFFD (jsonscan.Repair),
// as in Go's decoding of the text columns: DuckDB's JSON type refuses
// them, and one such issue would stop its table from being written.
func compactJSON(raw json.RawMessage) ([]byte, bool, error) {
	if isNull(raw) {
		return nil, false, nil
	}
	b, err := jsonscan.Compact(raw)
	if err != nil {
		return nil, false, err
	}
	return jsonscan.Repair(b), true, nil
}

// embeddedCollections are the members of an issue's fields that the raw
// fields column leaves out: Jira caps them (20 comments, 20 worklogs on
// Cloud), and the child tables hold them complete. Kept, they were more
// than half of the issues table and a truncated copy users could mistake
// for the whole.
var embeddedCollections = []string{"comment", "worklog"}

// rawFields sets col to the fields without embeddedCollections.
// The text is built in the env's scratch buffer, which the row writer
// copies from: an issue's fields are its largest value, tens of KB.
func (r *row) rawFields(col string, raw json.RawMessage) {
	if !r.want(col) || isNull(raw) {
		return
	}
	b, err := jsonscan.AppendWithout(r.e.scratch[:0], raw, embeddedCollections...)
	if err != nil {
		r.reject(col, err, raw)
		return
	}
	if cap(b) <= maxScratch {
		r.e.scratch = b[:0]
	}
	r.set(col, jsonscan.Repair(b))
}

// maxScratch bounds the scratch buffer an env keeps between issues.
const maxScratch = 1 << 20

func truncate(s string) string {
	if len(s) > 80 {
		return strconv.Quote(s[:80]) + "…"
	}
	return strconv.Quote(s)
}
