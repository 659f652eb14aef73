package txpool

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

func TestMinReplaceFee(t *testing.T) {
	for _, tc := range []struct {
		fee, pct, want uint64
		ok             bool
	}{
		{0, 10, 1, true},
		{1, 10, 2, true}, // 10% of 1 rounds up to 1
		{9, 10, 10, true},
		{10, 10, 11, true},
		{11, 10, 13, true}, // 1.1 rounds up to 2
		{20, 10, 22, true},
		{100, 1, 101, true},
		{100, 1000, 1100, true},
		{math.MaxUint64 / 2, 100, math.MaxUint64 - 1, true},
		{math.MaxUint64 / 2, 101, 0, false},
		{math.MaxUint64, 10, 0, false},
		{math.MaxUint64 - 1, 1, 0, false},
	} {
		got, ok := MinReplaceFee(tc.fee, tc.pct)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MinReplaceFee(%d, %d) = %d, %v; want %d, %v", tc.fee, tc.pct, got, ok, tc.want, tc.ok)
		}
	}
}

// TestMinReplaceFeeProperty: the minimum is fee + ceil(fee*pct/100), at least fee + 1, computed
// without overflow (checked against math/big).
func TestMinReplaceFeeProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fee := rapid.OneOf(rapid.Uint64Range(0, 1000), rapid.Uint64()).Draw(t, "fee")
		pct := rapid.Uint64Range(1, 1000).Draw(t, "pct")
		inc := new(big.Int).Mul(new(big.Int).SetUint64(fee), new(big.Int).SetUint64(pct))
		inc.Add(inc, big.NewInt(99)).Div(inc, big.NewInt(100))
		if inc.Sign() == 0 {
			inc.SetInt64(1)
		}
		want := inc.Add(inc, new(big.Int).SetUint64(fee))
		got, ok := MinReplaceFee(fee, pct)
		if fits := want.IsUint64(); ok != fits || ok && got != want.Uint64() {
			t.Fatalf("MinReplaceFee(%d, %d) = %d, %v; want %s", fee, pct, got, ok, want)
		}
	})
}

func TestTxPoolReplaceMessage(t *testing.T) {
	k := poolKey(1)
	p := New(10, 10)
	old := poolTxOf(k, 0, 5, 20)
	p.Add(old, old.Hash(), 1)
	tx := poolTxOf(k, 0, 5, 21)
	_, rej := p.Check(tx, tx.Hash(), chainstate.Account{Balance: 1000})
	if rej == nil || rej.Code != "fee_too_low" || !strings.Contains(rej.Reason, "at least 22") || !strings.Contains(rej.Reason, old.Hash().String()) {
		t.Fatalf("rejection %+v: want fee_too_low naming the pending transfer and the minimum 22", rej)
	}
	tx = poolTxOf(k, 0, 5, 22)
	replaces, rej := p.Check(tx, tx.Hash(), chainstate.Account{Balance: 1000})
	if rej != nil || replaces == nil || replaces.Hash != old.Hash() {
		t.Fatalf("fee 22: replaces %v, rejection %v; want it to replace the pending one", replaces, rej)
	}
	p.Add(tx, tx.Hash(), 2)
	if p.Has(old.Hash()) || !p.Has(tx.Hash()) || p.Len() != 1 {
		t.Fatalf("after the replacement: old pending %v, new pending %v, %d pending", p.Has(old.Hash()), p.Has(tx.Hash()), p.Len())
	}
	if _, rej := p.Check(old, old.Hash(), chainstate.Account{Balance: 1000}); rej == nil || rej.Code != "fee_too_low" {
		t.Fatalf("the replaced transfer again: %v; want fee_too_low", rej)
	}
}

type rbfSlot struct {
	sender chainstate.Address
	nonce  uint64
}

// TestTxPoolReplaceProperty: over random submits (new nonces and replacements with random fees,
// and replaced transfers submitted again), blocks taken with selectTxs and restarts (a new pool
// loaded as the mempool loads the bucket), every sender-and-nonce slot that ever admitted a
// transfer has exactly one of its admitted transfers pending or mined: a replacement never loses
// both and never keeps both. Admission follows the fee rule exactly, a replaced transfer is never
// admitted again, and a block never holds two transfers of one slot.
func TestTxPoolReplaceProperty(t *testing.T) {
	keys := []byte{1, 2, 3}
	rapid.Check(t, func(rt *rapid.T) {
		bump := rapid.IntRange(1, 50).Draw(rt, "bump")
		p := New(1000, bump)
		accs := map[chainstate.Address]chainstate.Account{}
		for _, k := range keys {
			accs[poolTxOf(poolKey(k), 0, 1, 0).Sender()] = chainstate.Account{Balance: 1 << 40}
		}
		admitted := map[rbfSlot][]chainstate.Hash{}
		var replaced []*chainstate.Tx
		mined := map[chainstate.Hash]bool{}
		seq, amount := uint64(0), uint64(0)
		for step := range rapid.IntRange(1, 40).Draw(rt, "steps") {
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op <= 5: // submit
				k := poolKey(rapid.SampledFrom(keys).Draw(rt, "key"))
				sender := poolTxOf(k, 0, 1, 0).Sender()
				acc := accs[sender]
				amount++
				tx := poolTxOf(k, acc.Nonce+rapid.Uint64Range(0, 3).Draw(rt, "ahead"), amount, rapid.Uint64Range(0, 60).Draw(rt, "fee"))
				old := p.Slot(sender, tx.Nonce)
				replaces, rej := p.Check(tx, tx.Hash(), acc)
				wantOK := old == nil
				if old != nil {
					min, _ := MinReplaceFee(old.Tx.Fee, uint64(bump))
					wantOK = tx.Fee >= min
				}
				if (rej == nil) != wantOK {
					rt.Fatalf("step %d: fee %d over pending %v: rejection %v, want admitted %v", step, tx.Fee, old, rej, wantOK)
				}
				if rej != nil {
					if rej.Code != "fee_too_low" {
						rt.Fatalf("step %d: code %s (%s), want fee_too_low", step, rej.Code, rej.Reason)
					}
					continue
				}
				if (replaces == nil) != (old == nil) || old != nil && replaces.Hash != old.Hash {
					rt.Fatalf("step %d: replaces %v, pending %v", step, replaces, old)
				}
				if old != nil {
					replaced = append(replaced, old.Tx)
				}
				seq++
				p.Add(tx, tx.Hash(), seq)
				s := rbfSlot{sender, tx.Nonce}
				admitted[s] = append(admitted[s], tx.Hash())
			case op == 6: // a replaced transfer again (a peer relays it late)
				if len(replaced) == 0 {
					continue
				}
				tx := rapid.SampledFrom(replaced).Draw(rt, "again")
				if _, rej := p.Check(tx, tx.Hash(), accs[tx.Sender()]); rej == nil {
					rt.Fatalf("step %d: the replaced transfer %s was admitted again", step, tx.Hash())
				}
			case op <= 8: // a block
				txs := p.Select(rapid.IntRange(1, 8).Draw(rt, "block size"), func(a chainstate.Address) uint64 { return accs[a].Nonce })
				inBlock := map[rbfSlot]bool{}
				for _, tx := range txs {
					s := rbfSlot{tx.Sender(), tx.Nonce}
					if inBlock[s] {
						rt.Fatalf("step %d: a block holds two transfers of sender %s nonce %d", step, s.sender, s.nonce)
					}
					inBlock[s] = true
					acc := accs[s.sender]
					if tx.Nonce != acc.Nonce {
						rt.Fatalf("step %d: selected nonce %d, account nonce %d", step, tx.Nonce, acc.Nonce)
					}
					cost, _ := tx.Cost()
					acc.Nonce++
					acc.Balance -= cost
					accs[s.sender] = acc
					mined[tx.Hash()] = true
					p.Remove(tx.Hash())
				}
				for _, a := range p.Senders() {
					p.Prune(a, accs[a])
				}
			default: // restart: a new pool loads what is pending, in the mempool's load order
				var all []*chainstate.Tx
				for _, h := range p.Hashes() {
					all = append(all, p.Get(h))
				}
				sort.Slice(all, func(i, j int) bool {
					a, b := all[i].Sender(), all[j].Sender()
					if a != b {
						return string(a[:]) < string(b[:])
					}
					if all[i].Nonce != all[j].Nonce {
						return all[i].Nonce < all[j].Nonce
					}
					return all[i].Fee < all[j].Fee
				})
				p = New(1000, bump)
				for _, tx := range all {
					seq++
					p.Add(tx, tx.Hash(), seq)
				}
			}
			for s, hs := range admitted {
				var live []string
				for _, h := range hs {
					if p.Has(h) || mined[h] {
						live = append(live, fmt.Sprintf("%s (pending %v)", h, p.Has(h)))
					}
				}
				if len(live) != 1 {
					rt.Fatalf("step %d: sender %s nonce %d admitted %d transfers, %d of them pending or mined: %v", step, s.sender, s.nonce, len(hs), len(live), live)
				}
			}
		}
	})
}
