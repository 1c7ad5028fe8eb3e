// Package plan is the data a `jsync plan` produces and `jsync apply FILE`
// consumes: what each sync will create, alter and fetch. Plans are plain data
// (versioned JSON), never hold secrets, and carry what apply needs to refuse a
// stale plan: a digest of the configuration and each destination's state
// serial.
package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// FormatVersion is the version of the plan file format. Apply refuses other
// versions.
const FormatVersion = 1

// Action is what happens to a table or a sync.
type Action string

const (
	ActCreate       Action = "create"       // + create table
	ActAlter        Action = "alter"        // ~ alter table (add or widen a column)
	ActIncompatible Action = "incompatible" // ! incompatible column change (needs -allow-incompatible)
	ActKeep         Action = "keep"         // column kept although no longer produced
	ActRead         Action = "read"         // <= fetch data
	ActSkip         Action = "skip"         // - sync not due
)

// Symbol returns the Terraform-style marker of an action.
func (a Action) Symbol() string {
	switch a {
	case ActCreate:
		return "+"
	case ActAlter:
		return "~"
	case ActIncompatible:
		return "!"
	case ActKeep:
		return "="
	case ActRead:
		return "<="
	case ActSkip:
		return "-"
	}
	return "?"
}

// Plan is the whole plan.
type Plan struct {
	Version      int       `json:"format_version"`
	JsyncVersion string    `json:"jsync_version"`
	CreatedAt    time.Time `json:"created_at"`
	// ConfigDigest is the digest of the configuration files and variable
	// values the plan was made from (config.Config.Digest).
	ConfigDigest string `json:"config_digest"`
	// Serials holds each destination's state serial at planning time, by
	// destination address (destination.duckdb.warehouse).
	Serials map[string]int64 `json:"destination_serials"`
	Force   bool             `json:"force,omitempty"`
	Targets []string         `json:"targets,omitempty"`
	Syncs   []*Sync          `json:"syncs"`
}

// Sync is the plan for one sync block.
type Sync struct {
	Name        string `json:"name"`
	Source      string `json:"source"`      // source.jira.acme
	Destination string `json:"destination"` // destination.duckdb.warehouse
	Namespace   string `json:"namespace"`
	Due         bool   `json:"due"`
	// Reason explains Due: "never run", "last run 2026-11-28T10:00:00Z, schedule 1h", "forced by -force".
	Reason   string    `json:"reason"`
	NextDue  time.Time `json:"next_due,omitzero"`
	Schedule string    `json:"schedule"`
	// Load is "after_fetch" when the sync stages its rows on local disk
	// and loads them once the fetch is done; empty when it writes while
	// fetching (the default).
	Load string `json:"load,omitempty"`
	// SourceInfo is what discovery learned (deployment, version, user, time zone).
	SourceInfo map[string]string `json:"source_info,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`
	Changes    []*Change         `json:"schema_changes,omitempty"`
	Tables     []*Table          `json:"tables"`
}

// Change is one schema change.
type Change struct {
	Action  Action `json:"action"`
	Table   string `json:"table"`
	Column  string `json:"column,omitempty"`
	Type    string `json:"type,omitempty"`
	OldType string `json:"old_type,omitempty"`
	Columns int    `json:"columns,omitempty"` // for create
}

// Table is what one table will fetch.
type Table struct {
	Name string `json:"name"`
	// Write is false when the table is fetched only for a selected child.
	Write bool `json:"write"`
	// Mode is ModeFull or ModeIncremental.
	Mode        string   `json:"mode"`
	Replication string   `json:"replication"`
	Since       string   `json:"since,omitempty"`
	Estimate    int64    `json:"estimate"` // -1 when unknown
	Columns     []string `json:"columns,omitempty"`
	Parent      string   `json:"parent,omitempty"`
	// Notes are what else the sync of the table will do, in the source's
	// words (source.Noter), e.g. fetch rows behind the cursor.
	Notes []string `json:"notes,omitempty"`
}

// Table modes.
const (
	ModeFull        = "full"        // fetch every row
	ModeIncremental = "incremental" // fetch what changed since the cursor
)

// HasWork reports whether applying the plan would change anything.
func (p *Plan) HasWork() bool {
	for _, s := range p.Syncs {
		if s.Due {
			return true
		}
	}
	return false
}

// Counts summarises the plan.
type Counts struct{ Create, Alter, Incompatible, Sync, Skip int }

// Count tallies the plan's actions.
func (p *Plan) Count() Counts {
	var c Counts
	for _, s := range p.Syncs {
		if !s.Due {
			c.Skip++
			continue
		}
		for _, ch := range s.Changes {
			switch ch.Action {
			case ActCreate:
				c.Create++
			case ActAlter:
				c.Alter++
			case ActIncompatible:
				c.Incompatible++
			}
		}
		for _, t := range s.Tables {
			if t.Write {
				c.Sync++
			}
		}
	}
	return c
}

// Write writes the plan as JSON, with a checksum so that tampering is
// detected by Read.
func (p *Plan) Write(w io.Writer) error {
	body, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	env := envelope{Plan: body, Checksum: checksum(body)}
	out, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// WriteFile writes the plan to path atomically.
func (p *Plan) WriteFile(path string) error {
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	return nil
}

type envelope struct {
	Plan     json.RawMessage `json:"plan"`
	Checksum string          `json:"checksum"`
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ErrCorrupt is returned by Read for a file that is not a valid plan or was
// modified after it was written.
var ErrCorrupt = errors.New("not a valid jsync plan file")

// Read reads a plan written by Write.
func Read(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Plan) == 0 {
		return nil, fmt.Errorf("%w: it does not parse; create one with `jsync plan -out=FILE`", ErrCorrupt)
	}
	var compact bytes.Buffer
	if err := json.Indent(&compact, env.Plan, "", "  "); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if checksum(compact.Bytes()) != env.Checksum && checksum(env.Plan) != env.Checksum {
		return nil, fmt.Errorf("%w: its checksum does not match its content, so it was modified after `jsync plan` wrote it; run `jsync plan -out=FILE` again", ErrCorrupt)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(env.Plan, &fields); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	for _, k := range requiredFields {
		if v, ok := fields[k]; !ok || string(v) == "null" {
			return nil, fmt.Errorf("%w: it lacks the field %q; run `jsync plan -out=FILE` again", ErrCorrupt, k)
		}
	}
	var p Plan
	if err := json.Unmarshal(env.Plan, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if p.Version != FormatVersion {
		return nil, fmt.Errorf("%w: format version %d, this jsync reads version %d", ErrCorrupt, p.Version, FormatVersion)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v; run `jsync plan -out=FILE` again", ErrCorrupt, err)
	}
	return &p, nil
}

// requiredFields are the plan's fields that apply cannot do without: a plan
// file lacking one was not written by `jsync plan`.
var requiredFields = []string{"format_version", "config_digest", "destination_serials", "syncs"}

// Validate checks that the plan is complete and consistent in itself:
// every sync and table is named, no name repeats, every sync names its
// source and destination, every destination has its state serial (which
// apply compares to refuse a stale plan), and every table's mode is one
// apply knows. Whether the names exist in the configuration is for the
// engine to check (engine.Engine.Apply).
func (p *Plan) Validate() error {
	if p.ConfigDigest == "" {
		return errors.New("it has no config_digest")
	}
	seen := map[string]bool{}
	for i, s := range p.Syncs {
		if s == nil || s.Name == "" {
			return fmt.Errorf("syncs[%d] has no name", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("sync.%s appears twice", s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Source == "":
			return fmt.Errorf("sync.%s has no source", s.Name)
		case s.Destination == "":
			return fmt.Errorf("sync.%s has no destination", s.Name)
		case s.Namespace == "":
			return fmt.Errorf("sync.%s has no namespace", s.Name)
		}
		if _, ok := p.Serials[s.Destination]; !ok {
			return fmt.Errorf("destination_serials has no serial for %s, which sync.%s writes to", s.Destination, s.Name)
		}
		if s.Due && len(s.Tables) == 0 {
			return fmt.Errorf("sync.%s is due but lists no tables", s.Name)
		}
		tables := map[string]bool{}
		for j, t := range s.Tables {
			if t == nil || t.Name == "" {
				return fmt.Errorf("sync.%s: tables[%d] has no name", s.Name, j)
			}
			if tables[t.Name] {
				return fmt.Errorf("sync.%s: table %s appears twice", s.Name, t.Name)
			}
			tables[t.Name] = true
			if t.Mode != ModeFull && t.Mode != ModeIncremental {
				return fmt.Errorf("sync.%s.%s: mode %q is neither %q nor %q", s.Name, t.Name, t.Mode, ModeFull, ModeIncremental)
			}
		}
		for _, c := range s.Changes {
			if c == nil {
				return fmt.Errorf("sync.%s: a schema change is empty", s.Name)
			}
		}
	}
	return nil
}

// ReadFile reads a plan file.
func ReadFile(path string) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open plan file: %w", err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// LooksLikePlan reports whether the file at path has the shape of a plan
// file (a checksummed plan), valid or not: jsync plan -out overwrites such
// a file, and no other. It reads no further than the first JSON value, so
// a large file of another kind costs little.
func LooksLikePlan(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var env envelope
	return json.NewDecoder(f).Decode(&env) == nil && len(env.Plan) > 0 && env.Checksum != ""
}

// StaleError explains why a saved plan can no longer be applied.
type StaleError struct{ Reasons []string }

func (e *StaleError) Error() string {
	return "the plan is stale: " + strings.Join(e.Reasons, "; ") + "; plan again (`jsync plan -out=FILE` for a saved plan)"
}

// MismatchError is returned by apply for a plan that refers to syncs,
// sources, destinations or tables other than the configuration's: a plan
// file edited by hand.
type MismatchError struct {
	// What completes "plan file ...", e.g. "refers to sync.x, which the
	// configuration does not declare".
	What string
}

func (e *MismatchError) Error() string {
	return "plan file " + e.What + "; run `jsync plan -out=FILE` again"
}

// CheckFresh compares a saved plan with the current config digest and
// destination serials.
func (p *Plan) CheckFresh(configDigest string, serials map[string]int64) error {
	var reasons []string
	if p.ConfigDigest != configDigest {
		reasons = append(reasons, "the configuration (files or variables) changed since the plan was made")
	}
	keys := sortedKeys(p.Serials)
	for _, k := range sortedKeys(serials) {
		if _, ok := p.Serials[k]; !ok {
			reasons = append(reasons, fmt.Sprintf("the plan records no state serial for %s, so it cannot tell whether another apply changed it", k))
		}
	}
	for _, k := range keys {
		if cur, ok := serials[k]; ok && cur != p.Serials[k] {
			reasons = append(reasons, fmt.Sprintf("the state of %s changed (serial %d, plan made at serial %d): another apply or a `jsync state rm` ran in between", k, cur, p.Serials[k]))
		}
	}
	if len(reasons) > 0 {
		return &StaleError{Reasons: reasons}
	}
	return nil
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
