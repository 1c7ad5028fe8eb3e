package jirasim

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// The simulator renders responses as trees of map[string]any, []any and
// scalars. encoding/json walks those by reflection and sorts every map's keys
// through reflect.Value pairs, which made rendering a search page cost about
// as much CPU as the client spends decoding it, on the same cores in a
// benchmark. appendJSON writes the same bytes as json.Marshal for these
// trees without reflection, and hands every other type to json.Marshal.

// encoder appends JSON. embed, when set, may replace a string value by
// pre-encoded JSON (the user placeholders of view.userEmbed).
type encoder struct {
	embed func(s string) ([]byte, bool)
	keys  [][]string // per-depth scratch for sorted map keys
}

func (e *encoder) append(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		if e.embed != nil {
			if raw, ok := e.embed(x); ok {
				return append(b, raw...), nil
			}
		}
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		for len(e.keys) <= depth {
			e.keys = append(e.keys, nil)
		}
		keys := e.keys[depth][:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.keys[depth] = keys
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = e.append(b, x[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		return appendArray(b, x, func(b []byte, el any) ([]byte, error) { return e.append(b, el, depth+1) })
	case []string:
		return appendArray(b, x, func(b []byte, s string) ([]byte, error) { return appendString(b, s), nil })
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return b, err
		}
		return append(b, raw...), nil
	}
}

// appendArray encodes xs as a JSON array (null when nil), each element
// with el.
func appendArray[T any](b []byte, xs []T, el func([]byte, T) ([]byte, error)) ([]byte, error) {
	if xs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = el(b, x); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// plainJSON marks the bytes encoding/json writes inside a string unchanged.
// It escapes the rest: quotes, backslashes, control characters, <, > and &
// (HTML-safe escaping), and non-ASCII is checked for valid UTF-8 and U+2028/9.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainJSON[s[i]] {
			raw, _ := json.Marshal(s) // a string always encodes
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// bufPool recycles response buffers; buffers above maxPooled are dropped so a
// rare huge response does not stay pinned.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooled = 16 << 20

// marshal encodes v as json.Marshal would into a pooled buffer; call the
// returned release once the bytes are written.
func marshal(v any, embed func(string) ([]byte, bool)) ([]byte, func(), error) {
	p := bufPool.Get().(*[]byte)
	e := encoder{embed: embed}
	b, err := e.append((*p)[:0], v, 0)
	release := func() {
		if cap(b) <= maxPooled {
			*p = b[:0]
			bufPool.Put(p)
		}
	}
	if err != nil {
		release()
		return nil, func() {}, err
	}
	return b, release, nil
}
