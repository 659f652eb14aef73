package actors

import (
	"slices"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

func TestNewCompactConn(t *testing.T) {
	on := noisep2p.Hello{Minor: noisep2p.MinorCompact, Features: noisep2p.FeatureCompactBlocks}
	for _, tc := range []struct {
		name       string
		ours       bool
		peer       noisep2p.Hello
		recv, send bool
	}{
		{"both", true, on, true, true},
		{"peer without the bit", true, noisep2p.Hello{Minor: 1}, true, false},
		{"ours off", false, on, false, false},
		{"neither", false, noisep2p.Hello{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCompactConn(tc.ours, tc.peer)
			if c.recv != tc.recv || c.send != tc.send {
				t.Fatalf("recv %v send %v, want %v %v", c.recv, c.send, tc.recv, tc.send)
			}
		})
	}
}

// TestCompactConnRemember: the blocks kept to answer GetBlockTxn are the last sentKeep sent.
func TestCompactConnRemember(t *testing.T) {
	c := newCompactConn(true, noisep2p.Hello{})
	var blocks []*chainstate.Block
	for i := range sentKeep + 3 {
		b := &chainstate.Block{Header: chainstate.Header{Height: uint64(i + 1)}}
		blocks = append(blocks, b)
		c.remember(b.Hash(), b)
	}
	if len(c.sent) != sentKeep {
		t.Fatalf("%d kept, want %d", len(c.sent), sentKeep)
	}
	for i, b := range blocks {
		got := c.sentBlock(b.Hash())
		if want := i >= 3; (got == b) != want {
			t.Fatalf("block %d kept: %v, want %v", i, got == b, want)
		}
	}
}

func TestPlanHighBandwidth(t *testing.T) {
	id := func(b byte) noisep2p.ID { return noisep2p.ID{b} }
	ids := func(bs ...byte) []noisep2p.ID {
		var out []noisep2p.ID
		for _, b := range bs {
			out = append(out, id(b))
		}
		return out
	}
	d := func(b byte) *noisep2p.ID { x := id(b); return &x }
	for _, tc := range []struct {
		name      string
		peers     []hbPeer
		deliverer *noisep2p.ID
		on, off   []noisep2p.ID
	}{
		{"none", nil, nil, nil, nil},
		{"fill outbound first, then by id", []hbPeer{{id(5), false, 0}, {id(4), true, 0}, {id(3), false, 0}, {id(9), true, 0}}, nil, ids(4, 9, 3), nil},
		{"full: nothing", []hbPeer{{id(1), false, 3}, {id(2), false, 1}, {id(3), false, 2}, {id(4), true, 0}}, nil, nil, nil},
		{"refill after a drop", []hbPeer{{id(1), false, 3}, {id(2), false, 1}, {id(4), true, 0}, {id(5), true, 0}}, nil, ids(4), nil},
		{"deliverer replaces the oldest", []hbPeer{{id(1), false, 3}, {id(2), false, 1}, {id(3), false, 2}, {id(4), false, 0}}, d(4), ids(4), ids(2)},
		{"deliverer with room", []hbPeer{{id(1), false, 3}, {id(7), true, 0}, {id(4), false, 0}}, d(4), ids(4, 7), nil},
		{"deliverer already chosen", []hbPeer{{id(1), false, 3}, {id(2), false, 1}, {id(3), false, 2}}, d(2), nil, nil},
		{"deliverer unknown", []hbPeer{{id(1), false, 0}}, d(8), ids(1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on, off := planHighBandwidth(tc.peers, tc.deliverer, highBandwidthPeers)
			if !slices.Equal(on, tc.on) || !slices.Equal(off, tc.off) {
				t.Fatalf("on %v off %v, want %v %v", short(on), short(off), short(tc.on), short(tc.off))
			}
		})
	}
}

func short(ids []noisep2p.ID) []byte {
	var out []byte
	for _, id := range ids {
		out = append(out, id[0])
	}
	return out
}
