// Package parquet is the Parquet destination: a directory of Parquet files
// that DuckDB, Spark, Trino or pyarrow read directly, kept up to date by
// upserts that rewrite only the files a change touches.
//
// # Layout
//
//	<path>/<namespace>/<table>/part-<bucket>-<seq>.parquet                 unpartitioned
//	<path>/<namespace>/<table>/<col>=<value>/part-<bucket>-<seq>.parquet   Options.PartitionBy
//	<path>/_jsync/manifest.json   live files, schemas, state: the commit point
//	<path>/_jsync/state.json      readable mirror of the state in the manifest
//	<path>/_jsync/runs.jsonl      run log, one JSON object per run
//	<path>/_jsync/lock            apply lock (flock) naming its holder
//	<path>/_jsync/tmp/            files being written; never matched by a table glob
//	<path>/_jsync/staging/        batches a sync with load = "after_fetch" stages, while it fetches
//
// A table is split into slots, (partition, bucket) pairs. A row's slot
// follows from the row alone: the Hive partition is the partition column's
// value (escaped with %XX; NULL is __HIVE_DEFAULT_PARTITION__), the bucket
// is floor(key/width) for a single integer key (recent Jira ids change
// most, so a run touches few ranges) or a hash of the key otherwise.
// Full-table tables and Hive partitions have one bucket. A slot holds one
// to maxSlotFiles files and every primary key lives in exactly one of them.
// Every file of a table has the same schema, including the partition
// column, so that a plain
// read_parquet('<path>/<ns>/<table>/**/*.parquet', hive_partitioning=true)
// sees every column. (DuckDB takes the schema from the first file and
// silently drops columns that only later files have, which is why Migrate
// rewrites all files instead of relying on union_by_name.) A table with no
// rows has one empty file, so the glob never fails with "no files found".
//
// # Writing
//
// Write groups batches until one carries a state (or 128k rows or 16 MiB
// are buffered), then applies the group. The key hashes of each file (read
// once per process from the key columns only, then kept up to date) tell
// which file holds a key. A file holding updated keys is rewritten at the
// same path: its rows are streamed through in batches of 16k, the old
// versions dropped and the new ones appended. New keys go to one new file
// per slot, so inserting costs only the new rows. A row that changed
// partition (an issue moved to another project) is dropped from its old
// file and inserted in its new slot. Columns a record lacks keep their old
// values on update. When a slot has more than maxSlotFiles files, its
// newest files are merged (size tiered: each row is rewritten O(log n)
// times). Files are written with pqarrow (zstd, 64k-row row groups,
// measured by BenchmarkRowGroupRows) to _jsync/tmp and fsynced. Replace
// writes one new file per slot (keeping a writer, and so a row-group
// buffer, open per slot until the end), MarkDeleted rewrites only the files
// holding the keys. MarkDeleted by other columns (a child's issue_id) looks
// at every file, but decides from hashes of those columns alone, read once
// per file and column set, which files to rewrite.
//
// # Commit protocol
//
//  1. New file contents are written and fsynced under _jsync/tmp.
//  2. manifest.json is replaced atomically (temp file, fsync, rename, fsync
//     of the directory). It lists the new files, the state committed with
//     them, and the renames and removals still to do. This is the commit
//     point: a batch's data and its state commit together.
//  3. Each new file is renamed to its path (a single rename(2), which
//     replaces the old content of a rewritten file atomically), then files
//     that are no longer live are removed, then state.json is rewritten.
//
// A crash before step 2 leaves the previous dataset untouched: the temporary
// files are invisible to table globs and removed by the next Lock. A crash
// after step 2 is finished by the next Open (renames) and Lock (removals):
// the step-3 operations are idempotent and recorded in the manifest.
//
// # What a reader sees during an apply
//
// jsync's own view (the manifest) changes atomically. A glob reader never
// sees a partially written file or a temporary file, and each file changes
// from old to new content in one rename. While step 3 runs (one rename per
// written file, typically milliseconds) a reader can see a commit half
// applied: some files new, others still old. What that means:
//
//   - Updates and inserts in an unpartitioned table: every key is in exactly
//     one file at every moment, so a reader sees each key once; some rows at
//     the old version, some at the new, and new rows appearing file by file.
//   - A row that changed partition in that commit can be seen twice or not
//     at all.
//   - Compaction and Replace: the new file replaces one old file of the slot
//     and the slot's other old files are removed after it, so their rows
//     can be seen twice until they are (after Replace, rows of a vanished
//     partition can be seen until its file is removed).
//
// A crash during step 3 prolongs that state until the next jsync command
// opens the destination. Once Write, Replace or MarkDeleted has returned,
// the glob shows exactly the manifest: one row per primary key.
//
// # Locking and concurrency
//
// Lock takes an flock on _jsync/lock (dest.LockFile); while held, no other
// jsync process changes the destination. Writes to different tables may
// run concurrently in one process; commits are serialised. Without the lock
// two processes would overwrite each other's manifest, so apply must lock.
package parquet
