package actors

import (
	"fmt"
	"github.com/actorchain/actorchain/txpool"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

type (
	submitTxRequest struct {
		Tx     *chainstate.Tx
		Hash   chainstate.Hash
		Source string // peer id the tx came from ("" local); not relayed back to it
	}
	submitTxResponse struct{ Err error }

	selectTxsRequest struct{ Max int }
	// selectTxsResponse is the selection and the pool's size when it was made.
	selectTxsResponse struct {
		Txs  []*chainstate.Tx
		Size int
	}

	// mempoolSizeRequest asks the mempool how many transactions it holds (the miner's refresh
	// tick, asynchronously: the answer comes back as a mempoolSizeResponse message).
	mempoolSizeRequest  struct{}
	mempoolSizeResponse struct{ Size int }

	mempoolTxRequest  struct{ Hashes []chainstate.Hash }
	mempoolTxResponse struct{ Txs []*chainstate.Tx } // nil where not pending

	mempoolHasRequest  struct{ Hashes []chainstate.Hash }
	mempoolHasResponse struct{ Has []bool }

	mempoolListRequest  struct{}
	mempoolListResponse struct{ Hashes []chainstate.Hash }

	persistTimeout struct{ ID uint64 }
)

// persistDeadline bounds one group commit; past it the waiting submitters get ErrUnavailable (the
// storage actor was killed and dropped the request, or the disk hangs) and the next batch goes.
// A commit that still lands later is not lost: its reply brings the transactions back into the
// pool, and they are in the store.
const persistDeadline = 3 * time.Second

// mempoolActor keeps the pending transactions (txPool) and makes them durable with group commit:
// transactions that arrive while a commit is in flight are gathered and written by the next one,
// and each submitter is answered only after the commit that holds its transaction. It restarts by
// reloading the mempool bucket.
//
// Replace-by-fee: a transaction with the sender and nonce of a pending one and a fee
// mempool.replace_fee_bump_percent higher (txPool.check) takes its place in the pool at once; every
// add of a group commit takes its sender's nonce slot in the store (Store.CommitMempool), so the
// commit that makes the replacement durable removes the old one in the same write. The node's
// replacedLog remembers the pair for GET /v1/txs.
type mempoolActor struct {
	d          mempoolDeps
	pool       *txpool.Pool
	seq        uint64
	batch      []pendingSubmit
	inflight   map[uint64][]pendingSubmit
	started    map[uint64]time.Time
	timers     map[uint64]*time.Timer
	committing bool
}

type pendingSubmit struct {
	tx     *chainstate.Tx
	hash   chainstate.Hash
	reply  *actor.PID
	source string
	// replaces is the transaction tx replaced in the pool (replace-by-fee), nil if none; it is
	// put back when tx's commit fails and the store still holds it.
	replaces *chainstate.Tx
	// replaced is set when a later transaction replaced this one before its commit answered: it
	// is still written (the replacement's commit, the same or a later one, removes it) and its
	// submitter is acknowledged, but it is not relayed.
	replaced bool
}

func newMempoolActor(d mempoolDeps) *mempoolActor {
	return &mempoolActor{
		d:        d,
		pool:     txpool.New(d.cfg.MaxTxs, d.cfg.ReplaceFeeBumpPercent),
		inflight: map[uint64][]pendingSubmit{},
		started:  map[uint64]time.Time{},
		timers:   map[uint64]*time.Timer{},
	}
}

func (m *mempoolActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if err := m.load(ctx); err != nil {
			panic(fmt.Errorf("mempool: load: %w", err))
		}
	case *actor.Stopping, *actor.Restarting:
		for id, t := range m.timers {
			t.Stop()
			delete(m.timers, id)
		}
	case *submitTxRequest:
		m.submit(ctx, msg)
	case *persistMempoolResponse:
		m.persisted(ctx, msg.ID, msg.Add, msg.Reply, msg.Skipped, msg.Err)
	case *persistTimeout:
		if _, ok := m.inflight[msg.ID]; ok {
			m.persisted(ctx, msg.ID, nil, nil, nil, fmt.Errorf("mempool commit did not finish within %s", persistDeadline))
		}
	case *chainUpdate:
		m.chainUpdate(ctx, msg)
	case *selectTxsRequest:
		ctx.Respond(&selectTxsResponse{Txs: m.selectTxs(msg.Max), Size: m.pool.Len()})
	case *mempoolSizeRequest:
		ctx.Respond(&mempoolSizeResponse{Size: m.pool.Len()})
	case *mempoolTxRequest:
		txs := make([]*chainstate.Tx, len(msg.Hashes))
		for i, h := range msg.Hashes {
			txs[i] = m.pool.Get(h)
		}
		ctx.Respond(&mempoolTxResponse{Txs: txs})
	case *mempoolHasRequest:
		// A replaced transfer counts as known: a peer that still relays it is not asked for it
		// (it would be refused as fee_too_low).
		has := make([]bool, len(msg.Hashes))
		for i, h := range msg.Hashes {
			_, replaced := m.d.replaced.lookup(h)
			has[i] = m.pool.Has(h) || replaced
		}
		ctx.Respond(&mempoolHasResponse{Has: has})
	case *mempoolListRequest:
		ctx.Respond(&mempoolListResponse{Hashes: m.pool.Hashes()})
	case *compactMatchRequest:
		ctx.Respond(m.compactMatch(msg))
	}
}

func (m *mempoolActor) load(ctx actor.Context) error {
	s, err := m.d.waitStore(10 * time.Second)
	if err != nil {
		return err
	}
	txs, err := s.MempoolTxs()
	if err != nil {
		return err
	}
	// Per sender in nonce order, so arrival order (the fee tie-break) is stable across restarts.
	// Two transactions with one sender and nonce (a reorg returned one beside a pending one and
	// the node stopped before it chose) keep the higher fee: it is added last and takes the slot.
	sort.Slice(txs, func(i, j int) bool {
		a, b := txs[i].Sender(), txs[j].Sender()
		if a != b {
			return string(a[:]) < string(b[:])
		}
		if txs[i].Nonce != txs[j].Nonce {
			return txs[i].Nonce < txs[j].Nonce
		}
		return txs[i].Fee < txs[j].Fee
	})
	for _, tx := range txs {
		h := tx.Hash()
		m.d.sigs.Add(h) // verified before it was first stored
		m.seq++
		m.pool.Add(tx, h, m.seq)
	}
	var losers []chainstate.Hash
	for _, tx := range txs {
		if h := tx.Hash(); !m.pool.Has(h) {
			losers = append(losers, h)
		}
	}
	if len(losers) > 0 {
		ctx.Request(m.d.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: losers})
	}
	m.pruneSenders(ctx, m.pool.Senders())
	m.publishSize()
	if len(txs) > 0 {
		m.d.log.Info("mempool loaded", "actor", nameMempool, "txs", m.pool.Len())
	}
	return nil
}

func (m *mempoolActor) submit(ctx actor.Context, req *submitTxRequest) {
	if err := m.d.storageUnavailable(); err != nil {
		ctx.Respond(&submitTxResponse{Err: err}) // it could not be made durable
		return
	}
	s, err := m.d.store()
	if err != nil {
		ctx.Respond(&submitTxResponse{Err: err})
		return
	}
	acc, err := s.Account(req.Tx.Sender())
	if err != nil {
		ctx.Respond(&submitTxResponse{Err: unavailable(err)})
		return
	}
	old, rej := m.pool.Check(req.Tx, req.Hash, acc)
	if rej != nil && rej.Detail == errcode.NonceGap {
		// The store can be ahead of the pool: a reorg's write has put the sender's transfers
		// back in the mempool bucket and its chain update has not reached this actor yet (the
		// account read above is after the reorg, the pool before it). The gap is measured
		// against the durable mempool too, read with the account in one transaction.
		if acc2, stored, err := s.AccountPending(req.Tx.Sender()); err == nil {
			old, rej = m.pool.CheckPending(req.Tx, req.Hash, acc2, stored)
		}
	}
	if rej != nil {
		ctx.Respond(&submitTxResponse{Err: rej})
		return
	}
	p := pendingSubmit{tx: req.Tx, hash: req.Hash, reply: ctx.Sender(), source: req.Source}
	m.seq++
	m.pool.Add(req.Tx, req.Hash, m.seq) // takes old's slot
	if old != nil {
		// Replace-by-fee: the commit that holds the new transaction removes old in the same
		// write (every add of a group commit takes its sender's nonce slot).
		p.replaces = old.Tx
		m.markReplaced(old.Hash)
		m.d.replaced.record(old.Hash, req.Hash)
		m.d.log.Debug("transfer replaced", "actor", nameMempool, "old", old.Hash, "new", req.Hash, "nonce", req.Tx.Nonce, "fee", req.Tx.Fee)
	}
	m.publishSize()
	m.batch = append(m.batch, p)
	if !m.committing {
		m.flush(ctx)
	}
}

// markReplaced flags the gathered or committing submission of h, which a replacement just took
// out of the pool.
func (m *mempoolActor) markReplaced(h chainstate.Hash) {
	for i := range m.batch {
		if m.batch[i].hash == h {
			m.batch[i].replaced = true
		}
	}
	for _, b := range m.inflight {
		for i := range b {
			if b[i].hash == h {
				b[i].replaced = true
			}
		}
	}
}

// uncommitted reports whether h is gathered or committing: its commit has not answered yet.
func (m *mempoolActor) uncommitted(h chainstate.Hash) bool {
	for _, p := range m.batch {
		if p.hash == h {
			return true
		}
	}
	for _, b := range m.inflight {
		for _, p := range b {
			if p.hash == h {
				return true
			}
		}
	}
	return false
}

// flush starts the commit of everything gathered since the last one. A gathered transaction that
// left the pool before its commit started (mined from memory, or pruned) is settled at once and
// not written; one that a replacement took out is written, and its replacement, later in the
// same batch, removes it in the same write.
func (m *mempoolActor) flush(ctx actor.Context) {
	batch := m.batch[:0:0]
	for _, p := range m.batch {
		if m.pool.Has(p.hash) || p.replaced {
			batch = append(batch, p)
			continue
		}
		reply, _ := m.settleGone(p)
		m.refused(p, reply)
		ctx.Send(p.reply, reply)
	}
	m.batch = nil
	if len(batch) == 0 {
		return
	}
	// Commit ids are unique across restarts of this actor: a reply to a predecessor's commit must
	// never be taken for one of this instance's (which would acknowledge transfers not yet
	// durable).
	id := m.d.commits.Add(1)
	m.inflight[id] = batch
	m.started[id] = time.Now()
	m.committing = true
	add := make([]*chainstate.Tx, len(batch))
	reply := make([]*actor.PID, len(batch))
	for i, p := range batch {
		add[i], reply[i] = p.tx, p.reply
	}
	ctx.Request(m.d.pid(nameStorage), &persistMempoolRequest{ID: id, Add: add, Reply: reply})
	self, root := ctx.Self(), ctx.ActorSystem().Root
	m.timers[id] = time.AfterFunc(persistDeadline, func() { root.Send(self, &persistTimeout{ID: id}) })
}

// settleGone answers the submitter of a transaction that left the pool while it waited for its
// commit: a block confirmed it (mined from memory: durable, so acknowledged), or a connect made
// it unminable (pruned: refused as it would have been on arrival). remove is true when the
// mempool bucket may hold it and must not (the store itself never adds a confirmed one).
func (m *mempoolActor) settleGone(p pendingSubmit) (reply *submitTxResponse, remove bool) {
	s, err := m.d.store()
	if err != nil {
		return &submitTxResponse{Err: err}, true
	}
	st, ok, err := s.TxState(p.hash)
	if err != nil {
		return &submitTxResponse{Err: unavailable(err)}, true
	}
	if ok && st.Confirmed {
		return &submitTxResponse{}, false
	}
	acc, err := s.Account(p.tx.Sender())
	if err != nil {
		return &submitTxResponse{Err: unavailable(err)}, true
	}
	if p.tx.Nonce < acc.Nonce {
		return &submitTxResponse{Err: &errcode.Error{Code: errcode.BadNonce, Detail: errcode.NonceUsed, Reason: fmt.Sprintf("nonce %d was used by another transaction meanwhile (account nonce is %d)", p.tx.Nonce, acc.Nonce)}}, true
	}
	return &submitTxResponse{Err: &errcode.Error{Code: errcode.InsufficientFunds, Reason: fmt.Sprintf("balance %d no longer covers the sender's pending transactions", acc.Balance)}}, true
}

// persisted answers the submitters of commit id. A reply for a commit this instance did not start
// (it was started before a restart, or its wait timed out) still carries durable transactions:
// they join the pool, and their submitters, echoed in the reply, get their acknowledgement.
// skipped lists the transactions the store did not write because their nonce was used meanwhile.
func (m *mempoolActor) persisted(ctx actor.Context, id uint64, add []*chainstate.Tx, reply []*actor.PID, skipped []chainstate.Hash, err error) {
	if t := m.timers[id]; t != nil {
		t.Stop()
		delete(m.timers, id)
	}
	gone := make(map[chainstate.Hash]bool, len(skipped))
	for _, h := range skipped {
		gone[h] = true
	}
	waiters, mine := m.inflight[id]
	if !mine {
		if err == nil && id != 0 {
			m.lateCommit(ctx, add, reply, gone)
		}
		return
	}
	delete(m.inflight, id)
	m.d.log.Debug("mempool commit", "actor", nameMempool, "id", id, "txs", len(waiters), "took", time.Since(m.started[id]), "err", err)
	delete(m.started, id)
	m.committing = false
	relay, stale := m.answerWaiters(ctx, waiters, gone, err)
	if len(stale) > 0 {
		ctx.Request(m.d.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: stale})
	}
	for src, hs := range relay {
		ctx.Send(m.d.pid(namePeers), &announce{Kind: invTx, Hashes: hs, Source: src})
	}
	if err != nil {
		m.d.log.Warn("mempool commit failed", "actor", nameMempool, "txs", len(waiters), "err", err)
		m.publishSize()
	}
	m.flush(ctx)
}

// answerWaiters answers the submitters of a commit that ended with err, in which the store did
// not write the transactions gone. It returns the transactions written, to relay, by their
// source, and those written but gone from the pool meanwhile, to remove from the store.
func (m *mempoolActor) answerWaiters(ctx actor.Context, waiters []pendingSubmit, gone map[chainstate.Hash]bool, err error) (relay map[string][]chainstate.Hash, stale []chainstate.Hash) {
	relay = map[string][]chainstate.Hash{}
	for _, w := range waiters {
		if err != nil || gone[w.hash] {
			m.pool.Remove(w.hash)
			r := &submitTxResponse{Err: commitError(err)}
			if err == nil {
				r, _ = m.settleGone(w) // not written: its nonce was used meanwhile
			}
			m.refused(w, r)
			ctx.Send(w.reply, r)
			continue
		}
		if w.replaced { // written, and replaced by this or a later commit
			ctx.Send(w.reply, &submitTxResponse{})
			m.restore(w.tx) // its replacement left the pool before taking its slot in the store
			continue
		}
		if !m.pool.Has(w.hash) { // mined or pruned while its commit ran: the bucket must not keep it
			r, remove := m.settleGone(w)
			if remove {
				stale = append(stale, w.hash)
			}
			m.refused(w, r)
			ctx.Send(w.reply, r)
			continue
		}
		ctx.Send(w.reply, &submitTxResponse{})
		relay[w.source] = append(relay[w.source], w.hash)
	}
	return relay, stale
}

// refused undoes what admitting p recorded when its submitter gets an error (res.Err): it
// replaced nothing (the transaction it was to replace goes back into the pool if the store kept
// it), and it is not reported replaced (it was never pending).
func (m *mempoolActor) refused(p pendingSubmit, res *submitTxResponse) {
	if res.Err == nil {
		return
	}
	m.d.replaced.drop(p.hash)
	if p.replaces != nil {
		m.d.replaced.forget(p.replaces.Hash(), p.hash)
		m.restore(p.replaces)
	}
}

// lateCommit takes in a commit this instance did not start. Every add of a group commit took its
// sender's nonce slot in the store; a slot the pool gave meanwhile to a transaction whose own
// commit has not answered yet stays with it (that commit, later, takes the slot in the store).
func (m *mempoolActor) lateCommit(ctx actor.Context, add []*chainstate.Tx, reply []*actor.PID, skipped map[chainstate.Hash]bool) {
	for i, tx := range add {
		h := tx.Hash()
		var r *actor.PID
		if i < len(reply) {
			r = reply[i]
		}
		if skipped[h] {
			if r != nil {
				res, _ := m.settleGone(pendingSubmit{tx: tx, hash: h})
				ctx.Send(r, res)
			}
			continue
		}
		if r != nil {
			ctx.Send(r, &submitTxResponse{})
		}
		if m.pool.Has(h) {
			continue
		}
		occ := m.pool.Slot(tx.Sender(), tx.Nonce)
		if occ != nil && m.uncommitted(occ.Hash) {
			m.d.replaced.record(h, occ.Hash)
			continue
		}
		if occ != nil {
			m.d.replaced.record(occ.Hash, h)
		}
		m.seq++
		m.pool.Add(tx, h, m.seq)
	}
	m.pruneSenders(ctx, sendersOf(add))
	m.publishSize()
}

// restore puts tx back into the pool when the store holds it pending and the pool has nothing
// at its sender and nonce: the replacement that took it out was not made durable.
func (m *mempoolActor) restore(tx *chainstate.Tx) {
	h := tx.Hash()
	if m.pool.Has(h) || m.pool.Slot(tx.Sender(), tx.Nonce) != nil {
		return
	}
	s, err := m.d.store()
	if err != nil {
		return // taken on the next start
	}
	st, ok, err := s.TxState(h)
	if err != nil || !ok || st.Confirmed {
		return
	}
	m.seq++
	m.pool.Add(tx, h, m.seq)
	m.publishSize()
}

func sendersOf(txs []*chainstate.Tx) []chainstate.Address {
	seen := map[chainstate.Address]bool{}
	var out []chainstate.Address
	for _, tx := range txs {
		if a := tx.Sender(); !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// chainUpdate drops what the new main chain mined, takes back what a reorg returned (the store has
// already updated the mempool bucket in the same transaction), and prunes what can no longer be
// mined.
func (m *mempoolActor) chainUpdate(ctx actor.Context, u *chainUpdate) {
	returned := u.Returned
	if u.Resync {
		returned = m.bucketTxs()
	}
	if m.pool.Len() == 0 && len(returned) == 0 {
		// Nothing pending (a node that syncs, or an idle one): the blocks can remove, replace or
		// make unminable nothing here, so their transfers are not hashed again (two SHA-256 each:
		// 2.6% of a syncing process's CPU).
		m.publishSize()
		return
	}
	touched := map[chainstate.Address]bool{}
	for _, b := range u.Connected {
		for _, tx := range b.Txs {
			h := tx.Hash()
			m.pool.Remove(h)
			touched[tx.Sender()] = true
			// Another transfer pending with this sender and nonce (a replacement that came after
			// the block's transfer left here, or arrived while the block was connected) is
			// pruned below; it is reported replaced by the confirmed one, which won the slot.
			if occ := m.pool.Slot(tx.Sender(), tx.Nonce); occ != nil {
				m.d.replaced.record(occ.Hash, h)
			}
		}
	}
	var back, losers []chainstate.Hash
	for _, tx := range returned {
		h := tx.Hash()
		touched[tx.Sender()] = true
		if m.pool.Has(h) {
			continue
		}
		// A returned transaction whose sender and nonce are pending in another (a replacement of
		// it, or a transfer sent while it was mined) competes with that one: the higher fee stays
		// (the pending one on equal fees, and always one whose commit has not answered yet: that
		// commit takes the slot in the store), and the other leaves the store.
		if occ := m.pool.Slot(tx.Sender(), tx.Nonce); occ != nil {
			if m.uncommitted(occ.Hash) || occ.Tx.Fee >= tx.Fee {
				losers = append(losers, h)
				m.d.replaced.record(h, occ.Hash)
				continue
			}
			losers = append(losers, occ.Hash)
			m.d.replaced.record(occ.Hash, h)
		}
		m.seq++
		m.pool.Add(tx, h, m.seq)
		back = append(back, h)
	}
	if len(losers) > 0 {
		ctx.Request(m.d.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: losers})
	}
	if len(back) > 0 {
		// Announced again, so that miners elsewhere get them.
		ctx.Send(m.d.pid(namePeers), &announce{Kind: invTx, Hashes: back})
	}
	senders := make([]chainstate.Address, 0, len(touched))
	for a := range touched {
		senders = append(senders, a)
	}
	m.pruneSenders(ctx, senders)
	m.publishSize()
}

// bucketTxs returns the mempool bucket's transactions (nil when the store cannot be read: they
// are then taken on the next start).
func (m *mempoolActor) bucketTxs() []*chainstate.Tx {
	s, err := m.d.store()
	if err != nil {
		return nil
	}
	txs, err := s.MempoolTxs()
	if err != nil {
		m.d.log.Warn("mempool: cannot read the mempool bucket to take back a reorg's transactions", "actor", nameMempool, "err", err)
		return nil
	}
	return txs
}

// pruneSenders removes what the senders' committed accounts make unminable, from memory and from
// the store.
func (m *mempoolActor) pruneSenders(ctx actor.Context, senders []chainstate.Address) {
	s, err := m.d.store()
	if err != nil {
		return // pruned on the next update or reload
	}
	var gone []chainstate.Hash
	for _, a := range senders {
		acc, err := s.Account(a)
		if err != nil {
			return
		}
		gone = append(gone, m.pool.Prune(a, acc)...)
	}
	if len(gone) > 0 {
		ctx.Request(m.d.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: gone})
	}
}

func (m *mempoolActor) selectTxs(max int) []*chainstate.Tx {
	s, err := m.d.store()
	if err != nil {
		return nil
	}
	return m.pool.Select(max, func(a chainstate.Address) uint64 {
		acc, err := s.Account(a)
		if err != nil {
			return ^uint64(0)
		}
		return acc.Nonce
	})
}

func (m *mempoolActor) publishSize() {
	m.d.size.Set(float64(m.pool.Len()))
}
