package actors

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/noisep2p"
)

// The debug fault hooks (debug.fault_injection only; CONTRACT §3 "other /v1/debug/*"): failing
// storage commits, clock skew and per-peer link filters. Their state lives in the Node, not in an
// actor, so that it survives restarts and replacements of the actors that apply it; it is lost
// with the Node (a stopped and restarted node starts without faults).

// ErrInjectedStorageFault is returned by every storage write while the storage fault is set.
var ErrInjectedStorageFault = errors.New("injected storage fault")

// ErrOutOfRange is returned when a debug hook's value is outside what the node allows (a clock
// skew the timestamp rule would not tolerate). The API maps it to 400 out_of_range.
var ErrOutOfRange = errcode.New(errcode.OutOfRange, "out of range")

// linkTable is the set of link filters by peer id: a plain value (copy on write), so that a
// reader holds a consistent snapshot without a lock.
type linkTable map[noisep2p.ID]api.LinkFilter

// with returns the table with f applied: set, or removed when f changes nothing. f must be
// valid. The receiver is not modified.
func (t linkTable) with(f api.LinkFilter) linkTable {
	id, _ := noisep2p.ParseID(f.Peer)
	out := make(linkTable, len(t)+1)
	for k, v := range t {
		out[k] = v
	}
	if f.Active() {
		f.Peer = strings.ToLower(f.Peer)
		out[id] = f
	} else {
		delete(out, id)
	}
	return out
}

// list returns the filters ordered by peer id (never nil).
func (t linkTable) list() []api.LinkFilter {
	out := make([]api.LinkFilter, 0, len(t))
	for _, f := range t {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b api.LinkFilter) int { return strings.Compare(a.Peer, b.Peer) })
	return out
}

// CheckClockSkew checks a clock skew in seconds against the chain's future-drift bound: |skew| in
// milliseconds must be below driftMs, or blocks this node mines would be refused by nodes with a
// true clock (and it would refuse theirs). The error wraps ErrOutOfRange and names the bound.
func CheckClockSkew(skewSeconds int64, driftMs uint64) error {
	abs := skewSeconds
	if abs < 0 {
		abs = -abs
	}
	limit := driftMs / 1000
	if driftMs%1000 != 0 {
		limit++
	}
	// |skew|*1000 < driftMs, computed without overflow (abs < 0 is MinInt64).
	if abs < 0 || uint64(abs) >= limit || uint64(abs)*1000 >= driftMs {
		return fmt.Errorf("skew_seconds: |%d| s must be below the chain's future drift of %d ms: %w", skewSeconds, driftMs, ErrOutOfRange)
	}
	return nil
}

// faults is a node's injected faults, built only with debug.fault_injection (Node.faults is nil
// without it, and none of the decorators below is wired). Every field is goroutine-safe.
type faults struct {
	failCommits atomic.Bool
	clock       *skewedClock // the node's clock (Node.clock), skewed by SetClockSkew
	mu          sync.Mutex
	links       linkTable // copy on write; guarded by mu
}

func newFaults(base Clock) *faults { return &faults{clock: &skewedClock{base: base}} }

// link returns the filter of the link to id (the zero filter when none).
func (f *faults) link(id noisep2p.ID) api.LinkFilter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.links[id]
}

func (f *faults) cut(id noisep2p.ID) bool { return f.link(id).Cut }

// beforeCommit is the storage fault: the commit hook (chainstate.Store.SetBeforeCommit) the
// storage actor installs when fault injection is on.
func (f *faults) beforeCommit() error {
	if f.failCommits.Load() {
		return ErrInjectedStorageFault
	}
	return nil
}

// commitHook is the storage actor's commit hook (chainstate.Store.SetBeforeCommit): the storage
// fault with debug.fault_injection, then Options.beforeCommit; nil when neither is set.
func (n *Node) commitHook() func() error {
	hooks := make([]func() error, 0, 2)
	if n.faults != nil {
		hooks = append(hooks, n.faults.beforeCommit)
	}
	if n.opts.beforeCommit != nil {
		hooks = append(hooks, n.opts.beforeCommit)
	}
	switch len(hooks) {
	case 0:
		return nil
	case 1:
		return hooks[0]
	}
	return func() error {
		for _, h := range hooks {
			if err := h(); err != nil {
				return err
			}
		}
		return nil
	}
}

// SetStorageFault makes every write of the storage actor fail before its commit (fail true) or
// lets them commit again (false), and returns the state set. While set, nothing is acknowledged
// (a transfer gets ErrUnavailable) and the store keeps its last committed state; the node
// recovers by itself once cleared. ErrNotFound without debug.fault_injection.
func (n *Node) SetStorageFault(ctx context.Context, fail bool) (bool, error) {
	if n.faults == nil {
		return false, ErrNotFound
	}
	n.faults.failCommits.Store(fail)
	return fail, nil
}

// SetClockSkew makes the node's clock (the time it mines with and judges block times by) run
// skewSeconds ahead of the real clock (behind when negative), and returns the skew set. A skew
// the chain's future-drift rule would not tolerate is refused (ErrOutOfRange, see
// CheckClockSkew). ErrNotFound without debug.fault_injection.
func (n *Node) SetClockSkew(ctx context.Context, skewSeconds int64) (int64, error) {
	if n.faults == nil {
		return 0, ErrNotFound
	}
	if err := CheckClockSkew(skewSeconds, n.params.FutureDriftMs()); err != nil {
		return 0, err
	}
	n.faults.clock.skewMs.Store(skewSeconds * 1000)
	return skewSeconds, nil
}

// SetLink sets (or, with all of cut, delay and loss at zero, removes) the filter of the link to
// one peer and returns every filter. Cutting a link closes a live connection with that peer.
// An invalid filter is a *errcode.Error with code malformed. ErrNotFound without
// debug.fault_injection.
func (n *Node) SetLink(ctx context.Context, f api.LinkFilter) ([]api.LinkFilter, error) {
	if n.faults == nil {
		return nil, ErrNotFound
	}
	if err := f.Validate(); err != nil {
		return nil, &errcode.Error{Code: errcode.Malformed, Reason: err.Error()}
	}
	n.faults.mu.Lock()
	n.faults.links = n.faults.links.with(f)
	list := n.faults.links.list()
	n.faults.mu.Unlock()
	if f.Cut {
		id, _ := noisep2p.ParseID(f.Peer)
		// The manager closes a live connection; while it restarts, a new instance refuses the
		// peer anyway (dial and register check the filter).
		n.sys.Root.Send(n.pid(namePeers), &linkCut{ID: id})
	}
	return list, nil
}

// Links returns the link filters ordered by peer id. ErrNotFound without
// debug.fault_injection.
func (n *Node) Links(ctx context.Context) ([]api.LinkFilter, error) {
	if n.faults == nil {
		return nil, ErrNotFound
	}
	n.faults.mu.Lock()
	defer n.faults.mu.Unlock()
	return n.faults.links.list(), nil
}

// ClearLinks removes every link filter and returns the (empty) list. ErrNotFound without
// debug.fault_injection.
func (n *Node) ClearLinks(ctx context.Context) ([]api.LinkFilter, error) {
	if n.faults == nil {
		return nil, ErrNotFound
	}
	n.faults.mu.Lock()
	defer n.faults.mu.Unlock()
	n.faults.links = nil
	return []api.LinkFilter{}, nil
}

// linkCut asks the peer manager to close its connection with a peer whose link was cut.
type linkCut struct{ ID noisep2p.ID }

// delayedSend is a message held back by a link delay, due at At.
type delayedSend struct {
	At  time.Time
	Msg noisep2p.Message
}

// linkShaper applies a link's delay and loss to the messages a connection actor sends: a pure
// value driven by the actor (time is an input). Messages keep their order: a delayed one is
// queued, and every later one waits behind it.
type linkShaper struct {
	rng   *rand.Rand
	queue []delayedSend
}

// newLinkShaper returns a shaper whose loss draws are seeded by the peer id, so a run is
// reproducible for a given order of messages.
func newLinkShaper(id noisep2p.ID) *linkShaper {
	var a, b uint64
	for i := 0; i < 8; i++ {
		a = a<<8 | uint64(id[i])
		b = b<<8 | uint64(id[8+i])
	}
	return &linkShaper{rng: rand.New(rand.NewPCG(a, b))}
}

// offer decides what to do with msg under filter f at now: send it now (send true), drop it
// (both false), or queue it until it is due (queued true).
func (s *linkShaper) offer(f api.LinkFilter, msg noisep2p.Message, now time.Time) (send, queued bool) {
	if f.Loss > 0 && s.rng.Float64() < f.Loss {
		return false, false
	}
	if f.DelayMs <= 0 && len(s.queue) == 0 {
		return true, false
	}
	s.queue = append(s.queue, delayedSend{At: now.Add(time.Duration(f.DelayMs) * time.Millisecond), Msg: msg})
	return false, true
}

// due removes and returns the queued messages due at now, in order (a message is never sent
// before one queued earlier), and the time the next one is due (zero when none is queued).
func (s *linkShaper) due(now time.Time) (msgs []noisep2p.Message, next time.Time) {
	i := 0
	for i < len(s.queue) && !s.queue[i].At.After(now) {
		msgs = append(msgs, s.queue[i].Msg)
		i++
	}
	s.queue = s.queue[i:]
	if len(s.queue) > 0 {
		next = s.queue[0].At
	}
	return msgs, next
}
