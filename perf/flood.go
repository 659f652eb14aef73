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
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
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
	nodes, sender, err := l.startFloodPair()
	defer func() {
		for _, n := range slices.Backward(nodes) {
			_ = l.Stop(n)
		}
	}()
	if err != nil {
		return nil, err
	}
	na, nb := nodes[0], nodes[1]
	probe := &rttProbe{l: l, p: na.Params(), from: nb, to: na, key: sender, dest: addrOf(keyFromSeed(99))}
	base, err := probe.measure(samples)
	if err != nil {
		return nil, err
	}
	var idle idleConns
	defer idle.Close()
	idle.dial(na.P2PAddr(), conns)
	openStart := idle.open.Load()
	fl, err := probe.measure(samples)
	if err != nil {
		return nil, err
	}
	openEnd := idle.open.Load()
	newcomer := "a new peer's handshake with A during the flood succeeded"
	if err := handshake(na); err != nil {
		newcomer = fmt.Sprintf("a new peer's handshake with A during the flood was refused: %v", err)
	}
	r := relative("flood", fmt.Sprintf("transfer B to A, %d idle connections on A's port", conns), median(fl), "ms",
		"the same without them", median(base), "ms")
	r.Note = fmt.Sprintf("median of %d; max %.1f ms (without: %.1f ms); %d connections dialled, %d still open when the measurement started, %d when it ended; %s",
		samples, slices.Max(fl), slices.Max(base), len(idle.conns), openStart, openEnd, newcomer)
	return []Result{r}, nil
}

// startFloodPair starts node A (funding one sender, whose key it returns) and node B seeded
// with A, and waits until they are connected both ways. It returns the nodes it started, A
// first, also on error: the caller stops them, last first.
func (l *Lab) startFloodPair() ([]*actors.Node, ed25519.PrivateKey, error) {
	var senders []ed25519.PrivateKey
	ha, err := l.NewHome(func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 4
		senders = fundSenders(c, 1)
	})
	if err != nil {
		return nil, nil, err
	}
	na, err := ha.Start(actors.Options{})
	if err != nil {
		return nil, nil, err
	}
	nodes := []*actors.Node{na}
	hb, err := l.Join(ha, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.Seeds = []string{peerAddr(na)}
	})
	if err != nil {
		return nodes, nil, err
	}
	nb, err := hb.Start(actors.Options{})
	if err != nil {
		return nodes, nil, err
	}
	nodes = append(nodes, nb)
	if err := l.poll(30*time.Second, "A and B connected", func() bool {
		return connectedTo(na, nb.NodeID()) && connectedTo(nb, na.NodeID())
	}); err != nil {
		return nodes, nil, err
	}
	return nodes, senders[0], nil
}

// connectedTo reports whether n lists peer id as connected.
func connectedTo(n *actors.Node, id string) bool {
	info, err := n.Peers(context.Background())
	return err == nil && slices.ContainsFunc(info.Connected, func(p api.PeerInfo) bool { return p.ID == id })
}

// rttProbe times transfers (of chain p) from key to dest submitted at node from until node to's mempool
// holds them; nonce is the next transfer's.
type rttProbe struct {
	l        *Lab
	p        *chainstate.Params
	from, to *actors.Node
	key      ed25519.PrivateKey
	dest     chainstate.Address
	nonce    uint64
}

// rtt times one transfer, in milliseconds.
func (r *rttProbe) rtt() (float64, error) {
	tx := transfer(r.p, r.key, r.dest, r.nonce)
	r.nonce++
	t0 := time.Now()
	h, err := r.from.SubmitTx(context.Background(), tx)
	if err != nil {
		return 0, fmt.Errorf("submit at B: %w", err)
	}
	err = r.l.pollFine(30*time.Second, "the transfer in A's mempool", func() bool {
		_, err := r.to.Tx(context.Background(), h)
		return err == nil
	})
	return float64(time.Since(t0).Microseconds()) / 1000, err
}

// measure times samples transfers one after the other.
func (r *rttProbe) measure(samples int) ([]float64, error) {
	out := make([]float64, samples)
	for i := range out {
		var err error
		if out[i], err = r.rtt(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// idleConns are TCP connections that send nothing; open counts those the far end has not
// closed. Close closes them all and joins their readers.
type idleConns struct {
	conns []net.Conn
	open  atomic.Int64
	wg    sync.WaitGroup
}

// dial opens up to n idle connections to addr; a dial that is refused or times out (2 s) is
// skipped.
func (ic *idleConns) dial(addr string, n int) {
	d := net.Dialer{Timeout: 2 * time.Second}
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			continue // refused or timed out: the note counts what was dialled
		}
		ic.conns = append(ic.conns, c)
		ic.open.Add(1)
		ic.wg.Go(func() { // idle: reads only to notice the node closing it; joined in Close
			_, _ = io.Copy(io.Discard, c)
			ic.open.Add(-1)
		})
	}
}

// Close closes every connection and waits for their readers to return.
func (ic *idleConns) Close() {
	for _, c := range ic.conns {
		_ = c.Close()
	}
	ic.wg.Wait()
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
