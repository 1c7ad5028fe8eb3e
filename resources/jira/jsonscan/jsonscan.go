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
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error of this package.
var ErrSyntax = errors.New("malformed JSON")

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, args...))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just after the closing quote of the string
// starting at b[i] (a quote), and whether the string holds a backslash.
func stringEnd(b []byte, i int) (end int, escaped bool, err error) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false, syntaxErr("unterminated string at offset %d", i)
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n > 0 {
			escaped = true
		}
		if n%2 == 0 {
			if !escaped && bytes.IndexByte(b[j:q], '\\') >= 0 {
				escaped = true
			}
			return q + 1, escaped, nil
		}
		escaped = true
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
		end, _, err := stringEnd(b, i)
		return end, err
	case '{', '[':
		var stack [32]byte
		open := append(stack[:0], c)
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := stringEnd(b, j)
				if err != nil {
					return 0, err
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
					return 0, syntaxErr("mismatched %q at offset %d", b[j], j)
				}
				open = open[:len(open)-1]
				if len(open) == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, syntaxErr("unterminated %s at offset %d", map[byte]string{'{': "object", '[': "array"}[c], i)
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

// trim returns the value without surrounding whitespace and checks that it
// is a single value.
func trim(raw []byte) ([]byte, error) {
	i := skipSpace(raw, 0)
	end, err := valueEnd(raw, i)
	if err != nil {
		return nil, err
	}
	if k := skipSpace(raw, end); k != len(raw) {
		return nil, syntaxErr("unexpected %q after the value at offset %d", raw[k], k)
	}
	return raw[i:end], nil
}

// Object splits a JSON object into its members. A key that repeats keeps
// its last value, as with encoding/json. Values alias raw.
func Object(raw []byte) (map[string]json.RawMessage, error) {
	b, err := trim(raw)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, syntaxErr("not an object")
	}
	out := make(map[string]json.RawMessage, 8)
	err = eachMember(b, func(key string, val []byte) { out[key] = val })
	return out, err
}

// eachMember calls fn for every member of the object b (trimmed, starting
// with '{' and balanced).
func eachMember(b []byte, fn func(key string, val []byte)) error {
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return syntaxErr("object key expected at offset %d", i)
		}
		kend, escaped, err := stringEnd(b, i)
		if err != nil {
			return err
		}
		key, err := keyString(b[i:kend], escaped)
		if err != nil {
			return err
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return syntaxErr("colon expected at offset %d", i)
		}
		i = skipSpace(b, i+1)
		vend, err := valueEnd(b, i)
		if err != nil {
			return err
		}
		fn(key, b[i:vend:vend])
		i = skipSpace(b, vend)
		if i >= len(b) {
			return syntaxErr("unterminated object")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			if i != len(b)-1 {
				return syntaxErr("unexpected text after the object at offset %d", i+1)
			}
			return nil
		default:
			return syntaxErr("comma or } expected at offset %d, found %q", i, b[i])
		}
	}
}

func keyString(q []byte, escaped bool) (string, error) {
	if !escaped && utf8.Valid(q) {
		return string(q[1 : len(q)-1]), nil
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
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return []json.RawMessage{}, nil
	}
	for {
		end, err := valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, b[i:end:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, syntaxErr("unterminated array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			if i != len(b)-1 {
				return nil, syntaxErr("unexpected text after the array at offset %d", i+1)
			}
			return out, nil
		default:
			return nil, syntaxErr("comma or ] expected at offset %d, found %q", i, b[i])
		}
	}
}

// String decodes a JSON string value. A string without escapes and with
// valid UTF-8 is copied out directly; others go through encoding/json
// (which also replaces invalid UTF-8, as it would have).
func String(raw []byte) (string, error) {
	b, err := trim(raw)
	if err != nil {
		return "", err
	}
	if len(b) < 2 || b[0] != '"' {
		return "", syntaxErr("not a string")
	}
	if bytes.IndexByte(b[1:len(b)-1], '\\') < 0 && utf8.Valid(b) && noControl(b) {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	return s, nil
}

// noControl reports whether b has no control characters, which JSON
// strings must escape (encoding/json rejects them).
func noControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return false
		}
	}
	return true
}

// Compact returns raw without insignificant whitespace. Text that is
// already compact is returned as is (no copy).
func Compact(raw []byte) ([]byte, error) {
	b, err := trim(raw)
	if err != nil {
		return nil, err
	}
	compact := true
	for j := 0; j < len(b) && compact; j++ {
		switch b[j] {
		case '"':
			end, _, err := stringEnd(b, j)
			if err != nil {
				return nil, err
			}
			j = end - 1
		case ' ', '\t', '\n', '\r':
			compact = false
		}
	}
	if compact {
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(b))
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
