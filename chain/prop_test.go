package chain

import (
	"fmt"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// propTree is a random block tree: block 0 is genesis, block i > 0 has parent parents[i] < i.
type propTree struct {
	blocks   []*chainstate.Block
	parents  []int
	badApply []bool // the store's state transition fails
	badCheck []bool // Rules.CheckBlock fails
}

func drawTree(t *rapid.T) *propTree {
	n := rapid.IntRange(2, 30).Draw(t, "blocks")
	g := &chainstate.Block{Header: chainstate.Header{Version: 1, Bits: 1, Time: genesisTime}}
	tr := &propTree{blocks: []*chainstate.Block{g}, parents: []int{0}, badApply: []bool{false}, badCheck: []bool{false}}
	for i := 1; i < n; i++ {
		p := rapid.IntRange(0, i-1).Draw(t, fmt.Sprintf("parent%d", i))
		ph := tr.blocks[p].Header
		h := chainstate.Header{Version: 1, PrevHash: tr.blocks[p].Hash(), Height: ph.Height + 1, Time: ph.Time + 1,
			Bits: uint32(rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("bits%d", i))), Nonce: uint32(i)}
		tr.blocks = append(tr.blocks, &chainstate.Block{Header: h})
		tr.parents = append(tr.parents, p)
		bad := rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("bad%d", i)) // 0: apply fails, 1: check fails
		tr.badApply = append(tr.badApply, bad == 0)
		tr.badCheck = append(tr.badCheck, bad == 1)
	}
	return tr
}

// eligible reports, for each block, whether it can be on the main chain once the blocks in
// delivered arrived: it and all its ancestors arrived and none is bad.
func (tr *propTree) eligible(delivered []bool) []bool {
	ok := make([]bool, len(tr.blocks))
	ok[0] = true
	for i := 1; i < len(tr.blocks); i++ { // parents come first
		ok[i] = delivered[i] && !tr.badApply[i] && !tr.badCheck[i] && ok[tr.parents[i]]
	}
	return ok
}

// propWorld drives a machine over a tree with the scripts' fake store.
type propWorld struct {
	tr    *propTree
	rules *testRules
	store *fakeStore
	m     *Machine
	work  map[chainstate.Hash]*big.Int
}

func newPropWorld(t *rapid.T, tr *propTree) *propWorld {
	g := tr.blocks[0]
	w := &propWorld{tr: tr, rules: &testRules{genesis: g.Hash(), badCheck: map[chainstate.Hash]bool{}}, work: map[chainstate.Hash]*big.Int{}}
	w.store = newFakeStore(g, workOf(&g.Header))
	w.work[g.Hash()] = workOf(&g.Header)
	for i := 1; i < len(tr.blocks); i++ {
		b := tr.blocks[i]
		w.work[b.Hash()] = new(big.Int).Add(w.work[tr.blocks[tr.parents[i]].Hash()], workOf(&b.Header))
		w.rules.badCheck[b.Hash()] = tr.badCheck[i]
		w.store.badApply[b.Hash()] = tr.badApply[i]
	}
	w.restart(t)
	return w
}

func (w *propWorld) restart(t *rapid.T) {
	m, err := New(Config{Rules: w.rules, Tip: w.store.tipEntry(), Load: w.store.lookup, MaxOrphans: len(w.tr.blocks)})
	if err != nil {
		t.Fatal(err)
	}
	w.m = m
}

// deliver runs block i through the machine; mode draws each write's outcome.
func (w *propWorld) deliver(t *rapid.T, i int, mode func() string) {
	d := w.m.Step(w.tr.blocks[i], Source{}, genesisTime+1_000_000)
	for steps := 0; d.Kind != None; steps++ {
		if steps > 10*len(w.tr.blocks) {
			t.Fatalf("block %d: no end after %d decisions", i, steps)
		}
		var r Result
		if d.Kind.IsWrite() {
			r = w.store.execute(d, mode())
		}
		d = w.m.Advance(r)
	}
}

// check asserts that the tip has the most work among the eligible blocks, agrees with the
// store, and that the main chain is exactly the tip's ancestry.
func (w *propWorld) check(t *rapid.T, eligible []bool) {
	tipHash, _, tipWork := w.m.Tip()
	if w.store.tip != tipHash {
		t.Fatalf("machine tip %s, store tip %s", tipHash, w.store.tip)
	}
	best := new(big.Int)
	for i, ok := range eligible {
		if ok && w.work[w.tr.blocks[i].Hash()].Cmp(best) > 0 {
			best = w.work[w.tr.blocks[i].Hash()]
		}
	}
	if tipWork.Cmp(best) != 0 {
		t.Fatalf("tip work %s, the most work among valid known blocks is %s", tipWork, best)
	}
	onMain := map[chainstate.Hash]bool{}
	for h := tipHash; ; {
		onMain[h] = true
		e := w.store.entries[h]
		if e.Header.Height == 0 {
			break
		}
		h = e.Header.PrevHash
	}
	for i, b := range w.tr.blocks {
		h := b.Hash()
		if main := w.m.Status(h) == chainstate.StatusMain; main != onMain[h] {
			t.Fatalf("block %d: main in the machine %v, on the tip's ancestry %v", i, main, onMain[h])
		}
		if w.tr.badApply[i] && w.store.entries[h].Status == chainstate.StatusMain {
			t.Fatalf("block %d does not apply but is on the main chain", i)
		}
	}
}

// TestTipHasMostWork: whatever the arrival order (with repeats), after every block the tip has
// the most work among the valid blocks that arrived with all their ancestors, and agrees with the
// store; writes found done by an earlier attempt change nothing.
func TestTipHasMostWork(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tr := drawTree(t)
		w := newPropWorld(t, tr)
		idx := make([]int, len(tr.blocks)-1)
		for i := range idx {
			idx[i] = i + 1
		}
		order := rapid.Permutation(idx).Draw(t, "order")
		order = append(order, order[:rapid.IntRange(0, len(order)).Draw(t, "repeats")]...)
		delivered := make([]bool, len(tr.blocks))
		mode := func() string { return rapid.SampledFrom([]string{"done", "already"}).Draw(t, "mode") }
		for _, i := range order {
			w.deliver(t, i, mode)
			delivered[i] = true
			w.check(t, tr.eligible(delivered))
		}
	})
}

// TestConvergesAfterLostWritesAndRestarts: writes that fail with the node's error and restarts
// (which lose the orphan pool) in between do not stop the machine from converging: once every
// block is sent again, parents first, the tip has the most work among the valid blocks.
func TestConvergesAfterLostWritesAndRestarts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tr := drawTree(t)
		w := newPropWorld(t, tr)
		idx := make([]int, len(tr.blocks)-1)
		for i := range idx {
			idx[i] = i + 1
		}
		mode := func() string { return rapid.SampledFrom([]string{"done", "already", "lost"}).Draw(t, "mode") }
		for _, i := range rapid.Permutation(idx).Draw(t, "order") {
			if rapid.IntRange(0, 4).Draw(t, "restart") == 0 {
				w.restart(t)
			}
			w.deliver(t, i, mode)
		}
		all := make([]bool, len(tr.blocks))
		for _, i := range idx {
			all[i] = true
			w.deliver(t, i, func() string { return "done" })
		}
		w.check(t, tr.eligible(all))
	})
}
