package noisep2p

// The adversarial catalogue of guides/noise-p2p.md §4. Every case runs next to a healthy
// connected pair (the fixture) that must still exchange an application message and a ping/pong
// after the attack, and every test ends with a goroutine leak check.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/flynn/noise"
)

// handshakeTimeout sets the listener's absolute handshake deadline.
func handshakeTimeout(d time.Duration) fixtureOpt {
	return func(cfg *Config, _ *ListenerConfig) { cfg.HandshakeTimeout = d }
}

// readClosed reads from c until it is closed by the peer (or deadline); it reports whether the
// connection was closed (EOF or reset) rather than timing out.
func readClosed(c net.Conn, deadline time.Time) bool {
	_ = c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c)
	return err == nil || !isTimeout(err)
}

// noiseM1 returns a valid message 1 (a fresh ephemeral key) and the handshake state behind it.
func noiseM1(t testing.TB) ([]byte, *noise.HandshakeState) {
	s, _ := cfgSettings(t)
	hs, err := newHandshakeState(s, true)
	if err != nil {
		t.Fatal(err)
	}
	m1, _, _, err := hs.WriteMessage(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{0, 32}, m1...), hs
}

func TestAttackGarbageBeforeHandshake(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))
	c := rawDial(t, f.ln.Addr(), "")
	start := time.Now()
	write(t, c, []byte("GET / HTTP/1.1\r\nHost: example\r\n\r\n"))
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, ErrBadFrame) || !strings.Contains(r.err.Error(), "18245") {
		t.Fatalf("rejection %v, want bad frame length 18245", r.err)
	}
	if !readClosed(c, time.Now().Add(2*time.Second)) || time.Since(start) > time.Second {
		t.Fatalf("garbage connection not closed at once (%v)", time.Since(start))
	}
	t.Logf("%v after %v", r.err, r.at.Sub(start))
	f.assertHealthy()
}

func TestAttackRandomM1ThenSilence(t *testing.T) {
	checkLeaks(t)
	const hto = 400 * time.Millisecond
	f := newFixture(t, handshakeTimeout(hto))
	start := time.Now() // before the dial: the responder's deadline starts after this
	c := rawDial(t, f.ln.Addr(), "")
	m1 := make([]byte, 32)
	_, _ = rand.Read(m1)
	write(t, c, []byte{0, 32}, m1)
	// Message 1 is unauthenticated: the responder answers with message 2.
	if _, err := readHandshakeMsg(c, minM2Size, maxHandshakeMsg); err != nil {
		t.Fatalf("no message 2 for a random m1: %v", err)
	}
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	el := r.at.Sub(start)
	if !errors.Is(r.err, os.ErrDeadlineExceeded) || !strings.Contains(r.err.Error(), "read message 3") {
		t.Fatalf("rejection %v, want a deadline at message 3", r.err)
	}
	if el < hto || el > hto+1500*time.Millisecond {
		t.Fatalf("failed after %v, want about %v", el, hto)
	}
	t.Logf("%v after %v", r.err, el)
	f.assertHealthy()
}

func TestAttackLowOrderEphemeral(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))
	c := rawDial(t, f.ln.Addr(), "")
	write(t, c, []byte{0, 32}, make([]byte, 32))
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, ErrBadHandshake) || !strings.Contains(r.err.Error(), "low order") {
		t.Fatalf("rejection %v, want low order point", r.err)
	}
	if !readClosed(c, time.Now().Add(2*time.Second)) {
		t.Fatal("not closed")
	}
	t.Logf("%v", r.err)
	f.assertHealthy()
}

func TestAttackTruncatedHandshake(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))
	c := rawDial(t, f.ln.Addr(), "")
	write(t, c, []byte{0, 32, 1, 2, 3, 4, 5})
	_ = c.Close()
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	if !errors.Is(r.err, io.ErrUnexpectedEOF) {
		t.Fatalf("rejection %v, want unexpected EOF", r.err)
	}
	t.Logf("%v", r.err)
	f.assertHealthy()
}

func TestAttackSlowloris(t *testing.T) {
	checkLeaks(t)
	const hto = 400 * time.Millisecond
	f := newFixture(t, handshakeTimeout(hto))
	start := time.Now() // before the dial: the responder's deadline starts after this
	c := rawDial(t, f.ln.Addr(), "")
	write(t, c, []byte{0, 32})
	// One byte every 100 ms: the 32 bytes would take 3.2 s, eight times the deadline.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 32; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{byte(i)}); err != nil {
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
	el := r.at.Sub(start)
	if !errors.Is(r.err, os.ErrDeadlineExceeded) || !strings.Contains(r.err.Error(), "read message 1") {
		t.Fatalf("rejection %v, want deadline at message 1", r.err)
	}
	if el < hto || el > 2*time.Second {
		t.Fatalf("slowloris closed after %v, want about %v (absolute deadline; the trickle lasts 3.2 s)", el, hto)
	}
	t.Logf("%v after %v", r.err, el)
	f.assertHealthy()
}

func TestAttackOversizedHandshakeFrame(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))

	t.Run("m1 0xffff", func(t *testing.T) {
		c := rawDial(t, f.ln.Addr(), "")
		start := time.Now()
		write(t, c, []byte{0xff, 0xff}) // no body follows: reading it would hang to the deadline
		r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
		if !errors.Is(r.err, ErrBadFrame) || !strings.Contains(r.err.Error(), "65535") || r.at.Sub(start) > time.Second {
			t.Fatalf("rejection %v after %v, want an immediate bad frame", r.err, r.at.Sub(start))
		}
		t.Logf("%v", r.err)
	})
	t.Run("m1 33 bytes", func(t *testing.T) {
		c := rawDial(t, f.ln.Addr(), "")
		write(t, c, []byte{0, 33}, make([]byte, 33))
		r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
		if !errors.Is(r.err, ErrBadFrame) {
			t.Fatalf("rejection %v, want bad frame", r.err)
		}
	})
	t.Run("m3 1025", func(t *testing.T) {
		c := rawDial(t, f.ln.Addr(), "")
		m1, hs := noiseM1(t)
		write(t, c, m1)
		m2, err := readHandshakeMsg(c, minM2Size, maxHandshakeMsg)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := hs.ReadMessage(nil, m2); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		write(t, c, []byte{0x04, 0x01})
		r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
		if !errors.Is(r.err, ErrBadFrame) || !strings.Contains(r.err.Error(), "read message 3") || r.at.Sub(start) > time.Second {
			t.Fatalf("rejection %v after %v, want an immediate bad frame at message 3", r.err, r.at.Sub(start))
		}
		t.Logf("%v", r.err)
	})
	t.Run("m2 0xffff to the initiator", func(t *testing.T) {
		ln := fakeResponder(t, func(c net.Conn) {
			var m1 [34]byte
			if _, err := io.ReadFull(c, m1[:]); err == nil {
				_, _ = c.Write([]byte{0xff, 0xff})
			}
		})
		cfg := clientOf(t, f.cfg)
		cfg.HandshakeTimeout = 5 * time.Second
		start := time.Now()
		_, err := Dial(context.Background(), ln.Addr().String(), cfg, nil)
		if !errors.Is(err, ErrBadFrame) || !strings.Contains(err.Error(), "read message 2") || time.Since(start) > time.Second {
			t.Fatalf("initiator: %v after %v, want an immediate bad frame", err, time.Since(start))
		}
		t.Logf("%v", err)
	})
	f.assertHealthy()
}

// fakeResponder accepts one connection at a time and runs serve on it; everything is joined at
// cleanup.
func fakeResponder(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			serve(c)
			// Hold the connection until the peer closes it (or cleanup does).
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln
}

func TestAttackBadHello(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))
	good := Hello{Genesis: testGenesis, ListenAddr: "127.0.0.1:1"}
	trailing := append(good.Encode(), 0)
	otherChain := good
	otherChain.Genesis = [32]byte{7}
	huge := append(good.Encode()[:helloFixedSize-1], 255)
	huge = append(huge, bytes.Repeat([]byte{'a'}, 4096)...)

	for _, tc := range []struct {
		name    string
		payload []byte
		want    error
	}{
		{"trailing bytes", trailing, ErrBadHello},
		{"wrong genesis", otherChain.Encode(), ErrWrongChain},
		{"4 KiB addr", huge, ErrBadFrame}, // message 3 over 1 KiB: refused before its body is read
		{"empty", []byte{}, ErrBadHello},
	} {
		t.Run("initiator sends "+tc.name, func(t *testing.T) {
			s, _ := clientOf(t, f.cfg).settings()
			nc := rawDial(t, f.ln.Addr(), "")
			_, _ = handshake(context.Background(), nc, s, true, nil, tc.payload)
			r := f.expectReject(func(r rejection) bool { return r.reason == RejectHandshake })
			if !errors.Is(r.err, tc.want) {
				t.Fatalf("responder: %v, want %v", r.err, tc.want)
			}
			t.Logf("%v", r.err)
		})
		t.Run("responder sends "+tc.name, func(t *testing.T) {
			m3 := make(chan error, 1)
			ln := fakeResponder(t, func(c net.Conn) {
				s, _ := cfgSettings(t)
				_, err := handshake(context.Background(), c, s, false, nil, tc.payload)
				m3 <- err
			})
			_, err := Dial(context.Background(), ln.Addr().String(), clientOf(t, f.cfg), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("initiator: %v, want %v", err, tc.want)
			}
			// EOF, or a reset when the initiator closed with our oversized message unread.
			if err := <-m3; !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) || !strings.Contains(err.Error(), "read message 3") {
				t.Fatalf("the bad responder got %v, want EOF before message 3", err)
			}
		})
	}
	f.assertHealthy()
}

// ---- after the handshake ---------------------------------------------------------------------

// expectClosed waits for the victim to close with an error matching want and checks that no
// application message was delivered beyond those in delivered.
func expectClosed(t *testing.T, v *peer, want error, delivered ...string) error {
	t.Helper()
	err := v.waitClosed(t)
	if !errors.Is(err, want) {
		t.Fatalf("victim closed with %v, want %v", err, want)
	}
	var got []string
	for len(v.msgs) > 0 {
		got = append(got, string((<-v.msgs).payload))
	}
	if strings.Join(got, ",") != strings.Join(delivered, ",") {
		t.Fatalf("delivered %q, want %q", got, delivered)
	}
	if n := v.c.live.Load(); n != 0 {
		t.Fatalf("%d goroutines still running after onClose", n)
	}
	t.Logf("victim: %v", err)
	return err
}

func TestAttackTamperedFrame(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	a, v := f.attacker()
	fr := frames(t, a, MsgTx, []byte("tampered"))[0]
	fr[10] ^= 0x01
	write(t, a.nc, fr)
	expectClosed(t, v, ErrDecrypt)
	f.assertHealthy()
}

func TestAttackReplayedFrame(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	a, v := f.attacker()
	fr := frames(t, a, MsgTx, []byte("m1"))[0]
	write(t, a.nc, fr, fr)
	expectClosed(t, v, ErrDecrypt, "m1")
	f.assertHealthy()
}

func TestAttackReorderedFrames(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	t.Run("messages", func(t *testing.T) {
		a, v := f.attacker()
		f1 := frames(t, a, MsgTx, []byte("first"))[0]
		f2 := frames(t, a, MsgTx, []byte("second"))[0]
		write(t, a.nc, f2, f1)
		expectClosed(t, v, ErrDecrypt)
	})
	t.Run("frames of one message", func(t *testing.T) {
		a, v := f.attacker()
		fs := frames(t, a, MsgTx, bytes.Repeat([]byte{1}, maxFirstData+10))
		if len(fs) != 2 {
			t.Fatalf("%d frames", len(fs))
		}
		write(t, a.nc, fs[1], fs[0])
		expectClosed(t, v, ErrDecrypt)
	})
	f.assertHealthy()
}

func TestAttackRuntFrame(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	t.Run("length 3", func(t *testing.T) {
		a, v := f.attacker()
		write(t, a.nc, []byte{0, 3, 1, 2, 3})
		err := expectClosed(t, v, ErrBadFrame)
		if !strings.Contains(err.Error(), "frame length 3") {
			t.Fatalf("%v", err)
		}
		if n := v.c.dec.Nonce(); n != 0 {
			t.Fatalf("a decrypt was attempted (nonce %d)", n)
		}
	})
	t.Run("first frame of 20", func(t *testing.T) {
		a, v := f.attacker()
		write(t, a.nc, rawFrame(t, a, []byte{0, 0, 0, 0})) // 4 + 16 = 20 < 21
		expectClosed(t, v, ErrBadFrame)
		if n := v.c.dec.Nonce(); n != 0 {
			t.Fatalf("a decrypt was attempted (nonce %d)", n)
		}
	})
	t.Run("empty continuation", func(t *testing.T) {
		a, v := f.attacker()
		write(t, a.nc, rawFrame(t, a, firstPlain(10, MsgTx, []byte("abc"))), rawFrame(t, a, nil))
		expectClosed(t, v, ErrBadFrame)
	})
	f.assertHealthy()
}

func TestAttackOversizedDeclaredLength(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		l    uint32
		typ  uint8
	}{
		{"block 1 GiB", 1 << 30, MsgBlock},
		{"tx over 64 KiB", TxLimit + 1, MsgTx},
		{"unknown type over 64 KiB", ControlLimit + 1, 200},
		{"inv over its limit", InvLimit + 1, MsgInv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, v := f.attacker()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			write(t, a.nc, rawFrame(t, a, firstPlain(tc.l, tc.typ, []byte("x"))))
			err := expectClosed(t, v, ErrMsgTooLarge)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if !strings.Contains(err.Error(), "message too large") {
				t.Fatalf("%v", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; tc.l >= 1<<30 && grew > 64<<20 {
				t.Fatalf("allocated %d bytes for a rejected declaration", grew)
			}
		})
	}
	f.assertHealthy()
}

func TestAttackOverlongContinuation(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	t.Run("continuation", func(t *testing.T) {
		a, v := f.attacker()
		write(t, a.nc, rawFrame(t, a, firstPlain(100, MsgTx, make([]byte, 50))), rawFrame(t, a, make([]byte, 60)))
		expectClosed(t, v, ErrBadFrame)
	})
	t.Run("first frame", func(t *testing.T) {
		a, v := f.attacker()
		write(t, a.nc, rawFrame(t, a, firstPlain(10, MsgTx, make([]byte, 11))))
		expectClosed(t, v, ErrBadFrame)
	})
	f.assertHealthy()
}

func TestAttackStalledMidMessage(t *testing.T) {
	checkLeaks(t)
	// MessageTimeout 500ms, MinRate 64 MiB/s (1 MiB adds 16 ms), idle 5 s: the close must come
	// from the per-message deadline, long before the idle one.
	f := newFixture(t, func(cfg *Config, _ *ListenerConfig) { cfg.IdleTimeout = 5 * time.Second })
	a, v := f.attacker()
	fs := frames(t, a, MsgBlock, make([]byte, 1<<20))
	start := time.Now()
	write(t, a.nc, fs[0])
	err := expectClosed(t, v, ErrMessageTimeout)
	el := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) || el < 450*time.Millisecond || el > 1500*time.Millisecond {
		t.Fatalf("%v after %v, want the per-message deadline (~516ms)", err, el)
	}
	t.Logf("closed after %v", el)
	f.assertHealthy()
}

func TestAttackHalfOpenPeer(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, func(cfg *Config, _ *ListenerConfig) {
		cfg.IdleTimeout = 400 * time.Millisecond
		cfg.PingInterval = 100 * time.Millisecond
	})
	_, v := f.attacker() // completes the handshake, then never sends a byte
	start := time.Now()
	err := expectClosed(t, v, ErrIdleTimeout)
	el := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) || el > 2*time.Second {
		t.Fatalf("%v after %v", err, el)
	}
	t.Logf("closed after %v", el)
	// Both goroutines have exited (expectClosed checked live == 0); Close joins at once.
	done := make(chan struct{})
	go func() { _ = v.c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Close did not return")
	}
	f.assertHealthy()
}

func TestAttackPeerNeverReads(t *testing.T) {
	checkLeaks(t)
	block := make([]byte, 1<<20)
	t.Run("queue full", func(t *testing.T) {
		f := newFixture(t, func(cfg *Config, _ *ListenerConfig) {
			cfg.SendQueue = 4
			cfg.WriteTimeout = 5 * time.Second
		})
		_, v := f.attacker() // never reads
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			err = v.c.Send(MsgBlock, block)
		}
		if !errors.Is(err, ErrSlowPeer) {
			t.Fatalf("Send: %v, want ErrSlowPeer", err)
		}
		expectClosed(t, v, ErrSlowPeer)
		f.assertHealthy()
	})
	t.Run("write deadline", func(t *testing.T) {
		f := newFixture(t, func(cfg *Config, _ *ListenerConfig) {
			cfg.SendQueue = 1000
			cfg.WriteTimeout = 300 * time.Millisecond
		})
		_, v := f.attacker()
		for i := 0; i < 64; i++ {
			if err := v.c.Send(MsgBlock, block); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		expectClosed(t, v, ErrWriteTimeout)
		f.assertHealthy()
	})
}

func TestAttackConnectionFlood(t *testing.T) {
	checkLeaks(t)
	const n, maxHS = 500, 32
	f := newFixture(t, handshakeTimeout(10*time.Second), func(_ *Config, lc *ListenerConfig) {
		lc.MaxHandshakes = maxHS
		lc.MaxPendingPerIP = 1000 // the global cap is under test here
		lc.ExemptLoopback = false
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawDial(t, f.ln.Addr(), "127.0.0.2")
	}
	testutil.WaitFor(t, waitTimeout, "flood admitted or rejected", func() bool {
		st := f.ln.Stats()
		return uint64(st.InFlight)+st.Rejected[RejectBusy] >= n
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	st := f.ln.Stats()
	if st.PeakInFlight > maxHS || st.InFlight > maxHS {
		t.Fatalf("%d handshakes in flight (peak %d), cap %d", st.InFlight, st.PeakInFlight, maxHS)
	}
	if st.Rejected[RejectBusy] < n-maxHS {
		t.Fatalf("rejected %d, want >= %d", st.Rejected[RejectBusy], n-maxHS)
	}
	// The rejected connections are closed at once; the admitted ones wait for their deadline.
	deadline := time.Now().Add(time.Second)
	var closedN atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if readClosed(c, deadline) {
				closedN.Add(1)
			}
		}()
	}
	wg.Wait()
	closed := int(closedN.Load())
	if closed < n-maxHS {
		t.Fatalf("%d connections closed at once, want >= %d", closed, n-maxHS)
	}
	perConn := (int64(after.HeapInuse) - int64(before.HeapInuse)) / n
	t.Logf("stats %+v; closed at once %d/%d; heap growth %d B per flood connection (both ends in this process)", st, closed, n, perConn)
	if perConn > 8<<10 {
		t.Fatalf("heap grew %d B per connection", perConn)
	}
	f.assertHealthy()
	for _, c := range conns {
		_ = c.Close()
	}
	testutil.WaitFor(t, waitTimeout, "handshakes drained", func() bool { return f.ln.Stats().InFlight == 0 })
}

func TestAttackConnectionFloodPerIP(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(10*time.Second), func(_ *Config, lc *ListenerConfig) {
		lc.MaxPendingPerIP = 2
		lc.ExemptLoopback = false
	})
	conns := make([]net.Conn, 200)
	for i := range conns {
		conns[i] = rawDial(t, f.ln.Addr(), "127.0.0.2")
	}
	testutil.WaitFor(t, waitTimeout, "flood handled", func() bool { st := f.ln.Stats(); return st.Rejected[RejectPerIP] >= 198 })
	if st := f.ln.Stats(); st.InFlight != 2 || st.PeakInFlight > 2 {
		t.Fatalf("stats %+v, want 2 in flight from the flooding IP", st)
	}
	// Another IP (127.0.0.1) still gets a handshake while the flood holds its two slots.
	c, _ := f.dial(clientOf(t, f.cfg))
	_ = c.Close()
	f.assertHealthy()
	for _, c := range conns {
		_ = c.Close()
	}
	testutil.WaitFor(t, waitTimeout, "handshakes drained", func() bool { return f.ln.Stats().InFlight == 0 })
}

func TestAttackHandshakeCPUFlood(t *testing.T) {
	checkLeaks(t)
	const throttle = 100 * time.Millisecond
	const flood = time.Second
	f := newFixture(t, func(cfg *Config, lc *ListenerConfig) {
		lc.ThrottlePerIP = throttle
		lc.ExemptLoopback = false
		cfg.HandshakeTimeout = 300 * time.Millisecond
	})
	m1, _ := noiseM1(t)
	var served, attempts atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	floodStart := time.Now()
	go func() { // the attacker: valid m1s from 127.0.0.3 as fast as it can
		defer wg.Done()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}}
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, err := d.Dial("tcp", f.ln.Addr().String())
			if err != nil {
				continue
			}
			attempts.Add(1)
			_, _ = c.Write(m1)
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			var hdr [2]byte
			if _, err := io.ReadFull(c, hdr[:]); err == nil {
				served.Add(1) // the responder did its DH work for this one
			}
			_ = c.Close()
		}
	}()
	// Meanwhile the healthy pair keeps pinging.
	var maxRTT time.Duration
	end := time.Now().Add(flood)
	for time.Now().Before(end) {
		before := f.hc.c.pongs.Load()
		f.hc.c.Ping()
		testutil.WaitFor(t, waitTimeout, "pong during flood", func() bool { return f.hc.c.pongs.Load() > before })
		maxRTT = max(maxRTT, f.hc.c.RTT())
	}
	// A new peer from another IP still gets in during the flood.
	c, _ := f.dial(clientOf(t, f.cfg))
	_ = c.Close()
	close(stop)
	wg.Wait()
	elapsed := time.Since(floodStart)
	st := f.ln.Stats()
	limit := int64(elapsed/throttle) + 2
	t.Logf("%v: attempts %d, served %d (limit %d), rejected %v, healthy max RTT %v", elapsed, attempts.Load(), served.Load(), limit, st.Rejected, maxRTT)
	if served.Load() > limit {
		t.Fatalf("served %d handshakes to one IP in %v with a %v throttle", served.Load(), elapsed, throttle)
	}
	if st.Rejected[RejectThrottle] < uint64(attempts.Load()-served.Load())/2 {
		t.Fatalf("throttle rejected only %d of %d", st.Rejected[RejectThrottle], attempts.Load())
	}
	if maxRTT > time.Second {
		t.Fatalf("healthy RTT %v during the flood", maxRTT)
	}
	f.assertHealthy()
}

func TestShutdownMidHandshake(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t, handshakeTimeout(5*time.Second))
	silent := fakeResponder(t, func(net.Conn) {}) // accepts, never answers
	t.Run("client cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cfg := clientOf(t, f.cfg)
		cfg.HandshakeTimeout = 5 * time.Second
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := Dial(ctx, silent.Addr().String(), cfg, nil)
		if err != context.Canceled || time.Since(start) > time.Second {
			t.Fatalf("%v after %v, want context.Canceled at ~100ms", err, time.Since(start))
		}
	})
	t.Run("client ctx deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		cfg := clientOf(t, f.cfg)
		cfg.HandshakeTimeout = 5 * time.Second
		start := time.Now()
		_, err := Dial(ctx, silent.Addr().String(), cfg, nil)
		if err != context.DeadlineExceeded || time.Since(start) > time.Second {
			t.Fatalf("%v after %v, want context.DeadlineExceeded", err, time.Since(start))
		}
	})
	t.Run("server cancel", func(t *testing.T) {
		a, b := net.Pipe()
		defer a.Close()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := Server(ctx, b, f.cfg); err != context.Canceled {
			t.Fatalf("%v, want context.Canceled", err)
		}
	})
	t.Run("listener close", func(t *testing.T) {
		ln, err := Listen("127.0.0.1:0", f.cfg, ListenerConfig{}, func(c *Conn) { _ = c.Close() })
		if err != nil {
			t.Fatal(err)
		}
		c := rawDial(t, ln.Addr(), "")
		m1, _ := noiseM1(t)
		write(t, c, m1) // the responder now waits for message 3
		testutil.WaitFor(t, waitTimeout, "handshake in flight", func() bool { return ln.Stats().InFlight == 1 })
		start := time.Now()
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("Close took %v", el)
		}
		if st := ln.Stats(); st.Rejected[RejectClosed] != 1 || st.InFlight != 0 {
			t.Fatalf("stats %+v", st)
		}
		_ = ln.Close() // idempotent
	})
	f.assertHealthy()
}

func TestNonceExhaustion(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	t.Run("send side", func(t *testing.T) {
		a, b := pipePair(t, clientOf(t, f.cfg), clientOf(t, f.cfg))
		a.fw.enc.SetNonce(noise.MaxNonce) // the last usable nonce: one more frame, then ErrMaxNonce
		b.dec.SetNonce(noise.MaxNonce)
		pa, pb := startPeer(a, false), startPeer(b, false)
		defer b.Close()
		err := pa.waitClosed(t)
		if !errors.Is(err, ErrNonceExhausted) || !errors.Is(err, noise.ErrMaxNonce) {
			t.Fatalf("sender: %v, want ErrNonceExhausted", err)
		}
		if err := pb.waitClosed(t); err == nil {
			t.Fatal("receiver: nil")
		}
		t.Logf("sender: %v", err)
	})
	t.Run("receive side", func(t *testing.T) {
		a, b := pipePair(t, clientOf(t, f.cfg), clientOf(t, f.cfg))
		b.dec.SetNonce(noise.MaxNonce + 1)
		pa, pb := startPeer(a, false), startPeer(b, false)
		defer a.Close()
		err := pb.waitClosed(t)
		if !errors.Is(err, ErrNonceExhausted) {
			t.Fatalf("receiver: %v, want ErrNonceExhausted", err)
		}
		_ = pa.waitClosed(t)
		t.Logf("receiver: %v", err)
	})
	f.assertHealthy()
}

func TestUnknownTypeDelivered(t *testing.T) {
	checkLeaks(t)
	f := newFixture(t)
	a, v := f.attacker()
	fs := frames(t, a, 200, []byte("future"))
	write(t, a.nc, fs...)
	got := v.waitMsg(t, 200)
	if _, err := DecodeMessage(200, got); !errors.Is(err, ErrUnknownMessage) {
		t.Fatalf("DecodeMessage: %v", err)
	}
	// Malformed ping inside the transport: a protocol violation that closes.
	write(t, a.nc, frames(t, a, MsgPing, []byte{1, 2, 3})...)
	expectClosed(t, v, ErrMalformed)
	f.assertHealthy()
}
