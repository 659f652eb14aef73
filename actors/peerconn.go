package actors

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/blocksync"
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
	// addrMinInterval limits unsolicited addr messages a peer may send.
	addrMinInterval = 5 * time.Second
	// pushBlockMax is the largest block relayed whole instead of announced: a small block costs
	// less than the announce-request round trip it saves.
	pushBlockMax = 32 << 10
	// stallCheckEvery is how often a connection checks for a stalled sync (blocksync.Sync.Tick).
	stallCheckEvery = time.Second
	// pipeChecks is how many goroutines check a connection's piped blocks at once (its
	// checkQueue's width): two keep two cores busy through each check's serial part.
	pipeChecks = 2
	// pipeBatch is how many waiting blocks one of them takes at once, their signatures in one
	// batch.
	pipeBatch = 2
	// maxPipedBlocks bounds a connection's blocks waiting for their checks: twice the sync's
	// window of requested blocks.
	maxPipedBlocks = 64
)

// peerConnActor is `peers/<id8>`: it owns one noisep2p.Conn (a reader and a writer goroutine,
// closed and joined in Stopping) and speaks the wire protocol for it: inventory, data requests,
// blocks and transactions into consensus and the mempool, addresses to the manager, and the sync
// of blocks when the manager picks this peer. The sync's bookkeeping is a blocksync.Sync this
// actor feeds and whose actions it performs (peerconn_sync.go); its requests to the mempool are
// asynchronous and bounded (peerconn_mempool.go). Invalid data or a protocol violation gets the
// peer disconnected and discouraged.
type peerConnActor struct {
	d     peerConnDeps
	conn  *noisep2p.Conn
	id    noisep2p.ID
	known *hashSet // what the peer has (it announced it, or we sent it)

	sync     *blocksync.Sync
	mempool  workWindow[mempoolJob] // requests to the mempool: running and waiting
	lastAddr time.Time
	closed   bool
	// endReason is why this side ends the connection, and remote the peer's TCP address, for the
	// `peer disconnected` record.
	endReason, remote string

	// out sends to the peer: the connection itself, or with debug.fault_injection the link
	// fault decorator in front of it (links.go); stopped in Stopping.
	out linkSender

	stopCheck func() // stops the stall check tick; nil while none runs (armStallCheck)

	// mempoolAsked is when this side sent GetMempool, zero once an Inv without block items has
	// come (taken as the answer): an empty answer must not read as "nothing after the locator".
	mempoolAsked time.Time
	// deferredTxs are transfers this peer announced while another connection's request for
	// them was awaited (txRequests): the stall check tick asks again for those still missing.
	deferredTxs []chainstate.Hash
	// syncHead is the last block of the peer's last answer to getblocks (an inv of more than
	// one block): it leads the next locator while it is stored here off the main chain
	// (requestBlocks).
	syncHead chainstate.Hash
	// txAsked holds the transfers asked of this peer and not yet delivered or refused, with
	// when: at most peerTxInFlightMax (txRoom), so that a peer that announces first and
	// never delivers holds back at most that many transfers, each for txRequestTimeout.
	txAsked map[chainstate.Hash]time.Time

	cmpct compactConn // compact block relay (peerconn_compact.go)

	// pipe holds a sync's blocks while their checks run on checks' goroutines, which release
	// joins (peerconn_sync.go: pipeBlock).
	pipe   blockPipe
	checks *checkQueue[checkJob]
	// waiting are the pipe's checked blocks not yet handed to consensus; submitting says a
	// submitBlocksRequest is unanswered (peerconn_sync.go: submitWaiting).
	waiting    []*pipedBlock
	submitting bool
}

// stallCheck is the connection's periodic check for a stalled sync.
type stallCheck struct{}

// linkDue tells a connection actor that a delayed message may be due.
type linkDue struct{}

func newPeerConnActor(d peerConnDeps, c *noisep2p.Conn) *peerConnActor {
	var remote string
	if ra := c.RemoteAddr(); ra != nil {
		remote = ra.String()
	}
	return &peerConnActor{d: d, conn: c, id: c.RemoteID(), known: newHashSet(knownCap), remote: remote,
		sync: blocksync.New(blocksync.DefaultConfig()), mempool: newWorkWindow[mempoolJob](mempoolWindow, mempoolWaitMax),
		cmpct: newCompactConn(d.compact, c.RemoteHello()), checks: newCheckQueue(pipeChecks, pipeBatch, func(jobs []checkJob) { checkJobs(d.params, d.sigs, jobs) })}
}

func (a *peerConnActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Stopping:
		a.handOff(ctx)
		a.release()
		a.d.log.Info("peer disconnected", "actor", a.name(), "peer_id", a.id.String(), "addr", a.remote, "reason", a.stopReason())
	case *actor.Restarting:
		a.handOff(ctx)
		a.release()
	case *linkDue:
		if !a.closed {
			a.out.due()
		}
	case *stallCheck:
		a.checkStall(ctx)
		a.expirePartials(ctx)
		a.retryDeferredTxs(ctx)
		a.armStallCheck(ctx)
	case *setHighBandwidth:
		a.askHighBandwidth(m.On)
	case *earlyBlock:
		a.onEarlyBlock(m)
	case *blockChecked:
		a.onBlockChecked(ctx, m)
	case *connClosed:
		a.connClosed(ctx, m.Err)
	case *wireIn:
		a.handle(ctx, m)
	case *relayInv:
		a.relayInv(m.Items)
	case *relayBlocks:
		a.relayBlocks(m.Hashes)
	case *relayAddr:
		a.send(noisep2p.Addr{Peers: m.Peers})
	case *disconnectPeer:
		a.endReason = "dropped by this node: " + m.Reason
		_ = a.conn.Disconnect(m.Reason)
		ctx.Stop(ctx.Self())
	case *startSync:
		a.doSync(ctx, a.sync.Start(a.d.local.Now()))
	}
}

func (a *peerConnActor) name() string { return namePeers + "/" + a.id.Short() }

// stopReason is why the connection ended, for the `peer disconnected` record.
func (a *peerConnActor) stopReason() string {
	switch {
	case a.endReason != "":
		return a.endReason
	case a.d.stopping():
		return "node stopping"
	}
	return "stopped by this node"
}

// started starts the connection's goroutines and opens the conversation. The stall check tick
// runs only while a sync needs it (armStallCheck).
func (a *peerConnActor) started(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.out = a.d.sender(a.id, a.conn, func() { root.Send(self, &linkDue{}) }, a.name())
	a.conn.Start(func(typ uint8, payload []byte) {
		root.Send(self, &wireIn{Type: typ, Payload: payload})
	}, func(err error) {
		root.Send(self, &connClosed{Err: err})
	})
	a.send(noisep2p.GetAddr{})
	a.send(noisep2p.GetMempool{})
	a.mempoolAsked = a.d.local.Now()
	ctx.Send(ctx.Parent(), &peerHeight{ID: a.id, Height: a.conn.RemoteHello().BestHeight})
}

// release stops the timers and closes the connection (joining its goroutines).
func (a *peerConnActor) release() {
	a.closed = true
	if a.stopCheck != nil {
		a.stopCheck()
		a.stopCheck = nil
	}
	if a.out != nil {
		a.out.stop()
	}
	_ = a.conn.Close()
	a.checks.stop() // block checks: CPU only, done within a block's verification time
}

// connClosed ends the actor with its connection; a transport violation discourages the peer.
func (a *peerConnActor) connClosed(ctx actor.Context, err error) {
	switch {
	case err == nil || errors.Is(err, noisep2p.ErrClosed):
		a.endReason = cmp.Or(a.endReason, "connection closed")
	default:
		a.d.log.Info("peer connection closed", "actor", a.name(), "peer_id", a.id.String(), "err", err)
		a.endReason = cmp.Or(a.endReason, err.Error())
	}
	if transportViolation(err) {
		a.misbehave(ctx, "protocol violation: %v", err)
	}
	ctx.Stop(ctx.Self())
}

// relayInv announces the items the peer may not have.
func (a *peerConnActor) relayInv(in []noisep2p.InvItem) {
	var items []noisep2p.InvItem
	for _, it := range in {
		if !a.known.has(it.Hash) {
			a.known.add(it.Hash)
			items = append(items, it)
		}
	}
	if len(items) > 0 {
		a.send(noisep2p.Inv{Items: items})
	}
}

// relayBlocks passes new blocks on to the peer unless it has them: small ones whole (one message,
// no round trip), large ones announced.
func (a *peerConnActor) relayBlocks(hs []chainstate.Hash) {
	s, err := a.d.store()
	if err != nil {
		return
	}
	var inv []noisep2p.InvItem
	for _, h := range hs {
		if a.known.has(h) {
			continue
		}
		b, ok, err := s.Block(h)
		if err == nil && ok && a.cmpct.send {
			a.sendCompact(b, nil) // compact to a peer that speaks it (peerconn_compact.go)
			continue
		}
		a.known.add(h)
		if err == nil && ok {
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

// send sends m to the peer, through the link fault decorator when debug.fault_injection wired one.
func (a *peerConnActor) send(m noisep2p.Message) {
	if a.closed {
		return
	}
	a.out.send(m)
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
	if a.handleCompact(ctx, msg) {
		return
	}
	switch m := msg.(type) {
	case noisep2p.GetAddr:
		ctx.Send(ctx.Parent(), &addrsWanted{From: a.id})
	case noisep2p.Addr:
		now := a.d.now()
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
		a.onNotFound(ctx, m.Items)
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

// onGetBlocks answers with the hashes of up to 500 main-chain blocks after the first locator hash
// on our main chain (genesis when none is).
func (a *peerConnActor) onGetBlocks(m noisep2p.GetBlocks) {
	s, err := a.d.store()
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
	res, err := askFrom[*mempoolListResponse](ctx, a.d.pid(nameMempool), &mempoolListRequest{}, 2*time.Second)
	if err != nil {
		a.d.log.Debug("mempool not listed for a peer; answering an empty inv", "actor", a.name(), "err", err)
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
