package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
)

// maxErrorBody is how much of an error response body HTTPError keeps.
const maxErrorBody = 512

// HTTPError is a non-2xx answer from Jira, after any retries. Body is trimmed
// and never contains the credentials. Error() gives the user advice.
type HTTPError struct {
	Method   string
	Endpoint string // path without query, e.g. /rest/api/3/issue/ABC-1/comment
	Table    string // the table being synced, when the caller set one with WithTable
	Status   int
	Messages []string // errorMessages, errors{field: msg}, message, detail ... from the body
	Body     string   // trimmed, secret-free
	Reason   string   // RateLimit-Reason header on 429
	Attempts int      // requests sent, including retries
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jira: %s %s: HTTP %d %s", e.Method, e.Endpoint, e.Status, http.StatusText(e.Status))
	b.WriteString(tableNote(e.Table))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if len(e.Messages) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Messages, "; "))
	}
	if advice := e.Advice(); advice != "" {
		fmt.Fprintf(&b, " — %s", advice)
	}
	return b.String()
}

// Advice is the user-facing hint for this status.
func (e *HTTPError) Advice() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "authentication failed: check the email and API token, or the PAT (Data Center); a scoped API token needs cloud_id"
	case http.StatusForbidden:
		if e.Table == "" || e.Table == DiscoverTable {
			return fmt.Sprintf("permission denied: the user needs the %q permission to read this data", Permission(e.Endpoint))
		}
		return fmt.Sprintf("permission denied: the user needs the %q permission to read table %s; grant it, or leave %q out of the sync's tables",
			Permission(e.Endpoint), e.Table, e.Table)
	case http.StatusNotFound:
		return "not found, or not visible to this user (Jira answers 404 for both)"
	case http.StatusGone:
		return "endpoint removed by Atlassian (CHANGE-2046); this jsync version uses an API that no longer exists"
	case http.StatusTooManyRequests:
		if ConcurrencyLimited(e.Reason) {
			return "refused by Jira for too many requests at once (" + e.Reason + "); lower concurrency or retry later"
		}
		if e.Reason != "" {
			return "rate limited by Jira (" + e.Reason + "); lower rate_limit or retry later"
		}
		return "rate limited by Jira; lower rate_limit or retry later"
	case http.StatusBadRequest:
		return "Jira rejected the request"
	}
	if e.Status >= 500 {
		return "Jira server error; retry later"
	}
	return ""
}

// transportAdvice is the user-facing hint for a request that got no answer
// because of a failure retrying does not mend: the site's certificate,
// plain HTTP where TLS was expected, or a host name that does not exist.
// source is the source's name and caFile its ca_file ("" if none), to
// name what to change; "" when there is no advice for err.
func transportAdvice(err error, source, caFile string) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		dnsErr    *net.DNSError
	)
	block := "the source block"
	if source != "" {
		block = fmt.Sprintf("source \"jira\" %q", source)
	}
	switch {
	case errors.As(err, &unknownCA):
		if caFile != "" {
			return fmt.Sprintf("the site's certificate is signed neither by a certificate authority in ca_file (%s) nor by one this system trusts: ca_file must hold the CA that issued the site's certificate (the root of its chain, in PEM), or fix the system trust store", caFile)
		}
		return fmt.Sprintf("the site's certificate is not signed by a trusted authority (a private CA, or a proxy that intercepts TLS?): set ca_file = \"path/to/ca.pem\" in %s to that CA's certificate (PEM), or add the CA to the system trust store", block)
	case errors.As(err, &hostname):
		return "the site's certificate is not valid for base_url's host name: use the host name the certificate names in base_url, or have the site's certificate reissued for this name"
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "the site's certificate (or one of its chain) has expired or is not valid yet: the site's administrator must renew it; if it looks current, check this machine's clock"
		case x509.NotAuthorizedToSign, x509.CANotAuthorizedForThisName, x509.CANotAuthorizedForExtKeyUsage, x509.IncompatibleUsage:
			return "the site's certificate chain is not valid for a TLS server (an issuer not allowed to sign it, or a certificate not meant for servers): the site's administrator must fix the certificate"
		}
		return "the site's certificate was refused: the site's administrator must fix it"
	case errors.Is(err, http.ErrSchemeMismatch):
		return "the server at base_url's address answered in plain HTTP, not HTTPS: check base_url's port (a Jira site is reached over https://, usually on port 443)"
	case errors.As(err, &record):
		return "the server at base_url's address does not speak TLS: check base_url's host and port"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "base_url's host name does not exist: check base_url for a typo, and the DNS (or VPN) this machine uses"
	}
	return ""
}

// Permission names the Jira permission an endpoint needs, for 403 advice.
func Permission(endpoint string) string {
	p := strings.ToLower(endpoint)
	switch {
	case strings.Contains(p, "/user"), strings.Contains(p, "/group"):
		return "Browse users and groups"
	case strings.Contains(p, "/role"):
		return "Administer Jira or Administer projects"
	case strings.Contains(p, "/worklog"):
		return "Browse projects (and worklog visibility)"
	case strings.Contains(p, "/rest/agile/"):
		return "Browse projects (on the board's filter projects)"
	case strings.Contains(p, "/field"), strings.Contains(p, "/status"), strings.Contains(p, "/priority"),
		strings.Contains(p, "/resolution"), strings.Contains(p, "/issuetype"), strings.Contains(p, "/projectcategory"):
		return "Browse projects (any project)"
	}
	return "Browse projects"
}

// errorMessages extracts human messages from the many error body shapes Jira
// uses: ErrorCollection, {message,status-code}, problem+json, XML status and
// plain text. HTML pages yield nothing (their text is noise).
func errorMessages(body []byte, contentType string) []string {
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return nil
	}
	var env struct {
		ErrorMessages   []string          `json:"errorMessages"`
		Errors          map[string]string `json:"errors"`
		WarningMessages []string          `json:"warningMessages"`
		Message         string            `json:"message"`
		Title           string            `json:"title"`
		Detail          string            `json:"detail"`
	}
	if json.Unmarshal(body, &env) == nil {
		var out []string
		out = append(out, env.ErrorMessages...)
		keys := make([]string, 0, len(env.Errors))
		for k := range env.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, k+": "+env.Errors[k])
		}
		if env.Message != "" {
			out = append(out, env.Message)
		}
		if env.Detail != "" {
			out = append(out, env.Detail)
		} else if env.Title != "" {
			out = append(out, env.Title)
		}
		return nonEmpty(out)
	}
	if strings.HasPrefix(trimmed, "<?xml") || strings.HasPrefix(trimmed, "<status") {
		var st struct {
			Message string `xml:"message"`
		}
		if xml.Unmarshal(body, &st) == nil && st.Message != "" {
			return []string{st.Message}
		}
		return nil
	}
	if strings.HasPrefix(trimmed, "<") || strings.Contains(contentType, "html") {
		return nil
	}
	if strings.HasPrefix(contentType, "text/plain") || contentType == "" {
		line, _, _ := strings.Cut(trimmed, "\n")
		return []string{truncate(line, 300)}
	}
	return nil
}

func nonEmpty(in []string) []string {
	out := in[:0]
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// redact replaces every secret in s.
// minSecretLen is the shortest secret redact replaces, as the CLI's
// redaction (config.MinRedactLen): replacing a one- to three-character
// string garbles every message ("Ge(sensitive) \"h(sensitive)ps://").
const minSecretLen = 4

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= minSecretLen {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

type tableKey struct{}

// DiscoverTable labels the requests made while connecting to a site
// (server info, the user, the field catalogue, the visible projects),
// which no table owns: WithTable(ctx, DiscoverTable) counts them apart in
// the request statistics. User-facing text never shows the label: errors
// and log lines say "while connecting to the site" instead.
const DiscoverTable = "_discover"

// tableNote is what an error adds after the status to say what the request
// was for: " (table T)", " (while connecting to the site)", or "".
func tableNote(table string) string {
	switch table {
	case "":
		return ""
	case DiscoverTable:
		return " (while connecting to the site)"
	}
	return " (table " + table + ")"
}

// tableAttr is the log attribute that says what a request was for: the
// table, or, for discovery, that it was made while connecting.
func tableAttr(table string) slog.Attr {
	if table == DiscoverTable {
		return slog.String("while", "connecting to the site")
	}
	return slog.String("table", table)
}

// WithTable records the table being synced in ctx; errors from requests made
// with that ctx name it (HTTPError.Table) and log lines carry it.
func WithTable(ctx context.Context, table string) context.Context {
	return context.WithValue(ctx, tableKey{}, table)
}

// TableFrom returns the table set by WithTable, or "".
func TableFrom(ctx context.Context) string {
	t, _ := ctx.Value(tableKey{}).(string)
	return t
}
