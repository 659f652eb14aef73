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

	pendingNonceRequest struct {
		Addr      chainstate.Address
		Committed uint64
	}
	pendingNonceResponse struct{ Nonce uint64 }

	mempoolTxRequest  struct{ Hash chainstate.Hash }
	mempoolTxResponse struct{ Tx *chainstate.Tx }

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
	nextID     uint64
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
	case *pendingNonceRequest:
		ctx.Respond(&pendingNonceResponse{Nonce: m.pool.pendingNonce(msg.Addr, msg.Committed)})
	case *mempoolTxRequest:
		ctx.Respond(&mempoolTxResponse{Tx: m.pool.get(msg.Hash)})
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

// flush starts the commit of everything gathered since the last one.
func (m *mempoolActor) flush(ctx actor.Context) {
	if len(m.batch) == 0 {
		return
	}
	m.nextID++
	id := m.nextID
	batch := m.batch
	m.batch = nil
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
			m.publishSize()
		}
		return
	}
	delete(m.inflight, id)
	m.n.log.Debug("mempool commit", "actor", nameMempool, "txs", len(waiters), "took", time.Since(m.started[id]), "err", err)
	delete(m.started, id)
	m.committing = false
	relay := map[string][]chainstate.Hash{}
	for _, w := range waiters {
		if err != nil {
			m.pool.remove(w.hash)
			ctx.Send(w.reply, &submitTxResponse{Err: commitError(err)})
			continue
		}
		ctx.Send(w.reply, &submitTxResponse{})
		relay[w.source] = append(relay[w.source], w.hash)
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
	var back []chainstate.Hash
	for _, tx := range u.Returned {
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
