package resilience_test

import (
	"context"
	"errors"
	"github.com/actorchain/actorchain/internal/testutil"
	"testing"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/errcode"
)

// mempoolSet is nd's pending hashes.
func (nd *node) mempoolSet() map[chainstate.Hash]bool {
	nd.t.Helper()
	hs, err := nd.n.Mempool(context.Background())
	if err != nil {
		nd.t.Fatalf("mempool: %v", err)
	}
	out := map[chainstate.Hash]bool{}
	for _, h := range hs {
		out[h] = true
	}
	return out
}

// onlyPending reports whether nd has exactly tx pending.
func (nd *node) onlyPending(tx *chainstate.Tx) bool {
	m := nd.mempoolSet()
	return len(m) == 1 && m[tx.Hash()]
}

// TestReplaceByFeeGossip: a replacement submitted to one node is gossiped, and its peer
// replaces the pending transfer by the same rule and reports it replaced. A third node that
// still holds the replaced transfer, joining later, takes the replacement, and the replaced one
// does not come back on either of the others.
func TestReplaceByFeeGossip(t *testing.T) {
	off := func(c *config.Config) { c.Mining.Enabled = false }
	ha := netHome(t, off)
	a := ha.start(t, actors.Options{})
	hb := joinHome(t, ha, off)
	seedWith(t, hb, a)
	b := hb.start(t, actors.Options{})
	waitConnected(t, b, a)
	hc := joinHome(t, ha, off)
	c := hc.start(t, actors.Options{}) // no seeds: isolated for now

	to := addrOf(ha.miner)
	old := transfer(a.n.Params(), ha.wallet, to, 5, 20, 0)
	repl := transfer(a.n.Params(), ha.wallet, to, 5, 22, 0)
	ctx := context.Background()
	if _, err := a.n.SubmitTx(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.n.SubmitTx(ctx, old); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, netTimeout, "b to have the first transfer", func() bool { return b.onlyPending(old) })

	if _, err := a.n.SubmitTx(ctx, repl); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, netTimeout, "b to take the replacement in place of the first transfer", func() bool { return b.onlyPending(repl) })
	// GET /v1/txs reads the store: the old transfer is pending there until the replacement's commit.
	testutil.WaitFor(t, netTimeout, "b to report the first transfer replaced", func() bool {
		info, err := b.n.Tx(ctx, old.Hash())
		return err == nil && info.Replaced && info.ReplacedBy == repl.Hash()
	})
	_, err := b.n.SubmitTx(ctx, old)
	var rej *errcode.Error
	if !errors.As(err, &rej) || rej.Code != "fee_too_low" {
		t.Fatalf("the replaced transfer submitted to b again: %v; want fee_too_low", err)
	}

	if err := c.n.AddPeer(ctx, peerAddr(b)); err != nil {
		t.Fatal(err)
	}
	waitConnected(t, c, b)
	testutil.WaitFor(t, netTimeout, "c to take the replacement from b", func() bool { return c.onlyPending(repl) })
	for _, nd := range []*node{a, b} {
		if !nd.onlyPending(repl) {
			t.Fatalf("%s pending %v after c joined; want only the replacement", short(nd), nd.mempoolSet())
		}
	}
}
