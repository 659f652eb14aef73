package actors

import (
	"bytes"
	"cmp"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/blocksync"
	"github.com/actorchain/actorchain/chain"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/compact"
	"github.com/actorchain/actorchain/noisep2p"
)

// Compact block relay on one connection (docs/protocol.md §4 "Compact blocks", §7.3): the
// messages of protocol minor 1, used when both hellos carry noisep2p.FeatureCompactBlocks.
//
//   - A new block goes to such a peer as a CmpctBlock (compact.Build: short ids for what the
//     peer is known to have, the rest prefilled) instead of a Block or an Inv.
//   - High bandwidth: the manager asks up to highBandwidthPeers peers (SendCmpct{1}) to push
//     new blocks before they store them: the first to connect, then those that delivered a new
//     block first (planHighBandwidth; the one chosen longest ago is released with SendCmpct{0}).
//     This node pushes (earlyBlock) to every peer that asked it, as soon as a block's header and
//     proof of work check out, before it validates the block fully and stores it (the receiver
//     validates fully before connecting it).
//   - A receiver reconstructs the block from its mempool (compactMatchRequest), asks for what
//     it lacks (GetBlockTxn), and falls back to the full block (a GetData through the sync) on
//     a short-id collision, a root mismatch or no answer within compactWait.
//   - Misbehaviour: an invalid header or proof of work, an undecodable message or a bad
//     BlockTxn. A block whose header and work are valid but that fails validation costs a peer
//     this node asked for high-bandwidth relay on this connection nothing (it relayed before
//     validating, as asked); from any other peer it is an invalid block like a whole one.

const (
	// highBandwidthPeers is how many peers a node asks to push compact blocks before storing.
	highBandwidthPeers = 3
	// maxPartials bounds the reconstructions one connection keeps waiting (for the mempool or a
	// BlockTxn); a compact block beyond them is fetched whole.
	maxPartials = 8
	// sentKeep is how many blocks a connection keeps after sending them compactly, to answer
	// GetBlockTxn before they are stored.
	sentKeep = 8 // a GetBlockTxn or GetData for an older one is answered from the store
	// compactWait bounds the wait for a BlockTxn: then the block is fetched whole.
	compactWait = 4 * time.Second
)

type (
	// setHighBandwidth tells a connection to ask its peer for high-bandwidth pushes (On) or to
	// release it from them.
	setHighBandwidth struct{ On bool }
	// earlyRelay asks the manager to push a block whose header and work checked out to the
	// high-bandwidth peers, before it is validated and stored. Hashes are its transactions'
	// (nil: the manager computes them, off the sender's path). Source is the peer id (hex) it
	// came from, "" when mined here.
	earlyRelay struct {
		Block  *chainstate.Block
		Hashes []chainstate.Hash
		Source string
	}
	// earlyBlock is the manager's earlyRelay, to one connection.
	earlyBlock struct {
		Block  *chainstate.Block
		Hashes []chainstate.Hash
	}
	// compactMatchRequest asks the mempool for the transactions with these short ids under Key
	// (compact.Match); the answer, compactMatchResponse, is aligned with IDs.
	compactMatchRequest struct {
		Key compact.Key
		IDs []uint64
	}
	compactMatchResponse struct{ Found []compact.Found }
)

// compactConn is a connection's compact block state.
type compactConn struct {
	// recv: this node announced the feature (the peer may send the messages); send: both did
	// (this node may send them).
	recv, send bool
	peerHB     bool // the peer asked for high-bandwidth pushes
	askedHB    bool // this node asks the peer for them
	// everHB: this node asked the peer for them at some time on this connection, so a block with
	// a valid header and work that fails validation may have been pushed before validation.
	everHB   bool
	sent     []sentBlock
	partials map[chainstate.Hash]*partialBlock
}

// partialBlock is a block being reconstructed.
type partialBlock struct {
	p        *compact.Partial
	received time.Time // real time, the sync latency metric
	asked    time.Time // when the GetBlockTxn went; zero while the mempool is asked
}

func newCompactConn(ours bool, peer noisep2p.Hello) compactConn {
	return compactConn{recv: ours, send: ours && peer.HasFeature(noisep2p.FeatureCompactBlocks),
		partials: map[chainstate.Hash]*partialBlock{}}
}

// sentBlock is a block sent compactly, kept to answer GetBlockTxn and GetData before it is stored.
type sentBlock struct {
	hash  chainstate.Hash
	block *chainstate.Block
}

// remember keeps b (hash h) to answer GetBlockTxn and GetData, forgetting the oldest beyond
// sentKeep.
func (c *compactConn) remember(h chainstate.Hash, b *chainstate.Block) {
	if len(c.sent) >= sentKeep {
		c.sent = append(c.sent[:0], c.sent[1:]...)
	}
	c.sent = append(c.sent, sentBlock{hash: h, block: b})
}

func (c *compactConn) sentBlock(h chainstate.Hash) *chainstate.Block {
	for _, s := range c.sent {
		if s.hash == h {
			return s.block
		}
	}
	return nil
}

// handleCompact takes the compact block messages; ok is false for any other message.
func (a *peerConnActor) handleCompact(ctx actor.Context, msg noisep2p.Message) (ok bool) {
	switch msg.(type) {
	case noisep2p.SendCmpct, noisep2p.CmpctBlock, noisep2p.GetBlockTxn, noisep2p.BlockTxn:
	default:
		return false
	}
	if !a.cmpct.recv {
		a.misbehave(ctx, "unexpected message %s: compact blocks were not announced", noisep2p.MsgName(msg.Type()))
		return true
	}
	switch m := msg.(type) {
	case noisep2p.SendCmpct:
		a.cmpct.peerHB = m.HighBandwidth
	case noisep2p.CmpctBlock:
		a.onCmpctBlock(ctx, m)
	case noisep2p.GetBlockTxn:
		a.onGetBlockTxn(ctx, m)
	case noisep2p.BlockTxn:
		a.onBlockTxn(ctx, m)
	}
	return true
}

// askHighBandwidth asks the peer to push compact blocks before storing them (on), or to stop.
func (a *peerConnActor) askHighBandwidth(on bool) {
	if a.cmpct.send && a.cmpct.askedHB != on {
		a.cmpct.askedHB = on
		a.cmpct.everHB = a.cmpct.everHB || on
		a.send(noisep2p.SendCmpct{HighBandwidth: on})
	}
}

// sendCompact sends b as a compact block unless the peer has it; hashes are its transactions'
// hashes (nil: computed here).
func (a *peerConnActor) sendCompact(b *chainstate.Block, hashes []chainstate.Hash) {
	h := b.Hash()
	if a.known.has(h) {
		return
	}
	a.known.add(h)
	if hashes == nil {
		hashes = compact.Hashes(b)
	}
	a.cmpct.remember(h, b)
	a.send(compact.Build(b, hashes, rand.Uint64(), a.known.has))
}

// onEarlyBlock pushes a block that is not yet validated to a peer that asked for high-bandwidth
// relay; other peers hear of it once it is connected.
func (a *peerConnActor) onEarlyBlock(m *earlyBlock) {
	if a.cmpct.send && a.cmpct.peerHB {
		a.sendCompact(m.Block, m.Hashes)
	}
}

// onCmpctBlock starts reconstructing a compact block: its header and work are checked first
// (failing them is misbehaviour), then the mempool is asked for the short ids.
func (a *peerConnActor) onCmpctBlock(ctx actor.Context, m noisep2p.CmpctBlock) {
	received := time.Now()
	hdr, err := chainstate.DecodeHeader(m.Header[:])
	if err != nil {
		a.misbehave(ctx, "undecodable compact block header: %v", err)
		return
	}
	h := hdr.Hash()
	a.known.add(h)
	s, err := a.d.store()
	if err != nil {
		return
	}
	if _, ok, err := s.Entry(h); err != nil || ok || a.cmpct.partials[h] != nil {
		return // known (or being reconstructed) already
	}
	if !a.relayableHeader(ctx, s, hdr, h) {
		return
	}
	p, err := compact.NewPartial(m)
	switch {
	case errors.Is(err, compact.ErrCollision):
		a.d.log.Debug("compact block short id collision; fetching it whole", "actor", a.name(), "block_hash", h)
		a.fetchWhole(ctx, h)
		return
	case err != nil:
		a.misbehave(ctx, "%v", err)
		return
	case len(a.cmpct.partials) >= maxPartials:
		a.fetchWhole(ctx, h)
		return
	}
	a.reconstruct(ctx, h, &partialBlock{p: p, received: received})
}

// relayableHeader checks a compact block's header against its stored parent: true when the
// reconstruction may go on. An unknown parent fetches the block whole (the sync asks for it); an
// invalid header or proof of work is misbehaviour, a time too far ahead is not.
func (a *peerConnActor) relayableHeader(ctx actor.Context, s *chainstate.Store, hdr *chainstate.Header, h chainstate.Hash) bool {
	parent, ok, err := s.Entry(hdr.PrevHash)
	switch {
	case err != nil:
		return false
	case !ok:
		// The parent is unknown: fetch the block like an announced one (the sync asks for it, an
		// orphan starts a locator round).
		a.fetchWhole(ctx, h)
		return false
	case parent.Status == chainstate.StatusInvalid:
		return false // consensus refuses it; the sender may not have known the parent was invalid
	}
	if err := a.checkRelayHeader(s, hdr, &parent); err != nil {
		var re *chainstate.RuleError
		if errors.As(err, &re) && re.Code == chainstate.CodeTimeTooNew {
			return false // may become valid: not the peer's fault
		}
		a.misbehave(ctx, "invalid compact block header %s: %v", h, err)
		return false
	}
	return true
}

// reconstruct fills pb from the mempool; what is missing is asked for with GetBlockTxn (and
// expired by expirePartials), a complete block goes on to completeCompact.
func (a *peerConnActor) reconstruct(ctx actor.Context, h chainstate.Hash, pb *partialBlock) {
	p := pb.p
	a.cmpct.partials[h] = pb
	if len(p.ShortIDs()) == 0 {
		a.completeCompact(ctx, h, pb)
		return
	}
	a.askMempool(ctx, mempoolJob{msg: &compactMatchRequest{Key: p.Key, IDs: p.ShortIDs()}, timeout: mempoolLookupTimeout,
		then: func(res any, err error) {
			if r, ok := res.(*compactMatchResponse); ok && err == nil {
				p.Fill(r.Found)
			}
			if a.closed || a.cmpct.partials[h] != pb {
				return
			}
			if miss := p.Missing(); len(miss) > 0 {
				pb.asked = a.d.local.Now()
				a.send(noisep2p.GetBlockTxn{Hash: h, Indexes: miss})
				a.armStallCheck(ctx) // expirePartials runs on its tick
				return
			}
			a.completeCompact(ctx, h, pb)
		}})
}

// checkRelayHeader checks a header before the block is relayed on: against its parent (the
// chain's CheckHeader: height, previous hash, target, time) and on its own (version, proof of
// work, validator, seal), with exactly the header part of chainstate.CheckBlock: CheckBlock on
// the header with no transactions fails on its tx root, the first check after the header's.
func (a *peerConnActor) checkRelayHeader(s *chainstate.Store, h *chainstate.Header, parent *chainstate.IndexEntry) error {
	ancestor := func(height uint64) (chainstate.Header, bool) {
		if hash, ok, err := s.MainHash(height); err == nil && ok && parent.Status == chainstate.StatusMain {
			if e, ok, err := s.Entry(hash); err == nil && ok {
				return e.Header, true
			}
		}
		e := *parent
		for e.Header.Height > height {
			next, ok, err := s.Entry(e.Header.PrevHash)
			if err != nil || !ok {
				return chainstate.Header{}, false
			}
			e = next
		}
		return e.Header, e.Header.Height == height
	}
	ctx := chain.HeaderContext{Parent: &parent.Header, NowMs: uint64(a.d.now().UnixMilli()), Ancestor: ancestor}
	if err := a.d.rules.CheckHeader(h, ctx); err != nil {
		return err
	}
	err := chainstate.CheckBlock(a.d.params, &chainstate.Block{Header: *h}, nil)
	var re *chainstate.RuleError
	if errors.As(err, &re) && re.Code == chainstate.CodeBadTxRoot {
		return nil
	}
	return err
}

// relayWholeEarly pushes a block that came whole (from a peer without compact blocks, or asked
// for) and passed the stateless checks on to the high-bandwidth peers before it is stored, once
// its header checks out against its parent; a block whose parent is unknown waits for consensus.
func (a *peerConnActor) relayWholeEarly(ctx actor.Context, b *chainstate.Block) {
	if !a.d.compact {
		return
	}
	s, err := a.d.store()
	if err != nil {
		return
	}
	if _, known, err := s.Entry(b.Hash()); err != nil || known {
		return
	}
	parent, ok, err := s.Entry(b.Header.PrevHash)
	if err != nil || !ok || parent.Status == chainstate.StatusInvalid || a.checkRelayHeader(s, &b.Header, &parent) != nil {
		return
	}
	ctx.Send(ctx.Parent(), &earlyRelay{Block: b, Hashes: compact.Hashes(b), Source: a.id.String()})
	runtime.Gosched()
}

// fetchWhole asks for block h whole, as if the peer had announced it.
func (a *peerConnActor) fetchWhole(ctx actor.Context, h chainstate.Hash) {
	delete(a.cmpct.partials, h)
	a.doSync(ctx, a.sync.Announced(a.d.local.Now(), []chainstate.Hash{h}, false, a.knownBlocks()))
}

// onBlockTxn fills a reconstruction with the transactions it asked for. An unasked BlockTxn is
// ignored (it may answer a reconstruction given up on).
func (a *peerConnActor) onBlockTxn(ctx actor.Context, m noisep2p.BlockTxn) {
	pb := a.cmpct.partials[m.Hash]
	if pb == nil || pb.asked.IsZero() {
		return
	}
	if err := pb.p.FillTxn(m); err != nil {
		delete(a.cmpct.partials, m.Hash)
		a.misbehave(ctx, "%v", err)
		return
	}
	a.completeCompact(ctx, m.Hash, pb)
}

// completeCompact takes a reconstruction with nothing missing: a block that matches its root is
// pushed on to the high-bandwidth peers, then checked fully and handed to consensus; one that
// does not is fetched whole.
func (a *peerConnActor) completeCompact(ctx actor.Context, h chainstate.Hash, pb *partialBlock) {
	delete(a.cmpct.partials, h)
	b, hashes, err := pb.p.Block()
	if err != nil {
		a.d.log.Debug("compact block reconstruction failed; fetching it whole", "actor", a.name(), "block_hash", h, "err", err)
		a.fetchWhole(ctx, h)
		return
	}
	ctx.Send(ctx.Parent(), &earlyRelay{Block: b, Hashes: hashes, Source: a.id.String()})
	// Let the relay run before this goroutine's validation: the manager's mailbox goroutine
	// waits in this P's next slot, and would otherwise run only after the checks below.
	runtime.Gosched()
	hb, synced := a.cmpct.everHB, a.sync.Syncing()
	a.sync.Received(pb.received, h)
	if err := chainstate.CheckBlock(a.d.params, b, a.d.sigs); err != nil {
		a.invalidCompact(ctx, h, hb, err)
		return
	}
	a.sync.Submit(h)
	f := ctx.RequestFuture(a.d.pid(nameConsensus), &submitBlockRequest{Block: b, Source: a.id.String(), Checked: true}, storageTimeout+requestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if a.closed { // after the stop: see blockDone
			return
		}
		if synced {
			observeSince(a.d.metrics.syncBlock, pb.received)
		}
		outcome, ruleErr := blockOutcome(res, err)
		act := a.sync.BlockDone(a.d.local.Now(), h, outcome, a.knownBlocks())
		if outcome == blocksync.Rejected {
			a.invalidCompact(ctx, h, hb, ruleErr)
			return
		}
		ctx.Send(ctx.Parent(), &peerHeight{ID: a.id, Height: b.Header.Height})
		a.doSync(ctx, act)
	})
}

// invalidCompact handles a compact block with a valid header and work that failed validation:
// misbehaviour unless this node asked the peer for high-bandwidth relay on this connection (it may
// have relayed before validating, as asked; a release may cross the push on the wire).
func (a *peerConnActor) invalidCompact(ctx actor.Context, h chainstate.Hash, hb bool, err error) {
	if !hb {
		a.misbehave(ctx, "invalid block %s: %v", h, err)
		return
	}
	a.d.log.Info("block relayed before validation is invalid; peer not punished (its header and work are valid)",
		"actor", a.name(), "peer_id", a.id.String(), "block_hash", h, "err", err)
}

// onGetBlockTxn answers with the transactions asked for, from a block sent recently or stored;
// a block this node does not have is answered NotFound, an index past the block is misbehaviour.
func (a *peerConnActor) onGetBlockTxn(ctx actor.Context, m noisep2p.GetBlockTxn) {
	b := a.cmpct.sentBlock(m.Hash)
	if b == nil {
		if s, err := a.d.store(); err == nil {
			if sb, ok, err := s.Block(m.Hash); err == nil && ok {
				b = sb
			}
		}
	}
	if b == nil {
		a.send(noisep2p.NotFound{Items: []noisep2p.InvItem{{Kind: invBlock, Hash: m.Hash}}})
		return
	}
	txn, err := compact.Txn(b, m.Indexes)
	if err != nil {
		a.misbehave(ctx, "%v", err)
		return
	}
	a.send(txn)
}

// awaitingTxn reports whether a reconstruction waits for a BlockTxn (expirePartials must run).
func (c *compactConn) awaitingTxn() bool {
	for _, pb := range c.partials {
		if !pb.asked.IsZero() {
			return true
		}
	}
	return false
}

// expirePartials fetches whole the blocks whose BlockTxn did not come within compactWait.
func (a *peerConnActor) expirePartials(ctx actor.Context) {
	now := a.d.local.Now()
	for h, pb := range a.cmpct.partials {
		if !pb.asked.IsZero() && now.Sub(pb.asked) >= compactWait {
			a.fetchWhole(ctx, h)
		}
	}
}

// compactMatch answers a compactMatchRequest from the pool (compact.Match).
func (m *mempoolActor) compactMatch(r *compactMatchRequest) *compactMatchResponse {
	return &compactMatchResponse{Found: compact.Match(r.Key, r.IDs, func(yield func(chainstate.Hash, *chainstate.Tx) bool) {
		for h, t := range m.pool.All() {
			if !yield(h, t) {
				return
			}
		}
	})}
}

// relayEarly passes a block whose header and work checked out to every connection that speaks
// compact blocks but its source; each pushes it if its peer asked for high-bandwidth relay.
func (p *peersActor) relayEarly(ctx actor.Context, m *earlyRelay) {
	p.d.status.relayed.Store(m.Block.Header.Height)
	var msg *earlyBlock
	for id, c := range p.conns {
		if !c.compact || id.String() == m.Source {
			continue
		}
		if msg == nil {
			msg = &earlyBlock{Block: m.Block, Hashes: m.Hashes}
			if msg.Hashes == nil {
				msg.Hashes = compact.Hashes(m.Block)
			}
		}
		ctx.Send(c.pid, msg)
	}
}

// hbPeer is a connection as the choice of high-bandwidth peers sees it.
type hbPeer struct {
	id       noisep2p.ID
	outbound bool
	at       uint64 // when it was made high-bandwidth; 0: it is not
}

// planHighBandwidth chooses the high-bandwidth peers among peers (those that speak compact blocks):
// deliverer, when not nil and not one already, becomes one (it delivered a new block first);
// then the ones chosen longest ago give way until at most max are left, and free places go to
// the others, outbound first (a node chose them), then in id order. It returns whom to ask (on)
// and whom to release (off).
func planHighBandwidth(peers []hbPeer, deliverer *noisep2p.ID, max int) (on, off []noisep2p.ID) {
	var hb, rest []hbPeer
	for _, c := range peers {
		switch {
		case c.at > 0:
			hb = append(hb, c)
		case deliverer != nil && c.id == *deliverer:
			on = append(on, c.id)
		default:
			rest = append(rest, c)
		}
	}
	slices.SortFunc(hb, func(x, y hbPeer) int { return cmp.Compare(x.at, y.at) })
	for len(hb)+len(on) > max && len(hb) > 0 {
		off, hb = append(off, hb[0].id), hb[1:]
	}
	slices.SortFunc(rest, func(x, y hbPeer) int {
		if x.outbound != y.outbound {
			if x.outbound {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.id[:], y.id[:])
	})
	for _, c := range rest {
		if len(hb)+len(on) >= max {
			break
		}
		on = append(on, c.id)
	}
	return on, off
}

// pickHighBandwidth applies planHighBandwidth to the connections: new ones get asked, released
// ones told (SendCmpct).
func (p *peersActor) pickHighBandwidth(ctx actor.Context, deliverer *noisep2p.ID) {
	var peers []hbPeer
	for _, c := range p.conns {
		if c.compact {
			peers = append(peers, hbPeer{id: c.id, outbound: c.outbound, at: c.hbAt})
		}
	}
	on, off := planHighBandwidth(peers, deliverer, highBandwidthPeers)
	for _, id := range off {
		c := p.conns[id]
		c.hbAt = 0
		ctx.Send(c.pid, &setHighBandwidth{On: false})
	}
	for _, id := range on {
		c := p.conns[id]
		p.hbSeq++
		c.hbAt = p.hbSeq
		ctx.Send(c.pid, &setHighBandwidth{On: true})
	}
}

// blockDelivered takes a new block connected from source (a peer id in hex, or local): the peer
// that delivered it first joins the high-bandwidth peers, or moves to their latest (BIP152's
// choice: the peers that were fastest lately).
func (p *peersActor) blockDelivered(ctx actor.Context, source string) {
	for id, c := range p.conns {
		if !c.compact || id.String() != source {
			continue
		}
		if c.hbAt > 0 {
			p.hbSeq++
			c.hbAt = p.hbSeq
			return
		}
		p.pickHighBandwidth(ctx, &id)
		return
	}
}
