package chainstate

import (
	"bytes"
	"cmp"
	"container/heap"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// The transaction index has two levels, so that connecting a block does not rewrite a page of a
// large hash-keyed tree for each of its transactions:
//
//	txrecent  height u64 → block hash ‖ n × (tx hash ‖ index u32), sorted by tx hash (a long
//	          record in pieces, txrecent.go)
//	txruns    run id u64 → a bucket of chunks of (tx hash ‖ block hash ‖ height u64 ‖ index u32),
//	          sorted by tx hash, each under its first hash (txruns.go)
//	txindex   tx hash → block hash ‖ height u64 ‖ index u32 (schema 4 and older: the oldest run)
//	meta "txindex_merged" → u64: every main-chain block up to this height is in the merged level
//	          (txindex and the runs), every one above it in txrecent
//
// Connect appends one txrecent record (keys grow with the height, so it writes the last leaf and
// the record's own pages). Once more than recentMax blocks are recent, the oldest are merged, all
// but the newest recentKeep, sorted, into a new run, whose pages are written once and full; runs
// are then merged two by two as they grow (txruns.go). A lookup reads txindex, the runs, then the
// recent records, newest first, each by binary search: at most recentMax of them.
//
// Disconnecting a recent block deletes its record; disconnecting a merged one deletes its
// transactions from the merged level and lowers txindex_merged below it (blocks are disconnected
// from the tip down, so every block above it was recent or is gone).
var (
	bucketTxRecent = []byte("txrecent")
	metaTxMerged   = []byte("txindex_merged") // u64
)

// The merge policy's defaults: merge when more than 64 blocks are recent, keeping the newest 16
// (a shallow reorg then touches only recent records).
const (
	defaultRecentMax  = 64
	defaultRecentKeep = 16
)

// recentEntrySize is the size of one (tx hash ‖ index u32) of a txrecent record.
const recentEntrySize = 36

// hashRank is a hash's first 8 bytes as a number and its index in a list (hashOrder).
type hashRank struct {
	prefix uint64
	index  int
}

// hashOrder returns hashes' positions in the order of their bytes. It sorts by the first 8 bytes
// as a number and compares the rest only on a tie: hashes are uniform, so a tie is rare, and
// comparing one uint64 is a third of bytes.Compare's cost.
func hashOrder(hashes []Hash) []hashRank {
	es := make([]hashRank, len(hashes))
	for i, th := range hashes {
		es[i] = hashRank{be.Uint64(th[:8]), i}
	}
	slices.SortFunc(es, func(a, b hashRank) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return bytes.Compare(hashes[a.index][8:], hashes[b.index][8:])
	})
	return es
}

// hasDuplicate tells whether a hash appears twice in hashes.
func hasDuplicate(hashes []Hash) bool {
	es := hashOrder(hashes)
	for i := 1; i < len(es); i++ {
		if es[i].prefix == es[i-1].prefix && hashes[es[i].index] == hashes[es[i-1].index] {
			return true
		}
	}
	return false
}

// encodeRecent returns block h's txrecent record: h ‖ its transactions' (hash ‖ index), sorted by
// hash; hashes are the block's transaction hashes in block order.
func encodeRecent(h Hash, hashes []Hash) []byte {
	es := hashOrder(hashes)
	out := make([]byte, 0, 32+recentEntrySize*len(es))
	out = append(out, h[:]...)
	for _, e := range es {
		out = append(out, hashes[e.index][:]...)
		out = be.AppendUint32(out, uint32(e.index))
	}
	return out
}

// checkRecentRecord checks a txrecent key and value (a record's first piece or a later one):
// readRecentPiece.
func checkRecentRecord(k, v []byte) error {
	_, err := readRecentPiece(k, v)
	return err
}

// findRecent looks h up in the one-piece txrecent record v of height by binary search.
func findRecent(height uint64, v []byte, h Hash) (TxLocation, bool) {
	if len(v) < 32 {
		return TxLocation{}, false
	}
	index, ok := findEntry(v[32:], h)
	if !ok {
		return TxLocation{}, false
	}
	l := TxLocation{Height: height, Index: int(index)}
	copy(l.BlockHash[:], v[:32])
	return l, true
}

// txMerged returns the height up to which the main chain's transactions are in txindex. A file
// without the recent level (schema 2 and older, read-only) has all of them there.
func (r *readTx) txMerged() (uint64, error) {
	if r.txrecent == nil {
		return ^uint64(0), nil
	}
	v := r.meta.Get(metaTxMerged)
	if len(v) != 8 {
		return 0, fmt.Errorf("meta %s missing or malformed: %w", metaTxMerged, ErrCorrupt)
	}
	return be.Uint64(v), nil
}

// txLocation returns where the main chain confirmed h: from txindex, else from the runs, else
// from the recent records, newest first.
func (r *readTx) txLocation(h Hash) (TxLocation, bool, error) {
	if v := r.txindex.Get(h[:]); v != nil {
		l, err := decodeTxLoc(h, v)
		return l, err == nil, err
	}
	if l, ok, err := r.runLocation(h); ok || err != nil {
		return l, ok, err
	}
	if r.txrecent == nil {
		return TxLocation{}, false, nil
	}
	return r.recentLocation(h)
}

// recentCounts returns the number of txrecent records and of the entries in them.
func (r *readTx) recentCounts() (records, entries int) {
	if r.txrecent == nil {
		return 0, 0
	}
	_ = r.txrecent.ForEach(func(k, v []byte) error {
		switch {
		case len(k) == 8 && len(v) >= 32:
			records++
			entries += (len(v) - 32) / recentEntrySize
		case len(k) == 12:
			entries += len(v) / recentEntrySize
		}
		return nil
	})
	return records, entries
}

// indexTxs records the transactions (hashes, in block order) of main-chain block h at height in
// the index: a txrecent record, then a merge when too many blocks are recent.
func (w *writeTx) indexTxs(h Hash, height uint64, hashes []Hash) error {
	if err := putRecent(w.txrecent, height, encodeRecent(h, hashes), w.recentPiece); err != nil {
		return err
	}
	merged, err := w.txMerged()
	if err != nil {
		return err
	}
	if height-merged <= uint64(w.recentMax) {
		return nil
	}
	return w.mergeRecent(height - uint64(w.recentKeep))
}

// mergeRecent moves the txrecent records up to height upTo into a new run of the merged level
// (txruns.go), sorted by hash, and sets txindex_merged to upTo.
func (w *writeTx) mergeRecent(upTo uint64) error {
	var recs recentHeap
	var keys [][]byte
	c := w.txrecent.Cursor()
	var walk recentWalk // the pieces must follow their first piece, in sequence and hash order
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := walk.add(k, v); err != nil {
			return err
		}
		if be.Uint64(k) > upTo {
			break
		}
		p, _ := readRecentPieceFast(k, v)
		switch {
		case p.piece == 0:
			recs = append(recs, recentCursor{height: p.height, block: p.block, entries: p.entries})
		case len(recs) > 0 && recs[len(recs)-1].height == p.height:
			r := &recs[len(recs)-1]
			r.more = append(r.more, p.entries)
		}
		keys = append(keys, clone(k))
	}
	live := recs[:0]
	for i := range recs {
		if recs[i].next() { // the cursor at its first entry (pieces may follow an empty first)
			live = append(live, recs[i])
		}
	}
	recs = live
	// Each record is sorted by hash: merge them through a heap of their heads.
	heap.Init(&recs)
	err := w.addRun(func(rw *runWriter) error {
		entry := make([]byte, 0, runEntrySize)
		for len(recs) > 0 {
			r := &recs[0]
			entry = append(append(entry[:0], r.entries[:32]...), r.block...)
			entry = be.AppendUint32(be.AppendUint64(entry, r.height), be.Uint32(r.entries[32:]))
			if err := rw.add(entry); err != nil {
				return err
			}
			if r.entries = r.entries[recentEntrySize:]; !r.next() {
				heap.Pop(&recs)
			} else {
				heap.Fix(&recs, 0)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := w.txrecent.Delete(k); err != nil {
			return err
		}
	}
	return w.meta.Put(metaTxMerged, be.AppendUint64(nil, upTo))
}

// unindexTxs removes the transactions of the main chain's tip block b (hash h) from the index.
func (w *writeTx) unindexTxs(h Hash, b *Block) error {
	merged, err := w.txMerged()
	if err != nil {
		return err
	}
	height := b.Header.Height
	if height > merged {
		v := w.txrecent.Get(heightKey(height))
		if len(v) < 32 || !bytes.Equal(v[:32], h[:]) {
			return fmt.Errorf("main chain block %d %s has no txrecent record: %w", height, h, ErrCorrupt)
		}
		return w.deleteRecent(height)
	}
	for _, tx := range b.Txs {
		th := tx.Hash()
		if w.txindex.Get(th[:]) != nil {
			if err := w.txindex.Delete(th[:]); err != nil {
				return err
			}
			continue
		}
		if _, err := w.unindexRuns(th); err != nil {
			return err
		}
	}
	return w.meta.Put(metaTxMerged, be.AppendUint64(nil, height-1))
}

// migrateTxRecent upgrades a schema 2 database: every main-chain transaction is in txindex, so
// the recent level starts empty and merged at the tip.
func migrateTxRecent(tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketTxRecent); err != nil {
		return err
	}
	r := newReadTx(tx)
	tip, err := r.tipEntry()
	if err != nil {
		return err
	}
	return r.meta.Put(metaTxMerged, be.AppendUint64(nil, tip.Header.Height))
}

// recentCursor is what is left to merge of a txrecent record.
type recentCursor struct {
	height  uint64
	block   []byte   // the block's hash
	entries []byte   // (tx hash ‖ index u32) entries, sorted by hash: the current piece's rest
	more    [][]byte // the record's next pieces
}

// next moves to the next piece when the current one is used up and reports whether an entry is
// left.
func (r *recentCursor) next() bool {
	for len(r.entries) == 0 && len(r.more) > 0 {
		r.entries, r.more = r.more[0], r.more[1:]
	}
	return len(r.entries) > 0
}

// recentHeap orders the records being merged by their next entry's hash (container/heap).
type recentHeap []recentCursor

func (h recentHeap) Len() int { return len(h) }
func (h recentHeap) Less(i, j int) bool {
	return bytes.Compare(h[i].entries[:32], h[j].entries[:32]) < 0
}
func (h recentHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *recentHeap) Push(x any)   { *h = append(*h, x.(recentCursor)) }
func (h *recentHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
