package chainstate

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// blocksBucketDB opens a bare bbolt file with one bucket, blocks, for the body tests.
func blocksBucketDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketBlocks)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestBodyPiecesRoundTrip: bodies of any length, among neighbours whose hashes share a prefix
// with theirs or sort right next to them, read back byte for byte, one cursor each; a body of
// one piece is stored under its hash alone.
func TestBodyPiecesRoundTrip(t *testing.T) {
	db := blocksBucketDB(t)
	rapid.Check(t, func(rt *rapid.T) {
		bodies := map[Hash][]byte{}
		base := Hash(rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(rt, "base"))
		n := rapid.IntRange(1, 6).Draw(rt, "n")
		for i := range n {
			h := base
			h[31] += byte(i) // neighbours: hashes one apart
			if rapid.Bool().Draw(rt, "far") {
				h[0] ^= 0x80
			}
			size := rapid.OneOf(rapid.IntRange(1, 3*bodyPiece+5), rapid.SampledFrom([]int{
				1, bodyPiece - 1, bodyPiece, bodyPiece + 1, 2 * bodyPiece, 2*bodyPiece + 1})).Draw(rt, "size")
			bodies[h] = rapid.SliceOfN(rapid.Byte(), size, size).Draw(rt, "body")
		}
		err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlocks)
			for h := range bodies { // clear the previous case's bodies and pieces
				c := b.Cursor()
				for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Seek(h[:]) {
					if err := c.Delete(); err != nil {
						return err
					}
				}
			}
			for h, body := range bodies {
				if err := putBodyPieces(b, h, body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			rt.Fatal(err)
		}
		err = db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlocks)
			for h, want := range bodies {
				got, ok, err := bodyOf(b, h)
				if err != nil || !ok || !bytes.Equal(got, want) {
					rt.Fatalf("body %s of %d bytes: read %d bytes, ok %v, %v", h, len(want), len(got), ok, err)
				}
				pieces := (len(want) + bodyPiece - 1) / bodyPiece
				c := b.Cursor()
				keys := 0
				for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Next() {
					keys++
				}
				if keys != pieces {
					rt.Fatalf("body of %d bytes under %d keys, want %d", len(want), keys, pieces)
				}
			}
			missing := base
			missing[31] += 200
			if _, ok, err := bodyOf(b, missing); ok || err != nil {
				rt.Fatalf("a body that was never stored: ok %v, %v", ok, err)
			}
			return nil
		})
		if err != nil {
			rt.Fatal(err)
		}
	})
}

// TestBodyPiecesDamage: a missing, repeated or empty piece, or a stray key, is ErrCorrupt to a
// read and to the page walk; a whole body under its hash (schema 3) reads and walks as it is.
func TestBodyPiecesDamage(t *testing.T) {
	k := testKey(1)
	p := testParams(map[Address]uint64{addrOf(k): 1 << 40})
	c := newChain(p)
	var txs []*Tx
	for i := range 300 {
		txs = append(txs, signedTx(p, k, addrOf(testKey(2)), 1, 1, uint64(i)))
	}
	p.MaxBlockTxs = len(txs)
	blk := c.add(t, testKey(3), txs...)
	h, enc := blk.Hash(), blk.Encode()
	if len(enc) <= 3*bodyPiece {
		t.Fatalf("the block's encoding is %d bytes, want more than 3 pieces of %d", len(enc), bodyPiece)
	}
	// read checks what bodyOf and the page walk (in two chunks, as the live walk goes) say of
	// the bucket after damage changed it.
	read := func(t *testing.T, damage func(b *bolt.Bucket) error) (readErr, walkErr error) {
		db := blocksBucketDB(t)
		if err := db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBlocks)
			if err := putBodyPieces(b, h, enc); err != nil {
				return err
			}
			return damage(b)
		}); err != nil {
			t.Fatal(err)
		}
		w := newBucketWalk(bucketBlocks)
		for !w.done {
			if err := db.View(func(tx *bolt.Tx) error {
				_, err := w.step(tx.Bucket(bucketBlocks), 2)
				return err
			}); err != nil {
				walkErr = err
				break
			}
		}
		_ = db.View(func(tx *bolt.Tx) error {
			// What Store.Block makes of it: a body that lost its last piece reads without a gap
			// and fails to decode.
			got, ok, err := bodyOf(tx.Bucket(bucketBlocks), h)
			if err == nil && ok {
				if _, derr := DecodeBlock(got); derr != nil {
					err = fmt.Errorf("%v: %w", derr, ErrCorrupt)
				} else if !bytes.Equal(got, enc) {
					err = errors.New("the body read back different bytes")
				}
			}
			readErr = err
			return nil
		})
		return readErr, walkErr
	}
	tests := []struct {
		name   string
		damage func(b *bolt.Bucket) error
		ok     bool
	}{
		{"intact", func(*bolt.Bucket) error { return nil }, true},
		{"whole body under its hash (schema 3)", func(b *bolt.Bucket) error {
			for i := uint32(1); b.Get(bodyPieceKey(h, i)) != nil; i++ {
				if err := b.Delete(bodyPieceKey(h, i)); err != nil {
					return err
				}
			}
			return b.Put(h[:], enc)
		}, true},
		{"middle piece missing", func(b *bolt.Bucket) error { return b.Delete(bodyPieceKey(h, 2)) }, false},
		{"last piece missing", func(b *bolt.Bucket) error {
			i := uint32(1)
			for b.Get(bodyPieceKey(h, i+1)) != nil {
				i++
			}
			return b.Delete(bodyPieceKey(h, i))
		}, false},
		{"empty piece", func(b *bolt.Bucket) error { return b.Put(bodyPieceKey(h, 1), []byte{}) }, false},
		{"piece numbered 0", func(b *bolt.Bucket) error { return b.Put(bodyPieceKey(h, 0), []byte{1}) }, false},
		{"piece without its block", func(b *bolt.Bucket) error { return b.Delete(h[:]) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			readErr, walkErr := read(t, tc.damage)
			if tc.ok && (readErr != nil || walkErr != nil) {
				t.Fatalf("read: %v; walk: %v", readErr, walkErr)
			}
			if !tc.ok && tc.name != "piece without its block" && !errors.Is(readErr, ErrCorrupt) {
				t.Errorf("read: %v, want ErrCorrupt", readErr)
			}
			if !tc.ok && !errors.Is(walkErr, ErrCorrupt) {
				t.Errorf("walk: %v, want ErrCorrupt", walkErr)
			}
		})
	}
}

// TestBodyWriteAmplification: storing a block body rewrites about its own pages, not the
// bodies that share its leaf. Before bodies went in pieces, each 175 KiB body landed in a leaf
// with two or three others and a store of 44 pages' worth allocated 130 to 175.
func TestBodyWriteAmplification(t *testing.T) {
	db := blocksBucketDB(t)
	r := rand.New(rand.NewPCG(1, 2))
	body := make([]byte, 175_000)
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	own := (len(body) + 4095) / 4096
	var worst int
	for i := range 60 {
		var h Hash
		for j := range h {
			h[j] = byte(r.Uint32())
		}
		before := db.Stats()
		if err := db.Update(func(tx *bolt.Tx) error { return putBodyPieces(tx.Bucket(bucketBlocks), h, body) }); err != nil {
			t.Fatal(err)
		}
		after := db.Stats()
		pages := int(after.TxStats.GetPageCount() - before.TxStats.GetPageCount())
		if i >= 10 { // once the bucket has neighbours to rewrite
			worst = max(worst, pages)
		}
	}
	// Its own pages, a neighbour's leaf of four, the branch pages above and the freelist.
	if limit := own + own/8 + 12; worst > limit {
		t.Fatalf("storing a body of %d pages allocated up to %d pages, want at most %d", own, worst, limit)
	}
	t.Logf("a body of %d pages: at most %d pages allocated per store", own, worst)
}

// TestStoreUpgradesSchema3: a schema 3 file keeps every body whole under its hash. Check and
// Verify read it as it is, Open upgrades it to schema 4 without rewriting a body, its blocks
// read back (decoded and raw), and the next large block goes in pieces.
func TestStoreUpgradesSchema3(t *testing.T) {
	k := testKey(1)
	p := testParams(map[Address]uint64{addrOf(k): 1 << 40})
	p.MaxBlockTxs = 300
	c := newChain(p)
	big := func(nonce uint64) []*Tx {
		var txs []*Tx
		for i := range 300 {
			txs = append(txs, signedTx(p, k, addrOf(testKey(2)), 1, 1, nonce+uint64(i)))
		}
		return txs
	}
	b1 := c.add(t, testKey(3), big(0)...)
	b2 := c.add(t, testKey(3), big(300)...)
	h1 := b1.Hash()
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := Open(path, p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	connectAll(t, s, b1)
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { // as schema 3 wrote it
		b := tx.Bucket(bucketBlocks)
		for i := uint32(1); b.Get(bodyPieceKey(h1, i)) != nil; i++ {
			if err := b.Delete(bodyPieceKey(h1, i)); err != nil {
				return err
			}
		}
		return firstErr(b.Put(h1[:], b1.Encode()), tx.Bucket(bucketMeta).Put(metaSchema, be.AppendUint32(nil, 3)))
	})
	if rep, err := Check(path, p, testTimeout); err != nil || !rep.OK {
		t.Fatalf("Check of a schema 3 file: %+v, %v", rep, err)
	}
	if _, err := Verify(path, p, testTimeout); err != nil {
		t.Fatalf("Verify of a schema 3 file: %v", err)
	}
	s, err = Open(path, p, testTimeout)
	if err != nil {
		t.Fatalf("Open of a schema 3 file: %v", err)
	}
	defer s.Close()
	if got, ok, err := s.Block(h1); err != nil || !ok || got.Hash() != h1 {
		t.Fatalf("the whole body after the upgrade: %v, %v", ok, err)
	}
	if raw, ok, err := s.RawBlock(h1); err != nil || !ok || !bytes.Equal(raw, b1.Encode()) {
		t.Fatalf("the whole body, raw, after the upgrade: %v, %v", ok, err)
	}
	connectAll(t, s, b2)
	h2 := b2.Hash()
	var schema uint32
	var keys1, keys2 int
	count := func(b *bolt.Bucket, h Hash) (n int) {
		c := b.Cursor()
		for k, _ := c.Seek(h[:]); k != nil && bytes.HasPrefix(k, h[:]); k, _ = c.Next() {
			n++
		}
		return n
	}
	if err := s.db.View(func(tx *bolt.Tx) error {
		schema = be.Uint32(tx.Bucket(bucketMeta).Get(metaSchema))
		keys1, keys2 = count(tx.Bucket(bucketBlocks), h1), count(tx.Bucket(bucketBlocks), h2)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := (len(b2.Encode()) + bodyPiece - 1) / bodyPiece; schema != SchemaVersion || keys1 != 1 || keys2 != want || want < 2 {
		t.Fatalf("after the upgrade: schema %d, the old body under %d keys, the new under %d; want %d, 1, %d (> 1)", schema, keys1, keys2, SchemaVersion, want)
	}
	if got, ok, err := s.Block(h2); err != nil || !ok || got.Hash() != h2 {
		t.Fatalf("a body in pieces: %v, %v", ok, err)
	}
	s.Close()
	if rep, err := Check(path, p, testTimeout); err != nil || !rep.OK {
		t.Fatalf("Check after the upgrade: %+v, %v", rep, err)
	}
	if _, err := Verify(path, p, testTimeout); err != nil {
		t.Fatalf("Verify after the upgrade: %v", err)
	}
}
