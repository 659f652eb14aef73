package actors

import (
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
		c.remember(b)
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
