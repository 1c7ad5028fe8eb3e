package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/plan"
)

// renderPlan prints the plan the way Terraform prints one: a marker, an
// action and its object on each line, then a summary line.
func renderPlan(w io.Writer, p *plan.Plan) {
	for _, sp := range p.Syncs {
		if !sp.Due {
			fmt.Fprintf(w, "- skip sync.%s: %s\n", sp.Name, sp.Reason)
			continue
		}
		fmt.Fprintf(w, "sync.%s: %s → %s (%s)\n", sp.Name, sp.Source, sp.Destination, sp.Reason)
		if info := sp.SourceInfo; len(info) > 0 {
			var parts []string
			for _, k := range []string{"deployment", "version", "user", "time_zone"} {
				if v := info[k]; v != "" {
					parts = append(parts, k+"="+v)
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(w, "  source: %s\n", strings.Join(parts, " "))
			}
		}
		if sp.Load == config.LoadAfterFetch {
			fmt.Fprintf(w, "  load: after the fetch (load = %q): rows are staged on local disk, then written\n", sp.Load)
		}
		for _, warn := range sp.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
		for _, c := range sp.Changes {
			tbl := tableName(sp.Namespace, c.Table)
			switch c.Action {
			case plan.ActCreate:
				fmt.Fprintf(w, "  + create table %s (%s)\n", tbl, plural(c.Columns, "column"))
			case plan.ActAlter:
				if c.OldType != "" {
					fmt.Fprintf(w, "  ~ alter table %s: widen column %s %s → %s\n", tbl, c.Column, c.OldType, c.Type)
				} else {
					fmt.Fprintf(w, "  ~ alter table %s: add column %s %s\n", tbl, c.Column, c.Type)
				}
			case plan.ActIncompatible:
				fmt.Fprintf(w, "  ! alter table %s: incompatible change of column %s %s → %s (needs -allow-incompatible)\n", tbl, c.Column, c.OldType, c.Type)
			case plan.ActKeep:
				fmt.Fprintf(w, "  = keep column %s.%s %s: no longer produced, never dropped\n", tbl, c.Column, c.OldType)
			}
		}
		for _, t := range sp.Tables {
			tbl := tableName(sp.Namespace, t.Name)
			est := ""
			if t.Estimate >= 0 {
				est = fmt.Sprintf(" (~%s)", plural(t.Estimate, "row"))
			}
			how := "full"
			if t.Mode == "incremental" {
				how = "incremental since " + cursorText(t.Since)
			} else if t.Replication == "FULL_TABLE" {
				how = "full table, replaced"
			}
			if t.Parent != "" && t.Replication != "FULL_TABLE" {
				how = "with " + sp.Namespace + "." + t.Parent + " (" + how + ")"
				est = ""
			}
			if !t.Write {
				fmt.Fprintf(w, "  <= read %s: %s%s, not written (needed by selected tables)\n", tbl, how, est)
				continue
			}
			fmt.Fprintf(w, "  <= sync %s: %s%s\n", tbl, how, est)
			for _, n := range t.Notes {
				fmt.Fprintf(w, "       %s\n", n)
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, planSummary(p))
}

func planSummary(p *plan.Plan) string {
	c := p.Count()
	if !p.HasWork() {
		return "No changes. Every sync is up to date with its schedule (use -force to sync anyway)."
	}
	s := fmt.Sprintf("Plan: %d to create, %d to alter, %s to sync", c.Create, c.Alter, plural(c.Sync, "table"))
	if c.Incompatible > 0 {
		s += ", " + plural(c.Incompatible, "incompatible change")
	}
	if c.Skip > 0 {
		s += ", " + plural(c.Skip, "sync") + " not due"
	}
	return s + "."
}

// planJSON is the stable machine-readable shape of `jsync plan -json`,
// documented in the README.
type planJSON struct {
	FormatVersion int        `json:"format_version"`
	HasChanges    bool       `json:"has_changes"`
	Summary       planCounts `json:"summary"`
	Plan          *plan.Plan `json:"plan"`
}

type planCounts struct {
	Create       int `json:"create"`
	Alter        int `json:"alter"`
	Incompatible int `json:"incompatible"`
	Sync         int `json:"sync"`
	NotDue       int `json:"not_due"`
}

func writePlanJSON(w io.Writer, p *plan.Plan) error {
	c := p.Count()
	out := planJSON{FormatVersion: 1, HasChanges: p.HasWork(), Plan: p,
		Summary: planCounts{Create: c.Create, Alter: c.Alter, Incompatible: c.Incompatible, Sync: c.Sync, NotDue: c.Skip}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// renderSummary prints the tables of an apply, under their syncs as the
// plan lists them, each named as the plan and the destination name it
// (namespace.table). FETCHED is the rows received from the source;
// INSERTED, UPDATED and DELETED the changes to the rows stored, one per
// key in each commit (a row fetched again in a later commit of the run
// counts again in UPDATED). The counts at the end are of the tables the
// plan syncs: a table only read for its children is listed but not
// counted. interrupted: the
// apply was stopped by a signal, so a table that ended for that reason (or
// because its parent did) is "stopped", not failed.
func renderSummary(w io.Writer, res *engine.Result, took time.Duration, interrupted bool) {
	if len(res.Tables) > 0 {
		fmt.Fprintf(w, "\n%-40s %10s %10s %10s %10s %9s %9s  %s\n", "TABLE", "FETCHED", "INSERTED", "UPDATED", "DELETED", "REQUESTS", "TIME", "STATUS")
	}
	var ok, failed, stopped int
	var others []string // failed steps that are no table: a sync's preparation, its state
	deduplicated := false
	sync := ""
	for _, t := range res.Tables {
		if t.Sync != sync {
			sync = t.Sync
			fmt.Fprintf(w, "sync.%s:\n", sync)
		}
		status := "ok"
		switch {
		case t.Err != nil && interrupted && stoppedBySignal(t.Err):
			status = "stopped (interrupted; committed rows kept)"
		case t.Err != nil:
			status = "FAILED"
		}
		counts := []string{thousands(t.Rows), thousands(t.Inserted), thousands(t.Updated), thousands(t.Deleted)}
		switch {
		case t.Namespace == "":
			if status == "FAILED" {
				others = append(others, "sync."+t.Sync+" "+t.Table)
			}
			counts = []string{"-", "-", "-", "-"}
		case !t.Written:
			// Read for its children: nothing is written, and a source
			// need not pass its rows on.
			if t.Err == nil {
				status = "read only (parent of selected tables)"
			}
			counts = []string{"-", "-", "-", "-"}
		case status == "ok":
			ok++
			deduplicated = deduplicated || t.Rows > t.Inserted+t.Updated
		case status == "FAILED":
			failed++
		default:
			stopped++
		}
		fmt.Fprintf(w, "  %-38s %10s %10s %10s %10s %9s %9s  %s\n", tableName(t.Namespace, t.Table),
			counts[0], counts[1], counts[2], counts[3], thousands(t.Requests),
			t.Duration.Round(100*time.Millisecond), status)
	}
	for _, sp := range res.Skipped {
		fmt.Fprintf(w, "- skipped sync.%s: %s\n", sp.Name, sp.Reason)
	}
	if deduplicated {
		fmt.Fprintln(w, "\nFETCHED counts the rows received from the source; INSERTED and UPDATED the rows written, one per key in\neach commit: a row received more than once (an issue link, read from both its issues) is stored once.")
	}
	if res.Rejects > 0 {
		were := "were"
		if res.Rejects == 1 {
			were = "was"
		}
		fmt.Fprintf(w, "\n%s could not be typed and %s kept in _jsync_rejects with the raw payload.\n", plural(res.Rejects, "row"), were)
	}
	also := ""
	if len(others) > 0 {
		also = "; also failed: " + strings.Join(others, ", ")
	}
	if interrupted {
		fmt.Fprintf(w, "\nApply interrupted after %s: %s synced, %d stopped, %d failed%s.\n", took.Round(100*time.Millisecond), plural(ok, "table"), stopped, failed, also)
		return
	}
	fmt.Fprintf(w, "\nApply complete in %s: %s synced, %d failed%s.\n", took.Round(100*time.Millisecond), plural(ok, "table"), failed, also)
}

// tableName names a table as the plan and the destination do:
// namespace.table. A row that is no table of the destination (a sync's
// preparation, its own state) has no namespace and keeps its bare name.
func tableName(ns, table string) string {
	if ns == "" {
		return table
	}
	return ns + "." + table
}

// stoppedBySignal reports whether a table's error is the apply's
// cancellation, which a table stopped with its parent or its sync's
// preparation carries too (dag.Upstream).
func stoppedBySignal(err error) bool {
	return errors.Is(err, context.Canceled)
}

// plural is n with its noun, singular for 1 and plural (an s added) for any
// other count: "1 table", "2 tables", "1,234 rows". Every noun it gets
// takes an s.
func plural[N ~int | ~int64](n N, noun string) string {
	s := thousands(int64(n)) + " " + noun
	if n != 1 {
		s += "s"
	}
	return s
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// cursorText shows a cursor as the source keeps it, with its time when it
// is epoch milliseconds (Jira's worklog feeds count in them), which no one
// reads at a glance.
func cursorText(c string) string {
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil || len(c) < 12 || len(c) > 14 {
		return c
	}
	at := time.UnixMilli(n).UTC()
	if at.Year() < 2000 || at.Year() >= 2200 {
		return c
	}
	return c + " (" + at.Format(time.RFC3339) + ")"
}
