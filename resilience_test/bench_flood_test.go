package resilience_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

// A healthy pair's latency while its listener is flooded with idle TCP connections: not a figure
// of the performance table (perf/), so it stays here, next to the raw-handshake helpers it uses.

// BenchmarkPingUnderConnFlood measures a healthy pair's round trip (a transfer submitted at B, until
// A's mempool holds it) before and while 500 idle TCP connections from 127.0.0.1 sit on A's p2p
// port. The node closes what its handshake limits refuse; conns-open-* say how many of ours were
// still open when the flood's measurement started and ended.
func BenchmarkPingUnderConnFlood(b *testing.B) {
	const flood, samples = 500, 20
	var senders []ed25519.PrivateKey
	cfg := func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 4
	}
	ha := newHome(b, func(c *config.Config) {
		cfg(c)
		senders = []ed25519.PrivateKey{newKey(b, 60)}
		c.Chain.Alloc[addrOf(senders[0]).String()] = 1 << 50
	})
	na := ha.start(b, actors.Options{})
	hb := newHome(b, func(c *config.Config) {
		cfg(c)
		c.P2P.Seeds = []string{benchPeerAddr(na)}
	})
	hb.cfg.Chain = ha.cfg.Chain.Clone()
	rewrite(b, hb)
	nb := hb.start(b, actors.Options{})
	waitFor(b, 30*time.Second, "A and B connected", func() bool {
		return slices.Contains(connectedIDs(na), nb.n.NodeID()) && slices.Contains(connectedIDs(nb), na.n.NodeID())
	})
	p := na.n.Params()
	to := addrOf(newKey(b, 99))
	var nonce uint64
	rtt := func() time.Duration {
		tx := transfer(p, senders[0], to, 1, 1, nonce)
		nonce++
		t0 := time.Now()
		h, err := nb.n.SubmitTx(context.Background(), tx)
		if err != nil {
			b.Fatalf("submit at B: %v", err)
		}
		deadline := t0.Add(30 * time.Second)
		for {
			_, err := na.n.Tx(context.Background(), h)
			if err == nil {
				return time.Since(t0)
			}
			if !errors.Is(err, actors.ErrNotFound) {
				b.Fatalf("tx at A: %v", err)
			}
			if time.Now().After(deadline) {
				b.Fatalf("tx %d never reached A's mempool (A-B connected: %v)", nonce-1, slices.Contains(connectedIDs(na), nb.n.NodeID()))
			}
			time.Sleep(250 * time.Microsecond) // a bounded poll
		}
	}
	measure := func() []time.Duration {
		out := make([]time.Duration, samples)
		for i := range out {
			out[i] = rtt()
		}
		slices.Sort(out)
		return out
	}
	var baseP50, baseMax, floodP50, floodMax time.Duration
	var openStart, openEnd, dialed int
	var newcomerOK float64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		base := measure()
		baseP50, baseMax = base[len(base)/2], base[len(base)-1]

		var conns []net.Conn
		var open atomic.Int64
		var wg sync.WaitGroup
		d := net.Dialer{Timeout: 2 * time.Second}
		for i := 0; i < flood; i++ {
			c, err := d.Dial("tcp", na.n.P2PAddr())
			if err != nil {
				continue // refused or timed out: counted by conns-dialed
			}
			conns = append(conns, c)
			open.Add(1)
			wg.Add(1)
			go func() { // idle: read only to notice the node closing it
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
				open.Add(-1)
			}()
		}
		dialed = len(conns)
		openStart = int(open.Load())
		fl := measure()
		openEnd = int(open.Load())
		floodP50, floodMax = fl[len(fl)/2], fl[len(fl)-1]
		// A newcomer's handshake while the flood holds A's handshake slots.
		t1 := time.Now()
		if _, err := dialRaw(b, na, rawKey(b, byte(0x70+it%16)), nil); err != nil {
			newcomerOK = 0
			b.Logf("a new peer's handshake with A during the flood failed after %v: %v", time.Since(t1), err)
		} else {
			newcomerOK = 1
		}
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
		if !slices.Contains(connectedIDs(na), nb.n.NodeID()) {
			b.Logf("A and B no longer connected after the flood")
		}
		b.Logf("baseline rtt %v; flood rtt %v", base, fl)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(floodP50), "ms-rtt-p50")
	b.ReportMetric(ms(floodMax), "ms-rtt-max")
	b.ReportMetric(ms(baseP50), "ms-base-p50")
	b.ReportMetric(ms(baseMax), "ms-base-max")
	b.ReportMetric(float64(dialed), "conns-dialed")
	b.ReportMetric(float64(openStart), "conns-open-start")
	b.ReportMetric(float64(openEnd), "conns-open-end")
	b.ReportMetric(newcomerOK, "newcomer-ok")
}

// benchPeerAddr is ID@HOST:PORT of a running node.
func benchPeerAddr(nd *node) string { return nd.n.NodeID() + "@" + nd.n.P2PAddr() }

// connectedIDs is the list of node ids nd is connected to.
func connectedIDs(nd *node) []string {
	info, err := nd.n.Peers(context.Background())
	if err != nil {
		return nil
	}
	var ids []string
	for _, c := range info.Connected {
		ids = append(ids, c.ID)
	}
	return ids
}
