package resilience_test

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// Helpers of the whole-network tests (network_test.go, adversarial_test.go): several nodes of one
// chain in this process, each with its own actor system, on real loopback TCP.

// netTimeout bounds every wait of the network tests: generous for -race on two cores, still far
// below the package's budget when something hangs.
const netTimeout = 15 * time.Second

// netHome makes the first home of a network: networking on a free loopback port, one mining
// worker, easy work. edit applies further changes (nil: none).
func netHome(t *testing.T, edit func(*config.Config)) *home {
	t.Helper()
	return newHome(t, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.Mining.Workers = 1
		c.Chain.PowBits = 10
		if edit != nil {
			edit(c)
		}
	})
}

// joinHome makes another home on first's chain (same chain section, hence same genesis), with
// networking on like netHome.
func joinHome(t *testing.T, first *home, edit func(*config.Config)) *home {
	t.Helper()
	h := netHome(t, edit)
	h.cfg.Chain = first.cfg.Chain.Clone()
	rewrite(t, h)
	return h
}

// peerAddr is the node's ID@HOST:PORT.
func peerAddr(nd *node) string {
	return nd.n.NodeID() + "@" + nd.n.P2PAddr()
}

// seedWith makes h dial the given running nodes at its next start.
func seedWith(t *testing.T, h *home, nodes ...*node) {
	t.Helper()
	h.cfg.P2P.Seeds = nil
	for _, nd := range nodes {
		h.cfg.P2P.Seeds = append(h.cfg.P2P.Seeds, peerAddr(nd))
	}
	rewrite(t, h)
}

func (nd *node) peers() api.PeersInfo {
	nd.t.Helper()
	info, err := nd.n.Peers(context.Background())
	if err != nil {
		nd.t.Fatalf("peers: %v", err)
	}
	return info
}

// connection returns nd's live connection to the node with that id.
func (nd *node) connection(id string) (api.PeerInfo, bool) {
	nd.t.Helper()
	for _, c := range nd.peers().Connected {
		if c.ID == id {
			return c, true
		}
	}
	return api.PeerInfo{}, false
}

func (nd *node) connectedTo(other *node) bool {
	_, ok := nd.connection(other.n.NodeID())
	return ok
}

// knownPeer returns nd's address-book entry of id.
func (nd *node) knownPeer(id string) (api.KnownPeer, bool) {
	nd.t.Helper()
	for _, k := range nd.peers().Known {
		if k.ID == id {
			return k, true
		}
	}
	return api.KnownPeer{}, false
}

func waitConnected(t *testing.T, a, b *node) {
	t.Helper()
	testutil.WaitFor(t, netTimeout, fmt.Sprintf("%s connected to %s", short(a), short(b)), func() bool { return a.connectedTo(b) })
}

func short(nd *node) string { return nd.n.NodeID()[:8] }

// waitSameTip waits until every node reports the same tip hash and returns it with its height.
func waitSameTip(t *testing.T, nodes ...*node) (string, uint64) {
	t.Helper()
	var tip string
	var height uint64
	deadline := time.Now().Add(netTimeout)
	for {
		same := true
		var seen []string
		for i, nd := range nodes {
			st := nd.status()
			seen = append(seen, fmt.Sprintf("%s@%d", st.TipHash[:12], st.Height))
			if i == 0 {
				tip, height = st.TipHash, st.Height
			} else if st.TipHash != tip {
				same = false
			}
		}
		if same {
			return tip, height
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for one tip; tips: %v", netTimeout, seen)
		}
		time.Sleep(10 * time.Millisecond) // a bounded poll
	}
}

// waitAbove waits until nd's height exceeds h.
func waitAbove(t *testing.T, nd *node, h uint64, what string) uint64 {
	t.Helper()
	var now uint64
	testutil.WaitFor(t, netTimeout, fmt.Sprintf("%s (height above %d)", what, h), func() bool {
		now = nd.status().Height
		return now > h
	})
	return now
}

// setMining switches nd's miner and fails the test on error.
func setMining(t *testing.T, nd *node, on bool) {
	t.Helper()
	if err := nd.n.SetMining(context.Background(), on); err != nil {
		t.Fatalf("set mining %v on %s: %v", on, short(nd), err)
	}
}

// scoutBundle returns a peer bundle that names target, exported the way an operator gets one: a
// throw-away node of the same chain is seeded with target, connects, and its address book is
// exported (online, ExportPeers). The scout is stopped before the bundle is returned. (A node's own
// export lists the peers it knows, never itself.)
func scoutBundle(t *testing.T, first *home, target *node) *api.Bundle {
	t.Helper()
	h := joinHome(t, first, func(c *config.Config) { c.Mining.Enabled = false })
	seedWith(t, h, target)
	scout := h.start(t, actors.Options{})
	waitConnected(t, scout, target)
	b, err := scout.n.ExportPeers(context.Background())
	if err != nil {
		t.Fatalf("export the scout's peers: %v", err)
	}
	scout.stop()
	requireBundleNames(t, b, target)
	return b
}

func requireBundleNames(t *testing.T, b *api.Bundle, target *node) {
	t.Helper()
	for _, p := range b.Peers {
		if p.ID == target.n.NodeID() && p.Addr == target.n.P2PAddr() {
			return
		}
	}
	t.Fatalf("bundle %+v does not name %s at %s", b.Peers, target.n.NodeID(), target.n.P2PAddr())
}

// recordsWith returns nd's log records with message msg whose attribute key equals value.
func (nd *node) recordsWith(msg, key, value string) []testutil.Record {
	var out []testutil.Record
	for _, r := range nd.log.Records(msg) {
		if s, _ := r[key].(string); s == value {
			out = append(out, r)
		}
	}
	return out
}

// metric scrapes nd's /metrics (MetricsHandler) and returns the value of the sample whose name
// and labels are exactly series, e.g. `actorchain_peers{direction="inbound"}`.
func (nd *node) metric(series string) (float64, bool) {
	nd.t.Helper()
	rec := httptest.NewRecorder()
	nd.n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		nd.t.Fatalf("metrics: status %d", rec.Code)
	}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				nd.t.Fatalf("metrics: %q: %v", line, err)
			}
			return v, true
		}
	}
	return 0, false
}

func (nd *node) waitMetric(series string, want float64) {
	nd.t.Helper()
	var got float64
	var ok bool
	testutil.WaitFor(nd.t, netTimeout, fmt.Sprintf("%s = %v on %s", series, want, short(nd)), func() bool {
		got, ok = nd.metric(series)
		return ok && got == want
	})
}

// rawKey returns a deterministic X25519 key: the identity of a hand-driven peer.
func rawKey(t testing.TB, seed byte) *ecdh.PrivateKey {
	t.Helper()
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed
	}
	b[0] ^= 0x5a
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawPeer is a peer driven by the test through the transport itself (noisep2p): it can send what
// an honest node never would.
type rawPeer struct {
	conn   *noisep2p.Conn
	closed chan error // the close reason, once
	mu     sync.Mutex
	got    map[uint8]int // messages received by type
}

// dialRaw connects a rawPeer with key to target (genesis of target's chain unless genesis is
// given) and starts it. edit adjusts the transport config (nil: none).
func dialRaw(t testing.TB, target *node, key *ecdh.PrivateKey, edit func(*noisep2p.Config)) (*rawPeer, error) {
	t.Helper()
	cfg := &noisep2p.Config{Key: key, Genesis: target.n.Params().GenesisHash()}
	if edit != nil {
		edit(cfg)
	}
	id, err := noisep2p.ParseID(target.n.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := noisep2p.Dial(ctx, target.n.P2PAddr(), cfg, &id)
	if err != nil {
		return nil, err
	}
	p := &rawPeer{conn: c, closed: make(chan error, 1), got: map[uint8]int{}}
	c.Start(func(typ uint8, _ []byte) {
		p.mu.Lock()
		p.got[typ]++
		p.mu.Unlock()
	}, func(err error) { p.closed <- err })
	t.Cleanup(func() { _ = c.Close() })
	return p, nil
}

// waitClosed waits until the node closes the connection and returns why it ended on our side.
func (p *rawPeer) waitClosed(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.closed:
		p.closed <- err
		return err
	case <-time.After(d):
		t.Fatalf("the node kept the connection open for %s", d)
		return nil
	}
}

// disconnectReason is the reason of a Disconnect message the node sent us, "" when it closed
// without one.
func disconnectReason(err error) string {
	var de *noisep2p.DisconnectError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}
