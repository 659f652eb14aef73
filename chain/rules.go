package chain

import (
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// Rules are the chain rules the machine applies to a block before it asks for any write: the
// checks against the block's parent and the local clock, the stateless checks, and the work a
// header adds to its chain. The state transition (balances, nonces, the state root) is the store's:
// a block that does not apply comes back as a failed write with a *chainstate.RuleError.
//
// Rules is the place for a per-height expected target (a difficulty schedule such as ASERT): the
// HeaderContext gives CheckHeader the parent and any ancestor of the block's own branch, and Work
// turns a header into the work fork choice adds up, so a schedule changes the Rules value, not the
// machine.
type Rules interface {
	// CheckHeader checks h in its context (height, previous hash, target, time). Failures are
	// *chainstate.RuleError. A block failing it is refused but not remembered as invalid: a
	// time too far ahead of the local clock may be fine later.
	CheckHeader(h *chainstate.Header, ctx HeaderContext) error
	// CheckBlock runs the stateless checks (work, seal, tx root, every transaction and signature).
	CheckBlock(b *chainstate.Block) error
	// Work is the work h adds to its chain's cumulative work.
	Work(h *chainstate.Header) *big.Int
}

// HeaderContext is what CheckHeader may look at besides the header itself.
type HeaderContext struct {
	Parent *chainstate.Header
	NowMs  uint64 // the local clock, ms since the Unix epoch
	// Ancestor returns the header at height on the block's branch (height <= Parent.Height),
	// reading the block index; ok is false when the index cannot reach it.
	Ancestor func(height uint64) (chainstate.Header, bool)
}

// RulesFor returns the rules of the chain p: ScheduleRules when it adjusts its difficulty
// (Params.Adjusting), else ParamsRules. sigs is the signature cache (may be nil).
func RulesFor(p *chainstate.Params, sigs *chainstate.SigCache) Rules {
	if p.Adjusting() {
		return ScheduleRules{Params: p, Sigs: sigs}
	}
	return ParamsRules{Params: p, Sigs: sigs}
}

// ParamsRules are the rules of a chain with the fixed difficulty of Params.PowBits:
// chainstate.CheckHeaderContext, chainstate.CheckBlock (with Sigs, the signature cache, which may
// be nil) and chainstate.WorkForBits.
type ParamsRules struct {
	Params *chainstate.Params
	Sigs   *chainstate.SigCache
}

// CheckHeader implements Rules.
func (r ParamsRules) CheckHeader(h *chainstate.Header, ctx HeaderContext) error {
	return chainstate.CheckHeaderContext(r.Params, h, ctx.Parent, nil, ctx.NowMs)
}

// CheckBlock implements Rules.
func (r ParamsRules) CheckBlock(b *chainstate.Block) error {
	return chainstate.CheckBlock(r.Params, b, r.Sigs)
}

// Work implements Rules.
func (r ParamsRules) Work(h *chainstate.Header) *big.Int { return chainstate.WorkForBits(h.Bits) }

// ScheduleRules are the rules of a chain that adjusts its difficulty (Params.TargetBlockTimeMs >
// 0, CONTRACT §10): CheckHeader is chainstate.CheckHeaderContext with the block's ancestors (the
// bits must be the ASERT target anchored at block 1 of the block's own branch, the time above the
// median time past of the last 11 blocks), CheckBlock checks the hash against the header's
// compact target, and Work is 2^256 / (target + 1) (chainstate.Params.Work).
type ScheduleRules struct {
	Params *chainstate.Params
	Sigs   *chainstate.SigCache
}

// CheckHeader implements Rules.
func (r ScheduleRules) CheckHeader(h *chainstate.Header, ctx HeaderContext) error {
	return chainstate.CheckHeaderContext(r.Params, h, ctx.Parent, ctx.Ancestor, ctx.NowMs)
}

// CheckBlock implements Rules.
func (r ScheduleRules) CheckBlock(b *chainstate.Block) error {
	return chainstate.CheckBlock(r.Params, b, r.Sigs)
}

// Work implements Rules.
func (r ScheduleRules) Work(h *chainstate.Header) *big.Int { return r.Params.Work(h) }
