package txpool

import (
	"crypto/ed25519"
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

func poolKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func poolTxOf(key ed25519.PrivateKey, nonce, amount, fee uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: "test", From: chainstate.PublicKey(key.Public().(ed25519.PublicKey)), Amount: amount, Fee: fee, Nonce: nonce}
	tx.To[0] = 9
	tx.Sign(key)
	return tx
}

func TestTxPoolAdmission(t *testing.T) {
	k := poolKey(1)
	acc := chainstate.Account{Balance: 100, Nonce: 3}
	tests := []struct {
		name  string
		setup []*chainstate.Tx
		tx    *chainstate.Tx
		max   int
		// stored is the durable mempool's pending nonce (CheckPending; 0: Check).
		stored uint64
		code   errcode.Code
		// detail is the refinement a bad_nonce must carry ("" for every other code).
		detail errcode.Code
	}{
		{name: "next nonce", tx: poolTxOf(k, 3, 10, 1)},
		{name: "future nonce within the gap", tx: poolTxOf(k, 10, 10, 1)},
		{name: "used nonce", tx: poolTxOf(k, 2, 10, 1), code: "bad_nonce", detail: errcode.NonceUsed},
		{name: "too far ahead", tx: poolTxOf(k, 3+maxNonceGap, 10, 1), code: "bad_nonce", detail: errcode.NonceGap},
		{name: "within the gap of the durable mempool", tx: poolTxOf(k, 3+maxNonceGap, 10, 1), stored: 10},
		{name: "too far ahead of the durable mempool", tx: poolTxOf(k, 10+maxNonceGap, 10, 1), stored: 10, code: "bad_nonce", detail: errcode.NonceGap},
		{name: "a durable mempool behind the pool", setup: []*chainstate.Tx{poolTxOf(k, 3, 1, 0), poolTxOf(k, 4, 1, 0)}, tx: poolTxOf(k, 4+maxNonceGap, 1, 1), stored: 3},
		{name: "same nonce pending, same fee", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 1)}, tx: poolTxOf(k, 3, 11, 1), code: "fee_too_low"},
		{name: "replacement 10% higher", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 20)}, tx: poolTxOf(k, 3, 11, 22)},
		{name: "replacement under 10% higher", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 20)}, tx: poolTxOf(k, 3, 11, 21), code: "fee_too_low"},
		{name: "replacement of a zero fee", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 0)}, tx: poolTxOf(k, 3, 10, 1)},
		{name: "replacement in a full pool", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 5)}, tx: poolTxOf(k, 3, 10, 6), max: 1},
		{name: "replacement counts the swap against the balance", setup: []*chainstate.Tx{poolTxOf(k, 3, 60, 10), poolTxOf(k, 4, 20, 0)}, tx: poolTxOf(k, 3, 69, 11)},
		{name: "replacement over the balance", setup: []*chainstate.Tx{poolTxOf(k, 3, 60, 10), poolTxOf(k, 4, 20, 0)}, tx: poolTxOf(k, 3, 70, 11), code: "insufficient_funds"},
		{name: "duplicate", setup: []*chainstate.Tx{poolTxOf(k, 3, 10, 1)}, tx: poolTxOf(k, 3, 10, 1), code: "duplicate"},
		{name: "over balance", tx: poolTxOf(k, 3, 100, 1), code: "insufficient_funds"},
		{name: "over balance with pending", setup: []*chainstate.Tx{poolTxOf(k, 3, 60, 0)}, tx: poolTxOf(k, 4, 40, 1), code: "insufficient_funds"},
		{name: "full", setup: []*chainstate.Tx{poolTxOf(k, 3, 1, 0)}, tx: poolTxOf(k, 4, 1, 0), max: 1, code: "mempool_full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = 100
			}
			p := New(max, 10)
			for i, s := range tc.setup {
				p.Add(s, s.Hash(), uint64(i))
			}
			_, rej := p.CheckPending(tc.tx, tc.tx.Hash(), acc, tc.stored)
			switch {
			case tc.code == "" && rej != nil:
				t.Fatalf("rejected %s: %s", rej.Code, rej.Reason)
			case tc.code != "" && rej == nil:
				t.Fatalf("accepted, want %s", tc.code)
			case tc.code != "" && rej.Code != tc.code:
				t.Fatalf("code %s (%s), want %s", rej.Code, rej.Reason, tc.code)
			case tc.code != "" && rej.Detail != tc.detail:
				t.Fatalf("code %s with detail %q (%s), want detail %q", rej.Code, rej.Detail, rej.Reason, tc.detail)
			}
		})
	}
}

func TestTxPoolSelectOrder(t *testing.T) {
	a, b := poolKey(1), poolKey(2)
	p := New(100, 10)
	txs := []*chainstate.Tx{
		poolTxOf(a, 1, 1, 1), // not executable before nonce 0 of a
		poolTxOf(a, 0, 1, 1),
		poolTxOf(b, 0, 1, 5),
		poolTxOf(b, 1, 1, 0),
		poolTxOf(a, 3, 1, 9), // gap: never selected
	}
	for i, tx := range txs {
		p.Add(tx, tx.Hash(), uint64(i))
	}
	got := p.Select(10, func(chainstate.Address) uint64 { return 0 })
	want := []*chainstate.Tx{txs[2], txs[1], txs[0], txs[3]}
	if len(got) != len(want) {
		t.Fatalf("selected %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("position %d: nonce %d fee %d, want nonce %d fee %d", i, got[i].Nonce, got[i].Fee, want[i].Nonce, want[i].Fee)
		}
	}
	if n := p.PendingNonce(addrKey(a), 0); n != 2 {
		t.Fatalf("pending nonce %d, want 2 (nonce 3 is behind a gap)", n)
	}
	if got := p.Select(1, func(chainstate.Address) uint64 { return 0 }); len(got) != 1 {
		t.Fatalf("max 1 selected %d", len(got))
	}
}

func addrKey(k ed25519.PrivateKey) chainstate.Address {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey)).Address()
}

func TestTxPoolPrune(t *testing.T) {
	a := poolKey(1)
	p := New(100, 10)
	for n := uint64(0); n < 5; n++ {
		tx := poolTxOf(a, n, 10, 0)
		p.Add(tx, tx.Hash(), n)
	}
	gone := p.Prune(addrKey(a), chainstate.Account{Nonce: 2, Balance: 20})
	if len(gone) != 3 || p.Len() != 2 {
		t.Fatalf("pruned %d, %d left; want 3 pruned (nonces 0,1 used; nonce 4 unaffordable), 2 left", len(gone), p.Len())
	}
	if p.PendingNonce(addrKey(a), 2) != 4 {
		t.Fatalf("pending nonce %d, want 4", p.PendingNonce(addrKey(a), 2))
	}
}

// Selection is always executable: for every sender the selected nonces are consecutive from the
// committed nonce, and the pool's bookkeeping (cost per sender) matches its contents after any mix
// of adds and removes.
func TestTxPoolProperties(t *testing.T) {
	keys := []ed25519.PrivateKey{poolKey(1), poolKey(2), poolKey(3)}
	rapid.Check(t, func(t *rapid.T) {
		p := New(1000, 10)
		var all []*chainstate.Tx
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			if len(all) > 0 && rapid.Bool().Draw(t, fmt.Sprintf("remove%d", i)) {
				tx := all[rapid.IntRange(0, len(all)-1).Draw(t, fmt.Sprintf("which%d", i))]
				p.Remove(tx.Hash())
				continue
			}
			k := keys[rapid.IntRange(0, len(keys)-1).Draw(t, fmt.Sprintf("key%d", i))]
			tx := poolTxOf(k, rapid.Uint64Range(0, 8).Draw(t, fmt.Sprintf("nonce%d", i)), 1, rapid.Uint64Range(0, 3).Draw(t, fmt.Sprintf("fee%d", i)))
			p.Add(tx, tx.Hash(), uint64(i))
			all = append(all, tx)
		}
		for a, q := range p.bySender {
			sum := uint64(0)
			for n, pt := range q.byNonce {
				if pt.Tx.Nonce != n || pt.sender != a {
					t.Fatalf("queue entry %d holds nonce %d", n, pt.Tx.Nonce)
				}
				sum += pt.cost
			}
			if sum != q.cost {
				t.Fatalf("sender cost %d, sum of entries %d", q.cost, sum)
			}
		}
		next := map[chainstate.Address]uint64{}
		for _, tx := range p.Select(1000, func(chainstate.Address) uint64 { return 0 }) {
			s := tx.Sender()
			if tx.Nonce != next[s] {
				t.Fatalf("selected nonce %d for a sender whose next is %d", tx.Nonce, next[s])
			}
			next[s]++
		}
		for _, k := range keys {
			if want := p.PendingNonce(addrKey(k), 0); next[addrKey(k)] != want {
				t.Fatalf("selected up to %d, pending nonce %d", next[addrKey(k)], want)
			}
		}
	})
}

// naivePendingNonce is pendingNonce without the memo: the model it must agree with.
func naivePendingNonce(p *Pool, a chainstate.Address, committed uint64) uint64 {
	n := committed
	if q := p.bySender[a]; q != nil {
		for q.byNonce[n] != nil {
			n++
		}
	}
	return n
}

// TestPendingNonceMemo: after any mix of adds, removes, replacements, prunes and queries from any
// committed nonce, the memoised pendingNonce equals the plain walk.
func TestPendingNonceMemo(t *testing.T) {
	keys := []ed25519.PrivateKey{poolKey(1), poolKey(2)}
	rapid.Check(t, func(t *rapid.T) {
		p := New(1000, 10)
		var all []*chainstate.Tx
		steps := rapid.IntRange(1, 100).Draw(t, "steps")
		for i := 0; i < steps; i++ {
			k := keys[rapid.IntRange(0, len(keys)-1).Draw(t, fmt.Sprintf("key%d", i))]
			a := addrKey(k)
			switch op := rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("op%d", i)); {
			case op == 0 && len(all) > 0:
				p.Remove(all[rapid.IntRange(0, len(all)-1).Draw(t, fmt.Sprintf("which%d", i))].Hash())
			case op == 1:
				acc := chainstate.Account{Nonce: rapid.Uint64Range(0, 12).Draw(t, fmt.Sprintf("pruneNonce%d", i)), Balance: rapid.Uint64Range(0, 40).Draw(t, fmt.Sprintf("balance%d", i))}
				p.Prune(a, acc)
			default: // add (a replacement when the nonce is queued with another fee)
				tx := poolTxOf(k, rapid.Uint64Range(0, 12).Draw(t, fmt.Sprintf("nonce%d", i)), 1, rapid.Uint64Range(0, 3).Draw(t, fmt.Sprintf("fee%d", i)))
				p.Add(tx, tx.Hash(), uint64(i))
				all = append(all, tx)
			}
			committed := rapid.Uint64Range(0, 12).Draw(t, fmt.Sprintf("committed%d", i))
			if want, got := naivePendingNonce(p, a, committed), p.PendingNonce(a, committed); got != want {
				t.Fatalf("step %d: pendingNonce from %d = %d, the walk says %d", i, committed, got, want)
			}
		}
	})
}

// BenchmarkPendingNonceLongQueue is one admission check's pending-nonce lookup for a sender with
// 10,000 queued transfers (the ingest path): constant time with the memo, a walk of the whole
// queue without it (BenchmarkPendingNonceLongQueueNaive).
func BenchmarkPendingNonceLongQueue(b *testing.B)      { benchPendingNonce(b, (*Pool).PendingNonce) }
func BenchmarkPendingNonceLongQueueNaive(b *testing.B) { benchPendingNonce(b, naivePendingNonce) }

func benchPendingNonce(b *testing.B, f func(*Pool, chainstate.Address, uint64) uint64) {
	k := poolKey(1)
	p := New(20_000, 10)
	for n := uint64(0); n < 10_000; n++ {
		tx := poolTxOf(k, n, 1, 1)
		p.Add(tx, tx.Hash(), n)
	}
	a := addrKey(k)
	for b.Loop() {
		if f(p, a, 0) != 10_000 {
			b.Fatal("wrong pending nonce")
		}
	}
}
