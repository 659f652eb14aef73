package actors

import (
	"container/heap"
	"fmt"
	"sort"

	"github.com/actorchain/actorchain/chainstate"
)

// txPool is the mempool's pure core: pending transactions in per-sender nonce queues, taken for
// blocks in fee order across senders and nonce order within one. It does no IO; the account state
// it needs comes in as arguments.
type txPool struct {
	max      int
	byHash   map[chainstate.Hash]*poolTx
	bySender map[chainstate.Address]*senderQueue
}

type poolTx struct {
	tx     *chainstate.Tx
	hash   chainstate.Hash
	sender chainstate.Address
	cost   uint64
	seq    uint64
}

type senderQueue struct {
	byNonce map[uint64]*poolTx
	cost    uint64 // sum of the queued txs' amount + fee
	// run memoises pendingNonce: every nonce in [runLo, runHi) is queued (none when equal), so a
	// query from inside it resumes at runHi instead of walking the whole queue again. Adding
	// keeps it true; remove shrinks it.
	runLo, runHi uint64
}

// maxNonceGap bounds how far past its pending nonce (the end of its executable run) a sender may
// queue a transaction: concurrent submissions may arrive out of order, but nobody can park many
// transactions that cannot be mined.
const maxNonceGap = 256

func newTxPool(max int) *txPool {
	return &txPool{max: max, byHash: map[chainstate.Hash]*poolTx{}, bySender: map[chainstate.Address]*senderQueue{}}
}

func (p *txPool) len() int { return len(p.byHash) }

func (p *txPool) get(h chainstate.Hash) *chainstate.Tx {
	if t := p.byHash[h]; t != nil {
		return t.tx
	}
	return nil
}

func (p *txPool) has(h chainstate.Hash) bool { _, ok := p.byHash[h]; return ok }

// pendingNonce is the nonce the sender's next transaction should carry: the committed nonce plus
// the run of consecutive queued nonces that follows it.
//
// NB: without the memo this walked the sender's whole queue on every check, so ingest slowed
// down as a sender's queue grew (quadratic in its length); perf's scale-ingest rows show it.
func (p *txPool) pendingNonce(a chainstate.Address, committed uint64) uint64 {
	q := p.bySender[a]
	if q == nil {
		return committed
	}
	n, inRun := committed, q.runLo <= committed && committed <= q.runHi
	if inRun {
		n = q.runHi // [committed, runHi) is queued
	}
	for q.byNonce[n] != nil {
		n++
	}
	if !inRun {
		q.runLo = committed
	}
	q.runHi = n
	return n
}

// check decides whether tx (already checked statelessly) may enter the pool given its sender's
// committed account.
func (p *txPool) check(tx *chainstate.Tx, h chainstate.Hash, acc chainstate.Account) *TxRejected {
	if p.has(h) {
		return &TxRejected{Code: "duplicate", Reason: fmt.Sprintf("transaction %s is already pending", h)}
	}
	if p.len() >= p.max {
		return &TxRejected{Code: "mempool_full", Reason: fmt.Sprintf("mempool is full (%d transactions)", p.max)}
	}
	if tx.Nonce < acc.Nonce {
		return &TxRejected{Code: "bad_nonce", Reason: fmt.Sprintf("nonce %d is already used (account nonce is %d)", tx.Nonce, acc.Nonce)}
	}
	sender := tx.Sender()
	if pending := p.pendingNonce(sender, acc.Nonce); tx.Nonce >= pending+maxNonceGap {
		return &TxRejected{Code: "bad_nonce", Reason: fmt.Sprintf("nonce %d is too far ahead of the next pending nonce %d (at most %d ahead)", tx.Nonce, pending, maxNonceGap-1)}
	}
	q := p.bySender[sender]
	if q != nil && q.byNonce[tx.Nonce] != nil {
		return &TxRejected{Code: "bad_nonce", Reason: fmt.Sprintf("another transaction with nonce %d is already pending for %s", tx.Nonce, sender)}
	}
	cost, ok := tx.Cost()
	if !ok {
		return &TxRejected{Code: "malformed", Reason: "amount + fee overflows"}
	}
	queued := uint64(0)
	if q != nil {
		queued = q.cost
	}
	if queued+cost < queued || queued+cost > acc.Balance {
		return &TxRejected{Code: "insufficient_funds", Reason: fmt.Sprintf("balance %d does not cover %d pending plus %d", acc.Balance, queued, cost)}
	}
	return nil
}

// add inserts tx without checks (check first; reloads and reorgs add what was valid before).
func (p *txPool) add(tx *chainstate.Tx, h chainstate.Hash, seq uint64) {
	if p.has(h) {
		return
	}
	cost, _ := tx.Cost()
	t := &poolTx{tx: tx, hash: h, sender: tx.Sender(), cost: cost, seq: seq}
	q := p.bySender[t.sender]
	if q == nil {
		q = &senderQueue{byNonce: map[uint64]*poolTx{}}
		p.bySender[t.sender] = q
	}
	if old := q.byNonce[tx.Nonce]; old != nil {
		p.remove(old.hash)
		if q = p.bySender[t.sender]; q == nil {
			q = &senderQueue{byNonce: map[uint64]*poolTx{}}
			p.bySender[t.sender] = q
		}
	}
	q.byNonce[tx.Nonce] = t
	q.cost += cost
	p.byHash[h] = t
}

func (p *txPool) remove(h chainstate.Hash) bool {
	t := p.byHash[h]
	if t == nil {
		return false
	}
	delete(p.byHash, h)
	q := p.bySender[t.sender]
	n := t.tx.Nonce
	delete(q.byNonce, n)
	if q.runLo <= n && n < q.runHi { // keep the part of the run a later query most likely starts in
		if n == q.runLo {
			q.runLo = n + 1 // mined from the bottom
		} else {
			q.runHi = n
		}
	}
	q.cost -= t.cost
	if len(q.byNonce) == 0 {
		delete(p.bySender, t.sender)
	}
	return true
}

// prune drops the transactions of sender that can never be mined against acc: nonces below the
// committed nonce, and, from the highest nonce down, what the balance no longer covers. It returns
// the hashes it removed.
func (p *txPool) prune(sender chainstate.Address, acc chainstate.Account) []chainstate.Hash {
	q := p.bySender[sender]
	if q == nil {
		return nil
	}
	var gone []chainstate.Hash
	for n, t := range q.byNonce {
		if n < acc.Nonce {
			gone = append(gone, t.hash)
		}
	}
	for _, h := range gone {
		p.remove(h)
	}
	if q = p.bySender[sender]; q != nil && q.cost > acc.Balance {
		nonces := make([]uint64, 0, len(q.byNonce))
		for n := range q.byNonce {
			nonces = append(nonces, n)
		}
		sort.Slice(nonces, func(i, j int) bool { return nonces[i] > nonces[j] })
		for _, n := range nonces {
			if q.cost <= acc.Balance {
				break
			}
			h := q.byNonce[n].hash
			p.remove(h)
			gone = append(gone, h)
		}
	}
	return gone
}

// senders returns every sender with queued transactions.
func (p *txPool) senders() []chainstate.Address {
	out := make([]chainstate.Address, 0, len(p.bySender))
	for a := range p.bySender {
		out = append(out, a)
	}
	return out
}

// selectTxs returns up to max transactions that can be mined in order: for each sender the run of
// consecutive nonces starting at its committed nonce, interleaved across senders by fee (highest
// first; earlier arrival on equal fees).
func (p *txPool) selectTxs(max int, committedNonce func(chainstate.Address) uint64) []*chainstate.Tx {
	h := &feeHeap{}
	next := map[chainstate.Address]uint64{}
	for a, q := range p.bySender {
		n := committedNonce(a)
		if t := q.byNonce[n]; t != nil {
			heap.Push(h, t)
			next[a] = n + 1
		}
	}
	out := make([]*chainstate.Tx, 0, min(max, len(p.byHash)))
	for h.Len() > 0 && len(out) < max {
		t := heap.Pop(h).(*poolTx)
		out = append(out, t.tx)
		n := next[t.sender]
		if nt := p.bySender[t.sender].byNonce[n]; nt != nil {
			heap.Push(h, nt)
			next[t.sender] = n + 1
		}
	}
	return out
}

// hashes lists every pending transaction's hash, in selection order first, then the rest by
// arrival.
func (p *txPool) hashes() []chainstate.Hash {
	all := make([]*poolTx, 0, len(p.byHash))
	for _, t := range p.byHash {
		all = append(all, t)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]chainstate.Hash, len(all))
	for i, t := range all {
		out[i] = t.hash
	}
	return out
}

type feeHeap []*poolTx

func (h feeHeap) Len() int { return len(h) }
func (h feeHeap) Less(i, j int) bool {
	if h[i].tx.Fee != h[j].tx.Fee {
		return h[i].tx.Fee > h[j].tx.Fee
	}
	return h[i].seq < h[j].seq
}
func (h feeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *feeHeap) Push(x any)   { *h = append(*h, x.(*poolTx)) }
func (h *feeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
