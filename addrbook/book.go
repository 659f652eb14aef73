package addrbook

import (
	"container/heap"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// Book is the peer manager's pure core: the address book, bucketed like Bitcoin Core's
// addrman, with last-seen times, dial failures with backoff, and bans. Time is an argument;
// persistence is the caller's (changes are collected as dirty and taken in batches).
//
// The book has two tables. The tried table holds peers this node connected to (outbound); at
// most maxTried, the one seen least recently going back to the new table when a newer one
// comes. The new table holds addresses heard of but never connected to, at most maxNew, in
// buckets by the network group of their source (the peer that sent them, by its IP's /16 or
// /32, a loopback peer by its node id; a bundle or API import is the source "import", the
// configured seeds "seed"): a group holds at most its share (groupShare), and when the new
// table is full the largest group gives up an entry. So one peer, one network or one bundle
// cannot fill the book, and no address from the new table ever evicts a tried one. Bans of
// peers without an address are kept apart, at most maxBans.
type Book struct {
	self     [32]byte
	maxNew   int
	maxTried int
	maxBans  int
	entries  map[[32]byte]*bookEntry
	groups   map[string]*newGroup // the new table, by source group
	nNew     int
	tried    map[[32]byte]bool
	bans     map[[32]byte]bool // entries without an address, kept only for their ban
	dirty    map[[32]byte]bool
	removed  map[[32]byte]bool
}

type bookEntry struct {
	rec         chainstate.PeerRecord
	lastAttempt time.Time // in memory only: backoff between dials
	hidx        int       // index in its new group's heap
}

// newGroup is one source group of the new table: a heap with the worst entry (worse) on top,
// so that a full group finds the entry to give up without a scan.
type newGroup struct{ es []*bookEntry }

func (g *newGroup) Len() int {
	if g == nil {
		return 0
	}
	return len(g.es)
}
func (g *newGroup) Less(i, j int) bool { return worse(&g.es[i].rec, &g.es[j].rec) }
func (g *newGroup) Swap(i, j int) {
	g.es[i], g.es[j] = g.es[j], g.es[i]
	g.es[i].hidx, g.es[j].hidx = i, j
}
func (g *newGroup) Push(x any) {
	e := x.(*bookEntry)
	e.hidx = len(g.es)
	g.es = append(g.es, e)
}
func (g *newGroup) Pop() any {
	e := g.es[len(g.es)-1]
	g.es[len(g.es)-1] = nil
	g.es = g.es[:len(g.es)-1]
	return e
}

const (
	// maxNew and maxTried bound the book's tables; MaxBook is the whole book.
	maxNew   = 8192
	maxTried = 2048
	MaxBook  = maxNew + maxTried
	// maxBans bounds the bans of peers the book has no address for.
	maxBans = 1024
	// BanTime is how long a misbehaving peer is discouraged.
	BanTime = 10 * time.Minute
	// maxBackoff caps the wait between dials of a failing address.
	maxBackoff = 2 * time.Minute
	// isolatedFailures is the most failed dials made while the node was isolated raise an
	// address's count to (Failed): a backoff of 4 s.
	isolatedFailures = 3
)

// Source groups that are not network groups.
const (
	SourceImport = "import" // bundles and POST /v1/peers
	SourceSeed   = "seed"   // p2p.seeds
	srcStored    = "stored" // records written before the book kept sources
)

// groupShare is how many new-table entries one source group may hold: an eighth of the table
// for a peer's group, half for imports (the operator's own), all of it for the seeds.
func groupShare(group string, maxNew int) int {
	switch group {
	case SourceSeed:
		return maxNew
	case SourceImport, srcStored:
		return maxNew / 2
	}
	return max(maxNew/8, 1)
}

// SourceGroup is the network group of the peer at remote (its TCP address) with node id id,
// from which addresses were learned: IPv4 by /16, IPv6 by /32, a loopback peer by its node id
// (on one machine every node is its own host: a devnet's nodes each get their share), a
// host name as itself.
func SourceGroup(remote string, id [32]byte) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsLoopback():
		return fmt.Sprintf("lo:%x", id[:8])
	case ip == nil:
		return "host:" + host
	case ip.To4() != nil:
		v4 := ip.To4()
		return fmt.Sprintf("4:%d.%d", v4[0], v4[1])
	default:
		return fmt.Sprintf("6:%x", []byte(ip.To16()[:4]))
	}
}

func New(self [32]byte, recs []chainstate.PeerRecord) *Book {
	return NewSized(self, recs, maxNew, maxTried, maxBans)
}

// NewSized loads recs into a book with the given bounds: tried records first (most
// recently seen kept), then the others; what does not fit is dropped and reported as removed.
func NewSized(self [32]byte, recs []chainstate.PeerRecord, nNew, nTried, nBans int) *Book {
	b := &Book{self: self, maxNew: nNew, maxTried: nTried, maxBans: nBans,
		entries: map[[32]byte]*bookEntry{}, groups: map[string]*newGroup{}, tried: map[[32]byte]bool{},
		bans: map[[32]byte]bool{}, dirty: map[[32]byte]bool{}, removed: map[[32]byte]bool{}}
	sorted := append([]chainstate.PeerRecord(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Tried != sorted[j].Tried {
			return sorted[i].Tried
		}
		return sorted[i].LastSeen > sorted[j].LastSeen
	})
	for _, r := range sorted {
		if r.ID == self || b.entries[r.ID] != nil {
			continue
		}
		changed := false
		switch {
		case r.Addr == "" || r.Addr == "-":
			changed = r.Tried || r.Addr == ""
			r.Tried, r.Addr = false, "-"
			if r.BannedUntil == 0 || !b.addBan(r) {
				b.removed[r.ID] = true
			}
		case r.Tried && len(b.tried) < b.maxTried:
			b.entries[r.ID] = &bookEntry{rec: r}
			b.tried[r.ID] = true
		default:
			changed = r.Tried || r.Source == ""
			if r.Source == "" {
				r.Source = srcStored
			}
			if !b.addNew(r) {
				b.removed[r.ID] = true
			}
		}
		if !changed {
			delete(b.dirty, r.ID) // loaded as stored: nothing to write back
		}
	}
	return b
}

// worse reports whether a is a worse entry to keep than b: more failures, then seen longer
// ago, then (for a deterministic choice) the larger id.
func worse(a, b *chainstate.PeerRecord) bool {
	if a.Failures != b.Failures {
		return a.Failures > b.Failures
	}
	if a.LastSeen != b.LastSeen {
		return a.LastSeen < b.LastSeen
	}
	return string(a.ID[:]) > string(b.ID[:])
}

// poorer reports whether a is strictly a worse entry than b by what it says of the peer (more
// failures, or as many and seen longer ago): in a full group only a better address replaces one.
func poorer(a, b *chainstate.PeerRecord) bool {
	if a.Failures != b.Failures {
		return a.Failures > b.Failures
	}
	return a.LastSeen < b.LastSeen
}

// addNew puts r (not in the book) into the new table under its source group, making room in
// the group (its worst entry, when r is strictly better) or in the table (the largest group's worst
// entry). It reports whether r was added.
func (b *Book) addNew(r chainstate.PeerRecord) bool {
	r.Tried = false
	g := r.Source
	full := b.groups[g].Len() >= groupShare(g, b.maxNew)
	victim := g
	if !full && b.nNew >= b.maxNew {
		victim = b.largestGroup()
		full = victim == g || victim != ""
	}
	if full {
		w := b.worstIn(victim)
		if w == nil || victim == g && !poorer(&w.rec, &r) {
			return false
		}
		b.Forget(w.rec.ID)
	}
	if b.groups[g] == nil {
		b.groups[g] = &newGroup{}
	}
	e := &bookEntry{rec: r}
	heap.Push(b.groups[g], e)
	b.nNew++
	b.entries[r.ID] = e
	b.Mark(r.ID)
	return true
}

// changed keeps e's place in its new group's heap after its failures or last-seen time changed.
func (b *Book) changed(e *bookEntry) {
	if g := b.groups[e.rec.Source]; !e.rec.Tried && g != nil && e.hidx < g.Len() && g.es[e.hidx] == e {
		heap.Fix(g, e.hidx)
	}
}

func (b *Book) largestGroup() string {
	best, n := "", 0
	for g, m := range b.groups {
		if m.Len() > n || m.Len() == n && n > 0 && g < best {
			best, n = g, m.Len()
		}
	}
	return best
}

func (b *Book) worstIn(g string) *bookEntry {
	if m := b.groups[g]; m.Len() > 0 {
		return m.es[0]
	}
	return nil
}

// addBan keeps a ban of a peer without an address, evicting the ban that ends first when full.
func (b *Book) addBan(r chainstate.PeerRecord) bool {
	if len(b.bans) >= b.maxBans {
		var first *bookEntry
		for id := range b.bans {
			if e := b.entries[id]; first == nil || e.rec.BannedUntil < first.rec.BannedUntil {
				first = e
			}
		}
		if first == nil || first.rec.BannedUntil >= r.BannedUntil {
			return false
		}
		b.Forget(first.rec.ID)
	}
	b.entries[r.ID] = &bookEntry{rec: r}
	b.bans[r.ID] = true
	b.Mark(r.ID)
	return true
}

// learn adds or refreshes an address heard from source group src. A known peer keeps its
// record but takes a newer last-seen time, and, unless it is tried, a newer address. It
// reports whether the peer was added.
func (b *Book) Learn(id [32]byte, addr string, lastSeen int64, src string) bool {
	if id == b.self || addr == "" || addr == "-" {
		return false
	}
	if e, ok := b.entries[id]; ok {
		if b.bans[id] { // a ban kept without an address gets one
			delete(b.bans, id)
			delete(b.entries, id)
			return b.addNew(chainstate.PeerRecord{ID: id, Addr: addr, LastSeen: lastSeen, BannedUntil: e.rec.BannedUntil, Source: src})
		}
		if !e.rec.Tried && e.rec.Addr != addr && lastSeen >= e.rec.LastSeen {
			e.rec.Addr = addr
			b.Mark(id)
		}
		if lastSeen > e.rec.LastSeen {
			e.rec.LastSeen = lastSeen
			b.Mark(id)
			b.changed(e)
		}
		return false
	}
	return b.addNew(chainstate.PeerRecord{ID: id, Addr: addr, LastSeen: lastSeen, Source: src})
}

func (b *Book) Forget(id [32]byte) {
	e, ok := b.entries[id]
	if !ok {
		return
	}
	b.unlink(e)
	delete(b.entries, id)
	delete(b.dirty, id)
	b.removed[id] = true
}

// unlink takes e out of its table (not out of entries).
func (b *Book) unlink(e *bookEntry) {
	id := e.rec.ID
	switch {
	case b.bans[id]:
		delete(b.bans, id)
	case b.tried[id]:
		delete(b.tried, id)
	default:
		if m := b.groups[e.rec.Source]; m != nil && e.hidx < m.Len() && m.es[e.hidx] == e {
			heap.Remove(m, e.hidx)
			b.nNew--
			if m.Len() == 0 {
				delete(b.groups, e.rec.Source)
			}
		}
	}
}

func (b *Book) Mark(id [32]byte) {
	b.dirty[id] = true
	delete(b.removed, id)
}

// connected records a successful outbound connection to id at addr: the peer moves to the tried
// table (the tried peer seen least recently going back to the new table when it is full).
func (b *Book) Connected(id [32]byte, addr string, now time.Time) {
	if id == b.self {
		return
	}
	e, ok := b.entries[id]
	if ok && b.bans[id] {
		b.Forget(id) // re-added below with its address, keeping the ban
		defer func(until int64) {
			if e := b.entries[id]; e != nil {
				e.rec.BannedUntil = until
			}
		}(e.rec.BannedUntil)
		ok = false
	}
	if !ok {
		if addr == "" {
			return
		}
		e = &bookEntry{rec: chainstate.PeerRecord{ID: id, Addr: addr, Source: SourceImport}}
		b.entries[id] = e
	} else if !e.rec.Tried {
		b.unlink(e)
	}
	if addr != "" {
		e.rec.Addr = addr
	}
	e.rec.LastSeen = now.UnixMilli()
	e.rec.Failures = 0
	b.Mark(id)
	if e.rec.Tried {
		return
	}
	e.rec.Tried = true
	if len(b.tried) >= b.maxTried {
		var oldest *bookEntry
		for tid := range b.tried {
			if t := b.entries[tid]; oldest == nil || worse(&t.rec, &oldest.rec) {
				oldest = t
			}
		}
		b.unlink(oldest)
		delete(b.entries, oldest.rec.ID)
		if !b.addNew(oldest.rec) {
			delete(b.dirty, oldest.rec.ID)
			b.removed[oldest.rec.ID] = true
		}
	}
	b.tried[id] = true
}

// seen records an inbound connection from id, advertising addr (unverified: the peer stays in
// or goes to the new table, under the source group src of its connection).
func (b *Book) Seen(id [32]byte, addr string, now time.Time, src string) {
	if id == b.self {
		return
	}
	if _, ok := b.entries[id]; !ok || b.bans[id] {
		if addr == "" || !b.Learn(id, addr, now.UnixMilli(), src) {
			return
		}
	}
	e := b.entries[id]
	e.rec.LastSeen = now.UnixMilli()
	e.rec.Failures = 0
	b.Mark(id)
	b.changed(e)
}

// Failed records a failed dial. isolated says the node had fewer than two connections when it
// dialled (peer managers: Isolated): the failure may then be this node's own (its network is
// down, or it is cut off from the others), not the address's, so it raises the address's count
// to at most isolatedFailures (Bitcoin Core likewise counts no failures while it has too few
// connections). A node that was cut off for minutes thus redials its known peers within seconds
// of its network coming back, and does not rank them behind addresses it never tried; a count
// above the cap, earned while the node was connected, stays.
func (b *Book) Failed(id [32]byte, now time.Time, isolated bool) {
	if e, ok := b.entries[id]; ok {
		if !isolated || e.rec.Failures < isolatedFailures {
			e.rec.Failures++
		}
		e.lastAttempt = now
		b.Mark(id)
		b.changed(e)
	}
}

// ban discourages a peer until now + BanTime.
func (b *Book) Ban(id [32]byte, now time.Time) {
	if id == b.self {
		return
	}
	until := now.Add(BanTime).UnixMilli()
	if e, ok := b.entries[id]; ok {
		e.rec.BannedUntil = until
		b.Mark(id)
		return
	}
	b.addBan(chainstate.PeerRecord{ID: id, Addr: "-", BannedUntil: until})
}

func (b *Book) Banned(id [32]byte, now time.Time) bool {
	e, ok := b.entries[id]
	return ok && e.rec.BannedUntil > now.UnixMilli()
}

// candidates returns up to n peers to dial now: not self, not skipped (connected or dialling), not
// banned, past their backoff; half of them (rounded up) from the tried table when it has enough,
// the rest from the new table, each by fewest failures, then seen most recently. It keeps only
// the best n of each table while it walks the book (no sort of the whole book every tick).
func (b *Book) Candidates(n int, now time.Time, skip func([32]byte) bool) []chainstate.PeerRecord {
	if n <= 0 {
		return nil
	}
	better := func(x, y *chainstate.PeerRecord) bool {
		if x.Failures != y.Failures {
			return x.Failures < y.Failures
		}
		if x.LastSeen != y.LastSeen {
			return x.LastSeen > y.LastSeen
		}
		return string(x.ID[:]) < string(y.ID[:])
	}
	// keep inserts r into best (sorted, at most n) when it is among the n best.
	keep := func(best []chainstate.PeerRecord, r *chainstate.PeerRecord) []chainstate.PeerRecord {
		if len(best) == n && !better(r, &best[n-1]) {
			return best
		}
		k := sort.Search(len(best), func(i int) bool { return better(r, &best[i]) })
		if len(best) < n {
			best = append(best, chainstate.PeerRecord{})
		}
		copy(best[k+1:], best[k:len(best)-1])
		best[k] = *r
		return best
	}
	var tried, fresh []chainstate.PeerRecord
	for id, e := range b.entries {
		if id == b.self || b.bans[id] || e.rec.Addr == "-" || e.rec.BannedUntil > now.UnixMilli() {
			continue
		}
		// A last attempt after now means the clock went back (a cleared skew): the backoff is
		// over rather than stretched by the step.
		if e.rec.Failures > 0 && !now.Before(e.lastAttempt) && now.Sub(e.lastAttempt) < backoff(e.rec.Failures) {
			continue
		}
		if skip(id) {
			continue
		}
		if e.rec.Tried {
			tried = keep(tried, &e.rec)
		} else {
			fresh = keep(fresh, &e.rec)
		}
	}
	nt := min(len(tried), max((n+1)/2, n-len(fresh)))
	return append(tried[:nt:nt], fresh[:min(len(fresh), n-nt)]...)
}

// attempt records that a dial of id starts now.
func (b *Book) Attempt(id [32]byte, now time.Time) {
	if e, ok := b.entries[id]; ok {
		e.lastAttempt = now
	}
}

// Isolated reports whether a node with connected peers (inbound and outbound) dials as one cut
// off from the network, for Failed: fewer than two connections, or none when it dials at most
// one peer (maxOutbound).
func Isolated(connected, maxOutbound int) bool {
	return connected < min(2, maxOutbound)
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
func (b *Book) List(n int, now time.Time, except [32]byte) []chainstate.PeerRecord {
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

// pending reports whether changes wait to be taken.
func (b *Book) Pending() bool { return len(b.dirty) > 0 || len(b.removed) > 0 }

// takeChanges returns up to limit changes (records to write and ids to delete) since the last
// call, all of them when limit <= 0; the rest stay pending.
func (b *Book) TakeChanges(limit int) (put []chainstate.PeerRecord, remove [][32]byte) {
	if limit <= 0 {
		limit = len(b.dirty) + len(b.removed)
	}
	for id := range b.removed {
		if len(remove) >= limit {
			break
		}
		remove = append(remove, id)
		delete(b.removed, id)
	}
	for id := range b.dirty {
		if len(put)+len(remove) >= limit {
			break
		}
		if e, ok := b.entries[id]; ok {
			put = append(put, e.rec)
		}
		delete(b.dirty, id)
	}
	return put, remove
}

// TokenBucket bounds a rate: take succeeds while tokens last; they refill at rate a second up to
// burst. Time is an argument; a clock that goes back refills nothing.
type TokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func NewTokenBucket(rate, burst float64) *TokenBucket {
	return &TokenBucket{rate: rate, burst: burst, tokens: burst}
}

func (t *TokenBucket) Take(now time.Time) bool {
	if !t.last.IsZero() && now.After(t.last) {
		t.tokens = min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	}
	if t.last.IsZero() || now.After(t.last) {
		t.last = now
	}
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// Self is the node's own id (never dialled, never listed).
func (b *Book) Self() [32]byte { return b.self }

// Known reports whether the book has an entry for id.
func (b *Book) Known(id [32]byte) bool { return b.entries[id] != nil }

// Addr is id's address ("" when the book has none).
func (b *Book) Addr(id [32]byte) string {
	if e := b.entries[id]; e != nil {
		return e.rec.Addr
	}
	return ""
}
