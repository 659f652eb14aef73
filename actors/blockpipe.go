package actors

import (
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// blockPipe is a connection's bookkeeping for blocks whose stateless checks run off the actor's
// goroutine: at most window checks run at once, and the blocks come out in the order they came
// in, whatever order their checks finish in (consensus must see a sync's blocks parent first).
// It is a plain value: the actor starts the checks it returns and feeds back their results.
//
// Checking block n+1 while block n's check finishes (and consensus connects block n-1) keeps
// both cores busy during a sync: a block's check is serial for its decoding, hashing and Merkle
// root, and parallel only for its signatures.
type blockPipe struct {
	window  int
	next    uint64        // sequence number of the next block added
	entries []*pipedBlock // oldest first: the running, the finished not yet handed on, the waiting
	running int           // entries started and not finished
}

// pipedBlock is a block in the pipe: what the connection knew when it arrived, and its check's
// outcome once finished.
type pipedBlock struct {
	seq      uint64
	raw      []byte            // the block's encoding, decoded by its check
	block    *chainstate.Block // decoded, once done without a decoding error
	hash     chainstate.Hash   // its header's hash
	received time.Time         // when it came off the wire (the sync latency metric)
	synced   bool              // it came during a sync (no relay before commit)

	started, done bool
	err           error // the check's verdict once done
}

func newBlockPipe(window int) blockPipe { return blockPipe{window: max(1, window)} }

// len is the number of blocks in the pipe (running, finished and waiting).
func (p *blockPipe) len() int { return len(p.entries) }

// add appends b and returns the entries to start now (b itself when a check slot is free).
func (p *blockPipe) add(b *pipedBlock) (start []*pipedBlock) {
	b.seq, p.next = p.next, p.next+1
	p.entries = append(p.entries, b)
	return p.fill()
}

// finished records the check of seq's outcome (the decoded block, and the verdict) and returns
// the blocks now ready in order (the finished prefix of the pipe, removed from it) and the
// entries to start in the freed slots. A seq the pipe does not hold (finished already, or from
// before a reset) changes nothing.
func (p *blockPipe) finished(seq uint64, b *chainstate.Block, err error) (ready, start []*pipedBlock) {
	for _, e := range p.entries {
		if e.seq == seq && e.started && !e.done {
			e.done, e.block, e.err = true, b, err
			p.running--
			break
		}
	}
	n := 0
	for n < len(p.entries) && p.entries[n].done {
		n++
	}
	ready = p.entries[:n:n]
	p.entries = p.entries[n:]
	return ready, p.fill()
}

// fill starts waiting entries, oldest first, while slots are free.
func (p *blockPipe) fill() (start []*pipedBlock) {
	for _, e := range p.entries {
		if p.running >= p.window {
			break
		}
		if !e.started {
			e.started = true
			p.running++
			start = append(start, e)
		}
	}
	return start
}
