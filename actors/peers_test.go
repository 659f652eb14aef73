package actors

import (
	"testing"

	"github.com/actorchain/actorchain/noisep2p"
)

// TestOutboundCount: a peer whose connection is being replaced takes an outbound slot when its
// replacement is outbound, whatever the old connection's direction, and only once.
func TestOutboundCount(t *testing.T) {
	a, b, c := noisep2p.ID{1}, noisep2p.ID{2}, noisep2p.ID{3}
	conn := func(out bool) *peerConnInfo { return &peerConnInfo{outbound: out} }
	pend := func(out bool) *pendingConn { return &pendingConn{outbound: out} }
	for _, tc := range []struct {
		name      string
		conns     map[noisep2p.ID]*peerConnInfo
		replacing map[noisep2p.ID]*pendingConn
		want      int
	}{
		{"none", nil, nil, 0},
		{"outbound and inbound", map[noisep2p.ID]*peerConnInfo{a: conn(true), b: conn(false)}, nil, 1},
		{"own dial replaces an inbound", map[noisep2p.ID]*peerConnInfo{a: conn(false)}, map[noisep2p.ID]*pendingConn{a: pend(true)}, 1},
		{"inbound replaces an own dial", map[noisep2p.ID]*peerConnInfo{a: conn(true)}, map[noisep2p.ID]*pendingConn{a: pend(false)}, 0},
		{"newer dial replaces a dial", map[noisep2p.ID]*peerConnInfo{a: conn(true), b: conn(true)}, map[noisep2p.ID]*pendingConn{a: pend(true)}, 2},
		{"replacement whose old one has gone", map[noisep2p.ID]*peerConnInfo{b: conn(true)}, map[noisep2p.ID]*pendingConn{c: pend(true)}, 2},
	} {
		if got := outboundCount(tc.conns, tc.replacing); got != tc.want {
			t.Errorf("%s: %d outbound, want %d", tc.name, got, tc.want)
		}
	}
}
