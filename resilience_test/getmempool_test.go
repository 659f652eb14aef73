package resilience_test

import (
	"context"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestGetMempoolAlwaysAnswered: a client that speaks the protocol by hand (a raw Noise
// connection) and sends GetMempool to a node whose mempool is empty gets one empty Inv, within a
// bound, so that a client waiting for the answer does not hang (docs/protocol.md). The control:
// with one transfer pending, the answer lists it.
func TestGetMempoolAlwaysAnswered(t *testing.T) {
	h := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	nd := h.start(t, actors.Options{})

	id, err := noisep2p.ParseID(nd.n.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := noisep2p.Dial(ctx, nd.n.P2PAddr(), &noisep2p.Config{Key: rawKey(t, 71), Genesis: nd.n.Params().GenesisHash()}, &id)
	if err != nil {
		t.Fatal(err)
	}
	invs := make(chan noisep2p.Inv, 64)
	closed := make(chan struct{})
	c.Start(func(typ uint8, payload []byte) {
		if typ != noisep2p.MsgInv {
			return
		}
		inv, err := noisep2p.DecodeInv(payload)
		if err != nil {
			t.Errorf("the node sent a malformed Inv: %v", err)
			return
		}
		select {
		case invs <- inv:
		default:
			t.Error("more Invs than the test reads")
		}
	}, func(error) { close(closed) })
	t.Cleanup(func() {
		_ = c.Close()
		<-closed
	})

	// answer sends GetMempool and returns the next Inv, failing after bound.
	const bound = 5 * time.Second
	answer := func() noisep2p.Inv {
		t.Helper()
		if err := c.SendMsg(noisep2p.GetMempool{}); err != nil {
			t.Fatal(err)
		}
		select {
		case inv := <-invs:
			return inv
		case <-time.After(bound):
			t.Fatalf("no Inv within %s of GetMempool", bound)
		case <-closed:
			t.Fatal("the node closed the connection")
		}
		return noisep2p.Inv{}
	}

	for i := range 3 { // every GetMempool, not only the first, is answered
		if inv := answer(); len(inv.Items) != 0 {
			t.Fatalf("GetMempool %d to an empty mempool answered %v, want an empty Inv", i+1, inv.Items)
		}
	}

	tx := transfer(nd.n.Params(), h.wallet, addrOf(newKey(t, 72)), 5, 1, 0)
	if _, err := nd.api.SubmitTx(ctx, api.TxFromChain(tx)); err != nil {
		t.Fatal(err)
	}
	has := func(inv noisep2p.Inv) bool {
		for _, it := range inv.Items {
			if it.Hash == tx.Hash() {
				return true
			}
		}
		return false
	}
	// The node announces the new transaction to us; take that announcement first, so that the
	// next Inv is the answer.
	select {
	case inv := <-invs:
		if !has(inv) {
			t.Fatalf("the node sent %v, want the announcement of %s", inv.Items, tx.Hash())
		}
	case <-time.After(bound):
		t.Fatalf("the transaction was not announced within %s", bound)
	}
	if inv := answer(); len(inv.Items) != 1 || !has(inv) {
		t.Fatalf("GetMempool with one pending transaction answered %v, want [%s]", inv.Items, tx.Hash())
	}
}
