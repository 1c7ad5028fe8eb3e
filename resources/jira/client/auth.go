package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Auth holds the credentials for one Jira deployment. Exactly one mode is
// used:
//
//   - Cloud: Email + APIToken (HTTP basic). The same pair, with a scoped
//     token or a service account, works through the api.atlassian.com
//     gateway when Options.CloudID is set.
//   - Data Center: PAT (bearer), or Username + Password (HTTP basic).
//
// The zero Auth means anonymous access. The secrets never appear in String,
// GoString, LogValue, or any error produced by this package.
type Auth struct {
	Email    string
	APIToken string
	PAT      string
	Username string
	Password string
}

const redacted = "(sensitive)"

// Mode names the authentication mode: "api-token", "pat", "basic" or
// "anonymous".
func (a Auth) Mode() string {
	switch {
	case a.PAT != "":
		return "pat"
	case a.Email != "" || a.APIToken != "":
		return "api-token"
	case a.Username != "" || a.Password != "":
		return "basic"
	default:
		return "anonymous"
	}
}

func (a Auth) validate() error {
	modes := 0
	if a.PAT != "" {
		modes++
	}
	if a.Email != "" || a.APIToken != "" {
		modes++
		if a.Email == "" || a.APIToken == "" {
			return errors.New("auth: api-token mode needs both an email and an API token")
		}
	}
	if a.Username != "" || a.Password != "" {
		modes++
		if a.Username == "" || a.Password == "" {
			return errors.New("auth: basic mode needs both a username and a password")
		}
	}
	if modes > 1 {
		return errors.New("auth: set only one of email+api_token, pat, or username+password")
	}
	return nil
}

// header returns the Authorization header value, or "" for anonymous access.
func (a Auth) header() string {
	switch a.Mode() {
	case "pat":
		return "Bearer " + a.PAT
	case "api-token":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Email+":"+a.APIToken))
	case "basic":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
	}
	return ""
}

// secrets lists every string that must never be shown: the raw secrets and
// the encoded header forms that carry them.
func (a Auth) secrets() []string {
	var out []string
	for _, s := range []string{a.APIToken, a.PAT, a.Password} {
		if s != "" {
			out = append(out, s)
		}
	}
	if h := a.header(); h != "" {
		out = append(out, h, strings.TrimPrefix(strings.TrimPrefix(h, "Basic "), "Bearer "))
	}
	return out
}

func mask(s string) string {
	if s == "" {
		return `""`
	}
	return redacted
}

// String describes the credentials without revealing any secret.
func (a Auth) String() string {
	switch a.Mode() {
	case "pat":
		return fmt.Sprintf("Auth{mode: pat, PAT: %s}", mask(a.PAT))
	case "api-token":
		return fmt.Sprintf("Auth{mode: api-token, Email: %q, APIToken: %s}", a.Email, mask(a.APIToken))
	case "basic":
		return fmt.Sprintf("Auth{mode: basic, Username: %q, Password: %s}", a.Username, mask(a.Password))
	}
	return "Auth{mode: anonymous}"
}

// GoString is used by %#v; it redacts like String.
func (a Auth) GoString() string { return a.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x ...) redact.
func (a Auth) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(a.String()))
}

// LogValue implements slog.LogValuer: the mode and the non-secret identity only.
func (a Auth) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("mode", a.Mode())}
	switch a.Mode() {
	case "api-token":
		attrs = append(attrs, slog.String("email", a.Email), slog.String("api_token", redacted))
	case "basic":
		attrs = append(attrs, slog.String("username", a.Username), slog.String("password", redacted))
	case "pat":
		attrs = append(attrs, slog.String("pat", redacted))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON redacts, so that encoding a struct holding an Auth (a config
// dump, a JSON log handler) cannot leak it.
func (a Auth) MarshalJSON() ([]byte, error) {
	m := map[string]string{"mode": a.Mode()}
	switch a.Mode() {
	case "api-token":
		m["email"], m["api_token"] = a.Email, redacted
	case "basic":
		m["username"], m["password"] = a.Username, redacted
	case "pat":
		m["pat"] = redacted
	}
	return json.Marshal(m)
}
