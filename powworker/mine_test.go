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
