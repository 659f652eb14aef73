package chainstate

import (
	"math"
	"slices"
)

// verifyTxSigHash verifies the signature of tx, whose hash is h, consulting and filling cache
// (nil: no cache).
func verifyTxSigHash(tx *Tx, h Hash, cache *SigCache) bool {
	if cache.Contains(h) {
		return true
	}
	if !tx.VerifySig() {
		return false
	}
	cache.Add(h)
	return true
}

// CheckTx is the stateless check of a transaction: the chain id equals p.ChainID, the amount is
// not zero, amount + fee does not overflow, and the signature verifies (through cache, which may
// be nil). Self-transfers are allowed. Failures are *RuleError.
func CheckTx(p *Params, tx *Tx, cache *SigCache) error {
	return checkTxHash(p, tx, tx.Hash(), cache)
}

// checkTxFields is CheckTx without the signature.
func checkTxFields(p *Params, tx *Tx, h Hash) error {
	if tx.ChainID != p.ChainID {
		return ruleErr(CodeWrongChain, "tx %s: chain id %q, want %q", h, tx.ChainID, p.ChainID)
	}
	if tx.Amount == 0 {
		return ruleErr(CodeBadAmount, "tx %s: amount is zero", h)
	}
	if _, ok := tx.Cost(); !ok {
		return ruleErr(CodeOverflow, "tx %s: amount %d + fee %d overflows", h, tx.Amount, tx.Fee)
	}
	return nil
}

func checkTxHash(p *Params, tx *Tx, h Hash, cache *SigCache) error {
	if err := checkTxFields(p, tx, h); err != nil {
		return err
	}
	if !verifyTxSigHash(tx, h, cache) {
		return ruleErr(CodeBadSignature, "tx %s: signature does not verify", h)
	}
	return nil
}

// CheckBlock is the stateless check of a block: work, miner signature and validator set,
// commitment, tx count limit, tx root, duplicate txs, every CheckTx (signatures in parallel).
//
// For a block at height > 0, in this order: Version is HeaderVersion, the proof of work (on a
// fixed chain Bits is p.PowBits and the hash has that many leading zero bits; on an adjusting
// chain Bits is a valid compact target and the hash is at most that target; the hash commits to
// every header field, so this also checks the commitment),
// the miner is a validator, the miner's signature over SealBytes verifies, the block has at most
// BlockTxLimit transactions, TxRoot matches, no transaction appears twice, and every transaction
// passes CheckTx. The signatures are batch-verified (ZIP-215, see VerifySignature) by up to
// GOMAXPROCS goroutines, all joined before CheckBlock returns; the error reported is always that of the
// lowest failing transaction index, as a serial check would report. Transactions in cache are
// not verified again, and those that verify are added to it.
//
// A block at height 0 passes only if it is p's genesis block (no proof of work is needed).
// Failures are *RuleError. CheckBlock does not look at the parent or the ledger: see
// CheckHeaderContext and ApplyBlock.
func CheckBlock(p *Params, b *Block, cache *SigCache) error {
	return checkBlock(p, b, cache, 0)
}

// CheckBlockAlone is CheckBlock with the signatures verified on the calling goroutine alone
// (in one batch), for a caller that checks several blocks at once and so keeps
// the cores busy itself: a sync checks two, and a check that took both cores would leave the
// connection's reader and consensus waiting for one (Go's scheduler lets a busy goroutine run
// 10 ms before it preempts it).
func CheckBlockAlone(p *Params, b *Block, cache *SigCache) error {
	return checkBlock(p, b, cache, 1)
}

// CheckBlocksAlone checks each of blocks as CheckBlockAlone does and returns their errors in
// order (nil: the block passed). The signatures of all of them are verified on the calling
// goroutine in one batch: a batch's cost per signature falls as it grows (8.7 µs at 1,000, 8.2
// at 2,000 here), and a sync has blocks waiting. Each block's error is the one CheckBlockAlone
// would report: after a failed signature, the blocks behind the failing one are verified on
// their own.
func CheckBlocksAlone(p *Params, blocks []*Block, cache *SigCache) []error {
	errs := make([]error, len(blocks))
	pend := make([]*blockSigs, len(blocks))
	s := getCheckScratch()
	defer s.put()
	for i, b := range blocks {
		pend[i], errs[i] = prepareBlock(p, b, cache, s)
	}
	items := s.items
	bad := verifyAll(items, 1)
	for i, c := range pend {
		if c == nil {
			continue
		}
		lo, hi := c.lo, c.lo+len(c.index)
		switch {
		case bad >= hi: // every signature of this block verified
			errs[i] = c.finish(items[lo:hi], len(c.index), cache)
		case bad >= lo: // the first failure is this block's
			errs[i] = c.finish(items[lo:hi], bad-lo, cache)
		default: // behind the first failure: verified on its own
			errs[i] = c.finish(items[lo:hi], verifyAll(items[lo:hi], 1), cache)
		}
		if errs[i] == nil {
			blocks[i].keepHashes(c.hashes)
		}
	}
	return errs
}

// checkBlock is CheckBlock with the signatures verified by at most most goroutines (0: the free
// cores, verifyWorkers).
func checkBlock(p *Params, b *Block, cache *SigCache, most int) error {
	s := getCheckScratch()
	defer s.put()
	c, err := prepareBlock(p, b, cache, s)
	if c == nil {
		return err
	}
	if err := c.finish(s.items, verifyAll(s.items, most), cache); err != nil {
		return err
	}
	b.keepHashes(c.hashes)
	return nil
}

// blockSigs is a block's stateless check done up to its signatures: the transactions' hashes,
// the signatures to verify and the error to report when they all verify.
type blockSigs struct {
	hashes []Hash
	// index: the k-th signature to verify is that of transaction index[k]; they are the
	// items from lo of the slice prepareBlock appended them to.
	index []int
	lo    int
	// badErr is the first transaction's failure before the signatures (nil: none); only the
	// signatures of the transactions before it are verified.
	badErr error
}

// prepareBlock runs b's stateless checks up to its signatures and appends the signatures left
// to verify (not in cache) to s.items. c is nil when the check is already over: err is then its
// result (a failure, or nil for the genesis block).
func prepareBlock(p *Params, b *Block, cache *SigCache, s *checkScratch) (c *blockSigs, err error) {
	h := &b.Header
	if h.Height == 0 {
		if len(b.Txs) != 0 {
			return nil, ruleErr(CodeBadGenesis, "genesis block with %d transactions", len(b.Txs))
		}
		if got, want := b.Hash(), p.GenesisHash(); got != want {
			return nil, ruleErr(CodeBadGenesis, "height 0 block %s is not genesis %s", got, want)
		}
		return nil, nil
	}
	if h.Version != HeaderVersion {
		return nil, ruleErr(CodeBadVersion, "version %d, want %d", h.Version, HeaderVersion)
	}
	if err := p.checkWork(h); err != nil {
		return nil, err
	}
	if !p.IsValidator(h.Miner) {
		return nil, ruleErr(CodeNotValidator, "miner %s is not a validator", h.Miner)
	}
	if !h.VerifySeal() {
		return nil, ruleErr(CodeBadMinerSig, "miner signature does not verify")
	}
	if limit := p.BlockTxLimit(); len(b.Txs) > limit {
		return nil, ruleErr(CodeTooManyTxs, "%d transactions, limit %d", len(b.Txs), limit)
	}
	hashes := make([]Hash, len(b.Txs))
	for i, tx := range b.Txs {
		hashes[i] = tx.Hash()
	}
	var root Hash
	root, s.level = merkleRootIn(hashes, s.level)
	if root != h.TxRoot {
		return nil, ruleErr(CodeBadTxRoot, "tx root %s, header says %s", root, h.TxRoot)
	}
	if hasDuplicate(hashes) { // sorted (16 bytes a transfer), not a set (83 KB a block of 1,000)
		seen := make(map[Hash]struct{}, len(hashes))
		for i, th := range hashes {
			if _, dup := seen[th]; dup {
				return nil, ruleErr(CodeDuplicateTx, "tx %d %s appears twice", i, th)
			}
			seen[th] = struct{}{}
		}
	}
	c, s.items, s.msgs = prepareTxs(p, b.Txs, hashes, cache, s.items, s.msgs)
	return c, nil
}

// checkTxs runs checkTxHash on every transaction and returns the error of the lowest failing
// index, as checking them one by one in order would. The cheap stateless checks run first in
// order; then the signatures not in cache, up to the first transaction that failed them, are
// verified in batches across goroutines that are joined before it returns (verifyAll), and the
// ones that verify are added to cache.
func checkTxs(p *Params, txs []*Tx, hashes []Hash, cache *SigCache, most int) error {
	c, items, _ := prepareTxs(p, txs, hashes, cache, nil, nil)
	return c.finish(items, verifyAll(items, most), cache)
}

// prepareTxs runs the cheap stateless checks of txs in order and appends the signatures to
// verify, those not in cache up to the first transaction that failed, to items, and their signed
// messages to msgs (the items point into it).
func prepareTxs(p *Params, txs []*Tx, hashes []Hash, cache *SigCache, items []sigItem, msgs []byte) (*blockSigs, []sigItem, []byte) {
	c := &blockSigs{hashes: hashes, lo: len(items)}
	firstBad := len(txs)
	for i, tx := range txs {
		if err := checkTxFields(p, tx, hashes[i]); err != nil {
			firstBad, c.badErr = i, err
			break
		}
	}
	c.index = cache.missing(hashes[:firstBad])
	size := 0
	for _, i := range c.index {
		size += TxFixedSize - 64 + len(txs[i].ChainID)
	}
	items = slices.Grow(items, len(c.index))
	// Every signed message in one piece of msgs. Growing it leaves the items of earlier blocks
	// pointing into the old array, which stays theirs.
	msgs = slices.Grow(msgs, size)
	for _, i := range c.index {
		tx := txs[i]
		at := len(msgs)
		msgs = tx.appendSigning(msgs)
		items = append(items, sigItem{pub: tx.From[:], msg: msgs[at:len(msgs):len(msgs)], sig: tx.Sig[:]})
	}
	return c, items, msgs
}

// finish ends the check given that items (this block's signatures to verify) verified up to
// sigBad, the first that does not (len(items): all did): the verified ones go into cache, and the
// error is the lowest failing transaction's.
func (c *blockSigs) finish(items []sigItem, sigBad int, cache *SigCache) error {
	if cache.adds() {
		verified := make([]Hash, sigBad)
		for k := range verified {
			verified[k] = c.hashes[c.index[k]]
		}
		cache.AddAll(verified)
	}
	if sigBad < len(items) {
		return ruleErr(CodeBadSignature, "tx %s: signature does not verify", c.hashes[c.index[sigBad]])
	}
	return c.badErr
}

// CheckHeaderContext checks h against its parent (and, on an adjusting chain, its ancestors):
// height, bits, time not before the parent's and not more than the drift past nowMs.
//
// Precisely: Height is parent.Height + 1, PrevHash is parent.Hash(), Bits is p.PowBits on a fixed
// chain, Time >= parent.Time (times are milliseconds and may repeat, so a fast chain can have
// many blocks per second) and Time <= nowMs + FutureDriftMs (saturating; pass math.MaxUint64 to
// skip the clock check, as Verify does). On an adjusting chain Bits is instead the scheduled
// compact target and Time is also above the median time past (NextAfter), which reads block 1
// and the parent's 10 ancestors through anc (nil is fine on a fixed chain). Failures are
// *RuleError, except an ancestor anc does not know.
func CheckHeaderContext(p *Params, h *Header, parent *Header, anc Ancestors, nowMs uint64) error {
	if h.Height != parent.Height+1 {
		return ruleErr(CodeBadHeight, "height %d, parent is at %d", h.Height, parent.Height)
	}
	if ph := parent.Hash(); h.PrevHash != ph {
		return ruleErr(CodeBadPrevHash, "prev hash %s, parent is %s", h.PrevHash, ph)
	}
	if !p.Adjusting() && h.Bits != p.PowBits {
		return ruleErr(CodeBadBits, "bits %d, chain requires %d", h.Bits, p.PowBits)
	}
	if h.Time < parent.Time {
		return ruleErr(CodeTimeTooOld, "time %d ms is before the parent's %d ms", h.Time, parent.Time)
	}
	limit := nowMs + p.FutureDriftMs()
	if limit < nowMs {
		limit = math.MaxUint64
	}
	if h.Time > limit {
		return ruleErr(CodeTimeTooNew, "time %d ms is more than %d ms past the local clock %d ms", h.Time, p.FutureDriftMs(), nowMs)
	}
	if p.Adjusting() {
		return p.checkSchedule(h, parent, anc)
	}
	return nil
}
