package config

import (
	"bytes"
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
