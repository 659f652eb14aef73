package actors

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/internal/testchain"
)

// TestBlockPipeOrder: whatever order the checks finish in, blocks come out exactly once each in
// the order they were added, every block is started exactly once, never more than window run at
// once, and a finished check frees its slot for the oldest waiting block.
func TestBlockPipeOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		window := rapid.IntRange(1, 4).Draw(t, "window")
		p := newBlockPipe(window)
		var added, out []uint64
		var running []*pipedBlock
		starts := map[uint64]int{}
		start := func(s []*pipedBlock) {
			for _, e := range s {
				starts[e.seq]++
				running = append(running, e)
			}
			if len(running) > window {
				t.Fatalf("%d checks running, window %d", len(running), window)
			}
		}
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := range steps {
			if len(running) == 0 || rapid.Bool().Draw(t, fmt.Sprint("add ", i)) {
				e := &pipedBlock{}
				start(p.add(e))
				added = append(added, e.seq)
				continue
			}
			k := rapid.IntRange(0, len(running)-1).Draw(t, fmt.Sprint("finish ", i))
			e := running[k]
			running = slices.Delete(running, k, k+1)
			ready, s := p.finished(e.seq, nil, nil)
			for _, r := range ready {
				if !r.done {
					t.Fatalf("block %d handed on before its check finished", r.seq)
				}
				out = append(out, r.seq)
			}
			start(s)
		}
		for len(running) > 0 { // drain
			e := running[0]
			running = running[1:]
			ready, s := p.finished(e.seq, nil, nil)
			for _, r := range ready {
				out = append(out, r.seq)
			}
			start(s)
		}
		if !slices.Equal(out, added) {
			t.Fatalf("handed on %v, added %v", out, added)
		}
		for _, seq := range added {
			if starts[seq] != 1 {
				t.Fatalf("block %d started %d times", seq, starts[seq])
			}
		}
		if p.len() != 0 {
			t.Fatalf("%d blocks left in the pipe", p.len())
		}
	})
}

func TestBlockPipeVerdicts(t *testing.T) {
	p := newBlockPipe(2)
	a, b, c := &pipedBlock{}, &pipedBlock{}, &pipedBlock{}
	if s := p.add(a); len(s) != 1 || s[0] != a {
		t.Fatalf("first add started %v", s)
	}
	if s := p.add(b); len(s) != 1 || s[0] != b {
		t.Fatalf("second add started %v", s)
	}
	if s := p.add(c); len(s) != 0 {
		t.Fatalf("third add started %d with the window full", len(s))
	}
	bad := errors.New("bad signature")
	// b finishes first: nothing is ready (a is still running), c takes b's slot.
	ready, s := p.finished(b.seq, nil, bad)
	if len(ready) != 0 || len(s) != 1 || s[0] != c {
		t.Fatalf("after b: ready %d, started %v", len(ready), s)
	}
	// An unknown or repeated sequence number changes nothing.
	if ready, s := p.finished(b.seq, nil, nil); len(ready) != 0 || len(s) != 0 || b.err != bad {
		t.Fatalf("a repeated finish changed the pipe: ready %d, started %d, b.err %v", len(ready), len(s), b.err)
	}
	if ready, s := p.finished(99, nil, nil); len(ready) != 0 || len(s) != 0 {
		t.Fatalf("an unknown finish changed the pipe: ready %d, started %d", len(ready), len(s))
	}
	ready, _ = p.finished(a.seq, nil, nil)
	if len(ready) != 2 || ready[0] != a || ready[1] != b || ready[0].err != nil || ready[1].err != bad {
		t.Fatalf("after a: ready %v", ready)
	}
	if p.len() != 1 {
		t.Fatalf("pipe holds %d, want c only", p.len())
	}
}

// TestPipeSigsLeavesASyncOut: a piped check of a sync's block finds the signature cache's
// entries but adds none of its own; a new block's check adds its transactions.
func TestPipeSigsLeavesASyncOut(t *testing.T) {
	cfg, wallet := quietHome(t)
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := signTransfer(p, wallet, chainstate.Address{9}, 0)
	blk := testchain.New(p).Mine(t, wallet, []*chainstate.Tx{tx})
	for _, synced := range []bool{true, false} {
		cache := chainstate.NewSigCache(10)
		if _, err := checkRaw(p, pipeSigs(cache, synced), blk.Encode(), blk.Hash()); err != nil {
			t.Fatal(err)
		}
		if got := cache.Contains(tx.Hash()); got == synced {
			t.Errorf("synced %v: the cache holds the block's transfer: %v", synced, got)
		}
	}
	// A sync's check still finds what the cache holds: an entry for the transfer lets even a
	// broken signature through, as for any cached transfer.
	cache := chainstate.NewSigCache(10)
	bad := *tx
	bad.Sig[0] ^= 1
	cache.Add(bad.Hash())
	badBlk := testchain.New(p).Mine(t, wallet, []*chainstate.Tx{&bad})
	if _, err := checkRaw(p, pipeSigs(cache, true), badBlk.Encode(), badBlk.Hash()); err != nil {
		t.Fatalf("the sync's check did not consult the cache: %v", err)
	}
	if _, err := checkRaw(p, pipeSigs(chainstate.NewSigCache(10), true), badBlk.Encode(), badBlk.Hash()); err == nil {
		t.Fatal("a broken signature passed without a cache entry")
	}
}
