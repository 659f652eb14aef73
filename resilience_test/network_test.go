package resilience_test

import (
	"context"
	"crypto/ed25519"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestImportedPeersSurviveRestart: a node that learned its only peer from an imported bundle
// (offline: ExportStore of a stopped home, ImportStore into a home that never ran) connects to
// it, keeps it in its persisted address book across a restart (no seeds, no second import),
// reconnects, and both nodes mine past the old height and end on one chain.
func TestImportedPeersSurviveRestart(t *testing.T) {
	ctx := context.Background()
	ah := netHome(t, nil)
	a := ah.start(t, actors.Options{})
	a.waitHeight(3, netTimeout)

	// The bundle: exported offline from a stopped home that knew A.
	sh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, sh, a)
	scout := sh.start(t, actors.Options{})
	waitConnected(t, scout, a)
	scout.stop()
	bundle, err := actors.ExportStore(sh.cfg)
	if err != nil {
		t.Fatalf("export the stopped scout's store: %v", err)
	}
	requireBundleNames(t, bundle, a)

	bh := joinHome(t, ah, nil)
	if len(bh.cfg.P2P.Seeds) != 0 {
		t.Fatalf("B has seeds %v; it must know A only from the bundle", bh.cfg.P2P.Seeds)
	}
	added, err := actors.ImportStore(bh.cfg, bundle)
	if err != nil || added < 1 {
		t.Fatalf("import into B's stopped home: added %d, %v", added, err)
	}
	b := bh.start(t, actors.Options{})
	waitConnected(t, b, a)
	waitConnected(t, a, b)
	waitAbove(t, b, 3, "B syncs and mines")
	hA0, hB0 := a.status().Height, b.status().Height
	b.stop()

	// The address book is in B's store: A is there, at the address it listens on.
	stored, err := actors.ExportStore(bh.cfg)
	if err != nil {
		t.Fatal(err)
	}
	requireBundleNames(t, stored, a)

	// Restart without seeds and without importing anything: B dials A from its address book (A
	// cannot dial B: B listens on a new port now).
	b = bh.start(t, actors.Options{})
	waitConnected(t, b, a)
	if c, _ := b.connection(a.n.NodeID()); c.Direction != "outbound" {
		t.Fatalf("after the restart B's connection to A is %q, want outbound (dialled from its book)", c.Direction)
	}
	old := max(hA0, hB0)
	waitAbove(t, a, old, "A mines past the old height")
	waitAbove(t, b, old, "B mines past the old height after the restart")
	if got := b.recordsWith("peer connected", "peer_id", a.n.NodeID()); len(got) == 0 {
		t.Fatalf("B's log has no `peer connected` for A after the restart: %s", b.log.Tail())
	}

	// One chain: B stops mining, A mines on (so its branch has strictly more work than any block
	// of B's), then stops; both end on the same tip and so agree on the whole prefix.
	setMining(t, b, false)
	waitAbove(t, a, b.status().Height+1, "A mines ahead of B")
	setMining(t, a, false)
	t.Cleanup(func() { // what a failure needs: where each node is, and what B has of A's chain
		if !t.Failed() {
			return
		}
		sa, sb := a.status(), b.status()
		t.Logf("A: %s@%d; B: %s@%d syncing=%v; B's peers: %+v", sa.TipHash, sa.Height, sb.TipHash, sb.Height, sb.Syncing, b.peers().Connected)
		if x, err := b.n.BlockByHash(ctx, mustHash(t, sa.TipHash)); err == nil {
			t.Logf("B stores A's tip (on its main chain: %v): it has the better branch but did not switch to it", x.Main)
		}
	})
	tip, height := waitSameTip(t, a, b)
	if height <= old {
		t.Fatalf("common tip %s at %d, not past the old height %d", tip, height, old)
	}
	for _, h := range []uint64{1, hB0 / 2, hB0, old} {
		x, err1 := a.n.BlockAt(ctx, h)
		y, err2 := b.n.BlockAt(ctx, h)
		if err1 != nil || err2 != nil || x.Hash != y.Hash {
			t.Fatalf("main chains differ at %d: %v %v (%v, %v)", h, x.Hash, y.Hash, err1, err2)
		}
	}
}

// TestNodeBootstrapsFromExportedPeers: a new node with mining off and no seeds imports a peer
// bundle (online: ExportPeers → ImportPeers), dials the peer at once, syncs its chain of 20+
// blocks while it keeps growing (status reports syncing, then not), ends on the same tip, and the
// peer metrics count the connection on both sides.
func TestNodeBootstrapsFromExportedPeers(t *testing.T) {
	ah := netHome(t, nil)
	a := ah.start(t, actors.Options{})
	a.waitHeight(20, netTimeout)
	bundle := scoutBundle(t, ah, a)

	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	b := bh.start(t, actors.Options{})
	if st := b.status(); st.Height != 0 || st.Syncing || st.Peers != 0 {
		t.Fatalf("fresh B: %+v", st)
	}

	// Record every syncing flag B reports while it catches up.
	var sawSyncing atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if st, err := b.n.Status(context.Background()); err == nil && st.Syncing {
				sawSyncing.Store(true)
			}
			time.Sleep(time.Millisecond) // sampling rate of the recorder
		}
	})
	defer wg.Wait()
	defer close(stop)

	added, err := b.n.ImportPeers(context.Background(), bundle)
	if err != nil || added != 1 {
		t.Fatalf("import: added %d, %v", added, err)
	}
	waitConnected(t, b, a)
	b.waitHeight(20, netTimeout)
	setMining(t, a, false)
	tip, height := waitSameTip(t, a, b)
	testutil.WaitFor(t, netTimeout, "B to report syncing false", func() bool { return !b.status().Syncing })
	if !sawSyncing.Load() {
		t.Fatalf("B never reported syncing while it fetched %d blocks", height)
	}
	// The peer's height is what A showed (its hello, then the blocks it sent): it catches up
	// with the tip asynchronously.
	var conn api.PeerInfo
	testutil.WaitFor(t, netTimeout, "B's view of A's height to reach the tip", func() bool {
		var ok bool
		conn, ok = b.connection(a.n.NodeID())
		return ok && conn.Height >= height
	})
	if conn.Direction != "outbound" {
		t.Fatalf("B's connection to A: %+v; want outbound (B dialled A from the bundle)", conn)
	}
	b.waitMetric(`actorchain_peers{direction="outbound"}`, 1)
	b.waitMetric(`actorchain_peers{direction="inbound"}`, 0)
	// A: B inbound (the scout's connection has gone), nothing outbound.
	a.waitMetric(`actorchain_peers{direction="inbound"}`, 1)
	a.waitMetric(`actorchain_peers{direction="outbound"}`, 0)
	b.waitMetric(`actorchain_sync_progress`, 1)
	b.waitMetric(`actorchain_chain_height`, float64(height))
	if st := b.status(); st.Peers != 1 || st.TipHash != tip || st.SyncTarget < height {
		t.Fatalf("B's status after the sync: %+v; want sync_target_height >= %d (A's height)", st, height)
	}
}

// TestAddressExchangeTeachesNewPeers: in a line A-B-C (B seeded with A, C seeded with B only), C
// learns A's address from B's addr answer, keeps it in its address book and connects to A.
func TestAddressExchangeTeachesNewPeers(t *testing.T) {
	ah := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, bh, a)
	b := bh.start(t, actors.Options{})
	waitConnected(t, b, a)

	ch := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, ch, b)
	c := ch.start(t, actors.Options{})
	waitConnected(t, c, b)
	waitConnected(t, c, a)
	conn, _ := c.connection(a.n.NodeID())
	if conn.Direction != "outbound" {
		t.Fatalf("C's connection to A is %s; C learnt A and should have dialled it", conn.Direction)
	}
	k, ok := c.knownPeer(a.n.NodeID())
	if !ok || k.Addr != a.n.P2PAddr() {
		t.Fatalf("C's address book entry of A: %+v (ok %v), want addr %s", k, ok, a.n.P2PAddr())
	}
	waitConnected(t, a, c)
}

// TestBlockGossipIsImportedAndRegossiped: in a line A-B-C where C cannot reach A (A takes one
// inbound peer and dials nobody; C keeps one outbound slot), blocks fed into A reach B and, re-
// gossiped by B, C; a transfer submitted at C travels C→B→A, and A mines it.
func TestBlockGossipIsImportedAndRegossiped(t *testing.T) {
	ctx := context.Background()
	ah := netHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.MaxInbound = 1
		c.P2P.MaxOutbound = 0
	})
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, bh, a)
	b := bh.start(t, actors.Options{})
	waitConnected(t, b, a)
	ch := joinHome(t, ah, func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.MaxOutbound = 1
	})
	seedWith(t, ch, b)
	c := ch.start(t, actors.Options{})
	waitConnected(t, c, b)
	// C learns A's address from B, but has no free slot and A has no inbound room: the line holds.
	testutil.WaitFor(t, netTimeout, "C to learn A's address", func() bool { _, ok := c.knownPeer(a.n.NodeID()); return ok })

	p := a.n.Params()
	sealer := newKey(t, 31)
	build := testchain.New(p)
	for i := 0; i < 4; i++ {
		blk := build.Mine(t, sealer, nil)
		submit(t, a, blk, "connected")
		want := blk.Hash().String()
		testutil.WaitFor(t, netTimeout, "block "+strconv.Itoa(i+1)+" at C", func() bool { return c.status().TipHash == want })
		// B relays a new block to C before B's own commit (compact blocks, high bandwidth), so C
		// may store it first; B stores it too.
		testutil.WaitFor(t, netTimeout, "block "+strconv.Itoa(i+1)+" at B", func() bool { return b.status().TipHash == want })
	}

	// A transfer submitted at C reaches A's mempool through B and is mined by A.
	tx := transfer(p, ah.wallet, addrOf(newKey(t, 32)), 500, 2, 0)
	hash, err := c.n.SubmitTx(ctx, tx)
	if err != nil {
		t.Fatalf("submit at C: %v", err)
	}
	testutil.WaitFor(t, netTimeout, "the transfer in A's mempool", func() bool {
		_, err := a.n.Tx(ctx, hash)
		return err == nil
	})
	setMining(t, a, true)
	for _, nd := range []*node{a, b, c} {
		testutil.WaitFor(t, netTimeout, "the transfer confirmed at "+short(nd), func() bool {
			info, err := nd.n.Tx(ctx, hash)
			return err == nil && info.Confirmed
		})
	}
	setMining(t, a, false)
	waitSameTip(t, a, b, c)
	info, err := a.n.Tx(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := a.n.BlockByHash(ctx, info.BlockHash)
	if err != nil || blk.Block.Header.Miner != pubOf(ah.miner) {
		t.Fatalf("the transfer's block %s was not mined by A: %+v %v", info.BlockHash, blk.Block.Header.Miner, err)
	}

	// C never had a connection to A.
	if _, ok := c.connection(a.n.NodeID()); ok || len(c.recordsWith("peer connected", "peer_id", a.n.NodeID())) > 0 {
		t.Fatalf("C connected to A; the test needs the line A-B-C. C's peers: %+v", c.peers().Connected)
	}
}

// TestGossipCrossesTCPBoundary: a node in this process and a node in a child process (the test
// binary) connect over loopback TCP; blocks mined in the child arrive here and blocks mined here
// arrive in the child; a transfer submitted on either side reaches the other and is mined.
func TestGossipCrossesTCPBoundary(t *testing.T) {
	ctx := context.Background()
	second := newKey(t, 41)
	ph := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	ph.cfg.Chain.Alloc[addrOf(second).String()] = 1_000_000
	rewrite(t, ph)
	p := ph.start(t, actors.Options{})

	kh := joinHome(t, ph, nil) // mining on in the child
	seedWith(t, kh, p)
	k := kh.startChild(t)
	kst, err := k.api.Status(ctx)
	if err != nil {
		t.Fatalf("child status: %v", err)
	}
	testutil.WaitFor(t, netTimeout, "the child to connect", func() bool { _, ok := p.connection(kst.NodeID); return ok })

	// Child → here.
	waitAbove(t, p, 2, "blocks mined in the child")
	if blk, err := p.n.BlockAt(ctx, 1); err != nil || blk.Block.Header.Miner != pubOf(kh.miner) {
		t.Fatalf("block 1 here: %v %v; want one mined by the child", blk.Hash, err)
	}
	if _, err := k.api.SetMining(ctx, false); err != nil {
		t.Fatalf("stop the child's mining: %v", err)
	}

	// Here → child.
	setMining(t, p, true)
	var mine uint64
	testutil.WaitFor(t, netTimeout, "a block mined here to reach the child", func() bool {
		st, err := k.api.Status(ctx)
		if err != nil {
			return false
		}
		blk, err := k.api.Block(ctx, strconv.FormatUint(st.Height, 10))
		if err != nil || blk.Miner != pubHex(ph.miner) {
			return false
		}
		mine = st.Height
		return true
	})

	// Transfers both ways, with nobody mining: each reaches the other side's mempool as a
	// transaction; then the in-process miner confirms both, on both sides.
	setMining(t, p, false)
	here := transfer(p.n.Params(), ph.wallet, addrOf(newKey(t, 42)), 70, 1, 0)
	there := transfer(p.n.Params(), second, addrOf(newKey(t, 43)), 80, 1, 0)
	hHere, err := p.n.SubmitTx(ctx, here)
	if err != nil {
		t.Fatalf("submit here: %v", err)
	}
	sThere, err := k.api.SubmitTx(ctx, api.TxFromChain(there))
	if err != nil {
		t.Fatalf("submit in the child: %v", err)
	}
	hThere := mustHash(t, sThere)
	testutil.WaitFor(t, netTimeout, "the transfer submitted here pending in the child", func() bool {
		st, err := k.api.Tx(ctx, hHere.String())
		return err == nil && st.Status == "pending"
	})
	testutil.WaitFor(t, netTimeout, "the transfer submitted in the child pending here", func() bool {
		info, err := p.n.Tx(ctx, hThere)
		return err == nil && !info.Confirmed
	})
	setMining(t, p, true)
	for _, h := range []chainstate.Hash{hHere, hThere} {
		testutil.WaitFor(t, netTimeout, "transfer "+h.String()[:12]+" confirmed on both sides", func() bool {
			info, err := p.n.Tx(ctx, h)
			if err != nil || !info.Confirmed {
				return false
			}
			st, err := k.api.Tx(ctx, h.String())
			return err == nil && st.Status == "confirmed"
		})
	}
	setMining(t, p, false)
	testutil.WaitFor(t, netTimeout, "one tip on both sides", func() bool {
		st, err := k.api.Status(ctx)
		return err == nil && st.TipHash == p.status().TipHash && st.Height > mine
	})
}

// pubOf is the public key of an ed25519 signing key (a block's miner field).
func pubOf(k ed25519.PrivateKey) chainstate.PublicKey {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey))
}

// TestFullSeedHandsOutAddresses: a seed with no inbound slot left still tells a newcomer where
// else to go before it disconnects it. S takes one inbound peer (A) and dials nobody; B knows only
// S. Before, S completed B's handshake and dropped it with nothing said, every time B redialled,
// and B never learned another address (26 of 64 netsim nodes stayed isolated that way).
func TestFullSeedHandsOutAddresses(t *testing.T) {
	sh := netHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.MaxInbound = 1
		c.P2P.MaxOutbound = 0
	})
	s := sh.start(t, actors.Options{})
	ah := joinHome(t, sh, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, ah, s)
	a := ah.start(t, actors.Options{})
	waitConnected(t, a, s)
	testutil.WaitFor(t, netTimeout, "S to know A's address", func() bool { _, ok := s.knownPeer(a.n.NodeID()); return ok })

	bh := joinHome(t, sh, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, bh, s)
	b := bh.start(t, actors.Options{})
	waitConnected(t, b, a)
	// (B's side shows S for the moment between the handshake and S's Disconnect: ask S.)
	if s.connectedTo(b) {
		t.Fatal("the full seed took B")
	}
}

// TestSyncFollowsAForkDeeperThanOneAnswer: a node whose own branch forks from the peer's heavier
// chain more than one getblocks answer (500 hashes) ago reaches that chain's tip. Each answer
// alone repeats the first 500 hashes after the fork point, which this node stores on a side
// branch with less work than its own: the next locator must continue from the last of them.
func TestSyncFollowsAForkDeeperThanOneAnswer(t *testing.T) {
	const heavy, light = noisep2p.MaxGetBlocksReply + 60, noisep2p.MaxGetBlocksReply + 20
	ah := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	b := bh.start(t, actors.Options{})
	p := a.n.Params()
	ctx := context.Background()
	mainBranch, ownBranch := testchain.New(p), testchain.New(p)
	for range heavy {
		if _, err := a.n.SubmitBlock(ctx, mainBranch.Mine(t, newKey(t, 61), nil)); err != nil {
			t.Fatal(err)
		}
	}
	for range light {
		if _, err := b.n.SubmitBlock(ctx, ownBranch.Mine(t, newKey(t, 62), nil)); err != nil {
			t.Fatal(err)
		}
	}
	tip := mainBranch.Tip()
	want := tip.Hash().String()
	if st := a.status(); st.TipHash != want || st.Height != heavy {
		t.Fatalf("A at %s@%d, want %s@%d", st.TipHash, st.Height, want, heavy)
	}
	if err := b.n.AddPeer(ctx, peerAddr(a)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 4*netTimeout, "B on A's heavier branch", func() bool { return b.status().TipHash == want })
}

// TestIsolatedNodeRedialsSoon: a node whose only peer is gone for many dials (its network cut
// off, as far as it can tell) redials that peer within seconds of it coming back, not after the
// minutes a long run of failures backs off to. Its clock moves only when the test steps it: the
// peer is down for 7 failed dials, the clock stepping 5 minutes after each of the first six (had
// every failure counted, the backoff would now be 64 s), comes back, and the clock then moves 5
// s, past the isolated backoff of 4 s: the node must connect. Without the rule it waits for a
// clock that never gets there.
func TestIsolatedNodeRedialsSoon(t *testing.T) {
	hb := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	hb.cfg.P2P.Listen = "127.0.0.1:" + strconv.Itoa(freePort(t))
	rewrite(t, hb)
	b := hb.start(t, actors.Options{})
	ha := joinHome(t, hb, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, ha, b)
	bID := b.n.NodeID()
	b.stop()

	clock := testutil.NewClock(time.Now())
	a := ha.start(t, actors.Options{Clock: clock})
	failures := func() int { return len(a.recordsWith("dial failed", "peer_id", bID)) }
	for i := 1; i <= 6; i++ {
		testutil.WaitFor(t, netTimeout, "dial failure "+strconv.Itoa(i), func() bool { return failures() >= i })
		clock.Advance(5 * time.Minute)
	}
	testutil.WaitFor(t, netTimeout, "dial failure 7", func() bool { return failures() >= 7 })

	b = hb.start(t, actors.Options{})
	clock.Advance(5 * time.Second)
	testutil.WaitFor(t, netTimeout, "the isolated node's redial", func() bool { return a.connectedTo(b) })
}
