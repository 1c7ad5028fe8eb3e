package parquet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// groupRows and groupBytes bound what Write buffers before it commits
// without a state. A batch that carries a state always commits at once
// (with every row before it), so they only bound memory and how often the
// same files are rewritten. Every table being written holds up to a group,
// so the bytes bound the destination's memory: with the benchmark's
// dataset (23 tables, issues with their raw fields), peak RSS and wall
// time of whole syncs by group bytes, one or two runs each on 2 cores:
//
//	group    50,000 issues               200,000 issues
//	64 MiB   842, 869 MB; 41.4, 41.6 s   1,184 MB; 189.8 s
//	32 MiB   749 MB; 41.6 s
//	16 MiB   611, 569 MB; 34.5, 37.1 s   845 MB; 167.3 s
//	8 MiB    514 MB; 44.1 s (57.1 s of user CPU, 46.1 and 47.0 s at 16 MiB)
//
// Smaller groups write smaller files that the slots' merges rewrite
// (308-328 files in the end at 16 MiB, 376 at 64 MiB); below 16 MiB the
// merges cost more CPU than the memory saves.
const (
	groupRows  = 128 * 1024
	groupBytes = 16 << 20
)

// Write upserts the batches by primary key. Rows accumulate until a batch
// carries a state (or groupRows or groupBytes are buffered); then they are
// applied (see upsert) and committed with the state in one manifest swap.
// Write owns the records it receives and releases them, also on error; on
// error or cancellation it returns without draining batches, and rows not
// yet committed are dropped with no state advanced.
func (d *Destination) Write(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (stats dest.WriteStats, err error) {
	defer d.tableLock(tableKey(ns, t.Name))()
	var (
		pending     []arrow.RecordBatch
		rows, bytes int64
	)
	release := func() {
		for _, r := range pending {
			r.Release()
		}
		pending, rows, bytes = nil, 0, 0
	}
	defer release()
	flush := func(st *state.TableState) error {
		if len(pending) == 0 && st == nil {
			return nil
		}
		s, err := d.upsert(ctx, ns, t, pending, st)
		release()
		stats.Inserted += s.Inserted
		stats.Updated += s.Updated
		return err
	}
	for {
		var (
			b  dest.Batch
			ok bool
		)
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case b, ok = <-batches:
		}
		if !ok {
			return stats, flush(nil)
		}
		if b.Record != nil {
			if err := dest.CheckRecord(t, b.Record); err != nil {
				b.Record.Release()
				err = fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
				b.Answer(err)
				return stats, err
			}
			pending = append(pending, b.Record)
			rows += b.Record.NumRows()
			bytes += dest.RecordBytes(b.Record)
		}
		if b.State != nil || b.Flushed != nil || rows >= d.groupRows || bytes >= d.groupBytes {
			err := flush(b.State)
			b.Answer(err)
			if err != nil {
				return stats, err
			}
		}
	}
}

// ensureTable returns the table's entry, creating the table (with an empty
// placeholder file, so that a glob reader sees its schema) when it is new.
func (d *Destination) ensureTable(ctx context.Context, ns string, t *schema.Table) (*tableEntry, error) {
	if e := d.table(ns, t.Name); e != nil {
		return e, nil
	}
	e, err := d.newEntry(ns, t)
	if err != nil {
		return nil, err
	}
	req := commitReq{tables: []*tableEntry{e}}
	defer d.discard(&req)
	if err := d.placeholder(e, &req); err != nil {
		return nil, err
	}
	if err := d.commit(ctx, &req); err != nil {
		return nil, fmt.Errorf("create table %s.%s: %w", ns, t.Name, err)
	}
	return d.table(ns, t.Name), nil
}

func (d *Destination) newEntry(ns string, t *schema.Table) (*tableEntry, error) {
	e := &tableEntry{Namespace: ns, Name: t.Name, PrimaryKey: t.PrimaryKey(), PartitionBy: d.opts.PartitionBy[t.Name], Buckets: 1}
	if e.PartitionBy != "" {
		c := t.Column(e.PartitionBy)
		if c == nil {
			return nil, fmt.Errorf("table %s: partition column %q does not exist", t.Name, e.PartitionBy)
		}
		if err := dest.CheckPartitionType(c.Type); err != nil {
			return nil, fmt.Errorf("table %s: %s: %w", t.Name, c.Name, err)
		}
	}
	// Unpartitioned incremental tables are split into buckets so that an
	// upsert rewrites only the files its keys fall into. A single integer
	// key gets key ranges: ids grow over time and recent issues change
	// most, so a run touches few ranges. So does a single text key whose
	// values are decimal numbers, as Jira's ids are (issues.id,
	// issue_comments.id, ...): its other values go to hash buckets (see
	// bucket). Other keys get hash buckets. Partitioned tables keep one
	// file per partition: ids are spread over partitions, and ranges would
	// make many tiny files.
	if e.PartitionBy == "" && t.Replication == schema.Incremental && len(e.PrimaryKey) > 0 {
		pk := t.Column(e.PrimaryKey[0])
		ranged := len(e.PrimaryKey) == 1 && (isRangeKey(pk.Type) || isTextKey(pk.Type)) && d.opts.BucketWidth >= 0
		if ranged {
			e.BucketWidth = d.opts.BucketWidth
			if e.BucketWidth == 0 {
				e.BucketWidth = DefaultBucketWidth
			}
		}
		if !ranged || isTextKey(pk.Type) {
			e.Buckets = d.opts.Buckets
			if e.Buckets == 0 {
				e.Buckets = DefaultBuckets
			}
		}
	}
	if err := e.setSchema(t.ArrowSchema()); err != nil {
		return nil, err
	}
	return e, nil
}

func isRangeKey(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT64, arrow.INT32, arrow.INT16, arrow.INT8, arrow.UINT32, arrow.UINT16, arrow.UINT8:
		return true
	}
	return false
}

func isTextKey(t arrow.DataType) bool {
	return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING
}

// placeholder adds an empty file to a table that has none, so that
// read_parquet on its glob finds the schema instead of "no files found".
func (d *Destination) placeholder(e *tableEntry, req *commitReq) error {
	if len(e.Files) > 0 {
		return nil
	}
	w, err := d.newSlotWriter(e, slot{}, e.allocSeq())
	if err != nil {
		return err
	}
	fe, rn, err := w.finish()
	if err != nil {
		return err
	}
	e.Files = append(e.Files, fe)
	req.renames = append(req.renames, rn)
	return nil
}

// rowRef points at one row of one of the records of a group.
type rowRef struct {
	rec  int
	row  int
	slot slot
	key  string // encoded primary key ("" for tables without one)
	hash uint64 // hashKey(key)
}

// keyedRows is a deduplicated group of rows: the last row per key wins.
type keyedRows struct {
	recs []arrow.RecordBatch // conformed to the entry schema
	// missing lists, per record, the entry columns the input lacked. On
	// update such a column keeps its old value (see fillMissing).
	missing [][]int
	last    map[string]rowRef // by encoded key; nil for tables without key
	hashes  map[uint64]bool   // hashes of the keys
	bySlot  map[slot][]rowRef // winning rows per target slot, in order
}

func (k *keyedRows) release() {
	for _, r := range k.recs {
		r.Release()
	}
}

// keyRows conforms recs to the entry schema and assigns each row its slot.
func (d *Destination) keyRows(ctx context.Context, e *tableEntry, recs []arrow.RecordBatch) (*keyedRows, error) {
	k := &keyedRows{bySlot: map[slot][]rowRef{}}
	if len(e.PrimaryKey) > 0 {
		k.last = map[string]rowRef{}
	}
	var order []rowRef // rows of keyless tables, in order
	for ri, r := range recs {
		var miss []int
		for fi, f := range e.schema.Fields() {
			if len(r.Schema().FieldIndices(f.Name)) == 0 {
				if f.Name == e.PartitionBy {
					k.release()
					return nil, fmt.Errorf("record lacks the partition column %s", f.Name)
				}
				miss = append(miss, fi)
			}
		}
		c, err := conform(ctx, d.mem, r, e.schema)
		if err != nil {
			k.release()
			return nil, err
		}
		k.recs = append(k.recs, c)
		k.missing = append(k.missing, miss)
		var part arrow.Array
		if e.PartitionBy != "" {
			part = c.Column(e.schema.FieldIndices(e.PartitionBy)[0])
		}
		var kr *keyer
		if k.last != nil {
			if kr, err = newKeyer(c, e.PrimaryKey); err != nil {
				k.release()
				return nil, err
			}
		}
		for i := 0; i < int(c.NumRows()); i++ {
			ref := rowRef{rec: ri, row: i}
			if part != nil {
				ref.slot.partition = partitionDir(e.PartitionBy, part, i)
				if len(ref.slot.partition) > maxDirName {
					k.release()
					return nil, fmt.Errorf("partition_by %s: a value is %d bytes as a directory name (%s…), over the %d that file systems allow (each byte outside A-Z, a-z, 0-9, '-', '_' and '.' takes 3): partition %s by a column with shorter values, such as an id",
						e.PartitionBy, len(ref.slot.partition), ref.slot.partition[:60], maxDirName, e.Name)
				}
			}
			if kr == nil {
				order = append(order, ref)
				continue
			}
			key := kr.key(i)
			ref.key, ref.hash = string(key), hashKey(key)
			ref.slot.bucket = e.bucket(kr, i, ref.hash)
			k.last[ref.key] = ref
		}
	}
	if k.last != nil {
		for _, ref := range k.last {
			order = append(order, ref)
		}
		sort.Slice(order, func(i, j int) bool {
			if order[i].rec != order[j].rec {
				return order[i].rec < order[j].rec
			}
			return order[i].row < order[j].row
		})
	}
	for _, ref := range order {
		k.bySlot[ref.slot] = append(k.bySlot[ref.slot], ref)
	}
	return k, nil
}

// writeNewRows appends the group's rows for one slot to w.
func (d *Destination) writeNewRows(ctx context.Context, w *slotWriter, k *keyedRows, refs []rowRef) error {
	for i := 0; i < len(refs); {
		j := i
		var idx []int64
		for j < len(refs) && refs[j].rec == refs[i].rec {
			idx = append(idx, int64(refs[j].row))
			j++
		}
		rec := k.recs[refs[i].rec]
		var err error
		if len(idx) == int(rec.NumRows()) {
			err = w.write(rec)
		} else {
			var sel arrow.RecordBatch
			if sel, err = takeRows(ctx, d.mem, rec, idx); err == nil {
				err = w.write(sel)
				sel.Release()
			}
		}
		if err != nil {
			return err
		}
		i = j
	}
	return nil
}

// upsert merges recs into the table and commits them with st.
//
// A key that exists is updated in place: the file holding it (found by the
// files' key hashes) is rewritten with the new row. New keys go to one new
// file per slot, so inserting costs only the new rows. A key that moved to
// another partition is removed from its old file and inserted in the new
// slot. Slots that collect too many files are compacted afterwards.
func (d *Destination) upsert(ctx context.Context, ns string, t *schema.Table, recs []arrow.RecordBatch, st *state.TableState) (stats dest.WriteStats, err error) {
	e, err := d.ensureTable(ctx, ns, t)
	if err != nil {
		return stats, err
	}
	k, err := d.keyRows(ctx, e, recs)
	if err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	defer k.release()

	// Find the files holding the group's keys. A key's old copy is in its
	// target bucket, in any partition (it may have moved).
	home := map[string]string{} // key → path of the file in its target slot that holds it
	touched := map[string]fileEntry{}
	if k.last != nil {
		byBucket := map[int][]rowRef{}
		for _, ref := range k.last {
			byBucket[ref.slot.bucket] = append(byBucket[ref.slot.bucket], ref)
		}
		for _, f := range e.Files {
			refs := byBucket[f.Bucket]
			if f.Rows == 0 || len(refs) == 0 {
				continue
			}
			ks, err := d.fileKeys(ctx, e, f, e.PrimaryKey)
			if err != nil {
				return stats, err
			}
			for _, ref := range refs {
				if !ks.has(ref.hash) {
					continue
				}
				touched[f.Path] = f
				if _, ok := home[ref.key]; !ok && slotOf(f) == ref.slot {
					home[ref.key] = f.Path
				}
			}
		}
	}
	// The rows each touched file gets back, and the new keys per slot.
	inPlace := map[string][]rowRef{}
	fresh := map[slot][]rowRef{}
	for s, refs := range k.bySlot {
		for _, ref := range refs {
			if p, ok := home[ref.key]; ok {
				inPlace[p] = append(inPlace[p], ref)
			} else {
				fresh[s] = append(fresh[s], ref)
			}
		}
	}
	var old []fileEntry
	for _, f := range touched {
		old = append(old, f)
	}
	sortFiles(old)
	if err := d.fillMissing(ctx, e, k, old); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}

	next := e.clone()
	req := commitReq{}
	if st != nil {
		req.states = []*state.TableState{st}
	}
	var w *slotWriter
	defer func() {
		if w != nil {
			w.abort()
		}
		d.discard(&req)
	}()
	replaced := map[string]*fileEntry{} // old path → new content (nil: emptied)
	var updated int64
	for _, f := range old {
		if w, err = d.newSlotWriter(e, slotOf(f), f.Seq); err != nil {
			return stats, err
		}
		err := d.readFile(ctx, e, f, func(rec arrow.RecordBatch) error {
			keep := make([]bool, rec.NumRows())
			kr, err := newKeyer(rec, e.PrimaryKey)
			if err != nil {
				return err
			}
			for i := range keep {
				_, replaced := k.last[string(kr.key(i))]
				keep[i] = !replaced
				if replaced {
					updated++
				}
			}
			return writeRuns(w, rec, keep)
		})
		if err != nil {
			return stats, fmt.Errorf("write %s.%s: rewrite %s: %w", ns, t.Name, f.Path, err)
		}
		if err := d.writeNewRows(ctx, w, k, sortRefs(inPlace[f.Path])); err != nil {
			return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
		}
		fe, err := d.finishOrDrop(w, &req)
		w = nil
		if err != nil {
			return stats, err
		}
		replaced[f.Path] = fe
	}
	next.Files = next.Files[:0]
	for _, f := range e.Files {
		fe, ok := replaced[f.Path]
		switch {
		case !ok:
			next.Files = append(next.Files, f)
		case fe != nil:
			next.Files = append(next.Files, *fe)
		default:
			req.remove = append(req.remove, f.Path) // emptied: its rows moved away
		}
	}
	slots := make([]slot, 0, len(fresh))
	for s := range fresh {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].less(slots[j]) })
	for _, s := range slots {
		if w, err = d.newSlotWriter(next, s, next.allocSeq()); err != nil {
			return stats, err
		}
		if err := d.writeNewRows(ctx, w, k, fresh[s]); err != nil {
			return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
		}
		fe, err := d.finishOrDrop(w, &req)
		w = nil
		if err != nil {
			return stats, err
		}
		if fe != nil {
			next.Files = append(next.Files, *fe)
		}
	}
	if err := d.settleEmpty(next, &req); err != nil {
		return stats, err
	}
	sortFiles(next.Files)
	req.tables = []*tableEntry{next}
	if err := d.commit(ctx, &req); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	rowsOut := int64(0)
	for _, refs := range k.bySlot {
		rowsOut += int64(len(refs))
	}
	stats.Updated = updated
	stats.Inserted = rowsOut - updated
	if err := d.compact(ctx, next); err != nil {
		return stats, fmt.Errorf("write %s.%s: %w", ns, t.Name, err)
	}
	return stats, nil
}

func sortRefs(refs []rowRef) []rowRef {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].rec != refs[j].rec {
			return refs[i].rec < refs[j].rec
		}
		return refs[i].row < refs[j].row
	})
	return refs
}

// finishOrDrop finishes w and adds its rename to req, or discards it when
// it has no rows (nil entry).
func (d *Destination) finishOrDrop(w *slotWriter, req *commitReq) (*fileEntry, error) {
	if w.rows == 0 {
		w.abort()
		return nil, nil
	}
	fe, rn, err := w.finish()
	if err != nil {
		return nil, err
	}
	req.renames = append(req.renames, rn)
	return &fe, nil
}

// settleEmpty keeps a table's glob readable with the fewest files: empty
// files are removed once the table has rows, and a table without files
// gets an empty one.
func (d *Destination) settleEmpty(e *tableEntry, req *commitReq) error {
	hasRows := false
	for _, f := range e.Files {
		hasRows = hasRows || f.Rows > 0
	}
	if hasRows {
		kept := e.Files[:0]
		for _, f := range e.Files {
			if f.Rows == 0 {
				req.remove = append(req.remove, f.Path)
				continue
			}
			kept = append(kept, f)
		}
		e.Files = kept
	}
	return d.placeholder(e, req)
}

func sortFiles(fs []fileEntry) {
	sort.Slice(fs, func(i, j int) bool {
		si, sj := slotOf(fs[i]), slotOf(fs[j])
		if si != sj {
			return si.less(sj)
		}
		return fs[i].Seq < fs[j].Seq
	})
}

// maxSlotFiles is how many files a slot may collect before compact merges
// the newest ones.
const maxSlotFiles = 8

// compact merges files of slots that have more than maxSlotFiles, size
// tiered: the newest files are merged, extended to older files while their
// total is at least the next older file, so file sizes shrink from old to
// new and a row is rewritten only when its file is small compared with the
// data that arrived after it. The merged file takes the path
// of the oldest merged file and the others are removed after it; during
// those renames a glob reader can see the merged rows twice.
func (d *Destination) compact(ctx context.Context, e *tableEntry) (err error) {
	bySlot := map[slot][]fileEntry{}
	for _, f := range e.Files {
		bySlot[slotOf(f)] = append(bySlot[slotOf(f)], f)
	}
	next := e.clone()
	req := commitReq{}
	defer d.discard(&req)
	merged := map[string]bool{}
	for s, fs := range bySlot {
		if len(fs) <= maxSlotFiles {
			continue
		}
		sort.Slice(fs, func(i, j int) bool { return fs[i].Seq < fs[j].Seq })
		n := len(fs)
		i := n - 2
		total := fs[n-1].Rows + fs[n-2].Rows
		for i > 0 && total >= fs[i-1].Rows {
			total += fs[i-1].Rows
			i--
		}
		w, err := d.newSlotWriter(e, s, fs[i].Seq)
		if err != nil {
			return err
		}
		for _, f := range fs[i:] {
			if err := d.readFile(ctx, e, f, w.write); err != nil {
				w.abort()
				return fmt.Errorf("compact %s: %w", f.Path, err)
			}
			merged[f.Path] = true
		}
		fe, rn, err := w.finish()
		if err != nil {
			return err
		}
		req.renames = append(req.renames, rn)
		for j, f := range next.Files {
			if f.Path == fe.Path {
				next.Files[j] = fe
			}
		}
		for _, f := range fs[i+1:] {
			req.remove = append(req.remove, f.Path)
		}
	}
	if len(req.renames) == 0 {
		return nil
	}
	kept := next.Files[:0]
	for _, f := range next.Files {
		if merged[f.Path] && !slices.ContainsFunc(req.renames, func(r rename) bool { return r.To == f.Path }) {
			continue
		}
		kept = append(kept, f)
	}
	next.Files = kept
	req.tables = []*tableEntry{next}
	return d.commit(ctx, &req)
}

// Replace writes the batches as the table's new content and swaps it in
// with one manifest commit; files of slots that no longer exist are removed
// after the commit. Duplicate keys among the batches keep the last row.
func (d *Destination) Replace(ctx context.Context, ns dest.Namespace, t *schema.Table, batches <-chan dest.Batch) (stats dest.WriteStats, err error) {
	defer d.tableLock(tableKey(ns, t.Name))()
	e, err := d.ensureTable(ctx, ns, t)
	if err != nil {
		return stats, err
	}
	// A slot's new file takes the path of its oldest old file, so that one
	// rename swaps old content for new; a new slot gets a new file.
	next := e.clone()
	if want := d.opts.PartitionBy[t.Name]; want != e.PartitionBy {
		// Partitioning is fixed when a table is created; a replace, which
		// rewrites everything anyway, adopts a changed configuration.
		fresh, err := d.newEntry(ns, t)
		if err != nil {
			return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
		}
		next.PartitionBy, next.Buckets, next.BucketWidth = fresh.PartitionBy, fresh.Buckets, fresh.BucketWidth
	}
	seqOf := func(s slot) int64 {
		if fs := e.filesOf(s); len(fs) > 0 {
			return fs[0].Seq
		}
		return next.allocSeq()
	}
	type pos struct {
		slot slot
		row  int64
	}
	var (
		writers = map[slot]*slotWriter{}
		last    = map[string]pos{}
		dirty   = map[slot]bool{}
		st      *state.TableState
	)
	defer func() {
		for _, w := range writers {
			w.abort()
		}
	}()
	consume := func(rec arrow.RecordBatch) error {
		defer rec.Release()
		if err := dest.CheckRecord(t, rec); err != nil {
			return err
		}
		k, err := d.keyRows(ctx, next, []arrow.RecordBatch{rec})
		if err != nil {
			return err
		}
		defer k.release()
		for s, refs := range k.bySlot {
			w := writers[s]
			if w == nil {
				if w, err = d.newSlotWriter(e, s, seqOf(s)); err != nil {
					return err
				}
				writers[s] = w
			}
			if k.last != nil {
				kr, err := newKeyer(k.recs[0], e.PrimaryKey)
				if err != nil {
					return err
				}
				for j, ref := range refs {
					key := string(kr.key(ref.row))
					if p, ok := last[key]; ok {
						dirty[p.slot] = true
					}
					last[key] = pos{slot: s, row: w.rows + int64(j)}
				}
			}
			if err := d.writeNewRows(ctx, w, k, refs); err != nil {
				return err
			}
		}
		return nil
	}
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case b, ok := <-batches:
			if !ok {
				done = true
				break
			}
			if b.State != nil {
				st = b.State
			}
			if b.Record != nil {
				if err := consume(b.Record); err != nil {
					return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
				}
			}
		}
	}

	req := commitReq{}
	if st != nil {
		req.states = []*state.TableState{st}
	}
	defer d.discard(&req)
	next.Files = nil
	live := map[string]bool{}
	slots := make([]slot, 0, len(writers))
	for s := range writers {
		slots = append(slots, s)
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].less(slots[j]) })
	for _, s := range slots {
		w := writers[s]
		delete(writers, s)
		fe, rn, err := w.finish()
		if err != nil {
			return stats, err
		}
		if dirty[s] {
			// Drop rows that a later batch replaced.
			if fe, rn, err = d.dedupe(ctx, e, fe, rn, func(key string, row int64) bool {
				p := last[key]
				return p.slot == s && p.row == row
			}); err != nil {
				return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
			}
		}
		next.Files = append(next.Files, fe)
		req.renames = append(req.renames, rn)
		live[fe.Path] = true
		stats.Inserted += fe.Rows
	}
	// As DuckDB counts: rows whose key was stored are updated, the other
	// new rows inserted, and the stored rows whose key is gone deleted.
	var oldKeys []keySet
	for _, f := range e.Files {
		if !live[f.Path] {
			req.remove = append(req.remove, f.Path)
		}
		stats.Deleted += f.Rows
		if f.Rows > 0 && len(last) > 0 {
			ks, err := d.fileKeys(ctx, e, f, e.PrimaryKey)
			if err != nil {
				return dest.WriteStats{}, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
			}
			oldKeys = append(oldKeys, ks)
		}
	}
	for key := range last {
		h := hashKey([]byte(key))
		if slices.ContainsFunc(oldKeys, func(ks keySet) bool { return ks.has(h) }) {
			stats.Updated++
		}
	}
	stats.Inserted -= stats.Updated
	stats.Deleted -= stats.Updated
	if err := d.settleEmpty(next, &req); err != nil {
		return stats, err
	}
	sortFiles(next.Files)
	req.tables = []*tableEntry{next}
	if err := d.commit(ctx, &req); err != nil {
		return stats, fmt.Errorf("replace %s.%s: %w", ns, t.Name, err)
	}
	return stats, nil
}

// dedupe rewrites a finished temporary file keeping only rows for which
// keep(key, row) is true.
func (d *Destination) dedupe(ctx context.Context, e *tableEntry, fe fileEntry, rn rename, keep func(key string, row int64) bool) (fileEntry, rename, error) {
	w, err := d.newSlotWriter(e, slotOf(fe), fe.Seq)
	if err != nil {
		return fe, rn, err
	}
	src := fileEntry{Path: rn.From, Rows: fe.Rows}
	var row int64
	err = d.readFile(ctx, e, src, func(rec arrow.RecordBatch) error {
		kr, err := newKeyer(rec, e.PrimaryKey)
		if err != nil {
			return err
		}
		mask := make([]bool, rec.NumRows())
		for i := range mask {
			mask[i] = keep(string(kr.key(i)), row)
			row++
		}
		return writeRuns(w, rec, mask)
	})
	_ = os.Remove(relPath(d.root, rn.From))
	if err != nil {
		w.abort()
		return fe, rn, err
	}
	return w.finish()
}

// errStopRead ends a read early.
var errStopRead = errors.New("stop reading")

// MarkDeleted sets ColDeletedAt=at on the rows keys selects that are not
// marked yet, rewriting only the files that hold them, and commits st with
// them. keys selects by primary key when it carries exactly the key
// columns: only the files of the keys' buckets are considered. Otherwise
// it selects the rows equal to a keys row in every column keys has (see
// dest.MatchColumns): every file is considered, and the hashes of its match
// columns, read once per file and column set, tell whether it has a hit.
// Unknown keys are ignored; keys may be nil (then only st is committed).
// keys stays owned by the caller.
func (d *Destination) MarkDeleted(ctx context.Context, ns dest.Namespace, t *schema.Table, keys arrow.RecordBatch, m dest.Mark, st *state.TableState) (n int64, err error) {
	defer d.tableLock(tableKey(ns, t.Name))()
	e, err := d.ensureTable(ctx, ns, t)
	if err != nil {
		return 0, err
	}
	delIdx := e.schema.FieldIndices(schema.ColDeletedAt)
	if len(delIdx) != 1 {
		return 0, fmt.Errorf("mark deleted in %s.%s: table has no %s column", ns, t.Name, schema.ColDeletedAt)
	}
	delType, ok := e.schema.Field(delIdx[0]).Type.(*arrow.TimestampType)
	if !ok {
		return 0, fmt.Errorf("mark deleted in %s.%s: %s is %s, not a timestamp", ns, t.Name, schema.ColDeletedAt, e.schema.Field(delIdx[0]).Type)
	}
	stamp, err := arrow.TimestampFromTime(m.At.UTC(), delType.Unit)
	if err != nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
	}
	// With m.SyncedBefore, rows synced at or after it are left alone.
	syncIdx, before := -1, arrow.Timestamp(0)
	if !m.SyncedBefore.IsZero() {
		idx := e.schema.FieldIndices(schema.ColSyncedAt)
		if len(idx) != 1 {
			return 0, fmt.Errorf("mark deleted in %s.%s: table has no %s column", ns, t.Name, schema.ColSyncedAt)
		}
		sType, ok := e.schema.Field(idx[0]).Type.(*arrow.TimestampType)
		if !ok {
			return 0, fmt.Errorf("mark deleted in %s.%s: %s is not a timestamp", ns, t.Name, schema.ColSyncedAt)
		}
		if before, err = arrow.TimestampFromTime(m.SyncedBefore.UTC(), sType.Unit); err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
		syncIdx = idx[0]
	}
	var cols []string // the columns rows are matched by
	byKey := false
	if keys != nil {
		if cols, byKey, err = matchColumns(e, t, keys); err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
	}
	want := map[string]bool{}
	hashes := map[uint64]bool{}
	buckets := map[int]bool{}
	if keys != nil && keys.NumRows() > 0 {
		kr, err := newKeyer(keys, cols)
		if err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
		for i := 0; i < int(keys.NumRows()); i++ {
			if !byKey && kr.hasNull(i) {
				continue // NULL matches nothing
			}
			key := kr.key(i)
			h := hashKey(key)
			want[string(key)] = true
			hashes[h] = true
			if byKey {
				buckets[e.bucket(kr, i, h)] = true
			}
		}
	}

	// hit reports whether row i, whose match columns are key, is marked:
	// not marked yet (the first deletion time wins), and, with
	// m.SyncedBefore, not written by the current run.
	hit := func(key []byte, del arrow.Array, synced *array.Timestamp, i int) bool {
		return del.IsNull(i) && want[string(key)] && (synced == nil || !synced.IsNull(i) && synced.Value(i) < before)
	}
	// anyHit reads only the columns hit needs: most calls (the stale
	// children of re-read issues) mark nothing in most files they might,
	// and a file is rewritten only for a row to mark. ok is false when the
	// stored columns do not have the table's types (a file from before a
	// migration): the rewrite then decides.
	anyHit := func(f fileEntry) (found, ok bool, err error) {
		read := append(slices.Clone(cols), schema.ColDeletedAt)
		if syncIdx >= 0 {
			read = append(read, schema.ColSyncedAt)
		}
		ok = true
		err = d.readColumns(ctx, f, read, func(rec arrow.RecordBatch) error {
			rk, err := newKeyer(rec, cols)
			if err != nil {
				return err
			}
			// By name: the reader may order the columns as the file does.
			del := rec.Column(rec.Schema().FieldIndices(schema.ColDeletedAt)[0])
			var synced *array.Timestamp
			if syncIdx >= 0 {
				col := rec.Column(rec.Schema().FieldIndices(schema.ColSyncedAt)[0])
				if !arrow.TypeEqual(col.DataType(), e.schema.Field(syncIdx).Type) {
					ok = false
					return errStopRead
				}
				synced = col.(*array.Timestamp)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				if hit(rk.key(i), del, synced, i) {
					found = true
					return errStopRead
				}
			}
			return nil
		})
		if errors.Is(err, errStopRead) {
			err = nil
		}
		return found, ok, err
	}

	req := commitReq{}
	if st != nil {
		req.states = []*state.TableState{st}
	}
	defer d.discard(&req)
	next := e.clone()
	for fi, f := range e.Files {
		if f.Rows == 0 || len(hashes) == 0 || byKey && !buckets[f.Bucket] {
			continue
		}
		ks, err := d.fileKeys(ctx, e, f, cols)
		if err != nil {
			return 0, err
		}
		if !ks.hasAny(hashes) {
			continue
		}
		if found, ok, err := anyHit(f); err != nil {
			return 0, fmt.Errorf("mark deleted in %s.%s: read %s: %w", ns, t.Name, f.Path, err)
		} else if ok && !found {
			continue
		}
		w, err := d.newSlotWriter(e, slotOf(f), f.Seq)
		if err != nil {
			return 0, err
		}
		var marked int64
		// The slot writer tracks the primary-key hashes of the new file;
		// the hashes of other match columns are gathered here.
		var colHashes []uint64
		if !byKey {
			colHashes = make([]uint64, 0, f.Rows)
		}
		err = d.readFile(ctx, e, f, func(rec arrow.RecordBatch) error {
			rk, err := newKeyer(rec, cols)
			if err != nil {
				return err
			}
			var match []bool
			del := rec.Column(delIdx[0])
			var synced *array.Timestamp
			if syncIdx >= 0 {
				synced, _ = rec.Column(syncIdx).(*array.Timestamp)
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				key := rk.key(i)
				if !byKey {
					colHashes = append(colHashes, hashKey(key))
				}
				if hit(key, del, synced, i) {
					if match == nil {
						match = make([]bool, rec.NumRows())
					}
					match[i] = true
					marked++
				}
			}
			if match == nil {
				return w.write(rec)
			}
			out := withDeletedAt(d, rec, delIdx[0], match, stamp)
			defer out.Release()
			return w.write(out)
		})
		if err != nil {
			w.abort()
			return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
		}
		if marked == 0 {
			w.abort()
			continue
		}
		fe, rn, err := w.finish()
		if err != nil {
			return 0, err
		}
		if !byKey {
			d.cacheKeys(fe.ID, keySetName(cols), newKeySet(colHashes))
		}
		next.Files[fi] = fe
		req.renames = append(req.renames, rn)
		n += marked
	}
	if len(req.renames) == 0 && st == nil {
		return 0, nil
	}
	req.tables = []*tableEntry{next}
	if err := d.commit(ctx, &req); err != nil {
		return 0, fmt.Errorf("mark deleted in %s.%s: %w", ns, t.Name, err)
	}
	return n, nil
}

// matchColumns checks a MarkDeleted record (see dest.MatchColumns) and
// returns the columns it matches rows by and whether they are the primary
// key. Every column must be in the table's files with the record's type.
func matchColumns(e *tableEntry, t *schema.Table, keys arrow.RecordBatch) ([]string, bool, error) {
	cols, byKey, err := dest.MatchColumns(t, keys)
	if err != nil {
		return nil, false, err
	}
	if byKey {
		if slices.Equal(cols, e.PrimaryKey) {
			return cols, true, nil
		}
		// The definition's key is not the stored one: match by value.
		cols = slices.Sorted(slices.Values(cols))
	}
	for _, c := range cols {
		idx := e.schema.FieldIndices(c)
		if len(idx) == 0 {
			return nil, false, fmt.Errorf("column %q is not in the destination table (run a migration first)", c)
		}
		want := keys.Schema().Field(keys.Schema().FieldIndices(c)[0]).Type
		if have := e.schema.Field(idx[0]).Type; !arrow.TypeEqual(have, want) {
			return nil, false, fmt.Errorf("column %s is %s in the destination table, %s in the record (run a migration first)", c, have, want)
		}
	}
	return cols, false, nil
}

// withDeletedAt returns rec with column col set to stamp where match.
func withDeletedAt(d *Destination, rec arrow.RecordBatch, col int, match []bool, stamp arrow.Timestamp) arrow.RecordBatch {
	old := rec.Column(col).(*array.Timestamp)
	b := array.NewTimestampBuilder(d.mem, old.DataType().(*arrow.TimestampType))
	defer b.Release()
	b.Reserve(old.Len())
	for i := 0; i < old.Len(); i++ {
		switch {
		case match[i]:
			b.Append(stamp)
		case old.IsNull(i):
			b.AppendNull()
		default:
			b.Append(old.Value(i))
		}
	}
	arr := b.NewArray()
	defer arr.Release()
	cols := make([]arrow.Array, rec.NumCols())
	copy(cols, rec.Columns())
	cols[col] = arr
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

// fillMissing gives the columns a record lacked their old values, for rows
// that update an existing key: a record with a subset of the columns
// leaves the others unchanged. It reads the old rows from files, the
// files that hold the group's keys.
func (d *Destination) fillMissing(ctx context.Context, e *tableEntry, k *keyedRows, files []fileEntry) (err error) {
	want := map[string]bool{}
	for key, ref := range k.last {
		if len(k.missing[ref.rec]) > 0 {
			want[key] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	type oldRef struct{ rec, row int }
	var olds []arrow.RecordBatch
	defer func() {
		for _, r := range olds {
			r.Release()
		}
	}()
	found := map[string]oldRef{}
	for _, f := range files {
		err := d.readFile(ctx, e, f, func(rec arrow.RecordBatch) error {
			kr, err := newKeyer(rec, e.PrimaryKey)
			if err != nil {
				return err
			}
			var idx []int64
			var keys []string
			for i := 0; i < int(rec.NumRows()); i++ {
				if key := string(kr.key(i)); want[key] {
					idx = append(idx, int64(i))
					keys = append(keys, key)
				}
			}
			if len(idx) == 0 {
				return nil
			}
			sel, err := takeRows(ctx, d.mem, rec, idx)
			if err != nil {
				return err
			}
			olds = append(olds, sel)
			for j, key := range keys {
				found[key] = oldRef{rec: len(olds) - 1, row: j}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read old values from %s: %w", f.Path, err)
		}
	}
	if len(olds) == 0 {
		return nil
	}
	offsets := make([]int64, len(olds))
	for i := 1; i < len(olds); i++ {
		offsets[i] = offsets[i-1] + olds[i-1].NumRows()
	}
	cctx := compute.WithAllocator(ctx, d.mem)
	for ri, miss := range k.missing {
		if len(miss) == 0 {
			continue
		}
		rec := k.recs[ri]
		kr, err := newKeyer(rec, e.PrimaryKey)
		if err != nil {
			return err
		}
		ib := array.NewInt64Builder(d.mem)
		for i := 0; i < int(rec.NumRows()); i++ {
			if o, ok := found[string(kr.key(i))]; ok {
				ib.Append(offsets[o.rec] + int64(o.row))
			} else {
				ib.AppendNull()
			}
		}
		indices := ib.NewInt64Array()
		ib.Release()
		cols := slices.Clone(rec.Columns())
		var made []arrow.Array
		for _, c := range miss {
			parts := make([]arrow.Array, len(olds))
			for i, o := range olds {
				parts[i] = o.Column(c)
			}
			all, err := array.Concatenate(parts, d.mem)
			if err != nil {
				indices.Release()
				releaseAll(made)
				return fmt.Errorf("gather old %s: %w", e.schema.Field(c).Name, err)
			}
			col, err := compute.TakeArray(cctx, all, indices)
			all.Release()
			if err != nil {
				indices.Release()
				releaseAll(made)
				return fmt.Errorf("gather old %s: %w", e.schema.Field(c).Name, err)
			}
			made = append(made, col)
			cols[c] = col
		}
		indices.Release()
		k.recs[ri] = array.NewRecordBatch(e.schema, cols, rec.NumRows())
		rec.Release()
		releaseAll(made)
	}
	return nil
}

func releaseAll(arrs []arrow.Array) {
	for _, a := range arrs {
		a.Release()
	}
}
