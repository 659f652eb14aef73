package actors

import (
	"sort"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// peerBook is the peer manager's pure core: the address book with last-seen times, dial failures
// with backoff, and bans. Time is an argument; persistence is the caller's (every change is
// reported as dirty and written through the storage actor).
type peerBook struct {
	self    [32]byte
	max     int
	entries map[[32]byte]*bookEntry
	dirty   map[[32]byte]bool
	removed map[[32]byte]bool
}

type bookEntry struct {
	rec         chainstate.PeerRecord
	lastAttempt time.Time // in memory only: backoff between dials
}

const (
	// maxBook bounds the address book; past it the stalest never-seen entries are evicted.
	maxBook = 10_000
	// banTime is how long a misbehaving peer is discouraged.
	banTime = 10 * time.Minute
	// maxBackoff caps the wait between dials of a failing address.
	maxBackoff = 2 * time.Minute
)

func newPeerBook(self [32]byte, recs []chainstate.PeerRecord) *peerBook {
	b := &peerBook{self: self, max: maxBook, entries: map[[32]byte]*bookEntry{}, dirty: map[[32]byte]bool{}, removed: map[[32]byte]bool{}}
	for _, r := range recs {
		if r.ID != self {
			b.entries[r.ID] = &bookEntry{rec: r}
		}
	}
	return b
}

// learn adds or refreshes an address. A known peer keeps its record but takes a newer address
// when lastSeen is newer. It reports whether the peer was new.
func (b *peerBook) learn(id [32]byte, addr string, lastSeen int64) bool {
	if id == b.self || addr == "" {
		return false
	}
	if e, ok := b.entries[id]; ok {
		if e.rec.Addr != addr && lastSeen >= e.rec.LastSeen {
			e.rec.Addr = addr
			b.mark(id)
		}
		if lastSeen > e.rec.LastSeen {
			e.rec.LastSeen = lastSeen
			b.mark(id)
		}
		return false
	}
	if len(b.entries) >= b.max && !b.evict() {
		return false
	}
	b.entries[id] = &bookEntry{rec: chainstate.PeerRecord{ID: id, Addr: addr, LastSeen: lastSeen}}
	b.mark(id)
	return true
}

// evict drops the entry seen least recently (never-seen first) to make room.
func (b *peerBook) evict() bool {
	var worst *bookEntry
	for _, e := range b.entries {
		if worst == nil || e.rec.LastSeen < worst.rec.LastSeen || (e.rec.LastSeen == worst.rec.LastSeen && e.rec.Failures > worst.rec.Failures) {
			worst = e
		}
	}
	if worst == nil {
		return false
	}
	b.forget(worst.rec.ID)
	return true
}

func (b *peerBook) forget(id [32]byte) {
	if _, ok := b.entries[id]; ok {
		delete(b.entries, id)
		delete(b.dirty, id)
		b.removed[id] = true
	}
}

func (b *peerBook) mark(id [32]byte) {
	b.dirty[id] = true
	delete(b.removed, id)
}

// connected records a successful connection.
func (b *peerBook) connected(id [32]byte, addr string, now time.Time) {
	if id == b.self {
		return
	}
	e, ok := b.entries[id]
	if !ok {
		if addr == "" {
			return
		}
		b.learn(id, addr, now.UnixMilli())
		e = b.entries[id]
		if e == nil {
			return
		}
	}
	if addr != "" {
		e.rec.Addr = addr
	}
	e.rec.LastSeen = now.UnixMilli()
	e.rec.Failures = 0
	b.mark(id)
}

// failed records a failed dial.
func (b *peerBook) failed(id [32]byte, now time.Time) {
	if e, ok := b.entries[id]; ok {
		e.rec.Failures++
		e.lastAttempt = now
		b.mark(id)
	}
}

// ban discourages a peer until now + banTime.
func (b *peerBook) ban(id [32]byte, now time.Time) {
	e, ok := b.entries[id]
	if !ok {
		e = &bookEntry{rec: chainstate.PeerRecord{ID: id, Addr: "-"}}
		b.entries[id] = e
	}
	e.rec.BannedUntil = now.Add(banTime).UnixMilli()
	b.mark(id)
}

func (b *peerBook) banned(id [32]byte, now time.Time) bool {
	e, ok := b.entries[id]
	return ok && e.rec.BannedUntil > now.UnixMilli()
}

// candidates returns up to n peers to dial now: not self, not skipped (connected or dialling), not
// banned, past their backoff; those seen most recently first.
func (b *peerBook) candidates(n int, now time.Time, skip func([32]byte) bool) []chainstate.PeerRecord {
	var out []chainstate.PeerRecord
	for id, e := range b.entries {
		if id == b.self || e.rec.Addr == "-" || skip(id) || e.rec.BannedUntil > now.UnixMilli() {
			continue
		}
		// A last attempt after now means the clock went back (a cleared skew): the backoff is
		// over rather than stretched by the step.
		if e.rec.Failures > 0 && !now.Before(e.lastAttempt) && now.Sub(e.lastAttempt) < backoff(e.rec.Failures) {
			continue
		}
		out = append(out, e.rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Failures != out[j].Failures {
			return out[i].Failures < out[j].Failures
		}
		return out[i].LastSeen > out[j].LastSeen
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// attempt records that a dial of id starts now.
func (b *peerBook) attempt(id [32]byte, now time.Time) {
	if e, ok := b.entries[id]; ok {
		e.lastAttempt = now
	}
}

// backoff is the wait before redialling an address that failed f times in a row: 1 s doubling,
// capped.
func backoff(f uint32) time.Duration {
	if f > 8 {
		return maxBackoff
	}
	return min(time.Second<<(f-1), maxBackoff)
}

// list returns every usable entry (not banned, with an address), most recently seen first, up to
// n, leaving out except.
func (b *peerBook) list(n int, now time.Time, except [32]byte) []chainstate.PeerRecord {
	var out []chainstate.PeerRecord
	for id, e := range b.entries {
		if id == except || e.rec.Addr == "-" || e.rec.BannedUntil > now.UnixMilli() {
			continue
		}
		out = append(out, e.rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].LastSeen != out[j].LastSeen {
			return out[i].LastSeen > out[j].LastSeen
		}
		return string(out[i].ID[:]) < string(out[j].ID[:])
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// takeChanges returns the records to write and the ids to delete since the last call.
func (b *peerBook) takeChanges() (put []chainstate.PeerRecord, remove [][32]byte) {
	for id := range b.dirty {
		if e, ok := b.entries[id]; ok {
			put = append(put, e.rec)
		}
	}
	for id := range b.removed {
		remove = append(remove, id)
	}
	b.dirty = map[[32]byte]bool{}
	b.removed = map[[32]byte]bool{}
	return put, remove
}

// locatorHeights returns the heights of a block locator for a chain whose tip is at tip: the
// last ten blocks one by one, then doubling steps back, always ending at genesis. At most
// noisep2p.MaxLocator entries.
func locatorHeights(tip uint64) []uint64 {
	var out []uint64
	step := uint64(1)
	h := tip
	for {
		out = append(out, h)
		if h == 0 {
			return out
		}
		if len(out) >= 10 {
			step *= 2
		}
		if h < step {
			h = 0
		} else {
			h -= step
		}
	}
}
