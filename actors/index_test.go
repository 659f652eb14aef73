package actors

import (
	"fmt"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// fakeTree is a block tree of headers only: hash i has parent parents[i] (block 0 is genesis).
type fakeTree struct {
	parents []int
	heights []uint64
}

func hashOf(i int) chainstate.Hash {
	var h chainstate.Hash
	h[0], h[1], h[31] = byte(i>>8), byte(i), 0xaa
	return h
}

func (f *fakeTree) entry(i int) *indexEntry {
	e := &indexEntry{hash: hashOf(i), work: big.NewInt(int64(f.heights[i] + 1))}
	e.header.Height = f.heights[i]
	if i > 0 {
		e.header.PrevHash = hashOf(f.parents[i])
	}
	return e
}

// apply feeds the blocks in order (skipping blocks whose parent is unknown yet, retried later as
// an orphan pool would) and keeps the best tip as consensus does.
func (f *fakeTree) apply(order []int) *blockIndex {
	x := newBlockIndex()
	g := x.add(f.entry(0))
	x.setTip(g, nil, nil)
	pending := append([]int(nil), order...)
	for progress := true; progress; {
		progress = false
		rest := pending[:0]
		for _, i := range pending {
			if i == 0 || x.get(hashOf(f.parents[i])) == nil {
				if i != 0 {
					rest = append(rest, i)
				}
				continue
			}
			e := x.add(f.entry(i))
			if x.better(e) {
				dis, con, ok := x.path(e)
				if !ok {
					panic("path failed")
				}
				x.setTip(e, dis, con)
			}
			progress = true
		}
		pending = rest
	}
	return x
}

func TestPathAcrossFork(t *testing.T) {
	// 0 - 1 - 2 - 3
	//      \- 4 - 5 - 6
	f := &fakeTree{parents: []int{0, 0, 1, 2, 1, 4, 5}, heights: []uint64{0, 1, 2, 3, 2, 3, 4}}
	x := f.apply([]int{1, 2, 3})
	if x.tip.hash != hashOf(3) {
		t.Fatalf("tip %v, want block 3", x.tip.hash)
	}
	for _, i := range []int{4, 5} {
		x.add(f.entry(i))
	}
	e := x.add(f.entry(6))
	dis, con, ok := x.path(e)
	if !ok {
		t.Fatal("no path")
	}
	got := fmt.Sprint(hashesOf(dis), hashesOf(con))
	want := fmt.Sprint([]chainstate.Hash{hashOf(3), hashOf(2)}, []chainstate.Hash{hashOf(4), hashOf(5), hashOf(6)})
	if got != want {
		t.Fatalf("path = %s, want %s", got, want)
	}
	x.setTip(e, dis, con)
	for i, want := range map[int]entryStatus{1: entryMain, 2: entrySide, 3: entrySide, 4: entryMain, 6: entryMain} {
		if s := x.get(hashOf(i)).status; s != want {
			t.Errorf("block %d status %d, want %d", i, s, want)
		}
	}
}

func TestEqualWorkKeepsFirstSeen(t *testing.T) {
	f := &fakeTree{parents: []int{0, 0, 0}, heights: []uint64{0, 1, 1}}
	if x := f.apply([]int{1, 2}); x.tip.hash != hashOf(1) {
		t.Fatal("a later block of equal work replaced the tip")
	}
	if x := f.apply([]int{2, 1}); x.tip.hash != hashOf(2) {
		t.Fatal("a later block of equal work replaced the tip")
	}
}

func TestInvalidateMarksDescendants(t *testing.T) {
	f := &fakeTree{parents: []int{0, 0, 1, 2, 0}, heights: []uint64{0, 1, 2, 3, 1}}
	x := f.apply([]int{1, 2, 3, 4})
	x.invalidate(x.get(hashOf(2)))
	for i, want := range map[int]entryStatus{1: entryMain, 2: entryInvalid, 3: entryInvalid, 4: entrySide} {
		if s := x.get(hashOf(i)).status; s != want {
			t.Errorf("block %d status %d, want %d", i, s, want)
		}
	}
}

func hashesOf(es []*indexEntry) []chainstate.Hash {
	out := make([]chainstate.Hash, len(es))
	for i, e := range es {
		out[i] = e.hash
	}
	return out
}

// Fork choice does not depend on arrival order: whenever one block has strictly the most work,
// every delivery order ends with it as the tip, and the main chain is exactly its ancestry.
func TestForkChoiceIndependentOfOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(2, 40).Draw(t, "blocks")
		f := &fakeTree{parents: []int{0}, heights: []uint64{0}}
		for i := 1; i < n; i++ {
			p := rapid.IntRange(0, i-1).Draw(t, fmt.Sprintf("parent%d", i))
			f.parents = append(f.parents, p)
			f.heights = append(f.heights, f.heights[p]+1)
		}
		best, unique := 0, true
		for i := 1; i < n; i++ {
			switch {
			case f.heights[i] > f.heights[best]:
				best, unique = i, true
			case f.heights[i] == f.heights[best]:
				unique = false
			}
		}
		order := rapid.Permutation(seq(1, n)).Draw(t, "order")
		x := f.apply(order)
		if !unique {
			if x.tip.header.Height != f.heights[best] {
				t.Fatalf("tip height %d, want the most work %d", x.tip.header.Height, f.heights[best])
			}
			return
		}
		if x.tip.hash != hashOf(best) {
			t.Fatalf("tip %x, want block %d", x.tip.hash[:2], best)
		}
		onMain := map[int]bool{}
		for i := best; ; i = f.parents[i] {
			onMain[i] = true
			if i == 0 {
				break
			}
		}
		for i := 0; i < n; i++ {
			if got := x.get(hashOf(i)).status == entryMain; got != onMain[i] {
				t.Fatalf("block %d main=%v, want %v", i, got, onMain[i])
			}
		}
	})
}

func seq(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
