package config

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// checkOneWriter reports syncs that write the same table: two syncs of one
// source into one destination (or into one DuckDB schema) would create and
// write the table at the same time, each with a cursor of its own. Each
// table must have one writer; the error is at the later-declared sync.
func (l *loader) checkOneWriter() {
	cat := l.opts.Catalogue
	if cat == nil {
		return
	}
	type target struct{ dest, ns, table string }
	writer := map[target]*Sync{}
	syncs := slices.SortedFunc(maps.Values(l.cfg.Syncs), func(a, b *Sync) int {
		return cmp.Or(cmp.Compare(a.DeclRange.Filename, b.DeclRange.Filename), cmp.Compare(a.DeclRange.Start.Byte, b.DeclRange.Start.Byte))
	})
	for _, s := range syncs {
		if s.Source == nil || s.Destination == nil {
			continue
		}
		tables := s.Tables
		if len(tables) == 0 {
			tables = cat.TableNames(s.Source.Type)
		}
		ns := s.Source.Name
		if s.Destination.Schema != "" {
			ns = s.Destination.Schema
		}
		shared := map[*Sync][]string{}
		var others []*Sync
		for _, t := range tables {
			k := target{s.Destination.Addr().String(), ns, t}
			prev, ok := writer[k]
			if !ok {
				writer[k] = s
				continue
			}
			if shared[prev] == nil {
				others = append(others, prev)
			}
			shared[prev] = append(shared[prev], t)
		}
		if len(others) == 0 {
			continue
		}
		var clash []string
		for _, prev := range others {
			clash = append(clash, fmt.Sprintf("%s (by sync.%s, declared at %s)", tableList(ns, shared[prev]), prev.Name, prev.DeclRange))
		}
		l.diags = append(l.diags, errorf(s.DeclRange.Ptr(), "Table written by two syncs",
			"sync.%s writes tables of %s that another sync already writes: %s. A table can have one writer only: split the tables between the syncs with tables = [...], or send one of them to another destination.",
			s.Name, s.Destination.Addr(), strings.Join(clash, "; ")))
	}
}

// tableList names up to three tables of namespace ns, then how many more.
func tableList(ns string, tables []string) string {
	const most = 3
	var names []string
	for i, t := range tables {
		if i == most {
			break
		}
		names = append(names, ns+"."+t)
	}
	s := strings.Join(names, ", ")
	if len(tables) > most {
		s += fmt.Sprintf(" and %d more", len(tables)-most)
	}
	return s
}

// checkPartitions checks each partition_by entry against the tables the
// syncs into the destination write and their columns. Without it a typo in
// a table name was ignored, and one in a column failed every row at apply.
func (l *loader) checkPartitions() {
	for _, key := range sortedKeys(l.cfg.Destinations) {
		d := l.cfg.Destinations[key]
		used := false
		for _, s := range l.cfg.Syncs {
			used = used || s.Destination == d
		}
		if !used {
			// No sync writes here (one commented out, say): its
			// partitions describe tables to come, and nothing checks
			// them against until a sync does.
			continue
		}
		for _, table := range sortedKeys(d.PartitionBy) {
			rs, ok := d.PartitionRanges[table]
			if !ok {
				continue
			}
			var writer *Sync
			var written []string
			for _, name := range sortedKeys(l.cfg.Syncs) {
				s := l.cfg.Syncs[name]
				if s.Destination != d || s.Source == nil {
					continue
				}
				if s.Selects(table) && writer == nil {
					writer = s
				}
				if l.opts.Catalogue != nil {
					for _, t := range l.opts.Catalogue.TableNames(s.Source.Type) {
						if s.Selects(t) && !contains(written, t) {
							written = append(written, t)
						}
					}
				}
			}
			if writer == nil {
				l.diags = append(l.diags, errorf(rs[0].Ptr(), "Partition of a table not written",
					"partition_by names table %q, which no sync writes into %s.%s", table, d.Addr(), didYouMean(table, written)))
				continue
			}
			if l.opts.Catalogue == nil {
				continue
			}
			if !l.checkColumn(writer, table, d.PartitionBy[table], rs[1]) {
				continue
			}
			if cols, ok := writer.Columns[table]; ok && !contains(cols, d.PartitionBy[table]) {
				l.diags = append(l.diags, errorf(rs[1].Ptr(), "Partition column not selected",
					"sync.%s selects the columns of %q without %q, its partition column. Add it to the sync's columns.", writer.Name, table, d.PartitionBy[table]))
			}
		}
	}
}
