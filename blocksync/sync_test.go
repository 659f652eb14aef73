package blocksync

import (
	"maps"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

var t0 = time.Unix(1_000_000, 0)

func hashes(ns ...byte) []chainstate.Hash {
	out := make([]chainstate.Hash, len(ns))
	for i, n := range ns {
		out[i] = chainstate.Hash{n}
	}
	return out
}

func rangeHashes(from, to int) []chainstate.Hash {
	var out []chainstate.Hash
	for i := from; i < to; i++ {
		out = append(out, chainstate.Hash{byte(i), byte(i >> 8)})
	}
	return out
}

// knownSet is a Known over a set the test changes.
type knownSet map[chainstate.Hash]bool

func (k knownSet) has(h chainstate.Hash) bool { return k[h] }

func small() Config { return Config{Window: 3, Timeout: 4 * time.Second, MaxQueue: 10} }

// step is one input of a table case; want is the Actions it must produce.
type step struct {
	name string
	do   func(s *Sync, k knownSet) Actions
	want Actions
	// after checks the machine's counters after the step: syncing, in flight, submitted, queued.
	syncing                     bool
	inFlight, submitted, queued int
}

func TestSyncTable(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name  string
		known []chainstate.Hash
		steps []step
	}{
		{"an empty answer to the first round ends the sync", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"empty inv", func(s *Sync, k knownSet) Actions { return s.Announced(t0, nil, true, k.has) }, Actions{Done: true}, false, 0, 0, 0},
		}},
		{"an inventory of transactions only does not end a round", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"tx inv", func(s *Sync, k knownSet) Actions { return s.Announced(t0, nil, false, k.has) }, Actions{}, true, 0, 0, 0},
		}},
		{"the window holds back the rest of an answer; each answer lets one more through", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer of 5", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(1, 2, 3, 4, 5), false, k.has) },
				Actions{Request: hashes(1, 2, 3)}, true, 3, 0, 2},
			{"block 1 arrives", func(s *Sync, _ knownSet) Actions {
				s.Received(t0, hashes(1)[0])
				s.Submit(hashes(1)[0])
				return Actions{}
			},
				Actions{}, true, 2, 1, 2},
			{"block 1 connected", func(s *Sync, k knownSet) Actions {
				k[hashes(1)[0]] = true
				return s.BlockDone(t0, hashes(1)[0], Accepted, k.has)
			},
				Actions{Request: hashes(4)}, true, 3, 0, 1},
			{"notfound 2 and 3", func(s *Sync, k knownSet) Actions { return s.NotFound(t0, hashes(2, 3), k.has) },
				Actions{Request: hashes(5)}, true, 2, 0, 0},
		}},
		{"the last block of a round starts the next round", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer of 1", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(1), false, k.has) }, Actions{Request: hashes(1)}, true, 1, 0, 0},
			{"it arrives", func(s *Sync, _ knownSet) Actions {
				s.Received(t0, hashes(1)[0])
				s.Submit(hashes(1)[0])
				return Actions{}
			}, Actions{}, true, 0, 1, 0},
			{"connected", func(s *Sync, k knownSet) Actions {
				k[hashes(1)[0]] = true
				return s.BlockDone(t0, hashes(1)[0], Accepted, k.has)
			},
				Actions{GetBlocks: true}, true, 0, 0, 0},
			{"the next answer is empty", func(s *Sync, k knownSet) Actions { return s.Announced(t0, nil, true, k.has) }, Actions{Done: true}, false, 0, 0, 0},
		}},
		{"known, in-flight and queued blocks are not asked again", hashes(9), []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(9, 1, 1, 2), false, k.has) }, Actions{Request: hashes(1, 2)}, true, 2, 0, 0},
			{"same answer again", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(9, 1, 2), false, k.has) }, Actions{}, true, 2, 0, 0},
			{"2 arrives and is being connected", func(s *Sync, _ knownSet) Actions {
				s.Received(t0, hashes(2)[0])
				s.Submit(hashes(2)[0])
				return Actions{}
			}, Actions{}, true, 1, 1, 0},
			{"2 announced while being connected", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(2), false, k.has) }, Actions{}, true, 1, 1, 0},
		}},
		{"a block that arrived meanwhile is skipped when its turn comes", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer of 5", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(1, 2, 3, 4, 5), false, k.has) }, Actions{Request: hashes(1, 2, 3)}, true, 3, 0, 2},
			{"4 comes by gossip", func(s *Sync, k knownSet) Actions { k[hashes(4)[0]] = true; return s.NotFound(t0, hashes(1), k.has) },
				Actions{Request: hashes(5)}, true, 3, 0, 0},
		}},
		{"an orphan asks for its parents", nil, []step{
			{"gossiped block arrives unasked", func(s *Sync, _ knownSet) Actions {
				s.Received(t0, hashes(7)[0])
				s.Submit(hashes(7)[0])
				return Actions{}
			}, Actions{}, false, 0, 1, 0},
			{"consensus: orphan", func(s *Sync, k knownSet) Actions { return s.BlockDone(t0, hashes(7)[0], Orphan, k.has) }, Actions{GetBlocks: true}, false, 0, 0, 0},
		}},
		{"a rejected block only leaves the window", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(1, 2), false, k.has) }, Actions{Request: hashes(1, 2)}, true, 2, 0, 0},
			{"1 arrives", func(s *Sync, _ knownSet) Actions {
				s.Received(t0, hashes(1)[0])
				s.Submit(hashes(1)[0])
				return Actions{}
			}, Actions{}, true, 1, 1, 0},
			{"rejected", func(s *Sync, k knownSet) Actions { return s.BlockDone(t0, hashes(1)[0], Rejected, k.has) }, Actions{}, true, 1, 0, 0},
		}},
		{"an unanswered request expires and a new round asks again", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer at 1s", func(s *Sync, k knownSet) Actions { return s.Announced(at(time.Second), hashes(1, 2), false, k.has) }, Actions{Request: hashes(1, 2)}, true, 2, 0, 0},
			{"2 arrives at 3s", func(s *Sync, _ knownSet) Actions {
				s.Received(at(3*time.Second), hashes(2)[0])
				s.Submit(hashes(2)[0])
				return Actions{}
			}, Actions{}, true, 1, 1, 0},
			{"tick at 5s: nothing is old enough", func(s *Sync, _ knownSet) Actions { return s.Tick(at(5 * time.Second)) }, Actions{}, true, 1, 1, 0},
			{"tick at 5.1s: 1 expired", func(s *Sync, _ knownSet) Actions { return s.Tick(at(5100 * time.Millisecond)) }, Actions{GetBlocks: true, Expired: hashes(1)}, true, 0, 1, 0},
			{"the new round's answer asks for 1 again", func(s *Sync, k knownSet) Actions { return s.Announced(at(6*time.Second), hashes(1, 2), false, k.has) },
				Actions{Request: hashes(1)}, true, 1, 1, 0},
		}},
		{"a sync that hears nothing starts a new round", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"tick at 4s", func(s *Sync, _ knownSet) Actions { return s.Tick(at(4 * time.Second)) }, Actions{}, true, 0, 0, 0},
			{"tick at 4.5s", func(s *Sync, _ knownSet) Actions { return s.Tick(at(4500 * time.Millisecond)) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"tick at 5s: the new round is young", func(s *Sync, _ knownSet) Actions { return s.Tick(at(5 * time.Second)) }, Actions{}, true, 0, 0, 0},
		}},
		{"no sync: a lost request for an announced block expires on its own", nil, []step{
			{"announcement", func(s *Sync, k knownSet) Actions { return s.Announced(t0, hashes(1, 2), false, k.has) }, Actions{Request: hashes(1, 2)}, false, 2, 0, 0},
			{"2 arrives", func(s *Sync, _ knownSet) Actions { s.Received(at(time.Second), hashes(2)[0]); return Actions{} }, Actions{}, false, 1, 0, 0},
			{"tick at 4s", func(s *Sync, _ knownSet) Actions { return s.Tick(at(4 * time.Second)) }, Actions{}, false, 1, 0, 0},
			{"tick at 4.001s", func(s *Sync, _ knownSet) Actions { return s.Tick(at(4*time.Second + time.Millisecond)) }, Actions{GetBlocks: true, Expired: hashes(1)}, false, 0, 0, 0},
			{"tick at 9s: nothing left", func(s *Sync, _ knownSet) Actions { return s.Tick(at(9 * time.Second)) }, Actions{}, false, 0, 0, 0},
		}},
		{"no sync: a quiet connection never asks", nil, []step{
			{"tick", func(s *Sync, _ knownSet) Actions { return s.Tick(at(time.Hour)) }, Actions{}, false, 0, 0, 0},
		}},
		{"the queue is bounded", nil, []step{
			{"start", func(s *Sync, _ knownSet) Actions { return s.Start(t0) }, Actions{GetBlocks: true}, true, 0, 0, 0},
			{"answer of 20", func(s *Sync, k knownSet) Actions { return s.Announced(t0, rangeHashes(0, 20), false, k.has) }, Actions{Request: rangeHashes(0, 3)}, true, 3, 0, 7},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k := New(small()), knownSet{}
			for _, h := range tc.known {
				k[h] = true
			}
			for _, st := range tc.steps {
				got := st.do(s, k)
				slices.SortFunc(got.Expired, func(a, b chainstate.Hash) int { return slices.Compare(a[:], b[:]) })
				if !equalActions(got, st.want) {
					t.Fatalf("%s: got %+v, want %+v", st.name, got, st.want)
				}
				if s.Syncing() != st.syncing || s.InFlight() != st.inFlight || s.Submitted() != st.submitted || s.Queued() != st.queued {
					t.Fatalf("%s: syncing %v in flight %d submitted %d queued %d; want %v %d %d %d", st.name,
						s.Syncing(), s.InFlight(), s.Submitted(), s.Queued(), st.syncing, st.inFlight, st.submitted, st.queued)
				}
			}
		})
	}
}

func equalActions(a, b Actions) bool {
	return a.GetBlocks == b.GetBlocks && a.Done == b.Done && slices.Equal(a.Request, b.Request) && slices.Equal(a.Expired, b.Expired)
}

// TestSyncProperties drives a Sync with random inputs against a model of the requests and
// checks, after every step: never more than the window in flight; the queue within its bound;
// a block is asked for only when it is not in flight, not being connected and not known; every
// block asked for is, until it is received, in flight, and leaves the flight only by arriving,
// by a notfound or by expiring (older than the timeout); a tick long after everything leaves
// nothing in flight and asks again; Done comes only from a running sync, and ends it.
func TestSyncProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{Window: rapid.IntRange(1, 8).Draw(t, "window"), Timeout: 4 * time.Second, MaxQueue: rapid.IntRange(1, 20).Draw(t, "max_queue")}
		s := New(cfg)
		known := knownSet{}
		asked := map[chainstate.Hash]time.Time{} // the model: requested, not yet received, expired or not found
		submitted := map[chainstate.Hash]bool{}
		now := t0
		hash := func(label string) chainstate.Hash { return chainstate.Hash{byte(rapid.IntRange(0, 30).Draw(t, label))} }
		apply := func(a Actions, wasSyncing bool) {
			for _, h := range a.Request {
				if _, dup := asked[h]; dup || submitted[h] || known[h] {
					t.Fatalf("asked for %x: in flight %v, submitted %v, known %v", h[:1], dup, submitted[h], known[h])
				}
				asked[h] = now
			}
			for _, h := range a.Expired {
				at, ok := asked[h]
				if !ok || now.Sub(at) <= cfg.Timeout {
					t.Fatalf("expired %x: asked %v at %v, now %v", h[:1], ok, at, now)
				}
				delete(asked, h)
			}
			if a.Done && (!wasSyncing || s.Syncing()) {
				t.Fatalf("done: was syncing %v, still syncing %v", wasSyncing, s.Syncing())
			}
		}
		for i := rapid.IntRange(1, 80).Draw(t, "steps"); i > 0; i-- {
			now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "ms")) * time.Millisecond)
			was := s.Syncing()
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0:
				apply(s.Start(now), was)
			case 1:
				n := rapid.IntRange(0, 12).Draw(t, "n")
				var bs []chainstate.Hash
				for j := 0; j < n; j++ {
					bs = append(bs, hash("announced"))
				}
				apply(s.Announced(now, bs, n == 0 && rapid.Bool().Draw(t, "empty"), known.has), was)
			case 2:
				h := hash("received")
				s.Received(now, h)
				delete(asked, h)
				if rapid.Bool().Draw(t, "valid") {
					s.Submit(h)
					submitted[h] = true
				}
			case 3:
				var pend []chainstate.Hash
				for h := range submitted {
					pend = append(pend, h)
				}
				if len(pend) == 0 {
					continue
				}
				slices.SortFunc(pend, func(a, b chainstate.Hash) int { return slices.Compare(a[:], b[:]) })
				h := rapid.SampledFrom(pend).Draw(t, "done")
				o := Outcome(rapid.IntRange(0, 2).Draw(t, "outcome"))
				delete(submitted, h)
				if o == Accepted {
					known[h] = true
				}
				a := s.BlockDone(now, h, o, known.has)
				if o == Orphan && !a.GetBlocks {
					t.Fatal("an orphan did not start a round")
				}
				apply(a, was)
			case 4:
				h := hash("notfound")
				delete(asked, h)
				apply(s.NotFound(now, []chainstate.Hash{h}, known.has), was)
			case 5:
				apply(s.Tick(now), was)
			case 6:
				known[hash("gossiped")] = true
			}
			if s.InFlight() > cfg.Window {
				t.Fatalf("%d in flight, window %d", s.InFlight(), cfg.Window)
			}
			if s.Queued() > cfg.MaxQueue {
				t.Fatalf("%d queued, bound %d", s.Queued(), cfg.MaxQueue)
			}
			if s.InFlight() != len(asked) {
				t.Fatalf("%d in flight, model %d", s.InFlight(), len(asked))
			}
			for h := range asked {
				if !s.Requested(h) {
					t.Fatalf("%x asked for and not answered, but not in flight", h[:1])
				}
			}
			// An idle sync needs no timer: a connection stops its tick when NeedsTick is false,
			// so a Tick then, however late, must have nothing to do.
			if !s.NeedsTick() {
				if s.Syncing() || len(asked) > 0 {
					t.Fatalf("no tick needed while syncing %v with %d in flight", s.Syncing(), len(asked))
				}
				probe := *s
				probe.inFlight = maps.Clone(s.inFlight)
				if a := probe.Tick(now.Add(time.Hour)); len(a.Expired) > 0 || a.GetBlocks || a.Done || len(a.Request) > 0 {
					t.Fatalf("a tick on an idle sync acted: %+v", a)
				}
			}
		}
		now = now.Add(cfg.Timeout + time.Millisecond)
		a := s.Tick(now)
		apply(a, s.Syncing())
		if s.InFlight() != 0 || len(asked) != 0 || (len(a.Expired) > 0 && !a.GetBlocks) {
			t.Fatalf("after the timeout: %d in flight, model %d, actions %+v", s.InFlight(), len(asked), a)
		}
	})
}

// TestQueueDedup is the regression test of a sync queue that grew without bound under a lossy
// link: every getblocks answer (one per orphan) appended the same hashes again, so the queue
// held each missing block many times over and the sync never caught up. The queue holds each
// hash at most once, in first-pushed order.
func TestQueueDedup(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q queue
		var model []chainstate.Hash
		in := map[chainstate.Hash]bool{}
		for _, b := range rapid.SliceOf(rapid.ByteRange(0, 20)).Draw(t, "ops") {
			if b == 0 {
				h, ok := q.pop()
				if ok != (len(model) > 0) || ok && h != model[0] {
					t.Fatalf("pop %v %v, model %v", h, ok, model)
				}
				if ok {
					model = model[1:]
					delete(in, h)
				}
				continue
			}
			h := chainstate.Hash{b}
			if added := q.push(h); added == in[h] {
				t.Fatalf("push %x: added %v, already queued %v", b, added, in[h])
			}
			if !in[h] {
				in[h] = true
				model = append(model, h)
			}
			if q.len() != len(model) {
				t.Fatalf("len %d, model %d", q.len(), len(model))
			}
		}
	})
}

// TestLocatorHeights: the last ten heights one by one, then doubling steps, always ending at
// genesis, and never more than noisep2p.MaxLocator (101) for any 64-bit height.
func TestLocatorHeights(t *testing.T) {
	for _, tc := range []struct {
		tip  uint64
		want []uint64
	}{
		{0, []uint64{0}},
		{3, []uint64{3, 2, 1, 0}},
		{12, []uint64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 1, 0}},
		{30, []uint64{30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 19, 15, 7, 0}},
	} {
		if got := LocatorHeights(tc.tip); !slices.Equal(got, tc.want) {
			t.Errorf("tip %d: %v, want %v", tc.tip, got, tc.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		tip := rapid.Uint64().Draw(t, "tip")
		hs := LocatorHeights(tip)
		if hs[0] != tip || hs[len(hs)-1] != 0 || len(hs) > 101 {
			t.Fatalf("tip %d: %d heights from %d to %d", tip, len(hs), hs[0], hs[len(hs)-1])
		}
		for i := 1; i < len(hs); i++ {
			if hs[i] >= hs[i-1] {
				t.Fatalf("tip %d: not descending at %d: %v", tip, i, hs)
			}
		}
	})
}
