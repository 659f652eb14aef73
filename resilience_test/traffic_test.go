package resilience_test

import (
	"context"
	"fmt"
	"github.com/actorchain/actorchain/internal/testutil"
	"testing"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

// TestP2PTrafficMetrics: a fresh node lists every message type of the protocol at 0 in
// actorchain_p2p_bytes_total and actorchain_p2p_messages_total; after B synced A's blocks (A and
// B connected to nothing else), what A counts as sent of each block-carrying type is what B
// counts as received, and B received at least one block message per block.
func TestP2PTrafficMetrics(t *testing.T) {
	const height = 5
	ah := netHome(t, func(c *config.Config) { c.Mining.Enabled = true })
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	b := bh.start(t, actors.Options{})
	for _, msg := range []string{"ping", "pong", "getaddr", "addr", "inv", "getdata", "notfound", "block", "tx", "getblocks", "getmempool", "disconnect"} {
		for _, dir := range []string{"sent", "received"} {
			for _, fam := range []string{"actorchain_p2p_bytes_total", "actorchain_p2p_messages_total"} {
				series := fmt.Sprintf(`%s{direction=%q,msg=%q}`, fam, dir, msg)
				if v, ok := b.metric(series); !ok || v != 0 {
					t.Errorf("first scrape: %s = %v (present %v), want 0", series, v, ok)
				}
			}
		}
	}
	a.waitHeight(height, netTimeout)
	setMining(t, a, false)
	_, top := waitSameTip(t, a)
	if err := b.n.AddPeer(context.Background(), peerAddr(a)); err != nil {
		t.Fatal(err)
	}
	b.waitHeight(top, netTimeout)
	for _, msg := range []string{"block", "getblocks"} {
		sent := fmt.Sprintf(`actorchain_p2p_bytes_total{direction="sent",msg=%q}`, msg)
		recv := fmt.Sprintf(`actorchain_p2p_bytes_total{direction="received",msg=%q}`, msg)
		from, to := a, b
		if msg == "getblocks" {
			from, to = b, a
		}
		var s, r float64
		testutil.WaitFor(t, netTimeout, msg+" bytes sent = received", func() bool {
			s, _ = from.metric(sent)
			r, _ = to.metric(recv)
			return s > 0 && s == r
		})
	}
	if v, _ := b.metric(`actorchain_p2p_messages_total{direction="received",msg="block"}`); v < float64(top) {
		t.Errorf("B received %v block messages for a sync of %d blocks", v, top)
	}
}
