//go:build duckdb_arrow

package duckdb_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/state"
)

// The test binary doubles as a helper process: JSYNC_DUCKDB_CHILD selects a
// role, JSYNC_DUCKDB_PATH the database file.
func TestMain(m *testing.M) {
	switch os.Getenv("JSYNC_DUCKDB_CHILD") {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(childHold(os.Getenv("JSYNC_DUCKDB_PATH")))
	case "writer":
		os.Exit(childWriter(os.Getenv("JSYNC_DUCKDB_PATH"), false))
	case "stream-writer":
		os.Exit(childWriter(os.Getenv("JSYNC_DUCKDB_PATH"), true))
	case "checkpointing-writer":
		// Every commit asks for a checkpoint: kills land inside them.
		duckdb.SetGateWAL(1)
		os.Exit(childWriter(os.Getenv("JSYNC_DUCKDB_PATH"), true))
	case "locked":
		os.Exit(childLocked(os.Getenv("JSYNC_DUCKDB_PATH")))
	default:
		fmt.Fprintln(os.Stderr, "unknown child role")
		os.Exit(2)
	}
}

// childHold opens the file as a plain DuckDB client and keeps it open until
// stdin closes.
func childHold(path string) int {
	db, err := sql.Open("duckdb", path)
	if err == nil {
		_, err = db.Exec("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// counterTable is what the writer child writes: batch n holds ids
// n*batchRows … n*batchRows+batchRows-1, and its state's cursor is n.
func counterTable() *schema.Table {
	return &schema.Table{Name: "counter", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true},
		{Name: "batch", Type: arrow.PrimitiveTypes.Int64},
		{Name: "payload", Type: arrow.BinaryTypes.String},
	}}
}

const batchRows = 500

func counterBatch(mem memory.Allocator, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, counterTable().ArrowSchema())
	defer b.Release()
	for i := range int64(batchRows) {
		b.Field(0).(*array.Int64Builder).Append(n*batchRows + i)
		b.Field(1).(*array.Int64Builder).Append(n)
		b.Field(2).(*array.StringBuilder).Append(strings.Repeat("x", 200))
	}
	return b.NewRecordBatch()
}

// childWriter writes counter batches, resuming from the committed cursor,
// and prints "committed N" after each Write, until killed. Without stream
// each batch has a Write of its own; with it each Write takes 5 batches.
func childWriter(path string, stream bool) int {
	ctx := context.Background()
	d, err := duckdb.Open(ctx, duckdb.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tbl := counterTable()
	changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
	if err == nil {
		err = d.Migrate(ctx, "acme", changes, dest.MigrateOptions{})
	}
	var snap *state.Snapshot
	if err == nil {
		snap, err = d.State(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	next := int64(0)
	if c := snap.Get("s", "counter").Cursor; c != "" {
		last, _ := strconv.ParseInt(c, 10, 64)
		next = last + 1
	}
	if stream {
		// Groups of 5 batches per Write: a kill inside a group must leave
		// the whole group out.
		for n := next; ; n += 5 {
			ch := make(chan dest.Batch)
			done := make(chan error, 1)
			go func() {
				_, err := d.Write(ctx, "acme", tbl, ch)
				done <- err
			}()
			for i := n; i < n+5; i++ {
				ch <- dest.Batch{Record: counterBatch(memory.DefaultAllocator, i), State: &state.TableState{Sync: "s", Table: "counter", Cursor: strconv.FormatInt(i, 10)}}
			}
			close(ch)
			if err := <-done; err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Printf("committed %d\n", n+4)
		}
	}
	for n := next; ; n++ {
		ch := make(chan dest.Batch, 1)
		ch <- dest.Batch{Record: counterBatch(memory.DefaultAllocator, n), State: &state.TableState{Sync: "s", Table: "counter", Cursor: strconv.FormatInt(n, 10)}}
		close(ch)
		if _, err := d.Write(ctx, "acme", tbl, ch); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("committed %d\n", n)
	}
}

func startChild(t *testing.T, role, path string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JSYNC_DUCKDB_CHILD="+role, "JSYNC_DUCKDB_PATH="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(stdout), stdin
}

func TestOpenInUseByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	cmd, out, _ := startChild(t, "hold", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("child did not get ready: %q %v", out.Text(), out.Err())
	}
	_, err := duckdb.Open(t.Context(), duckdb.Options{Path: path})
	t.Logf("Open: %v", err)
	inUse, ok := errors.AsType[*duckdb.InUseError](err)
	if !ok {
		t.Fatalf("Open of a held file = %v, want *InUseError", err)
	}
	if inUse.PID != cmd.Process.Pid {
		t.Errorf("InUseError.PID = %d, want %d (the child)", inUse.PID, cmd.Process.Pid)
	}
	want := fmt.Sprintf("database file %s is in use by another process (pid %d)", path, cmd.Process.Pid)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.duckdb")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts duckdb.Options
		want string
	}{
		{"empty path", duckdb.Options{}, "empty path"},
		{"corrupt", duckdb.Options{Path: garbage}, "is corrupt or not a DuckDB database"},
		{"parent is a file", duckdb.Options{Path: filepath.Join(notDir, "x.duckdb")}, "cannot create the directory of database file"},
		{"read-only missing", duckdb.Options{Path: filepath.Join(dir, "missing.duckdb"), ReadOnly: true}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := duckdb.Open(t.Context(), tc.opts)
			if err == nil {
				_ = d.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("Open: %v", err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open error = %q, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("unwritable directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		_, err := duckdb.Open(t.Context(), duckdb.Options{Path: filepath.Join(ro, "x.duckdb")})
		if err == nil || !strings.Contains(err.Error(), "cannot open database file") {
			t.Errorf("Open in a read-only directory = %v, want a cannot-open error", err)
		}
	})
}

// TestKillDuringWrites SIGKILLs a process that is writing batches, at a
// point decided by the scheduler, several times over; every time, the file
// must reopen with exactly the rows of the batches up to the committed
// cursor, and the next writer must resume from there. The
// checkpointing writer runs a CHECKPOINT after each commit (a gate at 1
// byte of WAL), so that kills also land inside checkpoints.
func TestKillDuringWrites(t *testing.T) {
	for _, role := range []string{"writer", "stream-writer", "checkpointing-writer"} {
		t.Run(role, func(t *testing.T) { killDuringWrites(t, role) })
	}
}

// killDuringWrites kills a writer child a few times. The file must then
// hold exactly the batches up to the committed cursor, at least up to the
// last acknowledged one.
func killDuringWrites(t *testing.T, role string) {
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	kills := 3
	if os.Getenv("JSYNC_LONG") != "" {
		kills = 20
	}
	lastAcked := int64(-1)
	for k := range kills {
		cmd, out, _ := startChild(t, role, path)
		// Let it commit a few batches past the last kill, then kill it
		// while it runs on.
		for acked := 0; acked < 2+k%3; {
			if !out.Scan() {
				t.Fatalf("writer %d stopped: %v", k, out.Err())
			}
			n, err := strconv.ParseInt(strings.TrimPrefix(out.Text(), "committed "), 10, 64)
			if err != nil {
				t.Fatalf("writer said %q", out.Text())
			}
			lastAcked = n
			acked++
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		checkCounter(t, path, lastAcked)
	}
}

// checkCounter opens path and checks that the rows are exactly batches
// 0…cursor, with cursor at least acked.
func checkCounter(t *testing.T, path string, acked int64) {
	t.Helper()
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer d.Close()
	snap, err := d.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cursor, err := strconv.ParseInt(snap.Get("s", "counter").Cursor, 10, 64)
	if err != nil {
		t.Fatalf("cursor after kill: %v", err)
	}
	if cursor < acked {
		t.Errorf("cursor %d is behind the acknowledged batch %d", cursor, acked)
	}
	var n, batches, maxBatch, minID, maxID int64
	err = d.DB().QueryRowContext(t.Context(), `SELECT count(*), count(DISTINCT batch), max(batch), min(id), max(id) FROM acme.counter`).
		Scan(&n, &batches, &maxBatch, &minID, &maxID)
	if err != nil {
		t.Fatal(err)
	}
	want := (cursor + 1) * batchRows
	if n != want || batches != cursor+1 || maxBatch != cursor || minID != 0 || maxID != want-1 {
		t.Errorf("after kill: %d rows in %d batches (max batch %d, ids %d…%d), cursor %d; want exactly batches 0…%d",
			n, batches, maxBatch, minID, maxID, cursor, cursor)
	}
}

// TestStockClientReadsFile closes the destination and reads the file in a
// fresh, plain database/sql connection, as any DuckDB client would.
func TestStockClientReadsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	d, err := duckdb.Open(t.Context(), duckdb.Options{Path: path, Schema: "jira"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{Name: "issues", Description: "Jira issues.", Replication: schema.Incremental, Columns: []schema.Column{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, PrimaryKey: true, Description: "Issue id."},
		{Name: "labels", Type: arrow.ListOf(arrow.BinaryTypes.String), Description: "Labels."},
		{Name: "updated", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{Name: "raw", Type: arrow.BinaryTypes.String, JSON: true},
	}}
	migrate(t, d, tbl)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, tbl.ArrowSchema())
	b.Field(0).(*array.Int64Builder).Append(10001)
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"ops", "ü"}, nil)
	b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_123_456))
	b.Field(3).(*array.StringBuilder).Append(`{"k":[1,2]}`)
	rec := b.NewRecordBatch()
	b.Release()
	ch := make(chan dest.Batch, 1)
	ch <- dest.Batch{Record: rec, State: &state.TableState{Sync: "s", Table: "issues", Cursor: "c"}}
	close(ch)
	if _, err := d.Write(t.Context(), "acme", tbl, ch); err != nil {
		t.Fatal(err)
	}
	db := closeAndRead(t, d, path)
	var types, comments, pk, tableComment, labels, updated, raw, cursor string
	err = db.QueryRow(`SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index),
			string_agg(column_name || '=' || coalesce(comment, ''), ', ' ORDER BY column_index)
		FROM duckdb_columns() WHERE schema_name = 'jira' AND table_name = 'issues'`).Scan(&types, &comments)
	if err != nil {
		t.Fatal(err)
	}
	if want := "id BIGINT, labels VARCHAR[], updated TIMESTAMP WITH TIME ZONE, raw JSON"; types != want {
		t.Errorf("columns = %q, want %q", types, want)
	}
	if want := "id=Issue id., labels=Labels., updated=, raw="; comments != want {
		t.Errorf("comments = %q, want %q", comments, want)
	}
	err = db.QueryRow(`SELECT array_to_string(columns, ','), (SELECT comment FROM duckdb_tables() WHERE schema_name = 'jira' AND table_name = 'issues')
		FROM _jsync.keys WHERE schema_name = 'jira' AND table_name = 'issues'`).Scan(&pk, &tableComment)
	if err != nil || pk != "id" || tableComment != "Jira issues." {
		t.Errorf("primary key %q, table comment %q, err %v; want id, Jira issues.", pk, tableComment, err)
	}
	err = db.QueryRow(`SET TimeZone = 'UTC'; SELECT labels::VARCHAR, updated::VARCHAR, raw::VARCHAR,
			(SELECT cursor FROM _jsync.state WHERE "table" = 'issues') FROM jira.issues`).Scan(&labels, &updated, &raw, &cursor)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{labels, updated, raw, cursor}
	want := []string{"[ops, ü]", "2023-11-14 22:13:20.123456+00", `{"k":[1,2]}`, "c"}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("values = %s, want %s", gj, wj)
	}
}

// childLocked opens the file as jsync does and takes the apply lock.
func childLocked(path string) int {
	ctx := context.Background()
	d, err := duckdb.Open(ctx, duckdb.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	unlock, err := d.Lock(ctx, dest.LockInfo{PID: os.Getpid(), Host: "child-host", Op: "apply"}, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := errors.Join(unlock(), d.Close()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestOpenNamesLockHolder: a second jsync cannot open a file an apply holds,
// and is told which apply; with BusyTimeout it waits for the file instead.
func TestOpenNamesLockHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	cmd, out, stdin := startChild(t, "locked", path)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("child did not get ready: %q %v", out.Text(), out.Err())
	}
	_, err := duckdb.Open(t.Context(), duckdb.Options{Path: path})
	inUse, ok := errors.AsType[*duckdb.InUseError](err)
	if !ok || inUse.Holder == nil || inUse.Holder.PID != cmd.Process.Pid || inUse.Holder.Host != "child-host" {
		t.Fatalf("Open = %v, want *InUseError naming the child's apply lock", err)
	}
	if want := fmt.Sprintf("the jsync apply lock is held by pid %d on child-host", cmd.Process.Pid); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}

	opened := make(chan error, 1)
	go func() {
		d, err := duckdb.Open(context.Background(), duckdb.Options{Path: path, BusyTimeout: time.Minute})
		if err == nil {
			err = d.Close()
		}
		opened <- err
	}()
	if err := stdin.Close(); err != nil { // the child unlocks, closes and exits
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open with BusyTimeout after the holder left: %v", err)
	}
}

// TestReadOnly: plan-time access reads state and plans, and refuses writes.
func TestReadOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jsync.duckdb")
	d, err := duckdb.Open(ctx, duckdb.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	tbl := counterTable()
	changes, err := d.PlanMigrations(ctx, "acme", []*schema.Table{tbl})
	if err == nil {
		err = d.Migrate(ctx, "acme", changes, dest.MigrateOptions{})
	}
	if err == nil {
		err = d.CommitState(ctx, &state.TableState{Sync: "s", Table: "counter", Cursor: "7"})
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	ro, err := duckdb.Open(ctx, duckdb.Options{Path: path, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	snap, err := ro.State(ctx)
	if err != nil || snap.Get("s", "counter").Cursor != "7" || snap.Serial != 1 {
		t.Errorf("read-only State = %+v, %v; want cursor 7, serial 1", snap, err)
	}
	if changes, err := ro.PlanMigrations(ctx, "acme", []*schema.Table{tbl}); err != nil || len(changes) != 0 {
		t.Errorf("read-only PlanMigrations = %v, %v; want no changes", changes, err)
	}
	if err := ro.CommitState(ctx, &state.TableState{Sync: "s", Table: "x"}); err == nil {
		t.Error("read-only CommitState succeeded")
	}

	// A DuckDB file jsync never wrote has an empty state.
	plain := filepath.Join(t.TempDir(), "plain.duckdb")
	db, err := sql.Open("duckdb", plain)
	if err == nil {
		_, err = db.Exec("CREATE TABLE x (i INTEGER)")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro2, err := duckdb.Open(ctx, duckdb.Options{Path: plain, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro2.Close()
	if snap, err := ro2.State(ctx); err != nil || snap.Serial != 0 || len(snap.Tables) != 0 {
		t.Errorf("State of a foreign file = %+v, %v; want empty", snap, err)
	}
}
