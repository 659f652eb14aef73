package chainstate

import (
	"bytes"
	"crypto/ed25519"
	"maps"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func TestApplyBlock(t *testing.T) {
	a, b, miner := testKey(1), testKey(2), testKey(9)
	p := testParams(map[Address]uint64{addrOf(a): 1000, addrOf(b): 10})
	g := p.Genesis()
	tests := []struct {
		name  string
		txs   []*Tx
		state AccountMap // nil: genesis alloc
		root  func(d map[Address]Account) Hash
		code  ErrorCode
		want  map[Address]Account // expected state after, when ok
	}{
		{
			name: "two transfers and a self-transfer",
			txs: []*Tx{
				signedTx(p, a, addrOf(b), 100, 3, 0),
				signedTx(p, b, addrOf(a), 50, 2, 0),
				signedTx(p, a, addrOf(a), 7, 1, 1),
			},
			want: map[Address]Account{
				addrOf(a):     {Balance: 1000 - 103 + 50 - 1, Nonce: 2},
				addrOf(b):     {Balance: 10 + 100 - 52, Nonce: 1},
				addrOf(miner): {Balance: 50 + 6},
			},
		},
		{name: "empty block pays the reward", want: map[Address]Account{
			addrOf(a): {Balance: 1000}, addrOf(b): {Balance: 10}, addrOf(miner): {Balance: 50}}},
		{name: "bad nonce", txs: []*Tx{signedTx(p, a, addrOf(b), 1, 0, 1)}, code: CodeBadNonce},
		{name: "nonce reused in block", txs: []*Tx{signedTx(p, a, addrOf(b), 1, 0, 0), signedTx(p, a, addrOf(b), 2, 0, 0)}, code: CodeBadNonce},
		{name: "insufficient funds", txs: []*Tx{signedTx(p, b, addrOf(a), 10, 1, 0)}, code: CodeInsufficientFunds},
		{name: "unknown sender", txs: []*Tx{signedTx(p, testKey(5), addrOf(a), 1, 0, 0)}, code: CodeInsufficientFunds},
		{name: "cost overflow", txs: []*Tx{signedTx(p, a, addrOf(b), math.MaxUint64, 1, 0)}, code: CodeOverflow},
		{
			name:  "recipient overflow",
			state: AccountMap{addrOf(a): {Balance: 10}, addrOf(b): {Balance: math.MaxUint64}},
			txs:   []*Tx{signedTx(p, a, addrOf(b), 1, 0, 0)}, code: CodeOverflow,
		},
		{
			name:  "miner overflow",
			state: AccountMap{addrOf(miner): {Balance: math.MaxUint64 - 10}},
			code:  CodeOverflow,
		},
		{
			name:  "fees overflow",
			state: AccountMap{addrOf(a): {Balance: math.MaxUint64}, addrOf(b): {Balance: math.MaxUint64}},
			txs:   []*Tx{signedTx(p, a, addrOf(b), 1, math.MaxUint64-1, 0), signedTx(p, b, addrOf(a), 1, math.MaxUint64-1, 0)},
			code:  CodeOverflow,
		},
		{name: "bad state root", root: func(map[Address]Account) Hash { return Hash{1} }, code: CodeBadStateRoot},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := tt.state
			if state == nil {
				state = AccountMap(p.allocAccounts())
			}
			before := maps.Clone(state)
			prevRoot := StateRootOf(state)
			blk := &Block{Header: Header{Height: 1, PrevHash: g.Hash(), Miner: pubOf(miner)}, Txs: tt.txs}
			if tt.want != nil {
				blk.Header.StateRoot = StateRootOf(tt.want)
			}
			if tt.root != nil {
				blk.Header.StateRoot = tt.root(nil)
			}
			d, err := ApplyBlock(p, prevRoot, state, blk)
			if !maps.Equal(state, before) {
				t.Fatal("ApplyBlock wrote to its reader")
			}
			wantCode(t, err, tt.code)
			if err != nil {
				return
			}
			after := maps.Clone(state)
			d.ApplyTo(after)
			if !maps.Equal(after, tt.want) {
				t.Fatalf("state after\n got %v\nwant %v", after, tt.want)
			}
			for i, c := range d.Changes {
				if c.Old == c.New || before[c.Addr] != c.Old {
					t.Fatalf("change %d %+v", i, c)
				}
				if i > 0 && string(d.Changes[i-1].Addr[:]) >= string(c.Addr[:]) {
					t.Fatal("changes not sorted by address")
				}
			}
		})
	}
}

func TestBuildTemplate(t *testing.T) {
	a, b, miner := testKey(1), testKey(2), testKey(9)
	p := testParams(map[Address]uint64{addrOf(a): 1000, addrOf(b): 10})
	p.MaxBlockTxs = 3
	parent := p.Genesis().Header
	state := AccountMap(p.allocAccounts())
	wrongChain := &Tx{ChainID: "other", To: addrOf(b), Amount: 1}
	wrongChain.Sign(a)
	candidates := []*Tx{
		signedTx(p, a, addrOf(b), 100, 1, 0), // kept
		signedTx(p, a, addrOf(b), 100, 1, 5), // nonce gap: skipped
		signedTx(p, b, addrOf(a), 500, 1, 0), // b has 110 by now: skipped
		wrongChain,                           // skipped
		signedTx(p, a, addrOf(b), 0, 1, 1),   // zero amount: skipped
		signedTx(p, b, addrOf(a), 100, 9, 0), // kept (b has 110)
		signedTx(p, a, addrOf(b), 1, 0, 1),   // kept: third
		signedTx(p, a, addrOf(b), 1, 0, 2),   // over the limit of 3
	}
	blk, d, err := BuildTemplate(p, &parent, state, pubOf(miner), candidates, parent.Time+7)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Tx{candidates[0], candidates[5], candidates[6]}
	if len(blk.Txs) != len(want) {
		t.Fatalf("kept %d txs, want %d", len(blk.Txs), len(want))
	}
	for i := range want {
		if blk.Txs[i] != want[i] {
			t.Fatalf("tx %d is not candidate %v", i, want[i])
		}
	}
	h := blk.Header
	if h.Version != 1 || h.Height != 1 || h.PrevHash != parent.Hash() || h.Bits != p.PowBits ||
		h.TxRoot != TxRoot(want) || h.StateRoot != d.StateRoot || h.Miner != pubOf(miner) ||
		h.Time != parent.Time+7 || h.Nonce != 0 || h.MinerSig != (Signature{}) {
		t.Fatalf("template header %+v", h)
	}
	if miner := d.Changes; len(miner) != 3 {
		t.Fatalf("%d changes, want 3 (a, b, miner)", len(d.Changes))
	}
	// The template applies as a block and CheckBlock accepts it once sealed and mined.
	d2, err := ApplyBlock(p, parent.StateRoot, state, blk)
	if err != nil {
		t.Fatal(err)
	}
	if d2.StateRoot != d.StateRoot {
		t.Fatal("ApplyBlock and BuildTemplate disagree")
	}
	sealAndMine(t, blk, miner)
	if err := CheckBlock(p, blk, nil); err != nil {
		t.Fatal(err)
	}
	if err := CheckHeaderContext(p, &blk.Header, &parent, nil, parent.Time+10); err != nil {
		t.Fatal(err)
	}
}

// modelApply is the "dumb" reference ledger: a map copy, the rules in their plainest form. With
// skip it drops transactions that fail instead of failing (BuildTemplate).
func modelApply(p *Params, state AccountMap, miner Address, txs []*Tx, skip bool) (AccountMap, []*Tx, bool) {
	m := maps.Clone(state)
	var kept []*Tx
	var fees uint64
	for _, tx := range txs {
		from := tx.Sender()
		s := m[from]
		cost := tx.Amount + tx.Fee
		okTx := cost >= tx.Amount && s.Nonce == tx.Nonce && s.Balance >= cost && fees+tx.Fee >= fees
		if okTx && tx.To != from && m[tx.To].Balance+tx.Amount < tx.Amount {
			okTx = false
		}
		if skip && (tx.ChainID != p.ChainID || tx.Amount == 0) {
			okTx = false
		}
		if !okTx {
			if skip {
				continue
			}
			return nil, nil, false
		}
		s.Balance -= cost
		s.Nonce++
		setAccount(m, from, s)
		r := m[tx.To]
		r.Balance += tx.Amount
		setAccount(m, tx.To, r)
		fees += tx.Fee
		kept = append(kept, tx)
	}
	r := m[miner]
	total := p.BlockReward + fees
	if total < fees || r.Balance+total < total {
		return nil, nil, false
	}
	r.Balance += total
	setAccount(m, miner, r)
	return m, kept, true
}

var ledgerKeys = func() []ed25519.PrivateKey {
	ks := make([]ed25519.PrivateKey, 5)
	for i := range ks {
		ks[i] = testKey(byte(10 + i))
	}
	return ks
}()

// genLedgerCase draws an account map over a few keys and a list of unsigned transfers among
// them (and to fresh addresses), many of which do not apply.
func genLedgerCase(t *rapid.T, p *Params) (AccountMap, []*Tx, ed25519.PrivateKey) {
	state := AccountMap{}
	for _, k := range ledgerKeys {
		if rapid.Bool().Draw(t, "funded") {
			bal := rapid.OneOf(rapid.Uint64Range(0, 1000), rapid.Just(uint64(math.MaxUint64-5))).Draw(t, "balance")
			setAccount(state, addrOf(k), Account{Balance: bal, Nonce: rapid.Uint64Range(0, 2).Draw(t, "nonce")})
		}
	}
	n := rapid.IntRange(0, 12).Draw(t, "txs")
	txs := make([]*Tx, n)
	for i := range txs {
		from := ledgerKeys[rapid.IntRange(0, len(ledgerKeys)-1).Draw(t, "from")]
		var to Address
		if rapid.Bool().Draw(t, "toKnown") {
			to = addrOf(ledgerKeys[rapid.IntRange(0, len(ledgerKeys)-1).Draw(t, "to")])
		} else {
			to = Address{byte(rapid.IntRange(0, 3).Draw(t, "toFresh"))}
		}
		txs[i] = &Tx{
			ChainID: p.ChainID, From: pubOf(from), To: to,
			Amount: rapid.OneOf(rapid.Uint64Range(0, 600), rapid.Just(uint64(math.MaxUint64))).Draw(t, "amount"),
			Fee:    rapid.Uint64Range(0, 20).Draw(t, "fee"),
			Nonce:  rapid.Uint64Range(0, 3).Draw(t, "nonce"),
		}
	}
	return state, txs, ledgerKeys[rapid.IntRange(0, len(ledgerKeys)-1).Draw(t, "miner")]
}

// TestRapidLedger checks BuildTemplate and ApplyBlock against the model, that undo (the Old
// values) inverts apply, that the incremental root equals StateRootOf, and determinism.
func TestRapidLedger(t *testing.T) {
	p := testParams(nil)
	rapid.Check(t, func(t *rapid.T) {
		state, txs, miner := genLedgerCase(t, p)
		orig := maps.Clone(state)
		prevRoot := StateRootOf(state)
		parent := &Header{Height: 4, StateRoot: prevRoot, Time: 10}

		want, kept, ok := modelApply(p, state, addrOf(miner), txs, true)
		blk, d, err := BuildTemplate(p, parent, state, pubOf(miner), txs, 11)
		if !ok {
			if err == nil {
				t.Fatal("BuildTemplate succeeded where the model overflows")
			}
			return
		}
		if err != nil {
			t.Fatalf("BuildTemplate: %v", err)
		}
		if len(blk.Txs) != len(kept) {
			t.Fatalf("template kept %d txs, model %d", len(blk.Txs), len(kept))
		}
		after := maps.Clone(state)
		d.ApplyTo(after)
		if !maps.Equal(after, want) {
			t.Fatalf("template state\n got %v\nwant %v", after, want)
		}
		if d.StateRoot != StateRootOf(after) {
			t.Fatal("incremental root differs from StateRootOf")
		}

		// ApplyBlock on the template: same delta, twice (deterministic), reader untouched.
		for range 2 {
			d2, err := ApplyBlock(p, prevRoot, state, blk)
			if err != nil {
				t.Fatalf("ApplyBlock(template): %v", err)
			}
			if d2.StateRoot != d.StateRoot || len(d2.Changes) != len(d.Changes) {
				t.Fatal("ApplyBlock differs from BuildTemplate")
			}
			for i := range d.Changes {
				if d.Changes[i] != d2.Changes[i] {
					t.Fatalf("change %d differs", i)
				}
			}
		}
		if !maps.Equal(state, orig) {
			t.Fatal("reader modified")
		}

		// Undo inverts apply.
		d.UndoTo(after)
		if !maps.Equal(after, orig) || StateRootOf(after) != prevRoot {
			t.Fatal("undo does not restore the original state")
		}

		// ApplyBlock on all candidates agrees with the strict model.
		all := &Block{Header: Header{Miner: pubOf(miner)}, Txs: txs}
		strict, _, okStrict := modelApply(p, state, addrOf(miner), txs, false)
		if okStrict {
			all.Header.StateRoot = StateRootOf(strict)
		}
		_, err = ApplyBlock(p, prevRoot, state, all)
		if okStrict != (err == nil) {
			t.Fatalf("ApplyBlock error %v, model ok %v", err, okStrict)
		}
		if err != nil {
			if _, isRule := IsRuleError(err); !isRule {
				t.Fatalf("non-rule error %v", err)
			}
		}
	})
}

// TestRapidStateRoot checks the incremental update against StateRootOf for arbitrary changes.
func TestRapidStateRoot(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		genAcct := func(label string) Account {
			if rapid.IntRange(0, 3).Draw(t, label+".zero") == 0 {
				return Account{}
			}
			return Account{Balance: rapid.Uint64().Draw(t, label+".bal"), Nonce: rapid.Uint64Range(0, 3).Draw(t, label+".nonce")}
		}
		m := map[Address]Account{}
		for range rapid.IntRange(0, 8).Draw(t, "n") {
			setAccount(m, Address{rapid.Byte().Draw(t, "addr")}, genAcct("init"))
		}
		root := StateRootOf(m)
		for range rapid.IntRange(0, 8).Draw(t, "changes") {
			a := Address{rapid.Byte().Draw(t, "caddr")}
			nv := genAcct("new")
			root = updateRoot(root, a, m[a], nv)
			setAccount(m, a, nv)
		}
		if root != StateRootOf(m) {
			t.Fatal("incremental root differs from StateRootOf")
		}
		if len(m) == 0 && root != (Hash{}) {
			t.Fatal("empty state must have the zero root")
		}
	})
}

// TestCompareAddr: addresses order as their bytes do, prefix ties included, and a block's
// changes come out in that order.
func TestCompareAddr(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var a, b Address
		copy(a[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "a"))
		copy(b[:], a[:])
		if rapid.Bool().Draw(t, "tie") { // same first 8 bytes, the rest drawn
			copy(b[8:], rapid.SliceOfN(rapid.Byte(), 12, 12).Draw(t, "b tail"))
		} else {
			copy(b[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "b"))
		}
		if got, want := compareAddr(&a, &b), bytes.Compare(a[:], b[:]); got != want {
			t.Fatalf("compareAddr(%x, %x) = %d, bytes.Compare %d", a, b, got, want)
		}
	})
	p := testParams(nil)
	rapid.Check(t, func(t *rapid.T) {
		state, txs, miner := genLedgerCase(t, p)
		_, d, err := BuildTemplate(p, &Header{Height: 4, StateRoot: StateRootOf(state), Time: 10}, state, pubOf(miner), txs, 11)
		if err != nil {
			return // an overflowing case: TestRapidLedger covers it
		}
		if !slices.IsSortedFunc(d.Changes, func(x, y AccountChange) int { return bytes.Compare(x.Addr[:], y.Addr[:]) }) {
			t.Fatalf("changes not in address order: %v", d.Changes)
		}
	})
}

// TestOverlaySenderTable: the overlay's sender table gives every key its own address, also for
// keys that share a slot and alternate, and for the all-zero key (an empty slot is not a hit).
func TestOverlaySenderTable(t *testing.T) {
	o := newOverlay(AccountMap{}, 0)
	var zero, a, b PublicKey
	a[0], a[5] = 3, 1
	b[0], b[5] = 3+64, 2 // the same slot as a
	for i := range 3 {
		for _, k := range []PublicKey{zero, a, b, a} {
			if got, want := o.sender(&k), k.Address(); got != want {
				t.Fatalf("round %d: key %x: address %s, want %s", i, k[:6], got, want)
			}
		}
	}
}
