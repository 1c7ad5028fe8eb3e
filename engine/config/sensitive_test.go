package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestSecretsNeverPrinted provokes errors next to and involving every kind
// of secret, and checks that neither the diagnostics nor their rendering
// (ours and HCL's own text writer) contain a secret.
func TestSecretsNeverPrinted(t *testing.T) {
	src := `
variable "token" {
  sensitive = true
}

variable "number_secret" {
  type      = number
  sensitive = true
}

locals {
  header = "Bearer ${var.token}"
}

source "jira" "a" {
  base_url              = "https://a.atlassian.net"
  email                 = "a@a.example"
  api_token             = var.token
  personal_access_token = "literal-pat-secret-777"
  concurrency           = var.token
  rate_limit            = var.token + 1
}

source "jira" "b" {
  base_url  = "https://b.atlassian.net"
  username  = local.header
  password  = env("JIRA_TOKEN")
  projects  = [local.header, ""]
}
`
	secrets := []string{"cli-token-secret-123", "literal-pat-secret-777", "env-token-0123456789", "Bearer cli-token-secret-123"}
	cfg, diags := loadString(t, src, func(o *LoadOptions) {
		o.Vars = map[string]string{"token": "cli-token-secret-123", "number_secret": "not-a-number-secret-55"}
	})
	if !diags.HasErrors() {
		t.Fatal("expected errors")
	}
	for _, s := range secrets {
		if !contains(cfg.Sensitive, s) {
			t.Errorf("Sensitive lacks %q (have %q)", s, cfg.Sensitive)
		}
	}
	secrets = append(secrets, "not-a-number-secret-55")

	var hclOut bytes.Buffer
	wr := hcl.NewDiagnosticTextWriter(&hclOut, cfg.Files, 0, false)
	if err := wr.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"diagnostics":      diags.Error(),
		"WriteDiagnostics": render(t, cfg, diags),
		"hcl text writer":  hclOut.String(),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) && name != "hcl text writer" {
				t.Errorf("%s output contains the secret %q:\n%s", name, s, out)
			}
		}
	}
	// HCL's own writer prints source snippets unredacted (the literal PAT
	// is in the file), but never evaluated secret values.
	for _, s := range []string{"cli-token-secret-123", "env-token-0123456789", "not-a-number-secret-55"} {
		if strings.Contains(hclOut.String(), s) {
			t.Errorf("hcl text writer output contains %q:\n%s", s, hclOut.String())
		}
	}
	ours := outputs["WriteDiagnostics"]
	if !strings.Contains(ours, Redacted) {
		t.Errorf("WriteDiagnostics output shows no redaction:\n%s", ours)
	}
	for _, want := range []string{"Conflicting credentials", "Incorrect attribute value type", "Invalid value for variable", "Invalid project key"} {
		if !strings.Contains(ours, want) {
			t.Errorf("output lacks %q:\n%s", want, ours)
		}
	}
}

func TestRedact(t *testing.T) {
	c := &Config{Sensitive: []string{"abcdef-long", "abcdef", "xyz"}}
	got := c.Redact("token abcdef-long and abcdef and xyz")
	want := "token (sensitive) and (sensitive) and xyz"
	if got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

// TestInvalidSensitiveValuesNeverPrinted sets a sensitive variable to
// invalid values from every input (a variables file, -var, the environment)
// and checks that no rendering of the diagnostics, source lines included,
// shows the value.
func TestInvalidSensitiveValuesNeverPrinted(t *testing.T) {
	src := `
variable "tok" {
  sensitive = true
  type      = number
}

source "jira" "x" {
  simulator {
    issues = 10
  }
}
`
	tests := []struct {
		name    string
		varFile string
		vars    map[string]string
		env     string
		secrets []string
		// snippet is the redacted source line the output must show ("" for
		// none).
		snippet string
		summary string
	}{
		{name: "var-file wrong type", varFile: `tok = "VARFILESECRET1"`, secrets: []string{"VARFILESECRET1"},
			snippet: "    1: tok = (sensitive)\n             ^^^^^^^^^^^\n", summary: "Invalid value for variable"},
		{name: "var-file expression error", varFile: `tok = "VARFILESECRET4" + 1`, secrets: []string{"VARFILESECRET4"},
			snippet: "    1: tok = (sensitive)\n             ^^^^^^^^^^^\n", summary: "Invalid operand"},
		{name: "var-file number for a bool", varFile: "tok = [\n  \"LISTSECRET77\",\n  123456,\n]", secrets: []string{"LISTSECRET77", "123456"},
			snippet: "    1: tok = [\n", summary: "Invalid value for variable"},
		{name: "var-file template error", varFile: `tok = "VARFILE${SECRET5}"`, secrets: []string{"VARFILE", "SECRET5"},
			snippet: "    1: tok = (sensitive)\n", summary: "Variables not allowed"},
		{name: "var-file that does not parse", varFile: "tok = \"VARFILESECRET6\" \"VARFILESECRET7\"", secrets: []string{"VARFILESECRET6", "VARFILESECRET7"},
			summary: "Missing newline after argument"},
		{name: "-var", vars: map[string]string{"tok": "FLAGSECRET-22"}, secrets: []string{"FLAGSECRET-22"}, summary: "Invalid value for variable"},
		{name: "environment", env: "ENVSECRET-33", secrets: []string{"ENVSECRET-33"}, summary: "Invalid value for variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := loadString(t, src, func(o *LoadOptions) {
				o.Vars = tt.vars
				if tt.varFile != "" {
					o.VarFiles = []string{filepath.Join(writeFiles(t, map[string]string{"s.vars": tt.varFile}), "s.vars")}
				}
				if tt.env != "" {
					o.Getenv = func(k string) (string, bool) { return tt.env, k == EnvVarPrefix+"tok" }
				}
			})
			out := render(t, cfg, diags)
			if !strings.Contains(out, tt.summary) {
				t.Errorf("output lacks %q:\n%s", tt.summary, out)
			}
			for _, s := range tt.secrets {
				if strings.Contains(out, s) || strings.Contains(diags.Error(), s) {
					t.Errorf("output contains the secret %q:\n%s", s, out)
				}
			}
			if !strings.Contains(out, tt.snippet) {
				t.Errorf("output lacks the snippet %q:\n%s", tt.snippet, out)
			}
		})
	}
}

// TestSnippetRedaction checks that the underline of a source line stays
// under the same text when a secret in the line is redacted.
func TestSnippetRedaction(t *testing.T) {
	const (
		line     = `  a = "SECRET-123456789" + "x" # SECRET-123456789`
		redacted = `  a = "(sensitive)" + "x" # (sensitive)`
	)
	tests := []struct {
		name       string
		secrets    []string
		start, end int // columns of the subject on line 1; end 0: on line 2
		wantLine   string
		wantUnder  string
	}{
		{name: "no secret", start: 7, end: 25, wantLine: line, wantUnder: "      ^^^^^^^^^^^^^^^^^^"},
		{name: "subject is the secret", secrets: []string{`"SECRET-123456789"`, "SECRET-123456789"}, start: 7, end: 25,
			wantLine: `  a = (sensitive) + "x" # (sensitive)`, wantUnder: "      ^^^^^^^^^^^"},
		{name: "subject after the secret", secrets: []string{"SECRET-123456789"}, start: 28, end: 31,
			wantLine: redacted, wantUnder: "                      ^^^"},
		{name: "subject begins inside the secret", secrets: []string{"SECRET-123456789"}, start: 10, end: 31,
			wantLine: redacted, wantUnder: "       ^^^^^^^^^^^^^^^^^^"},
		{name: "subject ends inside the secret", secrets: []string{"SECRET-123456789"}, start: 3, end: 12,
			wantLine: redacted, wantUnder: "  ^^^^^^^^^^^^^^^^"},
		{name: "overlapping secrets merge", secrets: []string{"SECRET-1234", "T-123456789"}, start: 7, end: 25,
			wantLine: redacted, wantUnder: "      ^^^^^^^^^^^^^"},
		{name: "short secrets are kept", secrets: []string{"a"}, start: 3, end: 4, wantLine: line, wantUnder: "  ^"},
		{name: "multi-line subject", secrets: []string{"SECRET-123456789"}, start: 32, end: 0,
			wantLine: redacted, wantUnder: "                          ^^^^^^^^^^^^^"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hcl.Range{Filename: "f", Start: hcl.Pos{Line: 1, Column: tt.start}, End: hcl.Pos{Line: 1, Column: tt.end}}
			if tt.end == 0 {
				r.End = hcl.Pos{Line: 2, Column: 1}
			}
			var buf strings.Builder
			writeSnippet(&buf, []byte(line+"\nnext line\n"), r, tt.secrets)
			want := "    1: " + tt.wantLine + "\n       " + tt.wantUnder + "\n"
			if got := buf.String(); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestBaseURLCredentialsNeverPrinted: credentials in base_url are refused,
// and the snippet of the refusal (the line as written) hides them, also
// when they are percent-encoded or make the URL unparsable, and when a
// token stands alone as the user.
func TestBaseURLCredentialsNeverPrinted(t *testing.T) {
	tests := []struct {
		name, url, secret, summary string
	}{
		{"password", "https://me:PlainSecretPw@a.atlassian.net", "PlainSecretPw", "Credentials in base_url"},
		{"percent-encoded password", "https://me:Sup3r%40SecretPw@a.atlassian.net", "SecretPw", "Credentials in base_url"},
		{"password with a space", "https://me:My Secret^Pw@a.atlassian.net", "Secret^Pw", "Invalid base_url"},
		{"password with a bad escape", "https://me:MySecret%zzPw@a.atlassian.net", "MySecret", "Invalid base_url"},
		{"token as the user", "https://ATATTtokenSecret9@a.atlassian.net/jira", "ATATTtokenSecret9", "Credentials in base_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := loadString(t, `
source "jira" "a" {
  base_url  = "`+tc.url+`"
  email     = "a@a.example"
  api_token = "x"
}
`, nil)
			out := render(t, cfg, diags)
			if !strings.Contains(out, tc.summary) {
				t.Fatalf("want %q:\n%s", tc.summary, out)
			}
			if strings.Contains(out, tc.secret) {
				t.Errorf("the output shows %q:\n%s", tc.secret, out)
			}
			if !strings.Contains(out, Redacted) {
				t.Errorf("the snippet shows no redaction:\n%s", out)
			}
		})
	}
}
