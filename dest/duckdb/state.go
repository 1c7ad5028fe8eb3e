//go:build duckdb_arrow

package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jsync-dev/jsync/engine/state"
)

var bootstrapSQL = []string{
	`CREATE SCHEMA IF NOT EXISTS _jsync`,
	`CREATE TABLE IF NOT EXISTS _jsync.state (
		sync VARCHAR NOT NULL,
		"table" VARCHAR NOT NULL,
		cursor VARCHAR,
		extra JSON,
		last_success TIMESTAMP WITH TIME ZONE,
		pinned_columns JSON,
		updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
		PRIMARY KEY (sync, "table"))`,
	`CREATE TABLE IF NOT EXISTS _jsync.commits (
		committed_at TIMESTAMP WITH TIME ZONE NOT NULL,
		sync VARCHAR,
		"table" VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS _jsync.runs (
		id VARCHAR PRIMARY KEY,
		sync VARCHAR NOT NULL,
		"table" VARCHAR NOT NULL,
		status VARCHAR NOT NULL,
		error VARCHAR,
		started_at TIMESTAMP WITH TIME ZONE,
		finished_at TIMESTAMP WITH TIME ZONE,
		inserted BIGINT NOT NULL,
		updated BIGINT NOT NULL,
		deleted BIGINT NOT NULL,
		requests BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS _jsync.keys (
		schema_name VARCHAR NOT NULL,
		table_name VARCHAR NOT NULL,
		columns VARCHAR[] NOT NULL,
		PRIMARY KEY (schema_name, table_name))`,
	`COMMENT ON TABLE _jsync.keys IS 'jsync: the key columns of each synced table (unique per table, not enforced by an index)'`,
	`COMMENT ON TABLE _jsync.state IS 'jsync: sync state per (sync, table); written in the same transaction as the data'`,
	`COMMENT ON TABLE _jsync.commits IS 'jsync: one row per committed state change; the state serial is the row count'`,
	`COMMENT ON TABLE _jsync.runs IS 'jsync: one row per sync run of a table'`,
}

func (d *Destination) bootstrap(ctx context.Context) error {
	return d.withTx(ctx, "", func(conn *sql.Conn) error {
		return execAll(ctx, conn, bootstrapSQL...)
	})
}

// State reads the committed state in one consistent snapshot.
func (d *Destination) State(ctx context.Context) (*state.Snapshot, error) {
	snap := &state.Snapshot{Tables: map[string]*state.TableState{}}
	if d.readOnly {
		var n int
		if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables()
			WHERE database_name = current_database() AND schema_name = '_jsync' AND table_name IN ('state', 'commits')`).Scan(&n); err != nil {
			return nil, fmt.Errorf("read state: %w", err)
		}
		if n < 2 {
			return snap, nil // a file jsync never wrote to
		}
	}
	err := d.readTx(ctx, func(conn *sql.Conn) error {
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM _jsync.commits`).Scan(&snap.Serial); err != nil {
			return err
		}
		rows, err := conn.QueryContext(ctx, `SELECT sync, "table", cursor, extra::VARCHAR, last_success, pinned_columns::VARCHAR FROM _jsync.state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ts state.TableState
			var cursor, extra, pinned sql.NullString
			var last sql.NullTime
			if err := rows.Scan(&ts.Sync, &ts.Table, &cursor, &extra, &last, &pinned); err != nil {
				return err
			}
			ts.Cursor = cursor.String
			if last.Valid {
				ts.LastSuccess = last.Time.UTC()
			}
			if err := unmarshalMap(extra, &ts.Extra); err != nil {
				return fmt.Errorf("state %s extra: %w", ts.Key(), err)
			}
			if err := unmarshalMap(pinned, &ts.PinnedColumns); err != nil {
				return fmt.Errorf("state %s pinned columns: %w", ts.Key(), err)
			}
			snap.Tables[ts.Key()] = &ts
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return snap, nil
}

func unmarshalMap(s sql.NullString, m *map[string]string) error {
	if !s.Valid || s.String == "" {
		return nil
	}
	return json.Unmarshal([]byte(s.String), m)
}

// CommitState commits table states without data, and adds one to the serial.
func (d *Destination) CommitState(ctx context.Context, states ...*state.TableState) error {
	if d.readOnly {
		return errors.New("commit state: destination is open read-only")
	}
	if err := d.withTx(ctx, "", func(conn *sql.Conn) error { return writeStates(ctx, conn, states...) }); err != nil {
		return fmt.Errorf("commit state: %w", err)
	}
	return nil
}

// writeStates upserts states and appends one row to _jsync.commits, inside the
// caller's transaction. No states: nothing changes.
func writeStates(ctx context.Context, conn *sql.Conn, states ...*state.TableState) error {
	var sync, table any
	n := 0
	for _, s := range states {
		if s == nil {
			continue
		}
		if s.Sync == "" || s.Table == "" {
			return fmt.Errorf("state %q lacks sync or table name", s.Key())
		}
		extra, err := marshalMap(s.Extra)
		if err != nil {
			return fmt.Errorf("state %s extra: %w", s.Key(), err)
		}
		pinned, err := marshalMap(s.PinnedColumns)
		if err != nil {
			return fmt.Errorf("state %s pinned columns: %w", s.Key(), err)
		}
		_, err = conn.ExecContext(ctx, `INSERT INTO _jsync.state VALUES (?, ?, ?, ?::JSON, ?, ?::JSON, now())
			ON CONFLICT (sync, "table") DO UPDATE SET cursor = excluded.cursor, extra = excluded.extra,
				last_success = excluded.last_success, pinned_columns = excluded.pinned_columns, updated_at = excluded.updated_at`,
			s.Sync, s.Table, nullString(s.Cursor), extra, stateTime(s.LastSuccess), pinned)
		if err != nil {
			return fmt.Errorf("write state %s: %w", s.Key(), err)
		}
		n++
		sync, table = s.Sync, s.Table
	}
	if n == 0 {
		return nil
	}
	if n > 1 {
		table = nil // several tables in one commit
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO _jsync.commits VALUES (now(), ?, ?)`, sync, table); err != nil {
		return fmt.Errorf("advance state serial: %w", err)
	}
	return nil
}

func marshalMap(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// stateTime is a time for SQL: NULL for the zero time.
func stateTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// RecordRun upserts run into _jsync.runs by id, so a run recorded when it
// starts can be updated when it ends.
func (d *Destination) RecordRun(ctx context.Context, run state.Run) error {
	if d.readOnly {
		return errors.New("record run: destination is open read-only")
	}
	if run.ID == "" {
		return errors.New("record run: empty run id")
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO _jsync.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET sync = excluded.sync, "table" = excluded."table", status = excluded.status,
			error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at,
			inserted = excluded.inserted, updated = excluded.updated, deleted = excluded.deleted, requests = excluded.requests`,
		run.ID, run.Sync, run.Table, run.Status, nullString(run.Error), stateTime(run.StartedAt), stateTime(run.FinishedAt),
		run.Inserted, run.Updated, run.Deleted, run.Requests)
	if err != nil {
		return fmt.Errorf("record run %s of %s.%s: %w", run.ID, run.Sync, run.Table, err)
	}
	return nil
}
