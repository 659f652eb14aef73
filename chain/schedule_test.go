package chain

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

// schedWorld is a machine with the real ScheduleRules of a small adjusting chain over the fake
// store, with real proof of work against each block's target.
type schedWorld struct {
	t     *testing.T
	p     *chainstate.Params
	key   ed25519.PrivateKey
	store *fakeStore
	m     *Machine
	hdrs  map[chainstate.Hash]chainstate.Header
}

func newSchedWorld(t *testing.T) *schedWorld {
	p := &chainstate.Params{ChainID: "sched", GenesisTimeMs: 1_000_000, PowBits: 4, TargetBlockTimeMs: 1000, HalfLifeMs: 10_000}
	g := p.Genesis()
	w := &schedWorld{t: t, p: p, key: ed25519.NewKeyFromSeed(make([]byte, 32)), hdrs: map[chainstate.Hash]chainstate.Header{g.Hash(): g.Header}}
	w.store = newFakeStore(g, p.Work(&g.Header))
	w.store.targets = true
	m, err := New(Config{Rules: RulesFor(p, nil), Tip: w.store.tipEntry(), Load: w.store.lookup, MainHash: w.store.mainHash, MaxOrphans: 4})
	if err != nil {
		t.Fatal(err)
	}
	w.m = m
	return w
}

// anc returns the ancestors on parent's branch, from the headers made so far.
func (w *schedWorld) anc(parent chainstate.Header) chainstate.Ancestors {
	return func(height uint64) (chainstate.Header, bool) {
		h := parent
		for h.Height > height {
			var ok bool
			if h, ok = w.hdrs[h.PrevHash]; !ok {
				return chainstate.Header{}, false
			}
		}
		return h, h.Height == height
	}
}

// make builds a block on parent at timeMs with the scheduled bits (or bits when not 0), sealed
// and mined against its target (any hash when the bits encode no target).
func (w *schedWorld) make(parent chainstate.Header, timeMs uint64, bits uint32) *chainstate.Block {
	w.t.Helper()
	n, err := w.p.NextAfter(&parent, w.anc(parent))
	if err != nil {
		w.t.Fatal(err)
	}
	if bits == 0 {
		bits = n.Bits
	}
	b := &chainstate.Block{Header: chainstate.Header{Version: chainstate.HeaderVersion, PrevHash: parent.Hash(),
		Height: parent.Height + 1, Bits: bits, TxRoot: chainstate.TxRoot(nil), Time: timeMs}}
	b.Header.Seal(w.key)
	if target, err := chainstate.CompactToTarget(bits); err == nil {
		for !chainstate.MeetsTarget(b.Hash(), target) {
			b.Header.Nonce++
		}
	}
	w.hdrs[b.Hash()] = b.Header
	return b
}

// send runs b through the machine (performing its writes) and returns the last decision.
func (w *schedWorld) send(b *chainstate.Block, nowMs uint64) Decision {
	w.t.Helper()
	d := w.m.Step(b, Source{Origin: Peer, Peer: "p"}, nowMs)
	last := d
	for d.Kind != None {
		last = d
		var r Result
		if d.Kind.IsWrite() {
			r = w.store.execute(d, "done")
		}
		d = w.m.Advance(r)
	}
	return last
}

func wantRule(t *testing.T, name string, d Decision, code chainstate.ErrorCode) {
	t.Helper()
	var re *chainstate.RuleError
	if code == chainstate.CodeUnknown {
		if d.Kind != Connected && d.Kind != Reorged && d.Kind != Stored {
			t.Fatalf("%s: %s %v, want accepted", name, d.Kind, d.Err)
		}
		return
	}
	if d.Kind != Rejected || !errors.As(d.Err, &re) || re.Code != code {
		t.Fatalf("%s: %s %v, want rejected with %s", name, d.Kind, d.Err, code)
	}
}

// TestScheduleRules: the adjusting chain's rules in the machine: the scheduled bits, a hash
// above the block's target, the median time past, and the anchor of each block's own branch.
func TestScheduleRules(t *testing.T) {
	w := newSchedWorld(t)
	g := w.p.Genesis().Header
	now := g.Time + 1_000_000
	// Block 1 far from genesis anchors the schedule; then 10 blocks 100 ms apart (10x too fast):
	// the targets get harder.
	tip := w.make(g, g.Time+500_000, 0)
	wantRule(t, "block 1", w.send(tip, now), chainstate.CodeUnknown)
	if tip.Header.Bits != w.p.GenesisBits() {
		t.Fatalf("block 1 bits %08x, want the genesis bits", tip.Header.Bits)
	}
	b1 := tip.Header
	for i := 0; i < 10; i++ {
		tip = w.make(tip.Header, tip.Header.Time+100, 0)
		wantRule(t, "fast block", w.send(tip, now), chainstate.CodeUnknown)
	}
	if tip.Header.Bits == w.p.GenesisBits() {
		t.Fatal("ten blocks 10x too fast left the genesis target")
	}
	parent := tip.Header
	next := parent.Time + 100
	good := w.make(parent, next, 0)

	// The bits of the parent (one step behind), and the genesis bits.
	wantRule(t, "parent's bits", w.send(w.make(parent, next, parent.Bits), now), chainstate.CodeBadBits)
	wantRule(t, "genesis bits", w.send(w.make(parent, next, w.p.GenesisBits()), now), chainstate.CodeBadBits)

	// A hash that meets the genesis target but not the block's own.
	easy := w.make(parent, next, 0)
	target, _ := chainstate.CompactToTarget(easy.Header.Bits)
	for easy.Header.Nonce = 0; chainstate.MeetsTarget(easy.Hash(), target) || !chainstate.MeetsTarget(easy.Hash(), w.p.GenesisTarget()); easy.Header.Nonce++ {
	}
	wantRule(t, "too easy hash", w.send(easy, now), chainstate.CodeBadPoW)
	wantRule(t, "time too new", w.send(w.make(parent, now+w.p.FutureDriftMs()+1, 0), now), chainstate.CodeTimeTooNew)

	wantRule(t, "good", w.send(good, now), chainstate.CodeUnknown)
	if got := w.m.rules.Work(&good.Header); got.Cmp(chainstate.WorkForTarget(target)) != 0 {
		t.Fatalf("work %s, want 2^256/(target+1) = %s", got, chainstate.WorkForTarget(target))
	}

	// Median time past: six blocks at one time; the seventh at that time too is refused (its
	// time is not above the median of the last 11), one ms later it is fine.
	tip = good
	same := tip.Header.Time + 50
	for i := 0; i < 6; i++ {
		tip = w.make(tip.Header, same, 0)
		wantRule(t, "same time", w.send(tip, now), chainstate.CodeUnknown)
	}
	wantRule(t, "time at the median", w.send(w.make(tip.Header, same, 0), now), chainstate.CodeTimeTooOld)
	wantRule(t, "time after the median", w.send(w.make(tip.Header, same+1, 0), now), chainstate.CodeUnknown)

	// A branch from genesis has its own block 1 as anchor: bits computed from the main chain's
	// anchor are refused there, its own accepted (as a side block: less work).
	x1 := w.make(g, b1.Time+20_000, 0)
	wantRule(t, "branch block 1", w.send(x1, now), chainstate.CodeUnknown)
	x2 := w.make(x1.Header, x1.Header.Time+1000, 0)
	wantRule(t, "branch block 2", w.send(x2, now), chainstate.CodeUnknown)
	wrong := chainstate.TargetToCompact(w.p.Schedule(&b1).Next(x2.Header.Height, x2.Header.Time))
	own := chainstate.TargetToCompact(w.p.Schedule(&x1.Header).Next(x2.Header.Height, x2.Header.Time))
	if wrong == own {
		t.Fatalf("the two anchors give the same bits %08x", own)
	}
	wantRule(t, "main chain's anchor", w.send(w.make(x2.Header, x2.Header.Time+1000, wrong), now), chainstate.CodeBadBits)
	x3 := w.make(x2.Header, x2.Header.Time+1000, 0)
	if x3.Header.Bits != own {
		t.Fatalf("branch bits %08x, want %08x", x3.Header.Bits, own)
	}
	wantRule(t, "own anchor", w.send(x3, now), chainstate.CodeUnknown)
}
