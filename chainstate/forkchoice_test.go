package chainstate

import (
	"errors"
	"fmt"
	"math/big"
	"testing"
)

func TestForkPath(t *testing.T) {
	f := newForkScenario(t)
	idx := map[Hash]IndexEntry{}
	for _, b := range append(append([]*Block{}, f.A.blocks...), f.B.blocks...) {
		idx[b.Hash()] = IndexEntry{Hash: b.Hash(), Header: b.Header}
	}
	lookup := func(h Hash) (IndexEntry, bool) { e, ok := idx[h]; return e, ok }
	g := f.p.GenesisHash()
	tests := []struct {
		name       string
		from, to   Hash
		disconnect []Hash
		connect    []Hash
	}{
		{"A to B", f.a2.Hash(), f.b3.Hash(), []Hash{f.a2.Hash(), f.a1.Hash()}, []Hash{f.b1.Hash(), f.b2.Hash(), f.b3.Hash()}},
		{"B to A", f.b3.Hash(), f.a2.Hash(), []Hash{f.b3.Hash(), f.b2.Hash(), f.b1.Hash()}, []Hash{f.a1.Hash(), f.a2.Hash()}},
		{"extend", f.b1.Hash(), f.b3.Hash(), nil, []Hash{f.b2.Hash(), f.b3.Hash()}},
		{"rewind", f.b3.Hash(), f.b1.Hash(), []Hash{f.b3.Hash(), f.b2.Hash()}, nil},
		{"from genesis", g, f.a2.Hash(), nil, []Hash{f.a1.Hash(), f.a2.Hash()}},
		{"same", f.a1.Hash(), f.a1.Hash(), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, c, err := ForkPath(lookup, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(d) != fmt.Sprint(tt.disconnect) || fmt.Sprint(c) != fmt.Sprint(tt.connect) {
				t.Fatalf("got %v / %v, want %v / %v", d, c, tt.disconnect, tt.connect)
			}
		})
	}
	delete(idx, f.b1.Hash())
	if _, _, err := ForkPath(lookup, f.a2.Hash(), f.b3.Hash()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing ancestor: %v", err)
	}
	if !MoreWork(big.NewInt(2), big.NewInt(1)) || MoreWork(big.NewInt(1), big.NewInt(1)) {
		t.Fatal("MoreWork: ties keep the current chain")
	}
}
