package testchain

import (
	"crypto/ed25519"
	"testing"

	"github.com/actorchain/actorchain/chainstate"
)

func key(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func addr(k ed25519.PrivateKey) chainstate.Address {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey)).Address()
}

func transfer(p *chainstate.Params, from ed25519.PrivateKey, to chainstate.Address, amount, nonce uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: p.ChainID, From: chainstate.PublicKey(from.Public().(ed25519.PublicKey)), To: to, Amount: amount, Fee: 1, Nonce: nonce}
	tx.Sign(from)
	return tx
}

// TestBuilder mines a chain with a transfer, forks it below the transfer, and checks tips,
// ledgers and that a clone and a fork are independent of their source.
func TestBuilder(t *testing.T) {
	wallet, sealer, to := key(1), key(2), addr(key(3))
	p := &chainstate.Params{ChainID: "testchain", GenesisTimeMs: 1_767_225_600_000, PowBits: 4, BlockReward: 50,
		Alloc: map[chainstate.Address]uint64{addr(wallet): 1000}}
	main := New(p)
	if tip := main.Tip(); tip.Hash() != p.GenesisHash() || len(main.Blocks) != 0 {
		t.Fatal("a new builder is not at genesis")
	}
	b1 := main.Mine(t, sealer, nil)
	b2 := main.Mine(t, sealer, []*chainstate.Tx{transfer(p, wallet, to, 100, 0)})
	if b2.Header.PrevHash != b1.Hash() || main.Tip().Height != 2 || main.Blocks[1] != b2 || len(main.Blocks) != 2 {
		t.Fatalf("blocks do not chain: tip %v, %d blocks", main.Tip().Height, len(main.Blocks))
	}
	if got := main.Account(to).Balance; got != 100 {
		t.Fatalf("receiver balance %d, want 100", got)
	}
	if got := main.Account(addr(wallet)); got.Balance != 899 || got.Nonce != 1 {
		t.Fatalf("sender account %+v, want balance 899 nonce 1", got)
	}
	if got := main.Account(addr(sealer)).Balance; got != 101 {
		t.Fatalf("sealer balance %d, want 2 rewards and the fee (101)", got)
	}

	clone := main.Clone()
	alt := main.Fork(t, 1)
	if tip := alt.Tip(); tip.Hash() != b1.Hash() || alt.Account(to).Balance != 0 {
		t.Fatalf("fork at 1: tip %d, receiver %d", alt.Tip().Height, alt.Account(to).Balance)
	}
	a2 := alt.Mine(t, key(4), []*chainstate.Tx{transfer(p, wallet, to, 7, 0)})
	if a2.Hash() == b2.Hash() || alt.Account(to).Balance != 7 || main.Account(to).Balance != 100 {
		t.Fatal("a fork's block or ledger leaked into its source")
	}
	clone.Mine(t, sealer, nil)
	if len(main.Blocks) != 2 || len(clone.Blocks) != 3 || main.Account(addr(sealer)).Balance != 101 {
		t.Fatal("a clone's block or ledger leaked into its source")
	}
	// Every block is valid against the chain's rules as a node applies them.
	for i, blk := range clone.Blocks {
		prev := p.Genesis().Header
		if i > 0 {
			prev = clone.Blocks[i-1].Header
		}
		if blk.Header.PrevHash != prev.Hash() || !blk.Header.VerifySeal() {
			t.Fatalf("block %d does not extend its parent or has a bad seal", i+1)
		}
	}
}

// TestBuilderAdjusting: on a chain that adjusts its difficulty the builder's blocks carry the
// scheduled bits and pass the context checks (block 1 as anchor, the median time past).
func TestBuilderAdjusting(t *testing.T) {
	p := &chainstate.Params{ChainID: "testchain-adj", GenesisTimeMs: 1_767_225_600_000, PowBits: 4, BlockReward: 50,
		TargetBlockTimeMs: 60_000, HalfLifeMs: 600_000}
	b := New(p)
	for range 12 {
		b.Mine(t, key(2), nil)
	}
	anc := func(h uint64) (chainstate.Header, bool) { return b.ancestor(h) }
	prev := p.Genesis().Header
	for i, blk := range b.Blocks {
		if err := chainstate.CheckHeaderContext(p, &blk.Header, &prev, anc, blk.Header.Time); err != nil {
			t.Fatalf("block %d: %v", i+1, err)
		}
		if err := chainstate.CheckBlock(p, blk, nil); err != nil {
			t.Fatalf("block %d: %v", i+1, err)
		}
		prev = blk.Header
	}
	// Blocks a few ms apart on a 1-minute schedule: the targets got harder.
	if last := b.Tip(); last.Bits == p.GenesisBits() {
		t.Fatalf("the target did not move: %08x", last.Bits)
	}
}
