package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// maxFileSize bounds what file() reads: configuration snippets and keys, not
// data.
const maxFileSize = 1 << 20

// stdFunctions are the HCL standard-library functions jsync offers.
var stdFunctions = map[string]function.Function{
	"abs":             stdlib.AbsoluteFunc,
	"ceil":            stdlib.CeilFunc,
	"chomp":           stdlib.ChompFunc,
	"chunklist":       stdlib.ChunklistFunc,
	"coalesce":        stdlib.CoalesceFunc,
	"coalescelist":    stdlib.CoalesceListFunc,
	"compact":         stdlib.CompactFunc,
	"concat":          stdlib.ConcatFunc,
	"contains":        stdlib.ContainsFunc,
	"csvdecode":       stdlib.CSVDecodeFunc,
	"distinct":        stdlib.DistinctFunc,
	"element":         stdlib.ElementFunc,
	"flatten":         stdlib.FlattenFunc,
	"floor":           stdlib.FloorFunc,
	"format":          stdlib.FormatFunc,
	"formatdate":      stdlib.FormatDateFunc,
	"formatlist":      stdlib.FormatListFunc,
	"indent":          stdlib.IndentFunc,
	"join":            stdlib.JoinFunc,
	"jsondecode":      stdlib.JSONDecodeFunc,
	"jsonencode":      stdlib.JSONEncodeFunc,
	"keys":            stdlib.KeysFunc,
	"length":          stdlib.LengthFunc,
	"log":             stdlib.LogFunc,
	"lookup":          stdlib.LookupFunc,
	"lower":           stdlib.LowerFunc,
	"max":             stdlib.MaxFunc,
	"merge":           stdlib.MergeFunc,
	"min":             stdlib.MinFunc,
	"parseint":        stdlib.ParseIntFunc,
	"pow":             stdlib.PowFunc,
	"range":           stdlib.RangeFunc,
	"regex":           stdlib.RegexFunc,
	"regexall":        stdlib.RegexAllFunc,
	"regex_replace":   stdlib.RegexReplaceFunc,
	"replace":         stdlib.ReplaceFunc,
	"reverse":         stdlib.ReverseListFunc,
	"setintersection": stdlib.SetIntersectionFunc,
	"setproduct":      stdlib.SetProductFunc,
	"setsubtract":     stdlib.SetSubtractFunc,
	"setunion":        stdlib.SetUnionFunc,
	"signum":          stdlib.SignumFunc,
	"slice":           stdlib.SliceFunc,
	"sort":            stdlib.SortFunc,
	"split":           stdlib.SplitFunc,
	"strrev":          stdlib.ReverseFunc,
	"substr":          stdlib.SubstrFunc,
	"timeadd":         stdlib.TimeAddFunc,
	"title":           stdlib.TitleFunc,
	"tobool":          stdlib.MakeToFunc(cty.Bool),
	"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
	"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
	"tonumber":        stdlib.MakeToFunc(cty.Number),
	"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
	"tostring":        stdlib.MakeToFunc(cty.String),
	"trim":            stdlib.TrimFunc,
	"trimprefix":      stdlib.TrimPrefixFunc,
	"trimspace":       stdlib.TrimSpaceFunc,
	"trimsuffix":      stdlib.TrimSuffixFunc,
	"upper":           stdlib.UpperFunc,
	"values":          stdlib.ValuesFunc,
	"zipmap":          stdlib.ZipmapFunc,
}

// envError is returned by env() for an unset variable without a default.
type envError struct{ name string }

func (e *envError) Error() string {
	return fmt.Sprintf("the environment variable %s is not set", e.name)
}

// envFunc returns env(name[, default]).
func envFunc(getenv func(string) (string, bool)) function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or the default when it is unset.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "default", Type: cty.String},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.UnknownVal(cty.String), function.NewArgErrorf(2, "env takes at most two arguments: the variable name and a default")
			}
			name := args[0].AsString()
			if v, ok := getenv(name); ok {
				return cty.StringVal(v), nil
			}
			if len(args) == 2 {
				return args[1], nil
			}
			return cty.UnknownVal(cty.String), &envError{name: name}
		},
	})
}

// fileFunc returns file(path), reading relative to dir.
func fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a UTF-8 text file, relative to the configuration directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := args[0].AsString()
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			info, err := os.Stat(p)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("read %s: %w", p, pathErr(err))
			}
			if !info.Mode().IsRegular() {
				return cty.UnknownVal(cty.String), fmt.Errorf("read %s: not a regular file", p)
			}
			if info.Size() > maxFileSize {
				return cty.UnknownVal(cty.String), fmt.Errorf("read %s: the file is larger than %d bytes", p, maxFileSize)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("read %s: %w", p, pathErr(err))
			}
			if !utf8.Valid(b) {
				return cty.UnknownVal(cty.String), fmt.Errorf("read %s: the file is not valid UTF-8", p)
			}
			return cty.StringVal(string(b)), nil
		},
	})
}

// functions returns the function table for expressions in files of dir.
func (l *loader) functions(dir string) map[string]function.Function {
	if fs, ok := l.funcs[dir]; ok {
		return fs
	}
	fs := make(map[string]function.Function, len(stdFunctions)+2)
	for k, v := range stdFunctions {
		fs[k] = v
	}
	fs["env"] = envFunc(l.getenv)
	fs["file"] = fileFunc(dir)
	l.funcs[dir] = fs
	return fs
}

// evalContext returns the context for expressions declared in the file of r:
// the variables and locals resolved so far, and functions whose relative
// paths resolve against that file's directory.
func (l *loader) evalContext(r hcl.Range) *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(l.varValues),
			"local": cty.ObjectVal(l.localValues),
		},
		Functions: l.functions(l.fileDir(r)),
	}
}

// rewriteFunctionDiags turns env() failures into a specific diagnostic that
// names the variable and the fix.
func rewriteFunctionDiags(diags hcl.Diagnostics) {
	for _, d := range diags {
		extra, ok := hcl.DiagnosticExtra[hclsyntax.FunctionCallDiagExtra](d)
		if !ok {
			continue
		}
		var envErr *envError
		if errors.As(extra.FunctionCallError(), &envErr) {
			d.Summary = "Missing environment variable"
			d.Detail = fmt.Sprintf("The environment variable %s is not set. Set %s or use a default: env(%q, \"fallback\").",
				envErr.name, envErr.name, envErr.name)
		}
	}
}

// pathErr strips the operation and path from an *fs.PathError, which the
// caller already names.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
