package resilience_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/compact"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// Compact block relay (docs/protocol.md §4 "Compact blocks", §7.3) between real nodes and
// against a peer driven by the test.

// compactLine starts a line of nodes (each has one inbound and one outbound slot, so they can
// only connect to their neighbours), with compact blocks on or off per node, mining off.
func compactLine(t *testing.T, compactOn ...bool) []*node {
	t.Helper()
	var nodes []*node
	var first *home
	for i, on := range compactOn {
		edit := func(c *config.Config) {
			c.Mining.Enabled = false
			c.P2P.MaxInbound, c.P2P.MaxOutbound = 1, 1
			c.P2P.CompactBlocks = on
			if i == 0 {
				c.P2P.MaxOutbound = 0
			}
		}
		var h *home
		if i == 0 {
			h = netHome(t, edit)
			first = h
		} else {
			h = joinHome(t, first, edit)
			seedWith(t, h, nodes[i-1])
		}
		nodes = append(nodes, h.start(t, actors.Options{}))
	}
	for i := 1; i < len(nodes); i++ {
		waitConnected(t, nodes[i], nodes[i-1])
		waitConnected(t, nodes[i-1], nodes[i])
	}
	return nodes
}

// received is the count of messages of type msg nd received.
func received(nd *node, msg string) float64 {
	v, _ := nd.metric(fmt.Sprintf(`actorchain_p2p_messages_total{direction="received",msg="%s"}`, msg))
	return v
}

func receivedBytes(nd *node, msg string) float64 {
	v, _ := nd.metric(fmt.Sprintf(`actorchain_p2p_bytes_total{direction="received",msg="%s"}`, msg))
	return v
}

// TestCompactMixedLine: on a line old-new-new-old (old: p2p.compact_blocks false) a block
// crosses every link: whole between an old node and a new one, compact between the two new
// ones, where the receiver's mempool holds the transfers and nothing is asked for; the old nodes
// never see a compact block message. Then a block whose transfers no mempool has crosses the
// line the same way (all prefilled on the compact link).
func TestCompactMixedLine(t *testing.T) {
	nodes := compactLine(t, false, true, true, false)
	ctx := context.Background()
	h0 := nodes[0].h
	p := nodes[0].n.Params()
	var txs []*chainstate.Tx
	for i := range 40 {
		tx := transfer(p, h0.wallet, addrOf(newKey(t, 7)), 1, 1, uint64(i))
		if _, err := nodes[0].n.SubmitTx(ctx, tx); err != nil {
			t.Fatalf("submit tx %d: %v", i, err)
		}
		txs = append(txs, tx)
	}
	testutil.WaitFor(t, netTimeout, "every mempool holding the 40 transfers", func() bool {
		for _, nd := range nodes {
			if nd.status().Mempool != len(txs) {
				return false
			}
		}
		return true
	})
	b := testchain.New(p)
	blk := b.Mine(t, newKey(t, 9), txs)
	if _, err := nodes[0].n.SubmitBlock(ctx, blk); err != nil {
		t.Fatal(err)
	}
	waitSameTip(t, nodes...)
	if got := received(nodes[2], "cmpctblock"); got != 1 {
		t.Fatalf("the second new node received %v compact blocks, want 1", got)
	}
	if got := received(nodes[2], "block"); got != 0 {
		t.Fatalf("the second new node received %v whole blocks", got)
	}
	for _, typ := range []string{"getblocktxn", "blocktxn"} {
		if got := received(nodes[1], typ) + received(nodes[2], typ); got != 0 {
			t.Fatalf("%v %s on the compact link with warm mempools", got, typ)
		}
	}
	full, cmpct := float64(noisep2p.WireSize(len(blk.Encode()))), receivedBytes(nodes[2], "cmpctblock")
	if cmpct > 0.1*full {
		t.Fatalf("compact block of %v bytes on the wire for a %v-byte block", cmpct, full)
	}
	for _, old := range []*node{nodes[0], nodes[3]} {
		for _, typ := range []string{"sendcmpct", "cmpctblock", "getblocktxn", "blocktxn"} {
			if got := received(old, typ); got != 0 {
				t.Fatalf("old node %s received %v %s", short(old), got, typ)
			}
		}
	}
	if received(nodes[3], "block") != 1 || received(nodes[1], "block") != 1 {
		t.Fatal("the old links did not carry the block whole")
	}
	if received(nodes[1], "sendcmpct") != 1 || received(nodes[2], "sendcmpct") != 1 {
		t.Fatal("the new nodes did not ask each other for high-bandwidth relay")
	}

	// Cold: transfers no node has seen.
	var cold []*chainstate.Tx
	for i := range 20 {
		cold = append(cold, transfer(p, h0.wallet, addrOf(newKey(t, 8)), 1, 1, uint64(40+i)))
	}
	blk2 := b.Mine(t, newKey(t, 9), cold)
	if _, err := nodes[0].n.SubmitBlock(ctx, blk2); err != nil {
		t.Fatal(err)
	}
	if _, h := waitSameTip(t, nodes...); h != 2 {
		t.Fatalf("tip height %d, want 2", h)
	}
	if received(nodes[2], "cmpctblock") != 2 || received(nodes[2], "getblocktxn") != 0 || received(nodes[1], "getblocktxn") != 0 {
		t.Fatal("the cold block did not cross the compact link as one compact block with its transfers prefilled")
	}
}

// cmpctPeer is a peer driven by the test that speaks compact blocks (hello minor 1, feature
// bit) or not.
type cmpctPeer struct {
	conn   *noisep2p.Conn
	msgs   chan noisep2p.Message
	closed chan error
}

func dialCmpct(t *testing.T, target *node, seed byte, feature bool) *cmpctPeer {
	t.Helper()
	cfg := &noisep2p.Config{Key: rawKey(t, seed), Genesis: target.n.Params().GenesisHash()}
	if feature {
		cfg.Hello = func() noisep2p.Hello {
			return noisep2p.Hello{Minor: noisep2p.MinorCompact, Features: noisep2p.FeatureCompactBlocks}
		}
	}
	id, _ := noisep2p.ParseID(target.n.NodeID())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := noisep2p.Dial(ctx, target.n.P2PAddr(), cfg, &id)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	p := &cmpctPeer{conn: c, msgs: make(chan noisep2p.Message, 4096), closed: make(chan error, 1)}
	c.Start(func(typ uint8, payload []byte) {
		m, err := noisep2p.DecodeMessage(typ, append([]byte(nil), payload...))
		if err != nil {
			t.Errorf("the node sent an undecodable %s: %v", noisep2p.MsgName(typ), err)
			return
		}
		select {
		case p.msgs <- m:
		default:
			t.Errorf("test peer's queue full") // 4096 messages: the test is broken
		}
	}, func(err error) { p.closed <- err })
	t.Cleanup(func() { _ = c.Close() })
	return p
}

// expect returns the next message of type typ the node sends, skipping others; it fails the test
// after netTimeout.
func (p *cmpctPeer) expect(t *testing.T, typ uint8) noisep2p.Message {
	t.Helper()
	deadline := time.After(netTimeout)
	for {
		select {
		case m := <-p.msgs:
			if m.Type() == typ {
				return m
			}
		case err := <-p.closed:
			t.Fatalf("the node closed the connection waiting for %s: %v", noisep2p.MsgName(typ), err)
		case <-deadline:
			t.Fatalf("no %s from the node in %s", noisep2p.MsgName(typ), netTimeout)
		}
	}
}

// waitClosed waits until the node closes the connection and returns why it ended.
func (p *cmpctPeer) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.closed:
		return err
	case <-time.After(netTimeout):
		t.Fatalf("the node kept the connection open for %s", netTimeout)
		return nil
	}
}

func (p *cmpctPeer) send(t *testing.T, m noisep2p.Message) {
	t.Helper()
	if err := p.conn.Send(m.Type(), m.Encode()); err != nil {
		t.Fatalf("send %s: %v", noisep2p.MsgName(m.Type()), err)
	}
}

// reMine gives blk the transactions txs: a new tx root, seal and proof of work (the state root
// stays: the block is meant to fail validation).
func reMine(blk *chainstate.Block, txs []*chainstate.Tx, key ed25519.PrivateKey, p *chainstate.Params) {
	blk.Txs = txs
	blk.Header.TxRoot = chainstate.TxRoot(txs)
	blk.Header.Seal(key)
	for blk.Header.Nonce = 0; !chainstate.MeetsBits(blk.Hash(), p.PowBits); blk.Header.Nonce++ {
	}
}

// compactNode is a node that speaks compact blocks, mining off, with a test peer that does and
// that the node asked for high-bandwidth relay.
func compactNode(t *testing.T) (*node, *cmpctPeer) {
	t.Helper()
	nd := netHome(t, func(c *config.Config) { c.Mining.Enabled = false }).start(t, actors.Options{})
	peer := dialCmpct(t, nd, 1, true)
	if m := peer.expect(t, noisep2p.MsgSendCmpct).(noisep2p.SendCmpct); !m.HighBandwidth {
		t.Fatal("the node did not ask its only compact peer for high-bandwidth relay")
	}
	if h := peer.conn.RemoteHello(); h.Minor != noisep2p.MinorCompact || !h.HasFeature(noisep2p.FeatureCompactBlocks) {
		t.Fatalf("the node's hello: minor %d, features %x", h.Minor, h.Features)
	}
	return nd, peer
}

// TestCompactGetBlockTxn: the node fills a compact block from its mempool, asks for exactly the
// transactions it lacks, and connects the block once they come.
func TestCompactGetBlockTxn(t *testing.T) {
	nd, peer := compactNode(t)
	p := nd.n.Params()
	var txs []*chainstate.Tx
	for i := range 8 {
		txs = append(txs, transfer(p, nd.h.wallet, addrOf(newKey(t, 3)), 1, 1, uint64(i)))
	}
	for _, tx := range txs[:5] {
		if _, err := nd.n.SubmitTx(context.Background(), tx); err != nil {
			t.Fatal(err)
		}
	}
	blk := testchain.New(p).Mine(t, newKey(t, 9), txs)
	hashes := compact.Hashes(blk)
	peer.send(t, compact.Build(blk, hashes, 77, func(chainstate.Hash) bool { return true }))
	req := peer.expect(t, noisep2p.MsgGetBlockTxn).(noisep2p.GetBlockTxn)
	if req.Hash != blk.Hash() || fmt.Sprint(req.Indexes) != "[5 6 7]" {
		t.Fatalf("getblocktxn %x %v, want the block and [5 6 7]", req.Hash[:4], req.Indexes)
	}
	txn, err := compact.Txn(blk, req.Indexes)
	if err != nil {
		t.Fatal(err)
	}
	peer.send(t, txn)
	nd.waitHeight(1, netTimeout)
	if st := nd.status(); st.TipHash != blk.Hash().String() {
		t.Fatalf("tip %s, want %s", st.TipHash, blk.Hash())
	}
}

// TestCompactFallbackToFullBlock: a compact block with two equal short ids, and one whose
// filled transactions do not match the tx root, are fetched whole (GetData); the peer is not
// punished.
func TestCompactFallbackToFullBlock(t *testing.T) {
	nd, peer := compactNode(t)
	p := nd.n.Params()
	b := testchain.New(p)
	key := newKey(t, 9)
	var txs []*chainstate.Tx
	for i := range 4 {
		txs = append(txs, transfer(p, nd.h.wallet, addrOf(newKey(t, 3)), 1, 1, uint64(i)))
	}
	blk := b.Mine(t, key, txs)
	all := func(chainstate.Hash) bool { return true }
	m := compact.Build(blk, compact.Hashes(blk), 5, all)
	m.ShortIDs[3] = m.ShortIDs[0]
	peer.send(t, m)
	wantBlock := func(h chainstate.Hash) {
		t.Helper()
		gd := peer.expect(t, noisep2p.MsgGetData).(noisep2p.GetData)
		if len(gd.Items) != 1 || gd.Items[0].Kind != noisep2p.InvBlock || gd.Items[0].Hash != h {
			t.Fatalf("getdata %+v, want block %s", gd.Items, h)
		}
	}
	wantBlock(blk.Hash())
	peer.send(t, noisep2p.Block{Raw: blk.Encode()})
	nd.waitHeight(1, netTimeout)

	// Root mismatch: the BlockTxn carries a valid transaction that is not the block's.
	blk2 := b.Mine(t, key, []*chainstate.Tx{transfer(p, nd.h.wallet, addrOf(newKey(t, 3)), 1, 1, 4)})
	peer.send(t, compact.Build(blk2, compact.Hashes(blk2), 6, all))
	req := peer.expect(t, noisep2p.MsgGetBlockTxn).(noisep2p.GetBlockTxn)
	peer.send(t, noisep2p.BlockTxn{Hash: req.Hash, Txs: [][]byte{transfer(p, nd.h.wallet, addrOf(newKey(t, 4)), 1, 1, 4).Encode()}})
	wantBlock(blk2.Hash())
	peer.send(t, noisep2p.Block{Raw: blk2.Encode()})
	nd.waitHeight(2, netTimeout)
	if recs := nd.log.Records("peer misbehaved; disconnected and discouraged"); len(recs) != 0 {
		t.Fatalf("the peer was punished: %v", recs)
	}
}

// TestCompactHighBandwidthPunishment: in high-bandwidth mode a block with a valid header and
// proof of work that fails validation (a bad signature) costs the peer nothing, and the block is
// not connected; an invalid proof of work gets the peer disconnected and discouraged. A peer the
// node did not ask for high-bandwidth relay (it already has 3) is punished for the invalid block.
func TestCompactHighBandwidthPunishment(t *testing.T) {
	nd, peer := compactNode(t)
	p := nd.n.Params()
	key := newKey(t, 9)
	tx := transfer(p, nd.h.wallet, addrOf(newKey(t, 3)), 1, 1, 0)
	bad := *tx
	bad.Sig[0] ^= 1
	invalid := testchain.New(p).Mine(t, key, []*chainstate.Tx{tx})
	reMine(invalid, []*chainstate.Tx{&bad}, key, p)
	none := func(chainstate.Hash) bool { return false }
	peer.send(t, compact.Build(invalid, compact.Hashes(invalid), 1, none))
	testutil.WaitFor(t, netTimeout, "the node to log the invalid block", func() bool {
		return len(nd.log.Records("block relayed before validation is invalid; peer not punished (its header and work are valid)")) == 1
	})
	// Still connected and listened to: a valid block from it connects.
	valid := testchain.New(p).Mine(t, key, []*chainstate.Tx{tx})
	peer.send(t, compact.Build(valid, compact.Hashes(valid), 2, none))
	nd.waitHeight(1, netTimeout)
	if st := nd.status(); st.TipHash != valid.Hash().String() {
		t.Fatalf("tip %s, want the valid block", st.TipHash)
	}

	// Three more compact peers: the first two take the free high-bandwidth slots, the third is
	// low-bandwidth and is punished for an invalid block.
	for seed := byte(2); seed <= 3; seed++ {
		q := dialCmpct(t, nd, seed, true)
		q.expect(t, noisep2p.MsgSendCmpct)
	}
	low := dialCmpct(t, nd, 4, true)
	low.expect(t, noisep2p.MsgGetMempool) // registered
	invalid2 := testchain.New(p).Mine(t, key, []*chainstate.Tx{tx})
	invalid2.Header.Time++
	reMine(invalid2, []*chainstate.Tx{&bad}, key, p)
	low.send(t, compact.Build(invalid2, compact.Hashes(invalid2), 3, none))
	err := low.waitClosed(t)
	if r := disconnectReason(err); !strings.Contains(r, "invalid block") {
		t.Fatalf("low-bandwidth peer disconnected with %q (%v), want invalid block", r, err)
	}

	// Invalid proof of work: punished whatever the mode.
	badWork := testchain.New(p).Mine(t, key, nil)
	badWork.Header.Time++
	for chainstate.MeetsBits(badWork.Hash(), p.PowBits) {
		badWork.Header.Nonce++
	}
	peer.send(t, compact.Build(badWork, nil, 4, none))
	err = peer.waitClosed(t)
	if r := disconnectReason(err); !strings.Contains(r, "invalid compact block header") {
		t.Fatalf("disconnected with %q (%v), want invalid compact block header", r, err)
	}
}

// TestCompactFeatureOff: a node with p2p.compact_blocks false says minor 0 and no features, sends
// a compact-speaking peer whole blocks, and treats a compact block message as a protocol
// violation.
func TestCompactFeatureOff(t *testing.T) {
	nd := netHome(t, func(c *config.Config) { c.Mining.Enabled = false; c.P2P.CompactBlocks = false }).start(t, actors.Options{})
	peer := dialCmpct(t, nd, 1, true)
	if h := peer.conn.RemoteHello(); h.Minor != 0 || h.Features != 0 {
		t.Fatalf("hello minor %d features %x, want 0 0", h.Minor, h.Features)
	}
	peer.expect(t, noisep2p.MsgGetMempool) // the connection is registered: blocks are relayed to it
	p := nd.n.Params()
	blk := testchain.New(p).Mine(t, newKey(t, 9), nil)
	if _, err := nd.n.SubmitBlock(context.Background(), blk); err != nil {
		t.Fatal(err)
	}
	if m := peer.expect(t, noisep2p.MsgBlock).(noisep2p.Block); string(m.Raw) != string(blk.Encode()) {
		t.Fatal("the node relayed another block")
	}
	peer.send(t, noisep2p.SendCmpct{HighBandwidth: true})
	err := peer.waitClosed(t)
	if r := disconnectReason(err); !strings.Contains(r, "compact blocks were not announced") {
		t.Fatalf("disconnected with %q (%v)", r, err)
	}
}

// TestCompactMinorZeroPeer: a peer whose hello is minor 0 without feature bits (an
// implementation of the protocol before compact blocks) gets blocks as before, whole, and never
// a message of types 13 to 16, from a node that speaks compact blocks.
func TestCompactMinorZeroPeer(t *testing.T) {
	nd := netHome(t, func(c *config.Config) { c.Mining.Enabled = false }).start(t, actors.Options{})
	peer := dialCmpct(t, nd, 1, false)
	peer.expect(t, noisep2p.MsgGetMempool) // registered
	p := nd.n.Params()
	blk := testchain.New(p).Mine(t, newKey(t, 9), []*chainstate.Tx{transfer(p, nd.h.wallet, addrOf(newKey(t, 3)), 1, 1, 0)})
	if _, err := nd.n.SubmitBlock(context.Background(), blk); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(netTimeout)
	for {
		select {
		case m := <-peer.msgs:
			if m.Type() >= noisep2p.MsgSendCmpct {
				t.Fatalf("a minor-0 peer got %s", noisep2p.MsgName(m.Type()))
			}
			if b, ok := m.(noisep2p.Block); ok {
				if string(b.Raw) != string(blk.Encode()) {
					t.Fatal("the node relayed another block")
				}
				return
			}
		case err := <-peer.closed:
			t.Fatalf("closed: %v", err)
		case <-deadline:
			t.Fatal("no block relayed to the minor-0 peer")
		}
	}
}

// TestCompactHighBandwidthChoice: the node asks its first 3 compact peers for high-bandwidth
// relay; a fourth that delivers a new block first takes the place of the one chosen longest ago,
// which is released (SendCmpct 0).
func TestCompactHighBandwidthChoice(t *testing.T) {
	nd := netHome(t, func(c *config.Config) { c.Mining.Enabled = false }).start(t, actors.Options{})
	var hb []*cmpctPeer
	for seed := byte(1); seed <= 3; seed++ {
		q := dialCmpct(t, nd, seed, true)
		if m := q.expect(t, noisep2p.MsgSendCmpct).(noisep2p.SendCmpct); !m.HighBandwidth {
			t.Fatalf("peer %d not asked for high-bandwidth relay", seed)
		}
		hb = append(hb, q)
	}
	fourth := dialCmpct(t, nd, 4, true)
	fourth.expect(t, noisep2p.MsgGetMempool) // registered, and not asked
	p := nd.n.Params()
	blk := testchain.New(p).Mine(t, newKey(t, 9), nil)
	fourth.send(t, compact.Build(blk, nil, 1, func(chainstate.Hash) bool { return false }))
	nd.waitHeight(1, netTimeout)
	if m := fourth.expect(t, noisep2p.MsgSendCmpct).(noisep2p.SendCmpct); !m.HighBandwidth {
		t.Fatal("the peer that delivered the block first was not asked for high-bandwidth relay")
	}
	if m := hb[0].expect(t, noisep2p.MsgSendCmpct).(noisep2p.SendCmpct); m.HighBandwidth {
		t.Fatal("the peer chosen longest ago was not released")
	}
	for _, q := range hb[1:] {
		for len(q.msgs) > 0 {
			if s, ok := (<-q.msgs).(noisep2p.SendCmpct); ok {
				t.Fatalf("a newer high-bandwidth peer got %+v", s)
			}
		}
	}
}
