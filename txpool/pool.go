package txpool

import (
	"container/heap"
	"fmt"
	"iter"
	"math/bits"
	"sort"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

// Pool is the mempool's pure core: pending transactions in per-sender nonce queues, taken for
// blocks in fee order across senders and nonce order within one. It does no IO; the account state
// it needs comes in as arguments.
type Pool struct {
	max      int
	bump     uint64 // replace-by-fee: the percent a replacement's fee must exceed the pending one's by
	byHash   map[chainstate.Hash]*Entry
	bySender map[chainstate.Address]*senderQueue
}

type Entry struct {
	Tx     *chainstate.Tx
	Hash   chainstate.Hash
	sender chainstate.Address
	cost   uint64
	seq    uint64
}

type senderQueue struct {
	byNonce map[uint64]*Entry
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

func New(maxTxs, bumpPercent int) *Pool {
	if bumpPercent < 1 {
		bumpPercent = 1
	}
	return &Pool{max: maxTxs, bump: uint64(bumpPercent), byHash: map[chainstate.Hash]*Entry{}, bySender: map[chainstate.Address]*senderQueue{}}
}

// MinReplaceFee is the lowest fee that replaces a pending transaction paying fee: fee plus
// bumpPercent of it rounded up, and at least fee + 1 (a zero fee is replaced by any positive one;
// an equal fee never replaces). ok is false when no uint64 fee is high enough.
func MinReplaceFee(fee, bumpPercent uint64) (min uint64, ok bool) {
	hi, lo := bits.Mul64(fee, bumpPercent)
	lo, carry := bits.Add64(lo, 99, 0)
	hi += carry
	if hi >= 100 {
		return 0, false
	}
	inc, _ := bits.Div64(hi, lo, 100)
	inc = max(inc, 1)
	if min, carry = bits.Add64(fee, inc, 0); carry != 0 {
		return 0, false
	}
	return min, true
}

// slot returns the pending transaction of sender with nonce, or nil.
func (p *Pool) Slot(sender chainstate.Address, nonce uint64) *Entry {
	if q := p.bySender[sender]; q != nil {
		return q.byNonce[nonce]
	}
	return nil
}

func (p *Pool) Len() int { return len(p.byHash) }

func (p *Pool) Get(h chainstate.Hash) *chainstate.Tx {
	if t := p.byHash[h]; t != nil {
		return t.Tx
	}
	return nil
}

func (p *Pool) Has(h chainstate.Hash) bool { _, ok := p.byHash[h]; return ok }

// pendingNonce is the nonce the sender's next transaction should carry: the committed nonce plus
// the run of consecutive queued nonces that follows it.
//
// NB: without the memo this walked the sender's whole queue on every check, so ingest slowed
// down as a sender's queue grew (quadratic in its length); perf's scale-ingest rows show it.
func (p *Pool) PendingNonce(a chainstate.Address, committed uint64) uint64 {
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
// committed account. A transaction with the sender and nonce of a pending one replaces it
// (replace-by-fee) when its fee is at least MinReplaceFee of the pending one's and the balance
// covers the sender's queue with the swap made: check then returns the one it replaces.
func (p *Pool) Check(tx *chainstate.Tx, h chainstate.Hash, acc chainstate.Account) (replaces *Entry, rej *errcode.Error) {
	return p.CheckPending(tx, h, acc, 0)
}

// CheckPending is Check with the sender's pending nonce at least stored: the pending nonce of
// the durable mempool, which can be ahead of the pool's while a reorg's returned transactions
// are on their way to it. The nonce gap is measured from the higher of the two.
func (p *Pool) CheckPending(tx *chainstate.Tx, h chainstate.Hash, acc chainstate.Account, stored uint64) (replaces *Entry, rej *errcode.Error) {
	if p.Has(h) {
		return nil, &errcode.Error{Code: errcode.Duplicate, Reason: fmt.Sprintf("transaction %s is already pending", h)}
	}
	sender := tx.Sender()
	old := p.Slot(sender, tx.Nonce)
	if old == nil && p.Len() >= p.max { // a replacement does not grow the pool
		return nil, &errcode.Error{Code: errcode.MempoolFull, Reason: fmt.Sprintf("mempool is full (%d transactions)", p.max)}
	}
	if tx.Nonce < acc.Nonce {
		return nil, &errcode.Error{Code: errcode.BadNonce, Detail: errcode.NonceUsed, Reason: fmt.Sprintf("nonce %d is already used (account nonce is %d)", tx.Nonce, acc.Nonce)}
	}
	if pending := max(p.PendingNonce(sender, acc.Nonce), stored); tx.Nonce >= pending+maxNonceGap {
		return nil, &errcode.Error{Code: errcode.BadNonce, Detail: errcode.NonceGap, Reason: fmt.Sprintf("nonce %d is too far ahead of the next pending nonce %d (at most %d ahead)", tx.Nonce, pending, maxNonceGap-1)}
	}
	if old != nil {
		min, ok := MinReplaceFee(old.Tx.Fee, p.bump)
		if !ok {
			return nil, &errcode.Error{Code: errcode.FeeTooLow, Reason: fmt.Sprintf("transaction %s with nonce %d is pending for %s with fee %d; no fee is %d%% higher, so it cannot be replaced", old.Hash, tx.Nonce, sender, old.Tx.Fee, p.bump)}
		}
		if tx.Fee < min {
			return nil, &errcode.Error{Code: errcode.FeeTooLow, Reason: fmt.Sprintf("transaction %s with nonce %d is pending for %s with fee %d; a replacement needs a fee of at least %d (%d%% more), got %d", old.Hash, tx.Nonce, sender, old.Tx.Fee, min, p.bump, tx.Fee)}
		}
	}
	cost, ok := tx.Cost()
	if !ok {
		return nil, &errcode.Error{Code: errcode.Malformed, Reason: "amount + fee overflows"}
	}
	queued := uint64(0)
	if q := p.bySender[sender]; q != nil {
		queued = q.cost
	}
	if old != nil {
		queued -= old.cost
	}
	if queued+cost < queued || queued+cost > acc.Balance {
		return nil, &errcode.Error{Code: errcode.InsufficientFunds, Reason: fmt.Sprintf("balance %d does not cover %d pending plus %d", acc.Balance, queued, cost)}
	}
	return old, nil
}

// add inserts tx without checks (check first; reloads and reorgs add what was valid before). A
// transaction pending with the same sender and nonce leaves the pool: a sender has at most one
// transaction per nonce.
func (p *Pool) Add(tx *chainstate.Tx, h chainstate.Hash, seq uint64) {
	if p.Has(h) {
		return
	}
	cost, _ := tx.Cost()
	t := &Entry{Tx: tx, Hash: h, sender: tx.Sender(), cost: cost, seq: seq}
	q := p.bySender[t.sender]
	if q == nil {
		q = &senderQueue{byNonce: map[uint64]*Entry{}}
		p.bySender[t.sender] = q
	}
	if old := q.byNonce[tx.Nonce]; old != nil {
		p.Remove(old.Hash)
		if q = p.bySender[t.sender]; q == nil {
			q = &senderQueue{byNonce: map[uint64]*Entry{}}
			p.bySender[t.sender] = q
		}
	}
	q.byNonce[tx.Nonce] = t
	q.cost += cost
	p.byHash[h] = t
}

func (p *Pool) Remove(h chainstate.Hash) bool {
	t := p.byHash[h]
	if t == nil {
		return false
	}
	delete(p.byHash, h)
	q := p.bySender[t.sender]
	n := t.Tx.Nonce
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
func (p *Pool) Prune(sender chainstate.Address, acc chainstate.Account) []chainstate.Hash {
	q := p.bySender[sender]
	if q == nil {
		return nil
	}
	var gone []chainstate.Hash
	for n, t := range q.byNonce {
		if n < acc.Nonce {
			gone = append(gone, t.Hash)
		}
	}
	for _, h := range gone {
		p.Remove(h)
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
			h := q.byNonce[n].Hash
			p.Remove(h)
			gone = append(gone, h)
		}
	}
	return gone
}

// senders returns every sender with queued transactions.
func (p *Pool) Senders() []chainstate.Address {
	out := make([]chainstate.Address, 0, len(p.bySender))
	for a := range p.bySender {
		out = append(out, a)
	}
	return out
}

// selectTxs returns up to max transactions that can be mined in order: for each sender the run of
// consecutive nonces starting at its committed nonce, interleaved across senders by fee (highest
// first; earlier arrival on equal fees).
func (p *Pool) Select(max int, committedNonce func(chainstate.Address) uint64) []*chainstate.Tx {
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
		t := heap.Pop(h).(*Entry)
		out = append(out, t.Tx)
		n := next[t.sender]
		if nt := p.bySender[t.sender].byNonce[n]; nt != nil {
			heap.Push(h, nt)
			next[t.sender] = n + 1
		}
	}
	return out
}

// All yields every pending transaction with its hash, in no particular order (the pool must not
// change while it runs).
func (p *Pool) All() iter.Seq2[chainstate.Hash, *chainstate.Tx] {
	return func(yield func(chainstate.Hash, *chainstate.Tx) bool) {
		for h, e := range p.byHash {
			if !yield(h, e.Tx) {
				return
			}
		}
	}
}

// Hashes lists every pending transaction's hash, in selection order first, then the rest by
// arrival.
func (p *Pool) Hashes() []chainstate.Hash {
	all := make([]*Entry, 0, len(p.byHash))
	for _, t := range p.byHash {
		all = append(all, t)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]chainstate.Hash, len(all))
	for i, t := range all {
		out[i] = t.Hash
	}
	return out
}

type feeHeap []*Entry

func (h feeHeap) Len() int { return len(h) }
func (h feeHeap) Less(i, j int) bool {
	if h[i].Tx.Fee != h[j].Tx.Fee {
		return h[i].Tx.Fee > h[j].Tx.Fee
	}
	return h[i].seq < h[j].seq
}
func (h feeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *feeHeap) Push(x any)   { *h = append(*h, x.(*Entry)) }
func (h *feeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
