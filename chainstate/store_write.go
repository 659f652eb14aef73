package chainstate

import (
	"fmt"
	"math/big"
)

// writeTx is a readTx inside a write transaction, with the writes that keep the buckets
// consistent. Its methods are only called from Store write methods, each of which is one bbolt
// transaction, so a failure anywhere rolls back everything.
type writeTx struct {
	*readTx
	p                     *Params
	recentMax, recentKeep int // the tx index's merge policy (txindex.go)
	chunkEntries          int // the most entries of a run's chunk (txruns.go)
	recentPiece           int // the most entries of a txrecent record's piece (txrecent.go)
}

// PutBlock stores a block that is not (yet) on the main chain: its body and an index entry with
// status side and cumulative work work. It does nothing when the block is already indexed, so it
// never downgrades a main or invalid entry. A nil work is computed as the parent's + Params.Work
// (ErrNotFound when the parent is not indexed). PutBlock does not validate the block.
func (s *Store) PutBlock(b *Block, work *big.Int) error {
	h := b.Hash()
	return s.update("put block "+h.String(), func(w *writeTx) error {
		if _, ok, err := w.entry(h); err != nil || ok {
			return err
		}
		if work == nil {
			parent, ok, err := w.entry(b.Header.PrevHash)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("parent %s: %w", b.Header.PrevHash, ErrNotFound)
			}
			work = new(big.Int).Add(parent.Work, w.p.Work(&b.Header))
		}
		if err := w.putBody(h, b); err != nil {
			return err
		}
		return w.putEntry(&IndexEntry{Hash: h, Header: b.Header, Work: work, Status: StatusSide})
	})
}

// Connect extends the main chain by b, whose PrevHash must be the tip (else an error wrapping
// ErrNotTip). In one transaction it executes b with ApplyBlock against the stored accounts
// (starting from the tip's state root) and writes the block body (when new), its index entry
// (status main, work = parent's + Params.Work), the account changes, the undo record,
// main[height], the tx index entries and the new tip, and removes b's transactions from the
// mempool bucket. A block that does not apply (a *RuleError, also for a height that is not the
// tip's + 1) writes nothing.
//
// Connect does not repeat the stateless checks: the caller runs CheckBlock and
// CheckHeaderContext first.
func (s *Store) Connect(b *Block) (*Delta, error) {
	var d *Delta
	h := b.Hash()
	err := s.update(fmt.Sprintf("connect block %d %s", b.Header.Height, h), func(w *writeTx) error {
		tip, err := w.tipEntry()
		if err != nil {
			return err
		}
		if b.Header.PrevHash != tip.Hash {
			return fmt.Errorf("parent %s is not the tip %s: %w", b.Header.PrevHash, tip.Hash, ErrNotTip)
		}
		d, _, _, err = w.connect(h, b, tip)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ReorgResult is what a reorg did.
type ReorgResult struct {
	Disconnected []Hash // old tip first
	Connected    []Hash // fork point + 1 first
	Returned     []*Tx  // txs of disconnected blocks not in the new branch, now in the mempool bucket
}

// Reorg switches the main chain to another branch in one transaction. disconnect is the current
// main chain from the tip down to, excluding, the fork point, tip first; connect is the new
// branch from the fork point + 1 on, in order (its blocks need not be stored yet). Each
// disconnected block gets its accounts restored from its undo record, its undo record, main
// entry and tx index entries deleted and its status set to side; then each block of connect is
// connected as by Connect. The transactions of the disconnected blocks that are not in the new
// branch are put into the mempool bucket and returned in Returned, oldest block first, in block
// order.
//
// Reorg does not compare work: choosing the branch is the caller's. If a block of the new branch
// does not apply, nothing changes and the error is a *BlockError naming that block and wrapping
// the *RuleError (so the caller can MarkInvalid it). Lists that do not chain (a disconnect list
// not starting at the tip or not following parents, a branch not starting at the fork point)
// fail with ErrNotTip; a missing undo record or body fails with ErrCorrupt. Empty lists are
// allowed.
func (s *Store) Reorg(disconnect []Hash, connect []*Block) (*ReorgResult, error) {
	res := &ReorgResult{Disconnected: append([]Hash(nil), disconnect...)}
	err := s.update("reorg", func(w *writeTx) error {
		res.Connected, res.Returned = nil, nil
		tip, err := w.tipEntry()
		if err != nil {
			return err
		}
		dropped, tip, err := w.disconnectAll(disconnect, tip)
		if err != nil {
			return err
		}
		var inBranch map[Hash]struct{} // only a reorg that drops blocks needs the new branch's txs
		if len(dropped) > 0 {
			inBranch = make(map[Hash]struct{})
		}
		if res.Connected, err = w.connectAll(connect, tip, inBranch); err != nil {
			return err
		}
		res.Returned, err = w.returnTxs(dropped, inBranch)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// disconnectAll disconnects the blocks of disconnect, which must be the main chain from tip down,
// and returns their bodies (tip first) and the new tip.
func (w *writeTx) disconnectAll(disconnect []Hash, tip IndexEntry) ([]*Block, IndexEntry, error) {
	var dropped []*Block
	for i, h := range disconnect {
		if h != tip.Hash {
			return nil, tip, fmt.Errorf("disconnect[%d] %s is not the tip %s: %w", i, h, tip.Hash, ErrNotTip)
		}
		if tip.Header.Height == 0 {
			return nil, tip, fmt.Errorf("disconnect[%d]: cannot disconnect genesis: %w", i, ErrNotTip)
		}
		b, err := w.disconnect(tip)
		if err != nil {
			return nil, tip, err
		}
		dropped = append(dropped, b)
		parent, ok, err := w.entry(tip.Header.PrevHash)
		if err != nil {
			return nil, tip, err
		}
		if !ok {
			return nil, tip, fmt.Errorf("parent %s of %s has no index entry: %w", tip.Header.PrevHash, tip.Hash, ErrCorrupt)
		}
		tip = parent
	}
	return dropped, tip, nil
}

// connectAll connects the blocks of connect in order on tip, returns their hashes and adds their
// transactions' hashes to inBranch (unless it is nil). A block that does not apply fails with a *BlockError.
func (w *writeTx) connectAll(connect []*Block, tip IndexEntry, inBranch map[Hash]struct{}) ([]Hash, error) {
	var connected []Hash
	for i, b := range connect {
		h := b.Hash()
		if b.Header.PrevHash != tip.Hash {
			return nil, fmt.Errorf("connect[%d] %s: parent %s is not the tip %s: %w", i, h, b.Header.PrevHash, tip.Hash, ErrNotTip)
		}
		_, next, hashes, err := w.connect(h, b, tip)
		if err != nil {
			return nil, &BlockError{Hash: h, Height: b.Header.Height, Err: err}
		}
		tip = next
		connected = append(connected, h)
		if inBranch != nil {
			for _, th := range hashes {
				inBranch[th] = struct{}{}
			}
		}
	}
	return connected, nil
}

// returnTxs puts the transactions of the dropped blocks (tip first) that are not in inBranch into
// the mempool bucket and returns them, oldest block first, in block order.
func (w *writeTx) returnTxs(dropped []*Block, inBranch map[Hash]struct{}) ([]*Tx, error) {
	var returned []*Tx
	for i := len(dropped) - 1; i >= 0; i-- {
		for _, tx := range dropped[i].Txs {
			th := tx.Hash()
			if _, ok := inBranch[th]; ok {
				continue
			}
			if err := w.putMempoolTx(tx, th); err != nil {
				return nil, err
			}
			returned = append(returned, tx)
		}
	}
	return returned, nil
}

// PutMempool adds and removes mempool transactions in one transaction (removals after
// additions). Removing an absent hash is not an error; adding a transaction that the main chain
// already confirmed does nothing (the bucket never holds a main-chain transaction).
func (s *Store) PutMempool(add []*Tx, remove []Hash) error {
	return s.update("put mempool", func(w *writeTx) error {
		for _, tx := range add {
			if err := w.putMempoolTx(tx, tx.Hash()); err != nil {
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
}

// MarkInvalid sets the status of the indexed block h to invalid. It fails with ErrNotFound when h
// is not indexed and with ErrMainChain when h is on the main chain (disconnect it first).
func (s *Store) MarkInvalid(h Hash) error {
	return s.update("mark invalid "+h.String(), func(w *writeTx) error {
		e, ok, err := w.entry(h)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("block %s: %w", h, ErrNotFound)
		}
		if e.Status == StatusMain {
			return fmt.Errorf("block %s: %w", h, ErrMainChain)
		}
		e.Status = StatusInvalid
		return w.putEntry(&e)
	})
}

func (w *writeTx) putBody(h Hash, b *Block) error {
	if w.blocks.Get(h[:]) != nil {
		return nil
	}
	return putBodyPieces(w.blocks, h, b.encoding())
}

func (w *writeTx) putEntry(e *IndexEntry) error {
	return w.index.Put(clone(e.Hash[:]), encodeEntry(e))
}

func (w *writeTx) setAccount(a Address, v Account) error {
	if v.IsZero() {
		return w.accounts.Delete(a[:])
	}
	return w.accounts.Put(clone(a[:]), encodeAccount(v))
}

// connect connects b (hash h) on top of tip, which must be the current tip and b's parent. It
// returns the delta, b's new index entry and its transactions' hashes, in block order.
func (w *writeTx) connect(h Hash, b *Block, tip IndexEntry) (*Delta, IndexEntry, []Hash, error) {
	if b.Header.Height != tip.Header.Height+1 {
		return nil, IndexEntry{}, nil, ruleErr(CodeBadHeight, "height %d, parent is at %d", b.Header.Height, tip.Header.Height)
	}
	d, err := ApplyBlock(w.p, tip.Header.StateRoot, w.readTx, b)
	if err != nil {
		return nil, IndexEntry{}, nil, err
	}
	e := IndexEntry{Hash: h, Header: b.Header, Status: StatusMain,
		Work: new(big.Int).Add(tip.Work, w.p.Work(&b.Header))}
	if err := w.putBody(h, b); err != nil {
		return nil, e, nil, err
	}
	if err := w.putEntry(&e); err != nil {
		return nil, e, nil, err
	}
	for _, c := range d.Changes {
		if err := w.setAccount(c.Addr, c.New); err != nil {
			return nil, e, nil, err
		}
	}
	if err := w.undo.Put(clone(h[:]), encodeUndo(d.Changes)); err != nil {
		return nil, e, nil, err
	}
	if err := w.main.Put(heightKey(b.Header.Height), clone(h[:])); err != nil {
		return nil, e, nil, err
	}
	hashes := b.txHashes()
	if err := w.indexTxs(h, b.Header.Height, hashes); err != nil {
		return nil, e, nil, err
	}
	// An empty mempool (a sync's, usually) has nothing to remove: 1,000 lookups a block fewer,
	// which were half the objects a syncing process allocated.
	if k, _ := w.mempool.Cursor().First(); k != nil {
		for i, tx := range b.Txs {
			if err := w.deleteMempoolTx(hashes[i], tx); err != nil {
				return nil, e, nil, err
			}
		}
	}
	if err := w.meta.Put(metaTip, clone(h[:])); err != nil {
		return nil, e, nil, err
	}
	return d, e, hashes, nil
}

// disconnect removes the tip block (entry tip) from the main chain and returns its body. The new
// tip is its parent.
func (w *writeTx) disconnect(tip IndexEntry) (*Block, error) {
	h := tip.Hash
	b, ok, err := w.block(h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("main chain block %d %s has no body: %w", tip.Header.Height, h, ErrCorrupt)
	}
	undo, ok, err := w.undoRecord(h)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("main chain block %d %s has no undo record: %w", tip.Header.Height, h, ErrCorrupt)
	}
	for _, c := range undo {
		if err := w.setAccount(c.Addr, c.Old); err != nil {
			return nil, err
		}
	}
	if err := w.undo.Delete(h[:]); err != nil {
		return nil, err
	}
	if err := w.main.Delete(heightKey(tip.Header.Height)); err != nil {
		return nil, err
	}
	if err := w.unindexTxs(h, b); err != nil {
		return nil, err
	}
	tip.Status = StatusSide
	if err := w.putEntry(&tip); err != nil {
		return nil, err
	}
	return b, w.meta.Put(metaTip, clone(tip.Header.PrevHash[:]))
}
