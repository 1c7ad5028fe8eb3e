package plan

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func samplePlan() *Plan {
	return &Plan{
		Version: FormatVersion, ConfigDigest: "sha256:abc", CreatedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		Serials: map[string]int64{"destination.duckdb.w": 3},
		Syncs: []*Sync{{Name: "acme", Due: true, Changes: []*Change{{Action: ActCreate, Table: "issues", Columns: 58}},
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
	if !strings.Contains(err.Error(), "another apply ran") || !strings.Contains(err.Error(), "configuration") {
		t.Fatalf("message does not say what changed: %v", err)
	}
}
