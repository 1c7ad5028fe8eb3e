package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func samplePlan() *Plan {
	return &Plan{
		Version: FormatVersion, ConfigDigest: "sha256:abc", CreatedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		Serials: map[string]int64{"destination.duckdb.w": 3},
		Syncs: []*Sync{{Name: "acme", Source: "source.jira.acme", Destination: "destination.duckdb.w", Namespace: "acme", Due: true, Changes: []*Change{{Action: ActCreate, Table: "issues", Columns: 58}},
			Tables: []*Table{{Name: "issues", Write: true, Mode: "full", Estimate: 10}}}},
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := samplePlan().Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConfigDigest != "sha256:abc" || got.Serials["destination.duckdb.w"] != 3 || len(got.Syncs) != 1 || got.Syncs[0].Tables[0].Estimate != 10 {
		t.Fatalf("round trip lost data: %+v", got)
	}
	if c := got.Count(); c.Create != 1 || c.Sync != 1 {
		t.Fatalf("count %+v", c)
	}
}

func TestReadRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := samplePlan().Write(&buf); err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"garbage":  "not json",
		"empty":    "{}",
		"tampered": strings.Replace(buf.String(), `"sha256:abc"`, `"sha256:abd"`, 1),
		"version":  "", // filled below
	}
	p := samplePlan()
	p.Version = 99
	var vb bytes.Buffer
	_ = p.Write(&vb)
	tests["version"] = vb.String()
	// A plan whose checksum matches but that lacks a field apply needs.
	for _, field := range []string{"config_digest", "destination_serials", "syncs"} {
		var pb bytes.Buffer
		_ = samplePlan().Write(&pb)
		var env struct {
			Plan map[string]json.RawMessage `json:"plan"`
		}
		if err := json.Unmarshal(pb.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		delete(env.Plan, field)
		body, _ := json.MarshalIndent(env.Plan, "", "  ")
		out, _ := json.Marshal(envelope{Plan: body, Checksum: checksum(body)})
		tests["without "+field] = string(out)
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Read(strings.NewReader(in))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
		})
	}
}

func TestCheckFresh(t *testing.T) {
	p := samplePlan()
	if err := p.CheckFresh("sha256:abc", map[string]int64{"destination.duckdb.w": 3}); err != nil {
		t.Fatal(err)
	}
	err := p.CheckFresh("sha256:zzz", map[string]int64{"destination.duckdb.w": 4})
	var se *StaleError
	if !errors.As(err, &se) || len(se.Reasons) != 2 {
		t.Fatalf("want 2 stale reasons, got %v", err)
	}
	if !strings.Contains(err.Error(), "another apply or a `jsync state rm` ran") || !strings.Contains(err.Error(), "configuration") {
		t.Fatalf("message does not say what changed: %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Plan)
		want string // "" for a valid plan
	}{
		{"valid", func(p *Plan) {}, ""},
		{"not due without tables", func(p *Plan) { p.Syncs[0].Due, p.Syncs[0].Tables = false, nil }, ""},
		{"no digest", func(p *Plan) { p.ConfigDigest = "" }, "no config_digest"},
		{"unnamed sync", func(p *Plan) { p.Syncs[0].Name = "" }, "syncs[0] has no name"},
		{"nil sync", func(p *Plan) { p.Syncs[0] = nil }, "syncs[0] has no name"},
		{"repeated sync", func(p *Plan) { p.Syncs = append(p.Syncs, p.Syncs[0]) }, "sync.acme appears twice"},
		{"no source", func(p *Plan) { p.Syncs[0].Source = "" }, "sync.acme has no source"},
		{"no destination", func(p *Plan) { p.Syncs[0].Destination = "" }, "sync.acme has no destination"},
		{"no namespace", func(p *Plan) { p.Syncs[0].Namespace = "" }, "sync.acme has no namespace"},
		{"no serial", func(p *Plan) { p.Serials = map[string]int64{} }, "no serial for destination.duckdb.w"},
		{"due without tables", func(p *Plan) { p.Syncs[0].Tables = nil }, "is due but lists no tables"},
		{"unnamed table", func(p *Plan) { p.Syncs[0].Tables[0].Name = "" }, "tables[0] has no name"},
		{"repeated table", func(p *Plan) { p.Syncs[0].Tables = append(p.Syncs[0].Tables, p.Syncs[0].Tables[0]) }, "table issues appears twice"},
		{"bad mode", func(p *Plan) { p.Syncs[0].Tables[0].Mode = "" }, `mode "" is neither`},
		{"nil change", func(p *Plan) { p.Syncs[0].Changes = []*Change{nil} }, "a schema change is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := samplePlan()
			tc.edit(p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckFreshMissingSerial(t *testing.T) {
	p := samplePlan()
	err := p.CheckFresh("sha256:abc", map[string]int64{"destination.duckdb.w": 3, "destination.duckdb.other": 0})
	if err == nil || !strings.Contains(err.Error(), "no state serial for destination.duckdb.other") {
		t.Fatalf("CheckFresh = %v, want a stale error for the destination the plan has no serial of", err)
	}
}

func TestLooksLikePlan(t *testing.T) {
	var good bytes.Buffer
	if err := samplePlan().Write(&good); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, content string
		want          bool
	}{
		{"plan", good.String(), true},
		{"tampered plan", strings.Replace(good.String(), `"sha256:abc"`, `"sha256:abd"`, 1), true},
		{"configuration", "sync \"a\" {}\n", false},
		{"other JSON", `{"plan": "x"}`, false},
		{"binary", "DUCK\x00\x01\x02", false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := LooksLikePlan(path); got != tc.want {
				t.Fatalf("LooksLikePlan = %v, want %v", got, tc.want)
			}
		})
	}
	if LooksLikePlan(filepath.Join(t.TempDir(), "missing")) {
		t.Fatal("a missing file looks like a plan")
	}
}
