package actors

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// A connection's requests to the mempool (admitting a transaction, looking transactions up) are
// asynchronous: the answer comes back to the actor as a continuation (ReenterAfter), and the
// actor goes on with the wire meanwhile. A peer cannot make it pile up requests without bound:
// at most mempoolWindow run at once and mempoolWaitMax wait behind them; a request beyond that is
// answered at once as if the mempool were busy (not a misbehaviour: a transfer comes again by
// gossip, a lookup is answered notfound).
const (
	mempoolWindow  = 64
	mempoolWaitMax = 1024
	// mempoolLookupTimeout bounds a lookup (has, get) that answers a peer.
	mempoolLookupTimeout = 2 * time.Second
)

// errMempoolBusy answers a request over the connection's limit.
var errMempoolBusy = errors.New("too many mempool requests from this peer")

// mempoolJob is one request to the mempool and what to do with its answer (res is nil when err
// is not).
type mempoolJob struct {
	msg     any
	timeout time.Duration
	then    func(res any, err error)
}

// askMempool starts j now, queues it behind the running requests, or answers it errMempoolBusy.
func (a *peerConnActor) askMempool(ctx actor.Context, j mempoolJob) {
	switch a.mempool.offer(j) {
	case workRun:
		a.startMempoolJob(ctx, j)
	case workDropped:
		j.then(nil, errMempoolBusy)
	}
}

func (a *peerConnActor) startMempoolJob(ctx actor.Context, j mempoolJob) {
	f := ctx.RequestFuture(a.d.pid(nameMempool), j.msg, j.timeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if a.closed { // after the stop: see blockDone
			return
		}
		j.then(res, err)
		if next, ok := a.mempool.done(); ok {
			a.startMempoolJob(ctx, next)
		}
	})
}

func (a *peerConnActor) onTx(ctx actor.Context, raw []byte) {
	tx, err := chainstate.DecodeTx(raw)
	if err != nil {
		a.misbehave(ctx, "undecodable transaction: %v", err)
		return
	}
	h := tx.Hash()
	a.known.add(h)
	a.txAnswered(ctx, h)
	// Stateless checks here, on this connection's goroutine: connections verify in parallel.
	if err := chainstate.CheckTx(a.d.params, tx, a.d.sigs); err != nil {
		a.misbehave(ctx, "invalid transaction %s: %v", h, err)
		return
	}
	// Stateful rejections (nonce used, funds spent) are races between honest nodes: no penalty.
	// An admitted transfer is relayed by the mempool once it is durable, to every peer but this.
	a.askMempool(ctx, mempoolJob{msg: &submitTxRequest{Tx: tx, Hash: h, Source: a.id.String()}, timeout: requestTimeout,
		then: func(res any, err error) {
			if r, ok := res.(*submitTxResponse); ok && err == nil {
				err = r.Err
			}
			if err != nil {
				a.d.log.Debug("transaction from a peer not admitted", "actor", a.name(), "peer_id", a.id.String(), "tx", h, "err", err)
			}
		}})
}

// requestMissingTxs asks the peer for the announced transactions neither pending nor confirmed
// here.
func (a *peerConnActor) requestMissingTxs(ctx actor.Context, hs []chainstate.Hash) {
	a.askMempool(ctx, mempoolJob{msg: &mempoolHasRequest{Hashes: hs}, timeout: mempoolLookupTimeout,
		then: func(res any, err error) {
			if r, ok := res.(*mempoolHasResponse); ok && err == nil && len(r.Has) == len(hs) && !a.closed {
				a.requestTxs(ctx, hs, r.Has)
			}
		}})
}

// requestTxs sends a getdata for the transactions of hs that are neither pending (has) nor
// confirmed: the pending ones need no lookup, the others one read of the store together.
func (a *peerConnActor) requestTxs(ctx actor.Context, hs []chainstate.Hash, has []bool) {
	var unknown []chainstate.Hash
	for i, h := range hs {
		if !has[i] {
			unknown = append(unknown, h)
		}
	}
	if len(unknown) == 0 {
		return
	}
	s, err := a.d.store()
	if err != nil {
		return
	}
	confirmed, err := s.TxsConfirmed(unknown)
	if err != nil {
		return
	}
	missing := unknown[:0]
	for i, h := range unknown {
		if !confirmed[i] {
			missing = append(missing, h)
		}
	}
	now := a.d.local.Now()
	room := a.txRoom(now, len(missing))
	over := missing[min(room, len(missing)):]
	ask, wait := a.d.txreq.claim(now, missing[:min(room, len(missing))])
	if len(ask) > 0 {
		want := make([]noisep2p.InvItem, len(ask))
		for i, h := range ask {
			want[i] = noisep2p.InvItem{Kind: invTx, Hash: h}
			a.txAsked[h] = now
		}
		a.send(noisep2p.GetData{Items: want})
	}
	a.deferTxs(ctx, append(wait, over...))
}

// txRoom is how many more transfers this peer may be asked for now (peerTxInFlightMax less
// those asked of it and neither answered nor expired), for want more. The expired requests are
// dropped only when the room found without dropping them is short of want.
func (a *peerConnActor) txRoom(now time.Time, want int) int {
	if a.txAsked == nil {
		a.txAsked = make(map[chainstate.Hash]time.Time)
	}
	if peerTxInFlightMax-len(a.txAsked) < want {
		for h, at := range a.txAsked {
			if now.Sub(at) >= txRequestTimeout {
				delete(a.txAsked, h)
			}
		}
	}
	return max(peerTxInFlightMax-len(a.txAsked), 0)
}

// txAnswered: the peer delivered transfer h or has none. Once every request to it is answered,
// the announcements deferred meanwhile are asked for at once rather than at the next stall tick
// (a burst of more than peerTxInFlightMax announcements goes out in rounds, not in seconds).
func (a *peerConnActor) txAnswered(ctx actor.Context, h chainstate.Hash) {
	delete(a.txAsked, h)
	a.d.txreq.done(h)
	if len(a.txAsked) == 0 && len(a.deferredTxs) > 0 {
		a.retryDeferredTxs(ctx)
	}
}

// deferTxs keeps announced transfers another connection's request is awaited for, up to
// deferredTxsMax, for the stall check tick to ask again (retryDeferredTxs).
func (a *peerConnActor) deferTxs(ctx actor.Context, hs []chainstate.Hash) {
	if len(hs) == 0 || a.closed {
		return
	}
	n := min(len(hs), deferredTxsMax-len(a.deferredTxs))
	a.deferredTxs = append(a.deferredTxs, hs[:max(n, 0)]...)
	a.armStallCheck(ctx)
}

// retryDeferredTxs asks again for the deferred transfers still neither pending nor confirmed:
// those whose first request expired go out now, the rest are deferred again.
func (a *peerConnActor) retryDeferredTxs(ctx actor.Context) {
	if len(a.deferredTxs) == 0 || a.closed {
		return
	}
	hs := a.deferredTxs
	a.deferredTxs = nil
	a.requestMissingTxs(ctx, hs)
}

// onGetData sends the requested blocks at once and the requested transactions when the mempool
// has answered; what this node lacks goes in one notfound at the end.
func (a *peerConnActor) onGetData(ctx actor.Context, items []noisep2p.InvItem) {
	s, err := a.d.store()
	if err != nil {
		return
	}
	var missing []noisep2p.InvItem
	var txs []chainstate.Hash
	for _, it := range items {
		switch it.Kind {
		case invBlock:
			// The stored bytes go out as they are (no decoding and encoding again).
			raw, ok, err := s.RawBlock(it.Hash)
			if err != nil || !ok {
				if sb := a.cmpct.sentBlock(it.Hash); sb != nil {
					raw, ok, err = sb.Encode(), true, nil // pushed compact before this node stored it
				}
			}
			if err != nil || !ok {
				missing = append(missing, it)
				continue
			}
			a.known.add(it.Hash)
			a.send(noisep2p.Block{Raw: raw})
		case invTx:
			txs = append(txs, it.Hash)
		}
	}
	if len(txs) == 0 {
		a.sendNotFound(missing)
		return
	}
	a.askMempool(ctx, mempoolJob{msg: &mempoolTxRequest{Hashes: txs}, timeout: mempoolLookupTimeout,
		then: func(res any, err error) {
			var found []*chainstate.Tx
			if r, ok := res.(*mempoolTxResponse); ok && err == nil && len(r.Txs) == len(txs) {
				found = r.Txs
			}
			a.sendTxs(txs, found, missing)
		}})
}

// sendTxs sends the transactions found (found[i] for hs[i], nil or absent when the mempool has
// none), then one notfound for the rest and the missing items before them.
func (a *peerConnActor) sendTxs(hs []chainstate.Hash, found []*chainstate.Tx, missing []noisep2p.InvItem) {
	for i, h := range hs {
		if i >= len(found) || found[i] == nil {
			missing = append(missing, noisep2p.InvItem{Kind: invTx, Hash: h})
			continue
		}
		a.known.add(h)
		a.send(noisep2p.Tx{Raw: found[i].Encode()})
	}
	a.sendNotFound(missing)
}

func (a *peerConnActor) sendNotFound(items []noisep2p.InvItem) {
	if len(items) > 0 {
		a.send(noisep2p.NotFound{Items: items})
	}
}

// workResult is what workWindow.offer did with a job.
type workResult int

const (
	workRun     workResult = iota // start it now
	workWaiting                   // it waits for a running one to finish
	workDropped                   // over the limit: refuse it
)

// workWindow bounds asynchronous work: at most window jobs run, at most waitMax wait behind
// them in arrival order.
type workWindow[T any] struct {
	window, waitMax int
	running         int
	waiting         []T
}

func newWorkWindow[T any](window, waitMax int) workWindow[T] {
	return workWindow[T]{window: window, waitMax: waitMax}
}

// offer takes a new job.
func (w *workWindow[T]) offer(j T) workResult {
	switch {
	case w.running < w.window:
		w.running++
		return workRun
	case len(w.waiting) < w.waitMax:
		w.waiting = append(w.waiting, j)
		return workWaiting
	}
	return workDropped
}

// done records that a running job finished and returns the next one to start, if one waits
// (it counts as running from now).
func (w *workWindow[T]) done() (next T, ok bool) {
	if len(w.waiting) > 0 {
		next, w.waiting = w.waiting[0], w.waiting[1:]
		return next, true
	}
	if w.running > 0 {
		w.running--
	}
	return next, false
}
