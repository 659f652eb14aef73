package actors

import (
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// blockIndex is consensus's in-memory view of every known block header: its cumulative work, its
// place (main chain, side chain, invalid) and the main chain's tip. It is a plain value with no
// IO; the consensus actor keeps it in step with the store (the store commits first).
type blockIndex struct {
	entries map[chainstate.Hash]*indexEntry
	tip     *indexEntry
	seq     uint64
	// load fetches an entry that is not in memory yet (from the store), so a restart loads only the
	// tip and the index fills in as blocks are looked at: ready time does not grow with the chain.
	load func(chainstate.Hash) *indexEntry
}

type entryStatus uint8

const (
	entrySide entryStatus = iota
	entryMain
	entryInvalid
)

type indexEntry struct {
	hash   chainstate.Hash
	header chainstate.Header
	work   *big.Int
	status entryStatus
	seq    uint64 // arrival order: on equal work the first seen wins
}

func newBlockIndex() *blockIndex {
	return &blockIndex{entries: make(map[chainstate.Hash]*indexEntry)}
}

func (x *blockIndex) get(h chainstate.Hash) *indexEntry {
	if e, ok := x.entries[h]; ok {
		return e
	}
	if x.load == nil {
		return nil
	}
	e := x.load(h)
	if e != nil {
		x.entries[h] = e
	}
	return e
}

func (x *blockIndex) parent(e *indexEntry) *indexEntry { return x.get(e.header.PrevHash) }

// add inserts e (replacing nothing) and returns it.
func (x *blockIndex) add(e *indexEntry) *indexEntry {
	if old, ok := x.entries[e.hash]; ok {
		return old
	}
	x.seq++
	e.seq = x.seq
	x.entries[e.hash] = e
	return e
}

// better reports whether candidate should replace the current tip: strictly more cumulative work
// (on a tie the block seen first stays).
func (x *blockIndex) better(candidate *indexEntry) bool {
	if x.tip == nil {
		return true
	}
	return candidate.work.Cmp(x.tip.work) > 0
}

// path returns the blocks to disconnect (from the tip down, excluding the fork point) and to
// connect (from just above the fork point up to target) to make target the tip. ok is false when
// target's ancestry leaves the index (which cannot happen for entries added with their parent).
func (x *blockIndex) path(target *indexEntry) (disconnect, connect []*indexEntry, ok bool) {
	a, b := x.tip, target
	if a == nil || b == nil {
		return nil, nil, false
	}
	for a.header.Height > b.header.Height {
		disconnect = append(disconnect, a)
		if a = x.parent(a); a == nil {
			return nil, nil, false
		}
	}
	for b.header.Height > a.header.Height {
		connect = append(connect, b)
		if b = x.parent(b); b == nil {
			return nil, nil, false
		}
	}
	for a != b {
		disconnect = append(disconnect, a)
		connect = append(connect, b)
		a, b = x.parent(a), x.parent(b)
		if a == nil || b == nil {
			return nil, nil, false
		}
	}
	for i, j := 0, len(connect)-1; i < j; i, j = i+1, j-1 {
		connect[i], connect[j] = connect[j], connect[i]
	}
	return disconnect, connect, true
}

// setTip records that the store's main chain now ends at t, after disconnect and connect.
func (x *blockIndex) setTip(t *indexEntry, disconnect, connect []*indexEntry) {
	for _, e := range disconnect {
		e.status = entrySide
	}
	for _, e := range connect {
		e.status = entryMain
	}
	t.status = entryMain
	x.tip = t
}

// invalidate marks e and every known descendant invalid, so no block building on it is tried
// again.
func (x *blockIndex) invalidate(e *indexEntry) {
	e.status = entryInvalid
	bad := map[chainstate.Hash]bool{e.hash: true}
	for changed := true; changed; {
		changed = false
		for _, c := range x.entries {
			if c.status != entryInvalid && bad[c.header.PrevHash] {
				c.status = entryInvalid
				bad[c.hash] = true
				changed = true
			}
		}
	}
}
