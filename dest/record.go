package dest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/jsync-dev/jsync/engine/schema"
)

// CheckRecord reports whether rec can be written to t: every field must be a
// column of t with an identical Arrow type, every primary-key column must be
// present and hold no nulls. Records may carry a subset of the columns;
// destinations leave the missing ones NULL (or unchanged on update).
func CheckRecord(t *schema.Table, rec arrow.RecordBatch) error {
	sc := rec.Schema()
	for i, f := range sc.Fields() {
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
		if c.PrimaryKey && rec.Column(i).NullN() > 0 {
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
