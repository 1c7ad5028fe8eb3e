package jira

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/engine/state"
)

// memDest is an in-memory destination for tests: one memTable per table,
// rows keyed by primary key, values as strings (Arrow ValueStr). It
// commits every batch at once, so Barrier is trivially satisfied.
type memDest struct {
	mu     sync.Mutex
	tables map[string]*memTable
	// events logs "send T", "delete T", "checkpoint T <cursor>" and "barrier".
	events []string
	// sentIssues are the issue_id values of each "send" event's batch (by
	// event index), for tables that have the column.
	sentIssues map[int][]string
	// states are the states committed by "checkpoint" events (by event
	// index).
	states map[int]state.TableState
}

type memTable struct {
	d       *memDest
	table   *schema.Table
	rows    map[string]map[string]string
	pending map[string]map[string]string // full-table replacement content
	state   state.TableState
	sends   int
}

func newMemDest() *memDest { return &memDest{tables: map[string]*memTable{}} }

func (d *memDest) table(t *schema.Table) *memTable {
	d.mu.Lock()
	defer d.mu.Unlock()
	mt := d.tables[t.Name]
	if mt == nil {
		mt = &memTable{d: d, rows: map[string]map[string]string{}}
		d.tables[t.Name] = mt
	}
	mt.table = t
	return mt
}

// request builds a SyncRequest for the given tables from the current state.
func (d *memDest) request(tables []*schema.Table, now time.Time) *source.SyncRequest {
	req := &source.SyncRequest{Tables: map[string]*source.TableRequest{}, Now: now,
		Barrier: func(context.Context) error {
			d.mu.Lock()
			d.events = append(d.events, "barrier")
			d.mu.Unlock()
			return nil
		}}
	for _, t := range tables {
		mt := d.table(t)
		req.Tables[t.Name] = &source.TableRequest{Table: t, Write: true, State: mt.state, Sink: mt}
	}
	return req
}

func keyOf(t *schema.Table, get func(col string) string) string {
	var parts []string
	for _, c := range t.PrimaryKey() {
		parts = append(parts, get(c))
	}
	return strings.Join(parts, "/")
}

func (m *memTable) Send(_ context.Context, rec arrow.RecordBatch) error {
	defer rec.Release()
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	m.sends++
	m.d.events = append(m.d.events, "send "+m.table.Name)
	if i := rec.Schema().FieldIndices("issue_id"); len(i) == 1 {
		if m.d.sentIssues == nil {
			m.d.sentIssues = map[int][]string{}
		}
		col := rec.Column(i[0])
		for r := 0; r < int(rec.NumRows()); r++ {
			m.d.sentIssues[len(m.d.events)-1] = append(m.d.sentIssues[len(m.d.events)-1], col.ValueStr(r))
		}
	}
	if !rec.Schema().Equal(m.table.ArrowSchema()) {
		return fmt.Errorf("%s: batch schema differs from the table", m.table.Name)
	}
	seen := map[string]bool{}
	for i := 0; i < int(rec.NumRows()); i++ {
		row := map[string]string{}
		for j, f := range rec.Schema().Fields() {
			if c := rec.Column(j); !c.IsNull(i) {
				row[f.Name] = c.ValueStr(i)
			} else if !f.Nullable {
				return fmt.Errorf("%s.%s: NULL in non-nullable column", m.table.Name, f.Name)
			}
		}
		k := keyOf(m.table, func(c string) string { return row[c] })
		if seen[k] {
			return fmt.Errorf("%s: key %s twice in one batch", m.table.Name, k)
		}
		seen[k] = true
		if m.table.Replication == schema.FullTable {
			if m.pending == nil {
				m.pending = map[string]map[string]string{}
			}
			m.pending[k] = row
		} else {
			if old := m.rows[k]; old != nil && old[schema.ColDeletedAt] != "" {
				row[schema.ColDeletedAt] = "" // a re-appearing row is live again
			}
			m.rows[k] = row
		}
	}
	return nil
}

// Delete marks the rows matching keys on all of its columns (the primary
// key, or other columns such as issue_id), keeping an earlier mark; with
// syncedBefore, only rows synced before it.
func (m *memTable) Delete(_ context.Context, keys arrow.RecordBatch, at, syncedBefore time.Time) error {
	defer keys.Release()
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	m.d.events = append(m.d.events, "delete "+m.table.Name)
	cols := make([]string, keys.NumCols())
	for j, f := range keys.Schema().Fields() {
		if m.table.Column(f.Name) == nil {
			return fmt.Errorf("%s: delete by unknown column %s", m.table.Name, f.Name)
		}
		cols[j] = f.Name
	}
	want := map[string]bool{}
	for i := 0; i < int(keys.NumRows()); i++ {
		var parts []string
		for j := range cols {
			parts = append(parts, keys.Column(j).ValueStr(i))
		}
		want[strings.Join(parts, "/")] = true
	}
	for _, row := range m.rows {
		var parts []string
		for _, c := range cols {
			parts = append(parts, row[c])
		}
		if !syncedBefore.IsZero() {
			synced, err := time.Parse(time.RFC3339Nano, row[schema.ColSyncedAt])
			if err != nil {
				return fmt.Errorf("%s: unreadable %s %q", m.table.Name, schema.ColSyncedAt, row[schema.ColSyncedAt])
			}
			if !synced.Before(syncedBefore) {
				continue
			}
		}
		if want[strings.Join(parts, "/")] && row[schema.ColDeletedAt] == "" {
			row[schema.ColDeletedAt] = at.UTC().Format(time.RFC3339)
		}
	}
	return nil
}

func (m *memTable) Checkpoint(_ context.Context, st state.TableState) error {
	m.d.mu.Lock()
	defer m.d.mu.Unlock()
	if m.table.Replication == schema.FullTable {
		if m.pending == nil {
			m.pending = map[string]map[string]string{}
		}
		m.rows, m.pending = m.pending, nil
	}
	m.state = st
	if m.d.states == nil {
		m.d.states = map[int]state.TableState{}
	}
	m.d.states[len(m.d.events)] = st
	m.d.events = append(m.d.events, "checkpoint "+m.table.Name+" "+st.Cursor)
	return nil
}

// live returns the rows not marked deleted.
func (m *memTable) live() map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, r := range m.rows {
		if r[schema.ColDeletedAt] == "" {
			out[k] = r
		}
	}
	return out
}
