package chainstate

import "sync"

// DefaultSigCacheSize is the capacity NewSigCache uses when given size <= 0.
const DefaultSigCacheSize = 100_000

// SigCache remembers transaction hashes whose signatures verified (bounded, goroutine-safe).
// A transaction hash covers the signature, so a hit means this exact signed transaction was
// verified before. It holds at most size entries in two generations of size/2: adding to a full
// current generation makes it the old one, dropping the old one's entries at once (the oldest
// half of the cache goes first); adding a hash the old generation holds moves it to the
// current. A nil *SigCache is valid and empty: Contains reports false and Add does nothing.
//
// Generations instead of a ring of single evictions: deleting from a Go map leaves tombstones
// that make it rehash again and again under steady churn (about 1 µs an Add of a 200,000-entry
// cache during a sync, 5% of the syncing process's CPU); a new generation is a map sized once
// and never deleted from.
type SigCache struct {
	s          *sigGens
	lookupOnly bool // a LookupOnly view: Add and AddAll do nothing
}

// sigGens is a SigCache's state, shared by its LookupOnly views.
type sigGens struct {
	mu       sync.RWMutex
	half     int               // entries per generation, fixed at construction
	keepOld  bool              // size >= 2: the old generation is kept (a cache of 1 has one)
	cur, old map[Hash]struct{} // guarded by mu
}

// NewSigCache returns an empty cache of at most size entries (DefaultSigCacheSize when size <= 0).
func NewSigCache(size int) *SigCache {
	if size <= 0 {
		size = DefaultSigCacheSize
	}
	return &SigCache{s: &sigGens{half: max(1, size/2), keepOld: size >= 2, cur: make(map[Hash]struct{})}}
}

// LookupOnly returns a view of c that finds what c holds but adds nothing: for checking blocks
// whose transactions are not expected again, such as a sync's history, which would otherwise
// push out the transactions the mempool verified (those the next new block holds). The view of a
// nil cache is nil.
func (c *SigCache) LookupOnly() *SigCache {
	if c == nil {
		return nil
	}
	return &SigCache{s: c.s, lookupOnly: true}
}

// adds reports whether Add records anything: not on a nil cache or a LookupOnly view.
func (c *SigCache) adds() bool { return c != nil && !c.lookupOnly }

// Add records h as verified.
func (c *SigCache) Add(h Hash) {
	if !c.adds() {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.addLocked(h)
}

// AddAll records every hash in hs as verified, under one lock.
func (c *SigCache) AddAll(hs []Hash) {
	if !c.adds() || len(hs) == 0 {
		return
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, h := range hs {
		c.s.addLocked(h)
	}
}

func (g *sigGens) addLocked(h Hash) {
	if _, ok := g.cur[h]; ok {
		return
	}
	if len(g.cur) >= g.half {
		g.old = nil
		if g.keepOld {
			g.old = g.cur
		}
		g.cur = make(map[Hash]struct{}, g.half)
	}
	g.cur[h] = struct{}{} // a hash of the old generation moves into the current one
	delete(g.old, h)
}

func (g *sigGens) holdsLocked(h Hash) bool {
	if _, ok := g.cur[h]; ok {
		return true
	}
	_, ok := g.old[h]
	return ok
}

// missing returns the indexes of the hashes in hs that the cache does not hold (all of them for
// a nil cache), under one read lock.
func (c *SigCache) missing(hs []Hash) []int {
	idx := make([]int, 0, len(hs))
	if c == nil {
		for i := range hs {
			idx = append(idx, i)
		}
		return idx
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	for i, h := range hs {
		if !c.s.holdsLocked(h) {
			idx = append(idx, i)
		}
	}
	return idx
}

// Contains reports whether h was added and not yet dropped.
func (c *SigCache) Contains(h Hash) bool {
	if c == nil {
		return false
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	return c.s.holdsLocked(h)
}

// Len returns the number of entries.
func (c *SigCache) Len() int {
	if c == nil {
		return 0
	}
	c.s.mu.RLock()
	defer c.s.mu.RUnlock()
	return len(c.s.cur) + len(c.s.old)
}
