package actors

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestTxRequestsClaim: a transfer is asked of one connection until its request expires or is
// released; the bound makes claims fail open (asked, not recorded).
func TestTxRequestsClaim(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a, b, c := chainstate.Hash{1}, chainstate.Hash{2}, chainstate.Hash{3}
	r := newTxRequests(2*time.Second, 3)
	steps := []struct {
		name      string
		at        time.Duration
		done      []chainstate.Hash
		claim     []chainstate.Hash
		ask, wait []chainstate.Hash
		size      int
	}{
		{name: "first announcer asks", claim: []chainstate.Hash{a, b}, ask: []chainstate.Hash{a, b}, size: 2},
		{name: "second waits", at: time.Second, claim: []chainstate.Hash{a, b, c}, ask: []chainstate.Hash{c}, wait: []chainstate.Hash{a, b}, size: 3},
		{name: "released: asked again", at: 1500 * time.Millisecond, done: []chainstate.Hash{b}, claim: []chainstate.Hash{b}, ask: []chainstate.Hash{b}, size: 3},
		{name: "expired: asked again", at: 2 * time.Second, claim: []chainstate.Hash{a}, ask: []chainstate.Hash{a}, size: 3},
		{name: "full: asked, not recorded", at: 2100 * time.Millisecond, claim: []chainstate.Hash{{4}}, ask: []chainstate.Hash{{4}}, size: 3},
		{name: "not recorded: asked again", at: 2200 * time.Millisecond, claim: []chainstate.Hash{{4}}, ask: []chainstate.Hash{{4}}, size: 3},
		{name: "full: the expired are pruned", at: 3200 * time.Millisecond, claim: []chainstate.Hash{{5}}, ask: []chainstate.Hash{{5}}, size: 3},
	}
	for _, s := range steps {
		r.done(s.done...)
		ask, wait := r.claim(t0.Add(s.at), s.claim)
		if !slices.Equal(ask, s.ask) || !slices.Equal(wait, s.wait) || r.size() != s.size {
			t.Fatalf("%s: ask %v wait %v size %d, want %v %v %d", s.name, ask, wait, r.size(), s.ask, s.wait, s.size)
		}
	}
}

// TestTxRequestsConcurrent: of many connections claiming the same transfers at once, exactly
// one asks for each.
func TestTxRequestsConcurrent(t *testing.T) {
	r := newTxRequests(time.Minute, 1000)
	hs := make([]chainstate.Hash, 100)
	for i := range hs {
		hs[i] = chainstate.Hash{byte(i), 1}
	}
	now := time.Now()
	var mu sync.Mutex
	asked := map[chainstate.Hash]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ask, _ := r.claim(now, hs)
			mu.Lock()
			defer mu.Unlock()
			for _, h := range ask {
				asked[h]++
			}
		}()
	}
	wg.Wait()
	if len(asked) != len(hs) {
		t.Fatalf("%d of %d transfers asked", len(asked), len(hs))
	}
	for h, n := range asked {
		if n != 1 {
			t.Fatalf("%x asked %d times", h[:2], n)
		}
	}
}

// TestTxAskedOfOnePeer: two peers announce the same transfer; the node asks the first only,
// and the second once the first has not delivered it within txRequestTimeout; the second's
// copy is admitted.
func TestTxAskedOfOnePeer(t *testing.T) {
	n, wallet := startQuietNodeWith(t, Options{}, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.Debug.FaultInjection = false
	})
	first, second := dialTestPeer(t, n), dialTestPeer(t, n)
	tx := signTransfer(n.Params(), wallet, chainstate.Address{9}, 0)
	h := tx.Hash()
	inv := noisep2p.Inv{Items: []noisep2p.InvItem{{Kind: noisep2p.InvTx, Hash: h}}}
	first.send(t, inv)
	first.expectGetTx(t, h)
	asked := time.Now()
	second.send(t, inv)
	second.expectGetTx(t, h)
	if waited := time.Since(asked); waited < txRequestTimeout*3/4 {
		t.Fatalf("the second announcer was asked %s after the first: the first's request was not awaited", waited)
	}
	second.send(t, noisep2p.Tx{Raw: tx.Encode()})
	testutil.WaitFor(t, 10*time.Second, "the transfer in the mempool", func() bool {
		hs, err := n.Mempool(context.Background())
		return err == nil && slices.Contains(hs, h)
	})
}

// expectGetTx waits (10 s) for a getdata that asks for transfer h.
func (p *testPeer) expectGetTx(t *testing.T, h chainstate.Hash) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		gd := p.expect(t, noisep2p.MsgGetData).(noisep2p.GetData)
		for _, it := range gd.Items {
			if it.Kind == noisep2p.InvTx && it.Hash == h {
				return
			}
		}
	}
	t.Fatalf("no getdata for %x within 10 s", h[:4])
}

// TestTxInFlightPerPeer: a peer is asked for at most peerTxInFlightMax transfers at a time; what
// else it announced meanwhile is asked of another announcer at once, not after the first peer's
// requests expire, and of the first peer once it has answered.
func TestTxInFlightPerPeer(t *testing.T) {
	n, _ := startQuietNodeWith(t, Options{}, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.Debug.FaultInjection = false
	})
	first, second := dialTestPeer(t, n), dialTestPeer(t, n)
	hs := make([]chainstate.Hash, peerTxInFlightMax+1)
	inv := noisep2p.Inv{Items: make([]noisep2p.InvItem, len(hs))}
	for i := range hs {
		hs[i] = chainstate.Hash{0xee, byte(i >> 8), byte(i)}
		inv.Items[i] = noisep2p.InvItem{Kind: noisep2p.InvTx, Hash: hs[i]}
	}
	last := hs[len(hs)-1]
	first.send(t, inv)
	asked := map[chainstate.Hash]bool{}
	for len(asked) < peerTxInFlightMax {
		for _, it := range first.expect(t, noisep2p.MsgGetData).(noisep2p.GetData).Items {
			asked[it.Hash] = true
		}
	}
	if len(asked) != peerTxInFlightMax || asked[last] {
		t.Fatalf("the first peer was asked for %d transfers (the last one: %v), want the first %d", len(asked), asked[last], peerTxInFlightMax)
	}
	sent := time.Now()
	second.send(t, noisep2p.Inv{Items: []noisep2p.InvItem{{Kind: noisep2p.InvTx, Hash: last}}})
	second.expectGetTx(t, last)
	if waited := time.Since(sent); waited >= txRequestTimeout/2 {
		t.Fatalf("the second announcer was asked %s after it announced: the first peer's requests beyond its limit held it back", waited)
	}
	// The first peer has none of them: once it says so, what it announced beyond the limit is
	// asked of it again (the second peer's request for it is still awaited, so not yet).
	nf := noisep2p.NotFound{Items: make([]noisep2p.InvItem, 0, len(asked))}
	for h := range asked {
		nf.Items = append(nf.Items, noisep2p.InvItem{Kind: noisep2p.InvTx, Hash: h})
	}
	first.send(t, nf)
	second.send(t, noisep2p.NotFound{Items: []noisep2p.InvItem{{Kind: noisep2p.InvTx, Hash: last}}})
	first.expectGetTx(t, last)
}
