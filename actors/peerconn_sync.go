package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/blocksync"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// The connection actor's side of block sync: it feeds its blocksync.Sync what the wire and
// consensus say, with the time and what the store knows, and performs the actions it returns.

// doSync performs what the sync asked for: a getdata for blocks, a new locator round, and the
// news to the manager that the sync with this peer ended.
func (a *peerConnActor) doSync(ctx actor.Context, act blocksync.Actions) {
	if len(act.Request) > 0 {
		items := make([]noisep2p.InvItem, len(act.Request))
		for i, h := range act.Request {
			items[i] = noisep2p.InvItem{Kind: invBlock, Hash: h}
		}
		a.send(noisep2p.GetData{Items: items})
	}
	if act.GetBlocks {
		a.requestBlocks()
	}
	if act.Done {
		ctx.Send(ctx.Parent(), &syncDone{ID: a.id})
	}
	a.armStallCheck(ctx)
}

// armStallCheck runs the stall check tick only while the sync may need it (a round runs or a
// requested block is awaited), a compact block waits for its BlockTxn or announced transfers
// wait for another connection's request: an idle connection has no timer.
func (a *peerConnActor) armStallCheck(ctx actor.Context) {
	switch need := (a.sync.NeedsTick() || a.cmpct.awaitingTxn() || len(a.deferredTxs) > 0) && !a.closed; {
	case need && a.stopCheck == nil:
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.stopCheck = every(stallCheckEvery, func() { root.Send(self, &stallCheck{}) })
	case !need && a.stopCheck != nil:
		a.stopCheck()
		a.stopCheck = nil
	}
}

// knownBlocks is the sync's view of the store: a block is known when the index has it. A read
// error counts as unknown (asking for a block again costs only its transfer).
func (a *peerConnActor) knownBlocks() blocksync.Known {
	s, err := a.d.store()
	if err != nil {
		return func(chainstate.Hash) bool { return false }
	}
	return func(h chainstate.Hash) bool {
		_, ok, err := s.Entry(h)
		return err == nil && ok
	}
}

// onInv takes an announcement: its blocks go to the sync (which requests those this node lacks),
// its transactions are requested when neither pending nor confirmed here.
func (a *peerConnActor) onInv(ctx actor.Context, items []noisep2p.InvItem) {
	if _, err := a.d.store(); err != nil {
		return
	}
	var skip bool
	if skip, a.mempoolAsked = mempoolAnswer(a.mempoolAsked, a.d.local.Now(), items); skip {
		return
	}
	var blocks, txs []chainstate.Hash
	for _, it := range items {
		a.known.add(it.Hash)
		switch it.Kind {
		case invBlock:
			blocks = append(blocks, it.Hash)
		case invTx:
			txs = append(txs, it.Hash)
		}
	}
	if len(txs) > 0 {
		a.requestMissingTxs(ctx, txs)
	}
	if len(blocks) > 1 {
		a.syncHead = blocks[len(blocks)-1] // an answer to getblocks (requestBlocks)
	}
	a.doSync(ctx, a.sync.Announced(a.d.local.Now(), blocks, len(items) == 0, a.knownBlocks()))
}

// onNotFound: the peer does not have what we asked for; the sync's window moves on.
func (a *peerConnActor) onNotFound(ctx actor.Context, items []noisep2p.InvItem) {
	hs := make([]chainstate.Hash, len(items))
	for i, it := range items {
		hs[i] = it.Hash
		if it.Kind == invTx {
			a.txAnswered(ctx, it.Hash) // another announcer may be asked at once
		}
	}
	a.doSync(ctx, a.sync.NotFound(a.d.local.Now(), hs, a.knownBlocks()))
}

// checkStall asks again when requested blocks or a sync round went unanswered for the sync's
// timeout: the requests are forgotten and a fresh locator round requests what is still missing.
func (a *peerConnActor) checkStall(ctx actor.Context) {
	if a.closed {
		return
	}
	act := a.sync.Tick(a.d.local.Now())
	if act.GetBlocks {
		a.d.log.Debug("sync stalled; asking again", "actor", a.name(), "peer_id", a.id.String(), "expired", len(act.Expired), "in_flight", a.sync.InFlight())
	}
	a.doSync(ctx, act)
}

// requestBlocks asks the peer for its main-chain blocks after our best locator match. The
// locator is our main chain's, led by the last block of the peer's previous answer when this
// node stored that block on a side branch: a branch that forks more than one answer (500
// hashes) below our tip and needs more than that to outweigh our chain is then followed answer
// by answer. With our main chain alone the peer would answer the same first 500 hashes after
// the fork point every round, all of them known here, and the sync would never reach the
// heavier chain's tip (a node that mined alone for a while after its database was salvaged
// stayed on its own branch).
func (a *peerConnActor) requestBlocks() {
	s, err := a.d.store()
	if err != nil {
		return
	}
	tip, err := s.Tip()
	if err != nil {
		return
	}
	var loc [][32]byte
	if a.syncHead != (chainstate.Hash{}) {
		if e, ok, err := s.Entry(a.syncHead); err == nil && ok && e.Status == chainstate.StatusSide {
			loc = append(loc, a.syncHead)
		}
	}
	for _, h := range blocksync.LocatorHeights(tip.Header.Height) {
		if hash, ok, err := s.MainHash(h); err == nil && ok {
			loc = append(loc, hash)
		}
	}
	a.send(noisep2p.GetBlocks{Locator: loc})
}

func (a *peerConnActor) onBlock(ctx actor.Context, raw []byte) {
	received, synced := time.Now(), a.sync.Syncing() // received: a latency metric, real time
	if synced || a.pipe.len() > 0 || a.submitting || len(a.waiting) > 0 {
		a.pipeBlock(ctx, raw, received, synced)
		return
	}
	// A new block outside a sync: decoded and checked here and now, for the shortest hop. The
	// stateless checks, signatures above all, run on this connection's goroutine (in parallel
	// with other connections, outside consensus's mailbox); they fill the signature cache.
	b, err := chainstate.DecodeBlock(raw)
	if err != nil {
		a.misbehave(ctx, "undecodable block: %v", err)
		return
	}
	h := b.Hash()
	a.known.add(h)
	a.sync.Received(received, h)
	if err := chainstate.CheckBlock(a.d.params, b, a.d.sigs); err != nil {
		a.misbehave(ctx, "invalid block %s: %v", h, err)
		return
	}
	a.relayWholeEarly(ctx, b) // a new block: on to the high-bandwidth peers before the commit
	a.submitBlock(ctx, b, h, received, false)
}

// pipeBlock puts a block of a sync (or one that came behind them) into the connection's pipe
// (blockPipe), whose goroutines decode and check it: here only its header is read, so that the
// actor keeps up with a sync's burst of blocks and hands checked ones on without waiting behind
// their decoding. The block holds its place in the sync's window from now on. A peer that keeps
// more blocks unanswered than a sync's window and a few announcements is misbehaving.
func (a *peerConnActor) pipeBlock(ctx actor.Context, raw []byte, received time.Time, synced bool) {
	if len(raw) < chainstate.HeaderSize+4 {
		_, err := chainstate.DecodeBlock(raw) // the decoder's own words for what is missing
		a.misbehave(ctx, "undecodable block: %v", err)
		return
	}
	hdr, err := chainstate.DecodeHeader(raw[:chainstate.HeaderSize])
	if err != nil {
		a.misbehave(ctx, "undecodable block: %v", err)
		return
	}
	h := hdr.Hash()
	a.known.add(h)
	a.sync.Received(received, h)
	if a.pipe.len() >= maxPipedBlocks {
		a.misbehave(ctx, "more than %d blocks waiting for their checks", maxPipedBlocks)
		return
	}
	a.sync.Submit(h)
	pb := &pipedBlock{raw: raw, hash: h, received: received, synced: synced}
	a.pipe.add(pb)
	a.queueCheck(ctx, pb)
}

// queueCheck decodes and checks pb on the connection's checkQueue, whose goroutines the actor
// joins when it stops (release); the check reports back with a blockChecked.
func (a *peerConnActor) queueCheck(ctx actor.Context, pb *pipedBlock) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	seq := pb.seq
	a.checks.push(checkJob{raw: pb.raw, hash: pb.hash, synced: pb.synced, report: func(b *chainstate.Block, err error) {
		root.Send(self, &blockChecked{owner: a, seq: seq, block: b, err: err})
	}})
	pb.raw = nil // the check's now
}

// checkJob is a piped block's check: its encoding, the hash of its header, whether a sync
// fetched it (pipeSigs), and where its result goes.
type checkJob struct {
	raw    []byte
	hash   chainstate.Hash
	synced bool
	report func(*chainstate.Block, error)
}

// checkJobs decodes and checks jobs in order and reports each one's result; the signatures of
// jobs that use the same cache are verified in one batch (chainstate.CheckBlocksAlone).
func checkJobs(p *chainstate.Params, sigs *chainstate.SigCache, jobs []checkJob) {
	for len(jobs) > 0 {
		n := 1
		for n < len(jobs) && jobs[n].synced == jobs[0].synced {
			n++
		}
		blocks, errs := checkRaw(p, pipeSigs(sigs, jobs[0].synced), jobs[:n])
		for i, j := range jobs[:n] {
			j.report(blocks[i], errs[i])
		}
		jobs = jobs[n:]
	}
}

// pipeSigs is the signature cache a piped block's check uses: a sync's history only looks it up,
// since its transactions are not expected again and adding them would push out the mempool's
// (the ones the next new block holds), at 2% of a sync's CPU.
func pipeSigs(sigs *chainstate.SigCache, synced bool) *chainstate.SigCache {
	if synced {
		return sigs.LookupOnly()
	}
	return sigs
}

// checkRaw decodes each job's block and runs the stateless checks, all their signatures in one
// batch on this goroutine; blocks[i] is job i's block when it passed, else errs[i] says which
// check failed, as the peer's misbehaviour.
func checkRaw(p *chainstate.Params, sigs *chainstate.SigCache, jobs []checkJob) (blocks []*chainstate.Block, errs []error) {
	blocks, errs = make([]*chainstate.Block, len(jobs)), make([]error, len(jobs))
	decoded := make([]*chainstate.Block, 0, len(jobs))
	at := make([]int, 0, len(jobs)) // decoded[k] is job at[k]'s block
	for i, j := range jobs {
		b, err := chainstate.DecodeBlockOwned(j.raw) // its commit stores these very bytes
		if err != nil {
			errs[i] = fmt.Errorf("undecodable block: %v", err)
			continue
		}
		decoded, at = append(decoded, b), append(at, i)
	}
	for k, err := range chainstate.CheckBlocksAlone(p, decoded, sigs) { // pipeChecks of these at once
		if i := at[k]; err != nil {
			errs[i] = fmt.Errorf("invalid block %s: %v", jobs[i].hash, err)
		} else {
			blocks[i] = decoded[k]
		}
	}
	return blocks, errs
}

// blockChecked is a piped block's check result; owner is the actor incarnation that started it
// (a restarted connection actor ignores its predecessor's).
type blockChecked struct {
	owner *peerConnActor
	seq   uint64
	block *chainstate.Block
	err   error
}

// onBlockChecked hands on the blocks whose checks are done, in the order they came: a block that
// failed is the peer's misbehaviour and leaves the sync's window; one that passed goes to
// consensus as a block checked inline does.
func (a *peerConnActor) onBlockChecked(ctx actor.Context, m *blockChecked) {
	if m.owner != a || a.closed {
		return
	}
	ready := a.pipe.finished(m.seq, m.block, m.err)
	for _, pb := range ready {
		if pb.err != nil {
			a.misbehave(ctx, "%v", pb.err)
			a.doSync(ctx, a.sync.BlockDone(a.d.local.Now(), pb.hash, blocksync.Rejected, a.knownBlocks()))
			continue
		}
		if !pb.synced {
			a.relayWholeEarly(ctx, pb.block)
		}
		a.waiting = append(a.waiting, pb)
	}
	a.submitWaiting(ctx)
}

// handOff gives consensus the checked blocks still waiting when the connection stops, without
// waiting for its answer: they passed every check a connection makes, and the peer's later
// misbehaviour or departure does not make them worse (a block went to consensus as soon as it
// was checked before blocks went in runs).
func (a *peerConnActor) handOff(ctx actor.Context) {
	for len(a.waiting) > 0 {
		_, req := a.takeRun()
		ctx.Send(a.d.pid(nameConsensus), req)
	}
}

// takeRun takes the next run of waiting blocks (at most maxConnectRun) and its request.
func (a *peerConnActor) takeRun() ([]*pipedBlock, *submitBlocksRequest) {
	n := min(len(a.waiting), maxConnectRun)
	run := a.waiting[:n:n]
	a.waiting = a.waiting[n:]
	blocks := make([]*chainstate.Block, n)
	for i, pb := range run {
		blocks[i] = pb.block
	}
	return run, &submitBlocksRequest{Blocks: blocks, Source: a.id.String(), Checked: true}
}

// submitWaiting hands the checked blocks waiting for consensus over in one submitBlocksRequest
// (at most maxConnectRun), unless the last one is unanswered: the blocks whose checks finish
// while consensus imports go together next, and consensus connects such a run in one storage
// write. The answers come per block, as submitBlock's.
func (a *peerConnActor) submitWaiting(ctx actor.Context) {
	if a.submitting || len(a.waiting) == 0 || a.closed {
		return
	}
	run, req := a.takeRun()
	for _, pb := range run {
		a.sync.Submit(pb.hash)
	}
	a.submitting = true
	f := ctx.RequestFuture(a.d.pid(nameConsensus), req, storageTimeout+requestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if a.closed { // as in blockDone: the continuation may run on a successor's mailbox
			return
		}
		a.submitting = false
		r, _ := res.(*submitBlocksResponse)
		for i, pb := range run {
			var one any // nil, with err: no answer (the node's failure, not the peer's)
			if r != nil && i < len(r.Results) {
				one = &r.Results[i]
			}
			if pb.synced {
				observeSince(a.d.metrics.syncBlock, pb.received)
			}
			a.blockDone(ctx, pb.block, pb.hash, one, err)
		}
		a.submitWaiting(ctx)
	})
}

// submitBlock hands a checked block to consensus. Consensus answers asynchronously: while it
// connects this block, this actor goes on receiving and checking the next ones (a pipeline).
// Submitted blocks count against the sync's window until consensus answered.
func (a *peerConnActor) submitBlock(ctx actor.Context, b *chainstate.Block, h chainstate.Hash, received time.Time, synced bool) {
	a.sync.Submit(h)
	f := ctx.RequestFuture(a.d.pid(nameConsensus), &submitBlockRequest{Block: b, Source: a.id.String(), Checked: true}, storageTimeout+requestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if synced {
			observeSince(a.d.metrics.syncBlock, received)
		}
		a.blockDone(ctx, b, h, res, err)
	})
}

// blockDone handles consensus's answer for a block this peer sent. An answer that comes after
// the actor stopped is dropped before it touches anything: protoactor delivers a continuation to
// the PID, and a stopped connection's PID (peers/<id8>) names its successor once the peer
// reconnects, so the continuation may run on the successor's mailbox while the old one still
// drains; touching the old state there is a data race (seen by -race in TestChaosInProcess).
func (a *peerConnActor) blockDone(ctx actor.Context, b *chainstate.Block, h chainstate.Hash, res any, err error) {
	if a.closed {
		return
	}
	outcome, ruleErr := blockOutcome(res, err)
	act := a.sync.BlockDone(a.d.local.Now(), h, outcome, a.knownBlocks())
	if outcome == blocksync.Rejected {
		a.misbehave(ctx, "invalid block %s: %v", h, ruleErr)
		return
	}
	// Any other failure is this node's, not the peer's: the block is announced or synced again.
	if b.Header.Height > 0 {
		ctx.Send(ctx.Parent(), &peerHeight{ID: a.id, Height: b.Header.Height})
	}
	a.doSync(ctx, act)
}

// blockOutcome reads consensus's answer: a rule violation (but a time too far ahead, which
// may be our clock's fault) rejects the block, an orphan lacks its parent; anything else,
// including this node's own failures, is no fault of the peer's.
func blockOutcome(res any, err error) (blocksync.Outcome, error) {
	r, ok := res.(*submitBlockResponse)
	if !ok || err != nil {
		return blocksync.Accepted, nil
	}
	var re *chainstate.RuleError
	switch {
	case r.Err != nil && errors.As(r.Err, &re) && re.Code != chainstate.CodeTimeTooNew:
		return blocksync.Rejected, r.Err
	case r.Err == nil && r.Result.Status == "orphan":
		return blocksync.Orphan, nil
	}
	return blocksync.Accepted, nil
}
