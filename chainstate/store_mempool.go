package chainstate

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The mempool bucket holds the durable pending transactions by hash. Two structures beside it
// answer the questions that combine the mempool with the chain in ONE read transaction, so that an
// answer never mixes two states of the store:
//
//	mempool_sender  sender address (20) ‖ nonce u64 ‖ tx hash (32) → empty: a sender's pending
//	                nonces in order, for the account's pending nonce
//	meta "mempool_count" → u64: the number of entries of the mempool bucket
//
// Every write of the mempool bucket goes through putMempoolTx and deleteMempoolTx, which keep the
// three in step inside the caller's write transaction.
var (
	bucketMempoolSender = []byte("mempool_sender")
	metaMempoolCount    = []byte("mempool_count")
)

const senderKeyLen = len(Address{}) + 8 + len(Hash{})

func senderKey(sender Address, nonce uint64, h Hash) []byte {
	k := make([]byte, 0, senderKeyLen)
	k = append(k, sender[:]...)
	k = be.AppendUint64(k, nonce)
	return append(k, h[:]...)
}

// TxState is what one read of the store knows of a transaction.
type TxState struct {
	Tx        *Tx  // the transaction (nil only for a confirmed one whose body is unreadable)
	Confirmed bool // on the main chain; otherwise pending in the mempool bucket
	Location  TxLocation
}

// TxState reports transaction h from one read transaction: confirmed when the main chain's tx
// index has it, pending when the mempool bucket has it; ok is false when neither does. Because
// a connect moves a transaction from the mempool bucket to the tx index in one write transaction
// (and a reorg moves it back the same way), a durably stored transaction is always found.
func (s *Store) TxState(h Hash) (st TxState, ok bool, err error) {
	err = s.view("tx state", func(r *readTx) error {
		loc, found, err := r.txLocation(h)
		if err != nil {
			return err
		}
		if found {
			st = TxState{Confirmed: true, Location: loc}
			b, bfound, err := r.block(loc.BlockHash)
			if err != nil {
				return err
			}
			if bfound && loc.Index < len(b.Txs) {
				st.Tx = b.Txs[loc.Index]
			}
			ok = true
			return nil
		}
		v := r.mempool.Get(h[:])
		if v == nil {
			return nil
		}
		tx, err := DecodeTx(v)
		if err != nil {
			return fmt.Errorf("mempool entry %s: %v: %w", h, err, ErrCorrupt)
		}
		st, ok = TxState{Tx: tx}, true
		return nil
	})
	return st, ok, err
}

// AccountPending returns a's committed state and its pending nonce from one read transaction: the
// committed nonce followed by the run of consecutive nonces a has in the mempool bucket.
func (s *Store) AccountPending(a Address) (acct Account, pending uint64, err error) {
	err = s.view("account", func(r *readTx) error {
		var err error
		if acct, err = r.Account(a); err != nil {
			return err
		}
		pending, err = r.pendingNonce(a, acct.Nonce)
		return err
	})
	return acct, pending, err
}

// Summary is the tip and the mempool size, read together.
type Summary struct {
	Tip     TipInfo
	Mempool int
}

// Summary returns the tip and the number of durable mempool transactions from one read
// transaction.
func (s *Store) Summary() (Summary, error) {
	var sum Summary
	err := s.view("summary", func(r *readTx) error {
		e, err := r.tipEntry()
		if err != nil {
			return err
		}
		n, err := r.mempoolCount()
		sum = Summary{Tip: TipInfo{Hash: e.Hash, Header: e.Header, Work: e.Work}, Mempool: int(n)}
		return err
	})
	return sum, err
}

func (r *readTx) pendingNonce(a Address, committed uint64) (uint64, error) {
	if r.mempoolSender == nil {
		return committed, nil // a read-only schema 1 file (verify): no index, no pending answer
	}
	next := committed
	c := r.mempoolSender.Cursor()
	prefix := a[:]
	for k, _ := c.Seek(be.AppendUint64(bytes.Clone(prefix), committed)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) != senderKeyLen {
			return 0, fmt.Errorf("mempool sender key of %d bytes: %w", len(k), ErrCorrupt)
		}
		n := be.Uint64(k[len(prefix):])
		switch {
		case n == next:
			next++
		case n+1 == next: // a second transaction with the same nonce
		default:
			return next, nil
		}
	}
	return next, nil
}

func (r *readTx) mempoolCount() (uint64, error) {
	v := r.meta.Get(metaMempoolCount)
	if v == nil && r.mempoolSender == nil {
		return uint64(r.mempool.Stats().KeyN), nil // schema 1, read-only
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("mempool count missing or malformed: %w", ErrCorrupt)
	}
	return be.Uint64(v), nil
}

// putMempoolTx adds tx (hash h) to the mempool bucket, its sender index and the count; a
// transaction already there, or already on the main chain, is left as it is. (A miner may take a
// transfer from memory before its mempool commit lands; the commit that follows the block's
// connect must not leave it pending in the bucket.)
func (w *writeTx) putMempoolTx(tx *Tx, h Hash) error {
	if w.mempool.Get(h[:]) != nil {
		return nil
	}
	if confirmed, err := w.confirmed(tx, h); err != nil || confirmed {
		return err
	}
	if err := w.mempool.Put(clone(h[:]), tx.Encode()); err != nil {
		return err
	}
	if err := w.mempoolSender.Put(senderKey(tx.Sender(), tx.Nonce, h), nil); err != nil {
		return err
	}
	return w.addMempoolCount(1)
}

// confirmed reports whether the main chain holds tx (hash h). Every confirmed transaction of a
// sender has a nonce below the sender's account nonce, so one account read answers most calls
// without the tx index.
func (w *writeTx) confirmed(tx *Tx, h Hash) (bool, error) {
	acc, err := w.Account(tx.Sender())
	if err != nil || tx.Nonce >= acc.Nonce {
		return false, err
	}
	_, ok, err := w.txLocation(h)
	return ok, err
}

// deleteMempoolTx removes h from the mempool bucket, its sender index and the count. tx, when
// the caller has it (a connected block's transaction), saves decoding the stored one; removing
// an absent hash does nothing.
func (w *writeTx) deleteMempoolTx(h Hash, tx *Tx) error {
	v := w.mempool.Get(h[:])
	if v == nil {
		return nil
	}
	if tx == nil {
		var err error
		if tx, err = DecodeTx(v); err != nil {
			return fmt.Errorf("mempool entry %s: %v: %w", h, err, ErrCorrupt)
		}
	}
	if err := w.mempool.Delete(h[:]); err != nil {
		return err
	}
	if err := w.mempoolSender.Delete(senderKey(tx.Sender(), tx.Nonce, h)); err != nil {
		return err
	}
	return w.addMempoolCount(-1)
}

func (w *writeTx) addMempoolCount(d int64) error {
	n, err := w.mempoolCount()
	if err != nil {
		return err
	}
	if d < 0 && n < uint64(-d) {
		return fmt.Errorf("mempool count %d below %d removals: %w", n, -d, ErrCorrupt)
	}
	return w.meta.Put(metaMempoolCount, be.AppendUint64(nil, uint64(int64(n)+d)))
}

// migrateMempoolIndex upgrades a schema 1 database: it builds the mempool's sender index and
// count from the mempool bucket and sets the schema version, in the caller's write transaction.
func migrateMempoolIndex(tx *bolt.Tx) error {
	idx, err := tx.CreateBucketIfNotExists(bucketMempoolSender)
	if err != nil {
		return err
	}
	n := uint64(0)
	if err := tx.Bucket(bucketMempool).ForEach(func(k, v []byte) error {
		h, ok := hashFrom(k)
		if !ok {
			return fmt.Errorf("mempool key of %d bytes: %w", len(k), ErrCorrupt)
		}
		t, err := DecodeTx(v)
		if err != nil {
			return fmt.Errorf("mempool entry %s: %v: %w", h, err, ErrCorrupt)
		}
		n++
		return idx.Put(senderKey(t.Sender(), t.Nonce, h), nil)
	}); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	return meta.Put(metaMempoolCount, be.AppendUint64(nil, n))
}

// checkMempoolIndex reports whether the mempool bucket, its sender index and its count agree.
func (r *readTx) checkMempoolIndex() error {
	if r.mempoolSender == nil {
		return nil // schema 1 (read-only): nothing to compare
	}
	want := map[string]bool{}
	if err := r.mempool.ForEach(func(k, v []byte) error {
		h, ok := hashFrom(k)
		if !ok {
			return fmt.Errorf("mempool key of %d bytes: %w", len(k), ErrCorrupt)
		}
		t, err := DecodeTx(v)
		if err != nil {
			return fmt.Errorf("mempool entry %s: %v: %w", h, err, ErrCorrupt)
		}
		want[string(senderKey(t.Sender(), t.Nonce, h))] = true
		return nil
	}); err != nil {
		return err
	}
	got := 0
	if err := r.mempoolSender.ForEach(func(k, _ []byte) error {
		if !want[string(k)] {
			return fmt.Errorf("mempool sender index entry %x has no mempool transaction: %w", k, ErrCorrupt)
		}
		got++
		return nil
	}); err != nil {
		return err
	}
	if got != len(want) {
		return fmt.Errorf("mempool sender index has %d entries for %d mempool transactions: %w", got, len(want), ErrCorrupt)
	}
	n, err := r.mempoolCount()
	if err != nil {
		return err
	}
	if n != uint64(len(want)) {
		return fmt.Errorf("mempool count %d, bucket holds %d: %w", n, len(want), ErrCorrupt)
	}
	return nil
}

// CommitMempool writes one group commit of the mempool in one write transaction: each add in
// order, then the removals (an absent hash is not an error).
//
// Each add takes its sender's nonce slot: every other pending transaction of the same sender and
// nonce leaves the bucket in the same write (the mempool holds one transaction per sender and
// nonce, so this is a replace-by-fee, or an earlier add of the same batch that a later one
// replaced). Because the put and the delete share one transaction, a crash leaves either the old
// transfer pending or the new one, never both or neither.
//
// An add whose nonce the sender's committed account has already used (a block confirmed it, or
// another transaction with that nonce, since the mempool checked it) is not written, evicts
// nothing and is listed in skipped: it can never be mined, so its submitter must not be told that
// it is pending. An add already in the bucket is left as it is (not skipped). evicted lists the
// transactions the adds took the slot of.
func (s *Store) CommitMempool(add []*Tx, remove []Hash) (skipped, evicted []Hash, err error) {
	err = s.update("commit mempool", func(w *writeTx) error {
		skipped, evicted = skipped[:0], evicted[:0]
		for _, tx := range add {
			var err error
			if skipped, evicted, err = w.addToMempool(tx, skipped, evicted); err != nil {
				return err
			}
		}
		for _, h := range remove {
			if err := w.deleteMempoolTx(h, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return skipped, evicted, nil
}

// addToMempool is one add of CommitMempool: it writes tx in its sender's nonce slot, appending
// the transactions it evicts from the slot to evicted, or, when the sender's committed account has
// used its nonce, appends it to skipped instead. A tx already in the bucket is left as it is.
func (w *writeTx) addToMempool(tx *Tx, skipped, evicted []Hash) ([]Hash, []Hash, error) {
	h := tx.Hash()
	if w.mempool.Get(h[:]) != nil {
		return skipped, evicted, nil
	}
	sender := tx.Sender()
	acc, err := w.Account(sender)
	if err != nil {
		return skipped, evicted, err
	}
	if tx.Nonce < acc.Nonce {
		return append(skipped, h), evicted, nil
	}
	others, err := w.mempoolSlot(sender, tx.Nonce)
	if err != nil {
		return skipped, evicted, err
	}
	for _, o := range others {
		if err := w.deleteMempoolTx(o, nil); err != nil {
			return skipped, evicted, err
		}
		evicted = append(evicted, o)
	}
	return skipped, evicted, w.putMempoolTx(tx, h)
}

// MempoolSlot returns the hashes of the pending transactions of sender with nonce (at most one
// unless a reorg returned a transaction beside a pending one), in hash order.
func (s *Store) MempoolSlot(sender Address, nonce uint64) (hs []Hash, err error) {
	err = s.view("mempool slot", func(r *readTx) error {
		hs, err = r.mempoolSlot(sender, nonce)
		return err
	})
	return hs, err
}

func (r *readTx) mempoolSlot(sender Address, nonce uint64) ([]Hash, error) {
	if r.mempoolSender == nil {
		return nil, nil // a read-only schema 1 file
	}
	prefix := be.AppendUint64(bytes.Clone(sender[:]), nonce)
	var out []Hash
	c := r.mempoolSender.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		h, ok := hashFrom(k[len(prefix):])
		if !ok || len(k) != senderKeyLen {
			return nil, fmt.Errorf("mempool sender key of %d bytes: %w", len(k), ErrCorrupt)
		}
		out = append(out, h)
	}
	return out, nil
}
