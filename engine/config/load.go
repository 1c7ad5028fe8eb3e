package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// rootSchema lists the top-level blocks. "simulator" is not valid at the top
// level; it is listed so the loader can say where it belongs.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "destination", LabelNames: []string{"type", "name"}},
		{Type: "sync", LabelNames: []string{"name"}},
		{Type: "simulator"},
	},
}

// LoadDir loads every *.hcl file in dir, in sorted order.
func LoadDir(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.hcl"))
	if err != nil {
		return emptyConfig(), hcl.Diagnostics{errorf(nil, "Cannot read configuration directory", "List %s: %s.", dir, err)}
	}
	if len(paths) == 0 {
		return emptyConfig(), hcl.Diagnostics{errorf(nil, "No configuration files",
			"The directory %s contains no *.hcl files. Create one (see examples/quickstart.hcl) or pass -chdir=DIR.", dir)}
	}
	return LoadFiles(paths, opts)
}

// LoadFiles loads the given files. They are read in sorted order, so the
// result does not depend on argument order, and each once: paths naming the
// same file (main.hcl, ./main.hcl) are loaded as the first of them.
//
// The returned Config is never nil. When the diagnostics contain errors it is
// partial: only Files and Sensitive are meant to be used, to render the
// diagnostics with WriteDiagnostics.
func LoadFiles(paths []string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	sorted := append([]string(nil), paths...)
	sort.Strings(sorted)
	srcs := make([]fileSource, 0, len(sorted))
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, p := range sorted {
		key, err := filepath.Abs(p)
		if err != nil {
			key = filepath.Clean(p)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		b, err := os.ReadFile(p)
		if err != nil {
			diags = append(diags, errorf(nil, "Cannot read configuration file", "Read %s: %s.", p, err))
			continue
		}
		srcs = append(srcs, fileSource{Name: p, Src: b})
	}
	cfg, more := load(srcs, opts)
	return cfg, append(diags, more...)
}

// fileSource is one configuration file's name and content.
type fileSource struct {
	Name string
	Src  []byte
}

func emptyConfig() *Config {
	return &Config{
		Files:        map[string]*hcl.File{},
		Variables:    map[string]*Variable{},
		Sources:      map[string]*Source{},
		Destinations: map[string]*Destination{},
		Syncs:        map[string]*Sync{},
	}
}

// loader holds the state of one load.
type loader struct {
	opts   LoadOptions
	getenv func(string) (string, bool)
	parser *hclparse.Parser
	cfg    *Config
	diags  hcl.Diagnostics

	// blocks by type, in file order.
	blocks map[string][]*hcl.Block
	// dirOf maps a file name to its directory, for file() and relative paths.
	dirOf map[string]string

	locals      map[string]*local
	localValues map[string]cty.Value
	varValues   map[string]cty.Value // marked when sensitive
	// secrets collects every secret string seen during evaluation.
	secrets map[string]bool
	// funcs caches the function table per directory.
	funcs map[string]map[string]function.Function
	// syncDeps records where each sync's depends_on entries are written.
	syncDeps map[string][]syncDep
}

// local is one entry of a locals block.
type local struct {
	Name string
	Attr *hcl.Attribute
}

func load(srcs []fileSource, opts LoadOptions) (cfg *Config, diags hcl.Diagnostics) {
	l := &loader{
		opts:        opts,
		getenv:      opts.Getenv,
		parser:      hclparse.NewParser(),
		cfg:         emptyConfig(),
		blocks:      map[string][]*hcl.Block{},
		dirOf:       map[string]string{},
		locals:      map[string]*local{},
		localValues: map[string]cty.Value{},
		varValues:   map[string]cty.Value{},
		secrets:     map[string]bool{},
		funcs:       map[string]map[string]function.Function{},
		syncDeps:    map[string][]syncDep{},
	}
	if l.getenv == nil {
		l.getenv = os.LookupEnv
	}
	defer func() {
		l.cfg.Sensitive = l.sensitiveList()
		l.diags = dedupeDiagnostics(l.diags)
		scrubDiagnostics(l.diags, l.cfg.Sensitive)
		sortDiagnostics(l.diags)
		cfg, diags = l.cfg, l.diags
	}()

	for _, s := range srcs {
		l.parseFile(s)
	}
	l.declareVariables()
	l.resolveVariables()
	l.evalLocals()
	l.decodeSources()
	l.decodeDestinations()
	l.decodeSyncs()
	l.checkSyncCycles()
	l.checkOneWriter()
	l.checkPartitions()
	if !l.diags.HasErrors() {
		l.cfg.Digest = l.digest(srcs)
	}
	return
}

func (l *loader) parseFile(s fileSource) {
	f, diags := l.parser.ParseHCL(s.Src, s.Name)
	l.diags = append(l.diags, diags...)
	if f == nil || f.Body == nil {
		return
	}
	l.cfg.Files[s.Name] = f
	l.dirOf[s.Name] = filepath.Dir(s.Name)
	content, diags := f.Body.Content(rootSchema)
	l.diags = append(l.diags, diags...)
	for _, b := range content.Blocks {
		if b.Type == "simulator" {
			l.diags = append(l.diags, errorf(b.TypeRange.Ptr(), "Misplaced simulator block",
				`A "simulator" block must be nested inside a source "jira" block, for example: source "jira" "demo" { simulator { issues = 100 } }.`))
			continue
		}
		l.blocks[b.Type] = append(l.blocks[b.Type], b)
	}
}

// sensitiveList returns the collected secrets, longest first, so redacting
// a longer secret is not spoiled by a shorter one it contains.
func (l *loader) sensitiveList() []string {
	out := make([]string, 0, len(l.secrets))
	for s := range l.secrets {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) > len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

func (l *loader) addSecret(values ...string) {
	for _, v := range values {
		if v != "" {
			l.secrets[v] = true
		}
	}
}

// digest hashes the file contents (sorted by name) and the resolved
// configuration with secrets replaced.
func (l *loader) digest(srcs []fileSource) string {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "file %s %d\n", filepath.Base(s.Name), len(s.Src))
		h.Write(s.Src)
	}
	resolved, err := json.Marshal(l.cfg.redactedView())
	if err != nil {
		// Every field is JSON-encodable; this cannot happen.
		resolved = []byte(err.Error())
	}
	h.Write(resolved)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// redactedView is the resolved configuration with secret fields replaced, in
// a deterministic JSON-encodable form.
func (c *Config) redactedView() any {
	type view struct {
		Variables    map[string]string
		Sources      map[string]Source
		Destinations map[string]Destination
		Syncs        map[string]any
	}
	v := view{Variables: map[string]string{}, Sources: map[string]Source{}, Destinations: map[string]Destination{}, Syncs: map[string]any{}}
	for name, vr := range c.Variables {
		if vr.Sensitive || vr.Value == cty.NilVal {
			v.Variables[name] = Redacted
			continue
		}
		b, err := vr.Value.Type().MarshalJSON()
		if err == nil {
			var vb []byte
			if vb, err = ctyJSON(vr.Value); err == nil {
				b = append(append(b, ' '), vb...)
			}
		}
		v.Variables[name] = string(b)
	}
	for k, s := range c.Sources {
		cp := *s
		cp.DeclRange = hcl.Range{}
		for _, f := range []*string{&cp.APIToken, &cp.PAT, &cp.Password} {
			if *f != "" {
				*f = Redacted
			}
		}
		// Values derived from sensitive variables are redacted too.
		for _, f := range []*string{&cp.BaseURL, &cp.CloudID, &cp.Email, &cp.Username, &cp.CAFile} {
			*f = redact(*f, c.Sensitive)
		}
		v.Sources[k] = cp
	}
	for k, d := range c.Destinations {
		cp := *d
		cp.DeclRange = hcl.Range{}
		cp.Path = redact(cp.Path, c.Sensitive)
		v.Destinations[k] = cp
	}
	for k, s := range c.Syncs {
		v.Syncs[k] = map[string]any{
			"source":      s.Source.Addr().String(),
			"destination": s.Destination.Addr().String(),
			"tables":      s.Tables,
			"columns":     s.Columns,
			"schedule":    s.Schedule.String(),
			"depends_on":  s.DependsOn,
		}
	}
	return v
}

func ctyJSON(v cty.Value) ([]byte, error) {
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return []byte(`"(unknown)"`), nil
	}
	return ctyjson.Marshal(v, v.Type())
}

// fileDir returns the directory of the file a range is in.
func (l *loader) fileDir(r hcl.Range) string {
	if d, ok := l.dirOf[r.Filename]; ok {
		return d
	}
	return "."
}

// resolvePath resolves a path relative to the directory of the file that
// declares it.
func (l *loader) resolvePath(r hcl.Range, p string) string {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, ":") {
		return p
	}
	return filepath.Join(l.fileDir(r), p)
}

// sortDiagnostics orders diagnostics by position; ones without a subject
// (command-line problems) come first. The sort is stable, so diagnostics at
// the same position keep the order they were found in.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		case a.Start.Line != b.Start.Line:
			return a.Start.Line < b.Start.Line
		}
		return a.Start.Column < b.Start.Column
	})
}
