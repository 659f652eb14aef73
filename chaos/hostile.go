package chaos

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/actorchain/actorchain/noisep2p"
)

// A flood fault's hostile peer: it connects to the node as a peer of its chain would (Noise XX,
// a fresh identity per connection) and sends full Addr messages of junk addresses as fast as the
// node takes them, reconnecting when the node drops or refuses it, until the fault ends. The junk
// addresses are loopback ports below 1024 with random ids, so a node that dials them reaches
// nothing outside its own host (or namespace).

const (
	floodPause    = 20 * time.Millisecond // between two Addr messages of one connection
	floodRedial   = 200 * time.Millisecond
	floodDialWait = 5 * time.Second
)

// flood is one running hostile peer.
type flood struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu                          sync.Mutex
	conns, refused, msgs, addrs int
	lastErr                     string
}

func (f *flood) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := fmt.Sprintf("%d connections (%d refused or dropped), %d Addr messages, %d junk addresses", f.conns, f.refused, f.msgs, f.addrs)
	if f.lastErr != "" {
		s += "; last: " + f.lastErr
	}
	return s
}

// startFlood starts the hostile peer against node k.
func (r *runner) startFlood(ctx context.Context, k int) (*flood, error) {
	id, err := noisep2p.ParseID(r.homes[k].NodeID)
	if err != nil {
		return nil, fmt.Errorf("node%d id: %w", k, err)
	}
	var genesis [32]byte
	if b, err := hex.DecodeString(r.genesis); err != nil || len(b) != len(genesis) {
		return nil, fmt.Errorf("genesis hash %q unknown", r.genesis)
	} else {
		copy(genesis[:], b)
	}
	fctx, cancel := context.WithCancel(ctx)
	f := &flood{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for fctx.Err() == nil {
			f.connection(fctx, r.homes[k].P2P, genesis, id)
			sleepCtx(fctx, floodRedial)
		}
	}()
	return f, nil
}

// stop ends the flood and waits for its goroutine.
func (f *flood) stop() {
	f.cancel()
	<-f.done
}

// connection runs one hostile connection until it fails or ctx ends.
func (f *flood) connection(ctx context.Context, addr string, genesis [32]byte, id noisep2p.ID) {
	key, err := noisep2p.GenerateKey()
	if err != nil {
		f.note(true, err)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, floodDialWait)
	conn, err := noisep2p.Dial(dctx, addr, &noisep2p.Config{Key: key, Genesis: genesis}, &id)
	cancel()
	if err != nil {
		f.note(true, err)
		return
	}
	closed := make(chan struct{})
	conn.Start(func(uint8, []byte) {}, func(error) { close(closed) })
	defer func() { _ = conn.Close(); <-closed }()
	f.note(false, nil)
	for ctx.Err() == nil {
		m := junkAddrs(noisep2p.MaxAddrPeers)
		if err := conn.SendMsg(m); err != nil {
			f.note(true, err)
			return
		}
		f.mu.Lock()
		f.msgs++
		f.addrs += len(m.Peers)
		f.mu.Unlock()
		select {
		case <-closed:
			f.note(true, fmt.Errorf("the node closed the connection: %v", conn.Err()))
			return
		case <-ctx.Done():
			return
		case <-time.After(floodPause): // the flood's pace
		}
	}
}

func (f *flood) note(failed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !failed {
		f.conns++
		return
	}
	f.refused++
	if err != nil {
		f.lastErr = err.Error()
	}
}

// junkAddrs returns an Addr message of n random peers at loopback ports below 1024.
func junkAddrs(n int) noisep2p.Addr {
	buf := make([]byte, n*34)
	_, _ = rand.Read(buf)
	m := noisep2p.Addr{Peers: make([]noisep2p.PeerAddr, n)}
	now := time.Now().Unix()
	for i := range m.Peers {
		b := buf[i*34:]
		copy(m.Peers[i].ID[:], b[:32])
		m.Peers[i].Addr = fmt.Sprintf("127.0.0.1:%d", 1+binary.BigEndian.Uint16(b[32:34])%1023)
		m.Peers[i].LastSeen = now
	}
	return m
}
