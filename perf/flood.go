package perf

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/noisep2p"
)

// flood measures a healthy pair's round trip (a transfer submitted at B, until A's mempool holds
// it; the median of 20) while 500 idle TCP connections from 127.0.0.1 sit on A's p2p port,
// against the same round trip without them, and whether a new peer can still complete a
// handshake with A during the flood. The node closes what its handshake limits refuse; the note
// says how many of the flood's connections were still open when the measurement started and ended.
func flood(l *Lab, s Sizes) ([]Result, error) {
	const conns, samples = 500, 20
	var senders []ed25519.PrivateKey
	ha, err := l.NewHome(func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 4
		senders = fundSenders(c, 1)
	})
	if err != nil {
		return nil, err
	}
	na, err := ha.Start(actors.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop(na) }()
	hb, err := l.Join(ha, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.Seeds = []string{peerAddr(na)}
	})
	if err != nil {
		return nil, err
	}
	nb, err := hb.Start(actors.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop(nb) }()
	connected := func(n *actors.Node, id string) bool {
		info, err := n.Peers(context.Background())
		return err == nil && slices.ContainsFunc(info.Connected, func(p actors.PeerInfo) bool { return p.ID == id })
	}
	if err := l.poll(30*time.Second, "A and B connected", func() bool {
		return connected(na, nb.NodeID()) && connected(nb, na.NodeID())
	}); err != nil {
		return nil, err
	}
	p := na.Params()
	to := addrOf(keyFromSeed(99))
	var nonce uint64
	rtt := func() (float64, error) {
		tx := transfer(p, senders[0], to, nonce)
		nonce++
		t0 := time.Now()
		h, err := nb.SubmitTx(context.Background(), tx)
		if err != nil {
			return 0, fmt.Errorf("submit at B: %w", err)
		}
		err = l.pollFine(30*time.Second, "the transfer in A's mempool", func() bool {
			_, err := na.Tx(context.Background(), h)
			return err == nil
		})
		return float64(time.Since(t0).Microseconds()) / 1000, err
	}
	measure := func() ([]float64, error) {
		out := make([]float64, samples)
		for i := range out {
			var err error
			if out[i], err = rtt(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	base, err := measure()
	if err != nil {
		return nil, err
	}

	var open atomic.Int64
	var wg sync.WaitGroup
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			_ = c.Close()
		}
		wg.Wait()
	}()
	d := net.Dialer{Timeout: 2 * time.Second}
	for range conns {
		c, err := d.Dial("tcp", na.P2PAddr())
		if err != nil {
			continue // refused or timed out: the note counts what was dialled
		}
		idle = append(idle, c)
		open.Add(1)
		wg.Go(func() { // idle: reads only to notice the node closing it; joined above
			_, _ = io.Copy(io.Discard, c)
			open.Add(-1)
		})
	}
	openStart := open.Load()
	fl, err := measure()
	if err != nil {
		return nil, err
	}
	openEnd := open.Load()
	newcomer := "a new peer's handshake with A during the flood succeeded"
	if err := handshake(na); err != nil {
		newcomer = fmt.Sprintf("a new peer's handshake with A during the flood was refused: %v", err)
	}
	r := relative("flood", fmt.Sprintf("transfer B to A, %d idle connections on A's port", conns), median(fl), "ms",
		"the same without them", median(base), "ms")
	r.Note = fmt.Sprintf("median of %d; max %.1f ms (without: %.1f ms); %d connections dialled, %d still open when the measurement started, %d when it ended; %s",
		samples, slices.Max(fl), slices.Max(base), len(idle), openStart, openEnd, newcomer)
	return []Result{r}, nil
}

// handshake completes a Noise handshake with n as a new peer and closes the connection.
func handshake(n *actors.Node) error {
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	id, err := noisep2p.ParseID(n.NodeID())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := noisep2p.Dial(ctx, n.P2PAddr(), &noisep2p.Config{Key: key, Genesis: n.Params().GenesisHash()}, &id)
	if err != nil {
		return err
	}
	if err := c.Close(); err != nil && !errors.Is(err, noisep2p.ErrClosed) {
		return err
	}
	return nil
}
