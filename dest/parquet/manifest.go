package parquet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/jsync-dev/jsync/engine/state"
)

// manifestFormat is the version of the manifest layout. Open refuses
// manifests with a newer format.
const manifestFormat = 1

// manifest is the single commit point of the destination: the live files
// and schema of every table, and the sync state. It is replaced atomically
// (temp file, fsync, rename, fsync dir).
type manifest struct {
	Format int `json:"format"`
	// Version increases with every commit (data or state).
	Version int64                  `json:"version"`
	Tables  map[string]*tableEntry `json:"tables"` // by tableKey(ns, name)
	State   state.Snapshot         `json:"state"`
	// Pending are the renames of the last commit, from _jsync/tmp into the
	// table directories. They are done right after the commit; after a
	// crash, the next open finishes them (roll forward).
	Pending []rename `json:"pending,omitempty"`
	// Remove lists files the last commit made obsolete. They are deleted
	// after Pending.
	Remove []string `json:"remove,omitempty"`
}

type rename struct {
	From string `json:"from"` // relative to the root
	To   string `json:"to"`   // relative to the root
}

// tableEntry is one table in the manifest.
type tableEntry struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Schema is the Arrow schema every file of the table has, as a
	// base64-encoded Arrow IPC schema message. Columns repeats it for humans.
	Schema  string       `json:"schema"`
	Columns []columnInfo `json:"columns"`
	// PrimaryKey names the key columns.
	PrimaryKey []string `json:"primary_key,omitempty"`
	// PartitionBy is the Hive partition column, or empty.
	PartitionBy string `json:"partition_by,omitempty"`
	// Buckets is the number of primary-key hash buckets per partition
	// (1: one file per partition).
	Buckets int `json:"buckets"`
	// BucketWidth, when set, replaces hash buckets by key ranges: a row of
	// a table with a single integer key k, or a text key of decimal digits
	// k, goes to bucket floor(k/width). A text key that is not such a
	// number goes to one of Buckets hash buckets, numbered from -1 down.
	BucketWidth int64 `json:"bucket_width,omitempty"`
	// NextSeq numbers the table's next new file.
	NextSeq int64       `json:"next_seq"`
	Files   []fileEntry `json:"files"`

	schema *arrow.Schema // decoded Schema
}

type columnInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// fileEntry is one live data file. A (partition, bucket) slot has one or a
// few files; a primary key lives in exactly one of them. A rewrite keeps
// the file's path, so it replaces the file with a single atomic rename.
type fileEntry struct {
	Path      string `json:"path"`      // relative to the root, slash-separated
	Partition string `json:"partition"` // Hive directory ("col=value"), or empty
	Bucket    int    `json:"bucket"`
	Seq       int64  `json:"seq"` // file number within the table; names the file
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	// ID identifies the content; it changes with every rewrite.
	ID string `json:"id"`
}

func tableKey(ns, name string) string { return ns + "/" + name }

func (e *tableEntry) setSchema(sc *arrow.Schema) error {
	enc, err := encodeSchema(sc)
	if err != nil {
		return err
	}
	e.schema = sc
	e.Schema = enc
	e.Columns = make([]columnInfo, sc.NumFields())
	for i, f := range sc.Fields() {
		e.Columns[i] = columnInfo{Name: f.Name, Type: f.Type.String()}
	}
	return nil
}

// clone returns a deep copy of the entry's mutable parts.
func (e *tableEntry) clone() *tableEntry {
	c := *e
	c.Columns = slices.Clone(e.Columns)
	c.PrimaryKey = slices.Clone(e.PrimaryKey)
	c.Files = slices.Clone(e.Files)
	return &c
}

func (m *manifest) clone() *manifest {
	c := *m
	c.Tables = maps.Clone(m.Tables)
	c.State.Tables = make(map[string]*state.TableState, len(m.State.Tables))
	for k, v := range m.State.Tables {
		ts := *v
		ts.Extra = maps.Clone(v.Extra)
		ts.PinnedColumns = maps.Clone(v.PinnedColumns)
		c.State.Tables[k] = &ts
	}
	c.Pending, c.Remove = nil, nil
	return &c
}

func encodeSchema(sc *arrow.Schema) (string, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sc))
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encode arrow schema: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func decodeSchema(s string) (*arrow.Schema, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode arrow schema: %w", err)
	}
	r, err := ipc.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("decode arrow schema: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// readManifest loads the manifest, or returns an empty one when none was
// committed yet.
func readManifest(path string) (*manifest, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &manifest{Format: manifestFormat, Tables: map[string]*tableEntry{}, State: state.Snapshot{Tables: map[string]*state.TableState{}}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse manifest %s (corrupt?): %w", path, err)
	}
	if m.Format > manifestFormat {
		return nil, fmt.Errorf("manifest %s has format %d; this jsync reads up to %d", path, m.Format, manifestFormat)
	}
	if m.Tables == nil {
		m.Tables = map[string]*tableEntry{}
	}
	if m.State.Tables == nil {
		m.State.Tables = map[string]*state.TableState{}
	}
	for k, e := range m.Tables {
		sc, err := decodeSchema(e.Schema)
		if err != nil {
			return nil, fmt.Errorf("manifest table %s: %w", k, err)
		}
		e.schema = sc
	}
	return &m, nil
}

func writeManifest(path string, m *manifest) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := writeFileAtomic(path, raw); err != nil {
		return fmt.Errorf("commit manifest: %w", err)
	}
	return nil
}

// relPath turns a slash-separated path relative to root into an OS path.
func relPath(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
