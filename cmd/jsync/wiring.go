package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/jsync-dev/jsync/dest"
	"github.com/jsync-dev/jsync/dest/duckdb"
	"github.com/jsync-dev/jsync/dest/parquet"
	"github.com/jsync-dev/jsync/engine"
	"github.com/jsync-dev/jsync/engine/config"
	"github.com/jsync-dev/jsync/engine/schema"
	"github.com/jsync-dev/jsync/engine/source"
	"github.com/jsync-dev/jsync/resources/jira"
	"github.com/jsync-dev/jsync/resources/jira/jirasim"
)

// configFlags are the flags every config-reading command takes.
type configFlags struct {
	vars     multiFlag
	varFiles multiFlag
	files    multiFlag
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.Var(&c.vars, "var", "set a variable: `NAME=VALUE` (repeatable)")
	fs.Var(&c.varFiles, "var-file", "read variables from the HCL file `FILE` (repeatable)")
	fs.Var(&c.files, "config", "load only the .hcl `FILE` instead of every *.hcl in the directory (repeatable)")
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// catalogue is the static table catalogue of every source type.
func catalogue() config.Catalogue {
	return config.NewStaticCatalogue("jira", jira.Tables(), func(t *schema.Table) bool { return t.Name == jira.TableIssues })
}

// loadConfig loads and validates the configuration, printing diagnostics.
// It registers every secret with the redactor before anything is printed.
func (env *cliEnv) loadConfig(cf *configFlags) (*config.Config, bool) {
	vars := map[string]string{}
	for _, v := range cf.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			env.errorf("-var %q: expected name=value", v)
			return nil, false
		}
		vars[k] = val
		// A -var value may be secret; it is registered below if its
		// variable is sensitive.
	}
	opts := config.LoadOptions{Vars: vars, Getenv: env.getenv, Catalogue: catalogue()}
	for _, f := range cf.varFiles {
		opts.VarFiles = append(opts.VarFiles, env.path(f))
	}
	var (
		cfg   *config.Config
		diags hcl.Diagnostics
	)
	if len(cf.files) > 0 {
		var paths []string
		for _, f := range cf.files {
			paths = append(paths, env.path(f))
		}
		cfg, diags = config.LoadFiles(paths, opts)
	} else {
		cfg, diags = config.LoadDir(env.dir, opts)
	}
	if cfg != nil {
		env.redact.add(cfg.Sensitive...)
	}
	if len(diags) > 0 {
		files := map[string]*hcl.File{}
		var sens []string
		if cfg != nil {
			files, sens = cfg.Files, cfg.Sensitive
		}
		_ = config.WriteDiagnostics(env.stderr, files, sens, diags, false)
	}
	if diags.HasErrors() || cfg == nil {
		return nil, false
	}
	if len(cfg.Syncs) == 0 {
		env.errorf("no sync blocks in %s; add one, for example:\n\n  sync \"main\" {\n    source      = source.jira.mysite\n    destination = destination.duckdb.warehouse\n  }", env.dir)
		return nil, false
	}
	return cfg, true
}

func (env *cliEnv) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(env.dir, p)
}

// opener wires the concrete sources and destinations into the engine.
// wait is how long opening a destination waits while another process
// (another apply) holds it: -lock-timeout; 0 fails at once.
func (env *cliEnv) opener(logger *slog.Logger, wait time.Duration) engine.Opener {
	open := func(ctx context.Context, d *config.Destination, readOnly bool) (dest.Destination, error) {
		switch d.Type {
		case "duckdb":
			return duckdb.Open(ctx, duckdb.Options{Path: d.Path, Schema: d.Schema, MemoryLimit: d.MemoryLimit, StorageVersion: d.StorageVersion,
				BusyTimeout: wait, ReadOnly: readOnly})
		case "parquet":
			return parquet.Open(ctx, parquet.Options{Path: d.Path, PartitionBy: d.PartitionBy, Compression: d.Compression})
		}
		return nil, fmt.Errorf("unknown destination type %q", d.Type)
	}
	return engine.Opener{
		Source: func(ctx context.Context, s *config.Source) (source.Source, error) {
			return openSource(ctx, s, logger)
		},
		Destination: func(ctx context.Context, d *config.Destination) (dest.Destination, error) {
			return open(ctx, d, false)
		},
		// Planning without applying (plan, state, serve's planning) reads
		// a DuckDB file read-only: dashboards and the DuckDB CLI reading
		// the file (read-only) can go on while the sites are asked what
		// they hold. A file that does not exist yet is opened to write.
		ReadDestination: func(ctx context.Context, d *config.Destination) (dest.Destination, error) {
			return open(ctx, d, d.Type == "duckdb" && fileExists(d.Path))
		},
	}
}

// planOpener is opener for the commands that change nothing (plan, state
// list and show): a destination whose file or directory does not exist yet
// is planned against an empty stand-in in a temporary directory, so that
// nothing is created where the configuration points. cleanup, called after
// the engine is closed, removes the stand-ins.
//
// checkWritable (plan) also refuses a destination this user could not
// write, as apply would fail on it; state list and show only read.
func (env *cliEnv) planOpener(logger *slog.Logger, wait time.Duration, checkWritable bool) (o engine.Opener, cleanup func()) {
	o = env.opener(logger, wait)
	var mu sync.Mutex
	var standIns []string
	standIn := func(open func(context.Context, *config.Destination) (dest.Destination, error)) func(context.Context, *config.Destination) (dest.Destination, error) {
		return func(ctx context.Context, d *config.Destination) (dest.Destination, error) {
			if _, err := os.Stat(d.Path); !errors.Is(err, fs.ErrNotExist) {
				if err == nil && checkWritable {
					if err := writableFile(d.Path); err != nil {
						return nil, err
					}
				}
				return open(ctx, d)
			}
			if err := creatable(d.Path, checkWritable); err != nil {
				return nil, err
			}
			dir, err := os.MkdirTemp("", "jsync-plan-")
			if err != nil {
				return nil, fmt.Errorf("stand-in for %s, which does not exist yet: %w", d.Path, err)
			}
			mu.Lock()
			standIns = append(standIns, dir)
			mu.Unlock()
			in := *d
			in.Path = filepath.Join(dir, filepath.Base(d.Path))
			return open(ctx, &in)
		}
	}
	o.Destination, o.ReadDestination = standIn(o.Destination), standIn(o.ReadDestination)
	return o, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, dir := range standIns {
			_ = os.RemoveAll(dir)
		}
	}
}

// creatable reports why path could not be created: the nearest existing
// directory above it must be a directory, and one this process may write
// in when checkWritable.
func creatable(path string, checkWritable bool) error {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot create %s: %s is not a directory", path, dir)
			}
			if checkWritable && !writable(dir) {
				return fmt.Errorf("cannot create %s: this user may not write in %s (permissions, or a read-only file system): apply would fail; choose a path in a writable directory, or fix its permissions", path, dir)
			}
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot create %s: %w", path, err)
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

// writableFile reports why apply could not write the existing path: a
// DuckDB file and its directory, where DuckDB keeps its write-ahead log
// beside it, or a Parquet lake's directory.
func writableFile(path string) error {
	check := []string{path, filepath.Dir(path)}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		check = check[:1] // a Parquet lake: files are written inside it
	}
	for _, p := range check {
		if !writable(p) {
			return fmt.Errorf("cannot write %s: this user may not write %s (permissions, or a read-only file system): apply would fail; fix the permissions or choose another path", path, p)
		}
	}
	return nil
}

// simulatorCredentials are the built-in simulated site's account. They are
// not secrets: the site exists only inside this process.
const (
	simEmail = "demo@jsync.invalid"
	simToken = "jsync-simulator-token"
)

// defaultDeleteSweep is how often, by default, the id-only sweep that finds
// deleted issues runs: daily, so an hourly incremental run costs one search
// request when nothing changed.
const defaultDeleteSweep = 24 * time.Hour

func openSource(ctx context.Context, s *config.Source, logger *slog.Logger) (source.Source, error) {
	sweep := s.DeleteSweepInterval
	if sweep == 0 {
		sweep = defaultDeleteSweep
	}
	cfg := jira.Config{
		Name: s.Name, BaseURL: s.BaseURL, CloudID: s.CloudID,
		Email: s.Email, APIToken: s.APIToken, PAT: s.PAT, Username: s.Username, Password: s.Password,
		CAFile: s.CAFile, StartDate: s.StartDate, Projects: s.Projects,
		RateLimit: s.RateLimit, Concurrency: s.Concurrency, DeleteSweepInterval: sweep,
		Logger: logger,
	}
	if s.Simulator == nil {
		return jira.New(cfg)
	}
	if s.BaseURL != "" {
		// A simulator started separately (cmd/jirasim) on this machine,
		// possibly over plain HTTP: the only case where http:// is
		// accepted. The configuration refuses any other host; this check
		// keeps a source built some other way from sending credentials in
		// clear text to a real site.
		u, err := url.Parse(s.BaseURL)
		if err != nil || !config.LoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("source %s: a simulator block needs a base_url on this machine (localhost, 127.0.0.0/8 or ::1); remove the simulator block to sync a real site", s.Addr())
		}
		cfg.AllowHTTP = true
		return jira.New(cfg)
	}
	sim := s.Simulator
	opts := jirasim.Options{Issues: sim.Issues, Seed: sim.Seed, Flavor: sim.Flavor, TZ: sim.TZ, Rate: -1}
	if opts.Flavor == "" {
		opts.Flavor = "cloud"
	}
	// The site accepts the credentials the source sets (config allows only
	// its flavor's mode), or its own.
	switch {
	case s.Auth() == "pat":
		opts.PAT = s.PAT
	case s.Auth() == "cloud":
		opts.Email, opts.Token = s.Email, s.APIToken
	case opts.Flavor == "datacenter":
		opts.PAT = simToken
		cfg.PAT = simToken
	default:
		opts.Email, opts.Token = simEmail, simToken
		cfg.Email, cfg.APIToken = simEmail, simToken
	}
	opts.Caps = jirasim.Caps{Comments: sim.Caps["comments"], Histories: sim.Caps["histories"], Worklogs: sim.Caps["worklogs"]}
	srv, err := jirasim.Start(opts)
	if err != nil {
		return nil, fmt.Errorf("start the simulated Jira site: %w", err)
	}
	cfg.BaseURL, cfg.CACertPEM = srv.URL(), srv.CACertPEM()
	src, err := jira.New(cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &simSource{Source: src, srv: srv}, nil
}

// simSource closes the in-process simulator with the source.
type simSource struct {
	*jira.Source
	srv *jirasim.Server
}

func (s *simSource) Close() error {
	err := s.Source.Close()
	s.srv.Close()
	return err
}

// newLogger returns the logger for warnings and progress: plain lines on
// stderr, secrets redacted by the writer.
func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.String("time", a.Value.Time().UTC().Format(time.TimeOnly))
			}
			return a
		},
	}))
}

func newFlagSet(env *cliEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: jsync %s\n", usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(env.stderr, "\nOptions:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses a command's options. done reports that the command
// ends with code: 0 after -h (the usage asked for), 1 after a bad option
// (the flag package printed why).
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	case err != nil:
		return exitError, true
	}
	return 0, false
}

// parseInterspersed parses a command's options wherever they stand among
// its arguments (`state list -config=x.hcl` as `state -config=x.hcl list`)
// and returns the arguments; after "--" every argument is one. done
// reports that the command ends with code, as parseFlags does.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, code int, done bool) {
	for {
		if code, done := parseFlags(fs, args); done {
			return nil, code, true
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), 0, false
		}
		if len(rest) == 0 {
			return positional, 0, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tuneMalloc sets glibc's allocator for DuckDB: freed memory neither stays
// resident for the rest of the run nor is given back block by block (see
// duckdb.TuneMalloc).
func tuneMalloc() { duckdb.TuneMalloc() }
