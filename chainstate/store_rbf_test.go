package chainstate

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

type rbfSlot struct {
	sender Address
	nonce  uint64
}

// TestCommitMempoolReplaces: an add takes its sender's nonce slot in the one write (the pending
// transaction there leaves the bucket, the index and the count with it), an add and its
// replacement in one batch leave only the replacement, and an add whose nonce is used is
// skipped and evicts nothing.
func TestCommitMempoolReplaces(t *testing.T) {
	k := testKey(1)
	p := testParams(map[Address]uint64{addrOf(k): 1000})
	s, _ := openTestStore(t, p, true)
	to := addrOf(testKey(9))
	a, b, c := signedTx(p, k, to, 1, 10, 0), signedTx(p, k, to, 2, 11, 0), signedTx(p, k, to, 3, 13, 0)
	if skipped, evicted, err := s.CommitMempool([]*Tx{a}, nil); err != nil || len(skipped)+len(evicted) != 0 {
		t.Fatalf("add: skipped %v, evicted %v, %v", skipped, evicted, err)
	}
	if skipped, evicted, err := s.CommitMempool([]*Tx{b}, nil); err != nil || len(skipped) != 0 || !slices.Equal(evicted, []Hash{a.Hash()}) {
		t.Fatalf("replace: skipped %v, evicted %v, %v; want a evicted", skipped, evicted, err)
	}
	if got := txState(t, s, a) + "/" + txState(t, s, b); got != "unknown/pending" {
		t.Fatalf("after the replacement a/b are %s", got)
	}
	d := []*Tx{signedTx(p, k, to, 4, 1, 1), signedTx(p, k, to, 5, 2, 1)} // one batch: d[1] replaces d[0]
	if _, evicted, err := s.CommitMempool(d, nil); err != nil || !slices.Equal(evicted, []Hash{d[0].Hash()}) {
		t.Fatalf("batch: evicted %v, %v", evicted, err)
	}
	if got := txState(t, s, d[0]) + "/" + txState(t, s, d[1]); got != "unknown/pending" {
		t.Fatalf("after the batch d0/d1 are %s", got)
	}
	if sum, err := s.Summary(); err != nil || sum.Mempool != 2 {
		t.Fatalf("mempool count %d, %v; want 2", sum.Mempool, err)
	}
	blk := newChain(p).add(t, testKey(7), b)
	if _, err := s.Connect(blk); err != nil {
		t.Fatal(err)
	}
	skipped, evicted, err := s.CommitMempool([]*Tx{c}, nil) // nonce 0 is used now
	if err != nil || !slices.Equal(skipped, []Hash{c.Hash()}) || len(evicted) != 0 {
		t.Fatalf("used nonce: skipped %v, evicted %v, %v; want c skipped", skipped, evicted, err)
	}
	if got := txState(t, s, b) + "/" + txState(t, s, c); got != "confirmed/unknown" {
		t.Fatalf("after the block b/c are %s", got)
	}
}

// TestCommitMempoolReplaceProperty: over random group commits (new transfers, replacements,
// replacements within one batch, transfers whose nonce a block used), blocks connected from what
// is pending, removals and reopens of the store, every sender-and-nonce slot that ever had a
// transfer written has exactly one of its written transfers pending or confirmed (a replacement
// never loses both and never keeps both), the bucket is exactly the model's pending set, and the
// mempool's index and count stay consistent (the check Verify runs).
func TestCommitMempoolReplaceProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keys := []byte{1, 2}
		alloc := map[Address]uint64{}
		for _, k := range keys {
			alloc[addrOf(testKey(k))] = 1 << 40
		}
		p := testParams(alloc)
		dir, err := os.MkdirTemp("", "mempool-rbf")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "chain.db")
		s, err := Open(path, p, testTimeout)
		if err != nil {
			rt.Fatal(err)
		}
		s.db.NoSync = true // speed: a reopen closes the file cleanly, so fsync proves nothing here
		defer func() { _ = s.Close() }()
		c := newChain(p)
		pending := map[rbfSlot]*Tx{}   // the model of the bucket: one transfer per slot
		written := map[rbfSlot][]*Tx{} // every transfer a commit wrote, by slot
		removed := map[rbfSlot]bool{}  // slots emptied on purpose (a prune)
		amount := uint64(0)
		newTx := func(k byte, nonce uint64) *Tx {
			amount++
			return signedTx(p, testKey(k), addrOf(testKey(9)), amount, rapid.Uint64Range(0, 50).Draw(rt, "fee"), nonce)
		}
		for step := range rapid.IntRange(1, 30).Draw(rt, "steps") {
			switch op := rapid.IntRange(0, 7).Draw(rt, "op"); op {
			case 0, 1, 2: // one group commit of 1 to 3 transfers, some on the same slot
				var batch []*Tx
				for range rapid.IntRange(1, 3).Draw(rt, "batch") {
					k := rapid.SampledFrom(keys).Draw(rt, "key")
					committed := c.state[addrOf(testKey(k))].Nonce
					batch = append(batch, newTx(k, committed+rapid.Uint64Range(0, 2).Draw(rt, "ahead")))
				}
				var wantEvicted []Hash
				for _, tx := range batch {
					sl := rbfSlot{tx.Sender(), tx.Nonce}
					if old := pending[sl]; old != nil {
						wantEvicted = append(wantEvicted, old.Hash())
					}
					pending[sl] = tx
					written[sl] = append(written[sl], tx)
					delete(removed, sl)
				}
				skipped, evicted, err := s.CommitMempool(batch, nil)
				if err != nil || len(skipped) != 0 || !slices.Equal(evicted, wantEvicted) {
					rt.Fatalf("step %d: skipped %v, evicted %v (want %v), %v", step, skipped, evicted, wantEvicted, err)
				}
			case 3: // a transfer whose nonce is used (a peer's late copy of a mined slot)
				k := rapid.SampledFrom(keys).Draw(rt, "key")
				committed := c.state[addrOf(testKey(k))].Nonce
				if committed == 0 {
					continue
				}
				tx := newTx(k, rapid.Uint64Range(0, committed-1).Draw(rt, "used"))
				skipped, evicted, err := s.CommitMempool([]*Tx{tx}, nil)
				if err != nil || !slices.Equal(skipped, []Hash{tx.Hash()}) || len(evicted) != 0 {
					rt.Fatalf("step %d: used nonce: skipped %v, evicted %v, %v", step, skipped, evicted, err)
				}
			case 4: // a block with the executable run of one sender
				a := addrOf(testKey(rapid.SampledFrom(keys).Draw(rt, "miner key")))
				var run []*Tx
				for n := c.state[a].Nonce; pending[rbfSlot{a, n}] != nil; n++ {
					run = append(run, pending[rbfSlot{a, n}])
				}
				b := c.add(t, testKey(7), run...)
				if _, err := s.Connect(b); err != nil {
					rt.Fatal(err)
				}
				for _, tx := range run {
					delete(pending, rbfSlot{a, tx.Nonce})
				}
			case 5: // a prune removes one pending transfer
				for sl, tx := range pending {
					if _, _, err := s.CommitMempool(nil, []Hash{tx.Hash()}); err != nil {
						rt.Fatal(err)
					}
					delete(pending, sl)
					removed[sl] = true
					break
				}
			default: // restart
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				if s, err = Open(path, p, testTimeout); err != nil {
					rt.Fatal(err)
				}
				s.db.NoSync = true
			}
			if err := s.db.View(func(tx *bolt.Tx) error { return newReadTx(tx).checkMempoolIndex() }); err != nil {
				rt.Fatalf("step %d: %v", step, err)
			}
			txs, err := s.MempoolTxs()
			if err != nil {
				rt.Fatal(err)
			}
			if len(txs) != len(pending) {
				rt.Fatalf("step %d: the bucket holds %d transfers, the model %d", step, len(txs), len(pending))
			}
			for _, tx := range txs {
				if m := pending[rbfSlot{tx.Sender(), tx.Nonce}]; m == nil || m.Hash() != tx.Hash() {
					rt.Fatalf("step %d: the bucket holds %s, the model %v at its slot", step, tx.Hash(), m)
				}
			}
			for sl, txs := range written {
				live := 0
				for _, tx := range txs {
					st, ok, err := s.TxState(tx.Hash())
					if err != nil {
						rt.Fatal(err)
					}
					if ok && (st.Confirmed || pending[sl] == tx) {
						live++
					} else if ok {
						rt.Fatalf("step %d: %s is pending but not the model's transfer of its slot", step, tx.Hash())
					}
				}
				if want := 1; removed[sl] {
					want = 0
					if live != want {
						rt.Fatalf("step %d: pruned slot %s/%d has %d transfers", step, sl.sender, sl.nonce, live)
					}
				} else if live != want {
					rt.Fatalf("step %d: sender %s nonce %d: %d of its %d written transfers pending or confirmed, want 1", step, sl.sender, sl.nonce, live, len(txs))
				}
			}
		}
	})
}
