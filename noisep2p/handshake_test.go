package noisep2p

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
)

func TestHandshakeAndHelloExchange(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, func(cfg *Config, _ *ListenerConfig) {
		cfg.Hello = func() Hello {
			return Hello{Minor: 7, BestHeight: 1000, TipHash: [32]byte{1, 2}, Features: 3, ListenAddr: "127.0.0.1:7600"}
		}
	})
	ccfg := clientOf(t, f.cfg)
	ccfg.Hello = func() Hello {
		return Hello{Minor: 2, Genesis: [32]byte{0xff}, BestHeight: 5, ListenAddr: "[::1]:9000"} // Genesis is overwritten
	}
	c, _ := f.dial(ccfg)
	s := f.serverPeer(c.LocalID())
	if c.RemoteID() != f.serverID() || s.c.RemoteID() != IDFromKey(ccfg.Key.PublicKey()) {
		t.Fatalf("ids: client sees %s, server sees %s", c.RemoteID(), s.c.RemoteID())
	}
	if !c.Outbound() || s.c.Outbound() {
		t.Fatalf("outbound: client %v server %v", c.Outbound(), s.c.Outbound())
	}
	want := Hello{Minor: 7, Genesis: testGenesis, BestHeight: 1000, TipHash: [32]byte{1, 2}, Features: 3, ListenAddr: "127.0.0.1:7600"}
	if got := c.RemoteHello(); got != want {
		t.Fatalf("client got hello %+v, want %+v", got, want)
	}
	want = Hello{Minor: 2, Genesis: testGenesis, BestHeight: 5, ListenAddr: "[::1]:9000"}
	if got := s.c.RemoteHello(); got != want {
		t.Fatalf("server got hello %+v, want %+v", got, want)
	}
	if c.RemoteAddr().String() != f.ln.Addr().String() {
		t.Fatalf("remote addr %s, want %s", c.RemoteAddr(), f.ln.Addr())
	}
	p := startPeer(c, false)
	testutil.WaitFor(t, waitTimeout, "rtt", func() bool { return c.RTT() > 0 })
	// Both directions, several types including an empty payload and a multi-frame one.
	big := bytes.Repeat([]byte{0xab}, 200_000)
	for _, m := range []msg{{MsgGetAddr, []byte{}}, {MsgBlock, big}, {MsgInv, Inv{Items: []InvItem{{InvTx, [32]byte{4}}}}.Encode()}} {
		if err := c.Send(m.typ, m.payload); err != nil {
			t.Fatal(err)
		}
		if got := s.waitMsg(t, m.typ); !bytes.Equal(got, m.payload) {
			t.Fatalf("%s: got %d bytes, want %d", MsgName(m.typ), len(got), len(m.payload))
		}
	}
	if err := s.c.SendMsg(Addr{Peers: []PeerAddr{{ID: ID{1}, Addr: "10.0.0.1:7600", LastSeen: 17}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := DecodeAddr(p.waitMsg(t, MsgAddr)); len(got.Peers) != 1 || got.Peers[0].LastSeen != 17 {
		t.Fatalf("addr: %+v", got)
	}
	// Close: the closer's onClose gets nil, the peer sees the connection end.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.waitClosed(t); err != nil {
		t.Fatalf("onClose after Close: %v", err)
	}
	if !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err after Close: %v", c.Err())
	}
	if err := s.waitClosed(t); err == nil || !errors.Is(err, io.EOF) {
		t.Fatalf("server side: %v, want EOF", err)
	}
	_ = c.Close() // idempotent
	if err := c.Send(MsgTx, []byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	f.assertHealthy()
}

func TestWrongChain(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	ccfg := clientOf(t, f.cfg)
	ccfg.Genesis = [32]byte{0xde, 0xad}
	_, err := Dial(context.Background(), f.ln.Addr().String(), ccfg, nil)
	if !errors.Is(err, ErrHandshakeAuth) || !strings.Contains(err.Error(), "different chain or version") {
		t.Fatalf("initiator: %v, want ErrHandshakeAuth", err)
	}
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, io.EOF) || !strings.Contains(r.err.Error(), "read message 3") {
		t.Fatalf("responder: %v, want EOF at message 3", r.err)
	}
	t.Logf("initiator: %v", err)
	t.Logf("responder: %v", r.err)
	f.assertHealthy()
}

func TestWrongMajorVersion(t *testing.T) {
	checkLeaks(t)
	// Another major version changes the prologue the same way another genesis does: run the
	// initiator with a hand-made prologue.
	f := newFixture(t)
	s, err := clientOf(t, f.cfg).settings()
	if err != nil {
		t.Fatal(err)
	}
	s.prologue = append([]byte("actorchain-p2p/2\x00"), testGenesis[:]...)
	nc := rawDial(t, f.ln.Addr(), "")
	_, err = handshake(context.Background(), nc, s, true, nil, nil)
	if !errors.Is(err, ErrHandshakeAuth) {
		t.Fatalf("initiator: %v, want ErrHandshakeAuth", err)
	}
	f.expectReject(func(r rejection) bool { return errors.Is(r.err, io.EOF) })
	f.assertHealthy()
}

func TestPeerMismatch(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	other := IDFromKey(mustKey(t).PublicKey())
	_, err := Dial(context.Background(), f.ln.Addr().String(), clientOf(t, f.cfg), &other)
	if !errors.Is(err, ErrPeerMismatch) || !strings.Contains(err.Error(), "peer id mismatch") {
		t.Fatalf("initiator: %v, want ErrPeerMismatch", err)
	}
	// The responder never got message 3: it reads EOF where message 3's length should be.
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, io.EOF) || !strings.Contains(r.err.Error(), "read message 3") || errors.Is(r.err, ErrBadHandshake) {
		t.Fatalf("responder: %v, want EOF before message 3", r.err)
	}
	f.assertHealthy()
}

func TestSelfConnection(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	self := *f.cfg // same key
	_, err := Dial(context.Background(), f.ln.Addr().String(), &self, nil)
	if !errors.Is(err, ErrSelf) || !strings.Contains(err.Error(), "connected to self") {
		t.Fatalf("self dial: %v, want ErrSelf", err)
	}
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, io.EOF) {
		t.Fatalf("responder: %v, want EOF", r.err)
	}
	// Even when expecting our own id, self wins over mismatch.
	id := f.serverID()
	if _, err := Dial(context.Background(), f.ln.Addr().String(), &self, &id); !errors.Is(err, ErrSelf) {
		t.Fatalf("self dial with expect: %v", err)
	}
	f.assertHealthy()
}

func TestAdmitRefusalSendsDisconnect(t *testing.T) {
	checkLeaks(t)
	var refuse ID
	f := newFixture(t, func(_ *Config, lc *ListenerConfig) {
		lc.Admit = func(id ID, _ net.Addr) error {
			if id == refuse {
				return errors.New("too many inbound peers")
			}
			return nil
		}
	})
	ccfg := clientOf(t, f.cfg)
	refuse = IDFromKey(ccfg.Key.PublicKey())
	c, _ := f.dial(ccfg) // the handshake itself succeeds
	p := startPeer(c, false)
	err := p.waitClosed(t)
	var de *DisconnectError
	if !errors.As(err, &de) || de.Reason != "too many inbound peers" || !errors.Is(err, ErrPeerDisconnected) {
		t.Fatalf("refused client: %v, want DisconnectError", err)
	}
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectAdmit })
	t.Logf("client: %v; listener: %s %v", err, r.reason, r.err)
	if st := f.ln.Stats(); st.Rejected[RejectAdmit] != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A peer that just reads until EOF (never parses the Disconnect) sees the end at once: the
	// refusing side half-closes after the Disconnect instead of waiting for the peer to close.
	ccfg = clientOf(t, f.cfg)
	refuse = IDFromKey(ccfg.Key.PublicKey())
	c, _ = f.dial(ccfg)
	start := time.Now()
	_ = c.nc.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := io.Copy(io.Discard, c.nc)
	if err != nil || n == 0 || time.Since(start) > DisconnectTimeout/2 {
		t.Fatalf("raw reader: %d bytes, %v after %v; want the Disconnect frame then EOF at once", n, err, time.Since(start))
	}
	f.assertHealthy()
}

func TestDisconnectStarted(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	c, _ := f.dial(clientOf(t, f.cfg))
	s := f.serverPeer(c.LocalID())
	p := startPeer(c, false)
	if err := s.c.Disconnect("invalid block 00ff"); err != nil {
		t.Fatal(err)
	}
	if err := s.waitClosed(t); err != nil {
		t.Fatalf("disconnecting side: onClose(%v), want nil", err)
	}
	err := p.waitClosed(t)
	var de *DisconnectError
	if !errors.As(err, &de) || de.Reason != "invalid block 00ff" {
		t.Fatalf("disconnected side: %v", err)
	}
	f.assertHealthy()
}

func TestStartAfterCloseAndCloseBeforeStart(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	c, _ := f.dial(clientOf(t, f.cfg))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	called := make(chan error, 2)
	c.Start(nil, func(err error) { called <- err })
	select {
	case err := <-called:
		if err != nil {
			t.Fatalf("onClose(%v), want nil", err)
		}
	default:
		t.Fatal("Start after Close did not call onClose")
	}
	c.Start(nil, func(err error) { called <- err }) // second Start: nothing
	if len(called) != 0 {
		t.Fatal("second Start called onClose")
	}
	f.assertHealthy()
}

func TestSendErrors(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, func(cfg *Config, _ *ListenerConfig) { cfg.MaxMessage = map[uint8]uint32{MsgTx: 100} })
	c, _ := f.dial(clientOf(t, f.cfg))
	if err := c.Send(MsgPing, nil); !errors.Is(err, ErrReservedType) {
		t.Fatalf("ping: %v", err)
	}
	if err := c.Send(MsgTx, make([]byte, 101)); !errors.Is(err, ErrMsgTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if err := c.Send(MsgBlock, make([]byte, MaxMessageCap+1)); !errors.Is(err, ErrMsgTooLarge) {
		t.Fatalf("over cap: %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("refused sends must not fail the conn: %v", c.Err())
	}
	f.assertHealthy()
}

func TestConfigValidation(t *testing.T) {
	checkLeaks(t)
	k := mustKey(t)
	p256, err := ecdhP256()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  *Config
		want string
	}{
		{"nil", nil, "nil"},
		{"no key", &Config{}, "Key is nil"},
		{"p256 key", &Config{Key: p256}, "not an X25519"},
		{"negative timeout", &Config{Key: k, IdleTimeout: -1}, "IdleTimeout"},
		{"negative rate", &Config{Key: k, MinRate: -1}, "MinRate"},
		{"ping not under idle", &Config{Key: k, IdleTimeout: time.Second, PingInterval: time.Second}, "PingInterval"},
		{"negative queue", &Config{Key: k, SendQueue: -1}, "SendQueue"},
		{"limit over cap", &Config{Key: k, MaxMessage: map[uint8]uint32{MsgBlock: MaxMessageCap + 1}}, "over the cap"},
		{"ok", &Config{Key: k}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
	s, _ := (&Config{Key: k, MaxMessage: map[uint8]uint32{200: 10, MsgTx: 0}}).settings()
	if s.idleTimeout != DefaultIdleTimeout || s.sendQueue != DefaultSendQueue || s.limits[200] != 10 || s.limits[MsgTx] != TxLimit || s.limits[77] != ControlLimit {
		t.Fatalf("defaults not applied: %+v", s)
	}
	if got := Prologue(testGenesis); len(got) != 49 || string(got[:17]) != "actorchain-p2p/1\x00" || !bytes.Equal(got[17:], testGenesis[:]) {
		t.Fatalf("prologue %q", got)
	}
	if _, err := Listen("127.0.0.1:0", &Config{Key: k}, ListenerConfig{}, nil); err == nil {
		t.Fatal("Listen with nil callback")
	}
	for _, lc := range []ListenerConfig{{MaxHandshakes: -1}, {MaxPendingPerIP: -1}, {ThrottlePerIP: -1}} {
		if _, err := Listen("127.0.0.1:0", &Config{Key: k}, lc, func(*Conn) {}); err == nil {
			t.Fatalf("Listen with %+v", lc)
		}
	}
}

func TestLocalHelloInvalid(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	ccfg := clientOf(t, f.cfg)
	ccfg.Hello = func() Hello { return Hello{ListenAddr: "no port"} }
	start := time.Now()
	_, err := Dial(context.Background(), f.ln.Addr().String(), ccfg, nil)
	if !errors.Is(err, ErrBadHello) || !strings.Contains(err.Error(), "local hello") {
		t.Fatalf("%v, want local ErrBadHello", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("local hello check should fail before any I/O")
	}
	f.assertHealthy()
}

// TestDisconnectAfter: a refusing side sends one message (addresses, for a peer it has no slot
// for), then the Disconnect, on a Conn it never started (the peer manager refuses before it
// starts a connection); the peer reads both, in that order. On a started Conn it is Disconnect.
func TestDisconnectAfter(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	farewell := Addr{Peers: []PeerAddr{{ID: ID{1}, Addr: "127.0.0.1:7601", LastSeen: 1}}}
	for _, started := range []bool{false, true} {
		c, _ := f.dial(clientOf(t, f.cfg))
		s := f.serverPeer(c.LocalID())
		if started {
			startPeer(c, false)
			if err := c.DisconnectAfter(farewell, "bye"); err != nil {
				t.Fatal(err)
			}
			var de *DisconnectError
			if err := s.waitClosed(t); !errors.As(err, &de) || de.Reason != "bye" {
				t.Fatalf("started: peer closed with %v, want the Disconnect", err)
			}
			continue
		}
		if err := c.DisconnectAfter(farewell, "too many inbound connections"); err != nil {
			t.Fatalf("started %v: %v", started, err)
		}
		select {
		case m := <-s.msgs:
			got, err := DecodeAddr(m.payload)
			if m.typ != MsgAddr || err != nil || len(got.Peers) != 1 || got.Peers[0] != farewell.Peers[0] {
				t.Fatalf("started %v: first message type %d %+v %v, want the addresses", started, m.typ, got, err)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("started %v: no message before the disconnect", started)
		}
		var de *DisconnectError
		if err := s.waitClosed(t); !errors.As(err, &de) || de.Reason != "too many inbound connections" {
			t.Fatalf("started %v: peer closed with %v, want the Disconnect", started, err)
		}
	}
	f.assertHealthy()
}
