package actors

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
)

// BlockResult says what consensus did with a submitted block.
type BlockResult struct {
	Hash   chainstate.Hash
	Height uint64
	// Status is "connected" (extends the tip), "reorg" (made a side chain the main chain), "side"
	// (stored on a side chain), "duplicate" (already known) or "orphan" (parent unknown; kept in
	// the bounded orphan pool until the parent arrives).
	Status string
}

type (
	submitBlockRequest struct {
		Block  *chainstate.Block
		Source string
	}
	submitBlockResponse struct {
		Result BlockResult
		Err    error
	}
	// chainUpdate tells the mempool what the main chain gained and lost.
	chainUpdate struct {
		Connected []*chainstate.Block
		Returned  []*chainstate.Tx
		// Resync: what the reorg returned is not known here (its reply was lost); the mempool
		// takes it from the mempool bucket.
		Resync bool
	}
	// tipChanged tells the miner that the main chain has a new tip.
	tipChanged struct {
		Hash   chainstate.Hash
		Height uint64
	}
)

const (
	maxOrphans = 256
	// storageTimeout bounds a block write as a whole; storageAttempt one request to the storage
	// actor, which is retried when it goes unanswered (a killed storage actor drops its mailbox).
	storageTimeout = 30 * time.Second
	storageAttempt = 2 * time.Second
	retryPause     = 50 * time.Millisecond
)

// storageCall sends a write to the storage actor and waits for its reply (see callRetry).
func storageCall[T any](ctx actor.Context, n *Node, msg any, applied func(*chainstate.Store) bool) (T, error) {
	return callRetry[T](ctx, n, nameStorage, msg, applied)
}

// callRetry sends msg to the named actor and waits for its reply. When no reply comes within
// storageAttempt (the actor was killed and its replacement never saw the request, since a stop
// drops the mailbox; or it is slow), applied tells whether the request took effect anyway, as the
// store shows; if so the reply is nil, otherwise the request is sent again (every request sent
// this way is idempotent or fails harmlessly when repeated), up to storageTimeout in all.
func callRetry[T any](ctx actor.Context, n *Node, name string, msg any, applied func(*chainstate.Store) bool) (T, error) {
	var zero T
	deadline := time.Now().Add(storageTimeout)
	for {
		r, err := askFrom[T](ctx, n.pid(name), msg, storageAttempt)
		if err == nil {
			return r, nil
		}
		if applied != nil {
			if s, serr := n.handle.wait(storageAttempt); serr == nil && applied(s) {
				return zero, nil
			}
		}
		if time.Now().After(deadline) {
			return zero, err
		}
		if n.stopping.Load() {
			return zero, ErrStopped
		}
		n.log.Warn("no answer; retrying", "to", name, "request", fmt.Sprintf("%T", msg), "err", err)
		time.Sleep(retryPause) // the actor is being replaced: give it a moment (bounded by the deadline)
	}
}

// consensusActor holds the block index and decides what the main chain is: it validates blocks
// (stateless checks here, the state transition inside the store's write transaction), stores side
// chains, connects blocks that extend the tip and reorganises to a branch with more work. It
// restarts by reloading the index from the store; nothing it holds in memory is authoritative.
type consensusActor struct {
	n       *Node
	idx     *blockIndex
	orphans *orphanPool
	source  string // who sent the block being handled ("" local); not relayed back to it
}

func newConsensusActor(n *Node) *consensusActor {
	return &consensusActor{n: n, idx: newBlockIndex(), orphans: newOrphanPool(maxOrphans)}
}

func (c *consensusActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if err := c.load(); err != nil {
			panic(fmt.Errorf("consensus: load block index: %w", err))
		}
	case *submitBlockRequest:
		c.source = m.Source
		res, err := c.submit(ctx, m.Block)
		ctx.Respond(&submitBlockResponse{Result: res, Err: err})
	}
}

// load points the index at the store and loads the tip: time independent of chain length, with
// no block re-executed. Other entries are read from the store when first looked at.
func (c *consensusActor) load() error {
	s, err := c.n.handle.wait(10 * time.Second)
	if err != nil {
		return err
	}
	tip, err := s.Tip()
	if err != nil {
		return err
	}
	c.idx.load = func(h chainstate.Hash) *indexEntry {
		s, err := c.n.store()
		if err != nil {
			return nil
		}
		e, ok, err := s.Entry(h)
		if err != nil || !ok {
			return nil
		}
		return &indexEntry{hash: e.Hash, header: e.Header, work: e.Work, status: statusOf(e.Status)}
	}
	t := c.idx.get(tip.Hash)
	if t == nil {
		return fmt.Errorf("tip %s is not in the block index", tip.Hash)
	}
	c.idx.tip = t
	c.n.metrics.height.Set(float64(t.header.Height))
	return nil
}

func (c *consensusActor) submit(ctx actor.Context, b *chainstate.Block) (BlockResult, error) {
	h := b.Hash()
	res := BlockResult{Hash: h, Height: b.Header.Height}
	if e := c.idx.get(h); e != nil {
		if e.status == entryInvalid {
			return res, &chainstate.RuleError{Code: chainstate.CodeKnownInvalid, Reason: fmt.Sprintf("block %s is known to be invalid", h)}
		}
		res.Status = "duplicate"
		return res, nil
	}
	if c.idx.get(b.Header.PrevHash) == nil {
		c.orphans.add(h, b)
		res.Status = "orphan"
		return res, nil
	}
	res, err := c.accept(ctx, b, h)
	if err != nil {
		return res, err
	}
	// Blocks that were waiting for this one.
	queue := []chainstate.Hash{h}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, ob := range c.orphans.takeChildren(parent) {
			oh := ob.Hash()
			if _, err := c.accept(ctx, ob, oh); err != nil {
				c.n.log.Warn("orphan block rejected", "actor", nameConsensus, "block_hash", oh, "err", err)
				continue
			}
			queue = append(queue, oh)
		}
	}
	return res, nil
}

// accept handles a block whose parent is in the index.
func (c *consensusActor) accept(ctx actor.Context, b *chainstate.Block, h chainstate.Hash) (BlockResult, error) {
	defer observeSince(c.n.metrics.blockImport, time.Now())
	p := c.n.params
	res := BlockResult{Hash: h, Height: b.Header.Height}
	parent := c.idx.get(b.Header.PrevHash)
	if parent.status == entryInvalid {
		c.idx.invalidate(c.idx.add(&indexEntry{hash: h, header: b.Header, work: new(big.Int).Set(parent.work)}))
		return res, &chainstate.RuleError{Code: chainstate.CodeKnownInvalid, Reason: fmt.Sprintf("block %s builds on invalid block %s", h, parent.hash)}
	}
	if err := chainstate.CheckHeaderContext(p, &b.Header, &parent.header, c.n.nowMs()); err != nil {
		return res, err
	}
	if err := chainstate.CheckBlock(p, b, c.n.sigs); err != nil {
		return res, err
	}
	work := new(big.Int).Add(parent.work, chainstate.WorkForBits(b.Header.Bits))
	e := &indexEntry{hash: h, header: b.Header, work: work}
	if parent == c.idx.tip {
		r, err := storageCall[*connectBlockResponse](ctx, c.n, &connectBlockRequest{Block: b}, func(s *chainstate.Store) bool {
			tip, err := s.Tip()
			return err == nil && tip.Hash == h
		})
		if err != nil {
			return res, err
		}
		if r != nil && r.Err != nil && !c.storedTip(r.Err, h) {
			return res, c.rejected(ctx, e, r.Err)
		}
		c.idx.add(e)
		c.idx.setTip(e, nil, nil)
		c.connected(ctx, []*chainstate.Block{b}, nil, false)
		res.Status = "connected"
		return res, nil
	}

	// A side-chain block: store it first, so its body is there for a later reorg.
	d, err := storageCall[*storageDone](ctx, c.n, &putBlockRequest{Block: b, Work: work}, func(s *chainstate.Store) bool {
		_, ok, err := s.Entry(h)
		return err == nil && ok
	})
	if err != nil {
		return res, err
	}
	if d != nil && d.Err != nil {
		return res, unavailable(d.Err)
	}
	c.idx.add(e)
	res.Status = "side"
	if !c.idx.better(e) {
		return res, nil
	}
	if err := c.reorg(ctx, e, b); err != nil {
		return res, err
	}
	res.Status = "reorg"
	return res, nil
}

// reorg makes target the tip. The store checks and applies the whole change in one transaction:
// if any block of the new branch is invalid, nothing changes and that block is marked invalid.
func (c *consensusActor) reorg(ctx actor.Context, target *indexEntry, tb *chainstate.Block) error {
	disconnect, connect, ok := c.idx.path(target)
	if !ok {
		return fmt.Errorf("reorg to %s: branch leaves the block index", target.hash)
	}
	for _, e := range connect {
		if e.status == entryInvalid {
			c.idx.invalidate(target)
			return &chainstate.RuleError{Code: chainstate.CodeKnownInvalid, Reason: fmt.Sprintf("block %s builds on invalid block %s", target.hash, e.hash)}
		}
	}
	s, err := c.n.store()
	if err != nil {
		return err
	}
	blocks := make([]*chainstate.Block, 0, len(connect))
	for _, e := range connect {
		if e == target {
			blocks = append(blocks, tb)
			continue
		}
		b, found, err := s.Block(e.hash)
		if err != nil {
			return unavailable(err)
		}
		if !found {
			return fmt.Errorf("reorg to %s: body of %s missing", target.hash, e.hash)
		}
		blocks = append(blocks, b)
	}
	dis := make([]chainstate.Hash, len(disconnect))
	for i, e := range disconnect {
		dis[i] = e.hash
	}
	r, err := storageCall[*reorgResponse](ctx, c.n, &reorgRequest{Disconnect: dis, Connect: blocks}, func(s *chainstate.Store) bool {
		tip, err := s.Tip()
		return err == nil && tip.Hash == target.hash
	})
	if err != nil {
		return err
	}
	resync := false
	if r == nil || (r.Err != nil && c.storedTip(r.Err, target.hash)) {
		// Applied, but the reply was lost with a killed storage actor, or an earlier attempt
		// committed after its wait timed out: the returned transactions are in the mempool
		// bucket, and the mempool takes them from there.
		r, resync = &reorgResponse{Result: &chainstate.ReorgResult{}}, true
	}
	if r.Err != nil {
		bad := target
		var be *chainstate.BlockError
		if errors.As(r.Err, &be) {
			if e := c.idx.get(be.Hash); e != nil {
				bad = e
			}
		}
		return c.rejected(ctx, bad, r.Err)
	}
	c.idx.setTip(target, disconnect, connect)
	c.n.log.Info("chain reorganised", "actor", nameConsensus, "height", target.header.Height, "block_hash", target.hash,
		"disconnected", len(disconnect), "connected", len(connect), "returned_txs", len(r.Result.Returned))
	c.connected(ctx, blocks, r.Result.Returned, resync)
	return nil
}

// storedTip reports whether a write that failed with err did take effect after all: it failed
// because the block does not extend the store's tip (chainstate.ErrNotTip), and the store's tip
// is want. That happens when an earlier attempt of the same request committed only after
// callRetry stopped waiting for it (a frozen process: after SIGCONT the ask's timer fires before
// the storage actor runs) and the retry found its own block already there.
func (c *consensusActor) storedTip(err error, want chainstate.Hash) bool {
	if !errors.Is(err, chainstate.ErrNotTip) {
		return false
	}
	s, serr := c.n.store()
	if serr != nil {
		return false
	}
	tip, terr := s.Tip()
	if terr != nil || tip.Hash != want {
		return false
	}
	c.n.log.Warn("a retried write found its block already stored", "actor", nameConsensus, "block_hash", want)
	return true
}

// rejected records a block the store refused. A rule violation marks it (and what builds on it)
// invalid; any other error is the node's, not the block's, and is passed on.
func (c *consensusActor) rejected(ctx actor.Context, e *indexEntry, err error) error {
	var re *chainstate.RuleError
	if !errors.As(err, &re) {
		return unavailable(err)
	}
	c.idx.invalidate(c.idx.add(e))
	if _, serr := storageCall[*storageDone](ctx, c.n, &markInvalidRequest{Hash: e.hash}, nil); serr != nil {
		c.n.log.Warn("could not record invalid block", "actor", nameConsensus, "block_hash", e.hash, "err", serr)
	}
	return err
}

// connected publishes a new tip: metrics, the mempool (drop what was mined, take back what a reorg
// returned) and the miner (new template).
func (c *consensusActor) connected(ctx actor.Context, blocks []*chainstate.Block, returned []*chainstate.Tx, resync bool) {
	txs := 0
	for _, b := range blocks {
		txs += len(b.Txs)
	}
	tip := c.idx.tip
	m := c.n.metrics
	m.height.Set(float64(tip.header.Height))
	m.blocksConnected.Add(float64(len(blocks)))
	m.txsConnected.Add(float64(txs))
	c.n.log.Debug("block connected", "actor", nameConsensus, "height", tip.header.Height, "block_hash", tip.hash, "txs", txs)
	ctx.Send(c.n.pid(nameMempool), &chainUpdate{Connected: blocks, Returned: returned, Resync: resync})
	ctx.Send(c.n.pid(nameMiner), &tipChanged{Hash: tip.hash, Height: tip.header.Height})
	ctx.Send(c.n.pid(namePeers), &announce{Kind: invBlock, Hashes: []chainstate.Hash{tip.hash}, Source: c.source, Height: tip.header.Height})
}

func statusOf(s chainstate.BlockStatus) entryStatus {
	switch s {
	case chainstate.StatusMain:
		return entryMain
	case chainstate.StatusInvalid:
		return entryInvalid
	default:
		return entrySide
	}
}

// orphanPool holds blocks whose parent is unknown, bounded: the oldest is dropped when full.
type orphanPool struct {
	max      int
	byHash   map[chainstate.Hash]*chainstate.Block
	byParent map[chainstate.Hash][]chainstate.Hash
	order    []chainstate.Hash
}

func newOrphanPool(max int) *orphanPool {
	return &orphanPool{max: max, byHash: map[chainstate.Hash]*chainstate.Block{}, byParent: map[chainstate.Hash][]chainstate.Hash{}}
}

func (o *orphanPool) add(h chainstate.Hash, b *chainstate.Block) {
	if _, ok := o.byHash[h]; ok {
		return
	}
	for len(o.byHash) >= o.max && len(o.order) > 0 {
		o.remove(o.order[0])
	}
	o.byHash[h] = b
	o.byParent[b.Header.PrevHash] = append(o.byParent[b.Header.PrevHash], h)
	o.order = append(o.order, h)
}

func (o *orphanPool) remove(h chainstate.Hash) {
	b, ok := o.byHash[h]
	if !ok {
		return
	}
	delete(o.byHash, h)
	kids := o.byParent[b.Header.PrevHash]
	for i, k := range kids {
		if k == h {
			kids = append(kids[:i], kids[i+1:]...)
			break
		}
	}
	if len(kids) == 0 {
		delete(o.byParent, b.Header.PrevHash)
	} else {
		o.byParent[b.Header.PrevHash] = kids
	}
	for i, k := range o.order {
		if k == h {
			o.order = append(o.order[:i], o.order[i+1:]...)
			break
		}
	}
}

// takeChildren removes and returns the orphans whose parent is h.
func (o *orphanPool) takeChildren(h chainstate.Hash) []*chainstate.Block {
	kids := append([]chainstate.Hash(nil), o.byParent[h]...)
	out := make([]*chainstate.Block, 0, len(kids))
	for _, k := range kids {
		out = append(out, o.byHash[k])
		o.remove(k)
	}
	return out
}
