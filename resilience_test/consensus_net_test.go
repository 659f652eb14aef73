package resilience_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
)

// TestReorgBelowRestartTip: after a restart, a branch that forks below the tip the node restarted
// at and has more work becomes the main chain (fork choice by cumulative work, CONTRACT §8). The
// block index is loaded lazily after a restart, so the reorg must reach blocks it has not looked
// at yet.
func TestReorgBelowRestartTip(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	nd := h.start(t, actors.Options{})
	p := nd.n.Params()
	mine := testchain.New(p)
	for range 3 {
		submit(t, nd, mine.Mine(t, newKey(t, 51), nil), "connected")
	}
	nd.stop()

	nd = h.start(t, actors.Options{})
	alt := mine.Fork(t, 1)
	var last *chainstate.Block
	for range 4 {
		last = alt.Mine(t, newKey(t, 52), nil)
		if _, err := nd.n.SubmitBlock(context.Background(), last); err != nil {
			t.Fatalf("branch block %d after the restart: %v", last.Header.Height, err)
		}
	}
	if st := nd.status(); st.TipHash != last.Hash().String() || st.Height != 5 {
		t.Fatalf("tip %s at %d after a heavier branch from height 1; want %s at 5", st.TipHash, st.Height, last.Hash())
	}
}

// TestDeliveryOrderDoesNotChangeTip is a property over two nodes (mining off, no networking):
// whatever order (with repeats) each node receives the same blocks in, a main branch and a fork
// of a different length from some point of it, built offline, every node ends on the tip of the
// longer branch with the same ledger. The two branches spend the same account (a double spend),
// so the ledger tells which branch won. Nodes persist across cases: each case builds on the tip
// the previous one agreed on, so every case starts from a common state.
func TestDeliveryOrderDoesNotChangeTip(t *testing.T) {
	const nodes = 2
	first := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	homes := []*home{first}
	for range nodes - 1 {
		h := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
		h.cfg.Chain = first.cfg.Chain.Clone()
		rewrite(t, h)
		homes = append(homes, h)
	}
	var nds []*node
	for _, h := range homes {
		nds = append(nds, h.start(t, actors.Options{}))
	}
	ctx := context.Background()
	p := nds[0].n.Params()
	base := testchain.New(p)
	wallet := addrOf(first.wallet)
	r1, r2 := addrOf(newKey(t, 53)), addrOf(newKey(t, 54))
	sealerMain, sealerFork := newKey(t, 55), newKey(t, 56)

	rapid.Check(t, func(rt *rapid.T) {
		mainLen := rapid.IntRange(1, 4).Draw(rt, "main_len")
		forkAt := rapid.IntRange(0, mainLen-1).Draw(rt, "fork_after")
		forkLen := rapid.IntRange(1, 4).Filter(func(n int) bool { return forkAt+n != mainLen }).Draw(rt, "fork_len")

		start := len(base.Blocks)
		mb := base.Clone()
		for i := range mainLen {
			var txs []*chainstate.Tx
			if i == forkAt { // the main branch's spend, right after the fork point
				txs = []*chainstate.Tx{transfer(p, first.wallet, r1, 10, 1, mb.Account(wallet).Nonce)}
			}
			mb.Mine(t, sealerMain, txs)
		}
		fb := base.Clone()
		for _, b := range mb.Blocks[start : start+forkAt] {
			fb.Add(t, b)
		}
		for i := range forkLen {
			var txs []*chainstate.Tx
			if i == 0 { // the fork's spend of the same nonce
				txs = []*chainstate.Tx{transfer(p, first.wallet, r2, 20, 1, fb.Account(wallet).Nonce)}
			}
			fb.Mine(t, sealerFork, txs)
		}
		blocks := append(slices.Clone(mb.Blocks[start:]), fb.Blocks[start+forkAt:]...)
		idx := make([]int, len(blocks))
		for i := range idx {
			idx[i] = i
		}
		winner := mb
		if forkAt+forkLen > mainLen {
			winner = fb
		}

		for i, nd := range nds {
			// Indices into blocks (main branch first), so a failure report reads well.
			order := rapid.Permutation(idx).Draw(rt, fmt.Sprintf("order_%d", i))
			again := rapid.IntRange(0, 2).Draw(rt, fmt.Sprintf("repeats_%d", i))
			for _, k := range append(order, order[:again]...) {
				b := blocks[k]
				if _, err := nd.n.SubmitBlock(ctx, b); err != nil {
					rt.Fatalf("node %d: block %d %s: %v", i, b.Header.Height, b.Hash(), err)
				}
			}
		}
		winnerTip := winner.Tip()
		want := winnerTip.Hash().String()
		for i, nd := range nds {
			st := nd.status()
			if st.TipHash != want {
				rt.Fatalf("node %d ends at %s@%d, want the longer branch's %s@%d", i, st.TipHash, st.Height, want, winnerTip.Height)
			}
			for _, a := range []chainstate.Address{wallet, r1, r2} {
				acc, err := nd.n.Account(ctx, a)
				if err != nil {
					rt.Fatal(err)
				}
				if w := winner.Account(a); acc.Balance != w.Balance || acc.Nonce != w.Nonce {
					rt.Fatalf("node %d: account %s %d/%d, the winning branch says %d/%d", i, a, acc.Balance, acc.Nonce, w.Balance, w.Nonce)
				}
			}
		}
		base = winner
	})
}

// TestBlockConnectedAndReorgRecords: CONTRACT §11's records at info: one `block connected` per
// main-chain block (height, hash, txs, source), the blocks a reorg connects included, and one
// `reorg` (from, to, depth) per reorg; a mined block's source is "mined", any other "peer".
func TestBlockConnectedAndReorgRecords(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	nd := h.start(t, actors.Options{})
	p := nd.n.Params()
	a := testchain.New(p)
	b := a.Clone()
	sealer := newKey(t, 62)
	tx := transfer(p, h.wallet, addrOf(newKey(t, 61)), 5, 1, a.Account(addrOf(h.wallet)).Nonce)
	a1, a2 := a.Mine(t, sealer, []*chainstate.Tx{tx}), a.Mine(t, sealer, nil)
	b1, b2, b3 := b.Mine(t, sealer, nil), b.Mine(t, sealer, nil), b.Mine(t, sealer, nil)
	for _, s := range []struct {
		b    *chainstate.Block
		want string
	}{{a1, "connected"}, {a2, "connected"}, {b1, "side"}, {b2, "side"}, {b3, "reorg"}} {
		submit(t, nd, s.b, s.want)
	}
	type rec struct {
		level, hash, source string
		height, txs         float64
	}
	var got []rec
	for _, r := range nd.log.Records("block connected") {
		hash, _ := r["hash"].(string)
		src, _ := r["source"].(string)
		lvl, _ := r["level"].(string)
		height, _ := r["height"].(float64)
		txs, _ := r["txs"].(float64)
		got = append(got, rec{lvl, hash, src, height, txs})
	}
	var want []rec
	for i, blk := range []*chainstate.Block{a1, a2, b1, b2, b3} {
		want = append(want, rec{"INFO", blk.Hash().String(), "peer", float64(blk.Header.Height), float64(len(blk.Txs))})
		if i == 0 && len(blk.Txs) != 1 {
			t.Fatalf("a1 has %d transactions, want 1", len(blk.Txs))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("block connected records:\n got %+v\nwant %+v", got, want)
	}
	reorgs := nd.log.Records("reorg")
	if len(reorgs) != 1 {
		t.Fatalf("%d reorg records, want 1: %v", len(reorgs), reorgs)
	}
	r := reorgs[0]
	if r["level"] != "INFO" || r["from"] != a2.Hash().String() || r["to"] != b3.Hash().String() || r["depth"] != float64(2) {
		t.Fatalf("reorg record %v, want INFO from %s to %s depth 2", r, a2.Hash(), b3.Hash())
	}
	nd.stop()

	// Mined blocks.
	m := newHome(t, nil).start(t, actors.Options{})
	m.waitHeight(2, 30*time.Second)
	m.stop()
	recs := m.log.Records("block connected")
	if len(recs) < 2 {
		t.Fatalf("%d block connected records from a mining node, want at least 2", len(recs))
	}
	for _, r := range recs {
		if r["source"] != "mined" || r["level"] != "INFO" {
			t.Fatalf("record of a mined block: %v, want source mined at INFO", r)
		}
	}
}
