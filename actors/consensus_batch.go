package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chain"
	"github.com/actorchain/actorchain/chainstate"
)

// A sync hands consensus its checked blocks several at a time (submitBlocksRequest), and a run
// of them that extends the main chain one after another is connected in one storage write: one
// commit, with its two fsyncs, for the run instead of one per block. The import of a block is
// what a sync waits for (its commit is most of it), so this is the sync's rate.

type (
	// submitBlocksRequest is submitBlockRequest for several blocks from one source, in order.
	submitBlocksRequest struct {
		Blocks  []*chainstate.Block
		Source  string
		Checked bool // as submitBlockRequest.Checked, for every block
	}
	// submitBlocksResponse answers each block of a submitBlocksRequest, in its order.
	submitBlocksResponse struct{ Results []submitBlockResponse }
)

// maxConnectRun bounds the blocks a connection hands consensus at once, and so the blocks one
// storage write connects (16 blocks of 1,000 transfers: about 3 MB of bodies in one commit).
const maxConnectRun = 16

// submitBlocks answers a submitBlocksRequest: a run that extends the tip is connected in one
// write (connectRun); anything else goes through the machine block by block, as submit does.
func (c *consensusActor) submitBlocks(ctx actor.Context, req *submitBlocksRequest) []submitBlockResponse {
	out, ok, err := c.connectRun(ctx, req)
	if ok {
		return out
	}
	if err != nil {
		// The store did not take the run for a reason other than a block of it: the node's
		// failure, the same for every block (they come again).
		out = make([]submitBlockResponse, len(req.Blocks))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	out = make([]submitBlockResponse, len(req.Blocks))
	for i, b := range req.Blocks {
		res, err := c.submit(ctx, &submitBlockRequest{Block: b, Source: req.Source, Checked: req.Checked})
		out[i] = submitBlockResponse{Result: res, Err: err}
	}
	return out
}

// connectRun connects req's blocks in one storage write when each is the child of the one before
// and the first the child of the tip, the machine connects every one of them, and the orphan pool
// is empty (so that none is released meanwhile). The machine is stepped through the run first,
// each connect reported done before it is written; if it decides anything else, or the write
// fails, the machine is rebuilt from the store, which has not changed, and ok is false: err is
// nil when the blocks are to go one by one (a block that does not apply among them: submit finds
// it and records it invalid), the write's error when the store failed.
func (c *consensusActor) connectRun(ctx actor.Context, req *submitBlocksRequest) (out []submitBlockResponse, ok bool, err error) {
	blocks := req.Blocks
	if len(blocks) < 2 || c.m.Orphans() > 0 {
		return nil, false, nil
	}
	parent, _, _ := c.m.Tip()
	for _, b := range blocks {
		if b.Header.PrevHash != parent {
			return nil, false, nil
		}
		parent = b.Hash()
	}
	started := time.Now()
	src := sourceOf(req.Source)
	connected := make([]chain.Decision, 0, len(blocks))
	for _, b := range blocks {
		if req.Checked {
			c.rules.checked = b
		}
		d := c.m.Step(b, src, c.d.nowMs())
		c.rules.checked = nil
		if d.Kind != chain.WriteConnect {
			c.reload()
			return nil, false, nil
		}
		if d = c.m.Advance(done); d.Kind != chain.Connected {
			c.reload()
			return nil, false, nil
		}
		connected = append(connected, d)
		if next := c.m.Advance(done); next.Kind != chain.None {
			c.reload()
			return nil, false, nil
		}
	}
	last := connected[len(connected)-1]
	x := &blockExec{c: c, ctx: ctx}
	r := storageCall[*storageDone](ctx, c.d.calls, &connectBlocksRequest{Blocks: blocks}, tipIs(last.Hash))
	// Applied, or ErrNotTip with the run's last block as the store's tip: an earlier attempt
	// committed (as blockExec.connect takes it).
	if r.Err != nil && !x.storedTip(r.Err, last.Hash) {
		c.reload()
		var be *chainstate.BlockError
		var re *chainstate.RuleError
		if errors.As(r.Err, &be) || errors.As(r.Err, &re) {
			return nil, false, nil // one by one: submit finds the block that does not apply
		}
		return nil, false, nodeErr(r.Err)
	}
	srcs := make([]chain.Source, len(blocks))
	out = make([]submitBlockResponse, len(blocks))
	each := time.Since(started) / time.Duration(len(blocks))
	for i, d := range connected {
		srcs[i] = d.Source
		out[i].Result = BlockResult{Hash: d.Hash, Height: d.Height, Status: statusOf[chain.Connected]}
		c.d.metrics.blockImport.Observe(each.Seconds())
	}
	c.publish(ctx, last, blocks, srcs, nil, false)
	return out, true, nil
}

// reload rebuilds the machine from the store's tip after connectRun stepped it through blocks it
// did not write. A machine that cannot be rebuilt must not go on with a tip the store does not
// have: consensus fails, and its restart loads it.
func (c *consensusActor) reload() {
	if err := c.load(); err != nil {
		panic(fmt.Errorf("consensus: reload the block index after a run of blocks was not connected: %w", err))
	}
}
