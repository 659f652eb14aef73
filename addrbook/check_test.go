package addrbook

import "fmt"

// check verifies the book's invariants (for tests): every entry in exactly one table, the
// tables and each group within their bounds, the counts right.
func (b *Book) check() error {
	n := 0
	for g, m := range b.groups {
		if m.Len() == 0 {
			return fmt.Errorf("group %q is empty but listed", g)
		}
		if m.Len() > groupShare(g, b.maxNew) {
			return fmt.Errorf("group %q holds %d, over its share %d", g, m.Len(), groupShare(g, b.maxNew))
		}
		for i, e := range m.es {
			id := e.rec.ID
			if b.entries[id] != e || e.rec.Tried || e.rec.Source != g || b.tried[id] || b.bans[id] || e.hidx != i {
				return fmt.Errorf("new entry %x of group %q is missing, misplaced or in another table", id[:4], g)
			}
			if i > 0 && worse(&e.rec, &m.es[(i-1)/2].rec) {
				return fmt.Errorf("group %q: heap order broken at %d", g, i)
			}
		}
		n += m.Len()
	}
	if n != b.nNew || n > b.maxNew {
		return fmt.Errorf("new table: %d entries, counted %d, bound %d", n, b.nNew, b.maxNew)
	}
	if len(b.tried) > b.maxTried || len(b.bans) > b.maxBans {
		return fmt.Errorf("tried %d of %d, bans %d of %d", len(b.tried), b.maxTried, len(b.bans), b.maxBans)
	}
	for id := range b.tried {
		if e := b.entries[id]; e == nil || !e.rec.Tried || b.bans[id] {
			return fmt.Errorf("tried entry %x missing or not marked tried", id[:4])
		}
	}
	if len(b.entries) != n+len(b.tried)+len(b.bans) {
		return fmt.Errorf("%d entries, tables hold %d", len(b.entries), n+len(b.tried)+len(b.bans))
	}
	if b.entries[b.self] != nil {
		return fmt.Errorf("the book holds its own node")
	}
	return nil
}
