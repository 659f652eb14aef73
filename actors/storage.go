package actors

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
)

// storeHandle publishes the store that the storage actor currently owns. Writes are messages to
// the storage actor (one writer, group-committed); reads go straight to the published store, which
// is goroutine-safe (bbolt read transactions), so a status or balance query never waits behind a
// commit. While storage restarts the handle is empty and readers get ErrUnavailable; a read that
// raced with the close gets bbolt's "database not open" and is reported the same way.
type storeHandle struct {
	mu      sync.Mutex
	cond    *sync.Cond
	cur     *chainstate.Store
	initial *chainstate.Store // opened by Start, taken by the first storage instance
	damaged atomic.Bool       // the store met damage; the node is stopping (damage.go)
}

func (h *storeHandle) condLocked() *sync.Cond {
	if h.cond == nil {
		h.cond = sync.NewCond(&h.mu)
	}
	return h.cond
}

func (h *storeHandle) takeInitial() *chainstate.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.initial
	h.initial = nil
	return s
}

func (h *storeHandle) publish(s *chainstate.Store) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = s
	h.condLocked().Broadcast()
}

func (h *storeHandle) unpublish() *chainstate.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.cur
	h.cur = nil
	return s
}

func (h *storeHandle) get() *chainstate.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// wait returns the published store, waiting at most d for storage to (re)open it.
func (h *storeHandle) wait(d time.Duration) (*chainstate.Store, error) {
	deadline := time.Now().Add(d)
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.condLocked()
	for h.cur == nil {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("storage: %w", ErrUnavailable)
		}
		// sync.Cond has no timed wait: a timer wakes every waiter at the deadline.
		t := time.AfterFunc(left, func() {
			h.mu.Lock()
			c.Broadcast()
			h.mu.Unlock()
		})
		c.Wait()
		t.Stop()
	}
	return h.cur, nil
}

// store returns the published store or ErrUnavailable.
func (n *Node) store() (*chainstate.Store, error) {
	if s := n.handle.get(); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("storage is restarting: %w", ErrUnavailable)
}

func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("storage: %v: %w", err, ErrUnavailable)
}

// Storage requests. Each is one bbolt transaction.
type (
	connectBlockRequest  struct{ Block *chainstate.Block }
	connectBlockResponse struct {
		Delta *chainstate.Delta
		Err   error
	}
	// connectBlocksRequest connects Blocks, each the child of the one before and the first the
	// child of the tip, in one write (chainstate.Store.Reorg with nothing to disconnect); the
	// answer is a storageDone. A block that does not apply fails the whole write.
	connectBlocksRequest struct{ Blocks []*chainstate.Block }
	putBlockRequest      struct {
		Block *chainstate.Block
		Work  *big.Int // cumulative work
	}
	reorgRequest struct {
		Disconnect []chainstate.Hash
		Connect    []*chainstate.Block
	}
	reorgResponse struct {
		Result *chainstate.ReorgResult
		Err    error
	}
	markInvalidRequest    struct{ Hash chainstate.Hash }
	persistMempoolRequest struct {
		ID     uint64
		Add    []*chainstate.Tx
		Remove []chainstate.Hash
		// Reply lists the submitters waiting for this commit, echoed in the response, so that a
		// mempool restarted meanwhile can still answer them.
		Reply []*actor.PID
	}
	persistMempoolResponse struct {
		ID    uint64
		Add   []*chainstate.Tx
		Reply []*actor.PID
		// Skipped lists the adds not written because their nonce was used meanwhile
		// (chainstate.Store.CommitMempool).
		Skipped []chainstate.Hash
		Err     error
	}
	storageDone struct{ Err error }
)

// storageActor owns the *bbolt.DB (through chainstate.Store): it opens it in Started (the first
// instance takes the store Start opened, so that a home in use fails before any actor runs),
// performs every write, and closes the database in Stopping and Restarting. It is the last actor
// to stop.
type storageActor struct {
	d     storageDeps
	s     *chainstate.Store
	probe *time.Timer // the next storageProbe while commits fail (storagehealth.go)
	walk  *pageWalk   // the background page walk of s (damage.go)
}

func (a *storageActor) Receive(ctx actor.Context) {
	if op := commitOp(ctx.Message()); op != "" {
		defer observeSince(a.d.commitTime.WithLabelValues(op), time.Now())
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.open(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stopProbe()
		a.close()
	case *storageProbe:
		a.runProbe(ctx)
	case *connectBlockRequest:
		a.connect(ctx, m)
	case *putBlockRequest:
		err := a.s.PutBlock(m.Block, m.Work)
		a.observeCommit(ctx, err)
		ctx.Respond(&storageDone{Err: err})
	case *reorgRequest:
		a.reorg(ctx, m)
	case *connectBlocksRequest:
		a.connectBlocks(ctx, m)
	case *markInvalidRequest:
		err := a.s.MarkInvalid(m.Hash)
		a.observeCommit(ctx, err)
		ctx.Respond(&storageDone{Err: err})
	case *putPeersRequest:
		a.putPeers(ctx, m)
	case *persistMempoolRequest:
		a.persistMempool(ctx, m)
	}
}

// open takes the store Start opened, or reopens it after a restart, and publishes it.
func (a *storageActor) open(ctx actor.Context) {
	s := a.d.handle.takeInitial()
	if s == nil {
		var err error
		cfg := a.d.cfg
		s, err = chainstate.Open(cfg.Path, a.d.params, cfg.OpenTimeout)
		if err != nil {
			if errors.Is(err, chainstate.ErrDamaged) {
				a.d.damaged(err)
			}
			panic(fmt.Errorf("reopen store: %w", err))
		}
	}
	// The commit hook (debug.fault_injection's storage fault, and tests' hooks) runs just
	// before every write commits; without one the store runs no hook at all.
	s.SetBeforeCommit(a.d.commitHook)
	// Damage met by any read or write stops the node; every page is walked once it is ready.
	s.SetOnDamage(a.d.damaged)
	a.s = s
	a.d.handle.publish(s)
	a.scheduleProbe(ctx) // commits were failing before this restart
	a.walk = startPageWalk(a.d.ready, a.d.log, a.d.damaged, s)
}

// connect connects m.Block to the tip in one write.
func (a *storageActor) connect(ctx actor.Context, m *connectBlockRequest) {
	d, err := a.s.Connect(m.Block)
	if err == nil {
		a.d.trace.connect(a.s.LastWriteID(), m.Block)
	}
	a.observeCommit(ctx, err)
	ctx.Respond(&connectBlockResponse{Delta: d, Err: err})
}

// connectBlocks connects a run of blocks on the tip in one write.
func (a *storageActor) connectBlocks(ctx actor.Context, m *connectBlocksRequest) {
	_, err := a.s.Reorg(nil, m.Blocks)
	if err == nil {
		id := a.s.LastWriteID()
		for _, b := range m.Blocks {
			a.d.trace.connect(id, b)
		}
	}
	a.observeCommit(ctx, err)
	ctx.Respond(&storageDone{Err: err})
}

// reorg switches the tip to another branch in one write.
func (a *storageActor) reorg(ctx actor.Context, m *reorgRequest) {
	r, err := a.s.Reorg(m.Disconnect, m.Connect)
	if err == nil {
		a.d.trace.reorg(a.s.LastWriteID(), r, m.Connect)
	}
	a.observeCommit(ctx, err)
	ctx.Respond(&reorgResponse{Result: r, Err: err})
}

// putPeers writes one batch of the peers actor's book, one transaction; answered only when asked
// (the last batch at stop).
func (a *storageActor) putPeers(ctx actor.Context, m *putPeersRequest) {
	err := a.s.PutPeers(m.Put, m.Remove)
	a.observeCommit(ctx, err)
	if err != nil {
		a.d.log.Warn("address book write failed", "actor", nameStorage, "peers", len(m.Put), "err", err)
	}
	if ctx.Sender() != nil {
		ctx.Respond(&storageDone{Err: err})
	}
}

// persistMempool commits a batch of the mempool's additions and removals in one write.
func (a *storageActor) persistMempool(ctx actor.Context, m *persistMempoolRequest) {
	// Every add takes its sender's nonce slot: a replace-by-fee swaps in this one write.
	skipped, evicted, err := a.s.CommitMempool(m.Add, m.Remove)
	if err == nil && a.d.trace.on() {
		a.d.trace.mempool(a.s.LastWriteID(), m.ID, writtenOf(m.Add, skipped), append(evicted, m.Remove...))
	}
	a.observeCommit(ctx, err)
	ctx.Respond(&persistMempoolResponse{ID: m.ID, Add: m.Add, Reply: m.Reply, Skipped: skipped, Err: err})
}

func (a *storageActor) close() {
	a.walk.stop()
	a.walk = nil
	if a.s == nil {
		return
	}
	a.d.handle.unpublish()
	a.d.backups.cancelAll() // a backup's read transaction would hold Close (backup.go)
	if err := a.s.Close(); err != nil {
		a.d.log.Error("close store", "actor", nameStorage, "path", a.s.Path(), "err", err)
	} else {
		a.d.log.Info("store closed", "actor", nameStorage, "path", a.s.Path())
	}
	a.s = nil
}

// writtenOf returns the transactions of add that are not in skipped.
func writtenOf(add []*chainstate.Tx, skipped []chainstate.Hash) []*chainstate.Tx {
	if len(skipped) == 0 {
		return add
	}
	out := make([]*chainstate.Tx, 0, len(add))
	for _, tx := range add {
		if !slices.Contains(skipped, tx.Hash()) {
			out = append(out, tx)
		}
	}
	return out
}
