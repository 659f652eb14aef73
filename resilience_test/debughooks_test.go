package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
)

// Tests of the debug fault hooks (/v1/debug/storage, /v1/debug/clock, /v1/debug/links) against
// whole nodes.

// isStatus reports whether err is an API answer with that status (and code, when given).
func isStatus(err error, status int, code errcode.Code) bool {
	var ae *api.APIError
	return errors.As(err, &ae) && ae.Status == status && (code == "" || ae.Code == code)
}

// TestDebugHooksOffOnNode: with debug.fault_injection off every hook is 404 and changes nothing.
func TestDebugHooksOffOnNode(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	nd := h.start(t, actors.Options{})
	ctx := context.Background()
	if _, err := nd.api.DebugStorageFault(ctx, true); !isStatus(err, 404, errcode.NotFound) {
		t.Errorf("storage: %v", err)
	}
	if _, err := nd.api.DebugClockSkew(ctx, 10); !isStatus(err, 404, errcode.NotFound) {
		t.Errorf("clock: %v", err)
	}
	if _, err := nd.api.DebugSetLink(ctx, api.LinkFilter{Peer: strings.Repeat("ab", 32), Cut: true}); !isStatus(err, 404, errcode.NotFound) {
		t.Errorf("set link: %v", err)
	}
	if _, err := nd.api.DebugLinks(ctx); !isStatus(err, 404, errcode.NotFound) {
		t.Errorf("links: %v", err)
	}
	if err := nd.api.DebugClearLinks(ctx); !isStatus(err, 404, errcode.NotFound) {
		t.Errorf("clear links: %v", err)
	}
	// Nothing changed: a transfer is still acknowledged.
	if _, err := nd.api.SubmitTx(ctx, api.TxFromChain(transfer(nd.n.Params(), h.wallet, addrOf(newKey(t, 3)), 1, 1, 0))); err != nil {
		t.Fatalf("transfer after the refused hooks: %v", err)
	}
}

// TestStorageFaultHook: while storage commits fail, a transfer is never acknowledged (503), a
// block (fed in, or mined) does not commit, the tip stays; after the fault clears the same
// block connects (it was not marked invalid), the same transfer is acknowledged, mining resumes
// and mines it, and the store verifies.
func TestStorageFaultHook(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
		c.Debug.FaultInjection = true
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	ctx := context.Background()
	p := nd.n.Params()
	build := testchain.New(p)
	sealer := newKey(t, 41)
	b1, b2 := build.Mine(t, sealer, nil), build.Mine(t, sealer, nil)
	submit(t, nd, b1, "connected")
	submit(t, nd, b2, "connected")
	b3 := build.Mine(t, sealer, nil)

	if on, err := nd.api.DebugStorageFault(ctx, true); err != nil || !on {
		t.Fatalf("set the storage fault: %v %v", on, err)
	}
	if recs := nd.recordsWith("fault injected", "fault", "storage"); len(recs) != 1 || recs[0]["fail_commits"] != true || recs[0]["level"] != "INFO" {
		t.Fatalf("`fault injected` records: %v", recs)
	}
	tx := api.TxFromChain(transfer(p, h.wallet, addrOf(newKey(t, 3)), 5, 1, 0))
	for i := 0; i < 3; i++ {
		if _, err := nd.api.SubmitTx(ctx, tx); !isStatus(err, http.StatusServiceUnavailable, "") {
			t.Fatalf("transfer %d under a storage fault: %v, want 503", i, err)
		}
	}
	if _, err := nd.n.Tx(ctx, transfer(p, h.wallet, addrOf(newKey(t, 3)), 5, 1, 0).Hash()); !errors.Is(err, actors.ErrNotFound) {
		t.Fatalf("the refused transfer is known to the node: %v", err)
	}
	if _, err := nd.n.SubmitBlock(ctx, b3); !errors.Is(err, actors.ErrUnavailable) || !strings.Contains(err.Error(), "injected storage fault") {
		t.Fatalf("block 3 under a storage fault: %v, want unavailable (injected storage fault)", err)
	}
	if st := nd.status(); st.TipHash != b2.Hash().String() {
		t.Fatalf("tip %s@%d, want block 2", st.TipHash, st.Height)
	}
	// The miner is paused instead of mining blocks that cannot be stored (CONTRACT §9): switched
	// on, it reports itself paused and hashes nothing.
	setMining(t, nd, true)
	if hl := nd.health(); hl.Healthy || !strings.Contains(component(hl, "miner").Error, "paused") {
		t.Fatalf("health with mining on under a storage fault: %+v, want unhealthy with the miner paused", hl)
	}
	hashesStill(t, nd.n, 3*time.Second)
	setMining(t, nd, false)
	if st := nd.status(); st.TipHash != b2.Hash().String() {
		t.Fatalf("tip moved to %s@%d under a storage fault", st.TipHash, st.Height)
	}

	if on, err := nd.api.DebugStorageFault(ctx, false); err != nil || on {
		t.Fatalf("clear the storage fault: %v %v", on, err)
	}
	submit(t, nd, b3, "connected") // not marked invalid by the failed commit
	hash, err := nd.api.SubmitTx(ctx, tx)
	if err != nil {
		t.Fatalf("the same transfer after the fault cleared: %v", err)
	}
	setMining(t, nd, true)
	testutil.WaitFor(t, netTimeout, "the transfer confirmed", func() bool {
		st, err := nd.api.Tx(ctx, hash)
		return err == nil && st.Status == api.TxConfirmed
	})
	nd.stop()
	if _, err := chainstate.Verify(h.cfg.Storage.Path, p, time.Second); err != nil {
		t.Fatalf("verify after the storage fault: %v", err)
	}
}

// TestClockSkewHook: a skew within the drift bound moves the time of mined blocks; a skew at or
// beyond it is 400 out_of_range; clearing a forward skew does not stall mining (the tip's time is
// then ahead of the clock: pacing waits one interval, not the difference).
func TestClockSkewHook(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Debug.FaultInjection = true
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	ctx := context.Background()
	nd.waitHeight(1, netTimeout)

	const skew = 60
	if got, err := nd.api.DebugClockSkew(ctx, skew); err != nil || got != skew {
		t.Fatalf("set skew: %d %v", got, err)
	}
	set := time.Now()
	from := nd.status().Height
	var blk api.Block
	testutil.WaitFor(t, netTimeout, "a block mined with the skewed clock", func() bool {
		st := nd.status()
		if st.Height <= from+1 { // the block after the next: surely templated after the skew
			return false
		}
		b, err := nd.api.Block(ctx, fmt.Sprint(st.Height))
		blk = b
		return err == nil
	})
	if ahead := time.UnixMilli(int64(blk.Time)).Sub(set); ahead < (skew-5)*time.Second || ahead > (skew+30)*time.Second {
		t.Fatalf("block %d time is %v ahead of the real clock, want about %ds", blk.Height, ahead, skew)
	}
	for _, bad := range []int64{120, -120, 121, 1 << 40} {
		if _, err := nd.api.DebugClockSkew(ctx, bad); !isStatus(err, 400, errcode.OutOfRange) || !strings.Contains(err.Error(), "120000 ms") {
			t.Fatalf("skew %d: %v, want 400 out_of_range naming the bound", bad, err)
		}
	}
	if _, err := nd.api.DebugClockSkew(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// Mining goes on at once with the true clock, on a tip a minute ahead of it.
	from = nd.status().Height
	nd.waitGrows(from+3, 10*time.Second, "mining after the skew was cleared")
	if recs := nd.recordsWith("fault injected", "fault", "clock"); len(recs) != 2 {
		t.Fatalf("`fault injected` clock records: %d, want 2 (the refused ones are not faults)", len(recs))
	}
}

// TestLinkHooks: cutting the link between two nodes closes their connection, stops their gossip
// and refuses the redial while set; after clearing they reconnect and agree. Delay and loss do
// not break the protocol: with them set both mine, and after clearing they converge.
func TestLinkHooks(t *testing.T) {
	ah := netHome(t, func(c *config.Config) { c.Debug.FaultInjection = true })
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) {
		c.Debug.FaultInjection = true
		c.Mining.Enabled = false
	})
	seedWith(t, bh, a)
	b := bh.start(t, actors.Options{})
	a.dumpOnFailure()
	b.dumpOnFailure()
	ctx := context.Background()
	waitConnected(t, b, a)
	testutil.WaitFor(t, netTimeout, "B to follow A", func() bool { return b.status().Height >= 3 })

	off := a.log.Len()
	list, err := a.api.DebugSetLink(ctx, api.LinkFilter{Peer: b.n.NodeID(), Cut: true})
	if err != nil || len(list) != 1 || !list[0].Cut || list[0].Peer != b.n.NodeID() {
		t.Fatalf("cut: %+v %v", list, err)
	}
	testutil.WaitFor(t, netTimeout, "the cut connection closed on both sides", func() bool {
		return !a.connectedTo(b) && !b.connectedTo(a)
	})
	// B redials (it lost its only peer) and A refuses it while the cut lasts.
	testutil.WaitFor(t, netTimeout, "A refusing B's redial", func() bool {
		for _, r := range a.log.RecordsSince(off, "connection refused") {
			if r["peer_id"] == b.n.NodeID() && r["reason"] == "link cut (fault injection)" {
				return true
			}
		}
		return false
	})
	cutAt := b.status().Height
	waitAbove(t, a, cutAt+5, "A mining on while cut")
	// (B may see its redial complete for a moment before A's refusal reaches it; A never
	// admits it.)
	if a.connectedTo(b) {
		t.Fatal("A admitted B while the link is cut")
	}
	if got := b.status().Height; got != cutAt {
		t.Fatalf("B's height went from %d to %d while cut off from the only miner", cutAt, got)
	}

	if err := a.api.DebugClearLinks(ctx); err != nil {
		t.Fatal(err)
	}
	if l, err := a.api.DebugLinks(ctx); err != nil || len(l) != 0 {
		t.Fatalf("links after clear: %+v %v", l, err)
	}
	waitConnected(t, b, a)
	waitAbove(t, b, cutAt+5, "B catching up after the cut was cleared")

	// Delay and loss both ways, both mining; a transfer submitted at B.
	setMining(t, b, true)
	if _, err := a.api.DebugSetLink(ctx, api.LinkFilter{Peer: b.n.NodeID(), DelayMs: 40, Loss: 0.3}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.DebugSetLink(ctx, api.LinkFilter{Peer: a.n.NodeID(), DelayMs: 25, Loss: 0.3}); err != nil {
		t.Fatal(err)
	}
	hb := b.status().Height
	waitAbove(t, b, hb+5, "B mining under delay and loss")
	tx := transfer(a.n.Params(), ah.wallet, addrOf(newKey(t, 5)), 9, 1, 0)
	if _, err := b.n.SubmitTx(ctx, tx); err != nil {
		t.Fatal(err)
	}
	ha := a.status().Height
	waitAbove(t, a, ha+5, "A mining under delay and loss")
	for _, nd := range []*node{a, b} {
		if _, err := nd.api.DebugSetLink(ctx, api.LinkFilter{Peer: other(nd, a, b).n.NodeID()}); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, netTimeout, a, b)
	// The transfer is mined once mining resumes, and both agree on it. (Both mine: a transfer
	// whose announcement was lost is relayed again only on a new connection's GetMempool, so
	// only B may hold it.)
	setMining(t, a, true)
	setMining(t, b, true)
	for _, nd := range []*node{a, b} {
		testutil.WaitFor(t, netTimeout, "the transfer confirmed at "+short(nd), func() bool {
			info, err := nd.n.Tx(ctx, tx.Hash())
			return err == nil && info.Confirmed
		})
	}
	settle(t, netTimeout, a, b)
}

// settle brings mining nodes to one tip: the others stop mining, the leader mines until it is
// two blocks above every one of them (so its chain has the most work, and no tie between blocks
// of equal height found at the same moment stays unresolved), then stops; every node takes its
// tip within d. It returns that tip and its height.
func settle(t *testing.T, d time.Duration, leader *node, others ...*node) (string, uint64) {
	t.Helper()
	var top uint64
	for _, nd := range others {
		setMining(t, nd, false)
		top = max(top, nd.status().Height)
	}
	setMining(t, leader, true)
	testutil.WaitFor(t, d, fmt.Sprintf("%s two blocks above the others", short(leader)), func() bool { return leader.status().Height > top+1 })
	setMining(t, leader, false)
	return waitSameTipWithin(t, d, append([]*node{leader}, others...)...)
}

func other(nd, a, b *node) *node {
	if nd == a {
		return b
	}
	return a
}
