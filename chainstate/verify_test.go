package chainstate

import (
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// verifiedStore returns the path of a closed store holding a three-block chain with transfers,
// and the chain.
func verifiedStore(t *testing.T) (string, *forkScenario) {
	t.Helper()
	f := newForkScenario(t)
	path := filepath.Join(t.TempDir(), "chain.db")
	s, err := Open(path, f.p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	// b1 (t1) is merged (run 1 of the tx index), b2 (t3) and b3 are recent records.
	s.recentMax, s.recentKeep = 2, 2
	connectAll(t, s, f.b1, f.b2, f.b3)
	// A side branch and mempool content must not disturb Verify.
	if err := s.PutBlock(f.a1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMempool([]*Tx{f.t2}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, f
}

func TestVerifyGood(t *testing.T) {
	path, f := verifiedStore(t)
	rep, err := Verify(path, f.p, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	// Accounts: wallet, x, y, miner B.
	want := VerifyReport{Height: 3, TipHash: f.b3.Hash(), Blocks: 4, Txs: 2, Accounts: 4}
	if *rep != want {
		t.Fatalf("report %+v, want %+v", *rep, want)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(f *forkScenario, tx *bolt.Tx) error
		want    []string
	}{
		{"account balance", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketAccounts).Put(f.x[:], encodeAccount(Account{Balance: 101}))
		}, []string{"tip height 3", "account {x}", "stored balance 101"}},
		{"extra account", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketAccounts).Put(f.z[:], encodeAccount(Account{Balance: 1}))
		}, []string{"tip height 3", "recomputed none"}},
		{"missing account", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketAccounts).Delete(f.y[:])
		}, []string{"tip height 3", "stored none"}},
		{"undo record", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b1.Hash()
			return tx.Bucket(bucketUndo).Put(h[:], encodeUndo([]AccountChange{{Addr: f.x}}))
		}, []string{"height 1", "undo record"}},
		{"missing undo record", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b2.Hash()
			return tx.Bucket(bucketUndo).Delete(h[:])
		}, []string{"height 2", "no undo record"}},
		{"tx index entry", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.t3.Hash()
			return tx.Bucket(bucketTxIndex).Put(h[:], encodeTxLoc(TxLocation{BlockHash: f.b2.Hash(), Height: 2, Index: 1}))
		}, []string{"height 2", "tx index says"}},
		{"stale tx index entry", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.t2.Hash()
			return tx.Bucket(bucketTxIndex).Put(h[:], encodeTxLoc(TxLocation{}))
		}, []string{"tip height 3", "tx index has 3 entries"}},
		{"index work", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b2.Hash()
			return tx.Bucket(bucketIndex).Put(h[:], encodeEntry(&IndexEntry{Header: f.b2.Header, Status: StatusMain, Work: WorkForBits(1)}))
		}, []string{"height 2", "work"}},
		{"block body", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b1.Hash()
			other := *f.b1
			other.Txs = nil
			return tx.Bucket(bucketBlocks).Put(h[:], other.Encode())
		}, []string{"height 1", "bad_tx_root"}},
		{"swapped block body", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b1.Hash()
			return tx.Bucket(bucketBlocks).Put(h[:], f.b2.Encode())
		}, []string{"height 1", "hashes to " + "{b2}"}},
		{"missing block body", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b2.Hash()
			return tx.Bucket(bucketBlocks).Delete(h[:])
		}, []string{"height 2", "no block body"}},
		{"missing index entry", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b2.Hash()
			return tx.Bucket(bucketIndex).Delete(h[:])
		}, []string{"height 2", "no index entry"}},
		{"index entry not main", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b1.Hash()
			return tx.Bucket(bucketIndex).Put(h[:], encodeEntry(&IndexEntry{Header: f.b1.Header, Status: StatusSide, Work: WorkForBits(1)}))
		}, []string{"height 1", "status side, want main"}},
		{"index entry of another header", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.b1.Hash()
			return tx.Bucket(bucketIndex).Put(h[:], encodeEntry(&IndexEntry{Header: f.b2.Header, Status: StatusMain, Work: WorkForBits(1)}))
		}, []string{"height 1", "index entry header differs"}},
		{"genesis undo record", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.p.GenesisHash()
			return tx.Bucket(bucketUndo).Put(h[:], encodeUndo(nil))
		}, []string{"height 0", "genesis has an undo record"}},
		{"missing tx index entry", func(f *forkScenario, tx *bolt.Tx) error {
			h := f.t1.Hash()
			return deleteMerged(tx, h)
		}, []string{"height 1", "has no tx index entry"}},
		{"tx index run missing", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketTxRuns).DeleteBucket(heightKey(1))
		}, []string{"tx index run 1 is listed but missing"}},
		{"tx index run size", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaTxRuns, be.AppendUint64(be.AppendUint64(nil, 1), 5))
		}, []string{"the tx index's runs hold 1 entries, listed as 5"}},
		{"missing recent record", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketTxRecent).Delete(heightKey(2))
		}, []string{"height 2", "has no tx index entry"}},
		{"recent record of another block", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketTxRecent).Put(heightKey(2), encodeRecent(f.b1.Hash(), []Hash{f.t3.Hash()}))
		}, []string{"height 2", "tx index says"}},
		{"extra recent record", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketTxRecent).Put(heightKey(7), encodeRecent(f.b3.Hash(), nil))
		}, []string{"3 txrecent records, want 2"}},
		{"merged height", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaTxMerged, be.AppendUint64(nil, 3))
		}, []string{"2 txrecent records, want 0"}},
		{"main chain gap", func(f *forkScenario, tx *bolt.Tx) error {
			return tx.Bucket(bucketMain).Delete(heightKey(2))
		}, []string{"height 2", "no main chain entry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, f := verifiedStore(t)
			rawUpdate(t, path, func(tx *bolt.Tx) error { return tt.corrupt(f, tx) })
			_, err := Verify(path, f.p, testTimeout)
			if err == nil {
				t.Fatal("Verify passed a corrupt store")
			}
			for _, w := range append(tt.want, path) {
				w = strings.ReplaceAll(w, "{x}", f.x.String())
				w = strings.ReplaceAll(w, "{b2}", f.b2.Hash().String())
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// deleteMerged deletes tx h from the tx index's merged level, wherever it is.
func deleteMerged(tx *bolt.Tx, h Hash) error {
	if err := tx.Bucket(bucketTxIndex).Delete(h[:]); err != nil {
		return err
	}
	return tx.Bucket(bucketTxRuns).ForEachBucket(func(k []byte) error {
		return tx.Bucket(bucketTxRuns).Bucket(k).Delete(h[:])
	})
}
