package resilience_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// The adversarial tests run next to a healthy pair: A mines (it is the chain's only validator), B
// follows it over one connection that must survive every attack and keep delivering blocks.

const misbehavedMsg = "peer misbehaved; disconnected and discouraged"

type healthyPair struct {
	ah   *home
	a, b *node
}

func newHealthyPair(t *testing.T) *healthyPair {
	t.Helper()
	ah := netHome(t, nil)
	ah.cfg.Chain.Validators = []string{pubHex(ah.miner)}
	rewrite(t, ah)
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, bh, a)
	b := bh.start(t, actors.Options{})
	waitConnected(t, b, a)
	return &healthyPair{ah: ah, a: a, b: b}
}

// check fails unless B is still on its first connection to A and receives A's new blocks.
func (hp *healthyPair) check(t *testing.T) {
	t.Helper()
	if !hp.b.connectedTo(hp.a) {
		t.Fatalf("the healthy peer B lost its connection to A")
	}
	if n := len(hp.b.recordsWith("peer connected", "peer_id", hp.a.n.NodeID())); n != 1 {
		t.Fatalf("B connected to A %d times; the healthy connection must not be disturbed", n)
	}
	h := hp.a.status().Height
	waitAbove(t, hp.b, h, "B to keep receiving A's blocks")
}

// misbehave dials A with a fresh identity, runs send, and checks the peer is disconnected with a
// reason containing want, logged as misbehaving, and refused as banned when it dials again.
func (hp *healthyPair) misbehave(t *testing.T, seed byte, want string, send func(*rawPeer) error) {
	t.Helper()
	key := rawKey(t, seed)
	id := noisep2p.IDFromKey(key.PublicKey()).String()
	r, err := dialRaw(t, hp.a, key, nil)
	if err != nil {
		t.Fatalf("dial A: %v", err)
	}
	testutil.WaitFor(t, netTimeout, "A to register the raw peer", func() bool { _, ok := hp.a.connection(id); return ok })
	if err := send(r); err != nil {
		t.Fatalf("send: %v", err)
	}
	cerr := r.waitClosed(t, netTimeout)
	if got := disconnectReason(cerr); want != "" && !strings.Contains(got, want) {
		t.Fatalf("closed with %v (reason %q), want a Disconnect whose reason contains %q", cerr, got, want)
	}
	testutil.WaitFor(t, netTimeout, "A to log the misbehaviour", func() bool {
		return len(hp.a.recordsWith(misbehavedMsg, "peer_id", id)) > 0
	})
	testutil.WaitFor(t, netTimeout, "A to drop the connection", func() bool { _, ok := hp.a.connection(id); return !ok })
	hp.requireBanned(t, key)
}

// requireBanned dials A again with key: the handshake may complete, but A must refuse the peer
// as banned (a Disconnect saying so) instead of registering it.
func (hp *healthyPair) requireBanned(t *testing.T, key *ecdh.PrivateKey) {
	t.Helper()
	id := noisep2p.IDFromKey(key.PublicKey()).String()
	r, err := dialRaw(t, hp.a, key, nil)
	if err != nil {
		return // refused during the handshake: fine
	}
	var cerr error
	testutil.WaitFor(t, netTimeout, "A to refuse the discouraged peer", func() bool {
		if _, ok := hp.a.connection(id); ok {
			t.Fatalf("A accepted a connection from the peer it should have discouraged")
		}
		cerr = r.conn.Err()
		return cerr != nil
	})
	if got := disconnectReason(r.waitClosed(t, netTimeout)); !strings.Contains(got, "banned") {
		t.Fatalf("redial of a discouraged peer: closed with %v (reason %q), want a refusal as banned", cerr, got)
	}
}

// sealedOnGenesis mines a valid block 1 of chain p sealed by key (valid if key may seal), on a
// builder of its own: nothing else sees it.
func sealedOnGenesis(t *testing.T, p *chainstate.Params, key ed25519.PrivateKey) *chainstate.Block {
	t.Helper()
	return testchain.New(p).Mine(t, key, nil)
}

// withBadWork changes b's nonce until its hash no longer meets the chain's work (the seal stays
// valid: the nonce is outside the commitment).
func withBadWork(b *chainstate.Block) *chainstate.Block {
	c := *b
	for chainstate.MeetsBits(c.Hash(), c.Header.Bits) {
		c.Header.Nonce++
	}
	return &c
}

func sendMsg(m noisep2p.Message) func(*rawPeer) error {
	return func(r *rawPeer) error { return r.conn.SendMsg(m) }
}

// TestMisbehavingPeerIsDiscouraged: a peer that sends invalid data (an undecodable block, a block
// without enough work, a block sealed by a non-validator, a transaction with a bad signature) or
// breaks the protocol (an unknown message type, a malformed inventory) is sent a Disconnect,
// logged as misbehaving and refused while banned; the healthy peer B keeps its connection and
// keeps receiving blocks.
func TestMisbehavingPeerIsDiscouraged(t *testing.T) {
	hp := newHealthyPair(t)
	p := hp.a.n.Params()
	stranger := newKey(t, 61)
	valid := sealedOnGenesis(t, p, hp.ah.miner)
	badSig := transfer(p, hp.ah.wallet, addrOf(stranger), 5, 1, 0)
	badSig.Sig[0] ^= 0xff
	cases := []struct {
		name string
		want string // in the Disconnect reason
		send func(*rawPeer) error
	}{
		{"undecodable block", "undecodable block", sendMsg(noisep2p.Block{Raw: []byte("definitely not a block")})},
		{"block without enough work", "invalid block", sendMsg(noisep2p.Block{Raw: withBadWork(valid).Encode()})},
		{"block sealed by a non-validator", "invalid block", sendMsg(noisep2p.Block{Raw: sealedOnGenesis(t, p, stranger).Encode()})},
		{"transaction with a bad signature", "invalid transaction", sendMsg(noisep2p.Tx{Raw: badSig.Encode()})},
		{"unknown message type", "protocol violation", func(r *rawPeer) error { return r.conn.Send(77, []byte{1, 2, 3}) }},
		{"malformed inventory", "protocol violation", func(r *rawPeer) error { return r.conn.Send(noisep2p.MsgInv, []byte{0, 0, 0, 2, 1}) }},
	}
	for i, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			hp.misbehave(t, byte(100+i), tc.want, tc.send)
			hp.check(t)
		})
	}
	// The valid block itself is fine from an honest peer (control for the mutations above).
	r, err := dialRaw(t, hp.a, rawKey(t, 99), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.conn.SendMsg(noisep2p.Block{Raw: valid.Encode()}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, netTimeout, "A to store the honest peer's block", func() bool {
		_, err := hp.a.n.BlockByHash(context.Background(), valid.Hash())
		return err == nil
	})
	if r.conn.Err() != nil {
		t.Fatalf("the honest raw peer was dropped: %v", r.conn.Err())
	}
	hp.check(t)
}

// TestOrphanWithBadWorkIsMisbehaviour: a block whose parent is unknown but whose own header fails
// the proof of work is invalid whatever its parent (protocol.md §7.5: "an invalid block (any
// consensus rule ...)"); the node must not keep it in the orphan pool, and discourages the peer.
func TestOrphanWithBadWorkIsMisbehaviour(t *testing.T) {
	hp := newHealthyPair(t)
	p := hp.a.n.Params()
	b := sealedOnGenesis(t, p, hp.ah.miner)
	if _, err := rand.Read(b.Header.PrevHash[:]); err != nil {
		t.Fatal(err)
	}
	b.Header.Height = 50
	b.Header.Seal(hp.ah.miner)
	hp.misbehave(t, 120, "invalid block", sendMsg(noisep2p.Block{Raw: withBadWork(b).Encode()}))
	hp.check(t)
}

// TestOversizeMessageDiscouragesPeer: a message over its type's limit closes the connection
// before the node reads it; ARCHITECTURE ("Misbehaviour (invalid data, oversize, protocol
// violation) disconnects and discourages the peer") also wants the peer discouraged.
func TestOversizeMessageDiscouragesPeer(t *testing.T) {
	hp := newHealthyPair(t)
	key := rawKey(t, 121)
	r, err := dialRaw(t, hp.a, key, func(c *noisep2p.Config) {
		c.MaxMessage = map[uint8]uint32{noisep2p.MsgTx: 1 << 20}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.conn.Send(noisep2p.MsgTx, make([]byte, noisep2p.TxLimit+1)); err != nil {
		t.Fatal(err)
	}
	if err := r.waitClosed(t, netTimeout); errors.Is(err, noisep2p.ErrPeerDisconnected) {
		t.Logf("closed with a Disconnect: %v", err)
	}
	testutil.WaitFor(t, netTimeout, "A to log why it closed the connection", func() bool {
		for _, r := range hp.a.recordsWith("peer connection closed", "peer_id", noisep2p.IDFromKey(key.PublicKey()).String()) {
			if e, _ := r["err"].(string); strings.Contains(e, noisep2p.ErrMsgTooLarge.Error()) {
				return true
			}
		}
		return false
	})
	testutil.WaitFor(t, netTimeout, "A to log the disconnect with its reason", func() bool {
		for _, r := range hp.a.recordsWith("peer disconnected", "peer_id", noisep2p.IDFromKey(key.PublicKey()).String()) {
			if e, _ := r["reason"].(string); strings.Contains(e, noisep2p.ErrMsgTooLarge.Error()) && r["level"] == "INFO" {
				return true
			}
		}
		return false
	})
	hp.check(t)
	hp.requireBanned(t, key)
}

// TestForeignChainIsRefusedAtHandshake: a node of another chain (another genesis) dials A: the
// dialler reports a different chain or version, A logs the failed inbound handshake, neither
// lists the other as connected, and the healthy pair is undisturbed. A hand-driven dial with a
// wrong genesis gets noisep2p.ErrHandshakeAuth.
func TestForeignChainIsRefusedAtHandshake(t *testing.T) {
	hp := newHealthyPair(t)
	oh := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, oh, hp.a)
	o := oh.start(t, actors.Options{})
	if o.n.Params().GenesisHash() == hp.a.n.Params().GenesisHash() {
		t.Fatal("the foreign node has A's genesis")
	}
	testutil.WaitFor(t, netTimeout, "the foreign node to report a different chain", func() bool {
		return len(o.recordsWith("peer is on a different chain or version", "peer_id", hp.a.n.NodeID())) > 0
	})
	testutil.WaitFor(t, netTimeout, "A to log the failed inbound handshake", func() bool {
		return len(hp.a.log.Records("inbound handshake failed")) > 0
	})
	if len(o.peers().Connected) != 0 {
		t.Fatalf("the foreign node is connected: %+v", o.peers().Connected)
	}
	if _, ok := hp.a.connection(o.n.NodeID()); ok {
		t.Fatal("A lists the foreign node as connected")
	}

	_, err := dialRaw(t, hp.a, rawKey(t, 122), func(c *noisep2p.Config) { c.Genesis[0] ^= 1 })
	if !errors.Is(err, noisep2p.ErrHandshakeAuth) {
		t.Fatalf("dial with another genesis: %v, want ErrHandshakeAuth", err)
	}
	hp.check(t)
}

// TestHostileBytesOnP2PPort: garbage, an HTTP request, a low-order ephemeral key, a truncated or
// oversized handshake message are closed by A at once; a slowloris trickle and a flood of idle
// connections do not disturb the healthy pair, and once they go an honest peer can connect.
func TestHostileBytesOnP2PPort(t *testing.T) {
	hp := newHealthyPair(t)
	addr := hp.a.n.P2PAddr()
	dialTCP := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("tcp dial: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// closedByNode reads until A closes the connection (EOF or reset), failing on a timeout.
	closedByNode := func(t *testing.T, c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(netTimeout))
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("A kept the connection open for %s", netTimeout)
		}
	}
	junk := make([]byte, 200)
	_, _ = rand.Read(junk)
	junk[0], junk[1] = 0x7f, 0x7f // a length no handshake message has
	m1 := func(body []byte) []byte { return append([]byte{0, byte(len(body))}, body...) }
	for _, tc := range []struct {
		name  string
		bytes []byte
		half  bool // close our write side after the bytes
	}{
		{"garbage", junk, false},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), false},
		{"low-order ephemeral key", m1(make([]byte, 32)), false},
		{"truncated message 1", m1(make([]byte, 32))[:9], true},
		{"oversized handshake length", append([]byte{0xff, 0xff}, make([]byte, 64)...), false},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			before := len(hp.a.log.Records("inbound handshake failed"))
			c := dialTCP(t)
			if _, err := c.Write(tc.bytes); err != nil {
				t.Fatalf("write: %v", err)
			}
			if tc.half {
				_ = c.(*net.TCPConn).CloseWrite()
			}
			closedByNode(t, c)
			testutil.WaitFor(t, netTimeout, "A to log the failed handshake", func() bool {
				return len(hp.a.log.Records("inbound handshake failed")) > before
			})
			hp.check(t)
		})
	}

	t.Run("slowloris", func(t *testing.T) {
		c := dialTCP(t)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			msg := m1(make([]byte, 32))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond): // the trickle's pace
				}
				if _, err := c.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
					return
				}
			}
		})
		hp.check(t)
		hp.check(t)
		close(stop)
		wg.Wait()
	})

	t.Run("idle connection flood", func(t *testing.T) {
		before := len(hp.a.recordsWith("inbound handshake failed", "reason", noisep2p.RejectBusy))
		var conns []net.Conn
		for range noisep2p.DefaultMaxHandshakes + 8 {
			conns = append(conns, dialTCP(t))
		}
		testutil.WaitFor(t, netTimeout, "A to refuse the connections over its handshake limit", func() bool {
			return len(hp.a.recordsWith("inbound handshake failed", "reason", noisep2p.RejectBusy)) > before
		})
		hp.check(t)
		for _, c := range conns {
			_ = c.Close()
		}
		// The slots come back: an honest peer completes a handshake and is registered.
		key := rawKey(t, 123)
		testutil.WaitFor(t, netTimeout, "an honest peer to connect after the flood", func() bool {
			r, err := dialRaw(t, hp.a, key, nil)
			if err != nil {
				return false
			}
			_, ok := hp.a.connection(noisep2p.IDFromKey(key.PublicKey()).String())
			for i := 0; !ok && i < 100 && r.conn.Err() == nil; i++ {
				time.Sleep(10 * time.Millisecond) // a bounded poll for the registration
				_, ok = hp.a.connection(noisep2p.IDFromKey(key.PublicKey()).String())
			}
			_ = r.conn.Close()
			return ok
		})
		hp.check(t)
	})
}

// TestBannedPeerCannotStallPeerManager: a discouraged peer that keeps dialling, completing the
// handshake and then not reading (nor closing), must not hold up the peer manager: the node still
// answers its peers request promptly and gossip to the healthy peer continues.
func TestBannedPeerCannotStallPeerManager(t *testing.T) {
	hp := newHealthyPair(t)
	key := rawKey(t, 124)
	hp.misbehave(t, 124, "undecodable block", sendMsg(noisep2p.Block{Raw: []byte{1}}))
	id, err := noisep2p.ParseID(hp.a.n.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &noisep2p.Config{Key: key, Genesis: hp.a.n.Params().GenesisHash()}
	const redials = 6
	var conns []*noisep2p.Conn
	for range redials {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := noisep2p.Dial(ctx, hp.a.n.P2PAddr(), cfg, &id)
		cancel()
		if err != nil {
			continue
		}
		conns = append(conns, c) // neither started nor closed: we never read A's refusal
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	if len(conns) == 0 {
		t.Skip("A refused the banned peer during the handshake; nothing to stall")
	}
	// Each refusal runs Disconnect, which waits up to noisep2p.DisconnectTimeout for the peer to
	// close; none of that may happen on the peer manager's own goroutine.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := hp.a.n.Peers(ctx); err != nil {
		t.Errorf("A's peers request failed after %s while %d refused connections of a banned peer were pending: %v", time.Since(start).Round(time.Millisecond), len(conns), err)
	} else if d := time.Since(start); d > time.Second {
		t.Errorf("A's peer manager took %s to answer while %d refused connections of a banned peer were pending", d.Round(time.Millisecond), len(conns))
	}
	h := hp.a.status().Height
	testutil.WaitFor(t, 3*time.Second, "B to keep receiving blocks while the banned peer redials", func() bool {
		return hp.b.status().Height > h
	})
}

// TestInvalidBlockInSyncIsMisbehaviour: during a sync a connection decodes and checks several
// blocks at once (actors' blockPipe) and hands them on in order. A peer that claims a longer chain
// and answers the node's sync with two valid blocks, a bad third one and a valid fourth has the
// two valid ones connected, in order, and is disconnected and discouraged for the third, whether
// it lacks work or its body does not decode; nothing after it is connected.
func TestInvalidBlockInSyncIsMisbehaviour(t *testing.T) {
	cases := []struct {
		name string
		want string // in the Disconnect reason
		bad  func(*chainstate.Block) []byte
	}{
		{"without enough work", "invalid block", func(b *chainstate.Block) []byte { return withBadWork(b).Encode() }},
		{"undecodable body", "undecodable block", func(b *chainstate.Block) []byte {
			return append(b.Header.Encode(), 0, 0, 0, 9, 1) // 9 transactions promised, one byte given
		}},
	}
	for i, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			ah := netHome(t, func(c *config.Config) { c.Mining.Enabled = false })
			ah.cfg.Chain.Validators = []string{pubHex(ah.miner)}
			rewrite(t, ah)
			a := ah.start(t, actors.Options{})
			chain := testchain.New(a.n.Params())
			var blocks []*chainstate.Block
			for range 4 {
				blocks = append(blocks, chain.Mine(t, ah.miner, nil))
			}
			raws := [][]byte{blocks[0].Encode(), blocks[1].Encode(), tc.bad(blocks[2]), blocks[3].Encode()}

			key := rawKey(t, byte(122+i))
			id := noisep2p.IDFromKey(key.PublicKey()).String()
			r, err := dialRaw(t, a, key, func(c *noisep2p.Config) {
				c.Hello = func() noisep2p.Hello { return noisep2p.Hello{BestHeight: 10} }
			})
			if err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, netTimeout, "A to start a sync with the raw peer (a getblocks)", func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.got[noisep2p.MsgGetBlocks] > 0
			})
			for i, raw := range raws {
				if err := r.conn.SendMsg(noisep2p.Block{Raw: raw}); err != nil {
					t.Fatalf("send block %d: %v", i+1, err)
				}
			}
			if got := disconnectReason(r.waitClosed(t, netTimeout)); !strings.Contains(got, tc.want) {
				t.Fatalf("closed with reason %q, want one containing %q", got, tc.want)
			}
			testutil.WaitFor(t, netTimeout, "A to log the misbehaviour", func() bool {
				return len(a.recordsWith(misbehavedMsg, "peer_id", id)) > 0
			})
			testutil.WaitFor(t, netTimeout, "A to connect the two valid blocks", func() bool { return a.status().Height == 2 })
			for i, b := range blocks[:2] {
				if _, err := a.n.BlockByHash(context.Background(), b.Hash()); err != nil {
					t.Fatalf("valid block %d is not stored: %v", i+1, err)
				}
			}
			if st := a.status(); st.Height != 2 || st.TipHash != blocks[1].Hash().String() {
				t.Fatalf("A is at height %d tip %s, want 2 and %s", st.Height, st.TipHash, blocks[1].Hash())
			}
		})
	}
}
