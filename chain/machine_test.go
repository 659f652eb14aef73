package chain

import (
	"errors"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

func TestParamsRules(t *testing.T) {
	p := &chainstate.Params{ChainID: "t", PowBits: 3}
	g := p.Genesis()
	r := ParamsRules{Params: p}
	h := chainstate.Header{Version: 1, PrevHash: g.Hash(), Height: 1, Bits: 4, Time: g.Header.Time}
	var re *chainstate.RuleError
	if err := r.CheckHeader(&h, HeaderContext{Parent: &g.Header, NowMs: g.Header.Time}); !errors.As(err, &re) || re.Code != chainstate.CodeBadBits {
		t.Fatalf("bits 4 on a chain of 3: %v, want bad_bits", err)
	}
	h.Bits = 3
	if err := r.CheckHeader(&h, HeaderContext{Parent: &g.Header, NowMs: g.Header.Time}); err != nil {
		t.Fatalf("a good header: %v", err)
	}
	if w := r.Work(&h); w.Cmp(chainstate.WorkForBits(3)) != 0 {
		t.Fatalf("work %s, want 2^3", w)
	}
}

func TestStepWhilePendingPanics(t *testing.T) {
	w := newWorld(t)
	b := w.makeBlock("test", "a1", map[string]string{"parent": "g"})
	if d := w.m.Step(b, Source{}, w.nowMs); d.Kind != WriteConnect {
		t.Fatalf("first decision %s, want write connect", d.Kind)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Step with a write pending did not panic")
		}
	}()
	w.m.Step(b, Source{}, w.nowMs)
}

func TestAdvanceWhenIdle(t *testing.T) {
	w := newWorld(t)
	if d := w.m.Advance(Result{}); d.Kind != None {
		t.Fatalf("Advance with nothing pending: %s", d.Kind)
	}
	if _, err := New(Config{Rules: w.rules}); err == nil {
		t.Fatal("New without a tip's work did not fail")
	}
	if _, err := New(Config{Tip: w.store.tipEntry()}); err == nil {
		t.Fatal("New without rules did not fail")
	}
}

// TestAncestor: HeaderContext.Ancestor finds the block at a height on a block's own branch,
// through the main chain (MainHash) or by walking the index, and nothing above the block.
func TestAncestor(t *testing.T) {
	w := newWorld(t)
	w.run("test", "chain a1 a2 a3 a4 a5 parent=g")
	w.run("test", "chain b2 b3 b4 parent=a1")
	want := map[uint64]string{0: "g", 1: "a1", 2: "b2", 3: "b3", 4: "b4"}
	for _, mainHash := range []bool{true, false} {
		if !mainHash {
			w.m.idx.mainHash = nil
		}
		b4 := w.m.idx.get(w.blocks["b4"].Hash())
		for height, name := range want {
			h, ok := w.m.idx.ancestor(b4, height)
			if !ok || h.Hash() != w.blocks[name].Hash() {
				t.Errorf("mainHash %v: ancestor of b4 at %d: %s (%v), want %s", mainHash, height, w.name(h.Hash()), ok, name)
			}
		}
		if _, ok := w.m.idx.ancestor(b4, 5); ok {
			t.Errorf("mainHash %v: an ancestor above the block", mainHash)
		}
	}
}
