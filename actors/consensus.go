package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chain"
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
		Block *chainstate.Block
		// Source is "miner" for this node's miner, else who sent it: a peer id (not relayed back
		// to it) or "local".
		Source string
		// Checked says the sender ran chainstate.CheckBlock on this very Block with the node's
		// params and it passed: consensus does not run the stateless checks again.
		Checked bool
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
		At     time.Time // when consensus published it (the miner's tip switch metric)
	}
)

const maxOrphans = 256

// consensusActor routes blocks into the consensus state machine (package chain), which holds the
// block index, fork choice, the invalid set and the orphan pool, and executes its decisions: the
// writes against the storage actor (blockExec), then the replies and what the rest of the node
// hears (publish). It restarts by building a new machine from the store's tip; nothing it holds
// in memory is authoritative.
type consensusActor struct {
	d     consensusDeps
	m     *chain.Machine
	rules *checkedRules // the machine's rules: c.d.rules, skipping what a connection checked
}

// checkedRules are the node's rules, except that CheckBlock passes the one block whose
// submitter already checked it (submitBlockRequest.Checked) without checking it again: the
// stateless checks hash every transaction and compute the Merkle root, about a millisecond of
// the import of a 1,000-transfer block during a sync. Any other block, a released orphan among
// them, is checked.
type checkedRules struct {
	chain.Rules
	checked *chainstate.Block // set by submit for its Step only
}

func (r *checkedRules) CheckBlock(b *chainstate.Block) error {
	if b == r.checked {
		return nil
	}
	return r.Rules.CheckBlock(b)
}

func newConsensusActor(d consensusDeps) *consensusActor { return &consensusActor{d: d} }

func (c *consensusActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if err := c.load(); err != nil {
			panic(fmt.Errorf("consensus: load block index: %w", err))
		}
	case *submitBlockRequest:
		res, err := c.submit(ctx, m)
		ctx.Respond(&submitBlockResponse{Result: res, Err: err})
	case *submitBlocksRequest:
		res := &submitBlocksResponse{Results: c.submitBlocks(ctx, m)}
		if ctx.Sender() != nil { // a stopping connection's last blocks: nobody waits (handOff)
			ctx.Respond(res)
		}
	}
}

// load builds the machine on the store's tip: time independent of chain length, with no block
// re-executed. Other index entries are read from the store when first looked at.
func (c *consensusActor) load() error {
	s, err := c.d.waitStore(10 * time.Second)
	if err != nil {
		return err
	}
	tip, err := s.Tip()
	if err != nil {
		return err
	}
	t, ok, err := s.Entry(tip.Hash)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("tip %s is not in the block index", tip.Hash)
	}
	c.rules = &checkedRules{Rules: c.d.rules}
	c.m, err = chain.New(chain.Config{
		Rules:      c.rules,
		Tip:        t,
		Load:       c.loadEntry,
		MainHash:   c.mainHash,
		MaxOrphans: maxOrphans,
	})
	if err != nil {
		return err
	}
	c.d.metrics.height.Set(float64(t.Header.Height))
	c.d.metrics.difficulty.Set(c.d.params.Difficulty(&t.Header))
	return nil
}

// loadEntry reads an index entry from the published store (none while storage restarts).
func (c *consensusActor) loadEntry(h chainstate.Hash) (chainstate.IndexEntry, bool) {
	s, err := c.d.store()
	if err != nil {
		return chainstate.IndexEntry{}, false
	}
	e, ok, err := s.Entry(h)
	return e, err == nil && ok
}

// mainHash reads the store's main-chain block at height (none while storage restarts).
func (c *consensusActor) mainHash(height uint64) (chainstate.Hash, bool) {
	s, err := c.d.store()
	if err != nil {
		return chainstate.Hash{}, false
	}
	h, ok, err := s.MainHash(height)
	return h, err == nil && ok
}

// sourceOf reads submitBlockRequest.Source.
func sourceOf(s string) chain.Source {
	if s == "miner" {
		return chain.Source{Origin: chain.Mined, Peer: s}
	}
	return chain.Source{Origin: chain.Peer, Peer: s}
}

var statusOf = map[chain.Kind]string{
	chain.Connected: "connected", chain.Reorged: "reorg", chain.Stored: "side",
	chain.Duplicate: "duplicate", chain.Orphaned: "orphan",
}

// submit runs one block through the machine: each write decision is executed and its result fed
// back, each outcome published. The reply is the submitted block's outcome, the first one; the
// orphans it releases follow.
func (c *consensusActor) submit(ctx actor.Context, req *submitBlockRequest) (BlockResult, error) {
	if req.Source == "miner" && c.d.earlyRelay {
		// Our own block: pushed to the high-bandwidth peers before it is stored.
		ctx.Send(c.d.pid(namePeers), &earlyRelay{Block: req.Block})
	}
	x := &blockExec{c: c, ctx: ctx}
	var (
		res     *BlockResult
		err     error
		started = time.Now()
	)
	if req.Checked {
		c.rules.checked = req.Block
	}
	decision := c.m.Step(req.Block, sourceOf(req.Source), c.d.nowMs())
	c.rules.checked = nil
	for decision.Kind != chain.None {
		var r chain.Result
		if decision.Kind.IsWrite() {
			r = x.write(decision)
		} else {
			c.outcome(x, decision, started)
			if res == nil {
				res, err = &BlockResult{Hash: decision.Hash, Height: decision.Height, Status: statusOf[decision.Kind]}, decision.Err
			}
			started = time.Now()
		}
		decision = c.m.Advance(r)
	}
	if res == nil { // the machine reports an outcome for every block it is given
		return BlockResult{}, fmt.Errorf("consensus: no outcome for block %s", req.Block.Hash())
	}
	return *res, err
}

// outcome publishes what the machine decided about a block.
func (c *consensusActor) outcome(x *blockExec, d chain.Decision, started time.Time) {
	switch d.Kind {
	case chain.Duplicate, chain.Orphaned:
		return
	case chain.Connected:
		c.publish(x.ctx, d, []*chainstate.Block{d.Block}, []chain.Source{d.Source}, nil, false)
	case chain.Reorged:
		c.d.log.Info("reorg", "actor", nameConsensus, "from", d.From, "to", d.Hash, "depth", d.Depth(),
			"height", d.Height, "connected", len(d.Connect), "returned_txs", len(x.returned))
		c.publish(x.ctx, d, x.blocks, d.Sources, x.returned, x.resync)
	case chain.Rejected:
		if d.Released {
			c.d.log.Warn("orphan block rejected", "actor", nameConsensus, "block_hash", d.Hash, "err", d.Err)
		}
	}
	observeSince(c.d.metrics.blockImport, started)
}

// publish tells the node about a new tip: metrics, one log record per connected block, the
// mempool (drop what was mined, take back what a reorg returned), the miner (new template) and
// the peers (announce it, not back to where it came from).
func (c *consensusActor) publish(ctx actor.Context, d chain.Decision, blocks []*chainstate.Block, srcs []chain.Source, returned []*chainstate.Tx, resync bool) {
	txs := 0
	for i, b := range blocks {
		txs += len(b.Txs)
		c.d.log.Info("block connected", "actor", nameConsensus, "height", b.Header.Height, "hash", b.Hash(),
			"txs", len(b.Txs), "source", srcs[i].Origin.String())
	}
	m := c.d.metrics
	m.height.Set(float64(d.Height))
	m.blocksConnected.Add(float64(len(blocks)))
	if len(blocks) > 0 {
		tip := &blocks[len(blocks)-1].Header
		m.difficulty.Set(c.d.params.Difficulty(tip))
		c.observeIntervals(blocks)
	}
	m.txsConnected.Add(float64(txs))
	ctx.Send(c.d.pid(nameMempool), &chainUpdate{Connected: blocks, Returned: returned, Resync: resync})
	// The epoch first: the miner's workers leave the old tip at their next poll, before the
	// message reaches the miner.
	at := time.Now()
	c.d.tips.advance(at)
	ctx.Send(c.d.pid(nameMiner), &tipChanged{Hash: d.Hash, Height: d.Height, At: at})
	ctx.Send(c.d.pid(namePeers), &announce{Kind: invBlock, Hashes: []chainstate.Hash{d.Hash}, Source: d.Source.Peer, Height: d.Height})
}

// observeIntervals records the time between each of blocks, newly on the main chain in order,
// and its parent (the first one's parent read from the index; none when it cannot be read).
func (c *consensusActor) observeIntervals(blocks []*chainstate.Block) {
	prev, ok := uint64(0), false
	if e, found := c.loadEntry(blocks[0].Header.PrevHash); found {
		prev, ok = e.Header.Time, true
	}
	for _, b := range blocks {
		if ok && b.Header.Time >= prev {
			c.d.metrics.blockInterval.Observe(float64(b.Header.Time-prev) / 1000)
		}
		prev, ok = b.Header.Time, true
	}
}

// blockExec performs the machine's writes against the storage actor for one submitted block,
// keeping what a reorg's write returned for its outcome.
type blockExec struct {
	c        *consensusActor
	ctx      actor.Context
	blocks   []*chainstate.Block // the last reorg's connected blocks
	returned []*chainstate.Tx    // ... the transactions it returned to the mempool
	resync   bool                // ... it committed but its reply was lost
}

var (
	done        = chain.Result{Outcome: chain.Done}
	alreadyDone = chain.Result{Outcome: chain.AlreadyDone}
)

func failed(err error) chain.Result { return chain.Result{Outcome: chain.Failed, Err: err} }

func (x *blockExec) write(d chain.Decision) chain.Result {
	switch d.Kind {
	case chain.WriteConnect:
		return x.connect(d)
	case chain.WritePut:
		return x.put(d)
	case chain.WriteReorg:
		return x.reorg(d)
	case chain.WriteInvalid:
		if r := storageCall[*storageDone](x.ctx, x.c.d.calls, &markInvalidRequest{Hash: d.Invalid}, nil); r.Err != nil {
			x.c.d.log.Warn("could not record invalid block", "actor", nameConsensus, "block_hash", d.Invalid, "err", r.Err)
		}
		return done
	}
	panic(fmt.Sprintf("consensus: unknown write %s", d.Kind))
}

func (x *blockExec) connect(d chain.Decision) chain.Result {
	r := storageCall[*connectBlockResponse](x.ctx, x.c.d.calls, &connectBlockRequest{Block: d.Block}, tipIs(d.Hash))
	switch {
	case r.Applied, x.storedTip(r.Err, d.Hash):
		return alreadyDone
	case r.Err != nil:
		return failed(storeErr(r.Err))
	}
	return done
}

// put stores a side-branch block first, so its body is there for a later reorg.
func (x *blockExec) put(d chain.Decision) chain.Result {
	r := storageCall[*storageDone](x.ctx, x.c.d.calls, &putBlockRequest{Block: d.Block, Work: d.Work}, indexed(d.Hash))
	switch {
	case r.Applied:
		return alreadyDone
	case r.Err != nil:
		return failed(nodeErr(r.Err))
	}
	return done
}

// reorg reads the branch's stored bodies and has the store check and apply the whole change in
// one transaction: if any block of the new branch is invalid, nothing changes.
func (x *blockExec) reorg(d chain.Decision) chain.Result {
	blocks, err := x.c.bodies(d)
	if err != nil {
		return failed(err)
	}
	x.blocks, x.returned, x.resync = blocks, nil, false
	r := storageCall[*reorgResponse](x.ctx, x.c.d.calls, &reorgRequest{Disconnect: d.Disconnect, Connect: blocks}, tipIs(d.Hash))
	switch {
	case r.Applied, x.storedTip(r.Err, d.Hash):
		// Applied, but the reply was lost with a killed storage actor, or an earlier attempt
		// committed after its wait timed out: the returned transactions are in the mempool
		// bucket, and the mempool takes them from there.
		x.resync = true
		return alreadyDone
	case r.Err != nil:
		return failed(storeErr(r.Err))
	}
	x.returned = r.Val.Result.Returned
	return done
}

// bodies returns the blocks of d.Connect: the stored ones from the store, the last one d.Block.
func (c *consensusActor) bodies(d chain.Decision) ([]*chainstate.Block, error) {
	s, err := c.d.store()
	if err != nil {
		return nil, err
	}
	blocks := make([]*chainstate.Block, 0, len(d.Connect))
	for _, h := range d.Connect {
		if h == d.Hash {
			blocks = append(blocks, d.Block)
			continue
		}
		b, found, err := s.Block(h)
		if err != nil {
			return nil, unavailable(err)
		}
		if !found {
			return nil, fmt.Errorf("reorg to %s: body of %s missing", d.Hash, h)
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// storedTip reports whether a write that failed with err did take effect after all: it failed
// because the block does not extend the store's tip (chainstate.ErrNotTip), and the store's tip
// is want. That happens when an earlier attempt of the same request committed only after
// callRetry stopped waiting for it (a frozen process: after SIGCONT the ask's timer fires before
// the storage actor runs) and the retry found its own block already there.
func (x *blockExec) storedTip(err error, want chainstate.Hash) bool {
	if !errors.Is(err, chainstate.ErrNotTip) {
		return false
	}
	s, serr := x.c.d.store()
	if serr != nil || !tipIs(want)(s) {
		return false
	}
	x.c.d.log.Warn("a retried write found its block already stored", "actor", nameConsensus, "block_hash", want)
	return true
}
