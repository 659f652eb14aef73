package blocksync

import (
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// Config holds the limits of a Sync.
type Config struct {
	// Window is the most blocks requested from the peer or handed to consensus and not yet
	// answered.
	Window int
	// Timeout is how long a request, or a sync round, may go without an answer before it is
	// asked again.
	Timeout time.Duration
	// MaxQueue bounds the announced blocks waiting to be requested; further announcements are
	// dropped (a later round announces them again).
	MaxQueue int
}

// DefaultConfig is the node's configuration: a window of 32, a timeout of 4 s and a queue of
// ten getblocks answers.
func DefaultConfig() Config {
	return Config{Window: 32, Timeout: 4 * time.Second, MaxQueue: 5000}
}

// Known reports whether the node already has the block h (stored, on any branch).
type Known func(h chainstate.Hash) bool

// Actions is what the connection has to do after one step.
type Actions struct {
	// GetBlocks: send a getblocks with a fresh locator (a new round).
	GetBlocks bool
	// Request: send one getdata for these blocks, in this order.
	Request []chainstate.Hash
	// Done: the sync with this peer ended (tell the peer manager).
	Done bool
	// Expired are the requests this step forgot because they went unanswered (for the log).
	Expired []chainstate.Hash
}

// Outcome is consensus's verdict on a block this connection handed over.
type Outcome int

const (
	// Accepted covers every answer that is not Orphan or Rejected: connected, stored on a side
	// branch, already known, and this node's own failures (the block comes again later).
	Accepted Outcome = iota
	// Orphan: consensus lacks the block's parent.
	Orphan
	// Rejected: the block broke a rule; the connection is being dropped.
	Rejected
)

// Sync is the block download from one peer. The zero value is not usable; use New.
type Sync struct {
	cfg          Config
	syncing      bool
	queue        queue
	inFlight     map[chainstate.Hash]time.Time // requested (when), not yet received
	submitted    map[chainstate.Hash]struct{}  // received and handed to consensus, not yet answered
	lastProgress time.Time                     // the last answer of the sync (stall detection)
}

// New returns an idle Sync.
func New(cfg Config) *Sync {
	return &Sync{cfg: cfg, inFlight: map[chainstate.Hash]time.Time{}, submitted: map[chainstate.Hash]struct{}{}}
}

// Syncing reports whether a sync with this peer is running.
func (s *Sync) Syncing() bool { return s.syncing }

// InFlight is the number of blocks requested and not yet received.
func (s *Sync) InFlight() int { return len(s.inFlight) }

// Requested reports whether h is requested and not yet received.
func (s *Sync) Requested(h chainstate.Hash) bool { _, ok := s.inFlight[h]; return ok }

// Submitted is the number of blocks handed to consensus and not yet answered.
func (s *Sync) Submitted() int { return len(s.submitted) }

// Queued is the number of announced blocks waiting to be requested.
func (s *Sync) Queued() int { return s.queue.len() }

// idle reports whether the current round is finished: nothing queued, requested or being
// connected.
func (s *Sync) idle() bool {
	return s.queue.len() == 0 && len(s.inFlight) == 0 && len(s.submitted) == 0
}

// Start begins (or restarts) a sync with this peer: a new round.
func (s *Sync) Start(now time.Time) Actions {
	s.syncing = true
	s.lastProgress = now
	return Actions{GetBlocks: true}
}

// Announced takes an inventory announcement: blocks are its block hashes (in order), empty says
// the inventory had no items at all (the peer's answer "nothing after your locator"; an
// inventory of transactions only is not empty). The blocks the node lacks are queued and
// requested as the window allows.
func (s *Sync) Announced(now time.Time, blocks []chainstate.Hash, empty bool, known Known) Actions {
	if s.syncing {
		s.lastProgress = now
	}
	if empty {
		return s.finishIfIdle(Actions{})
	}
	if len(blocks) == 0 {
		return Actions{}
	}
	for _, h := range blocks {
		if s.queue.len() >= s.cfg.MaxQueue {
			break
		}
		if !s.pending(h) && !known(h) {
			s.queue.push(h)
		}
	}
	return s.finishIfIdle(Actions{Request: s.fill(now, known)})
}

// finishIfIdle ends the sync when it runs and the round is finished.
func (s *Sync) finishIfIdle(a Actions) Actions {
	if s.syncing && s.idle() {
		s.syncing = false
		a.Done = true
	}
	return a
}

// NotFound takes the peer's notfound for hashes: they are no longer in flight, and the window
// moves on.
func (s *Sync) NotFound(now time.Time, hashes []chainstate.Hash, known Known) Actions {
	for _, h := range hashes {
		delete(s.inFlight, h)
	}
	return Actions{Request: s.fill(now, known)}
}

// Received takes a block that arrived (requested or not): it is no longer in flight, and an
// answer to a request is progress.
func (s *Sync) Received(now time.Time, h chainstate.Hash) {
	if _, ok := s.inFlight[h]; ok {
		s.lastProgress = now
		delete(s.inFlight, h)
	}
}

// Submit records that h is being checked or was handed to consensus: it holds its
// place in the window until BlockDone.
func (s *Sync) Submit(h chainstate.Hash) { s.submitted[h] = struct{}{} }

// BlockDone takes consensus's verdict on h. An orphan starts a round (its answer leads up to
// the missing parents), and so does a finished round while syncing; a rejected block only
// leaves the window (the connection is being dropped).
func (s *Sync) BlockDone(now time.Time, h chainstate.Hash, o Outcome, known Known) Actions {
	delete(s.submitted, h)
	if o == Rejected {
		return Actions{}
	}
	a := Actions{Request: s.fill(now, known)}
	a.GetBlocks = o == Orphan || s.syncing && s.idle()
	return a
}

// Tick checks, at now, for requests unanswered for longer than Timeout (they are forgotten) and
// for a sync that heard nothing for that long; either starts a new round, whose answer asks
// again for what is still missing.
//
// Tick has nothing to do unless NeedsTick: a connection that is not syncing and waits for no
// block needs no timer.
func (s *Sync) Tick(now time.Time) Actions {
	var a Actions
	for h, at := range s.inFlight {
		if now.Sub(at) > s.cfg.Timeout {
			a.Expired = append(a.Expired, h)
			delete(s.inFlight, h)
		}
	}
	stalled := s.syncing && now.Sub(s.lastProgress) > s.cfg.Timeout
	if len(a.Expired) > 0 || stalled {
		s.lastProgress = now
		a.GetBlocks = true
	}
	return a
}

// NeedsTick reports whether Tick may act: a sync is running or a requested block is awaited.
func (s *Sync) NeedsTick() bool { return s.syncing || len(s.inFlight) > 0 }

// pending reports whether h is requested or being connected.
func (s *Sync) pending(h chainstate.Hash) bool {
	_, in := s.inFlight[h]
	_, sub := s.submitted[h]
	return in || sub
}

// fill requests queued blocks while the window has room, skipping those that are pending or
// arrived meanwhile (by gossip, or from another peer).
func (s *Sync) fill(now time.Time, known Known) []chainstate.Hash {
	var out []chainstate.Hash
	for s.queue.len() > 0 && len(s.inFlight)+len(s.submitted) < s.cfg.Window {
		h, _ := s.queue.pop()
		if s.pending(h) || known(h) {
			continue
		}
		s.inFlight[h] = now
		out = append(out, h)
	}
	return out
}

// queue is a FIFO of block hashes that holds each hash at most once (repeated getblocks answers
// announce the same blocks again).
type queue struct {
	order []chainstate.Hash
	in    map[chainstate.Hash]bool
}

// push appends h unless it is queued already, and reports whether it was appended.
func (q *queue) push(h chainstate.Hash) bool {
	if q.in[h] {
		return false
	}
	if q.in == nil {
		q.in = map[chainstate.Hash]bool{}
	}
	q.in[h] = true
	q.order = append(q.order, h)
	return true
}

// pop removes and returns the oldest hash.
func (q *queue) pop() (chainstate.Hash, bool) {
	if len(q.order) == 0 {
		return chainstate.Hash{}, false
	}
	h := q.order[0]
	q.order = q.order[1:]
	delete(q.in, h)
	return h, true
}

func (q *queue) len() int { return len(q.order) }

// LocatorHeights returns the heights of a block locator for a chain whose tip is at tip: the
// last ten blocks one by one, then doubling steps back, always ending at genesis. At most
// noisep2p.MaxLocator entries.
func LocatorHeights(tip uint64) []uint64 {
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
