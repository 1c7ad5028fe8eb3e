package jsonscan

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A Doc is a JSON document that was validated in one pass, which also
// recorded where each of its objects and arrays ends. While a Doc is
// registered (Register), the functions of this package look up the end of
// any container inside it instead of scanning for it, so splitting the
// document level by level (page → issue → fields → …) reads each byte
// once instead of once per level.
//
// Lookups go by address: a value is a sub-slice of the document, so its
// offset in the document is known from its pointer. Values outside every
// registered document (copies, other responses, or any value once its
// document is released) are scanned as before; the index is a shortcut and
// never changes a result.
type Doc struct {
	b      []byte
	base   uintptr
	starts []int32 // offsets of '{' and '[', ascending
	ends   []int32 // offset just after the matching '}' or ']'
	spaced bool    // whitespace outside strings somewhere in the document
}

// maxIndexed bounds the size of an indexed document (offsets are int32).
const maxIndexed = 1<<31 - 1

// Index validates b as exactly one JSON value, accepting what
// encoding/json.Valid accepts, and indexes its containers. It returns nil
// when b is not valid JSON.
func Index(b []byte) *Doc {
	if len(b) > maxIndexed {
		return nil
	}
	d := &Doc{b: b}
	if !d.validate() {
		return nil
	}
	if len(b) > 0 {
		d.base = uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	}
	return d
}

// A Validator checks JSON values as Index does, without keeping an index:
// it reuses its buffers, so checking many small values allocates nothing
// once they have grown. The zero value is ready to use; it is not safe for
// concurrent use.
type Validator struct{ d Doc }

// Valid reports whether b is exactly one JSON value, accepting what
// encoding/json.Valid accepts.
func (v *Validator) Valid(b []byte) bool {
	if len(b) > maxIndexed {
		return false
	}
	v.d = Doc{b: b, starts: v.d.starts[:0], ends: v.d.ends[:0]}
	ok := v.d.validate()
	v.d.b = nil
	return ok
}

// MaxDepth is encoding/json's nesting limit: deeper documents are invalid.
const MaxDepth = 10000

// class of a byte inside a string: 0 plain, 1 ends the fast path.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// validate checks d.b and fills the index.
func (d *Doc) validate() bool {
	b := d.b
	var stackBuf [64]int32 // index into starts of each open container
	stack := stackBuf[:0]
	i := SkipSpace(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= MaxDepth {
				return false
			}
			stack = append(stack, int32(len(d.starts)))
			d.starts = append(d.starts, int32(i))
			d.ends = append(d.ends, 0)
			i = d.space(b, i+1)
			if i >= len(b) {
				return false
			}
			if c == '{' {
				if b[i] == '}' {
					break // closed below
				}
				if i = d.key(b, i); i < 0 {
					return false
				}
				continue
			}
			if b[i] == ']' {
				break
			}
			continue
		case '"':
			if i = StringEnd(b, i); i < 0 {
				return false
			}
		case 't':
			if !hasPrefix(b[i:], "true") {
				return false
			}
			i += 4
		case 'f':
			if !hasPrefix(b[i:], "false") {
				return false
			}
			i += 5
		case 'n':
			if !hasPrefix(b[i:], "null") {
				return false
			}
			i += 4
		default:
			if i = NumberEnd(b, i); i < 0 {
				return false
			}
		}
		// After a value (or at an empty container's closing byte): close
		// containers and find the next value.
		for {
			i = d.space(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			open := b[d.starts[top]]
			switch b[i] {
			case ',':
				i = d.space(b, i+1)
				if open == '{' {
					if i = d.key(b, i); i < 0 {
						return false
					}
				}
			case '}', ']':
				if (open == '{') != (b[i] == '}') {
					return false
				}
				d.ends[top] = int32(i + 1)
				stack = stack[:len(stack)-1]
				i++
				continue
			default:
				return false
			}
			break
		}
	}
}

// space skips whitespace, noting that the document has some.
func (d *Doc) space(b []byte, i int) int {
	j := SkipSpace(b, i)
	if j != i {
		d.spaced = true
	}
	return j
}

// key checks `"key" :` at i and returns the index of the value after it,
// or -1.
func (d *Doc) key(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = StringEnd(b, i); i < 0 {
		return -1
	}
	i = d.space(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return d.space(b, i+1)
}

func hasPrefix(b []byte, lit string) bool {
	return len(b) >= len(lit) && string(b[:len(lit)]) == lit
}

// StringEnd checks the JSON string starting at b[i] (a quote) as
// encoding/json does and returns the index after its closing quote, or -1.
func StringEnd(b []byte, i int) int {
	j := i + 1
	for {
		for j < len(b) && !strStop[b[j]] {
			j++
		}
		if j >= len(b) {
			return -1
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(b) {
				return -1
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return -1
				}
				for _, h := range b[j+2 : j+6] {
					if !isHex(h) {
						return -1
					}
				}
				j += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// NumberEnd checks the JSON number starting at b[i] as encoding/json does
// and returns the index after it, or -1.
func NumberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// The registry of documents whose index lookups may use. It is replaced as
// a whole on Register and Release (rare: a few times per page), so lookups
// read it without locking.
var (
	registryMu sync.Mutex
	registry   atomic.Pointer[[]*Doc]
)

// maxRegistered bounds the registry should a caller miss a Release: the
// oldest document is dropped (its values are then scanned, as always
// correct) rather than kept alive.
const maxRegistered = 64

// Register makes the document's index available to this package's
// functions until Release. A nil Doc is ignored.
func (d *Doc) Register() {
	if d == nil || len(d.b) == 0 {
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	var cur []*Doc
	if p := registry.Load(); p != nil {
		cur = *p
	}
	next := make([]*Doc, 0, len(cur)+1)
	if len(cur) >= maxRegistered {
		cur = cur[1:]
	}
	next = append(append(next, cur...), d)
	registry.Store(&next)
}

// Release withdraws the document from the registry (all its registrations).
func (d *Doc) Release() {
	if d == nil {
		return
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	p := registry.Load()
	if p == nil || !slices.Contains(*p, d) {
		return
	}
	next := slices.DeleteFunc(slices.Clone(*p), func(x *Doc) bool { return x == d })
	registry.Store(&next)
}

// indexedEnd returns the end (index in b) of the container starting at
// b[i] and whether it may hold whitespace outside strings, when b[i] lies
// in a registered document.
func indexedEnd(b []byte, i int) (end int, spaced, ok bool) {
	p := registry.Load()
	if p == nil || len(*p) == 0 {
		return 0, false, false
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(i)
	for _, d := range *p {
		if addr < d.base || addr >= d.base+uintptr(len(d.b)) {
			continue
		}
		off := int32(addr - d.base)
		k, found := slices.BinarySearch(d.starts, off)
		if !found {
			return 0, false, false
		}
		return i + int(d.ends[k]-off), d.spaced, true
	}
	return 0, false, false
}
