package noisep2p

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/flynn/noise"
	"go.uber.org/goleak"
)

// checkLeaks verifies, after every cleanup of the test has run, that no goroutine is left. Call
// it first in sequential tests (sequential tests never overlap with parallel ones).
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

var testGenesis = [32]byte{0xac, 0x70, 0x12, 0xc4, 0x01}

// waitTimeout bounds every wait in the tests; reaching it is a failure, never a synchronisation.
const waitTimeout = 5 * time.Second

func mustKey(t testing.TB) *ecdh.PrivateKey {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testConfig returns a config with short timeouts for tests.
func testConfig(t testing.TB) *Config {
	return &Config{
		Key:              mustKey(t),
		Genesis:          testGenesis,
		Hello:            func() Hello { return Hello{Minor: 3, BestHeight: 42, TipHash: [32]byte{9}, Features: 5} },
		HandshakeTimeout: 2 * time.Second,
		IdleTimeout:      2 * time.Second,
		PingInterval:     200 * time.Millisecond,
		MessageTimeout:   500 * time.Millisecond,
		WriteTimeout:     500 * time.Millisecond,
		MinRate:          64 << 20,
	}
}

// clientOf returns a copy of cfg with a fresh key.
func clientOf(t testing.TB, cfg *Config) *Config {
	c := *cfg
	c.Key = mustKey(t)
	return &c
}

type msg struct {
	typ     uint8
	payload []byte
}

// peer is a started Conn that records what it receives.
type peer struct {
	c      *Conn
	msgs   chan msg
	closed chan error
}

// startPeer starts c; with echo it sends every Tx back.
func startPeer(c *Conn, echo bool) *peer {
	p := &peer{c: c, msgs: make(chan msg, 1024), closed: make(chan error, 1)}
	c.Start(func(typ uint8, b []byte) {
		if echo && typ == MsgTx {
			_ = c.Send(MsgTx, b)
		}
		select {
		case p.msgs <- msg{typ, b}:
		default:
		}
	}, func(err error) { p.closed <- err })
	return p
}

// waitClosed returns the reason given to onClose.
func (p *peer) waitClosed(t testing.TB) error {
	t.Helper()
	select {
	case err := <-p.closed:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("connection to %s not closed after %v", p.c.RemoteID().Short(), waitTimeout)
		return nil
	}
}

// waitMsg returns the next recorded message of type typ.
func (p *peer) waitMsg(t testing.TB, typ uint8) []byte {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case m := <-p.msgs:
			if m.typ == typ {
				return m.payload
			}
		case <-deadline:
			t.Fatalf("no %s within %v", MsgName(typ), waitTimeout)
			return nil
		}
	}
}

type rejection struct {
	addr   net.Addr
	reason string
	err    error
	at     time.Time
}

// fixture is a listener with a healthy connected pair next to which an attack runs.
type fixture struct {
	t       *testing.T
	cfg     *Config // the listener's
	ln      *Listener
	rejects chan rejection
	hc, hs  *peer // healthy client and its server side

	mu       sync.Mutex
	accepted []*peer
	waiters  map[ID]chan *peer
}

type fixtureOpt func(cfg *Config, lc *ListenerConfig)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	f := &fixture{t: t, cfg: testConfig(t), rejects: make(chan rejection, 4096), waiters: map[ID]chan *peer{}}
	lc := ListenerConfig{ExemptLoopback: true}
	for _, o := range opts {
		o(f.cfg, &lc)
	}
	lc.Rejected = func(addr net.Addr, reason string, err error) {
		select {
		case f.rejects <- rejection{addr, reason, err, time.Now()}:
		default:
		}
	}
	ln, err := Listen("127.0.0.1:0", f.cfg, lc, func(c *Conn) {
		p := startPeer(c, true)
		f.mu.Lock()
		f.accepted = append(f.accepted, p)
		ch := f.waiterLocked(c.RemoteID())
		f.mu.Unlock()
		ch <- p
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	t.Cleanup(f.close)
	cc, _ := f.dial(clientOf(t, f.cfg))
	f.hc = startPeer(cc, false)
	f.hs = f.serverPeer(cc.LocalID())
	f.assertHealthy()
	return f
}

func (f *fixture) waiterLocked(id ID) chan *peer {
	ch, ok := f.waiters[id]
	if !ok {
		ch = make(chan *peer, 16)
		f.waiters[id] = ch
	}
	return ch
}

// serverPeer waits for the accepted side of the connection from client id.
func (f *fixture) serverPeer(client ID) *peer {
	f.t.Helper()
	f.mu.Lock()
	ch := f.waiterLocked(client)
	f.mu.Unlock()
	select {
	case p := <-ch:
		return p
	case <-time.After(waitTimeout):
		f.t.Fatalf("no accepted connection from %s", client.Short())
		return nil
	}
}

func (f *fixture) close() {
	if f.hc != nil {
		_ = f.hc.c.Close()
	}
	_ = f.ln.Close()
	f.mu.Lock()
	acc := f.accepted
	f.mu.Unlock()
	for _, p := range acc {
		_ = p.c.Close()
	}
}

// dial runs a handshake with the fixture's listener; the Conn is not started.
func (f *fixture) dial(cfg *Config) (*Conn, error) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	id := f.serverID()
	c, err := Dial(ctx, f.ln.Addr().String(), cfg, &id)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c, err
}

// attacker completes a handshake and returns the unstarted attacker Conn and the victim peer.
func (f *fixture) attacker() (*Conn, *peer) {
	f.t.Helper()
	a, _ := f.dial(clientOf(f.t, f.cfg))
	return a, f.serverPeer(a.LocalID())
}

func (f *fixture) serverID() ID { return IDFromKey(f.cfg.Key.PublicKey()) }

// assertHealthy checks that the healthy pair still exchanges an application message both ways
// and a ping/pong.
func (f *fixture) assertHealthy() {
	f.t.Helper()
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	if err := f.hc.c.Send(MsgTx, nonce[:]); err != nil {
		f.t.Fatalf("healthy pair: send: %v", err)
	}
	deadline := time.After(waitTimeout)
	for done := false; !done; {
		select {
		case m := <-f.hc.msgs:
			done = m.typ == MsgTx && bytes.Equal(m.payload, nonce[:])
		case err := <-f.hc.closed:
			f.t.Fatalf("healthy pair closed: %v", err)
		case <-deadline:
			f.t.Fatalf("healthy pair: no echo within %v", waitTimeout)
		}
	}
	before := f.hc.c.pongs.Load()
	f.hc.c.Ping()
	testutil.WaitFor(f.t, waitTimeout, "healthy pair pong", func() bool { return f.hc.c.pongs.Load() > before })
}

// expectReject waits for a listener rejection that satisfies ok.
func (f *fixture) expectReject(ok func(rejection) bool) rejection {
	f.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case r := <-f.rejects:
			if ok(r) {
				return r
			}
			f.t.Logf("other rejection: %s %v", r.reason, r.err)
		case <-deadline:
			f.t.Fatalf("no expected rejection within %v", waitTimeout)
			return rejection{}
		}
	}
}

// rawDial opens a plain TCP connection to addr, optionally from a given loopback source IP.
func rawDial(t testing.TB, addr net.Addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: waitTimeout}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// frames encodes one message with a's cipher state and returns its frames (each with header).
func frames(t testing.TB, a *Conn, typ uint8, payload []byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	if err := a.fw.writeMessage(&buf, typ, payload); err != nil {
		t.Fatal(err)
	}
	return splitFrames(buf.Bytes())
}

func splitFrames(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 2 {
		n := 2 + int(binary.BigEndian.Uint16(b))
		out = append(out, b[:n:n])
		b = b[n:]
	}
	return out
}

// rawFrame encrypts pt as one frame with a's cipher state.
func rawFrame(t testing.TB, a *Conn, pt []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := a.fw.writeFrame(&buf, pt); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// firstPlain builds a frame₁ plaintext: L ‖ type ‖ data.
func firstPlain(l uint32, typ uint8, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, l)
	return append(append(b, typ), data...)
}

func write(t testing.TB, c net.Conn, b ...[]byte) {
	t.Helper()
	for _, x := range b {
		if _, err := c.Write(x); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
}

// memCiphers returns a matched pair of transport cipher states from an in-memory XX handshake:
// enc encrypts what dec decrypts.
func memCiphers(t testing.TB) (enc, dec *noise.CipherState) {
	t.Helper()
	si, _ := cfgSettings(t)
	sr, _ := cfgSettings(t)
	return memHandshake(t, si, sr)
}

// memHandshake runs XX between two HandshakeStates and returns the initiator's encrypting and the
// responder's decrypting cipher states.
func memHandshake(t testing.TB, si, sr *settings) (enc, dec *noise.CipherState) {
	hi, _ := newHandshakeState(si, true)
	hr, _ := newHandshakeState(sr, false)
	m1, _, _, _ := hi.WriteMessage(nil, nil)
	if _, _, _, err := hr.ReadMessage(nil, m1); err != nil {
		t.Fatal(err)
	}
	m2, _, _, _ := hr.WriteMessage(nil, []byte("x"))
	if _, _, _, err := hi.ReadMessage(nil, m2); err != nil {
		t.Fatal(err)
	}
	m3, ic1, _, err := hi.WriteMessage(nil, []byte("y"))
	if err != nil {
		t.Fatal(err)
	}
	_, rc1, _, err := hr.ReadMessage(nil, m3)
	if err != nil {
		t.Fatal(err)
	}
	return ic1, rc1
}

func cfgSettings(t testing.TB) (*settings, *Config) {
	t.Helper()
	cfg := testConfig(t)
	s, err := cfg.settings()
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg
}

// pipePair runs a handshake over net.Pipe and returns both unstarted ends.
func pipePair(t testing.TB, ccfg, scfg *Config) (client, server *Conn) {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	type res struct {
		c   *Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := Server(ctx, b, scfg)
		ch <- res{c, err}
	}()
	client, err := Client(ctx, a, ccfg, nil)
	r := <-ch
	if err != nil || r.err != nil {
		t.Fatalf("pipe handshake: client %v, server %v", err, r.err)
	}
	return client, r.c
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func ecdhP256() (*ecdh.PrivateKey, error) { return ecdh.P256().GenerateKey(rand.Reader) }
