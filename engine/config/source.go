package config

import (
	"cmp"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // validate simulator tz without depending on the host's zoneinfo

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// SourceTypes lists the supported source types.
var SourceTypes = []string{"jira"}

// SimulatorFlavors lists the simulated deployments.
var SimulatorFlavors = []string{"cloud", "datacenter"}

// SimulatorCaps lists the simulator's per-issue collection caps.
var SimulatorCaps = []string{"comments", "histories", "worklogs"}

// syncOnlyArgs are sync arguments people put in the wrong block; the schemas
// accept them so the loader can say where they belong.
var syncOnlyArgs = []string{"tables", "columns", "schedule", "depends_on"}

var jiraSourceSchema = &hcl.BodySchema{
	Attributes: withMisplaced([]hcl.AttributeSchema{
		{Name: "base_url"},
		{Name: "cloud_id"},
		{Name: "email"},
		{Name: "api_token"},
		{Name: "personal_access_token"},
		{Name: "username"},
		{Name: "password"},
		{Name: "ca_file"},
		{Name: "start_date"},
		{Name: "projects"},
		{Name: "rate_limit"},
		{Name: "concurrency"},
		{Name: "delete_sweep_interval"},
	}),
	Blocks: []hcl.BlockHeaderSchema{{Type: "simulator"}},
}

var simulatorSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "issues"},
		{Name: "seed"},
		{Name: "flavor"},
		{Name: "caps"},
		{Name: "tz"},
	},
}

func withMisplaced(attrs []hcl.AttributeSchema) []hcl.AttributeSchema {
	for _, n := range syncOnlyArgs {
		attrs = append(attrs, hcl.AttributeSchema{Name: n})
	}
	return attrs
}

// reportMisplaced reports sync-only arguments found in another block.
func (l *loader) reportMisplaced(attrs hcl.Attributes, blockKind string) {
	for _, n := range syncOnlyArgs {
		if a := attrs[n]; a != nil {
			l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Misplaced argument",
				"%q is an argument of a sync block, not of a %s block. Move it into the sync block that uses this %s.", n, blockKind, blockKind))
		}
	}
}

func (l *loader) decodeSources() {
	for _, b := range l.blocks["source"] {
		typ, name := b.Labels[0], b.Labels[1]
		if !contains(SourceTypes, typ) {
			l.diags = append(l.diags, errorf(b.LabelRanges[0].Ptr(), "Unsupported source type",
				"There is no source type %q.%s The supported source types are: %s.", typ, didYouMean(typ, SourceTypes), strings.Join(SourceTypes, ", ")))
			continue
		}
		if !l.checkName(b, 1, "source") {
			continue
		}
		if strings.EqualFold(name, ReservedSchema) {
			// A source's tables go to the schema (directory) of its name.
			l.diags = append(l.diags, errorf(b.LabelRanges[1].Ptr(), "Reserved source name",
				"%q is the name of jsync's own schema, where a source's tables would go. Rename the source.", name))
			continue
		}
		key := typ + "." + name
		if prev, ok := l.cfg.Sources[key]; ok {
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Duplicate source",
				"A source %q %q was already declared at %s. Source names must be unique per type; rename or remove one of them.", typ, name, prev.DeclRange))
			continue
		}
		s := &Source{Type: typ, Name: name, DeclRange: b.DefRange}
		l.cfg.Sources[key] = s
		l.decodeJiraSource(b, s)
	}
}

func (l *loader) decodeJiraSource(b *hcl.Block, s *Source) {
	content, diags := b.Body.Content(jiraSourceSchema)
	l.diags = append(l.diags, diags...)
	attrs := content.Attributes
	l.reportMisplaced(attrs, "source")

	var simAttrs hcl.Attributes
	for i, sb := range content.Blocks {
		if i > 0 {
			l.diags = append(l.diags, errorf(sb.DefRange.Ptr(), "Duplicate simulator block",
				"A source can have only one simulator block; the first is at %s.", content.Blocks[0].DefRange))
			continue
		}
		s.Simulator, simAttrs = l.decodeSimulator(sb)
	}

	strField := func(name string, dst *string) {
		if v, ok := l.str(attrs[name]); ok {
			*dst = v
		}
	}
	strField("base_url", &s.BaseURL)
	strField("cloud_id", &s.CloudID)
	strField("email", &s.Email)
	strField("api_token", &s.APIToken)
	strField("personal_access_token", &s.PAT)
	strField("username", &s.Username)
	strField("password", &s.Password)
	l.addSecret(s.APIToken, s.PAT, s.Password)
	if v, ok := l.str(attrs["ca_file"]); ok {
		s.CAFile = l.resolvePath(attrs["ca_file"].Range, v)
		l.checkCAFile(attrs["ca_file"], s.CAFile)
	}
	if a := attrs["start_date"]; a != nil {
		if v, ok := l.str(a); ok {
			t, err := parseStartDate(v)
			if err != nil {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid start_date",
					"%s. Use a date such as \"2025-11-29\" or an RFC 3339 timestamp such as \"2025-11-29T00:00:00Z\".", err))
			} else {
				s.StartDate = t
				if t.After(time.Now()) {
					l.diags = append(l.diags, warnf(a.Expr.Range().Ptr(), "Future start_date",
						"start_date %s is in the future: only issues updated since then are synced, so none are until that day. Did you mean an earlier year?", t.Format("2006-01-02")))
				}
			}
		}
	}
	if a := attrs["projects"]; a != nil {
		if projects, ranges, ok := l.strList(a); ok {
			if len(projects) == 0 {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Empty project list",
					"projects is an empty list, which would select no project. Remove the argument to sync every project the account can see, or list the project keys to sync, for example projects = [\"ENG\", \"OPS\"]."))
			}
			for i, p := range projects {
				if strings.TrimSpace(p) == "" || strings.ContainsAny(p, " \t\",()") {
					l.diags = append(l.diags, errorf(ranges[i].Ptr(), "Invalid project key",
						"%q is not a Jira project key. Use keys such as \"ENG\".", p))
				}
			}
			s.Projects = projects
		}
	}
	if a := attrs["rate_limit"]; a != nil {
		if f, ok := l.number(a); ok {
			v, _ := f.Float64()
			if v <= 0 || math.IsInf(v, 0) {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid rate_limit",
					"rate_limit is the maximum number of requests per second and must be positive. Remove it to use the default."))
			} else {
				s.RateLimit = v
			}
		}
	}
	if a := attrs["concurrency"]; a != nil {
		if v, ok := l.integer(a, 1, 64); ok {
			s.Concurrency = int(v)
		}
	}
	if a := attrs["delete_sweep_interval"]; a != nil {
		if v, ok := l.str(a); ok {
			d, err := parseDuration(v)
			switch {
			case err != nil:
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid delete_sweep_interval",
					"%s. Use a duration such as \"24h\" or \"7d\".", capitalize(err.Error())))
			case d <= 0:
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid delete_sweep_interval",
					"delete_sweep_interval must be positive. Remove it to use the default."))
			default:
				s.DeleteSweepInterval = d
			}
		}
	}

	l.checkBaseURL(b, attrs, s)
	l.checkSimulatorArgs(attrs, simAttrs, s)
	l.checkCredentials(b, attrs, s)
}

// startsSimulator reports whether jsync starts the source's simulated site
// itself, in-process: a simulator block and no base_url (or one in error,
// reported already). With a base_url, the simulator block means a jirasim
// started separately on this machine.
func startsSimulator(s *Source) bool {
	return s.Simulator != nil && s.BaseURL == ""
}

// localSimulator reports whether the source is a jirasim started
// separately on this machine: a simulator block and a loopback base_url.
func localSimulator(s *Source) bool {
	if s.Simulator == nil || s.BaseURL == "" {
		return false
	}
	u, err := url.Parse(s.BaseURL)
	return err == nil && LoopbackHost(u.Hostname())
}

// LoopbackHost reports whether host (a URL's Hostname()) names this
// machine: localhost, 127.0.0.0/8 or ::1. A source with a simulator block
// and a base_url may only connect there, to a jirasim started separately:
// anything else may be a real site, which must not get credentials over
// http:// nor be mistaken for a simulator.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkSimulatorArgs reports what a simulator block cannot go with: the
// simulator's own settings when jsync does not start it (base_url set:
// they configure nothing), and cloud_id, which routes requests to
// Atlassian's gateway instead of the simulated site.
func (l *loader) checkSimulatorArgs(attrs, simAttrs hcl.Attributes, s *Source) {
	if s.Simulator == nil {
		return
	}
	if a := attrs["cloud_id"]; a != nil {
		l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Unsupported argument for the simulator",
			"cloud_id sends every request to a Jira Cloud site through Atlassian's gateway (api.atlassian.com), not to the simulator. Remove cloud_id, or remove the simulator block to sync a real site."))
	}
	if attrs["base_url"] == nil {
		return
	}
	for _, name := range sortedKeys(simAttrs) {
		a := simAttrs[name]
		l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Simulator setting without effect",
			"%s configures the simulated site that jsync starts itself, when the source has no base_url. With base_url set, jsync connects to a jirasim started separately (set it with jirasim's flags) and starts none. Remove %s, or remove base_url to have jsync start the simulator.", name, name))
	}
}

func (l *loader) checkBaseURL(b *hcl.Block, attrs hcl.Attributes, s *Source) {
	a := attrs["base_url"]
	if a == nil {
		if s.Simulator == nil {
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Missing base_url",
				"A Jira source needs base_url = \"https://your-site.atlassian.net\", or a simulator block for the built-in simulated site."))
		}
		return
	}
	if s.BaseURL == "" {
		// Evaluation failed (reported), or the value is empty: without
		// this check an empty base_url would pass and fail at the first
		// request, or, with a simulator block, start the built-in site.
		if l.evaluatedEmpty(a) {
			fix := "Set it to the site's address, such as \"https://acme.atlassian.net\" (check the variable or environment variable it comes from)."
			if s.Simulator != nil {
				fix = "Remove base_url to have jsync start the built-in simulator, or set it to the address of a jirasim started on this machine, such as \"http://127.0.0.1:8080\"."
			}
			l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid base_url", "base_url is empty. %s", fix))
		}
		return
	}
	// Before parsing, which may fail on them: a diagnostic's snippet shows
	// the text as written.
	l.addSecret(userinfoSecrets(s.BaseURL)...)
	u, err := url.Parse(s.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid base_url",
			"base_url must be an absolute URL such as \"https://acme.atlassian.net\"."))
		return
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s.BaseURL, "#") {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid base_url",
			"base_url must not have a query (?...) or fragment (#...): give the site's address alone, such as \"https://acme.atlassian.net\" (or \"https://jira.example.com/jira\" for a context path)."))
	}
	if u.User != nil {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Credentials in base_url",
			"base_url must not contain credentials. Use email + api_token, personal_access_token, or username + password instead."))
	}
	if s.Simulator != nil {
		// A jirasim started separately. Only on this machine: a simulator
		// block must not turn off HTTPS (and the simulator's leniency)
		// for a real site.
		if !LoopbackHost(u.Hostname()) {
			fix := "To sync a real Jira site, remove the simulator block"
			if u.Scheme == "http" {
				fix += " and use an https:// URL"
			}
			l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Simulator with a remote base_url",
				"A simulator block is only for jsync's built-in simulated site (no base_url) or a jirasim started on this machine, so base_url must be on localhost, 127.0.0.0/8 or ::1, and this one is not. %s. To use the built-in simulator, remove base_url.", fix))
		}
		return
	}
	if u.Scheme == "http" {
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Insecure base_url",
			"HTTPS is required: Jira credentials would travel unencrypted over http://. Use an https:// URL. Only a jirasim on this machine (a source with a simulator block and a localhost base_url) may use http://."))
	}
}

// userinfoSecrets returns what may be a secret in the userinfo of a URL
// (scheme://userinfo@host/...): the password as written and decoded, or,
// without a password, the whole userinfo, which may be a token.
func userinfoSecrets(raw string) []string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return nil
	}
	info := rest[:at]
	secret := info
	if _, pass, ok := strings.Cut(info, ":"); ok {
		secret = pass
	}
	if secret == "" {
		return nil
	}
	out := []string{secret}
	if dec, err := url.PathUnescape(secret); err == nil && dec != secret {
		out = append(out, dec)
	}
	return out
}

// credential modes, in the order they are described to users.
var credentialModes = []struct {
	name string
	args []string
	help string
}{
	{"cloud", []string{"email", "api_token"}, "email + api_token (Jira Cloud)"},
	{"pat", []string{"personal_access_token"}, "personal_access_token (Data Center)"},
	{"basic", []string{"username", "password"}, "username + password (Data Center)"},
}

// modeHelp describes the credential mode named name.
func modeHelp(name string) string {
	for _, m := range credentialModes {
		if m.name == name {
			return m.help
		}
	}
	return name
}

const credentialHelp = "Set exactly one of: email + api_token (Jira Cloud), personal_access_token (Data Center), or username + password (Data Center). Keep secrets out of files: use var.<name> with sensitive = true, or env(\"NAME\")."

func (l *loader) checkCredentials(b *hcl.Block, attrs hcl.Attributes, s *Source) {
	var used []int
	for i, m := range credentialModes {
		for _, arg := range m.args {
			if attrs[arg] != nil {
				used = append(used, i)
				break
			}
		}
	}
	if len(used) == 0 {
		// Only the site jsync starts itself has an account of its own; a
		// jirasim started separately takes the credentials it was given.
		if !startsSimulator(s) {
			help := credentialHelp
			if localSimulator(s) {
				help = "A jirasim started separately takes the credentials of its -email and -token (Cloud) or -pat (Data Center) flags; set the same here. " + credentialHelp
			}
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Missing credentials",
				"The source %s has no credentials. %s", s.Addr(), help))
		}
		return
	}
	if len(used) > 1 {
		var names []string
		for _, i := range used {
			names = append(names, credentialModes[i].help)
		}
		second := credentialModes[used[1]]
		var subject *hcl.Range
		for _, arg := range second.args {
			if a := attrs[arg]; a != nil {
				subject = a.NameRange.Ptr()
				break
			}
		}
		l.diags = append(l.diags, errorf(subject, "Conflicting credentials",
			"The source %s sets more than one credential mode: %s. %s", s.Addr(), strings.Join(names, " and "), credentialHelp))
		return
	}
	m := credentialModes[used[0]]
	if sim := s.Simulator; startsSimulator(s) {
		// The built-in site accepts the credentials of its flavor, which
		// then replace its own.
		want := "cloud"
		if sim.Flavor == "datacenter" {
			want = "pat"
		}
		if m.name != want {
			flavor := cmp.Or(sim.Flavor, "cloud")
			a := attrs[m.args[0]]
			if a == nil {
				a = attrs[m.args[1]]
			}
			l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Unsupported credentials for the simulator",
				"The built-in simulated site (flavor %q) accepts %s only, or no credentials at all. Remove %s, or set flavor to the deployment that uses them.",
				flavor, modeHelp(want), strings.Join(m.args, " and ")))
			return
		}
	}
	values := map[string]string{"email": s.Email, "api_token": s.APIToken, "personal_access_token": s.PAT, "username": s.Username, "password": s.Password}
	for _, arg := range m.args {
		a := attrs[arg]
		if a == nil {
			var present *hcl.Attribute
			for _, other := range m.args {
				if attrs[other] != nil {
					present = attrs[other]
				}
			}
			l.diags = append(l.diags, errorf(present.NameRange.Ptr(), "Missing credentials",
				"%s is set, so %s is needed too: the credential mode is %s.", present.Name, arg, m.help))
			continue
		}
		if values[arg] == "" && l.evaluatedEmpty(a) {
			l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Missing credentials",
				"%s is empty. Set it to a non-empty value (check the variable or environment variable it comes from).", arg))
		}
	}
}

// evaluatedEmpty reports whether an attribute evaluates, without errors, to
// the empty string. It re-evaluates quietly: errors were reported already.
func (l *loader) evaluatedEmpty(a *hcl.Attribute) bool {
	saved := len(l.diags)
	v, ok := l.evalRaw(a)
	l.diags = l.diags[:saved]
	if !ok || !v.IsWhollyKnown() || v.IsNull() {
		return false
	}
	v, _ = v.UnmarkDeep()
	return v.Type() == cty.String && v.AsString() == ""
}

// decodeSimulator decodes a simulator block, and returns its attributes
// too, for the checks that depend on the rest of the source.
func (l *loader) decodeSimulator(b *hcl.Block) (*Simulator, hcl.Attributes) {
	sim := &Simulator{}
	content, diags := b.Body.Content(simulatorSchema)
	l.diags = append(l.diags, diags...)
	attrs := content.Attributes
	if v, ok := l.integer(attrs["issues"], 0, 10_000_000); ok {
		sim.Issues = int(v)
	}
	if v, ok := l.integer(attrs["seed"], math.MinInt64, math.MaxInt64); ok {
		sim.Seed = v
	}
	if a := attrs["flavor"]; a != nil {
		if v, ok := l.str(a); ok {
			if !contains(SimulatorFlavors, v) {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid simulator flavor",
					"There is no simulator flavor %q.%s Use one of: %s.", v, didYouMean(v, SimulatorFlavors), strings.Join(SimulatorFlavors, ", ")))
			} else {
				sim.Flavor = v
			}
		}
	}
	if a := attrs["caps"]; a != nil {
		if v, ok := l.eval(a, cty.Map(cty.Number)); ok {
			sim.Caps = map[string]int{}
			keys := keyRanges(a.Expr)
			caps := v.AsValueMap()
			for _, k := range sortedKeys(caps) {
				n := caps[k]
				subject, keySubject := a.Expr.Range().Ptr(), a.Expr.Range().Ptr()
				if e, ok := keys[k]; ok {
					subject, keySubject = e[1].Range().Ptr(), e[0].Range().Ptr()
				}
				if !contains(SimulatorCaps, k) {
					l.diags = append(l.diags, errorf(keySubject, "Unsupported simulator cap",
						"There is no simulator cap %q.%s The caps are: %s.", k, didYouMean(k, SimulatorCaps), strings.Join(SimulatorCaps, ", ")))
					continue
				}
				i, acc := n.AsBigFloat().Int64()
				if acc != big.Exact || i < 0 || i > math.MaxInt32 {
					l.diags = append(l.diags, errorf(subject, "Invalid simulator cap",
						"The cap %q must be a whole number of at least 0.", k))
					continue
				}
				sim.Caps[k] = int(i)
			}
		}
	}
	if a := attrs["tz"]; a != nil {
		if v, ok := l.str(a); ok {
			if _, err := time.LoadLocation(v); err != nil || v == "" {
				l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid time zone",
					"%q is not an IANA time zone name. Use one such as \"UTC\" or \"Europe/Berlin\".", v))
			} else {
				sim.TZ = v
			}
		}
	}
	return sim, attrs
}

// parseStartDate accepts YYYY-MM-DD (midnight UTC) or RFC 3339.
func parseStartDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a valid date", s)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkCAFile reports a ca_file that cannot be read or holds no PEM
// certificate: the connection would fail at the first request.
func (l *loader) checkCAFile(a *hcl.Attribute, path string) {
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Unreadable ca_file",
			"%s. ca_file is a PEM file of the certificate authorities to trust, relative to the configuration file's directory.", err))
	case !hasPEMCertificate(b):
		l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid ca_file",
			"%s holds no PEM certificate (-----BEGIN CERTIFICATE-----). Export the certificate authority in PEM format.", path))
	}
}

// hasPEMCertificate reports whether b holds a PEM CERTIFICATE block.
func hasPEMCertificate(b []byte) bool {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			return true
		}
	}
}
