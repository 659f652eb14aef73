package chainstate

import (
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"
)

func txState(t *testing.T, s *Store, tx *Tx) string {
	t.Helper()
	st, ok, err := s.TxState(tx.Hash())
	switch {
	case err != nil:
		t.Fatalf("TxState: %v", err)
	case !ok:
		return "unknown"
	case st.Tx == nil || st.Tx.Hash() != tx.Hash():
		t.Fatalf("TxState of %s returned transaction %v", tx.Hash(), st.Tx)
	case st.Confirmed:
		return "confirmed"
	}
	return "pending"
}

func pendingNonce(t *testing.T, s *Store, a Address) uint64 {
	t.Helper()
	_, n, err := s.AccountPending(a)
	if err != nil {
		t.Fatalf("AccountPending: %v", err)
	}
	return n
}

// TestStoreTxStateFollowsConnectAndReorg: a transfer moves between the mempool bucket and the tx
// index in the same write transaction, so one read always finds it, and the pending nonce and
// mempool count follow.
func TestStoreTxStateFollowsConnectAndReorg(t *testing.T) {
	f := newForkScenario(t)
	s, _ := openTestStore(t, f.p, true)
	sender := addrOf(testKey(1))
	if err := s.PutMempool([]*Tx{f.t1, f.t2, f.t3}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tx := range []*Tx{f.t1, f.t2, f.t3} {
		if got := txState(t, s, tx); got != "pending" {
			t.Fatalf("%s before any block: %s, want pending", tx.Hash(), got)
		}
	}
	sum, err := s.Summary()
	if err != nil || sum.Mempool != 3 || sum.Tip.Header.Height != 0 {
		t.Fatalf("summary %+v %v, want 3 pending at height 0", sum, err)
	}
	connectAll(t, s, f.a1, f.a2) // t1 and t2
	for tx, want := range map[*Tx]string{f.t1: "confirmed", f.t2: "confirmed", f.t3: "pending"} {
		if got := txState(t, s, tx); got != want {
			t.Fatalf("%s after A: %s, want %s", tx.Hash(), got, want)
		}
	}
	if n := pendingNonce(t, s, sender); n != 2 {
		t.Fatalf("pending nonce after A: %d, want 2 (t3 has nonce 1 again on the other branch)", n)
	}
	// A mempool commit that lands after the block that confirmed its transfer (a miner took it
	// from memory first) adds nothing: the bucket never holds a main-chain transaction.
	if err := s.PutMempool([]*Tx{f.t1}, nil); err != nil {
		t.Fatal(err)
	}
	if sum, err := s.Summary(); err != nil || sum.Mempool != 1 || txState(t, s, f.t1) != "confirmed" {
		t.Fatalf("after re-adding a confirmed transfer: summary %+v %v, t1 %s; want 1 pending, t1 confirmed", sum, err, txState(t, s, f.t1))
	}
	if _, err := s.Reorg([]Hash{f.a2.Hash(), f.a1.Hash()}, []*Block{f.b1, f.b2, f.b3}); err != nil {
		t.Fatal(err)
	}
	for tx, want := range map[*Tx]string{f.t1: "confirmed", f.t2: "pending", f.t3: "confirmed"} {
		if got := txState(t, s, tx); got != want {
			t.Fatalf("%s after the reorg to B: %s, want %s", tx.Hash(), got, want)
		}
	}
	if sum, err := s.Summary(); err != nil || sum.Mempool != 1 || sum.Tip.Hash != f.b3.Hash() {
		t.Fatalf("summary after the reorg %+v %v, want t2 pending at b3", sum, err)
	}
	if got := txState(t, s, signedTx(f.p, testKey(1), addrOf(testKey(9)), 1, 1, 40)); got != "unknown" {
		t.Fatalf("a transfer never stored: %s", got)
	}
}

// TestStoreAccountPending: the committed nonce, then the run of consecutive mempool nonces; a
// second transfer with a nonce of the run neither breaks nor lengthens it.
func TestStoreAccountPending(t *testing.T) {
	k := testKey(1)
	to := addrOf(testKey(2))
	cases := []struct {
		name   string
		nonces []uint64
		want   uint64
	}{
		{"none", nil, 0},
		{"run", []uint64{0, 1, 2}, 3},
		{"gap", []uint64{0, 1, 3, 4}, 2},
		{"no zero", []uint64{1, 2}, 0},
		{"same nonce twice", []uint64{0, 0, 1}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testParams(map[Address]uint64{addrOf(k): 1_000_000})
			s, _ := openTestStore(t, p, true)
			var txs []*Tx
			for i, n := range c.nonces {
				txs = append(txs, signedTx(p, k, to, uint64(1+i), 1, n))
			}
			if err := s.PutMempool(txs, nil); err != nil {
				t.Fatal(err)
			}
			acct, n, err := s.AccountPending(addrOf(k))
			if err != nil || n != c.want || acct.Balance != 1_000_000 {
				t.Fatalf("AccountPending = %+v, %d, %v; want pending %d", acct, n, err, c.want)
			}
			// Another sender's queue does not count.
			if n := pendingNonce(t, s, addrOf(testKey(3))); n != 0 {
				t.Fatalf("another sender's pending nonce %d, want 0", n)
			}
		})
	}
}

// TestStoreUpgradesSchema1: a schema 1 file (no sender index, no count) is read as it is by
// Verify and upgraded in place by Open, with the index built from the mempool bucket.
func TestStoreUpgradesSchema1(t *testing.T) {
	k := testKey(1)
	p := testParams(map[Address]uint64{addrOf(k): 1_000_000})
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := Open(path, p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	txs := []*Tx{signedTx(p, k, addrOf(testKey(2)), 1, 1, 0), signedTx(p, k, addrOf(testKey(2)), 1, 1, 1)}
	if err := s.PutMempool(txs, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		return firstErr(tx.DeleteBucket(bucketMempoolSender), meta.Delete(metaMempoolCount),
			tx.DeleteBucket(bucketTxRecent), meta.Delete(metaTxMerged),
			meta.Put(metaSchema, be.AppendUint32(nil, 1)))
	})
	if _, err := Verify(path, p, testTimeout); err != nil {
		t.Fatalf("Verify of a schema 1 file: %v", err)
	}
	s, err = Open(path, p, testTimeout)
	if err != nil {
		t.Fatalf("Open of a schema 1 file: %v", err)
	}
	defer s.Close()
	if n := pendingNonce(t, s, addrOf(k)); n != 2 {
		t.Fatalf("pending nonce after the upgrade %d, want 2", n)
	}
	if sum, err := s.Summary(); err != nil || sum.Mempool != 2 {
		t.Fatalf("summary after the upgrade %+v %v, want 2 pending", sum, err)
	}
	var schema uint32
	if err := s.db.View(func(tx *bolt.Tx) error {
		schema = be.Uint32(tx.Bucket(bucketMeta).Get(metaSchema))
		return newReadTx(tx).checkMempoolIndex()
	}); err != nil || schema != SchemaVersion {
		t.Fatalf("after the upgrade: schema %d, index check %v", schema, err)
	}
}

// TestStoreMempoolIndexProperty: any sequence of additions, removals and block connects keeps the
// mempool bucket, its sender index and its count in step, and AccountPending equal to a model.
func TestStoreMempoolIndexProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		keys := []byte{1, 2}
		alloc := map[Address]uint64{}
		for _, k := range keys {
			alloc[addrOf(testKey(k))] = 1 << 40
		}
		p := testParams(alloc)
		dir, err := os.MkdirTemp("", "mempool-index")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s, err := Open(filepath.Join(dir, "chain.db"), p, testTimeout)
		if err != nil {
			rt.Fatal(err)
		}
		defer s.Close()
		c := newChain(p)
		pool := map[Hash]*Tx{}
		for i := range rapid.IntRange(1, 30).Draw(rt, "steps") {
			switch rapid.IntRange(0, 3).Draw(rt, "op") {
			case 0, 1: // add transfers
				k := testKey(rapid.SampledFrom(keys).Draw(rt, "key"))
				committed := c.state[addrOf(k)].Nonce
				tx := signedTx(p, k, addrOf(testKey(9)), uint64(i+1), 1, committed+rapid.Uint64Range(0, 4).Draw(rt, "ahead"))
				if err := s.PutMempool([]*Tx{tx}, nil); err != nil {
					rt.Fatal(err)
				}
				pool[tx.Hash()] = tx
			case 2: // remove one
				for h := range pool {
					if err := s.PutMempool(nil, []Hash{h}); err != nil {
						rt.Fatal(err)
					}
					delete(pool, h)
					break
				}
			case 3: // mine the executable run of one sender
				a := addrOf(testKey(rapid.SampledFrom(keys).Draw(rt, "miner key")))
				var run []*Tx
				for n := c.state[a].Nonce; ; n++ {
					var next *Tx
					for _, tx := range pool {
						if tx.Sender() == a && tx.Nonce == n {
							next = tx
							break
						}
					}
					if next == nil {
						break
					}
					run = append(run, next)
				}
				b := c.add(t, testKey(7), run...)
				if _, err := s.Connect(b); err != nil {
					rt.Fatal(err)
				}
				for _, tx := range run {
					delete(pool, tx.Hash())
				}
			}
			if err := s.db.View(func(tx *bolt.Tx) error { return newReadTx(tx).checkMempoolIndex() }); err != nil {
				rt.Fatalf("step %d: %v", i, err)
			}
			for _, k := range keys {
				a := addrOf(testKey(k))
				want := c.state[a].Nonce
				for {
					found := false
					for _, tx := range pool {
						if tx.Sender() == a && tx.Nonce == want {
							found = true
						}
					}
					if !found {
						break
					}
					want++
				}
				if _, got, err := s.AccountPending(a); err != nil || got != want {
					rt.Fatalf("step %d: pending nonce of key %d = %d (%v), model %d", i, k, got, err, want)
				}
			}
			if sum, err := s.Summary(); err != nil || sum.Mempool != len(pool) {
				rt.Fatalf("step %d: mempool count %d (%v), model %d", i, sum.Mempool, err, len(pool))
			}
		}
	})
}
