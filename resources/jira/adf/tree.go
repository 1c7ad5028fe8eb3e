package adf

import (
	"strings"
	"sync"

	"github.com/jsync-dev/jsync/engine/jsonscan"
)

// value is a parsed JSON value. Strings and numbers keep their JSON text
// (raw, strings with their quotes) and are decoded only when read; the
// renderer reads a few members of each node, so most never are. Objects
// keep their members in order, arrays their elements.
type value struct {
	kind    byte // '{', '[', '"', '0' (number), 't', 'f' or 'n'
	raw     []byte
	members []member
	elems   []value
}

// member is one member of an object. key is the key's JSON text without
// its quotes when it has no escapes, and the decoded key otherwise.
type member struct {
	key []byte
	val value
}

// parser builds the tree of a document and checks its syntax as
// encoding/json.Valid does. Members and elements of the containers being
// parsed wait on two stacks and are copied out, at their final size, when
// their container ends: one allocation per object or array.
type parser struct {
	b       []byte
	members []member
	elems   []value
}

// parsers keeps the stacks of finished parses for the next, unless a
// large document grew them past maxPooled entries.
var parsers = sync.Pool{New: func() any { return new(parser) }}

const maxPooled = 1024

// parse returns the value that is the whole of b, and false if b is not
// valid JSON.
func parse(b []byte) (value, bool) {
	p := parsers.Get().(*parser)
	p.b = b
	v, end := p.value(p.space(0), 0)
	ok := end >= 0 && p.space(end) == len(b)
	if cap(p.members) <= maxPooled && cap(p.elems) <= maxPooled {
		clear(p.members)
		clear(p.elems)
		*p = parser{members: p.members[:0], elems: p.elems[:0]}
		parsers.Put(p)
	}
	return v, ok
}

func (p *parser) space(i int) int { return jsonscan.SkipSpace(p.b, i) }

// value parses the value starting at i, inside depth containers, and
// returns the offset after it, or -1 if the text there is not JSON.
func (p *parser) value(i, depth int) (value, int) {
	b := p.b
	if i >= len(b) {
		return value{}, -1
	}
	switch b[i] {
	case '{', '[':
		return p.container(i, depth)
	case '"':
		end := jsonscan.StringEnd(b, i)
		if end < 0 {
			return value{}, -1
		}
		return value{kind: '"', raw: b[i:end]}, end
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	}
	end := jsonscan.NumberEnd(b, i)
	if end < 0 {
		return value{}, -1
	}
	return value{kind: '0', raw: b[i:end]}, end
}

// container parses the object or array starting at i.
func (p *parser) container(i, depth int) (value, int) {
	b := p.b
	v := value{kind: b[i]}
	closer := byte(']')
	if v.kind == '{' {
		closer = '}'
	}
	if depth >= jsonscan.MaxDepth {
		return value{}, -1
	}
	mBase, eBase := len(p.members), len(p.elems)
	if i = p.space(i + 1); i < len(b) && b[i] == closer {
		return v, i + 1
	}
	for {
		var key []byte
		if v.kind == '{' {
			if key, i = p.key(i); i < 0 {
				return value{}, -1
			}
		}
		var e value
		if e, i = p.value(i, depth+1); i < 0 {
			return value{}, -1
		}
		if v.kind == '{' {
			p.members = append(p.members, member{key: key, val: e})
		} else {
			p.elems = append(p.elems, e)
		}
		if i = p.space(i); i < len(b) && b[i] == ',' {
			i = p.space(i + 1)
			continue
		}
		if i >= len(b) || b[i] != closer {
			return value{}, -1
		}
		v.members, v.elems = pop(&p.members, mBase), pop(&p.elems, eBase)
		return v, i + 1
	}
}

// key parses an object key and its colon at i, and returns the offset of
// the value, or -1.
func (p *parser) key(i int) ([]byte, int) {
	b := p.b
	if i >= len(b) || b[i] != '"' {
		return nil, -1
	}
	end := jsonscan.StringEnd(b, i)
	if end < 0 {
		return nil, -1
	}
	key := b[i+1 : end-1]
	if !jsonscan.PlainString(b[i:end]) {
		s, _ := jsonscan.String(b[i:end])
		key = []byte(s)
	}
	if i = p.space(end); i >= len(b) || b[i] != ':' {
		return nil, -1
	}
	return key, p.space(i + 1)
}

// pop removes the entries from base on from a stack and returns a copy of
// them (nil when there are none).
func pop[T any](stack *[]T, base int) []T {
	s := *stack
	if len(s) == base {
		return nil
	}
	out := append([]T(nil), s[base:]...)
	clear(s[base:])
	*stack = s[:base]
	return out
}

func literal(b []byte, i int, lit string) (value, int) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return value{}, -1
	}
	return value{kind: lit[0]}, i + len(lit)
}

// get returns the value of key in the object v (the last one when a key
// repeats, as encoding/json does), or nil.
func (v *value) get(key string) *value {
	if v == nil {
		return nil
	}
	for i := len(v.members) - 1; i >= 0; i-- {
		if string(v.members[i].key) == key {
			return &v.members[i].val
		}
	}
	return nil
}

// str returns v's string, and false if v is not a string. Invalid UTF-8
// becomes U+FFFD, as with encoding/json.
func (v *value) str() (string, bool) {
	if v == nil || v.kind != '"' {
		return "", false
	}
	s, _ := jsonscan.String(v.raw)
	return s, true
}

// writeTo writes v's string to b; it writes nothing if v is not a string.
func (v *value) writeTo(b *strings.Builder) {
	if v != nil && v.kind == '"' && jsonscan.PlainString(v.raw) {
		b.Write(v.raw[1 : len(v.raw)-1]) // no string to allocate
		return
	}
	s, _ := v.str()
	b.WriteString(s)
}

// object returns v if it is an object, or nil.
func (v *value) object() *value {
	if v == nil || v.kind != '{' {
		return nil
	}
	return v
}
