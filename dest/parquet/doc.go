// Package parquet is the Parquet destination: a directory of Parquet files
// that DuckDB, Spark, Trino or pyarrow read directly, kept up to date by
// upserts that rewrite only the files a change touches.
//
// # Layout
//
//	<path>/<namespace>/<table>/part-<n>.parquet                 unpartitioned
//	<path>/<namespace>/<table>/<col>=<value>/part-<n>.parquet   Options.PartitionBy
//	<path>/_jsync/manifest.json   live files, schemas, state: the commit point
//	<path>/_jsync/state.json      readable mirror of the state in the manifest
//	<path>/_jsync/runs.jsonl      run log, one JSON object per run
//	<path>/_jsync/lock            apply lock (flock) naming its holder
//	<path>/_jsync/tmp/            files being written; never matched by a table glob
//
// A table is split into slots, (partition, bucket) pairs, and each slot has
// exactly one file at a stable path. A row's slot follows from the row
// alone: the Hive partition is the partition column's value (escaped with
// %XX; NULL is __HIVE_DEFAULT_PARTITION__), the bucket is floor(key/width)
// for a single integer key (recent Jira ids change most, so a run touches
// few ranges) or a hash of the key otherwise. Full-table tables and Hive
// partitions have one bucket. Every file of a table has the same schema,
// including the partition column, so that a plain
// read_parquet('<path>/<ns>/<table>/**/*.parquet', hive_partitioning=true)
// sees every column. (DuckDB takes the schema from the first file and
// silently drops columns that only later files have, which is why Migrate
// rewrites all files instead of relying on union_by_name.) A table with no
// rows has one empty file, so the glob never fails with "no files found".
//
// # Writing
//
// Write groups batches until one carries a state (or 128k rows or 64 MiB
// are buffered), then rewrites the touched slots: each old file is streamed
// through in batches of 16k rows, rows whose key the group replaces are
// dropped, the group's rows are appended, and the result is written with
// pqarrow (zstd, 64k-row row groups, measured by BenchmarkRowGroupRows) to
// _jsync/tmp and fsynced. Columns a record lacks keep their old values on
// update. In a partitioned table a row may change partition (an issue moved
// to another project); the primary-key hashes of each file, read once per
// process from the key columns only, find the old copy so it is removed in
// the same commit. Replace writes the whole new content the same way and
// MarkDeleted rewrites only the slots holding the keys.
//
// # Commit protocol
//
//  1. New file contents are written and fsynced under _jsync/tmp.
//  2. manifest.json is replaced atomically (temp file, fsync, rename, fsync
//     of the directory). It lists the new files, the state committed with
//     them, and the renames and removals still to do. This is the commit
//     point: a batch's data and its state commit together.
//  3. Each new file is renamed over its slot's path (a single rename(2),
//     which replaces the old file atomically), then files of slots that no
//     longer exist are removed, then state.json is rewritten.
//
// A crash before step 2 leaves the previous dataset untouched: the temporary
// files are invisible to table globs and removed by the next Lock. A crash
// after step 2 is finished by the next Open (renames) and Lock (removals):
// the step-3 operations are idempotent and recorded in the manifest.
//
// # What a reader sees during an apply
//
// jsync's own view (the manifest) changes atomically. A glob reader never
// sees a partially written file, a temporary file, or two files of one slot,
// because each slot changes by one atomic rename. It can, however, see a
// commit half applied while step 3 runs (one rename per rewritten file,
// typically milliseconds): some files already new, others still old. For an
// unpartitioned table every key lives in the file its key determines, so a
// reader sees each key exactly once, some rows at the old and some at the
// new version. For a partitioned table, a row that changed partition in that
// commit can be seen twice or not at all during step 3; after a Replace,
// rows of a vanished partition can be seen until its file is removed. A
// crash during step 3 prolongs that state until the next jsync run opens
// the destination. Once Write, Replace or MarkDeleted has returned, the
// glob shows exactly the manifest: one row per primary key.
//
// # Locking and concurrency
//
// Lock takes an flock on _jsync/lock (dest.LockFile); while held, no other
// jsync process changes the destination. Writes to different tables may
// run concurrently in one process; commits are serialised. Without the lock
// two processes would overwrite each other's manifest, so apply must lock.
package parquet
