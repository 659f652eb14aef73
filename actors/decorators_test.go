package actors

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/noisep2p"
)

// TestFaultDecoratorsWiredOnlyWithFaultInjection: without debug.fault_injection a node has no
// fault state, no commit hook, a connection sender without the link decorator and an undecorated
// clock; with it, each decorator is there and applies its fault.
func TestFaultDecoratorsWiredOnlyWithFaultInjection(t *testing.T) {
	base := testutil.NewClock(time.Unix(1000, 0))
	off := &Node{cfg: &config.Config{}, opts: Options{Clock: base}, clock: base}
	if off.faults != nil || off.commitHook() != nil {
		t.Fatalf("without fault injection: faults %v, commit hook set %v", off.faults, off.commitHook() != nil)
	}
	if _, ok := off.linkSender(noisep2p.ID{1}, nil, func() {}, "x").(connSender); !ok {
		t.Fatal("without fault injection the sender is decorated")
	}

	on := &Node{cfg: &config.Config{}, opts: Options{Clock: base}, faults: newFaults(base)}
	on.clock = on.faults.clock
	hook := on.commitHook()
	if hook == nil || hook() != nil {
		t.Fatal("with fault injection: want a commit hook that passes while no fault is set")
	}
	on.faults.failCommits.Store(true)
	if err := hook(); !errors.Is(err, ErrInjectedStorageFault) {
		t.Fatalf("storage fault set: hook returned %v", err)
	}
	if _, ok := on.linkSender(noisep2p.ID{1}, nil, func() {}, "x").(*faultySender); !ok {
		t.Fatal("with fault injection the sender is not the link decorator")
	}
	on.faults.clock.skewMs.Store(-30_000)
	if got, want := on.now(), time.Unix(970, 0); !got.Equal(want) {
		t.Fatalf("skewed clock: %v, want %v", got, want)
	}

	// A test's own hook runs after the storage fault's check, and alone without fault injection.
	calls := 0
	off.opts.beforeCommit = func() error { calls++; return nil }
	on.opts.beforeCommit = off.opts.beforeCommit
	if err := off.commitHook()(); err != nil || calls != 1 {
		t.Fatalf("test hook alone: %v, %d calls", err, calls)
	}
	on.faults.failCommits.Store(false)
	if err := on.commitHook()(); err != nil || calls != 2 {
		t.Fatalf("storage fault then test hook: %v, %d calls", err, calls)
	}
}

// recSender records what a decorated sender passed on.
type recSender struct {
	mu   sync.Mutex
	sent []noisep2p.Message
}

func (r *recSender) send(m noisep2p.Message) { r.mu.Lock(); r.sent = append(r.sent, m); r.mu.Unlock() }
func (*recSender) due()                      {}
func (*recSender) stop()                     {}
func (r *recSender) count() int              { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent) }

// TestFaultySender: no filter passes messages straight on; loss 1 drops them; a delay holds them
// back until the sender wakes its actor, which then sends them in order.
func TestFaultySender(t *testing.T) {
	var mu sync.Mutex
	filter := api.LinkFilter{}
	next := &recSender{}
	woke := make(chan struct{}, 1)
	s := &faultySender{next: next, id: noisep2p.ID{7}, wake: func() { woke <- struct{}{} },
		filter: func(noisep2p.ID) api.LinkFilter { mu.Lock(); defer mu.Unlock(); return filter }}
	defer s.stop()
	set := func(f api.LinkFilter) { mu.Lock(); filter = f; mu.Unlock() }

	s.send(noisep2p.GetAddr{})
	if next.count() != 1 {
		t.Fatalf("no filter: %d sent, want 1", next.count())
	}
	set(api.LinkFilter{Loss: 1})
	s.send(noisep2p.GetAddr{})
	if next.count() != 1 {
		t.Fatalf("loss 1: %d sent, want still 1", next.count())
	}
	set(api.LinkFilter{DelayMs: 20})
	start := time.Now()
	s.send(noisep2p.GetMempool{})
	s.send(noisep2p.GetAddr{})
	if next.count() != 1 {
		t.Fatalf("delayed: %d sent at once, want still 1", next.count())
	}
	// Each wake is followed by due, as the actor does on linkDue; the second message was queued
	// a little later and may need a second wake.
	for next.count() < 3 {
		select {
		case <-woke:
		case <-time.After(5 * time.Second):
			t.Fatalf("the delayed sender never woke its actor (%d sent)", next.count())
		}
		if waited := time.Since(start); waited < 20*time.Millisecond {
			t.Fatalf("woke after %s, before the 20 ms delay", waited)
		}
		s.due()
	}
	if next.count() != 3 {
		t.Fatalf("after the delay: %d sent, want 3", next.count())
	}
	if _, ok := next.sent[1].(noisep2p.GetMempool); !ok {
		t.Fatalf("order lost: second message sent is %T", next.sent[1])
	}
}
