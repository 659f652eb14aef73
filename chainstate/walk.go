package chainstate

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The page walk reads every key and value of every bucket: bbolt checks each branch, leaf and
// overflow page it reaches (a page that does not name itself or has no valid type panics, and
// the guard turns that into a *DamageError), keys must come in strictly increasing order, and
// every value of a bucket the store knows must decode with the store's own decoders (a block
// must hash to its key, a transaction too). The running node walks in chunks of a few hundred
// keys, each chunk in its own short read transaction (a long one would block bbolt's remap
// when the file grows, and so every writer); the offline check walks in one.

// DefaultWalkChunk is the number of keys the background walk reads per read transaction.
const DefaultWalkChunk = 512

// WalkReport is what a walk read.
type WalkReport struct {
	Buckets int // top-level buckets
	Keys    int // keys read (nested buckets included)
	Chunks  int // read transactions
}

// newBucketWalk is a walk of the top-level bucket name with the store's checks of its values:
// valueChecks, or for the blocks bucket a bodyWalk, which checks each body once it has all its
// pieces, or for txruns the tx index's check of every run's entries.
func newBucketWalk(name []byte) *bucketWalk {
	if bytes.Equal(name, bucketBlocks) {
		bw := &bodyWalk{}
		return &bucketWalk{name: name, check: bw.add, finish: bw.flush}
	}
	if bytes.Equal(name, bucketTxRecent) {
		rw := &recentWalk{}
		return &bucketWalk{name: name, check: rw.add}
	}
	if bytes.Equal(name, bucketTxRuns) {
		return &bucketWalk{name: name, check: checkNotARun, nested: checkRunChunk}
	}
	return &bucketWalk{name: name, check: valueChecks[string(name)]}
}

// checkNotARun: txruns holds only runs, nested buckets.
func checkNotARun(k, _ []byte) error {
	return fmt.Errorf("txruns key %x holds a value, not a run: %w", k, ErrCorrupt)
}

// valueChecks are the checks of the values of the buckets the store knows, by bucket name.
var valueChecks = map[string]func(k, v []byte) error{
	string(bucketIndex):    checkIndexValue,
	string(bucketMain):     checkMainValue,
	string(bucketAccounts): checkAccountValue,
	string(bucketUndo):     checkUndoValue,
	string(bucketTxIndex):  checkTxIndexValue,
	string(bucketMempool):  checkMempoolValue,
	string(bucketPeers):    checkPeerValue,
}

// checkIndexValue: a block index entry decodes and its header hashes to its key.
func checkIndexValue(k, v []byte) error {
	h, ok := hashFrom(k)
	if !ok {
		return fmt.Errorf("index key of %d bytes: %w", len(k), ErrCorrupt)
	}
	e, err := decodeEntry(h, v)
	if err != nil {
		return err
	}
	if e.Header.Hash() != h {
		return fmt.Errorf("index entry %s: header hashes to %s: %w", h, e.Header.Hash(), ErrCorrupt)
	}
	return nil
}

// checkBlockValue: a block decodes, hashes to its key, and its transactions match its tx root.
func checkBlockValue(k, v []byte) error {
	b, err := DecodeBlock(v)
	if err != nil {
		return fmt.Errorf("block %x: %v: %w", k, err, ErrCorrupt)
	}
	if h := b.Hash(); !bytes.Equal(h[:], k) {
		return fmt.Errorf("block %x: body hashes to %s: %w", k, h, ErrCorrupt)
	}
	if TxRoot(b.Txs) != b.Header.TxRoot {
		return fmt.Errorf("block %x: transactions do not match the header's tx root: %w", k, ErrCorrupt)
	}
	return nil
}

// checkMainValue: a main-chain entry maps an 8-byte height to a hash.
func checkMainValue(k, v []byte) error {
	if len(k) != 8 || len(v) != len(Hash{}) {
		return fmt.Errorf("main chain entry: key of %d bytes, value of %d: %w", len(k), len(v), ErrCorrupt)
	}
	return nil
}

// checkAccountValue: an account is keyed by an address and decodes.
func checkAccountValue(k, v []byte) error {
	var a Address
	if len(k) != len(a) {
		return fmt.Errorf("account key of %d bytes: %w", len(k), ErrCorrupt)
	}
	copy(a[:], k)
	_, err := decodeAccount(a, v)
	return err
}

// checkUndoValue: an undo record is keyed by a block hash and decodes.
func checkUndoValue(k, v []byte) error {
	h, ok := hashFrom(k)
	if !ok {
		return fmt.Errorf("undo key of %d bytes: %w", len(k), ErrCorrupt)
	}
	_, err := decodeUndo(h, v)
	return err
}

// checkTxIndexValue: a transaction location is keyed by a transaction hash and decodes.
func checkTxIndexValue(k, v []byte) error {
	h, ok := hashFrom(k)
	if !ok {
		return fmt.Errorf("tx index key of %d bytes: %w", len(k), ErrCorrupt)
	}
	_, err := decodeTxLoc(h, v)
	return err
}

// checkMempoolValue: a mempool transaction decodes and hashes to its key.
func checkMempoolValue(k, v []byte) error {
	tx, err := DecodeTx(v)
	if err != nil {
		return fmt.Errorf("mempool entry %x: %v: %w", k, err, ErrCorrupt)
	}
	if h := tx.Hash(); !bytes.Equal(h[:], k) {
		return fmt.Errorf("mempool entry %x: hashes to %s: %w", k, h, ErrCorrupt)
	}
	return nil
}

// checkPeerValue: an address-book record decodes.
func checkPeerValue(k, v []byte) error {
	_, err := decodePeer(k, v)
	return err
}

// bucketWalk is the position of a chunked walk in one top-level bucket.
type bucketWalk struct {
	name   []byte
	check  func(k, v []byte) error
	finish func() error            // after the last key (nil: nothing)
	nested func(k, v []byte) error // the check of nested buckets' values (nil: any bytes)
	last   []byte                  // the last key read (nil: none yet)
	done   bool
}

// step reads up to max keys of the bucket after w.last from b, checking order and values, and
// returns how many it read. A nested bucket is walked whole and counts its keys.
func (w *bucketWalk) step(b *bolt.Bucket, max int) (int, error) {
	c := b.Cursor()
	var k, v []byte
	if w.last == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(w.last)
		if k != nil && bytes.Equal(k, w.last) {
			k, v = c.Next()
		}
	}
	n := 0
	for ; k != nil; k, v = c.Next() {
		if n >= max {
			return n, nil
		}
		if w.last != nil && bytes.Compare(w.last, k) >= 0 {
			return n, fmt.Errorf("bucket %s: key %x after %x, out of order: %w", w.name, k, w.last, ErrCorrupt)
		}
		w.last = append(w.last[:0], k...)
		n++
		if v == nil { // a nested bucket
			nb := b.Bucket(k)
			if nb == nil {
				return n, fmt.Errorf("bucket %s: key %x has no value and is not a bucket: %w", w.name, k, ErrCorrupt)
			}
			sub := &bucketWalk{name: append(append(clone(w.name), '/'), k...), check: w.nested}
			m, err := sub.step(nb, int(^uint(0)>>1))
			n += m
			if err != nil {
				return n, err
			}
			continue
		}
		if w.check != nil {
			if err := w.check(k, v); err != nil {
				return n, fmt.Errorf("bucket %s: %w", w.name, err)
			}
		}
	}
	w.done = true
	if w.finish != nil {
		if err := w.finish(); err != nil {
			return n, fmt.Errorf("bucket %s: %w", w.name, err)
		}
	}
	return n, nil
}

// rootBuckets lists the top-level bucket names of tx.
func rootBuckets(tx *bolt.Tx) ([][]byte, error) {
	var names [][]byte
	err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, clone(name))
		return nil
	})
	return names, err
}

// WalkPages reads every page of the live database in chunks of chunk keys (DefaultWalkChunk when
// <= 0), each in its own read transaction, until done, the first damage (a *DamageError, also
// passed to the SetOnDamage hook) or ctx ends (ctx's error). Pages written while it walks are
// walked as they are when the walk reaches them.
func (s *Store) WalkPages(ctx context.Context, chunk int) (WalkReport, error) {
	if chunk <= 0 {
		chunk = DefaultWalkChunk
	}
	var rep WalkReport
	var names [][]byte
	err := s.boltView("page walk", func(tx *bolt.Tx) error {
		var err error
		names, err = rootBuckets(tx)
		return err
	})
	if err != nil {
		return rep, s.wrapErr("page walk", err)
	}
	rep.Chunks++
	for _, name := range names {
		w := newBucketWalk(name)
		rep.Buckets++
		for !w.done {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			err := s.boltView("page walk", func(tx *bolt.Tx) error {
				b := tx.Bucket(name)
				if b == nil { // dropped meanwhile (the store never drops one)
					w.done = true
					return nil
				}
				n, err := w.step(b, chunk)
				rep.Keys += n
				return err
			})
			rep.Chunks++
			if err != nil {
				return rep, s.wrapErr("page walk", err)
			}
		}
	}
	return rep, nil
}

// problemList collects problems in words, keeping the first max and counting the rest.
type problemList struct {
	max     int
	items   []string
	dropped int
}

func (p *problemList) add(err error) {
	if err == nil {
		return
	}
	if len(p.items) >= p.max {
		p.dropped++
		return
	}
	p.items = append(p.items, err.Error())
}

// list returns the problems, with a last line counting those left out, never nil.
func (p *problemList) list() []string {
	out := append([]string{}, p.items...)
	if p.dropped > 0 {
		out = append(out, fmt.Sprintf("... and %d more problems", p.dropped))
	}
	return out
}

// walkAll walks every bucket of tx in one go, returning the first problem.
func walkAll(tx *bolt.Tx) error {
	names, err := rootBuckets(tx)
	if err != nil {
		return err
	}
	for _, name := range names {
		w := newBucketWalk(name)
		if _, err := w.step(tx.Bucket(name), int(^uint(0)>>1)); err != nil {
			return err
		}
	}
	return nil
}
