package actors

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

type (
	// wireIn is one message read from the connection (sent by its reader goroutine).
	wireIn struct {
		Type    uint8
		Payload []byte
	}
	connClosed     struct{ Err error }
	relayInv       struct{ Items []noisep2p.InvItem }
	relayBlocks    struct{ Hashes []chainstate.Hash }
	relayAddr      struct{ Peers []noisep2p.PeerAddr }
	disconnectPeer struct{ Reason string }
	startSync      struct{}
)

const (
	// knownCap bounds the set of hashes a connection remembers the peer has.
	knownCap = 20_000
	// blocksInFlight is how many requested blocks a sync keeps outstanding.
	blocksInFlight = 32
	// addrMinInterval limits unsolicited addr messages a peer may send.
	addrMinInterval = 5 * time.Second
	// pushBlockMax is the largest block relayed whole instead of announced: a small block costs
	// less than the announce-request round trip it saves.
	pushBlockMax = 32 << 10
	// syncStallTimeout is how long a sync round or a requested block may go without an answer
	// before the connection asks again (an answer can be lost: a lossy link filter drops whole
	// messages, and a peer may simply not answer).
	syncStallTimeout = 4 * time.Second
	// stallCheckEvery is how often a connection checks for a stalled sync.
	stallCheckEvery = time.Second
)

// syncStalled reports, at now, the requested blocks that went unanswered for longer than
// syncStallTimeout (expired), and whether a sync round has seen no answer at all for that long
// (stalled). A request can be lost (a lossy link filter drops whole messages) or ignored; one
// lost block must not hold up a sync that goes on receiving the others.
func syncStalled(syncing bool, inFlight map[chainstate.Hash]time.Time, lastProgress, now time.Time) (expired []chainstate.Hash, stalled bool) {
	for h, at := range inFlight {
		if now.Sub(at) > syncStallTimeout {
			expired = append(expired, h)
		}
	}
	return expired, syncing && now.Sub(lastProgress) > syncStallTimeout
}

// peerConnActor is `peers/<id8>`: it owns one noisep2p.Conn (a reader and a writer goroutine,
// closed and joined in Stopping) and speaks the wire protocol for it: inventory, data requests,
// blocks and transactions into consensus and the mempool, addresses to the manager, and the sync
// of blocks when the manager picks this peer. Invalid data or a protocol violation gets the peer
// disconnected and discouraged.
type peerConnActor struct {
	n     *Node
	conn  *noisep2p.Conn
	id    noisep2p.ID
	known *hashSet // what the peer has (it announced it, or we sent it)

	syncing   bool
	queue     blockQueue                    // blocks announced in answer to getblocks, not yet requested
	inFlight  map[chainstate.Hash]time.Time // requested (when), not yet received
	submitted map[chainstate.Hash]bool      // received and handed to consensus, not yet answered
	lastAddr  time.Time
	closed    bool

	// shaper holds messages back under an injected link delay (nil until a filter applies);
	// dueTimer wakes the actor when the first held message is due (stopped in Stopping).
	shaper   *linkShaper
	dueTimer *time.Timer
	self     *actor.PID
	root     *actor.RootContext

	lastProgress time.Time // the last sync answer or requested block (stall detection)
	stopCheck    func()    // stops the stall check tick

	// mempoolAsked is when this side sent GetMempool, zero once an Inv without block items has
	// come (taken as the answer): an empty answer must not read as "nothing after the locator".
	mempoolAsked time.Time
}

// stallCheck is the connection's periodic check for a stalled sync.
type stallCheck struct{}

// linkDue tells a connection actor that a delayed message may be due.
type linkDue struct{}

func newPeerConnActor(n *Node, c *noisep2p.Conn) *peerConnActor {
	return &peerConnActor{n: n, conn: c, id: c.RemoteID(), known: newHashSet(knownCap), inFlight: map[chainstate.Hash]time.Time{}, submitted: map[chainstate.Hash]bool{}}
}

func (a *peerConnActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		self, root := ctx.Self(), ctx.ActorSystem().Root
		a.self, a.root = self, root
		a.stopCheck = every(stallCheckEvery, func() { root.Send(self, &stallCheck{}) })
		a.conn.Start(func(typ uint8, payload []byte) {
			root.Send(self, &wireIn{Type: typ, Payload: payload})
		}, func(err error) {
			root.Send(self, &connClosed{Err: err})
		})
		a.send(noisep2p.GetAddr{})
		a.send(noisep2p.GetMempool{})
		a.mempoolAsked = time.Now()
		ctx.Send(ctx.Parent(), &peerHeight{ID: a.id, Height: a.conn.RemoteHello().BestHeight})
	case *actor.Stopping, *actor.Restarting:
		a.closed = true
		if a.stopCheck != nil {
			a.stopCheck()
			a.stopCheck = nil
		}
		if a.dueTimer != nil {
			a.dueTimer.Stop()
			a.dueTimer = nil
		}
		_ = a.conn.Close()
	case *linkDue:
		a.sendDue(ctx)
	case *stallCheck:
		a.checkStall()
	case *connClosed:
		if m.Err != nil && !errors.Is(m.Err, noisep2p.ErrClosed) {
			a.n.log.Info("peer connection closed", "actor", namePeers+"/"+a.id.Short(), "peer_id", a.id.String(), "err", m.Err)
		}
		if transportViolation(m.Err) {
			a.misbehave(ctx, "protocol violation: %v", m.Err)
		}
		ctx.Stop(ctx.Self())
	case *wireIn:
		a.handle(ctx, m)
	case *relayInv:
		var items []noisep2p.InvItem
		for _, it := range m.Items {
			if !a.known.has(it.Hash) {
				a.known.add(it.Hash)
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			a.send(noisep2p.Inv{Items: items})
		}
	case *relayBlocks:
		a.relayBlocks(m.Hashes)
	case *relayAddr:
		a.send(noisep2p.Addr{Peers: m.Peers})
	case *disconnectPeer:
		_ = a.conn.Disconnect(m.Reason)
		ctx.Stop(ctx.Self())
	case *startSync:
		a.syncing = true
		a.lastProgress = time.Now()
		a.requestBlocks()
	}
}

// relayBlocks passes new blocks on to the peer unless it has them: small ones whole (one message,
// no round trip), large ones announced.
func (a *peerConnActor) relayBlocks(hs []chainstate.Hash) {
	s, err := a.n.store()
	if err != nil {
		return
	}
	var inv []noisep2p.InvItem
	for _, h := range hs {
		if a.known.has(h) {
			continue
		}
		a.known.add(h)
		if b, ok, err := s.Block(h); err == nil && ok {
			if raw := b.Encode(); len(raw) <= pushBlockMax {
				a.send(noisep2p.Block{Raw: raw})
				continue
			}
		}
		inv = append(inv, noisep2p.InvItem{Kind: invBlock, Hash: h})
	}
	if len(inv) > 0 {
		a.send(noisep2p.Inv{Items: inv})
	}
}

// send sends m to the peer, through the injected link filter when one applies (loss drops it,
// delay holds it back in order).
func (a *peerConnActor) send(m noisep2p.Message) {
	if a.closed {
		return
	}
	if f := a.n.faults.link(a.id); f.active() || a.shaper != nil {
		if a.shaper == nil {
			a.shaper = newLinkShaper(a.id)
		}
		now, pending := time.Now(), len(a.shaper.queue) > 0
		send, queued := a.shaper.offer(f, m, now)
		if queued && !pending {
			a.armDue(a.shaper.queue[0].At.Sub(now))
		}
		if !send {
			return
		}
	}
	a.sendNow(m)
}

// armDue makes the actor send itself linkDue after d.
func (a *peerConnActor) armDue(d time.Duration) {
	if a.dueTimer != nil {
		a.dueTimer.Stop()
	}
	self, root := a.self, a.root
	a.dueTimer = time.AfterFunc(max(d, 0), func() { root.Send(self, &linkDue{}) })
}

// sendDue sends the held-back messages that are due and re-arms for the next.
func (a *peerConnActor) sendDue(ctx actor.Context) {
	if a.closed || a.shaper == nil {
		return
	}
	now := time.Now()
	msgs, next := a.shaper.due(now)
	for _, m := range msgs {
		a.sendNow(m)
	}
	if !next.IsZero() {
		a.armDue(next.Sub(now))
	}
}

func (a *peerConnActor) sendNow(m noisep2p.Message) {
	if err := a.conn.SendMsg(m); err != nil {
		a.n.log.Debug("send to peer failed", "actor", namePeers+"/"+a.id.Short(), "err", err)
	}
}

// misbehave reports the peer to the manager, which bans it and tells us to disconnect.
func (a *peerConnActor) misbehave(ctx actor.Context, format string, args ...any) {
	ctx.Send(ctx.Parent(), &misbehaved{ID: a.id, Reason: fmt.Sprintf(format, args...)})
}

func (a *peerConnActor) handle(ctx actor.Context, in *wireIn) {
	msg, err := noisep2p.DecodeMessage(in.Type, in.Payload)
	if err != nil {
		a.misbehave(ctx, "protocol violation: %v", err)
		return
	}
	switch m := msg.(type) {
	case noisep2p.GetAddr:
		ctx.Send(ctx.Parent(), &addrsWanted{From: a.id})
	case noisep2p.Addr:
		now := a.n.now()
		if now.Sub(a.lastAddr) < addrMinInterval && len(m.Peers) > 1 {
			return // over the rate: ignored, not misbehaviour (a reply to our getaddr can race a relay)
		}
		a.lastAddr = now
		ctx.Send(ctx.Parent(), &addrsLearned{From: a.id, Peers: m.Peers})
	case noisep2p.Inv:
		a.onInv(ctx, m.Items)
	case noisep2p.GetData:
		a.onGetData(ctx, m.Items)
	case noisep2p.NotFound:
		for _, it := range m.Items {
			delete(a.inFlight, it.Hash)
		}
		a.requestMore()
	case noisep2p.Block:
		a.onBlock(ctx, m.Raw)
	case noisep2p.Tx:
		a.onTx(ctx, m.Raw)
	case noisep2p.GetBlocks:
		a.onGetBlocks(m)
	case noisep2p.GetMempool:
		a.onGetMempool(ctx)
	default:
		a.misbehave(ctx, "unexpected message %s", noisep2p.MsgName(in.Type))
	}
}

// onInv requests the announced blocks and transactions this node lacks. Block hashes that answer
// our getblocks join the sync queue.
func (a *peerConnActor) onInv(ctx actor.Context, items []noisep2p.InvItem) {
	s, err := a.n.store()
	if err != nil {
		return
	}
	var skip bool
	if skip, a.mempoolAsked = mempoolAnswer(a.mempoolAsked, time.Now(), items); skip {
		return
	}
	if a.syncing {
		a.lastProgress = time.Now()
	}
	if len(items) == 0 && a.syncing && a.queue.len() == 0 && len(a.inFlight) == 0 && len(a.submitted) == 0 {
		a.syncing = false // the peer has nothing after our locator
		ctx.Send(ctx.Parent(), &syncDone{ID: a.id})
		return
	}
	var want []noisep2p.InvItem
	var txs []chainstate.Hash
	blocks := 0
	for _, it := range items {
		a.known.add(it.Hash)
		switch it.Kind {
		case invBlock:
			blocks++
			if _, ok, err := s.Entry(it.Hash); err == nil && !ok && !a.isInFlight(it.Hash) && !a.submitted[it.Hash] {
				a.queue.push(it.Hash)
			}
		case invTx:
			txs = append(txs, it.Hash)
		}
	}
	if len(txs) > 0 {
		for _, h := range a.missingTxs(ctx, s, txs) {
			want = append(want, noisep2p.InvItem{Kind: invTx, Hash: h})
		}
	}
	if len(want) > 0 {
		a.send(noisep2p.GetData{Items: want})
	}
	if blocks > 0 {
		a.requestMore()
		if a.queue.len() == 0 && len(a.inFlight) == 0 && len(a.submitted) == 0 && a.syncing {
			a.syncing = false
			ctx.Send(ctx.Parent(), &syncDone{ID: a.id})
		}
	}
}

// missingTxs returns the hashes neither confirmed nor pending here.
func (a *peerConnActor) missingTxs(ctx actor.Context, s *chainstate.Store, hs []chainstate.Hash) []chainstate.Hash {
	res, err := askFrom[*mempoolHasResponse](ctx, a.n.pid(nameMempool), &mempoolHasRequest{Hashes: hs}, 2*time.Second)
	if err != nil {
		return nil
	}
	var out []chainstate.Hash
	for i, h := range hs {
		if res.Has[i] {
			continue
		}
		if _, ok, err := s.TxLocation(h); err == nil && !ok {
			out = append(out, h)
		}
	}
	return out
}

// checkStall asks again when a sync round or requested blocks went unanswered for
// syncStallTimeout: the requests still in flight are forgotten (they were lost, or the peer will
// not answer them) and the sync restarts from a fresh locator, whose answer requests again what
// is still missing.
func (a *peerConnActor) checkStall() {
	now := time.Now()
	if a.closed {
		return
	}
	expired, stalled := syncStalled(a.syncing, a.inFlight, a.lastProgress, now)
	if len(expired) == 0 && !stalled {
		return
	}
	a.n.log.Debug("sync stalled; asking again", "actor", namePeers+"/"+a.id.Short(), "peer_id", a.id.String(), "expired", len(expired), "in_flight", len(a.inFlight))
	for _, h := range expired {
		delete(a.inFlight, h)
	}
	a.lastProgress = now
	a.requestBlocks()
}

func (a *peerConnActor) isInFlight(h chainstate.Hash) bool {
	_, ok := a.inFlight[h]
	return ok
}

// requestMore keeps up to blocksInFlight blocks requested from the sync queue.
func (a *peerConnActor) requestMore() {
	var items []noisep2p.InvItem
	s, _ := a.n.store()
	for a.queue.len() > 0 && len(a.inFlight)+len(a.submitted) < blocksInFlight {
		h, _ := a.queue.pop()
		if a.isInFlight(h) || a.submitted[h] {
			continue
		}
		if s != nil {
			if _, ok, err := s.Entry(h); err == nil && ok {
				continue // arrived meanwhile (gossip, or another peer)
			}
		}
		a.inFlight[h] = time.Now()
		items = append(items, noisep2p.InvItem{Kind: invBlock, Hash: h})
	}
	if len(items) > 0 {
		a.send(noisep2p.GetData{Items: items})
	}
}

// requestBlocks asks the peer for the main-chain blocks after our best locator match.
func (a *peerConnActor) requestBlocks() {
	s, err := a.n.store()
	if err != nil {
		return
	}
	tip, err := s.Tip()
	if err != nil {
		return
	}
	var loc [][32]byte
	for _, h := range locatorHeights(tip.Header.Height) {
		if hash, ok, err := s.MainHash(h); err == nil && ok {
			loc = append(loc, hash)
		}
	}
	a.send(noisep2p.GetBlocks{Locator: loc})
}

func (a *peerConnActor) onGetData(ctx actor.Context, items []noisep2p.InvItem) {
	s, err := a.n.store()
	if err != nil {
		return
	}
	var missing []noisep2p.InvItem
	for _, it := range items {
		switch it.Kind {
		case invBlock:
			b, ok, err := s.Block(it.Hash)
			if err != nil || !ok {
				missing = append(missing, it)
				continue
			}
			a.known.add(it.Hash)
			a.send(noisep2p.Block{Raw: b.Encode()})
		case invTx:
			res, err := askFrom[*mempoolTxResponse](ctx, a.n.pid(nameMempool), &mempoolTxRequest{Hash: it.Hash}, 2*time.Second)
			if err != nil || res.Tx == nil {
				missing = append(missing, it)
				continue
			}
			a.known.add(it.Hash)
			a.send(noisep2p.Tx{Raw: res.Tx.Encode()})
		}
	}
	if len(missing) > 0 {
		a.send(noisep2p.NotFound{Items: missing})
	}
}

func (a *peerConnActor) onBlock(ctx actor.Context, raw []byte) {
	received, synced := time.Now(), a.syncing
	b, err := chainstate.DecodeBlock(raw)
	if err != nil {
		a.misbehave(ctx, "undecodable block: %v", err)
		return
	}
	h := b.Hash()
	a.known.add(h)
	if a.isInFlight(h) {
		a.lastProgress = time.Now()
	}
	delete(a.inFlight, h)
	// The stateless checks, signatures above all, run here on this connection's goroutine (in
	// parallel with other connections, outside consensus's mailbox); they fill the signature
	// cache, so consensus does not verify them again.
	if err := chainstate.CheckBlock(a.n.params, b, a.n.sigs); err != nil {
		a.misbehave(ctx, "invalid block %s: %v", h, err)
		return
	}
	// Consensus answers asynchronously: while it connects this block, this actor goes on
	// receiving and checking the next ones (a pipeline). Submitted blocks count against the
	// in-flight window until consensus answered.
	a.submitted[h] = true
	f := ctx.RequestFuture(a.n.pid(nameConsensus), &submitBlockRequest{Block: b, Source: a.id.String()}, storageTimeout+requestTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if synced {
			observeSince(a.n.metrics.syncBlock, received)
		}
		a.blockDone(ctx, b, h, res, err)
	})
}

// blockDone handles consensus's answer for a block this peer sent.
func (a *peerConnActor) blockDone(ctx actor.Context, b *chainstate.Block, h chainstate.Hash, res any, err error) {
	delete(a.submitted, h)
	if a.closed {
		return
	}
	if r, ok := res.(*submitBlockResponse); ok && err == nil {
		var re *chainstate.RuleError
		switch {
		case r.Err != nil && errors.As(r.Err, &re) && re.Code != chainstate.CodeTimeTooNew:
			a.misbehave(ctx, "invalid block %s: %v", h, r.Err)
			return
		case r.Err == nil && r.Result.Status == "orphan":
			a.requestBlocks() // a gap: ask for what leads up to it
		}
	}
	// Any other failure is this node's, not the peer's: the block is announced or synced again.
	if b.Header.Height > 0 {
		ctx.Send(ctx.Parent(), &peerHeight{ID: a.id, Height: b.Header.Height})
	}
	a.requestMore()
	if a.syncing && len(a.inFlight) == 0 && a.queue.len() == 0 && len(a.submitted) == 0 {
		a.requestBlocks() // next round; an answer with nothing new ends the sync
	}
}

func (a *peerConnActor) onTx(ctx actor.Context, raw []byte) {
	tx, err := chainstate.DecodeTx(raw)
	if err != nil {
		a.misbehave(ctx, "undecodable transaction: %v", err)
		return
	}
	h := tx.Hash()
	a.known.add(h)
	// Stateless checks here, on this connection's goroutine: connections verify in parallel.
	if err := chainstate.CheckTx(a.n.params, tx, a.n.sigs); err != nil {
		a.misbehave(ctx, "invalid transaction %s: %v", h, err)
		return
	}
	// Stateful rejections (nonce used, funds spent) are races between honest nodes: no penalty.
	_, _ = askFrom[*submitTxResponse](ctx, a.n.pid(nameMempool), &submitTxRequest{Tx: tx, Hash: h, Source: a.id.String()}, requestTimeout)
}

// onGetBlocks answers with the hashes of up to 500 main-chain blocks after the first locator hash
// on our main chain (genesis when none is).
func (a *peerConnActor) onGetBlocks(m noisep2p.GetBlocks) {
	s, err := a.n.store()
	if err != nil {
		return
	}
	tip, err := s.Tip()
	if err != nil {
		return
	}
	start := uint64(0)
	for _, h := range m.Locator {
		e, ok, err := s.Entry(h)
		if err == nil && ok && e.Status == chainstate.StatusMain {
			start = e.Header.Height
			break
		}
	}
	var items []noisep2p.InvItem
	for h := start + 1; h <= tip.Header.Height && len(items) < noisep2p.MaxGetBlocksReply; h++ {
		hash, ok, err := s.MainHash(h)
		if err != nil || !ok {
			break
		}
		items = append(items, noisep2p.InvItem{Kind: invBlock, Hash: hash})
		a.known.add(hash)
		if hash == m.Stop {
			break
		}
	}
	// An empty inv tells the peer it has everything we have.
	a.send(noisep2p.Inv{Items: items})
}

// mempoolAnswer decides whether an Inv of items, received at now, is the answer to the
// GetMempool this side sent at asked (zero: none outstanding). The peer answers GetMempool with
// one Inv of transactions, empty when it has none; the first Inv without block items within
// mempoolAnswerWithin is taken as that answer, and no longer outstanding after it (asked becomes
// zero). skip is true for an empty answer: it says nothing more, and must not read as a
// getblocks answer ("nothing after your locator") that would end a sync round.
func mempoolAnswer(asked, now time.Time, items []noisep2p.InvItem) (skip bool, stillAsked time.Time) {
	if asked.IsZero() || slices.ContainsFunc(items, func(it noisep2p.InvItem) bool { return it.Kind == invBlock }) {
		return false, asked
	}
	return len(items) == 0 && now.Sub(asked) < mempoolAnswerWithin, time.Time{}
}

// mempoolAnswerWithin bounds how long after sending GetMempool an Inv without blocks is taken as
// its answer (a GetMempool lost to an injected link fault is never answered).
const mempoolAnswerWithin = 10 * time.Second

// onGetMempool answers GetMempool with exactly one Inv: the mempool's transactions (at most
// MaxInvItems), empty when it has none or cannot list them in time (docs/protocol.md).
func (a *peerConnActor) onGetMempool(ctx actor.Context) {
	res, err := askFrom[*mempoolListResponse](ctx, a.n.pid(nameMempool), &mempoolListRequest{}, 2*time.Second)
	if err != nil {
		a.n.log.Debug("mempool not listed for a peer; answering an empty inv", "actor", namePeers+"/"+a.id.Short(), "err", err)
		a.send(noisep2p.Inv{Items: []noisep2p.InvItem{}})
		return
	}
	hs := res.Hashes
	if len(hs) > noisep2p.MaxInvItems {
		hs = hs[:noisep2p.MaxInvItems]
	}
	items := make([]noisep2p.InvItem, len(hs))
	for i, h := range hs {
		items[i] = noisep2p.InvItem{Kind: invTx, Hash: h}
		a.known.add(h)
	}
	a.send(noisep2p.Inv{Items: items})
}

// transportViolation reports whether a connection ended because the peer broke the transport's
// rules (an oversize message, a bad or forged frame), which discourages it like invalid data.
func transportViolation(err error) bool {
	return err != nil && (errors.Is(err, noisep2p.ErrMsgTooLarge) || errors.Is(err, noisep2p.ErrBadFrame) ||
		errors.Is(err, noisep2p.ErrDecrypt) || errors.Is(err, noisep2p.ErrMalformed))
}

// blockQueue is a FIFO of block hashes that holds each hash at most once (repeated getblocks
// answers announce the same blocks again).
type blockQueue struct {
	order []chainstate.Hash
	in    map[chainstate.Hash]bool
}

// push appends h unless it is queued already, and reports whether it was appended.
func (q *blockQueue) push(h chainstate.Hash) bool {
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
func (q *blockQueue) pop() (chainstate.Hash, bool) {
	if len(q.order) == 0 {
		return chainstate.Hash{}, false
	}
	h := q.order[0]
	q.order = q.order[1:]
	delete(q.in, h)
	return h, true
}

func (q *blockQueue) len() int { return len(q.order) }

// hashSet is a bounded set of hashes that forgets the oldest first.
type hashSet struct {
	max   int
	set   map[chainstate.Hash]struct{}
	order []chainstate.Hash
}

func newHashSet(max int) *hashSet { return &hashSet{max: max, set: map[chainstate.Hash]struct{}{}} }

func (s *hashSet) has(h chainstate.Hash) bool { _, ok := s.set[h]; return ok }

func (s *hashSet) add(h chainstate.Hash) {
	if s.has(h) {
		return
	}
	if len(s.order) >= s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	s.set[h] = struct{}{}
	s.order = append(s.order, h)
}
