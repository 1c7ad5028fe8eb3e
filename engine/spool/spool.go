// Package spool keeps an ordered stream of entries (an Arrow record batch
// and/or a few bytes of metadata, each with a caller-defined kind) in a file
// on local disk, to be read back once, in order. The engine stages a
// table's writes in one when a sync loads after its fetch
// (load = "after_fetch"), so that the fetch and the destination's load do
// not hold memory at the same time.
//
// Each entry is framed with its kind, its lengths and a CRC-32C of its
// bytes; a record is one Arrow IPC stream with LZ4-compressed buffers. A
// truncated or damaged file is an error when read, never a silent gap.
package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Kind tells the reader what an entry means; the caller defines its values.
type Kind uint8

// magic opens every spool file, with the format version.
const magic = "JSYNCSP1"

// header is kind (1 byte), meta length (4), record length (8), CRC-32C of
// meta and record (4).
const headerLen = 1 + 4 + 8 + 4

// maxEntry bounds one entry's lengths when read back, so that a damaged
// header fails instead of asking for an absurd allocation.
const maxEntry = 1 << 34

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer appends entries to a new spool file. It is not safe for
// concurrent use.
type Writer struct {
	f     *os.File
	bw    *bufio.Writer
	rec   bytes.Buffer // one record's IPC stream, reused
	mem   memory.Allocator
	n     int64 // entries
	bytes int64 // bytes written, header included
}

// Create makes a new spool file in dir (which must exist); pattern names
// it as in os.CreateTemp. mem allocates the compression buffers.
func Create(dir, pattern string, mem memory.Allocator) (*Writer, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("create spool file: %w", err)
	}
	w := &Writer{f: f, bw: bufio.NewWriterSize(f, 1<<20), mem: mem}
	if _, err := w.bw.WriteString(magic); err != nil {
		return nil, errors.Join(fmt.Errorf("write spool file %s: %w", f.Name(), err), w.Remove())
	}
	w.bytes = int64(len(magic))
	return w, nil
}

// Name is the file's path.
func (w *Writer) Name() string { return w.f.Name() }

// Len is the number of entries appended.
func (w *Writer) Len() int64 { return w.n }

// Size is the number of bytes appended so far.
func (w *Writer) Size() int64 { return w.bytes }

// Append adds an entry. rec may be nil; it stays owned by the caller.
func (w *Writer) Append(kind Kind, rec arrow.RecordBatch, meta []byte) error {
	w.rec.Reset()
	if rec != nil {
		iw := ipc.NewWriter(&w.rec, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(w.mem), ipc.WithLZ4())
		if err := iw.Write(rec); err != nil {
			_ = iw.Close()
			return fmt.Errorf("encode spool entry: %w", err)
		}
		if err := iw.Close(); err != nil {
			return fmt.Errorf("encode spool entry: %w", err)
		}
	}
	var h [headerLen]byte
	h[0] = byte(kind)
	binary.LittleEndian.PutUint32(h[1:], uint32(len(meta)))
	binary.LittleEndian.PutUint64(h[5:], uint64(w.rec.Len()))
	sum := crc32.Update(crc32.Checksum(meta, castagnoli), castagnoli, w.rec.Bytes())
	binary.LittleEndian.PutUint32(h[13:], sum)
	for _, b := range [][]byte{h[:], meta, w.rec.Bytes()} {
		if _, err := w.bw.Write(b); err != nil {
			return fmt.Errorf("write spool file %s: %w", w.f.Name(), err)
		}
	}
	w.n++
	w.bytes += int64(headerLen + len(meta) + w.rec.Len())
	return nil
}

// Reader ends writing and returns a reader from the first entry. The
// Writer must not be used after.
func (w *Writer) Reader(mem memory.Allocator) (*Reader, error) {
	if err := w.bw.Flush(); err != nil {
		return nil, errors.Join(fmt.Errorf("write spool file %s: %w", w.f.Name(), err), w.Remove())
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return nil, errors.Join(fmt.Errorf("rewind spool file %s: %w", w.f.Name(), err), w.Remove())
	}
	r := &Reader{f: w.f, br: bufio.NewReaderSize(w.f, 1<<20), mem: mem}
	var m [len(magic)]byte
	if _, err := io.ReadFull(r.br, m[:]); err != nil || string(m[:]) != magic {
		return nil, errors.Join(fmt.Errorf("read spool file %s: not a spool file", w.f.Name()), r.Close())
	}
	return r, nil
}

// Remove closes the file and deletes it.
func (w *Writer) Remove() error {
	return removeFile(w.f)
}

func removeFile(f *os.File) error {
	cerr := f.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool file: %w", err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return fmt.Errorf("close spool file: %w", cerr)
	}
	return nil
}

// Entry is one entry read back. The caller owns Record (nil when the entry
// had none) and must release it.
type Entry struct {
	Kind   Kind
	Record arrow.RecordBatch
	Meta   []byte
}

// Reader reads a spool file's entries in the order they were appended.
type Reader struct {
	f   *os.File
	br  *bufio.Reader
	mem memory.Allocator
	buf []byte
	n   int64
}

// Next returns the next entry, or io.EOF after the last one.
func (r *Reader) Next() (Entry, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r.br, h[:1]); err != nil {
		if errors.Is(err, io.EOF) {
			return Entry{}, io.EOF
		}
		return Entry{}, r.damaged(err)
	}
	if _, err := io.ReadFull(r.br, h[1:]); err != nil {
		return Entry{}, r.damaged(err)
	}
	metaLen := int64(binary.LittleEndian.Uint32(h[1:]))
	recLen := binary.LittleEndian.Uint64(h[5:])
	if recLen > maxEntry {
		return Entry{}, r.damaged(fmt.Errorf("record length %d", recLen))
	}
	need := metaLen + int64(recLen)
	if int64(cap(r.buf)) < need {
		r.buf = make([]byte, need)
	}
	b := r.buf[:need]
	if _, err := io.ReadFull(r.br, b); err != nil {
		return Entry{}, r.damaged(err)
	}
	if crc32.Checksum(b, castagnoli) != binary.LittleEndian.Uint32(h[13:]) {
		return Entry{}, r.damaged(errors.New("checksum mismatch"))
	}
	e := Entry{Kind: Kind(h[0])}
	if metaLen > 0 {
		e.Meta = bytes.Clone(b[:metaLen])
	}
	if recLen > 0 {
		rec, err := decode(b[metaLen:], r.mem)
		if err != nil {
			return Entry{}, r.damaged(err)
		}
		e.Record = rec
	}
	r.n++
	return e, nil
}

// decode reads the one record of an IPC stream. The record's buffers are
// allocated from mem (the stream's buffers are LZ4-compressed), so they do
// not alias b, which the reader reuses.
func decode(b []byte, mem memory.Allocator) (arrow.RecordBatch, error) {
	ir, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	defer ir.Release()
	if !ir.Next() {
		if err := ir.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("entry holds no record")
	}
	rec := ir.RecordBatch()
	rec.Retain()
	return rec, nil
}

func (r *Reader) damaged(err error) error {
	return fmt.Errorf("read spool file %s: entry %d is damaged: %w", r.f.Name(), r.n+1, err)
}

// Close closes the file and deletes it.
func (r *Reader) Close() error {
	return removeFile(r.f)
}
