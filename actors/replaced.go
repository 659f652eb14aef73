package actors

import (
	"sync"

	"github.com/actorchain/actorchain/chainstate"
)

// replacedLog remembers which pending transfers a replace-by-fee replaced, and by which transfer,
// so that GET /v1/txs/{hash} can answer "replaced" for a transfer the store no longer holds. It is
// memory only (a restarted node answers 404 for a transfer replaced before) and bounded: past
// its capacity the oldest entries are forgotten first. The mempool writes it; the API reads it;
// it outlives the mempool actor's restarts.
type replacedLog struct {
	mu    sync.Mutex
	cap   int
	seq   uint64
	by    map[chainstate.Hash]replacedEntry
	order []replacedRef // in recording order; entries whose seq no longer matches are stale
}

type replacedEntry struct {
	by  chainstate.Hash
	seq uint64
}

type replacedRef struct {
	old chainstate.Hash
	seq uint64
}

// replacedLogMax bounds the log whatever mempool.max_txs says.
const replacedLogMax = 100_000

func newReplacedLog(capacity int) *replacedLog {
	capacity = min(max(capacity, 1), replacedLogMax)
	return &replacedLog{cap: capacity, by: map[chainstate.Hash]replacedEntry{}}
}

// record notes that old was replaced by by.
func (l *replacedLog) record(old, by chainstate.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	l.by[old] = replacedEntry{by: by, seq: l.seq}
	l.order = append(l.order, replacedRef{old: old, seq: l.seq})
	for len(l.by) > l.cap && len(l.order) > 0 {
		r := l.order[0]
		l.order = l.order[1:]
		if e, ok := l.by[r.old]; ok && e.seq == r.seq {
			delete(l.by, r.old)
		}
	}
	if len(l.order) > 2*l.cap+16 { // stale references from forget: compact
		live := l.order[:0:0]
		for _, r := range l.order {
			if e, ok := l.by[r.old]; ok && e.seq == r.seq {
				live = append(live, r)
			}
		}
		l.order = live
	}
}

// forget undoes record(old, by) (the replacement was not made durable); an entry naming another
// replacement is kept.
func (l *replacedLog) forget(old, by chainstate.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.by[old]; ok && e.by == by {
		delete(l.by, old)
	}
}

// drop forgets what replaced old (old was refused, never pending).
func (l *replacedLog) drop(old chainstate.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.by, old)
}

// lookup returns the transfer that replaced old.
func (l *replacedLog) lookup(old chainstate.Hash) (chainstate.Hash, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.by[old]
	return e.by, ok
}
