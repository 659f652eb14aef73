package actors

import (
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
)

type (
	submitTxRequest struct {
		Tx     *chainstate.Tx
		Hash   chainstate.Hash
		Source string // peer id the tx came from ("" local); not relayed back to it
	}
	submitTxResponse struct{ Err error }

	selectTxsRequest  struct{ Max int }
	selectTxsResponse struct{ Txs []*chainstate.Tx }

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
type mempoolActor struct {
	n          *Node
	pool       *txPool
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
}

func newMempoolActor(n *Node) *mempoolActor {
	return &mempoolActor{
		n:        n,
		pool:     newTxPool(n.cfg.Mempool.MaxTxs),
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
		m.persisted(ctx, msg.ID, msg.Add, msg.Reply, msg.Err)
	case *persistTimeout:
		if _, ok := m.inflight[msg.ID]; ok {
			m.persisted(ctx, msg.ID, nil, nil, fmt.Errorf("mempool commit did not finish within %s", persistDeadline))
		}
	case *chainUpdate:
		m.chainUpdate(ctx, msg)
	case *selectTxsRequest:
		ctx.Respond(&selectTxsResponse{Txs: m.selectTxs(msg.Max)})
	case *mempoolTxRequest:
		txs := make([]*chainstate.Tx, len(msg.Hashes))
		for i, h := range msg.Hashes {
			txs[i] = m.pool.get(h)
		}
		ctx.Respond(&mempoolTxResponse{Txs: txs})
	case *mempoolHasRequest:
		has := make([]bool, len(msg.Hashes))
		for i, h := range msg.Hashes {
			has[i] = m.pool.has(h)
		}
		ctx.Respond(&mempoolHasResponse{Has: has})
	case *mempoolListRequest:
		ctx.Respond(&mempoolListResponse{Hashes: m.pool.hashes()})
	}
}

func (m *mempoolActor) load(ctx actor.Context) error {
	s, err := m.n.handle.wait(10 * time.Second)
	if err != nil {
		return err
	}
	txs, err := s.MempoolTxs()
	if err != nil {
		return err
	}
	// Per sender in nonce order, so arrival order (the fee tie-break) is stable across restarts.
	sort.Slice(txs, func(i, j int) bool {
		a, b := txs[i].Sender(), txs[j].Sender()
		if a != b {
			return string(a[:]) < string(b[:])
		}
		return txs[i].Nonce < txs[j].Nonce
	})
	for _, tx := range txs {
		h := tx.Hash()
		m.n.sigs.Add(h) // verified before it was first stored
		m.seq++
		m.pool.add(tx, h, m.seq)
	}
	m.pruneSenders(ctx, m.pool.senders())
	m.publishSize()
	if len(txs) > 0 {
		m.n.log.Info("mempool loaded", "actor", nameMempool, "txs", m.pool.len())
	}
	return nil
}

func (m *mempoolActor) submit(ctx actor.Context, req *submitTxRequest) {
	if err := m.n.storageUnavailable(); err != nil {
		ctx.Respond(&submitTxResponse{Err: err}) // it could not be made durable
		return
	}
	s, err := m.n.store()
	if err != nil {
		ctx.Respond(&submitTxResponse{Err: err})
		return
	}
	acc, err := s.Account(req.Tx.Sender())
	if err != nil {
		ctx.Respond(&submitTxResponse{Err: unavailable(err)})
		return
	}
	if rej := m.pool.check(req.Tx, req.Hash, acc); rej != nil {
		ctx.Respond(&submitTxResponse{Err: rej})
		return
	}
	m.seq++
	m.pool.add(req.Tx, req.Hash, m.seq)
	m.publishSize()
	m.batch = append(m.batch, pendingSubmit{tx: req.Tx, hash: req.Hash, reply: ctx.Sender(), source: req.Source})
	if !m.committing {
		m.flush(ctx)
	}
}

// flush starts the commit of everything gathered since the last one. A gathered transaction that
// left the pool before its commit started (mined from memory, or pruned) is settled at once and
// not written.
func (m *mempoolActor) flush(ctx actor.Context) {
	batch := m.batch[:0:0]
	for _, p := range m.batch {
		if m.pool.has(p.hash) {
			batch = append(batch, p)
			continue
		}
		reply, _ := m.settleGone(p)
		ctx.Send(p.reply, reply)
	}
	m.batch = nil
	if len(batch) == 0 {
		return
	}
	// Commit ids are unique across restarts of this actor: a reply to a predecessor's commit must
	// never be taken for one of this instance's (which would acknowledge transfers not yet
	// durable).
	id := m.n.mempoolCommits.Add(1)
	m.inflight[id] = batch
	m.started[id] = time.Now()
	m.committing = true
	add := make([]*chainstate.Tx, len(batch))
	reply := make([]*actor.PID, len(batch))
	for i, p := range batch {
		add[i], reply[i] = p.tx, p.reply
	}
	ctx.Request(m.n.pid(nameStorage), &persistMempoolRequest{ID: id, Add: add, Reply: reply})
	self, root := ctx.Self(), ctx.ActorSystem().Root
	m.timers[id] = time.AfterFunc(persistDeadline, func() { root.Send(self, &persistTimeout{ID: id}) })
}

// settleGone answers the submitter of a transaction that left the pool while it waited for its
// commit: a block confirmed it (mined from memory: durable, so acknowledged), or a connect made
// it unminable (pruned: refused as it would have been on arrival). remove is true when the
// mempool bucket may hold it and must not (the store itself never adds a confirmed one).
func (m *mempoolActor) settleGone(p pendingSubmit) (reply *submitTxResponse, remove bool) {
	s, err := m.n.store()
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
		return &submitTxResponse{Err: &TxRejected{Code: "bad_nonce", Reason: fmt.Sprintf("nonce %d was used by another transaction meanwhile (account nonce is %d)", p.tx.Nonce, acc.Nonce)}}, true
	}
	return &submitTxResponse{Err: &TxRejected{Code: "insufficient_funds", Reason: fmt.Sprintf("balance %d no longer covers the sender's pending transactions", acc.Balance)}}, true
}

// persisted answers the submitters of commit id. A reply for a commit this instance did not start
// (it was started before a restart) still carries durable transactions: they join the pool, and
// their submitters, echoed in the reply, get their acknowledgement.
func (m *mempoolActor) persisted(ctx actor.Context, id uint64, add []*chainstate.Tx, reply []*actor.PID, err error) {
	if t := m.timers[id]; t != nil {
		t.Stop()
		delete(m.timers, id)
	}
	waiters, mine := m.inflight[id]
	if !mine {
		if err == nil && id != 0 {
			for _, tx := range add {
				h := tx.Hash()
				if !m.pool.has(h) {
					m.seq++
					m.pool.add(tx, h, m.seq)
				}
			}
			for _, r := range reply {
				ctx.Send(r, &submitTxResponse{})
			}
			m.pruneSenders(ctx, sendersOf(add))
			m.publishSize()
		}
		return
	}
	delete(m.inflight, id)
	m.n.log.Debug("mempool commit", "actor", nameMempool, "id", id, "txs", len(waiters), "took", time.Since(m.started[id]), "err", err)
	delete(m.started, id)
	m.committing = false
	relay := map[string][]chainstate.Hash{}
	var stale []chainstate.Hash
	for _, w := range waiters {
		if err != nil {
			m.pool.remove(w.hash)
			ctx.Send(w.reply, &submitTxResponse{Err: commitError(err)})
			continue
		}
		if !m.pool.has(w.hash) { // mined or pruned while its commit ran: the bucket must not keep it
			r, remove := m.settleGone(w)
			if remove {
				stale = append(stale, w.hash)
			}
			ctx.Send(w.reply, r)
			continue
		}
		ctx.Send(w.reply, &submitTxResponse{})
		relay[w.source] = append(relay[w.source], w.hash)
	}
	if len(stale) > 0 {
		ctx.Request(m.n.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: stale})
	}
	for src, hs := range relay {
		ctx.Send(m.n.pid(namePeers), &announce{Kind: invTx, Hashes: hs, Source: src})
	}
	if err != nil {
		m.n.log.Warn("mempool commit failed", "actor", nameMempool, "txs", len(waiters), "err", err)
		m.publishSize()
	}
	m.flush(ctx)
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
	touched := map[chainstate.Address]bool{}
	for _, b := range u.Connected {
		for _, tx := range b.Txs {
			m.pool.remove(tx.Hash())
			touched[tx.Sender()] = true
		}
	}
	returned := u.Returned
	if u.Resync {
		returned = m.bucketTxs()
	}
	var back []chainstate.Hash
	for _, tx := range returned {
		h := tx.Hash()
		if !m.pool.has(h) {
			m.seq++
			m.pool.add(tx, h, m.seq)
			back = append(back, h)
		}
		touched[tx.Sender()] = true
	}
	if len(back) > 0 {
		// Announced again, so that miners elsewhere get them.
		ctx.Send(m.n.pid(namePeers), &announce{Kind: invTx, Hashes: back})
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
	s, err := m.n.store()
	if err != nil {
		return nil
	}
	txs, err := s.MempoolTxs()
	if err != nil {
		m.n.log.Warn("mempool: cannot read the mempool bucket to take back a reorg's transactions", "actor", nameMempool, "err", err)
		return nil
	}
	return txs
}

// pruneSenders removes what the senders' committed accounts make unminable, from memory and from
// the store.
func (m *mempoolActor) pruneSenders(ctx actor.Context, senders []chainstate.Address) {
	s, err := m.n.store()
	if err != nil {
		return // pruned on the next update or reload
	}
	var gone []chainstate.Hash
	for _, a := range senders {
		acc, err := s.Account(a)
		if err != nil {
			return
		}
		gone = append(gone, m.pool.prune(a, acc)...)
	}
	if len(gone) > 0 {
		ctx.Request(m.n.pid(nameStorage), &persistMempoolRequest{ID: 0, Remove: gone})
	}
}

func (m *mempoolActor) selectTxs(max int) []*chainstate.Tx {
	s, err := m.n.store()
	if err != nil {
		return nil
	}
	return m.pool.selectTxs(max, func(a chainstate.Address) uint64 {
		acc, err := s.Account(a)
		if err != nil {
			return ^uint64(0)
		}
		return acc.Nonce
	})
}

func (m *mempoolActor) publishSize() {
	n := m.pool.len()
	m.n.metrics.mempoolSize.Store(int64(n))
	m.n.metrics.mempool.Set(float64(n))
}
