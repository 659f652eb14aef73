package noisep2p

import (
	"bytes"
	"context"
	"github.com/actorchain/actorchain/internal/testutil"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestWireSizeIsWhatTheWriterWrites: WireSize(n) equals the bytes frameWriter writes for a
// payload of n bytes, across the frame boundaries.
func TestWireSizeIsWhatTheWriterWrites(t *testing.T) {
	enc, _ := memCiphers(t)
	fw := frameWriter{enc: enc}
	check := func(t interface {
		Fatal(...any)
		Fatalf(string, ...any)
	}, n int) {
		var buf bytes.Buffer
		if err := fw.writeMessage(&buf, MsgBlock, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if got := WireSize(n); got != uint64(buf.Len()) {
			t.Fatalf("WireSize(%d) = %d, the writer wrote %d", n, got, buf.Len())
		}
	}
	for _, n := range []int{0, 1, maxFirstData - 1, maxFirstData, maxFirstData + 1, maxFirstData + maxFramePlain, maxFirstData + maxFramePlain + 1, 1 << 20} {
		check(t, n)
	}
	rapid.Check(t, func(t *rapid.T) { check(t, rapid.IntRange(0, 400_000).Draw(t, "n")) })
}

// countingConn counts the bytes written through it.
type countingConn struct {
	net.Conn
	n atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(uint64(n))
	return n, err
}

func total(t *Traffic, sent bool) (msgs, bytes uint64) {
	for typ := 0; typ < 256; typ++ {
		m, b := t.Received(uint8(typ))
		if sent {
			m, b = t.Sent(uint8(typ))
		}
		msgs, bytes = msgs+m, bytes+b
	}
	return msgs, bytes
}

// TestTrafficCountsTheWire: a connection's Traffic counts, per type, the messages sent and their
// bytes exactly as the socket saw them after the handshake, and the other end counts the same
// as received.
func TestTrafficCountsTheWire(t *testing.T) {
	var tc, ts Traffic
	ccfg, scfg := testConfig(t), testConfig(t)
	ccfg.Traffic, scfg.Traffic = &tc, &ts
	a, b := net.Pipe()
	ca := &countingConn{Conn: a}
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
	client, err := Client(ctx, ca, ccfg, nil)
	r := <-ch
	if err != nil || r.err != nil {
		t.Fatalf("pipe handshake: client %v, server %v", err, r.err)
	}
	handshake := ca.n.Load()
	startPeer(client, false)
	sp := startPeer(r.c, false)
	defer func() { _ = client.Close(); _ = r.c.Close() }()
	sizes := []int{0, 10, 200, maxFirstData + 5}
	for _, n := range sizes {
		if err := client.Send(MsgTx, make([]byte, min(n, TxLimit))); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Send(MsgBlock, make([]byte, 300_000)); err != nil {
		t.Fatal(err)
	}
	sp.waitMsg(t, MsgBlock)
	var want uint64
	for _, n := range sizes {
		want += WireSize(min(n, TxLimit))
	}
	if m, got := tc.Sent(MsgTx); m != uint64(len(sizes)) || got != want {
		t.Fatalf("tx sent: %d messages of %d bytes, want %d of %d", m, got, len(sizes), want)
	}
	if m, got := tc.Sent(MsgBlock); m != 1 || got != WireSize(300_000) {
		t.Fatalf("block sent: %d messages of %d bytes, want 1 of %d", m, got, WireSize(300_000))
	}
	// Pings and pongs flow too: wait until both ends and the socket agree.
	var sent, recv, wire uint64
	testutil.WaitFor(t, 5*time.Second, "both ends and the socket to agree on the bytes", func() bool {
		_, sent = total(&tc, true)
		_, recv = total(&ts, false)
		wire = ca.n.Load() - handshake
		return sent == recv && sent == wire
	})
	if m, _ := ts.Received(MsgTx); m != uint64(len(sizes)) {
		t.Fatalf("server received %d tx messages, want %d", m, len(sizes))
	}
}
