package actors

import (
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/blocksync"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestMempoolAnswer: the empty answer to our GetMempool is not taken for an empty getblocks
// answer (which ends a sync round), and only one Inv is taken as the answer.
func TestMempoolAnswer(t *testing.T) {
	asked := time.Unix(1000, 0)
	tx := noisep2p.InvItem{Kind: invTx, Hash: chainstate.Hash{1}}
	block := noisep2p.InvItem{Kind: invBlock, Hash: chainstate.Hash{2}}
	for _, tc := range []struct {
		name      string
		asked     time.Time
		after     time.Duration
		items     []noisep2p.InvItem
		skip      bool
		stillOpen bool
	}{
		{"empty answer", asked, time.Second, nil, true, false},
		{"answer with transactions", asked, time.Second, []noisep2p.InvItem{tx}, false, false},
		{"a block announcement is not the answer", asked, time.Second, []noisep2p.InvItem{block}, false, true},
		{"a getblocks answer is not the answer", asked, time.Second, []noisep2p.InvItem{block, tx}, false, true},
		{"nothing asked: an empty inv is a getblocks answer", time.Time{}, time.Second, nil, false, false},
		{"too late: an empty inv is a getblocks answer", asked, mempoolAnswerWithin, nil, false, false},
	} {
		skip, still := mempoolAnswer(tc.asked, asked.Add(tc.after), tc.items)
		if skip != tc.skip || !still.IsZero() != tc.stillOpen {
			t.Errorf("%s: skip %v, still asked %v; want %v, %v", tc.name, skip, !still.IsZero(), tc.skip, tc.stillOpen)
		}
	}
	// After the answer, the next empty inv is a getblocks answer again.
	_, still := mempoolAnswer(asked, asked.Add(time.Second), nil)
	if skip, _ := mempoolAnswer(still, asked.Add(2*time.Second), nil); skip {
		t.Error("a second empty inv was taken for the mempool answer")
	}
}

// TestWorkWindow: at most window jobs run and waitMax wait; a finished job starts the oldest
// waiting one; every job offered is run (now or later) or refused, never lost.
func TestWorkWindow(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		window, waitMax := rapid.IntRange(1, 4).Draw(t, "window"), rapid.IntRange(0, 4).Draw(t, "wait_max")
		w := newWorkWindow[int](window, waitMax)
		var running, waiting, started, dropped []int
		next := 0
		for _, op := range rapid.SliceOf(rapid.Bool()).Draw(t, "ops") {
			if op {
				switch w.offer(next) {
				case workRun:
					running, started = append(running, next), append(started, next)
				case workWaiting:
					waiting = append(waiting, next)
				case workDropped:
					if len(running) < window || len(waiting) < waitMax {
						t.Fatalf("job %d refused with %d running, %d waiting", next, len(running), len(waiting))
					}
					dropped = append(dropped, next)
				}
				next++
			} else if len(running) > 0 {
				running = running[1:]
				j, ok := w.done()
				if ok != (len(waiting) > 0) || ok && j != waiting[0] {
					t.Fatalf("done: next %d %v, waiting %v", j, ok, waiting)
				}
				if ok {
					running, started, waiting = append(running, j), append(started, j), waiting[1:]
				}
			}
			if len(running) > window || len(waiting) > waitMax || w.running != len(running) || len(w.waiting) != len(waiting) {
				t.Fatalf("running %d (model %d, window %d), waiting %d (model %d, max %d)", w.running, len(running), window, len(w.waiting), len(waiting), waitMax)
			}
		}
		if len(started)+len(waiting)+len(dropped) != next {
			t.Fatalf("%d offered, %d started, %d waiting, %d dropped", next, len(started), len(waiting), len(dropped))
		}
	})
}

// TestBlockOutcome: what the connection makes of consensus's answer.
func TestBlockOutcome(t *testing.T) {
	rule := &chainstate.RuleError{Code: chainstate.CodeBadBits}
	for _, tc := range []struct {
		name string
		res  any
		err  error
		want blocksync.Outcome
	}{
		{"connected", &submitBlockResponse{Result: BlockResult{Status: "connected"}}, nil, blocksync.Accepted},
		{"orphan", &submitBlockResponse{Result: BlockResult{Status: "orphan"}}, nil, blocksync.Orphan},
		{"rule broken", &submitBlockResponse{Err: rule}, nil, blocksync.Rejected},
		{"time too new: maybe our clock", &submitBlockResponse{Err: &chainstate.RuleError{Code: chainstate.CodeTimeTooNew}}, nil, blocksync.Accepted},
		{"this node's failure", &submitBlockResponse{Err: ErrUnavailable}, nil, blocksync.Accepted},
		{"no answer", nil, errors.New("timeout"), blocksync.Accepted},
	} {
		if got, _ := blockOutcome(tc.res, tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBlockDoneAfterStop: consensus's answer for a block that comes after the connection stopped
// leaves the connection's sync alone. protoactor delivers the continuation to the PID, which
// names the successor connection once the peer reconnects; before this check the old sync's maps
// were written from two mailboxes at once (a data race -race found in TestChaosInProcess).
func TestBlockDoneAfterStop(t *testing.T) {
	h, next := chainstate.Hash{7}, chainstate.Hash{8}
	now := time.Unix(1000, 0)
	unknown := func(chainstate.Hash) bool { return false }
	// A window of one block, held by h while consensus connects it: another announced block is
	// requested only once h's answer has been taken.
	newSync := func() *blocksync.Sync {
		cfg := blocksync.DefaultConfig()
		cfg.Window = 1
		s := blocksync.New(cfg)
		if a := s.Announced(now, []chainstate.Hash{h}, false, unknown); len(a.Request) != 1 {
			t.Fatalf("announced: %+v", a)
		}
		s.Received(now, h)
		s.Submit(h)
		return s
	}
	b := &chainstate.Block{Header: chainstate.Header{Height: 1}}
	ok := &submitBlockResponse{Result: BlockResult{Hash: h, Status: "connected"}}

	stopped := &peerConnActor{sync: newSync(), closed: true}
	stopped.blockDone(nil, b, h, ok, nil) // a nil context: nothing may be sent either
	if a := stopped.sync.Announced(now, []chainstate.Hash{next}, false, unknown); len(a.Request) != 0 {
		t.Fatalf("a stopped connection took the answer: its window moved on (%+v)", a)
	}

	// The control: the answer taken frees the window.
	live := newSync()
	live.BlockDone(now, h, blocksync.Accepted, unknown)
	if a := live.Announced(now, []chainstate.Hash{next}, false, unknown); len(a.Request) != 1 {
		t.Fatalf("control: the window did not move on (%+v); the test would prove nothing", a)
	}
}
