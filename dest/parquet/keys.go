package parquet

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// hiveNull is the directory value Hive, Spark and DuckDB use for a NULL
// partition value.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// keyer encodes the primary key of a row as a byte string that is equal
// for equal keys and different for different keys.
type keyer struct {
	cols []arrow.Array
	buf  []byte
}

// newKeyer returns a keyer over the named columns of rec.
func newKeyer(rec arrow.RecordBatch, names []string) (*keyer, error) {
	k := &keyer{}
	for _, n := range names {
		idx := rec.Schema().FieldIndices(n)
		if len(idx) != 1 {
			return nil, fmt.Errorf("primary-key column %q missing from record", n)
		}
		k.cols = append(k.cols, rec.Column(idx[0]))
	}
	return k, nil
}

// key returns the encoded key of row i. The result is valid until the next
// call; convert it with string() to keep it.
func (k *keyer) key(i int) []byte {
	b := k.buf[:0]
	for _, c := range k.cols {
		if c.IsNull(i) {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		switch a := c.(type) {
		case *array.Int64:
			b = binary.BigEndian.AppendUint64(b, uint64(a.Value(i)))
		case *array.Int32:
			b = binary.BigEndian.AppendUint64(b, uint64(int64(a.Value(i))))
		case *array.String:
			b = appendBytes(b, a.Value(i))
		case *array.LargeString:
			b = appendBytes(b, a.Value(i))
		default:
			b = appendBytes(b, c.ValueStr(i))
		}
	}
	k.buf = b
	return b
}

// hasNull reports whether row i is NULL in any of k's columns.
func (k *keyer) hasNull(i int) bool {
	for _, c := range k.cols {
		if c.IsNull(i) {
			return true
		}
	}
	return false
}

func appendBytes(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// hashKey is a stable 64-bit hash of an encoded key (FNV-1a: the same in
// every process and version, unlike maphash).
func hashKey(key []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(key)
	return h.Sum64()
}

// bucket returns the bucket of row i of k's columns, whose encoded key
// hashes to h.
func (e *tableEntry) bucket(k *keyer, i int, h uint64) int {
	if e.BucketWidth > 0 {
		if v, ok := intValue(k.cols[0], i); ok {
			b := v / e.BucketWidth
			if v < 0 && v%e.BucketWidth != 0 {
				b-- // floor, so that bucket ranges never overlap
			}
			return int(b)
		}
		if v, ok := decimalText(k.cols[0], i); ok {
			return int(v / e.BucketWidth)
		}
		if e.Buckets > 1 {
			// A text key that is not a number (a table with such keys
			// has both): hash buckets below the ranges, which start at 0.
			return -1 - int(h%uint64(e.Buckets))
		}
	}
	if e.Buckets <= 1 {
		return 0
	}
	return int(h % uint64(e.Buckets))
}

// decimalText returns element i of a string array as a non-negative
// integer, when it is one in decimal (Jira's ids are such strings).
func decimalText(a arrow.Array, i int) (int64, bool) {
	if a.IsNull(i) {
		return 0, false
	}
	var s string
	switch a := a.(type) {
	case *array.String:
		s = a.Value(i)
	case *array.LargeString:
		s = a.Value(i)
	default:
		return 0, false
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false // strconv also takes a sign
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// intValue returns element i of an integer array as int64.
func intValue(a arrow.Array, i int) (int64, bool) {
	if a.IsNull(i) {
		return 0, false
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i), true
	case *array.Int32:
		return int64(a.Value(i)), true
	case *array.Int16:
		return int64(a.Value(i)), true
	case *array.Int8:
		return int64(a.Value(i)), true
	case *array.Uint32:
		return int64(a.Value(i)), true
	case *array.Uint16:
		return int64(a.Value(i)), true
	case *array.Uint8:
		return int64(a.Value(i)), true
	}
	return 0, false
}

// partitionDir returns the Hive directory name "col=value" of row i of
// arr. Values are escaped like Hive does (%XX for anything outside a safe
// set), so that no value can produce "..", a slash or a hidden name; DuckDB
// decodes the escapes and, with hive_partitioning, reads the value from the
// directory rather than from the file. NULL is __HIVE_DEFAULT_PARTITION__
// and the empty string an empty value ("col="), which DuckDB reads back as
// NULL and ” respectively. (Spark reads both as NULL.)
func partitionDir(col string, arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return col + "=" + hiveNull
	}
	var v string
	switch a := arr.(type) {
	case *array.String:
		v = a.Value(i)
	case *array.LargeString:
		v = a.Value(i)
	default:
		v = arr.ValueStr(i)
	}
	return col + "=" + escapePartitionValue(v)
}

// maxDirName is the longest file or directory name, in bytes, that common
// file systems allow (NAME_MAX on Linux, and ext4, XFS, APFS and NTFS).
const maxDirName = 255

func escapePartitionValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		safe := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// keySet is the set of key hashes of one file (of its primary key or of
// another set of columns), sorted for binary search.
type keySet []uint64

// newKeySet sorts hashes in place and returns them as a keySet without
// duplicates (values of other columns than the key repeat: many comments
// per issue).
func newKeySet(hashes []uint64) keySet {
	slices.Sort(hashes)
	ks := slices.Compact(hashes)
	if len(ks) < cap(ks)/2 {
		ks = slices.Clone(ks)
	}
	return keySet(ks)
}

func (s keySet) has(h uint64) bool {
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case s[m] < h:
			lo = m + 1
		case s[m] > h:
			hi = m
		default:
			return true
		}
	}
	return false
}

// hasAny reports whether s holds any of hashes. It walks the smaller side.
func (s keySet) hasAny(hashes map[uint64]bool) bool {
	if len(s) < len(hashes) {
		for _, h := range s {
			if hashes[h] {
				return true
			}
		}
		return false
	}
	for h := range hashes {
		if s.has(h) {
			return true
		}
	}
	return false
}
