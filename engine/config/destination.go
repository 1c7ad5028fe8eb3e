package config

import (
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/jsync-dev/jsync/engine/bytesize"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/mod/semver"
)

// DestinationTypes lists the supported destination types.
var DestinationTypes = []string{"duckdb", "parquet"}

// ParquetCompressions lists the accepted Parquet codecs.
var ParquetCompressions = []string{"snappy", "zstd", "gzip", "lz4", "brotli", "none"}

var destinationSchemas = map[string]*hcl.BodySchema{
	"duckdb": {Attributes: withMisplaced([]hcl.AttributeSchema{
		{Name: "path", Required: true},
		{Name: "schema"},
		{Name: "memory_limit"},
		{Name: "storage_version"},
	})},
	"parquet": {Attributes: withMisplaced([]hcl.AttributeSchema{
		{Name: "path", Required: true},
		{Name: "partition_by"},
		{Name: "compression"},
	})},
}

// destinationOnlyArgs names, per argument, the destination type it belongs
// to, so a misplaced one gets a specific message.
var destinationOnlyArgs = map[string]string{"schema": "duckdb", "memory_limit": "duckdb", "storage_version": "duckdb", "partition_by": "parquet", "compression": "parquet"}

// validStorageVersion reports whether v names a DuckDB release, like
// "v1.2.0", from v0.10.0, the first with a stable file format.
func validStorageVersion(v string) bool {
	return semver.IsValid(v) && semver.Canonical(v) == v && semver.Prerelease(v) == "" && semver.Compare(v, "v0.10.0") >= 0
}

var identifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (l *loader) decodeDestinations() {
	for _, b := range l.blocks["destination"] {
		typ, name := b.Labels[0], b.Labels[1]
		sch, ok := destinationSchemas[typ]
		if !ok {
			l.diags = append(l.diags, errorf(b.LabelRanges[0].Ptr(), "Unsupported destination type",
				"There is no destination type %q.%s The supported destination types are: %s.", typ, didYouMean(typ, DestinationTypes), strings.Join(DestinationTypes, ", ")))
			continue
		}
		if !l.checkName(b, 1, "destination") {
			continue
		}
		key := typ + "." + name
		if prev, ok := l.cfg.Destinations[key]; ok {
			l.diags = append(l.diags, errorf(b.DefRange.Ptr(), "Duplicate destination",
				"A destination %q %q was already declared at %s. Destination names must be unique per type; rename or remove one of them.", typ, name, prev.DeclRange))
			continue
		}
		d := &Destination{Type: typ, Name: name, DeclRange: b.DefRange}
		l.cfg.Destinations[key] = d

		content, remain, diags := b.Body.PartialContent(sch)
		l.diags = append(l.diags, diags...)
		l.reportForeignArgs(remain, sch, typ)
		attrs := content.Attributes
		l.reportMisplaced(attrs, "destination")

		if a := attrs["path"]; a != nil {
			if v, ok := l.str(a); ok {
				if strings.TrimSpace(v) == "" {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid path", "path must not be empty."))
				} else {
					d.Path = l.resolvePath(a.Range, v)
				}
			}
		}
		if a := attrs["schema"]; a != nil {
			if v, ok := l.str(a); ok {
				if !identifierRE.MatchString(v) {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid schema name",
						"%q is not a valid schema name: use letters, digits and underscores, starting with a letter or underscore.", v))
				} else if strings.EqualFold(v, ReservedSchema) {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Reserved schema name",
						"%q is jsync's own schema (state, runs, keys). Choose another name.", v))
				} else {
					d.Schema = v
				}
			}
		}
		if a := attrs["memory_limit"]; a != nil {
			if v, ok := l.str(a); ok {
				if n, err := bytesize.Parse(v); err != nil {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid memory limit", "%s.", err))
				} else if n < MinMemoryLimit {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid memory limit",
						"%q is below %d MiB (%d bytes), less than DuckDB needs to write any table. Remove memory_limit to let jsync size it from the tables, or set at least \"%dMiB\".", v, MinMemoryLimit>>20, MinMemoryLimit, MinMemoryLimit>>20))
				} else {
					d.MemoryLimit = strings.TrimSpace(v)
				}
			}
		}
		if a := attrs["storage_version"]; a != nil {
			if v, ok := l.str(a); ok {
				if !validStorageVersion(v) {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Invalid storage version",
						"%q is not a DuckDB storage version: write the version of the oldest DuckDB release that must read the file, v0.10.0 or later, like \"v1.2.0\".", v))
				} else {
					d.StorageVersion = v
				}
			}
		}
		if a := attrs["compression"]; a != nil {
			if v, ok := l.str(a); ok {
				if !contains(ParquetCompressions, v) {
					l.diags = append(l.diags, errorf(a.Expr.Range().Ptr(), "Unsupported compression",
						"There is no Parquet compression %q.%s Use one of: %s.", v, didYouMean(v, ParquetCompressions), strings.Join(ParquetCompressions, ", ")))
				} else {
					d.Compression = v
				}
			}
		}
		if a := attrs["partition_by"]; a != nil {
			if v, ok := l.eval(a, cty.Map(cty.String)); ok {
				d.PartitionBy = map[string]string{}
				keys := keyRanges(a.Expr)
				cols := v.AsValueMap()
				for _, k := range sortedKeys(cols) {
					col := cols[k]
					subject := a.Expr.Range().Ptr()
					if e, ok := keys[k]; ok {
						subject = e[1].Range().Ptr()
					}
					if col.IsNull() || !identifierRE.MatchString(col.AsString()) {
						l.diags = append(l.diags, errorf(subject, "Invalid partition column",
							"partition_by maps a table to one of its column names, for example { issues = \"project_key\" }."))
						continue
					}
					d.PartitionBy[k] = col.AsString()
					if e, ok := keys[k]; ok {
						if d.PartitionRanges == nil {
							d.PartitionRanges = map[string][2]hcl.Range{}
						}
						d.PartitionRanges[k] = [2]hcl.Range{e[0].Range(), e[1].Range()}
					}
				}
			}
		}
	}
}

// reportForeignArgs reports arguments of another destination type with a
// specific message, and unknown ones with a did-you-mean.
func (l *loader) reportForeignArgs(remain hcl.Body, sch *hcl.BodySchema, typ string) {
	attrs, diags := remain.JustAttributes()
	if diags.HasErrors() {
		// Blocks are not valid in a destination; let Content say so.
		_, diags = remain.Content(&hcl.BodySchema{})
		l.diags = append(l.diags, diags...)
		return
	}
	var valid []string
	for _, a := range sch.Attributes {
		if !contains(syncOnlyArgs, a.Name) {
			valid = append(valid, a.Name)
		}
	}
	sort.Strings(valid)
	for _, a := range sortedAttrs(attrs) {
		if owner, ok := destinationOnlyArgs[a.Name]; ok && owner != typ {
			l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Unsupported argument",
				"%q applies only to %s destinations, not %s. Remove it.", a.Name, owner, typ))
			continue
		}
		l.diags = append(l.diags, errorf(a.NameRange.Ptr(), "Unsupported argument",
			"An argument named %q is not expected in a %s destination.%s Valid arguments: %s.", a.Name, typ, didYouMean(a.Name, valid), strings.Join(valid, ", ")))
	}
}
