package chainstate

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkOpenDamageChecks measures what the damage checks add to a restart: Open (layout,
// meta, tip) and Close of a fresh database against one of a 30,000-block chain (one transfer a
// block), and the background page walk of the latter (how long writes are held after a start).
func BenchmarkOpenDamageChecks(b *testing.B) {
	const blocks = 30_000
	dir := b.TempDir()
	w, miner := testKey(1), testKey(2)
	p := testParams(map[Address]uint64{addrOf(w): 1 << 40})
	fresh := filepath.Join(dir, "fresh.db")
	full := filepath.Join(dir, "full.db")
	s, err := Open(full, p, testTimeout)
	if err != nil {
		b.Fatal(err)
	}
	s.db.NoSync = true // NB: building the chain only; the measured opens are normal
	c := newChain(p)
	for i := range blocks {
		blk := c.add(b, miner, signedTx(p, w, Address{byte(i), byte(i >> 8)}, 1, 1, uint64(i)))
		if _, err := s.Connect(blk); err != nil {
			b.Fatal(err)
		}
		c.blocks = c.blocks[len(c.blocks)-1:] // keep memory flat: only the tip is needed
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, path string) {
		for b.Loop() {
			s, err := Open(path, p, testTimeout)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("open fresh", func(b *testing.B) { open(b, fresh) })
	b.Run("open 30000 blocks", func(b *testing.B) { open(b, full) })
	b.Run("walk 30000 blocks", func(b *testing.B) {
		s, err := Open(full, p, testTimeout)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			if _, err := s.WalkPages(context.Background(), 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
