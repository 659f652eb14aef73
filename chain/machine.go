package chain

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// Kind is what a Decision asks for or reports.
type Kind uint8

// Decisions that ask for a write: the caller performs it against the store and passes its Result
// to Advance. The machine changes its tip only after a write is reported done.
const (
	// None: the machine has nothing more to do for the block handed to Step.
	None Kind = iota
	// WriteConnect: connect Block on the store's tip (chainstate.Store.Connect).
	WriteConnect
	// WritePut: store Block with cumulative work Work as a side-branch block (Store.PutBlock).
	WritePut
	// WriteReorg: disconnect Disconnect (tip first) and connect Connect (fork point + 1 first, the
	// last one is Block; the others are stored) in one write (Store.Reorg).
	WriteReorg
	// WriteInvalid: record Invalid as invalid in the store (Store.MarkInvalid); best effort,
	// its Result only moves the machine on.
	WriteInvalid
)

// Decisions that report an outcome; Advance (with any Result) moves on to the next block.
const (
	// Connected: Block extends the main chain; it is the new tip.
	Connected Kind = iota + 16
	// Reorged: the main chain moved from From to Block: Disconnect went off it, Connect (with
	// Sources) on, Block last.
	Reorged
	// Stored: Block is stored on a side branch with no more work than the tip.
	Stored
	// Duplicate: Block is already known.
	Duplicate
	// Orphaned: Block's parent is unknown; it waits in the bounded orphan pool, and Parent is
	// the block to ask peers for (the first missing ancestor of the orphans leading to it).
	Orphaned
	// Rejected: Block was refused with Err: a *chainstate.RuleError when it breaks a rule (it or
	// an ancestor is then in the invalid set, except for a header or stateless check, which may
	// pass later), any other error when a write failed.
	Rejected
)

var kindNames = map[Kind]string{
	None: "none", WriteConnect: "write connect", WritePut: "write put", WriteReorg: "write reorg",
	WriteInvalid: "write invalid", Connected: "connected", Reorged: "reorged", Stored: "stored",
	Duplicate: "duplicate", Orphaned: "orphan", Rejected: "rejected",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", k)
}

// IsWrite reports whether k asks for a write.
func (k Kind) IsWrite() bool { return k >= WriteConnect && k <= WriteInvalid }

// Decision is one step of the machine's work on a block: a write to perform or an outcome.
type Decision struct {
	Kind   Kind
	Block  *chainstate.Block
	Hash   chainstate.Hash // Block's hash
	Height uint64
	Source Source
	// Released: Block came out of the orphan pool (its parent arrived), not from Step.
	Released bool

	Work       *big.Int          // WritePut: Block's cumulative work
	From       chainstate.Hash   // WriteReorg, Reorged: the tip before the reorg
	Disconnect []chainstate.Hash // WriteReorg, Reorged: tip first
	Connect    []chainstate.Hash // WriteReorg, Reorged: fork point + 1 first, Hash last
	Sources    []Source          // Reorged: where each Connect block came from
	Invalid    chainstate.Hash   // WriteInvalid: the block to record as invalid
	Parent     chainstate.Hash   // Orphaned: the missing block to ask for
	Err        error             // Rejected
}

// Depth is the number of blocks a reorg takes off the main chain.
func (d Decision) Depth() int { return len(d.Disconnect) }

// Outcome is how a write ended.
type Outcome uint8

const (
	// Done: the write committed.
	Done Outcome = iota
	// AlreadyDone: the write was not answered (or failed because its change was there), but the
	// store shows that an earlier attempt of the same write committed.
	AlreadyDone
	// Failed: the write did not take effect; Result.Err says why (a *chainstate.RuleError, or a
	// *chainstate.BlockError wrapping one, when a block does not apply).
	Failed
)

var outcomeNames = [...]string{Done: "done", AlreadyDone: "already done", Failed: "failed"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// Result is what a write did, for Advance.
type Result struct {
	Outcome Outcome
	Err     error // Failed
}

// Config builds a Machine.
type Config struct {
	Rules Rules
	// Tip is the store's tip (its work included).
	Tip chainstate.IndexEntry
	// Load reads an index entry from the store; nil when everything is handed in as blocks.
	Load func(chainstate.Hash) (chainstate.IndexEntry, bool)
	// MainHash reads the hash of the store's main-chain block at a height (Store.MainHash), so
	// that HeaderContext.Ancestor costs the distance to the main chain, not to the height; nil:
	// Ancestor walks the index.
	MainHash func(height uint64) (chainstate.Hash, bool)
	// MaxOrphans bounds the orphan pool (the oldest orphan is dropped); at least 1.
	MaxOrphans int
}

// Machine is the consensus state machine: the block index with its tip and invalid set, fork
// choice and the orphan pool. It does no I/O but through Config.Load: every write is a Decision
// the caller performs and reports back with Advance. Not safe for concurrent use.
type Machine struct {
	rules   Rules
	idx     *index
	orphans *orphanPool
	nowMs   uint64
	cur     *job     // the block being handled
	pending Kind     // the last Decision returned, until Advance
	queue   []orphan // released orphans still to handle
}

// job is the block the machine is working on.
type job struct {
	block    *chainstate.Block
	hash     chainstate.Hash
	src      Source
	released bool
	e        *entry   // its index entry once it passed the checks
	dis, con []*entry // WriteReorg: the path
	from     *entry   // WriteReorg: the tip before
	err      error    // the rule error to report after WriteInvalid
}

// New returns a machine whose main chain ends at cfg.Tip.
func New(cfg Config) (*Machine, error) {
	if cfg.Rules == nil {
		return nil, errors.New("chain: no rules")
	}
	if cfg.Tip.Work == nil {
		return nil, fmt.Errorf("chain: tip %s has no work", cfg.Tip.Hash)
	}
	idx := newIndex(cfg.Load)
	idx.mainHash = cfg.MainHash
	t := idx.add(fromStore(cfg.Tip))
	t.status = chainstate.StatusMain
	idx.tip = t
	return &Machine{rules: cfg.Rules, idx: idx, orphans: newOrphanPool(max(cfg.MaxOrphans, 1))}, nil
}

// Tip returns the main chain's tip: hash, height and cumulative work (not to be modified).
func (m *Machine) Tip() (chainstate.Hash, uint64, *big.Int) {
	t := m.idx.tip
	return t.hash, t.header.Height, t.work
}

// Orphans is the number of blocks in the orphan pool.
func (m *Machine) Orphans() int { return m.orphans.len() }

// Status is what the machine knows of h: StatusMain, StatusSide, StatusInvalid, or StatusUnknown.
func (m *Machine) Status(h chainstate.Hash) chainstate.BlockStatus {
	if e := m.idx.get(h); e != nil {
		return e.status
	}
	return chainstate.StatusUnknown
}

// Step hands the machine a block from src at local time nowMs (ms since the Unix epoch) and
// returns its first Decision. Call Advance after each Decision until it returns None; Step
// panics when called before that (the machine handles one block at a time).
func (m *Machine) Step(b *chainstate.Block, src Source, nowMs uint64) Decision {
	if m.pending != None {
		panic(fmt.Sprintf("chain: Step while %s is pending", m.pending))
	}
	m.nowMs = nowMs
	j := &job{block: b, hash: b.Hash(), src: src}
	m.cur = j
	if e := m.idx.get(j.hash); e != nil {
		if e.status == chainstate.StatusInvalid {
			return m.reject(&chainstate.RuleError{Code: chainstate.CodeKnownInvalid, Reason: fmt.Sprintf("block %s is known to be invalid", j.hash)})
		}
		if e.status == chainstate.StatusSide && chainstate.MoreWork(e.work, m.idx.tip.work) {
			j.e = e // stored, but its reorg did not happen (the write failed): try again
			return m.reorgTo(e)
		}
		return m.emit(Decision{Kind: Duplicate})
	}
	prev := b.Header.PrevHash
	if m.idx.get(prev) == nil {
		m.orphans.add(j.hash, b, src)
		return m.emit(Decision{Kind: Orphaned, Parent: m.orphans.root(prev)})
	}
	return m.accept()
}

// Advance takes the Result of the last Decision's write (ignored after an outcome) and returns
// the next Decision, None when the machine is done.
func (m *Machine) Advance(r Result) Decision {
	switch m.pending {
	case None:
		return Decision{}
	case WriteConnect:
		return m.afterConnect(r)
	case WritePut:
		return m.afterPut(r)
	case WriteReorg:
		return m.afterReorg(r)
	case WriteInvalid:
		return m.reject(m.cur.err)
	default:
		return m.next()
	}
}

// emit fills d with the current block and remembers it as pending.
func (m *Machine) emit(d Decision) Decision {
	j := m.cur
	d.Block, d.Hash, d.Height, d.Source, d.Released = j.block, j.hash, j.block.Header.Height, j.src, j.released
	m.pending = d.Kind
	return d
}

func (m *Machine) reject(err error) Decision { return m.emit(Decision{Kind: Rejected, Err: err}) }

func knownInvalid(h, bad chainstate.Hash) error {
	return &chainstate.RuleError{Code: chainstate.CodeKnownInvalid, Reason: fmt.Sprintf("block %s builds on invalid block %s", h, bad)}
}

// accept checks the current block, whose parent is in the index, and asks for its write.
func (m *Machine) accept() Decision {
	j := m.cur
	h := &j.block.Header
	parent := m.idx.get(h.PrevHash)
	if parent.status == chainstate.StatusInvalid {
		m.idx.invalidate(m.idx.add(&entry{hash: j.hash, header: *h, work: new(big.Int).Set(parent.work), src: j.src}))
		return m.reject(knownInvalid(j.hash, parent.hash))
	}
	ctx := HeaderContext{Parent: &parent.header, NowMs: m.nowMs, Ancestor: func(height uint64) (chainstate.Header, bool) {
		return m.idx.ancestor(parent, height)
	}}
	if err := m.rules.CheckHeader(h, ctx); err != nil {
		return m.reject(err)
	}
	if err := m.rules.CheckBlock(j.block); err != nil {
		return m.reject(err)
	}
	work := new(big.Int).Add(parent.work, m.rules.Work(h))
	j.e = &entry{hash: j.hash, header: *h, work: work, status: chainstate.StatusSide, src: j.src}
	if parent == m.idx.tip {
		return m.emit(Decision{Kind: WriteConnect})
	}
	return m.emit(Decision{Kind: WritePut, Work: new(big.Int).Set(work)})
}

// failed handles a write that failed with err for the block of e: a rule error puts e (and its
// known descendants) in the invalid set and asks to record it; any other error is the node's.
func (m *Machine) failed(e *entry, err error) Decision {
	var re *chainstate.RuleError
	if !errors.As(err, &re) {
		return m.reject(err)
	}
	m.idx.invalidate(m.idx.add(e))
	m.cur.err = err
	return m.emit(Decision{Kind: WriteInvalid, Invalid: e.hash})
}

func (m *Machine) afterConnect(r Result) Decision {
	j := m.cur
	if r.Outcome == Failed {
		return m.failed(j.e, r.Err)
	}
	m.idx.setTip(m.idx.add(j.e), nil, nil)
	return m.accepted(Decision{Kind: Connected})
}

func (m *Machine) afterPut(r Result) Decision {
	j := m.cur
	if r.Outcome == Failed {
		return m.reject(r.Err) // a side block is not executed: its failure is the store's
	}
	e := m.idx.add(j.e)
	if !chainstate.MoreWork(e.work, m.idx.tip.work) {
		return m.accepted(Decision{Kind: Stored})
	}
	return m.reorgTo(e)
}

// reorgTo asks for the reorg that makes e, a stored block with more work than the tip, the tip.
func (m *Machine) reorgTo(e *entry) Decision {
	j := m.cur
	dis, con, err := m.idx.path(e)
	if err != nil {
		return m.reject(fmt.Errorf("reorg to %s: %w", e.hash, err))
	}
	if bad := hasInvalid(con); bad != nil {
		m.idx.invalidate(bad) // and so everything known to build on it, e included
		return m.reject(knownInvalid(e.hash, bad.hash))
	}
	j.dis, j.con, j.from = dis, con, m.idx.tip
	return m.emit(Decision{Kind: WriteReorg, From: j.from.hash, Disconnect: hashes(dis), Connect: hashes(con)})
}

func (m *Machine) afterReorg(r Result) Decision {
	j := m.cur
	if r.Outcome == Failed {
		bad := j.e
		var be *chainstate.BlockError
		if errors.As(r.Err, &be) {
			if e := m.idx.get(be.Hash); e != nil {
				bad = e
			}
		}
		return m.failed(bad, r.Err)
	}
	m.idx.setTip(j.e, j.dis, j.con)
	src := make([]Source, len(j.con))
	for i, e := range j.con {
		src[i] = e.src
	}
	return m.accepted(Decision{Kind: Reorged, From: j.from.hash, Disconnect: hashes(j.dis), Connect: hashes(j.con), Sources: src})
}

// accepted reports d, a block now in the index, and queues the orphans that waited for it.
func (m *Machine) accepted(d Decision) Decision {
	m.queue = append(m.queue, m.orphans.takeChildren(m.cur.hash)...)
	return m.emit(d)
}

// next moves on to the next released orphan, or reports None.
func (m *Machine) next() Decision {
	m.pending, m.cur = None, nil
	if len(m.queue) == 0 {
		return Decision{}
	}
	o := m.queue[0]
	m.queue = m.queue[1:]
	m.cur = &job{block: o.block, hash: o.block.Hash(), src: o.src, released: true}
	return m.accept()
}

func hashes(es []*entry) []chainstate.Hash {
	out := make([]chainstate.Hash, len(es))
	for i, e := range es {
		out[i] = e.hash
	}
	return out
}
