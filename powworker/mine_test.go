package powworker

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

// TestMineBlock: a mined block extends its parent, holds the given transfers, is sealed by the
// key, meets the work and applies to the ledger; a transfer that does not apply is an error, not
// a block without it.
func TestMineBlock(t *testing.T) {
	wallet := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	sealer := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 9))
	from := chainstate.PublicKey(wallet.Public().(ed25519.PublicKey))
	p := &chainstate.Params{ChainID: "mine-test", GenesisTimeMs: 1_000, PowBits: 8, BlockReward: 5,
		Alloc: map[chainstate.Address]uint64{from.Address(): 100}}
	ledger := chainstate.AccountMap{from.Address(): {Balance: 100}}
	parent := p.Genesis().Header
	tx := &chainstate.Tx{ChainID: p.ChainID, From: from, To: chainstate.Address{7}, Amount: 10, Fee: 1}
	tx.Sign(wallet)

	b, err := MineBlock(p, &parent, ledger, sealer, []*chainstate.Tx{tx}, 2_000)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Hash()
	if b.Header.PrevHash != parent.Hash() || b.Header.Height != 1 || b.Header.Time != 2_000 || len(b.Txs) != 1 {
		t.Fatalf("block %+v does not extend genesis at time 2000 with the transfer", b.Header)
	}
	if !b.Header.VerifySeal() || b.Header.Miner != chainstate.PublicKey(sealer.Public().(ed25519.PublicKey)) {
		t.Fatal("the block is not sealed by the key")
	}
	if !Meets((*[32]byte)(&h), p.PowBits) {
		t.Fatalf("hash %x does not meet %d bits", h, p.PowBits)
	}
	if _, err := chainstate.ApplyBlock(p, parent.StateRoot, ledger, b); err != nil {
		t.Fatalf("the mined block does not apply: %v", err)
	}

	tooMuch := &chainstate.Tx{ChainID: p.ChainID, From: from, To: chainstate.Address{7}, Amount: 1000, Fee: 1}
	tooMuch.Sign(wallet)
	if _, err := MineBlock(p, &parent, ledger, sealer, []*chainstate.Tx{tooMuch}, 2_000); err == nil || !strings.Contains(err.Error(), "took 0 of 1") {
		t.Fatalf("an overspending transfer: err %v, want the template to refuse it", err)
	}
}

// TestMineBlockAt: on an adjusting chain each mined block carries the scheduled bits, a time
// above the median time past, and a hash at most its target; the chain passes the context and
// stateless checks; without ancestors only block 1 can be mined.
func TestMineBlockAt(t *testing.T) {
	sealer := ed25519.NewKeyFromSeed(append(make([]byte, ed25519.SeedSize-1), 9))
	p := &chainstate.Params{ChainID: "mine-adj", GenesisTimeMs: 1_000, PowBits: 6, BlockReward: 5,
		TargetBlockTimeMs: 1000, HalfLifeMs: 5000}
	ledger := chainstate.AccountMap{}
	headers := []chainstate.Header{p.Genesis().Header}
	anc := func(h uint64) (chainstate.Header, bool) {
		if h >= uint64(len(headers)) {
			return chainstate.Header{}, false
		}
		return headers[h], true
	}
	for i := 1; i <= 8; i++ {
		parent := headers[len(headers)-1]
		// Every block at the parent's time: the median-time-past rule moves them on.
		b, err := MineBlockAt(p, &parent, anc, ledger, sealer, nil, parent.Time)
		if err != nil {
			t.Fatal(err)
		}
		if err := chainstate.CheckHeaderContext(p, &b.Header, &parent, anc, b.Header.Time); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		if err := chainstate.CheckBlock(p, b, nil); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		d, err := chainstate.ApplyBlock(p, parent.StateRoot, ledger, b)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		d.ApplyTo(ledger)
		headers = append(headers, b.Header)
	}
	if headers[8].Bits == p.GenesisBits() {
		t.Fatal("eight blocks far ahead of schedule kept the genesis target")
	}
	if _, err := MineBlock(p, &headers[3], ledger, sealer, nil, headers[3].Time+1); err == nil {
		t.Fatal("MineBlock without ancestors on an adjusting chain past block 1 did not fail")
	}
}
