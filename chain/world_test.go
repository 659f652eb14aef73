package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// testRules are rules over headers only: height and time against the parent, time against the
// clock (driftMs), genesis reachable through HeaderContext.Ancestor; CheckBlock fails for the
// hashes in badCheck; a header's work is 2^Bits (any bits are allowed, so a script can make a
// short branch heavy).
type testRules struct {
	genesis  chainstate.Hash
	badCheck map[chainstate.Hash]bool
	targets  bool // bits are compact targets: work is 2^256 / (target + 1)
}

const driftMs = 1000

func (r *testRules) CheckHeader(h *chainstate.Header, ctx HeaderContext) error {
	switch {
	case h.Height != ctx.Parent.Height+1:
		return &chainstate.RuleError{Code: chainstate.CodeBadHeight, Reason: fmt.Sprintf("height %d, parent is at %d", h.Height, ctx.Parent.Height)}
	case h.Time < ctx.Parent.Time:
		return &chainstate.RuleError{Code: chainstate.CodeTimeTooOld, Reason: fmt.Sprintf("time %d before the parent's %d", h.Time, ctx.Parent.Time)}
	case h.Time > ctx.NowMs+driftMs:
		return &chainstate.RuleError{Code: chainstate.CodeTimeTooNew, Reason: fmt.Sprintf("time %d past the clock %d", h.Time, ctx.NowMs)}
	}
	if g, ok := ctx.Ancestor(0); !ok || g.Hash() != r.genesis {
		return fmt.Errorf("ancestor 0 of a block at %d is not genesis (found %v)", h.Height, ok)
	}
	return nil
}

func (r *testRules) CheckBlock(b *chainstate.Block) error {
	if r.badCheck[b.Hash()] {
		return &chainstate.RuleError{Code: chainstate.CodeBadPoW, Reason: "not enough work"}
	}
	return nil
}

func (r *testRules) Work(h *chainstate.Header) *big.Int { return headerWork(h, r.targets) }

// fakeStore is the store the scripts write to, with chainstate.Store's semantics for what the
// machine relies on: Connect extends the tip only, PutBlock never downgrades, Reorg is all or
// nothing and names the block that does not apply, MarkInvalid refuses main-chain and unknown
// blocks.
type fakeStore struct {
	entries  map[chainstate.Hash]chainstate.IndexEntry
	bodies   map[chainstate.Hash]*chainstate.Block
	tip      chainstate.Hash
	badApply map[chainstate.Hash]bool // blocks whose state transition fails
	targets  bool                     // work from compact targets (headerWork)
}

func newFakeStore(g *chainstate.Block, work *big.Int) *fakeStore {
	h := g.Hash()
	return &fakeStore{
		entries:  map[chainstate.Hash]chainstate.IndexEntry{h: {Hash: h, Header: g.Header, Work: work, Status: chainstate.StatusMain}},
		bodies:   map[chainstate.Hash]*chainstate.Block{h: g},
		tip:      h,
		badApply: map[chainstate.Hash]bool{},
	}
}

func (s *fakeStore) lookup(h chainstate.Hash) (chainstate.IndexEntry, bool) {
	e, ok := s.entries[h]
	return e, ok
}

func (s *fakeStore) tipEntry() chainstate.IndexEntry { return s.entries[s.tip] }

// mainHash is Store.MainHash: the main chain's block at height.
func (s *fakeStore) mainHash(height uint64) (chainstate.Hash, bool) {
	e := s.entries[s.tip]
	for e.Header.Height > height {
		e = s.entries[e.Header.PrevHash]
	}
	return e.Hash, e.Header.Height == height
}

func workOf(h *chainstate.Header) *big.Int { return headerWork(h, false) }

// headerWork is the work of h: 2^Bits, or with targets the work of the compact target in Bits as
// an adjusting chain counts it (chainstate.Params.Work: 2^256 / (target + 1), 0 for bits that
// encode no target).
func headerWork(h *chainstate.Header, targets bool) *big.Int {
	if !targets {
		return new(big.Int).Lsh(big.NewInt(1), uint(h.Bits))
	}
	return targetParams.Work(h)
}

// targetParams is an adjusting chain, for its Work.
var targetParams = &chainstate.Params{ChainID: "t", PowBits: 1, TargetBlockTimeMs: 1000, HalfLifeMs: 60_000}

// connectOn applies b on top of tip into entries (a working copy).
func (s *fakeStore) connectOn(entries map[chainstate.Hash]chainstate.IndexEntry, tip chainstate.Hash, b *chainstate.Block) error {
	if b.Header.PrevHash != tip {
		return fmt.Errorf("parent %s is not the tip %s: %w", b.Header.PrevHash, tip, chainstate.ErrNotTip)
	}
	h := b.Hash()
	if s.badApply[h] {
		return &chainstate.RuleError{Code: chainstate.CodeBadStateRoot, Reason: "state root mismatch"}
	}
	work := new(big.Int).Add(entries[tip].Work, headerWork(&b.Header, s.targets))
	entries[h] = chainstate.IndexEntry{Hash: h, Header: b.Header, Work: work, Status: chainstate.StatusMain}
	return nil
}

func (s *fakeStore) Connect(b *chainstate.Block) error {
	if err := s.connectOn(s.entries, s.tip, b); err != nil {
		return err
	}
	s.tip = b.Hash()
	s.bodies[s.tip] = b
	return nil
}

func (s *fakeStore) PutBlock(b *chainstate.Block, work *big.Int) {
	h := b.Hash()
	if _, ok := s.entries[h]; ok {
		return
	}
	s.entries[h] = chainstate.IndexEntry{Hash: h, Header: b.Header, Work: work, Status: chainstate.StatusSide}
	s.bodies[h] = b
}

func (s *fakeStore) Reorg(disconnect []chainstate.Hash, connect []*chainstate.Block) error {
	entries := make(map[chainstate.Hash]chainstate.IndexEntry, len(s.entries))
	for h, e := range s.entries {
		entries[h] = e
	}
	tip := s.tip
	for i, h := range disconnect {
		if h != tip {
			return fmt.Errorf("disconnect[%d] %s is not the tip: %w", i, h, chainstate.ErrNotTip)
		}
		e := entries[h]
		e.Status = chainstate.StatusSide
		entries[h] = e
		tip = e.Header.PrevHash
	}
	for _, b := range connect {
		if err := s.connectOn(entries, tip, b); err != nil {
			return &chainstate.BlockError{Hash: b.Hash(), Height: b.Header.Height, Err: err}
		}
		tip = b.Hash()
	}
	for _, b := range connect {
		s.bodies[b.Hash()] = b
	}
	s.entries, s.tip = entries, tip
	return nil
}

func (s *fakeStore) MarkInvalid(h chainstate.Hash) error {
	e, ok := s.entries[h]
	switch {
	case !ok:
		return fmt.Errorf("block %s: %w", h, chainstate.ErrNotFound)
	case e.Status == chainstate.StatusMain:
		return fmt.Errorf("block %s: %w", h, chainstate.ErrMainChain)
	}
	e.Status = chainstate.StatusInvalid
	s.entries[h] = e
	return nil
}

// errLost is a write whose reply never came and that did not take effect.
var errLost = errors.New("storage: no answer")

// execute performs a write decision against the store as the consensus actor does, with the
// outcome mode: "done" (perform it), "already" (perform it, but report it as found done by an
// earlier attempt) or "lost" (do not perform it; fail with a non-rule error).
func (s *fakeStore) execute(d Decision, mode string) Result {
	if mode == "lost" {
		return Result{Outcome: Failed, Err: errLost}
	}
	var err error
	switch d.Kind {
	case WriteConnect:
		err = s.Connect(d.Block)
	case WritePut:
		s.PutBlock(d.Block, d.Work)
	case WriteReorg:
		err = s.reorgDecision(d)
	case WriteInvalid:
		err = s.MarkInvalid(d.Invalid)
	}
	switch {
	case err != nil:
		return Result{Outcome: Failed, Err: err}
	case mode == "already":
		return Result{Outcome: AlreadyDone}
	}
	return Result{Outcome: Done}
}

func (s *fakeStore) reorgDecision(d Decision) error {
	blocks := make([]*chainstate.Block, 0, len(d.Connect))
	for _, h := range d.Connect {
		b := s.bodies[h]
		if h == d.Hash {
			b = d.Block
		}
		if b == nil {
			return fmt.Errorf("body of %s missing", h)
		}
		blocks = append(blocks, b)
	}
	return s.Reorg(d.Disconnect, blocks)
}
