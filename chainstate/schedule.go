package chainstate

import (
	"fmt"
	"math/big"
)

// The difficulty schedule of a chain (CONTRACT §10, docs/protocol.md "Difficulty"): which bits a
// header must carry, the target its hash must meet, the work it adds, and the earliest time it
// may have. A fixed-difficulty chain (TargetBlockTimeMs 0) keeps bits = PowBits, the target
// 2^(256-PowBits) - 1 and the work 2^PowBits. An adjusting chain carries each block's target in
// compact form in bits: block 1 has the genesis target, every later block the ASERT target
// computed from block 1 (the anchor) and its parent.

// Ancestors returns the header at height on the branch of the block being checked or built
// (height at most its parent's); ok is false when it is not known.
type Ancestors func(height uint64) (Header, bool)

// Adjusting reports whether the chain adjusts its difficulty (TargetBlockTimeMs > 0).
func (p *Params) Adjusting() bool { return p.TargetBlockTimeMs > 0 }

// GenesisTarget returns the target of block 1: TargetForBits(PowBits), and on an adjusting chain
// that value through its compact form (rounded down to the compact's 23-bit mantissa).
func (p *Params) GenesisTarget() *big.Int {
	t := TargetForBits(p.PowBits)
	if !p.Adjusting() || t.Sign() == 0 {
		return t
	}
	c, _ := CompactToTarget(TargetToCompact(t))
	return c
}

// GenesisBits returns the bits of the genesis block and block 1: PowBits on a fixed chain, the
// compact genesis target on an adjusting one.
func (p *Params) GenesisBits() uint32 {
	if !p.Adjusting() {
		return p.PowBits
	}
	return TargetToCompact(TargetForBits(p.PowBits))
}

// Target returns the target h's hash must meet: TargetForBits(h.Bits) on a fixed chain (whose
// bits CheckBlock holds to PowBits), the decoded compact bits on an adjusting chain (an error
// wrapping ErrCompact when they encode no target).
func (p *Params) Target(h *Header) (*big.Int, error) {
	if !p.Adjusting() {
		return TargetForBits(h.Bits), nil
	}
	return CompactToTarget(h.Bits)
}

// Work returns the work h adds to its chain: 2^bits on a fixed chain, 2^256 / (target + 1) on an
// adjusting one (0 for bits that encode no target: such a block never passes CheckBlock).
func (p *Params) Work(h *Header) *big.Int {
	if !p.Adjusting() {
		return WorkForBits(h.Bits)
	}
	t, err := CompactToTarget(h.Bits)
	if err != nil {
		return new(big.Int)
	}
	return WorkForTarget(t)
}

// Schedule returns the ASERT schedule of an adjusting chain anchored at anchor (block 1).
func (p *Params) Schedule(anchor *Header) ASERT {
	return ASERT{
		AnchorHeight: anchor.Height,
		AnchorTimeMs: anchor.Time,
		AnchorTarget: p.GenesisTarget(),
		IdealMs:      int64(p.TargetBlockTimeMs),
		HalfLifeMs:   int64(p.HalfLifeMs),
	}
}

// ancestorOf returns the header at height on parent's branch: parent itself at its own height,
// else anc's answer.
func ancestorOf(parent *Header, anc Ancestors, height uint64) (Header, error) {
	if height == parent.Height {
		return *parent, nil
	}
	if anc != nil && height < parent.Height {
		if h, ok := anc(height); ok && h.Height == height {
			return h, nil
		}
	}
	return Header{}, fmt.Errorf("ancestor at height %d of block %d is not known", height, parent.Height+1)
}

// Next is what the rules require of the block after a parent.
type Next struct {
	Bits      uint32 // the bits it must carry
	MinTimeMs uint64 // its earliest valid time
}

// NextAfter returns the bits and the earliest time of the block after parent:
//
//   - fixed chain: bits PowBits, time at least parent.Time;
//   - adjusting chain: bits GenesisBits for block 1, else TargetToCompact(Schedule(block 1).Next(
//     parent.Height, parent.Time)); time at least parent.Time and above MedianTimePast.
//
// anc gives the ancestors (block 1 and the 10 before the parent); it may be nil on a fixed chain.
// An ancestor anc does not know is an error (not a rule error: the block is not at fault).
func (p *Params) NextAfter(parent *Header, anc Ancestors) (Next, error) {
	if !p.Adjusting() {
		return Next{Bits: p.PowBits, MinTimeMs: parent.Time}, nil
	}
	mtp, err := MedianTimePast(parent, anc)
	if err != nil {
		return Next{}, err
	}
	n := Next{Bits: p.GenesisBits(), MinTimeMs: max(parent.Time, mtp+1)}
	if parent.Height == 0 {
		return n, nil
	}
	anchor, err := ancestorOf(parent, anc, 1)
	if err != nil {
		return Next{}, err
	}
	n.Bits = TargetToCompact(p.Schedule(&anchor).Next(parent.Height, parent.Time))
	return n, nil
}

// MedianTimePast returns MedianTime of the times of parent and its up to MedianTimeSpan-1
// ancestors before it (genesis included).
func MedianTimePast(parent *Header, anc Ancestors) (uint64, error) {
	n := min(parent.Height+1, MedianTimeSpan)
	times := make([]uint64, 0, n)
	for height := parent.Height + 1 - n; height <= parent.Height; height++ {
		h, err := ancestorOf(parent, anc, height)
		if err != nil {
			return 0, err
		}
		times = append(times, h.Time)
	}
	return MedianTime(times), nil
}

// checkSchedule checks an adjusting chain's header against its parent and ancestors: the bits
// are the scheduled ones and the time is above the median time past.
func (p *Params) checkSchedule(h, parent *Header, anc Ancestors) error {
	n, err := p.NextAfter(parent, anc)
	if err != nil {
		return err
	}
	if h.Bits != n.Bits {
		return ruleErr(CodeBadBits, "bits %08x, the difficulty schedule requires %08x at height %d", h.Bits, n.Bits, h.Height)
	}
	if h.Time < n.MinTimeMs {
		return ruleErr(CodeTimeTooOld, "time %d ms is not after the median time %d ms of the last %d blocks", h.Time, n.MinTimeMs-1, MedianTimeSpan)
	}
	return nil
}

// checkWork checks that h's hash meets its target (CheckBlock's proof-of-work check).
func (p *Params) checkWork(h *Header) error {
	if !p.Adjusting() {
		if h.Bits != p.PowBits {
			return ruleErr(CodeBadBits, "bits %d, chain requires %d", h.Bits, p.PowBits)
		}
		if hash := h.Hash(); !MeetsBits(hash, h.Bits) {
			return ruleErr(CodeBadPoW, "hash %s has fewer than %d leading zero bits", hash, h.Bits)
		}
		return nil
	}
	t, err := CompactToTarget(h.Bits)
	if err != nil {
		return ruleErr(CodeBadBits, "bits: %v", err)
	}
	if hash := h.Hash(); !MeetsTarget(hash, t) {
		return ruleErr(CodeBadPoW, "hash %s is above the target %064x", hash, t)
	}
	return nil
}

// mainAncestors reads the main chain's header at height (Ancestors of a block on the main
// chain's tip).
func (r *readTx) mainAncestors(height uint64) (Header, bool) {
	h, ok, err := r.mainHash(height)
	if err != nil || !ok {
		return Header{}, false
	}
	e, ok, err := r.entry(h)
	if err != nil || !ok {
		return Header{}, false
	}
	return e.Header, true
}

// MainAncestors returns the Ancestors of a block built on the main chain's tip: each call reads
// the main chain's header at a height in its own read transaction (a failed read is not known).
func (s *Store) MainAncestors() Ancestors {
	return func(height uint64) (Header, bool) {
		var (
			h  Header
			ok bool
		)
		_ = s.view("main header", func(r *readTx) error {
			h, ok = r.mainAncestors(height)
			return nil
		})
		return h, ok
	}
}

// NextAfterTip returns what the rules require of a block on the main chain's tip (Params.
// NextAfter with the main chain's ancestors), with the tip.
func (s *Store) NextAfterTip() (TipInfo, Next, error) {
	var (
		tip  IndexEntry
		next Next
	)
	err := s.view("next after tip", func(r *readTx) error {
		var err error
		if tip, err = r.tipEntry(); err != nil {
			return err
		}
		next, err = s.params.NextAfter(&tip.Header, r.mainAncestors)
		return err
	})
	if err != nil {
		return TipInfo{}, Next{}, err
	}
	return TipInfo{Hash: tip.Hash, Header: tip.Header, Work: tip.Work}, next, nil
}

// Difficulty returns GenesisTarget / Target(h) (1 for a genesis-target block, 2 for one with
// half the target), as a float64; 0 for bits that encode no target.
func (p *Params) Difficulty(h *Header) float64 {
	t, err := p.Target(h)
	if err != nil || t.Sign() == 0 {
		return 0
	}
	q := new(big.Float).Quo(new(big.Float).SetInt(p.GenesisTarget()), new(big.Float).SetInt(t))
	f, _ := q.Float64()
	return f
}
