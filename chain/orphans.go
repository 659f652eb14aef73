package chain

import "github.com/actorchain/actorchain/chainstate"

// orphan is a block whose parent is unknown, with where it came from.
type orphan struct {
	block *chainstate.Block
	src   Source
}

// orphanPool holds blocks whose parent is unknown, bounded: the oldest is dropped when full.
type orphanPool struct {
	max      int
	byHash   map[chainstate.Hash]orphan
	byParent map[chainstate.Hash][]chainstate.Hash
	order    []chainstate.Hash
}

func newOrphanPool(max int) *orphanPool {
	return &orphanPool{max: max, byHash: map[chainstate.Hash]orphan{}, byParent: map[chainstate.Hash][]chainstate.Hash{}}
}

func (o *orphanPool) len() int { return len(o.byHash) }

func (o *orphanPool) add(h chainstate.Hash, b *chainstate.Block, src Source) {
	if _, ok := o.byHash[h]; ok {
		return
	}
	for len(o.byHash) >= o.max && len(o.order) > 0 {
		o.remove(o.order[0])
	}
	o.byHash[h] = orphan{block: b, src: src}
	o.byParent[b.Header.PrevHash] = append(o.byParent[b.Header.PrevHash], h)
	o.order = append(o.order, h)
}

func (o *orphanPool) remove(h chainstate.Hash) {
	ob, ok := o.byHash[h]
	if !ok {
		return
	}
	delete(o.byHash, h)
	prev := ob.block.Header.PrevHash
	kids := deleteHash(o.byParent[prev], h)
	if len(kids) == 0 {
		delete(o.byParent, prev)
	} else {
		o.byParent[prev] = kids
	}
	o.order = deleteHash(o.order, h)
}

func deleteHash(hs []chainstate.Hash, h chainstate.Hash) []chainstate.Hash {
	for i, k := range hs {
		if k == h {
			return append(hs[:i], hs[i+1:]...)
		}
	}
	return hs
}

// takeChildren removes and returns the orphans whose parent is h, oldest first.
func (o *orphanPool) takeChildren(h chainstate.Hash) []orphan {
	kids := append([]chainstate.Hash(nil), o.byParent[h]...)
	out := make([]orphan, 0, len(kids))
	for _, k := range kids {
		out = append(out, o.byHash[k])
		o.remove(k)
	}
	return out
}

// root returns the parent hash that the chain of orphans leading to prev is missing: prev itself
// unless prev is an orphan too, in which case its own missing ancestor (bounded by the pool).
func (o *orphanPool) root(prev chainstate.Hash) chainstate.Hash {
	for range o.max {
		ob, ok := o.byHash[prev]
		if !ok {
			break
		}
		prev = ob.block.Header.PrevHash
	}
	return prev
}
