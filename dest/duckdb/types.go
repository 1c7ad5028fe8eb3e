//go:build duckdb_arrow

package duckdb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

// columnType is the DuckDB type of column c (see the package doc).
func columnType(c *schema.Column) (string, error) {
	if c.JSON {
		switch c.Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
			return "JSON", nil
		}
		return "", fmt.Errorf("column %s: JSON column must be a string, not %s", c.Name, c.Type)
	}
	t, err := sqlType(c.Type)
	if err != nil {
		return "", fmt.Errorf("column %s: %w", c.Name, err)
	}
	return t, nil
}

// sqlType maps an Arrow type to a DuckDB type.
func sqlType(dt arrow.DataType) (string, error) {
	switch dt := dt.(type) {
	case *arrow.BooleanType:
		return "BOOLEAN", nil
	case *arrow.Int8Type:
		return "TINYINT", nil
	case *arrow.Int16Type:
		return "SMALLINT", nil
	case *arrow.Int32Type:
		return "INTEGER", nil
	case *arrow.Int64Type:
		return "BIGINT", nil
	case *arrow.Uint8Type:
		return "UTINYINT", nil
	case *arrow.Uint16Type:
		return "USMALLINT", nil
	case *arrow.Uint32Type:
		return "UINTEGER", nil
	case *arrow.Uint64Type:
		return "UBIGINT", nil
	case *arrow.Float32Type:
		return "FLOAT", nil
	case *arrow.Float64Type:
		return "DOUBLE", nil
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return "VARCHAR", nil
	case *arrow.BinaryType, *arrow.LargeBinaryType, *arrow.BinaryViewType, *arrow.FixedSizeBinaryType:
		return "BLOB", nil
	case *arrow.Date32Type, *arrow.Date64Type:
		return "DATE", nil
	case *arrow.TimestampType:
		if dt.TimeZone != "" {
			return "TIMESTAMP WITH TIME ZONE", nil
		}
		return "TIMESTAMP", nil
	case *arrow.Time32Type, *arrow.Time64Type:
		return "TIME", nil
	case *arrow.DurationType:
		return "INTERVAL", nil
	case *arrow.Decimal128Type:
		return fmt.Sprintf("DECIMAL(%d,%d)", dt.Precision, dt.Scale), nil
	case *arrow.ListType:
		elem, err := sqlType(dt.Elem())
		return elem + "[]", err
	case *arrow.LargeListType:
		elem, err := sqlType(dt.Elem())
		return elem + "[]", err
	case *arrow.FixedSizeListType:
		elem, err := sqlType(dt.Elem())
		return fmt.Sprintf("%s[%d]", elem, dt.Len()), err
	case *arrow.StructType:
		parts := make([]string, dt.NumFields())
		for i, f := range dt.Fields() {
			ft, err := sqlType(f.Type)
			if err != nil {
				return "", fmt.Errorf("struct field %s: %w", f.Name, err)
			}
			parts[i] = quoteIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	case *arrow.MapType:
		k, err := sqlType(dt.KeyType())
		if err != nil {
			return "", err
		}
		v, err := sqlType(dt.ItemType())
		return "MAP(" + k + ", " + v + ")", err
	}
	return "", fmt.Errorf("arrow type %s has no DuckDB mapping", dt)
}

// Type widening. Types are compared in DuckDB's canonical spelling (as
// duckdb_columns reports them), so "INTEGER" not "INT4".

var intRank = map[string]int{"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
var uintRank = map[string]int{"UTINYINT": 1, "USMALLINT": 2, "UINTEGER": 3, "UBIGINT": 4, "UHUGEINT": 5}

// intDigits is how many decimal digits an integer type needs.
var intDigits = map[string]int{
	"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19,
	"UTINYINT": 3, "USMALLINT": 5, "UINTEGER": 10, "UBIGINT": 20,
}

var decimalPattern = regexp.MustCompile(`^DECIMAL\((\d+),(\d+)\)$`)

func parseDecimal(t string) (p, s int, ok bool) {
	m := decimalPattern.FindStringSubmatch(t)
	if m == nil {
		return 0, 0, false
	}
	p, _ = strconv.Atoi(m[1])
	s, _ = strconv.Atoi(m[2])
	return p, s, true
}

// widens reports whether every value of DuckDB type from converts to type to
// without loss, so the column can be altered without asking.
func widens(from, to string) bool {
	if from == to {
		return true
	}
	if a, ok := intRank[from]; ok {
		if b, ok := intRank[to]; ok {
			return b > a
		}
	}
	if a, ok := uintRank[from]; ok {
		if b, ok := uintRank[to]; ok {
			return b > a
		}
		if b, ok := intRank[to]; ok {
			return b > a
		}
	}
	switch {
	case from == "FLOAT" && to == "DOUBLE":
		return true
	case to == "DOUBLE" && (intRank[from] > 0 && intRank[from] <= 3 || uintRank[from] > 0 && uintRank[from] <= 3):
		return true
	case to == "FLOAT" && (intRank[from] > 0 && intRank[from] <= 2 || uintRank[from] > 0 && uintRank[from] <= 2):
		return true
	case from == "JSON" && to == "VARCHAR":
		return true
	case from == "DATE" && to == "TIMESTAMP":
		return true
	}
	if p2, s2, ok := parseDecimal(to); ok {
		if p1, s1, ok := parseDecimal(from); ok {
			return s2 >= s1 && p2-s2 >= p1-s1
		}
		if d, ok := intDigits[from]; ok {
			return p2-s2 >= d
		}
	}
	return false
}
