package chain

import (
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// entry is one block of the index: its header, cumulative work, place and where it came from.
type entry struct {
	hash   chainstate.Hash
	header chainstate.Header
	work   *big.Int
	status chainstate.BlockStatus // StatusMain, StatusSide or StatusInvalid
	src    Source
}

// index is the machine's view of every known block header: cumulative work, status (main chain,
// side chain, invalid) and the tip. Entries the store holds are loaded when first looked at
// (load), so a restart loads only the tip: ready time does not grow with the chain. An invalid
// status marks the block and every known descendant (the invalid set).
type index struct {
	entries  map[chainstate.Hash]*entry
	children map[chainstate.Hash][]chainstate.Hash
	tip      *entry
	load     func(chainstate.Hash) (chainstate.IndexEntry, bool)
	mainHash func(height uint64) (chainstate.Hash, bool) // the store's main chain; may be nil
}

func newIndex(load func(chainstate.Hash) (chainstate.IndexEntry, bool)) *index {
	return &index{entries: map[chainstate.Hash]*entry{}, children: map[chainstate.Hash][]chainstate.Hash{}, load: load}
}

func fromStore(e chainstate.IndexEntry) *entry {
	st := e.Status
	if st != chainstate.StatusMain && st != chainstate.StatusInvalid {
		st = chainstate.StatusSide
	}
	return &entry{hash: e.Hash, header: e.Header, work: new(big.Int).Set(e.Work), status: st}
}

// get returns the entry of h, loading it from the store when it is not in memory; nil when
// unknown.
func (x *index) get(h chainstate.Hash) *entry {
	if e, ok := x.entries[h]; ok {
		return e
	}
	if x.load == nil {
		return nil
	}
	se, ok := x.load(h)
	if !ok || se.Work == nil {
		return nil
	}
	return x.add(fromStore(se))
}

// add inserts e unless its hash is known, and returns the entry in the index.
func (x *index) add(e *entry) *entry {
	if old, ok := x.entries[e.hash]; ok {
		return old
	}
	x.entries[e.hash] = e
	if e.header.Height > 0 {
		p := e.header.PrevHash
		x.children[p] = append(x.children[p], e.hash)
	}
	return e
}

// lookup adapts the index to chainstate.ForkPath.
func (x *index) lookup(h chainstate.Hash) (chainstate.IndexEntry, bool) {
	e := x.get(h)
	if e == nil {
		return chainstate.IndexEntry{}, false
	}
	return chainstate.IndexEntry{Hash: e.hash, Header: e.header, Work: e.work, Status: e.status}, true
}

// path returns the entries to disconnect (tip first) and to connect (fork point + 1 first) to
// make target the tip: chainstate.ForkPath over the index.
func (x *index) path(target *entry) (disconnect, connect []*entry, err error) {
	dis, con, err := chainstate.ForkPath(x.lookup, x.tip.hash, target.hash)
	if err != nil {
		return nil, nil, err
	}
	return x.entriesOf(dis), x.entriesOf(con), nil
}

func (x *index) entriesOf(hs []chainstate.Hash) []*entry {
	out := make([]*entry, len(hs))
	for i, h := range hs {
		out[i] = x.entries[h] // ForkPath looked every one up: they are in memory
	}
	return out
}

// ancestor returns the header at height on e's branch (height <= e's). It walks back to the
// main chain, then reads the main chain's block at height (mainHash) instead of walking on.
func (x *index) ancestor(e *entry, height uint64) (chainstate.Header, bool) {
	for e != nil && e.header.Height > height {
		if e.status == chainstate.StatusMain && x.mainHash != nil {
			if h, ok := x.mainHash(height); ok {
				e = x.get(h)
				break
			}
		}
		e = x.get(e.header.PrevHash)
	}
	if e == nil || e.header.Height != height {
		return chainstate.Header{}, false
	}
	return e.header, true
}

// setTip records that the store's main chain now ends at t, after disconnect and connect.
func (x *index) setTip(t *entry, disconnect, connect []*entry) {
	for _, e := range disconnect {
		e.status = chainstate.StatusSide
	}
	for _, e := range connect {
		e.status = chainstate.StatusMain
	}
	t.status = chainstate.StatusMain
	x.tip = t
}

// invalidate marks e and every known descendant invalid, so no block building on it is tried
// again.
func (x *index) invalidate(e *entry) {
	queue := []*entry{e}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		c.status = chainstate.StatusInvalid
		for _, h := range x.children[c.hash] {
			if k := x.entries[h]; k != nil && k.status != chainstate.StatusInvalid {
				queue = append(queue, k)
			}
		}
	}
}

// hasInvalid returns the first invalid entry of es, or nil.
func hasInvalid(es []*entry) *entry {
	for _, e := range es {
		if e.status == chainstate.StatusInvalid {
			return e
		}
	}
	return nil
}
