// Package jsonscan splits JSON text that is already known to be valid into
// its members without decoding them: an object into its raw values by key,
// an array into its raw elements. Values are sub-slices of the input (no
// copy).
//
// encoding/json validates its whole input on every Unmarshal, so decoding a
// document level by level (page → issue → fields → …) re-scans the same
// bytes once per level, twice with the validation. A Jira search page is
// validated once when it arrives (json.Valid); after that, splitting is a
// single pass over each level with no validation, which is what makes
// decoding issues cheap.
//
// The functions still detect structural damage (unbalanced brackets, a
// missing colon or comma, trailing text) and report it as an error, but
// they do not check escapes, number syntax or literals: callers read those
// with encoding/json or strconv, which do.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error of this package.
var ErrSyntax = errors.New("malformed JSON")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just after the closing quote of the string
// starting at b[i] (a quote), and whether the string holds a backslash.
func stringEnd(b []byte, i int) (end int, escaped bool, err error) {
	end, err = skipString(b, i)
	if err != nil {
		return 0, false, err
	}
	return end, bytes.IndexByte(b[i+1:end-1], '\\') >= 0, nil
}

// skipString returns the index just after the closing quote of the string
// starting at b[i] (a quote). Short runs are stepped through byte by byte
// (most keys and values are a few bytes); longer ones use IndexByte.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		// Step through up to 16 bytes before paying for an IndexByte call.
		lim := min(j+16, len(b))
		for ; j < lim; j++ {
			switch b[j] {
			case '"':
				return j + 1, nil
			case '\\':
				j++ // skip the escaped byte
			}
		}
		if j >= len(b) {
			return 0, syntaxErr("unterminated string at offset %d", i)
		}
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, syntaxErr("unterminated string at offset %d", i)
		}
		q := j + k
		if bytes.IndexByte(b[j:q], '\\') < 0 {
			return q + 1, nil
		}
		// A backslash before the quote: step through the escapes.
		for ; j < q; j++ {
			if b[j] == '\\' {
				j++
			}
		}
		if j == q {
			return q + 1, nil
		}
		// The quote at q was escaped; go on after it.
		j = q + 1
	}
}

// valueEnd returns the index just after the value starting at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntaxErr("value expected at end of input")
	}
	switch c := b[i]; c {
	case '"':
		return skipString(b, i)
	case '{', '[':
		end, _, err := containerEnd(b, i)
		return end, err
	case ',', ':', '}', ']':
		return 0, syntaxErr("value expected at offset %d, found %q", i, c)
	default:
		j := i
		for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ':' {
			j++
		}
		return j, nil
	}
}

// structural marks the bytes containerEnd stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true, ' ': true, '\t': true, '\n': true, '\r': true}

// containerEnd returns the index just after the object or array starting
// at b[i], and whether whitespace appears in it outside strings.
func containerEnd(b []byte, i int) (end int, spaced bool, err error) {
	if end, spaced, ok := indexedEnd(b, i); ok && end <= len(b) {
		return end, spaced, nil
	}
	var stack [32]byte
	c := b[i]
	open := append(stack[:0], c)
	for j := i + 1; j < len(b); j++ {
		if !structural[b[j]] {
			continue
		}
		switch b[j] {
		case '"':
			end, err := skipString(b, j)
			if err != nil {
				return 0, false, err
			}
			j = end - 1
		case '{', '[':
			open = append(open, b[j])
		case '}', ']':
			want := byte('{')
			if b[j] == ']' {
				want = '['
			}
			if open[len(open)-1] != want {
				return 0, false, syntaxErr("mismatched %q at offset %d", b[j], j)
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return j + 1, spaced, nil
			}
		case ' ', '\t', '\n', '\r':
			spaced = true
		}
	}
	return 0, false, syntaxErr("unterminated %s at offset %d", map[byte]string{'{': "object", '[': "array"}[c], i)
}

// trim returns the value without surrounding whitespace. It does not scan
// the value: Object and Array check its structure as they split it, and
// String and Compact check that the value ends where it should.
func trim(raw []byte) ([]byte, error) {
	i := SkipSpace(raw, 0)
	j := len(raw)
	for j > i && isSpace(raw[j-1]) {
		j--
	}
	if i == j {
		return nil, syntaxErr("value expected at end of input")
	}
	return raw[i:j], nil
}

// Object splits a JSON object into its members. A key that repeats keeps
// its last value, as with encoding/json. Values alias raw.
func Object(raw []byte) (map[string]json.RawMessage, error) {
	var buf [24]member
	_, ms, err := objectMembers(raw, buf[:0])
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		out[m.key] = m.val
	}
	return out, nil
}

// Member is one member of an object: its decoded key and its value
// (aliasing the object's text).
type Member struct {
	Key string
	Val json.RawMessage
}

// Members splits a JSON object into its members, in order; Get looks one
// up. Values alias raw. It costs one allocation, where Object's map costs
// several and a hash of every key: decoding a Jira page spends more time
// building maps of an issue's fields than reading the few it looks up more
// than once.
func Members(raw []byte) ([]Member, error) {
	var buf [32]member
	_, ms, err := objectMembers(raw, buf[:0])
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(ms))
	for i, m := range ms {
		out[i] = Member{m.key, m.val}
	}
	return out, nil
}

// Get returns the value of key among ms, or nil. A key that repeats
// yields its last value, as with encoding/json. Keys are compared one by
// one: an object has tens of members, and interned keys of different
// lengths differ at the first comparison.
func Get(ms []Member, key string) json.RawMessage {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Key == key {
			return ms[i].Val
		}
	}
	return nil
}

// member is one member of an object: its decoded key, whether the key was
// written with escapes, and its value (aliasing the object's text).
type member struct {
	key     string
	val     json.RawMessage
	escaped bool
}

// objectMembers trims raw, checks that it is an object and appends its
// members to dst in order. It returns the trimmed object too.
func objectMembers(raw []byte, dst []member) ([]byte, []member, error) {
	b, err := trim(raw)
	if err != nil {
		return nil, dst, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, dst, syntaxErr("not an object")
	}
	ms, err := appendMembers(dst, b)
	return b, ms, err
}

// appendMembers appends the members of the object b (trimmed, starting
// with '{') to dst, in order.
func appendMembers(dst []member, b []byte) ([]member, error) {
	i := SkipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		if i != len(b)-1 {
			return dst, syntaxErr("unexpected text after the object at offset %d", i+1)
		}
		return dst, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return dst, syntaxErr("object key expected at offset %d", i)
		}
		kend, escaped, err := stringEnd(b, i)
		if err != nil {
			return dst, err
		}
		key, err := keyString(b[i:kend], escaped)
		if err != nil {
			return dst, err
		}
		i = SkipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return dst, syntaxErr("colon expected at offset %d", i)
		}
		i = SkipSpace(b, i+1)
		vend, err := valueEnd(b, i)
		if err != nil {
			return dst, err
		}
		dst = append(dst, member{key, b[i:vend:vend], escaped})
		var done bool
		if i, done, err = afterElement(b, vend, '}', "object"); err != nil || done {
			return dst, err
		}
	}
}

// afterElement reads what follows an element of the container (what) that
// b holds and that closer ends: a comma, after which next is the index of
// the next element, or closer, which must end b (done).
func afterElement(b []byte, i int, closer byte, what string) (next int, done bool, err error) {
	i = SkipSpace(b, i)
	if i >= len(b) {
		return 0, false, syntaxErr("unterminated %s", what)
	}
	switch b[i] {
	case ',':
		return SkipSpace(b, i+1), false, nil
	case closer:
		if i != len(b)-1 {
			return 0, false, syntaxErr("unexpected text after the %s at offset %d", what, i+1)
		}
		return 0, true, nil
	}
	return 0, false, syntaxErr("comma or %c expected at offset %d, found %q", closer, i, b[i])
}

func keyString(q []byte, escaped bool) (string, error) {
	if !escaped && utf8.Valid(q) {
		return Intern(q[1 : len(q)-1]), nil
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", fmt.Errorf("%w: object key: %v", ErrSyntax, err)
	}
	return s, nil
}

// Array splits a JSON array into its elements. Elements alias raw.
func Array(raw []byte) ([]json.RawMessage, error) {
	b, err := trim(raw)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '[' {
		return nil, syntaxErr("not an array")
	}
	var out []json.RawMessage
	i := SkipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return []json.RawMessage{}, nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, b[i:end:end])
		var done bool
		if i, done, err = afterElement(b, end, ']', "array"); err != nil {
			return nil, err
		} else if done {
			return out, nil
		}
	}
}

// String decodes a JSON string value. A string without escapes, control
// characters or invalid UTF-8 is copied out directly; others go through
// encoding/json (which also replaces invalid UTF-8, as it would have).
func String(raw []byte) (string, error) {
	b, err := trim(raw)
	if err != nil {
		return "", err
	}
	if len(b) < 2 || b[0] != '"' {
		return "", syntaxErr("not a string")
	}
	if PlainString(b) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	return s, nil
}

// PlainString reports whether the quoted string b (quotes included) ends
// at its last byte and holds no escape, no control character and only
// valid UTF-8, so its bytes between the quotes are its value.
func PlainString(b []byte) bool {
	ascii := true
	for _, c := range b[1 : len(b)-1] {
		switch {
		case c < 0x20 || c == '"' || c == '\\':
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return b[len(b)-1] == '"' && (ascii || utf8.Valid(b))
}

// Compact returns raw without insignificant whitespace. Text that is
// already compact is returned as is (no copy).
func Compact(raw []byte) ([]byte, error) {
	b, err := trim(raw)
	if err != nil {
		return nil, err
	}
	var end int
	spaced := false
	switch b[0] {
	case '{', '[':
		end, spaced, err = containerEnd(b, 0)
	default:
		end, err = valueEnd(b, 0)
	}
	if err != nil {
		return nil, err
	}
	if end != len(b) {
		return nil, syntaxErr("unexpected %q after the value at offset %d", b[end], end)
	}
	if !spaced {
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(b))
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// AppendWithout appends the object raw, compact, without its top-level
// members named by drop, to dst. Kept members stay in order. Callers that
// copy the result elsewhere pass the same buffer again, so that a large
// object costs no allocation per call.
func AppendWithout(dst, raw []byte, drop ...string) ([]byte, error) {
	var buf [24]member
	b, ms, err := objectMembers(raw, buf[:0])
	if err != nil {
		return dst, err
	}
	dropped := func(m member) bool { return slices.Contains(drop, m.key) }
	if !slices.ContainsFunc(ms, dropped) {
		c, err := Compact(b)
		if err != nil {
			return dst, err
		}
		return append(dst, c...), nil
	}
	out := append(dst, '{')
	first := true
	for _, m := range ms {
		if dropped(m) {
			continue
		}
		if out, err = appendMember(out, m, first); err != nil {
			return dst, err
		}
		first = false
	}
	return append(out, '}'), nil
}

// appendMember appends `"key":value` (compact) to an object being built,
// after a comma unless it is the object's first member. A key written
// with escapes is encoded again.
func appendMember(out []byte, m member, first bool) ([]byte, error) {
	v, err := Compact(m.val)
	if err != nil {
		return nil, err
	}
	if !first {
		out = append(out, ',')
	}
	if m.escaped {
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		out = append(out, k...)
	} else {
		out = append(out, '"')
		out = append(out, m.key...)
		out = append(out, '"')
	}
	out = append(out, ':')
	return append(out, v...), nil
}

// keyCache interns object keys: a Jira page repeats the same few hundred
// keys ("id", "self", "customfield_10020", …) in every issue, so each is
// allocated once rather than once per object. A slot holds the last key
// that hashed to it; a miss only costs the allocation interning saves.
// Sites with hundreds of custom fields repeat hundreds more: with 1,024
// slots, a 475-field site's keys kept evicting each other and interning
// took 6% of a sync's CPU (4% with 8,192 slots, 64 KB).
var keyCache [8192]atomic.Pointer[string]

// Intern returns b as a string, shared with earlier calls for the same
// short text (keys, node types) where the cache still holds it.
func Intern(b []byte) string {
	if len(b) > 48 {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	slot := &keyCache[h%uint32(len(keyCache))]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}

// Repair returns the JSON text b with each \u escape of a lone UTF-16
// surrogate (half of a pair, such as an emoji cut in two) replaced by
// \ufffd, and each byte that is not valid UTF-8 by U+FFFD: what Go's own
// decoding makes of them, and text that strict parsers (DuckDB's JSON
// type) accept. It returns b itself when nothing needs replacing.
func Repair(b []byte) []byte {
	if utf8.Valid(b) && !hasLoneSurrogate(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b) && b[i+1] == 'u':
			n, pair := surrogateAt(b, i)
			switch {
			case n == 0: // not a surrogate
				end := min(i+6, len(b))
				out = append(out, b[i:end]...)
				i = end
			case pair:
				out = append(out, b[i:i+12]...)
				i += 12
			default:
				out = append(out, `\ufffd`...)
				i += 6
			}
		case c == '\\' && i+1 < len(b):
			out = append(out, b[i:i+2]...)
			i += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = utf8.AppendRune(out, utf8.RuneError)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	return out
}

// hasLoneSurrogate reports whether b holds a \u escape of a surrogate
// that is not the high half of a pair followed by its low half.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); {
		k := bytes.IndexByte(b[i:], '\\')
		if k < 0 {
			return false
		}
		i += k
		if i+1 >= len(b) {
			return false
		}
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		n, pair := surrogateAt(b, i)
		switch {
		case n != 0 && !pair:
			return true
		case pair:
			i += 12
		default:
			i += 6
		}
	}
	return false
}

// surrogateAt reads the \uXXXX escape at b[i:]: n is its code unit when
// it is a surrogate (0 otherwise, or when it is cut short), and pair
// reports a high surrogate followed by a \u escape of a low one.
func surrogateAt(b []byte, i int) (n rune, pair bool) {
	u, ok := hex4(b, i+2)
	if !ok || u < 0xD800 || u > 0xDFFF {
		return 0, false
	}
	if u <= 0xDBFF && i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
		if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return u, true
		}
	}
	return u, false
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
