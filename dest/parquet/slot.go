package parquet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupRows is the maximum number of rows per Parquet row group.
//
// Measured with BenchmarkRowGroupRows: 100k rows of a 45-column
// issues-like table in one file, zstd, CPU time on the 2-core build machine
// (wall time was too noisy on the shared machine):
//
//	rows/group   write rows/cpu-s   file MB   DuckDB query cpu-ms
//	4k           53k                10.24     61
//	16k          75k                 9.77     41
//	64k          85k                 9.64     39
//	256k         83k                 9.65     43
//
// 64k is the best on every measure; larger groups gain nothing while the
// writer buffers a whole row group per open file in memory.
const rowGroupRows = 64 * 1024

// readBatchRows is the batch size used to stream an existing file during a
// rewrite; it bounds the memory of a merge.
const readBatchRows = 16 * 1024

// slot is one (partition, bucket) cell of a table. Each slot has at most
// one live file, at a stable path.
type slot struct {
	partition string // Hive directory "col=value", or ""
	bucket    int
}

func (s slot) less(o slot) bool {
	if s.partition != o.partition {
		return s.partition < o.partition
	}
	return s.bucket < o.bucket
}

// filePath is the path of file seq of slot s.
func (e *tableEntry) filePath(s slot, seq int64) string {
	name := fmt.Sprintf("part-%05d-%06d.parquet", s.bucket, seq)
	if s.partition == "" {
		return path.Join(e.Namespace, e.Name, name)
	}
	return path.Join(e.Namespace, e.Name, s.partition, name)
}

// filesOf returns the files of slot s, oldest first.
func (e *tableEntry) filesOf(s slot) []fileEntry {
	var fs []fileEntry
	for _, f := range e.Files {
		if slotOf(f) == s {
			fs = append(fs, f)
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].Seq < fs[j].Seq })
	return fs
}

// allocSeq returns a new file sequence number of the table.
func (e *tableEntry) allocSeq() int64 {
	s := e.NextSeq
	e.NextSeq++
	return s
}

func slotOf(f fileEntry) slot { return slot{partition: f.Partition, bucket: f.Bucket} }

func (d *Destination) writerProps() (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(d.codec),
		parquet.WithMaxRowGroupLength(d.rowGroupRows),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithAllocator(d.mem),
		parquet.WithCreatedBy("jsync"),
	)
	return props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(d.mem))
}

// slotWriter writes the new content of one file of a slot to _jsync/tmp.
type slotWriter struct {
	d      *Destination
	entry  *tableEntry
	slot   slot
	seq    int64
	path   string // final path
	tmpRel string
	f      *os.File
	buf    *bufio.Writer
	w      *pqarrow.FileWriter
	rows   int64
	hashes []uint64 // key hashes of the written rows, when tracked
	track  bool
	keyer  []string
}

// nopCloser keeps pqarrow from closing the file, so that the slot writer
// can fsync it first.
type nopCloser struct{ io.Writer }

// newSlotWriter starts file seq of slot s: a new file, or the new content
// of an existing one (same seq, so the same path).
func (d *Destination) newSlotWriter(e *tableEntry, s slot, seq int64) (*slotWriter, error) {
	slotWriters.Add(1)
	final := e.filePath(s, seq)
	id := newID()
	rel := path.Join("_jsync", "tmp", id+".parquet")
	f, err := os.OpenFile(relPath(d.root, rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create temporary file for %s: %w", final, err)
	}
	props, aprops := d.writerProps()
	// pqarrow issues many small writes (page headers, pages); buffering
	// them saves a syscall each.
	buf := bufio.NewWriterSize(f, 1<<20)
	w, err := pqarrow.NewFileWriter(e.schema, nopCloser{buf}, props, aprops)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("start parquet file for %s: %w", final, err)
	}
	sw := &slotWriter{d: d, entry: e, slot: s, seq: seq, path: final, tmpRel: rel, f: f, buf: buf, w: w}
	if len(e.PrimaryKey) > 0 {
		sw.track, sw.keyer = true, e.PrimaryKey
	}
	return sw, nil
}

// slotWriters counts the files begun, for the tests.
var slotWriters atomic.Int64

// write appends rec, which must have the entry's schema.
func (w *slotWriter) write(rec arrow.RecordBatch) error {
	if rec.NumRows() == 0 {
		return nil
	}
	if w.track {
		k, err := newKeyer(rec, w.keyer)
		if err != nil {
			return err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			w.hashes = append(w.hashes, hashKey(k.key(i)))
		}
	}
	if err := w.w.WriteBuffered(rec); err != nil {
		return fmt.Errorf("write %s: %w", w.path, err)
	}
	w.rows += rec.NumRows()
	return nil
}

// finish closes and fsyncs the file and returns its manifest entry and the
// rename that moves it into place.
func (w *slotWriter) finish() (fileEntry, rename, error) {
	err := w.w.Close()
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	err = errors.Join(err, w.f.Close())
	if err != nil {
		_ = os.Remove(w.f.Name())
		return fileEntry{}, rename{}, fmt.Errorf("finish %s: %w", w.path, err)
	}
	st, err := os.Stat(w.f.Name())
	if err != nil {
		return fileEntry{}, rename{}, fmt.Errorf("stat %s: %w", w.f.Name(), err)
	}
	fe := fileEntry{
		Path:      w.path,
		Partition: w.slot.partition,
		Bucket:    w.slot.bucket,
		Seq:       w.seq,
		Rows:      w.rows,
		Bytes:     st.Size(),
		ID:        newID(),
	}
	if w.track {
		w.d.cacheKeys(fe.ID, keySetName(w.keyer), newKeySet(w.hashes))
	}
	w.d.crash("wrote " + fe.Path)
	return fe, rename{From: w.tmpRel, To: fe.Path}, nil
}

// abort discards the file.
func (w *slotWriter) abort() {
	_ = w.w.Close()
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// readFile streams the records of a live file, conformed to the entry's
// schema, to fn. fn does not own the record.
func (d *Destination) readFile(ctx context.Context, e *tableEntry, f fileEntry, fn func(arrow.RecordBatch) error) error {
	return d.readFileAs(ctx, e, f, false, fn)
}

// readFileAs is readFile; lossy allows casts that lose values (see
// conformAs), for migrations with AllowIncompatible.
func (d *Destination) readFileAs(ctx context.Context, e *tableEntry, f fileEntry, lossy bool, fn func(arrow.RecordBatch) error) (err error) {
	rdr, err := file.OpenParquetFile(relPath(d.root, f.Path), false)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.Path, err)
	}
	defer func() { err = errors.Join(err, rdr.Close()) }()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: readBatchRows}, d.mem)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec, err := conformAs(ctx, d.mem, rr.RecordBatch(), e.schema, lossy)
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Path, err)
		}
		err = fn(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	return nil
}

// fileKeys returns the hashes of the values of cols (the primary key, or
// the columns MarkDeleted matches by) in each row of a live file, reading
// only those columns the first time. They are cached by file ID and column
// set: files are immutable, and commit drops the entries of a file that
// stops being live.
func (d *Destination) fileKeys(ctx context.Context, e *tableEntry, f fileEntry, cols []string) (keySet, error) {
	set := keySetName(cols)
	d.keysMu.Lock()
	ks, ok := d.keys[f.ID][set]
	d.keysMu.Unlock()
	if ok {
		return ks, nil
	}
	ks = make(keySet, 0, f.Rows)
	err := d.readColumns(ctx, f, cols, func(rec arrow.RecordBatch) error {
		k, err := newKeyer(rec, cols)
		if err != nil {
			return err
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			ks = append(ks, hashKey(k.key(i)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read keys of %s: %w", f.Path, err)
	}
	ks = newKeySet(ks)
	d.cacheKeys(f.ID, set, ks)
	return ks, nil
}

// readColumns reads only the top-level columns cols of a file, as stored
// (not conformed to the table's schema), and passes each batch to fn.
func (d *Destination) readColumns(ctx context.Context, f fileEntry, cols []string, fn func(arrow.RecordBatch) error) (err error) {
	rdr, err := file.OpenParquetFile(relPath(d.root, f.Path), false)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.Path, err)
	}
	defer func() { err = errors.Join(err, rdr.Close()) }()
	idx := make([]int, 0, len(cols))
	for _, c := range cols {
		i := rdr.MetaData().Schema.ColumnIndexByName(c)
		if i < 0 {
			return fmt.Errorf("no column %s", c)
		}
		idx = append(idx, i)
	}
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 64 * 1024}, d.mem)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// keySetName names a column set in the key cache.
func keySetName(cols []string) string { return strings.Join(cols, "\x00") }

func (d *Destination) cacheKeys(id, set string, ks keySet) {
	d.keysMu.Lock()
	m := d.keys[id]
	if m == nil {
		m = map[string]keySet{}
		d.keys[id] = m
	}
	m[set] = ks
	d.keysMu.Unlock()
}

// conform returns rec with exactly the columns of target, matched by name:
// missing columns are NULL, compatible types are cast. A column unknown to
// target is an error (the table needs a migration first).
func conform(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, target *arrow.Schema) (arrow.RecordBatch, error) {
	return conformAs(ctx, mem, rec, target, false)
}

// conformAs is conform; with lossy, values that cannot be cast become NULL
// (see castLossy).
func conformAs(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, target *arrow.Schema, lossy bool) (out arrow.RecordBatch, err error) {
	if rec.Schema() == target {
		rec.Retain()
		return rec, nil
	}
	for _, f := range rec.Schema().Fields() {
		if len(target.FieldIndices(f.Name)) == 0 {
			return nil, fmt.Errorf("column %q is not in the destination table (run a migration first)", f.Name)
		}
	}
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, target.NumFields())
	defer func() {
		if err != nil {
			for _, c := range cols {
				c.Release()
			}
		}
	}()
	cctx := compute.WithAllocator(ctx, mem)
	for _, f := range target.Fields() {
		idx := rec.Schema().FieldIndices(f.Name)
		if len(idx) == 0 {
			cols = append(cols, array.MakeArrayOfNull(mem, f.Type, n))
			continue
		}
		c := rec.Column(idx[0])
		if arrow.TypeEqual(c.DataType(), f.Type) {
			c.Retain()
			cols = append(cols, c)
			continue
		}
		var cast arrow.Array
		if lossy {
			cast, err = castLossy(cctx, mem, c, f.Type)
		} else {
			cast, err = compute.CastArray(cctx, c, compute.SafeCastOptions(f.Type))
		}
		if err != nil {
			return nil, fmt.Errorf("cast column %s from %s to %s: %w", f.Name, c.DataType(), f.Type, err)
		}
		cols = append(cols, cast)
	}
	out = array.NewRecordBatch(target, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	cols = nil
	return out, nil
}

// castLossy casts arr to typ; values that do not convert become NULL. A
// failing range is split in halves until the failing values are isolated,
// so a column with few bad values costs O(bad × log n) casts.
func castLossy(ctx context.Context, mem memory.Allocator, arr arrow.Array, typ arrow.DataType) (arrow.Array, error) {
	out, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(typ))
	if err == nil {
		return out, nil
	}
	if arr.Len() <= 1 {
		return array.MakeArrayOfNull(mem, typ, arr.Len()), nil
	}
	mid := int64(arr.Len() / 2)
	var parts []arrow.Array
	defer func() { releaseAll(parts) }()
	for _, r := range [][2]int64{{0, mid}, {mid, int64(arr.Len())}} {
		s := array.NewSlice(arr, r[0], r[1])
		p, err := castLossy(ctx, mem, s, typ)
		s.Release()
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return array.Concatenate(parts, mem)
}

// takeRows returns the rows of rec at idx (in that order).
func takeRows(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, idx []int64) (arrow.RecordBatch, error) {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(idx, nil)
	ia := b.NewInt64Array()
	defer ia.Release()
	out, err := compute.Take(compute.WithAllocator(ctx, mem), *compute.DefaultTakeOptions(), compute.NewDatumWithoutOwning(rec), compute.NewDatumWithoutOwning(ia))
	if err != nil {
		return nil, fmt.Errorf("select rows: %w", err)
	}
	defer out.Release()
	rd, ok := out.(*compute.RecordDatum)
	if !ok {
		return nil, fmt.Errorf("select rows: unexpected result %s", out.Kind())
	}
	r := rd.Value
	r.Retain()
	return r, nil
}

// writeRuns writes the rows of rec where keep is true, as zero-copy slices
// of contiguous runs.
func writeRuns(w *slotWriter, rec arrow.RecordBatch, keep []bool) error {
	n := len(keep)
	for i := 0; i < n; {
		if !keep[i] {
			i++
			continue
		}
		j := i
		for j < n && keep[j] {
			j++
		}
		var err error
		if i == 0 && j == n {
			err = w.write(rec)
		} else {
			s := rec.NewSlice(int64(i), int64(j))
			err = w.write(s)
			s.Release()
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}
