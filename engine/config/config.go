// Package config loads jsync's HCL configuration: variables, locals,
// sources, destinations and syncs. Loading reports every problem it finds in
// one run as hcl.Diagnostics, each pointing at the narrowest source range, so
// callers can render them with hcl.NewDiagnosticTextWriter (see
// WriteDiagnostics, which also redacts secrets).
package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/jsync-dev/jsync/engine/addrs"
)

// DefaultSchedule is the schedule of a sync that sets none: hourly, like
// Stitch's default replication frequency.
const DefaultSchedule = "1h"

// EnvVarPrefix prefixes the environment variables that set input variables:
// JSYNC_VAR_jira_token sets variable "jira_token".
const EnvVarPrefix = "JSYNC_VAR_"

// LoadOptions are the inputs of a load besides the files.
type LoadOptions struct {
	// Vars are -var name=value arguments, in command-line order.
	Vars map[string]string
	// VarFiles are -var-file paths (HCL syntax: name = value), in order;
	// later files win.
	VarFiles []string
	// Getenv looks up environment variables for env() and JSYNC_VAR_*.
	// Nil means os.LookupEnv.
	Getenv func(string) (string, bool)
	// Catalogue validates table and column names. Nil skips that check.
	Catalogue Catalogue
}

// Catalogue tells the loader which tables and columns a source type offers.
type Catalogue interface {
	// Table returns the static columns of a table. dynamic is true when the
	// table gets extra columns at discovery (custom fields): unknown column
	// names are then allowed, but must look like snake_case identifiers.
	Table(sourceType, name string) (columns []string, dynamic bool, ok bool)
	// TableNames lists every table of the source type.
	TableNames(sourceType string) []string
	// Parents lists the tables whose fetch the table needs (its parent and
	// other dependencies), nearest first.
	Parents(sourceType, table string) []string
}

// Config is a loaded configuration. Values are fully evaluated: variables,
// locals, env() and file() are resolved.
type Config struct {
	// Files holds every parsed file by name, for diagnostic snippets.
	Files map[string]*hcl.File
	// Variables by name.
	Variables map[string]*Variable
	// Sources by "<type>.<name>", for example "jira.acme".
	Sources map[string]*Source
	// Destinations by "<type>.<name>", for example "duckdb.warehouse".
	Destinations map[string]*Destination
	// Syncs by name.
	Syncs map[string]*Sync
	// Digest is a hex SHA-256 over the sorted file contents and the resolved
	// configuration, with secret values replaced by a placeholder. A plan
	// records it to detect a changed configuration. It changes when a
	// non-secret input (file, -var, env()) changes, not when a token rotates.
	Digest string
	// Sensitive lists every secret value (api_token, personal_access_token,
	// password, sensitive variables and values derived from them), longest
	// first, so callers can redact them from any output. See Redact.
	Sensitive []string
}

// Variable is a variable block and its resolved value.
type Variable struct {
	Name        string
	DeclRange   hcl.Range
	Type        cty.Type // cty.DynamicPseudoType when no type is given
	Default     cty.Value
	Sensitive   bool
	Description string
	// Value is the resolved value (from -var, -var-file, JSYNC_VAR_<name> or
	// the default). It carries no cty marks, even when Sensitive: its
	// strings are listed in Config.Sensitive instead.
	Value cty.Value
}

// Source is a source block. Only the "jira" type exists.
type Source struct {
	Type, Name string
	DeclRange  hcl.Range

	BaseURL  string
	CloudID  string
	Email    string
	APIToken string
	PAT      string // personal_access_token (Data Center bearer token)
	Username string
	Password string
	CAFile   string // PEM bundle for a private CA (Data Center), resolved relative to the config dir
	// StartDate bounds the first sync; zero when unset (the engine then
	// uses one year before the first sync).
	StartDate time.Time
	Projects  []string
	// Simulator is set when the source is a simulated site: the built-in
	// one, which jsync starts itself, when BaseURL is empty, else a
	// jirasim started separately on this machine (BaseURL's host is a
	// loopback address, see LoopbackHost).
	Simulator *Simulator
	// RateLimit is the maximum requests per second; 0 means the client's default.
	RateLimit float64
	// Concurrency is the maximum number of requests in flight; 0 means the
	// source's default for its deployment.
	Concurrency int
	// DeleteSweepInterval is how often deleted issues are detected by a
	// full id sweep; 0 means the source's default.
	DeleteSweepInterval time.Duration
}

// Addr returns the source's address.
func (s *Source) Addr() addrs.Source { return addrs.Source{Type: s.Type, Name: s.Name} }

// Auth names the credential mode: "cloud" (email + api_token), "pat"
// (personal_access_token), "basic" (username + password), or "" (none; only
// valid for the simulator).
func (s *Source) Auth() string {
	switch {
	case s.Email != "" && s.APIToken != "":
		return "cloud"
	case s.PAT != "":
		return "pat"
	case s.Username != "" && s.Password != "":
		return "basic"
	}
	return ""
}

// Simulator configures the built-in simulated Jira site.
type Simulator struct {
	Issues int
	Seed   int64
	Flavor string
	// Caps bounds generated children per issue, for example
	// {comments = 20, worklogs = 5}.
	Caps map[string]int
	// TZ is the site's time zone (IANA name).
	TZ string
}

// ReservedSchema is jsync's own schema in a DuckDB destination (and its
// directory in a Parquet one): no source or schema setting may take it.
const ReservedSchema = "_jsync"

// MinMemoryLimit is the smallest memory_limit accepted: below it DuckDB
// cannot write even a narrow table.
const MinMemoryLimit = 64 << 20

// Destination is a destination block.
type Destination struct {
	Type      string // "duckdb" or "parquet"
	Name      string
	DeclRange hcl.Range
	// Path is the database file (duckdb) or directory (parquet), resolved
	// relative to the config dir.
	Path string
	// Schema overrides the DuckDB schema name (duckdb only).
	Schema string
	// MemoryLimit caps DuckDB's buffer memory, e.g. "512MB" (duckdb only);
	// empty keeps DuckDB's default (80% of the machine's memory).
	MemoryLimit string
	// StorageVersion is the DuckDB storage format of a database file jsync
	// creates, e.g. "v1.2.0" (duckdb only); empty means jsync's default.
	StorageVersion string
	// PartitionBy maps a table to the column it is partitioned by (parquet only).
	PartitionBy map[string]string
	// PartitionRanges are where each PartitionBy entry's table and column
	// are written, for errors found at discovery.
	PartitionRanges map[string][2]hcl.Range
	// Compression is the Parquet codec (parquet only): snappy, zstd, gzip,
	// lz4, brotli or none.
	Compression string
}

// Addr returns the destination's address.
func (d *Destination) Addr() addrs.Destination {
	return addrs.Destination{Type: d.Type, Name: d.Name}
}

// Sync is a sync block.
type Sync struct {
	Name        string
	DeclRange   hcl.Range
	Source      *Source
	Destination *Destination
	// Tables are the selected tables, validated against the catalogue.
	// Empty means all.
	Tables []string
	// Columns maps a table to its selected columns. Absent tables keep all.
	Columns map[string][]string
	// ColumnRanges are where each selected column is written, in the
	// order of Columns, for errors found at discovery.
	ColumnRanges map[string][]hcl.Range
	Schedule     Schedule
	// DependsOn names other syncs that must run first.
	DependsOn []string
	// Load is LoadWhileFetching or LoadAfterFetch.
	Load string
}

// Addr returns the sync's address.
func (s *Sync) Addr() addrs.Sync { return addrs.Sync{Name: s.Name} }

// Selects reports whether the sync writes the table.
func (s *Sync) Selects(table string) bool {
	if len(s.Tables) == 0 {
		return true
	}
	for _, t := range s.Tables {
		if t == table {
			return true
		}
	}
	return false
}
