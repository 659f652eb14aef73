package addrbook

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// TestPeerBookClockStepBack is the regression test of redials stalled by a clock set back (a
// cleared forward skew): a failure recorded at a time ahead of the clock kept the address in
// backoff for the whole step. A last attempt in the future means the clock went back; the backoff
// is then over.
func TestPeerBookClockStepBack(t *testing.T) {
	id := [32]byte{7}
	b := New([32]byte{1}, []chainstate.PeerRecord{{ID: id, Addr: "127.0.0.1:1"}})
	none := func([32]byte) bool { return false }
	real := time.Unix(1_000_000, 0)
	b.Failed(id, real.Add(40*time.Second), false) // the clock ran 40 s ahead
	if got := b.Candidates(1, real, none); len(got) != 1 {
		t.Fatalf("after the clock went back 40 s: %d candidates, want the peer", len(got))
	}
	// A failure on a steady clock still backs off.
	b.Failed(id, real, false)
	if got := b.Candidates(1, real.Add(500*time.Millisecond), none); len(got) != 0 {
		t.Fatal("redialled within its backoff")
	}
	if got := b.Candidates(1, real.Add(3*time.Second), none); len(got) != 1 {
		t.Fatal("not redialled after its backoff")
	}
}

// TestPeerBookIsolatedFailures: dials that fail while the node is isolated raise an address's
// count only to isolatedFailures, so its backoff stays at 4 s however long the node was cut off;
// failures while connected back off to the cap, and a count earned then stays.
func TestPeerBookIsolatedFailures(t *testing.T) {
	none := func([32]byte) bool { return false }
	for _, c := range []struct {
		name     string
		isolated bool
		start    uint32 // failures before the run of failed dials
		want     uint32
		wait     time.Duration // the backoff after the run
	}{
		{"cut off", true, 0, isolatedFailures, 4 * time.Second},
		{"connected", false, 0, 20, maxBackoff},
		{"cut off after failing while connected", true, 6, 6, 32 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := [32]byte{9}
			b := New([32]byte{1}, []chainstate.PeerRecord{{ID: id, Addr: "127.0.0.1:1", Failures: c.start}})
			now := time.Unix(1_000_000, 0)
			for range 20 - int(c.start) {
				now = now.Add(maxBackoff)
				b.Failed(id, now, c.isolated)
			}
			if got := b.entries[id].rec.Failures; got != c.want {
				t.Fatalf("failures %d, want %d", got, c.want)
			}
			if got := b.Candidates(1, now.Add(c.wait-time.Millisecond), none); len(got) != 0 {
				t.Fatalf("redialled before its backoff of %v", c.wait)
			}
			if got := b.Candidates(1, now.Add(c.wait), none); len(got) != 1 {
				t.Fatalf("not redialled after its backoff of %v", c.wait)
			}
		})
	}
}

func TestIsolated(t *testing.T) {
	for _, c := range []struct {
		connected, maxOutbound int
		want                   bool
	}{
		{0, 8, true}, {1, 8, true}, {2, 8, false}, {9, 8, false},
		{0, 1, true}, {1, 1, false},
		{0, 0, false}, // a node that dials nobody on its own
	} {
		if got := Isolated(c.connected, c.maxOutbound); got != c.want {
			t.Errorf("Isolated(%d, %d) = %v, want %v", c.connected, c.maxOutbound, got, c.want)
		}
	}
}

func bookID(i int) [32]byte {
	var id [32]byte
	id[0], id[1], id[2] = 0xAB, byte(i>>8), byte(i)
	return id
}

func TestSourceGroup(t *testing.T) {
	id := [32]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}
	for _, c := range []struct{ remote, want string }{
		{"10.1.2.3:7600", "4:10.1"},
		{"10.1.200.9:1", "4:10.1"},
		{"10.2.2.3:7600", "4:10.2"},
		{"[2001:db8:1:2::1]:7600", "6:20010db8"},
		{"[::ffff:10.1.2.3]:7600", "4:10.1"},
		{"127.0.0.1:40000", "lo:deadbeef01020304"},
		{"127.0.0.2:1", "lo:deadbeef01020304"},
		{"[::1]:7", "lo:deadbeef01020304"},
		{"", "lo:deadbeef01020304"},
		{"seed.example:7600", "host:seed.example"},
	} {
		if got := SourceGroup(c.remote, id); got != c.want {
			t.Errorf("SourceGroup(%q) = %q, want %q", c.remote, got, c.want)
		}
	}
	if SourceGroup("127.0.0.1:1", [32]byte{1}) == SourceGroup("127.0.0.1:1", [32]byte{2}) {
		t.Error("two loopback peers share a group: a devnet's nodes would share one share")
	}
}

// TestPeerBookLoopbackFloodKeepsTried: a bundle of 10,000 loopback addresses (the acceptance
// script's flood) fills at most the import share of the new table and evicts no tried peer,
// nor the addresses other peers taught.
func TestPeerBookLoopbackFloodKeepsTried(t *testing.T) {
	b := New([32]byte{1}, nil)
	now := time.Unix(1_000_000, 0)
	for i := range 20 {
		b.Connected(bookID(i), fmt.Sprintf("127.0.0.1:%d", 7600+i), now)
	}
	for i := range 50 {
		b.Learn(bookID(100+i), fmt.Sprintf("127.0.0.1:%d", 8600+i), now.UnixMilli(), SourceGroup("127.0.0.1:5", bookID(0)))
	}
	added := 0
	for i := range 10_000 {
		if b.Learn(bookID(1000+i), fmt.Sprintf("127.0.0.1:%d", 1+i), now.UnixMilli(), SourceImport) {
			added++
		}
	}
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
	if want := groupShare(SourceImport, maxNew); added != want || b.groups[SourceImport].Len() != want {
		t.Fatalf("added %d, import group %d; want the import share %d", added, b.groups[SourceImport].Len(), want)
	}
	for i := range 20 {
		if e := b.entries[bookID(i)]; e == nil || !e.rec.Tried {
			t.Fatalf("tried peer %d evicted or demoted by the flood", i)
		}
	}
	if n := b.groups[SourceGroup("127.0.0.1:5", bookID(0))].Len(); n != 50 {
		t.Fatalf("a peer's 50 addresses: %d left after the flood", n)
	}
	// The flood's addresses fail; a newer one of the same source replaces a failed one.
	var failed []int
	for i := range 10_000 {
		if b.entries[bookID(1000+i)] != nil && len(failed) < 10 {
			b.Failed(bookID(1000+i), now, false)
			failed = append(failed, i)
		}
	}
	if !b.Learn(bookID(20_000), "127.0.0.1:60000", now.UnixMilli(), SourceImport) {
		t.Fatal("a new import did not replace a failed one of its own group")
	}
	gone := 0
	for _, i := range failed {
		if b.entries[bookID(1000+i)] == nil {
			gone++
		}
	}
	if gone != 1 || b.groups[SourceImport].Len() != groupShare(SourceImport, maxNew) {
		t.Fatalf("%d failed imports replaced, group %d; want 1, the share", gone, b.groups[SourceImport].Len())
	}
}

func TestPeerBookCandidatesPreferTried(t *testing.T) {
	b := New([32]byte{1}, nil)
	now := time.Unix(1_000_000, 0)
	for i := range 4 {
		b.Connected(bookID(i), fmt.Sprintf("127.0.0.1:%d", 7600+i), now)
	}
	for i := range 10 {
		b.Learn(bookID(100+i), fmt.Sprintf("127.0.0.1:%d", 8600+i), now.Add(time.Hour).UnixMilli(), SourceImport)
	}
	none := func([32]byte) bool { return false }
	for _, c := range []struct{ n, tried int }{{1, 1}, {2, 1}, {4, 2}, {5, 3}, {8, 4}, {14, 4}, {20, 4}} {
		got := b.Candidates(c.n, now, none)
		tried := 0
		for _, r := range got {
			if r.Tried {
				tried++
			}
		}
		if want := min(c.n, 14); len(got) != want || tried != c.tried {
			t.Errorf("candidates(%d): %d, %d tried; want %d, %d tried", c.n, len(got), tried, want, c.tried)
		}
	}
	// Without new addresses, the tried fill every slot.
	b2 := New([32]byte{1}, nil)
	for i := range 4 {
		b2.Connected(bookID(i), fmt.Sprintf("127.0.0.1:%d", 7600+i), now)
	}
	if got := b2.Candidates(4, now, none); len(got) != 4 {
		t.Errorf("only tried peers: %d candidates of 4", len(got))
	}
}

func TestPeerBookTriedFullDemotesOldest(t *testing.T) {
	b := NewSized([32]byte{1}, nil, 8, 2, 2)
	t0 := time.Unix(1_000_000, 0)
	b.Connected(bookID(1), "127.0.0.1:1", t0)
	b.Connected(bookID(2), "127.0.0.1:2", t0.Add(time.Second))
	b.Connected(bookID(3), "127.0.0.1:3", t0.Add(2*time.Second))
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
	if e := b.entries[bookID(1)]; e == nil || e.rec.Tried {
		t.Fatalf("the oldest tried peer: %+v, want it back in the new table", e)
	}
	if !b.entries[bookID(2)].rec.Tried || !b.entries[bookID(3)].rec.Tried {
		t.Fatal("the newer tried peers left the tried table")
	}
}

func TestPeerBookBans(t *testing.T) {
	b := NewSized([32]byte{1}, nil, 8, 2, 2)
	t0 := time.Unix(1_000_000, 0)
	for i := range 3 {
		b.Ban(bookID(i), t0.Add(time.Duration(i)*time.Second))
	}
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
	if b.Banned(bookID(0), t0) || !b.Banned(bookID(1), t0) || !b.Banned(bookID(2), t0) {
		t.Fatal("a full ban list did not give up the ban that ends first")
	}
	// A banned peer that becomes known keeps its ban.
	b.Learn(bookID(2), "127.0.0.1:2", 0, SourceImport)
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
	if !b.Banned(bookID(2), t0) || b.entries[bookID(2)].rec.Addr != "127.0.0.1:2" {
		t.Fatal("learning a banned peer's address lost the ban or the address")
	}
	if got := b.Candidates(8, t0, func([32]byte) bool { return false }); len(got) != 0 {
		t.Fatalf("banned peers are dial candidates: %v", got)
	}
}

func TestPeerBookLoad(t *testing.T) {
	t0 := time.Unix(1_000_000, 0).UnixMilli()
	var recs []chainstate.PeerRecord
	for i := range 5 {
		recs = append(recs, chainstate.PeerRecord{ID: bookID(i), Addr: "127.0.0.1:1", LastSeen: t0 + int64(i), Tried: true, Source: SourceImport})
	}
	for i := range 20 {
		recs = append(recs, chainstate.PeerRecord{ID: bookID(100 + i), Addr: "127.0.0.1:2", LastSeen: t0 + int64(i)}) // an old book: no source
	}
	recs = append(recs, chainstate.PeerRecord{ID: bookID(500), Addr: "-", BannedUntil: t0})
	b := NewSized([32]byte{1}, recs, 8, 3, 2)
	if err := b.check(); err != nil {
		t.Fatal(err)
	}
	// The two tried peers seen least recently go back to the new table (their source's group);
	// of the 20 sourceless records, the stored group's share of 4.
	if len(b.tried) != 3 || b.nNew != 6 || b.groups[srcStored].Len() != 4 || len(b.bans) != 1 {
		t.Fatalf("loaded %d tried, %d new (%d stored), %d bans; want 3, 6 (4 stored), 1", len(b.tried), b.nNew, b.groups[srcStored].Len(), len(b.bans))
	}
	for _, i := range []int{2, 3, 4} {
		if !b.tried[bookID(i)] {
			t.Errorf("tried peer %d (among the most recently seen) not loaded as tried", i)
		}
	}
	put, remove := b.TakeChanges(0)
	if len(remove) != len(recs)-3-6-1 {
		t.Fatalf("%d removals, want the %d records that did not fit", len(remove), len(recs)-10)
	}
	if len(put) != 6 {
		t.Fatalf("%d records to write back, want the 4 sourceless ones now in group stored and the 2 demoted", len(put))
	}
	if b.Pending() {
		t.Fatal("changes pending after taking them all")
	}
}

// TestPeerBookBatches: changes are taken in batches of at most the limit, until none is left,
// every change exactly once, removals included.
func TestPeerBookBatches(t *testing.T) {
	b := New([32]byte{1}, nil)
	now := time.Unix(1_000_000, 0)
	for i := range 30 {
		b.Learn(bookID(i), "127.0.0.1:9", now.UnixMilli(), "4:10.1")
	}
	if put, remove := b.TakeChanges(0); len(put) != 30 || len(remove) != 0 || b.Pending() {
		t.Fatalf("all changes: %d puts, %d removals, pending %v; want 30, 0, false", len(put), len(remove), b.Pending())
	}
	want := map[[32]byte]bool{}
	for i := range 5 {
		b.Failed(bookID(i), now, false)
		want[bookID(i)] = true
	}
	for i := 10; i < 13; i++ {
		b.Forget(bookID(i))
		want[bookID(i)] = true
	}
	got := map[[32]byte]int{}
	batches := 0
	for b.Pending() {
		put, remove := b.TakeChanges(3)
		batches++
		if n := len(put) + len(remove); n == 0 || n > 3 || batches > 3 {
			t.Fatalf("batch %d: %d puts and %d removals, limit 3", batches, len(put), len(remove))
		}
		for _, r := range put {
			got[r.ID]++
		}
		for _, id := range remove {
			got[id]++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("batches carried %d distinct changes, want %d", len(got), len(want))
	}
	for id, n := range got {
		if !want[id] || n != 1 {
			t.Fatalf("change %x carried %d times (wanted: %v)", id[:3], n, want[id])
		}
	}
}

func TestTokenBucket(t *testing.T) {
	tb := NewTokenBucket(4, 8)
	t0 := time.Unix(1_000_000, 0)
	n := 0
	for tb.Take(t0) {
		n++
	}
	if n != 8 {
		t.Fatalf("burst %d, want 8", n)
	}
	if tb.Take(t0.Add(200 * time.Millisecond)) {
		t.Fatal("a token 200 ms after the burst at 4/s")
	}
	if !tb.Take(t0.Add(260 * time.Millisecond)) {
		t.Fatal("no token 260 ms after the burst at 4/s")
	}
	// A clock that goes back refills nothing.
	if tb.Take(t0) {
		t.Fatal("a token after the clock went back")
	}
	// 10 s of dials at full demand: at most burst + 10 x rate.
	tb = NewTokenBucket(4, 8)
	n = 0
	for ms := 0; ms <= 10_000; ms += 10 {
		if tb.Take(t0.Add(time.Duration(ms) * time.Millisecond)) {
			n++
		}
	}
	if n > 8+40 || n < 40 {
		t.Fatalf("%d dials in 10 s at 4/s with a burst of 8", n)
	}
}

// TestPeerBookProperties: under any sequence of operations the tables stay within their bounds
// and each group within its share; learning (from any source), bans, failures and inbound
// sightings never evict or demote a tried peer; a flood from one source leaves the others at
// least what the table has beyond that source's share.
func TestPeerBookProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nNew := rapid.IntRange(8, 64).Draw(t, "maxNew")
		nTried := rapid.IntRange(1, 16).Draw(t, "maxTried")
		b := NewSized(bookID(0), nil, nNew, nTried, rapid.IntRange(1, 8).Draw(t, "maxBans"))
		srcs := []string{SourceImport, SourceSeed, "4:10.1", "4:10.2", "6:20010db8", "lo:01", "lo:02"}
		t0 := time.Unix(1_000_000, 0)
		steps := rapid.IntRange(1, 300).Draw(t, "steps")
		for s := range steps {
			id := bookID(rapid.IntRange(0, 200).Draw(t, "id"))
			addr := fmt.Sprintf("127.0.0.1:%d", rapid.IntRange(1, 5).Draw(t, "port"))
			now := t0.Add(time.Duration(rapid.IntRange(0, 1000).Draw(t, "at")) * time.Second)
			src := rapid.SampledFrom(srcs).Draw(t, "src")
			tried := map[[32]byte]bool{}
			for k := range b.tried {
				tried[k] = true
			}
			op := rapid.IntRange(0, 5).Draw(t, "op")
			switch op {
			case 0:
				b.Learn(id, addr, now.UnixMilli(), src)
			case 1:
				b.Connected(id, addr, now)
			case 2:
				b.Failed(id, now, false)
			case 3:
				b.Ban(id, now)
			case 4:
				b.Seen(id, addr, now, src)
			case 5: // a flood from one source
				others := b.nNew - b.groups[src].Len()
				for i := range rapid.IntRange(1, 3*nNew).Draw(t, "flood") {
					b.Learn(bookID(1000+s*1000+i), addr, now.UnixMilli(), src)
				}
				if left := b.nNew - b.groups[src].Len(); left < min(others, nNew-groupShare(src, nNew)) {
					t.Fatalf("a flood from %s left the other groups %d of %d (table %d, share %d)", src, left, others, nNew, groupShare(src, nNew))
				}
			}
			if err := b.check(); err != nil {
				t.Fatalf("after op %d: %v", op, err)
			}
			if op != 1 {
				for k := range tried {
					if !b.tried[k] {
						t.Fatalf("op %d evicted or demoted tried peer %x", op, k[:3])
					}
				}
			}
			k := rapid.IntRange(1, 10).Draw(t, "slots")
			skip := func(id [32]byte) bool { return id[2]%7 == 0 }
			if got, want := b.Candidates(k, now, skip), refCandidates(b, k, now, skip); (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
				t.Fatalf("candidates(%d): %v\nwant (sorted whole book) %v", k, got, want)
			}
		}
	})
}

// refCandidates is candidates the plain way: every eligible entry of each table, sorted, then half
// the slots (rounded up) from the tried ones when there are enough.
func refCandidates(b *Book, n int, now time.Time, skip func([32]byte) bool) []chainstate.PeerRecord {
	var tried, fresh []chainstate.PeerRecord
	for id, e := range b.entries {
		if b.bans[id] || e.rec.Addr == "-" || e.rec.BannedUntil > now.UnixMilli() || skip(id) ||
			e.rec.Failures > 0 && !now.Before(e.lastAttempt) && now.Sub(e.lastAttempt) < backoff(e.rec.Failures) {
			continue
		}
		if e.rec.Tried {
			tried = append(tried, e.rec)
		} else {
			fresh = append(fresh, e.rec)
		}
	}
	for _, s := range [][]chainstate.PeerRecord{tried, fresh} {
		sort.Slice(s, func(i, j int) bool {
			if s[i].Failures != s[j].Failures {
				return s[i].Failures < s[j].Failures
			}
			if s[i].LastSeen != s[j].LastSeen {
				return s[i].LastSeen > s[j].LastSeen
			}
			return string(s[i].ID[:]) < string(s[j].ID[:])
		})
	}
	nt := min(len(tried), max((n+1)/2, n-len(fresh)))
	out := append([]chainstate.PeerRecord{}, tried[:nt]...)
	return append(out, fresh[:min(len(fresh), n-nt)]...)
}
