package addrs

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func traversal(t *testing.T, s string) hcl.Traversal {
	t.Helper()
	tr, diags := hclsyntax.ParseTraversalAbs([]byte(s), "test.hcl", hcl.Pos{Line: 3, Column: 5, Byte: 0})
	if diags.HasErrors() {
		t.Fatalf("parse %q: %s", s, diags.Error())
	}
	return tr
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Referenceable
		wantErr string
	}{
		{in: "source.jira.acme", want: Source{Type: "jira", Name: "acme"}},
		{in: "destination.duckdb.warehouse", want: Destination{Type: "duckdb", Name: "warehouse"}},
		{in: "sync.acme", want: Sync{Name: "acme"}},
		{in: "sync.acme.issues", want: Table{Sync: Sync{Name: "acme"}, Table: "issues"}},
		{in: "source.jira", wantErr: "two attribute names"},
		{in: "source.jira.acme.extra", wantErr: "two attribute names"},
		{in: "destination.duckdb", wantErr: "two attribute names"},
		{in: "sync", wantErr: "followed by a sync name"},
		{in: "sync.a.b.c", wantErr: "followed by a sync name"},
		{in: "var.token", wantErr: `"var" is not a referenceable object`},
		{in: `source.jira["acme"]`, wantErr: "index steps"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, diags := ParseRef(traversal(t, tt.in))
			if tt.wantErr != "" {
				if !diags.HasErrors() {
					t.Fatalf("ParseRef(%q) = %v, want error containing %q", tt.in, got, tt.wantErr)
				}
				d := diags[0]
				if !strings.Contains(d.Detail, tt.wantErr) {
					t.Errorf("detail = %q, want it to contain %q", d.Detail, tt.wantErr)
				}
				if d.Summary != "Invalid reference" {
					t.Errorf("summary = %q, want %q", d.Summary, "Invalid reference")
				}
				if d.Subject == nil || d.Subject.Filename != "test.hcl" || d.Subject.Start.Line != 3 || d.Subject.Start.Column != 5 {
					t.Errorf("subject = %v, want test.hcl:3,5", d.Subject)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatalf("ParseRef(%q): %s", tt.in, diags.Error())
			}
			if got != tt.want {
				t.Errorf("ParseRef(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestTypedParsers(t *testing.T) {
	if s, d := ParseSource(traversal(t, "source.jira.acme")); d.HasErrors() || s.Key() != "jira.acme" {
		t.Errorf("ParseSource = %v, %v", s, d)
	}
	if _, d := ParseSource(traversal(t, "destination.duckdb.w")); !d.HasErrors() {
		t.Error("ParseSource accepted a destination")
	}
	if dst, d := ParseDestination(traversal(t, "destination.duckdb.w")); d.HasErrors() || dst.Key() != "duckdb.w" {
		t.Errorf("ParseDestination = %v, %v", dst, d)
	}
	if _, d := ParseDestination(traversal(t, "sync.a")); !d.HasErrors() {
		t.Error("ParseDestination accepted a sync")
	}
	if s, d := ParseSync(traversal(t, "sync.a")); d.HasErrors() || s.Name != "a" {
		t.Errorf("ParseSync = %v, %v", s, d)
	}
	if _, d := ParseSync(traversal(t, "sync.a.issues")); !d.HasErrors() {
		t.Error("ParseSync accepted a table address")
	}
	if tb, d := ParseTable(traversal(t, "sync.a.issues")); d.HasErrors() || tb != (Sync{Name: "a"}).Table("issues") {
		t.Errorf("ParseTable = %v, %v", tb, d)
	}
	if _, d := ParseTable(traversal(t, "sync.a")); !d.HasErrors() {
		t.Error("ParseTable accepted a sync address")
	}
}

func TestParseStrings(t *testing.T) {
	tb, diags := ParseTableString("sync.acme.issue_comments")
	if diags.HasErrors() || tb.String() != "sync.acme.issue_comments" {
		t.Fatalf("ParseTableString = %v, %s", tb, diags.Error())
	}
	ref, diags := ParseRefString("sync.acme")
	if diags.HasErrors() || ref != (Sync{Name: "acme"}) {
		t.Fatalf("ParseRefString = %v, %s", ref, diags.Error())
	}
	for _, bad := range []string{"", "sync..x", "sync.acme.", "1sync", "sync acme"} {
		if _, diags := ParseRefString(bad); !diags.HasErrors() {
			t.Errorf("ParseRefString(%q) succeeded", bad)
		}
	}
}
