package chainstate

import (
	"fmt"
	"math"
	"math/big"
	"time"
)

// VerifyReport summarises Verify.
type VerifyReport struct {
	Height   uint64 // of the tip
	TipHash  Hash
	Blocks   uint64 // main-chain blocks checked, genesis included
	Txs      uint64 // transactions re-executed
	Accounts int    // non-zero accounts at the tip
}

// Verify re-executes the stored main chain of the database at path from genesis and checks
// every block and that the stored account state equals the recomputed one.
//
// It opens the file read-only (it is never created; a missing file is an error) with the same
// refusals as Open (ErrInUse while a node has it open, ErrWrongChain, ErrSchema, a *DamageError
// for a damaged file; an unreadable page met on the way is one too). Then, for every
// height from 0 to the tip: the main entry, the body (hashing to that entry) and the index entry
// (status main, same header, cumulative work) exist; genesis is p's genesis; every later block
// passes CheckBlock, CheckHeaderContext against its parent (without the clock bound) and
// ApplyBlock on the recomputed state; its undo record equals the recomputed old values; every
// transaction's tx index entry points at it. Finally there are no main, undo or tx index entries
// beyond those, and the accounts bucket equals the recomputed state exactly. The first problem
// is returned as an error naming the file, the height and block hash, and what differs. Last,
// every page is read as the page walk does (walk.go), so that damage off the main chain's path
// (side blocks, mempool, address book) is found too.
func Verify(path string, p *Params, timeout time.Duration) (*VerifyReport, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("verify %s: chain parameters: %w", path, err)
	}
	var rep *VerifyReport
	err := withReadOnly(path, p, timeout, func(abs string, r *readTx) error {
		var err error
		rep, err = verifyChain(p, r)
		if err != nil {
			return fmt.Errorf("verify %s: %w", abs, err)
		}
		// Then every page, so that damage off the main chain's path is found too (walk.go).
		if err := walkAll(r.tx); err != nil {
			return fmt.Errorf("verify %s: %w", abs, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

func verifyChain(p *Params, r *readTx) (*VerifyReport, error) {
	tip, err := r.tipEntry()
	if err != nil {
		return nil, err
	}
	if tip.Status != StatusMain {
		return nil, fmt.Errorf("tip %s has status %s", tip.Hash, tip.Status)
	}
	rep := &VerifyReport{Height: tip.Header.Height, TipHash: tip.Hash}
	state := AccountMap(p.allocAccounts())
	genesis := p.GenesisHash()
	var prev *Header
	work := new(big.Int)
	for height := uint64(0); height <= tip.Header.Height; height++ {
		hash, ok, err := r.mainHash(height)
		if err != nil {
			return nil, fmt.Errorf("height %d: %w", height, err)
		}
		if !ok {
			return nil, fmt.Errorf("height %d: no main chain entry (tip is at %d)", height, tip.Header.Height)
		}
		hdr, err := verifyBlock(p, r, state, prev, height, hash, genesis, work, rep)
		if err != nil {
			return nil, fmt.Errorf("height %d (block %s): %w", height, hash, err)
		}
		prev = hdr
		rep.Blocks++
		if height == math.MaxUint64 {
			break // NB: keeps the loop finite for a (nonsensical) tip at the last height
		}
	}
	if prev == nil || prev.Hash() != tip.Hash {
		return nil, fmt.Errorf("tip %s is not the main chain block at height %d", tip.Hash, tip.Header.Height)
	}
	if err := verifyCounts(r, rep); err != nil {
		return nil, fmt.Errorf("at tip height %d (block %s): %w", rep.Height, rep.TipHash, err)
	}
	if err := verifyAccounts(r, state); err != nil {
		return nil, fmt.Errorf("accounts at tip height %d (block %s): %w", rep.Height, rep.TipHash, err)
	}
	if root := StateRootOf(state); root != tip.Header.StateRoot {
		return nil, fmt.Errorf("tip height %d (block %s): state root from scratch %s differs from the header's %s", rep.Height, rep.TipHash, root, tip.Header.StateRoot)
	}
	rep.Accounts = len(state)
	return rep, nil
}

// verifyBlock checks the main-chain block at height (hash) on top of prev (nil for genesis),
// applies it to state, adds its work to work and returns its header.
func verifyBlock(p *Params, r *readTx, state AccountMap, prev *Header, height uint64, hash, genesis Hash, work *big.Int, rep *VerifyReport) (*Header, error) {
	b, e, err := verifyStoredBlock(r, height, hash)
	if err != nil {
		return nil, err
	}
	if height == 0 {
		if err := verifyGenesis(r, hash, genesis); err != nil {
			return nil, err
		}
	} else {
		if err := verifyConnect(p, r, state, prev, b); err != nil {
			return nil, err
		}
		rep.Txs += uint64(len(b.Txs))
	}
	work.Add(work, p.Work(&b.Header))
	if e.Work.Cmp(work) != 0 {
		return nil, fmt.Errorf("index entry work %s, recomputed %s", e.Work, work)
	}
	return &b.Header, nil
}

// verifyStoredBlock reads the block at height (hash) and its index entry, and checks that the
// body hashes to hash, the entry is main with the body's header, and the header's height.
func verifyStoredBlock(r *readTx, height uint64, hash Hash) (*Block, IndexEntry, error) {
	b, ok, err := r.block(hash)
	if err != nil {
		return nil, IndexEntry{}, err
	}
	if !ok {
		return nil, IndexEntry{}, fmt.Errorf("no block body")
	}
	if got := b.Hash(); got != hash {
		return nil, IndexEntry{}, fmt.Errorf("stored body hashes to %s", got)
	}
	e, ok, err := r.entry(hash)
	if err != nil {
		return nil, IndexEntry{}, err
	}
	if !ok {
		return nil, IndexEntry{}, fmt.Errorf("no index entry")
	}
	if e.Status != StatusMain {
		return nil, IndexEntry{}, fmt.Errorf("index entry has status %s, want main", e.Status)
	}
	if e.Header != b.Header {
		return nil, IndexEntry{}, fmt.Errorf("index entry header differs from the body's")
	}
	if b.Header.Height != height {
		return nil, IndexEntry{}, fmt.Errorf("header says height %d", b.Header.Height)
	}
	return b, e, nil
}

// verifyGenesis checks that the block at height 0 (hash) is this chain's genesis and has no
// undo record.
func verifyGenesis(r *readTx, hash, genesis Hash) error {
	if hash != genesis {
		return fmt.Errorf("not this chain's genesis %s", genesis)
	}
	if _, ok, _ := r.undoRecord(hash); ok {
		return fmt.Errorf("genesis has an undo record")
	}
	return nil
}

// verifyConnect checks block b against the consensus rules on top of prev, applies it to state,
// and checks its stored undo record and tx index entries against what applying it recomputed.
func verifyConnect(p *Params, r *readTx, state AccountMap, prev *Header, b *Block) error {
	if err := CheckBlock(p, b, nil); err != nil {
		return err
	}
	if err := CheckHeaderContext(p, &b.Header, prev, r.mainAncestors, math.MaxUint64); err != nil {
		return err
	}
	d, err := ApplyBlock(p, prev.StateRoot, state, b)
	if err != nil {
		return err
	}
	undo, ok, err := r.undoRecord(b.Hash())
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("no undo record")
	}
	if err := compareUndo(undo, d.Changes); err != nil {
		return err
	}
	if err := verifyTxIndex(r, b); err != nil {
		return err
	}
	d.ApplyTo(state)
	return nil
}

// verifyTxIndex checks that every transaction of main-chain block b has the tx index entry that
// points at it.
func verifyTxIndex(r *readTx, b *Block) error {
	hash, height := b.Hash(), b.Header.Height
	for i, tx := range b.Txs {
		th := tx.Hash()
		l, ok, err := r.txLocation(th)
		if err != nil {
			return err
		}
		want := TxLocation{BlockHash: hash, Height: height, Index: i}
		if !ok {
			return fmt.Errorf("tx %d %s has no tx index entry", i, th)
		}
		if l != want {
			return fmt.Errorf("tx %d %s: tx index says block %s height %d index %d", i, th, l.BlockHash, l.Height, l.Index)
		}
	}
	return nil
}

func compareUndo(stored, recomputed []AccountChange) error {
	if len(stored) != len(recomputed) {
		return fmt.Errorf("undo record has %d accounts, recomputed %d", len(stored), len(recomputed))
	}
	for i, s := range stored {
		c := recomputed[i]
		if s.Addr != c.Addr || s.Old != c.Old {
			return fmt.Errorf("undo record %d: stored %s %+v, recomputed %s %+v", i, s.Addr, s.Old, c.Addr, c.Old)
		}
	}
	return nil
}

func verifyCounts(r *readTx, rep *VerifyReport) error {
	mains, undos, txs, err := r.counts()
	if err != nil {
		return err
	}
	if listed, counted, err := r.runEntries(); err != nil {
		return err
	} else if listed != counted {
		return fmt.Errorf("the tx index's runs hold %d entries, listed as %d", counted, listed)
	}
	records, recent := r.recentCounts()
	txs += recent
	merged, err := r.txMerged()
	if err != nil {
		return err
	}
	tip := rep.Blocks - 1
	switch {
	case r.txrecent != nil && uint64(records) != tip-min(merged, tip):
		return fmt.Errorf("%d txrecent records, want %d (the blocks above height %d)", records, tip-min(merged, tip), merged)
	case uint64(mains) != rep.Blocks:
		return fmt.Errorf("main chain has %d entries, want %d", mains, rep.Blocks)
	case uint64(undos) != rep.Blocks-1:
		return fmt.Errorf("%d undo records, want %d", undos, rep.Blocks-1)
	case uint64(txs) != rep.Txs:
		return fmt.Errorf("tx index has %d entries, want %d", txs, rep.Txs)
	}
	return r.checkMempoolIndex()
}

func verifyAccounts(r *readTx, state AccountMap) error {
	n := 0
	err := r.forEachAccount(func(a Address, stored Account) error {
		n++
		want, ok := state[a]
		if !ok {
			return fmt.Errorf("account %s: stored balance %d nonce %d, recomputed none", a, stored.Balance, stored.Nonce)
		}
		if want != stored {
			return fmt.Errorf("account %s: stored balance %d nonce %d, recomputed balance %d nonce %d", a, stored.Balance, stored.Nonce, want.Balance, want.Nonce)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(state) {
		for _, a := range sortedAddrs(state) {
			if acct, _ := r.Account(a); acct.IsZero() {
				want := state[a]
				return fmt.Errorf("account %s: stored none, recomputed balance %d nonce %d", a, want.Balance, want.Nonce)
			}
		}
	}
	return nil
}
