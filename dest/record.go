package dest

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

// CheckRecord reports whether rec can be written to t: every field must be a
// column of t with an identical Arrow type, every primary-key column must be
// present and hold no nulls. Records may carry a subset of the columns;
// destinations leave the missing ones NULL (or unchanged on update).
func CheckRecord(t *schema.Table, rec arrow.RecordBatch) error {
	if err := checkFields(t, rec); err != nil {
		return err
	}
	sc := rec.Schema()
	for i, f := range sc.Fields() {
		if t.Column(f.Name).PrimaryKey && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("table %s: primary-key column %s has %d null values", t.Name, f.Name, rec.Column(i).NullN())
		}
	}
	for _, pk := range t.PrimaryKey() {
		if len(sc.FieldIndices(pk)) == 0 {
			return fmt.Errorf("table %s: record lacks primary-key column %s", t.Name, pk)
		}
	}
	return nil
}

// MatchColumns checks a MarkDeleted record against t and returns the
// columns it selects rows by. A record carrying exactly the primary-key
// columns selects by key: byKey is true, cols is t's primary key and rec
// must pass CheckRecord. Any other record selects the rows whose values
// equal a record row in every column the record has: cols are its column
// names, sorted; each must be a scalar (not nested) column of t, present
// once, with an identical Arrow type. NULL values are allowed and match no
// row.
func MatchColumns(t *schema.Table, rec arrow.RecordBatch) (cols []string, byKey bool, err error) {
	sc := rec.Schema()
	if sc.NumFields() == 0 {
		return nil, false, fmt.Errorf("table %s: record has no columns to match rows by", t.Name)
	}
	if pk := t.PrimaryKey(); len(pk) == sc.NumFields() && isKeyRecord(pk, sc) {
		if err := CheckRecord(t, rec); err != nil {
			return nil, false, err
		}
		return pk, true, nil
	}
	if err := checkFields(t, rec); err != nil {
		return nil, false, err
	}
	cols = make([]string, 0, sc.NumFields())
	for _, f := range sc.Fields() {
		if arrow.IsNested(f.Type.ID()) {
			return nil, false, fmt.Errorf("table %s: cannot match rows by column %s of nested type %s", t.Name, f.Name, f.Type)
		}
		cols = append(cols, f.Name)
	}
	slices.Sort(cols)
	return cols, false, nil
}

// isKeyRecord reports whether sc has every column of pk.
func isKeyRecord(pk []string, sc *arrow.Schema) bool {
	for _, k := range pk {
		if len(sc.FieldIndices(k)) == 0 {
			return false
		}
	}
	return true
}

// checkFields reports whether every field of rec is a column of t, once,
// with an identical Arrow type.
func checkFields(t *schema.Table, rec arrow.RecordBatch) error {
	sc := rec.Schema()
	for _, f := range sc.Fields() {
		if len(sc.FieldIndices(f.Name)) > 1 {
			return fmt.Errorf("table %s: record has column %q twice", t.Name, f.Name)
		}
		c := t.Column(f.Name)
		if c == nil {
			return fmt.Errorf("table %s: record has unknown column %q", t.Name, f.Name)
		}
		if !arrow.TypeEqual(f.Type, c.Type) {
			return fmt.Errorf("table %s: column %s has type %s in the record, want %s", t.Name, f.Name, f.Type, c.Type)
		}
	}
	return nil
}
