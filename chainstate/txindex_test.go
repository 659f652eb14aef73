package chainstate

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

// TestTxIndexProperty: under any sequence of block connects and reorgs, with any merge policy,
// TxLocation finds every main-chain transaction where the chain has it and no other, the recent
// records cover exactly the blocks above the merged height, and verifyChain passes.
func TestTxIndexProperty(t *testing.T) {
	wallet := testKey(1)
	p := testParams(map[Address]uint64{addrOf(wallet): 1 << 40})
	rapid.Check(t, func(rt *rapid.T) {
		s, err := Open(filepath.Join(t.TempDir(), "chain.db"), p, testTimeout)
		if err != nil {
			rt.Fatal(err)
		}
		defer s.Close()
		s.recentMax = rapid.IntRange(0, 6).Draw(rt, "recentMax")
		s.recentKeep = rapid.IntRange(0, s.recentMax).Draw(rt, "recentKeep")
		s.chunkEntries = rapid.IntRange(1, 4).Draw(rt, "chunkEntries")
		s.recentPiece = rapid.IntRange(1, 3).Draw(rt, "recentPiece")
		c := newChain(p)
		seen := map[Hash]bool{} // every transaction ever connected
		for range rapid.IntRange(1, 25).Draw(rt, "steps") {
			if h := len(c.blocks) - 1; h > 0 && rapid.IntRange(0, 3).Draw(rt, "op") == 0 {
				c = reorgStep(t, rt, s, c, rapid.IntRange(1, min(h, 5)).Draw(rt, "depth"), seen)
				continue
			}
			b := c.add(t, testKey(2), drawTransfers(rt, p, wallet, c)...)
			if _, err := s.Connect(b); err != nil {
				rt.Fatalf("connect %d: %v", b.Header.Height, err)
			}
			for _, tx := range b.Txs {
				seen[tx.Hash()] = true
			}
		}
		checkTxIndex(rt, s, c, seen)
	})
}

// drawTransfers draws 0 to 3 transfers from wallet at c's tip: amounts from a small range, so a
// branch often holds the same transfer as the one it replaces.
func drawTransfers(rt *rapid.T, p *Params, wallet ed25519.PrivateKey, c *chain) []*Tx {
	nonce := c.state[addrOf(wallet)].Nonce
	var txs []*Tx
	for i := range rapid.IntRange(0, 3).Draw(rt, "txs") {
		amount := uint64(rapid.IntRange(1, 2).Draw(rt, "amount"))
		txs = append(txs, signedTx(p, wallet, addrOf(testKey(3)), amount, 1, nonce+uint64(i)))
	}
	return txs
}

// reorgStep replaces the top depth blocks of c (s's main chain) with depth+1 new ones and returns
// the new chain.
func reorgStep(t *testing.T, rt *rapid.T, s *Store, c *chain, depth int, seen map[Hash]bool) *chain {
	wallet := testKey(1)
	h := len(c.blocks) - 1
	f := c.fork(t, h-depth)
	for range depth + 1 {
		b := f.add(t, testKey(4), drawTransfers(rt, c.p, wallet, f)...)
		for _, tx := range b.Txs {
			seen[tx.Hash()] = true
		}
	}
	var disconnect []Hash
	for i := h; i > h-depth; i-- {
		disconnect = append(disconnect, c.blocks[i].Hash())
	}
	if _, err := s.Reorg(disconnect, f.blocks[h-depth+1:]); err != nil {
		rt.Fatalf("reorg of depth %d: %v", depth, err)
	}
	return f
}

// checkTxIndex compares s's tx index with main chain c; seen holds every transaction connected.
func checkTxIndex(rt *rapid.T, s *Store, c *chain, seen map[Hash]bool) {
	want := map[Hash]TxLocation{}
	for height, b := range c.blocks {
		for i, tx := range b.Txs {
			want[tx.Hash()] = TxLocation{BlockHash: b.Hash(), Height: uint64(height), Index: i}
		}
	}
	for h := range seen {
		l, ok, err := s.TxLocation(h)
		w, main := want[h]
		if err != nil || ok != main || (main && l != w) {
			rt.Fatalf("tx %s: location %+v %v %v, want %+v %v", h, l, ok, err, w, main)
		}
	}
	err := s.view("check", func(r *readTx) error {
		merged, err := r.txMerged()
		if err != nil {
			return err
		}
		tip := uint64(len(c.blocks) - 1)
		if records, _ := r.recentCounts(); uint64(records) != tip-min(merged, tip) {
			return fmt.Errorf("%d recent records at tip %d, merged %d", records, tip, merged)
		}
		if tip-min(merged, tip) > uint64(s.recentMax) {
			return fmt.Errorf("%d recent blocks, the policy keeps at most %d", tip-merged, s.recentMax)
		}
		_, err = verifyChain(s.params, r)
		return err
	})
	if err != nil {
		rt.Fatal(err)
	}
}

// TestStoreUpgradesSchema2: a schema 2 file (every confirmed transaction in txindex, no recent
// level) is read as it is by Verify and upgraded by Open: its transactions are found, the recent
// level starts at the tip, and new blocks go there.
func TestStoreUpgradesSchema2(t *testing.T) {
	f := newForkScenario(t)
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := Open(path, f.p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	s.recentMax, s.recentKeep = 0, 0 // everything merged, as schema 2 kept it
	connectAll(t, s, f.b1)
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { // schema 2: the merged entries in txindex, no runs
		meta := tx.Bucket(bucketMeta)
		runs := tx.Bucket(bucketTxRuns)
		err := runs.ForEachBucket(func(k []byte) error {
			return runs.Bucket(k).ForEach(func(_, v []byte) error {
				for ; len(v) > 0; v = v[runEntrySize:] {
					if err := tx.Bucket(bucketTxIndex).Put(v[:32], v[32:runEntrySize]); err != nil {
						return err
					}
				}
				return nil
			})
		})
		return firstErr(err, tx.DeleteBucket(bucketTxRecent), tx.DeleteBucket(bucketTxRuns), meta.Delete(metaTxMerged),
			meta.Delete(metaTxRuns), meta.Put(metaSchema, be.AppendUint32(nil, 2)))
	})
	if _, err := Verify(path, f.p, testTimeout); err != nil {
		t.Fatalf("Verify of a schema 2 file: %v", err)
	}
	s, err = Open(path, f.p, testTimeout)
	if err != nil {
		t.Fatalf("Open of a schema 2 file: %v", err)
	}
	s.recentMax, s.recentKeep = 0, 0 // b2 goes to a run, beside the old tree's entries
	connectAll(t, s, f.b2, f.b3)
	for _, tx := range []*Tx{f.t1, f.t3} {
		if _, ok, err := s.TxLocation(tx.Hash()); !ok || err != nil {
			t.Fatalf("tx %s after the upgrade: found %v, %v", tx.Hash(), ok, err)
		}
	}
	var merged uint64
	var schema uint32
	if err := s.db.View(func(tx *bolt.Tx) error {
		schema = be.Uint32(tx.Bucket(bucketMeta).Get(metaSchema))
		merged, err = newReadTx(tx).txMerged()
		return err
	}); err != nil || schema != SchemaVersion || merged != 3 {
		t.Fatalf("after the upgrade: schema %d, merged %d, %v; want %d, 3", schema, merged, err, SchemaVersion)
	}
	var runs []txRun
	var old int
	if err := s.view("runs", func(r *readTx) error {
		old = r.txindex.Stats().KeyN
		runs, err = r.txRuns()
		return err
	}); err != nil || len(runs) != 1 || runs[0].n != uint64(len(f.b2.Txs)) || old != len(f.b1.Txs) {
		t.Fatalf("after the upgrade: runs %+v, %d entries in the old tree, %v; want one run of b2's %d and b1's %d in the tree", runs, old, err, len(f.b2.Txs), len(f.b1.Txs))
	}
	s.Close()
	if _, err := Verify(path, f.p, testTimeout); err != nil {
		t.Fatalf("Verify after the upgrade: %v", err)
	}
}

// TestRecentRecordShape: encodeRecent sorts by hash and keeps each index; checkRecentRecord
// refuses what encodeRecent never writes.
func TestRecentRecordShape(t *testing.T) {
	// Two pairs alike in their first 8 bytes: the order comes from the bytes after them.
	hashes := []Hash{{3}, {1}, {2}, {1, 8: 2}, {1, 8: 1, 31: 1}, {1, 31: 1}}
	v := encodeRecent(Hash{9}, hashes)
	if err := checkRecentRecord(heightKey(5), v); err != nil {
		t.Fatal(err)
	}
	for i, h := range hashes {
		l, ok := findRecent(5, v, h)
		if !ok || l != (TxLocation{BlockHash: Hash{9}, Height: 5, Index: i}) {
			t.Fatalf("find %v: %+v %v", h, l, ok)
		}
	}
	if _, ok := findRecent(5, v, Hash{4}); ok {
		t.Fatal("found a hash the record does not hold")
	}
	unsorted := append(append(append([]byte{}, v[:32]...), v[32+recentEntrySize:32+2*recentEntrySize]...), v[32:32+recentEntrySize]...)
	bad := []struct {
		name string
		k, v []byte
	}{
		{"short key", []byte{1}, v},
		{"no block hash", heightKey(5), v[:31]},
		{"partial entry", heightKey(5), v[:len(v)-1]},
		{"out of order", heightKey(5), unsorted},
		{"duplicate", heightKey(5), append(append([]byte{}, v[:32+recentEntrySize]...), v[32:32+recentEntrySize]...)},
	}
	for _, b := range bad {
		if err := checkRecentRecord(b.k, b.v); err == nil {
			t.Errorf("%s: accepted", b.name)
		}
	}
}

// TestTxRunsStayLogarithmic: merged a block at a time, the runs keep each one more than twice
// the size of the next newer (so at most log2 of the entries plus one of them), hold every
// merged transaction once, and write each new run's keys in order.
func TestTxRunsStayLogarithmic(t *testing.T) {
	wallet := testKey(1)
	p := testParams(map[Address]uint64{addrOf(wallet): 1 << 40})
	s, err := Open(filepath.Join(t.TempDir(), "chain.db"), p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.recentMax, s.recentKeep = 1, 0 // each block merged as it is connected
	s.chunkEntries, s.recentPiece = 3, 2
	c := newChain(p)
	var nonce uint64
	merges, total, prevRuns := 0, 0, 0
	perBlock := []int{0} // transactions per height, genesis none
	for i := range 60 {
		var txs []*Tx
		for range 1 + i%5 {
			txs = append(txs, signedTx(p, wallet, addrOf(testKey(3)), 1, 1, nonce))
			nonce++
		}
		connectAll(t, s, c.add(t, testKey(2), txs...))
		total += len(txs)
		perBlock = append(perBlock, len(txs))
		var runs []txRun
		var upTo uint64
		if err := s.view("runs", func(r *readTx) error {
			if upTo, err = r.txMerged(); err != nil {
				return err
			}
			runs, err = r.txRuns()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		merged := 0
		for _, n := range perBlock[:upTo+1] {
			merged += n
		}
		sum := 0
		for j, run := range runs {
			sum += int(run.n)
			if j > 0 && runs[j-1].n <= runMergeRatio*run.n {
				t.Fatalf("block %d: run %d of %d entries before run %d of %d: should have been merged", i+1, runs[j-1].id, runs[j-1].n, run.id, run.n)
			}
		}
		if sum != merged {
			t.Fatalf("block %d: merged up to %d, the runs hold %d entries, want %d", i+1, upTo, sum, merged)
		}
		if bound := bits.Len(uint(merged)); len(runs) > bound {
			t.Fatalf("block %d: %d runs for %d entries, want at most %d", i+1, len(runs), merged, bound)
		}
		if i > 1 && len(runs) <= prevRuns {
			merges++ // a new run, and fewer or as many as before
		}
		prevRuns = len(runs)
	}
	if merges < 10 {
		t.Fatalf("only %d blocks merged runs: the test does not exercise merging", merges)
	}
	if rep, err := func() (*VerifyReport, error) { s.Close(); return Verify(s.path, p, testTimeout) }(); err != nil {
		t.Fatalf("Verify: %v", err)
	} else if rep.Txs != uint64(total) {
		t.Fatalf("Verify counted %d transactions, want %d", rep.Txs, total)
	}
}

// TestRecentPieces: a record of 1,000 transfers goes in pieces that each hold whole, sorted
// entries, which the walk accepts in order and refuses out of sequence, out of hash order or
// without their first piece; appending a record writes about its own pages (before pieces, the
// leaf it landed in held two or three 36 KiB records, all rewritten).
func TestRecentPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	hashes := make([]Hash, 1000)
	for i := range hashes {
		for j := range hashes[i] {
			hashes[i][j] = byte(r.Uint32())
		}
	}
	rec := encodeRecent(Hash{7}, hashes)
	db := blocksBucketDB(t)
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket(bucketTxRecent)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	own := (len(rec) + 4095) / 4096
	var worst int
	for height := uint64(1); height <= 60; height++ {
		before := db.Stats()
		if err := db.Update(func(tx *bolt.Tx) error {
			return putRecent(tx.Bucket(bucketTxRecent), height, rec, recentPieceEntries)
		}); err != nil {
			t.Fatal(err)
		}
		after := db.Stats()
		if height > 10 {
			worst = max(worst, int(after.TxStats.GetPageCount()-before.TxStats.GetPageCount()))
		}
	}
	if limit := own + own/8 + 12; worst > limit { // its own pages, the last leaf before, branches, freelist
		t.Fatalf("appending a record of %d pages allocated up to %d pages, want at most %d", own, worst, limit)
	}
	type kv struct{ k, v []byte }
	var pieces []kv
	if err := db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketTxRecent).Cursor()
		prefix := heightKey(5)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			pieces = append(pieces, kv{clone(k), clone(v)})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := 1 + (len(hashes)-recentFirstEntries+recentPieceEntries-1)/recentPieceEntries; len(pieces) != want {
		t.Fatalf("a record of %d entries in %d pieces, want %d", len(hashes), len(pieces), want)
	}
	walk := func(ps []kv) error {
		var w recentWalk
		for _, p := range ps {
			if err := w.add(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(pieces); err != nil {
		t.Fatalf("the pieces as written: %v", err)
	}
	swapped := append([]kv{}, pieces...)
	swapped[1], swapped[2] = kv{swapped[1].k, swapped[2].v}, kv{swapped[2].k, swapped[1].v}
	for name, ps := range map[string][]kv{
		"a piece missing":          append(append([]kv{}, pieces[:1]...), pieces[2:]...),
		"no first piece":           pieces[1:],
		"pieces out of hash order": swapped,
	} {
		if err := walk(ps); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if err := db.View(func(tx *bolt.Tx) error {
		r := &readTx{txrecent: tx.Bucket(bucketTxRecent)}
		for i, h := range hashes[:50] {
			l, ok, err := r.recentLocation(h)
			if err != nil || !ok || l.BlockHash != (Hash{7}) || l.Index != i || l.Height != 60 {
				return fmt.Errorf("tx %d: %+v %v %v", i, l, ok, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestFailedMergeRollsBack: a connect whose commit fails while it merges the tx index (each
// block merged as it is connected, so every connect builds a run and most cascade) leaves the
// store as it was: the tip, every earlier transaction found where it was, none of the failed
// block's; the same block then connects and the index holds all of them. The store keeps no
// copy of the index's layout outside the file that a rolled-back merge could leave behind.
func TestFailedMergeRollsBack(t *testing.T) {
	wallet := testKey(1)
	p := testParams(map[Address]uint64{addrOf(wallet): 1 << 40})
	s, err := Open(filepath.Join(t.TempDir(), "chain.db"), p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.recentMax, s.recentKeep = 1, 0
	s.chunkEntries, s.recentPiece = 3, 2
	c := newChain(p)
	var nonce uint64
	var txs []*Tx // every transfer, in block order
	injected := errors.New("injected commit failure")
	failures := 0
	for i := range 40 {
		var bt []*Tx
		for range 1 + i%4 {
			bt = append(bt, signedTx(p, wallet, addrOf(testKey(3)), 1, 1, nonce))
			nonce++
		}
		b := c.add(t, testKey(2), bt...)
		if i%3 == 2 { // fail this block's first commit
			s.SetBeforeCommit(func() error { return injected })
			_, err := s.Connect(b)
			s.SetBeforeCommit(nil)
			if !errors.Is(err, injected) {
				t.Fatalf("block %d: Connect with a failing commit: %v", i+1, err)
			}
			failures++
			tip, err := s.Tip()
			if err != nil || tip.Header.Height != uint64(i) {
				t.Fatalf("block %d: after the failed commit the tip is %v (%v), want height %d", i+1, tip, err, i)
			}
			for _, tx := range bt {
				if _, ok, err := s.TxLocation(tx.Hash()); ok || err != nil {
					t.Fatalf("block %d: a transfer of the failed connect is indexed (%v)", i+1, err)
				}
			}
			for j, tx := range txs {
				if l, ok, err := s.TxLocation(tx.Hash()); !ok || err != nil || l.Height == 0 {
					t.Fatalf("block %d: transfer %d lost from the index after the failed commit (%v %v)", i+1, j, ok, err)
				}
			}
		}
		connectAll(t, s, b)
		txs = append(txs, bt...)
	}
	for j, tx := range txs {
		if _, ok, err := s.TxLocation(tx.Hash()); !ok || err != nil {
			t.Fatalf("transfer %d not indexed at the end (%v)", j, err)
		}
	}
	if failures < 10 {
		t.Fatalf("only %d failed commits", failures)
	}
	s.Close()
	rep, err := Verify(s.path, p, testTimeout)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rep.Txs != uint64(len(txs)) {
		t.Fatalf("Verify counted %d transactions, want %d", rep.Txs, len(txs))
	}
}

// TestHasDuplicate: the sorted check agrees with a set on lists with repeats and with hashes
// that share their first 8 bytes.
func TestHasDuplicate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 40).Draw(t, "n")
		hashes := make([]Hash, n)
		for i := range hashes {
			switch rapid.IntRange(0, 2).Draw(t, fmt.Sprint("kind ", i)) {
			case 0: // drawn
				copy(hashes[i][:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, fmt.Sprint("hash ", i)))
			case 1: // a prefix tie with an earlier one, the rest drawn
				if i > 0 {
					copy(hashes[i][:8], hashes[rapid.IntRange(0, i-1).Draw(t, fmt.Sprint("tie ", i))][:8])
				}
				copy(hashes[i][8:], rapid.SliceOfN(rapid.Byte(), 24, 24).Draw(t, fmt.Sprint("tail ", i)))
			case 2: // a repeat
				if i > 0 {
					hashes[i] = hashes[rapid.IntRange(0, i-1).Draw(t, fmt.Sprint("repeat ", i))]
				}
			}
		}
		seen, want := map[Hash]bool{}, false
		for _, h := range hashes {
			want = want || seen[h]
			seen[h] = true
		}
		if got := hasDuplicate(hashes); got != want {
			t.Fatalf("hasDuplicate = %v, a set says %v", got, want)
		}
	})
}
