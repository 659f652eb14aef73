package chainstate

import (
	"crypto/ed25519"
	"math/rand/v2"
	"testing"
)

// testKey returns a deterministic ed25519 key: the seed is i repeated.
func testKey(i byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for j := range seed {
		seed[j] = i
	}
	return ed25519.NewKeyFromSeed(seed)
}

func pubOf(k ed25519.PrivateKey) PublicKey {
	var pk PublicKey
	copy(pk[:], k.Public().(ed25519.PublicKey))
	return pk
}

func addrOf(k ed25519.PrivateKey) Address { return pubOf(k).Address() }

// testParams returns a small devnet chain with easy proof of work.
func testParams(alloc map[Address]uint64) *Params {
	return &Params{
		ChainID:       "actorchain-test",
		GenesisTimeMs: 1_767_225_600_000,
		PowBits:       3,
		BlockReward:   50,
		Alloc:         alloc,
		MaxBlockTxs:   100,
	}
}

func signedTx(p *Params, k ed25519.PrivateKey, to Address, amount, fee, nonce uint64) *Tx {
	tx := &Tx{ChainID: p.ChainID, To: to, Amount: amount, Fee: fee, Nonce: nonce}
	tx.Sign(k)
	return tx
}

// mine searches nonces until h meets its bits (fine for the tiny bits tests use).
func mine(tb testing.TB, h *Header) {
	tb.Helper()
	w := h.WorkHeader()
	for n := uint64(0); n <= 1<<32-1; n++ {
		be.PutUint32(w[WorkNonceOffset:], uint32(n))
		if MeetsBits(HashWork(&w), h.Bits) {
			h.Nonce = uint32(n)
			return
		}
	}
	tb.Fatalf("no nonce meets %d bits", h.Bits)
}

// sealAndMine seals b's header with k and mines it.
func sealAndMine(tb testing.TB, b *Block, k ed25519.PrivateKey) *Block {
	tb.Helper()
	b.Header.Seal(k)
	mine(tb, &b.Header)
	return b
}

// nextBlock builds, seals and mines a block on parent over state r containing exactly txs (it
// fails the test when BuildTemplate skips one).
func nextBlock(tb testing.TB, p *Params, parent *Header, r AccountReader, miner ed25519.PrivateKey, txs ...*Tx) *Block {
	tb.Helper()
	b, _, err := BuildTemplate(p, parent, r, pubOf(miner), txs, parent.Time+1)
	if err != nil {
		tb.Fatalf("BuildTemplate: %v", err)
	}
	if len(b.Txs) != len(txs) {
		tb.Fatalf("BuildTemplate kept %d of %d txs", len(b.Txs), len(txs))
	}
	return sealAndMine(tb, b, miner)
}

// fill returns n pseudo-random bytes from seed.
func fill(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// chain is an in-memory main chain for building blocks outside a store.
type chain struct {
	p      *Params
	blocks []*Block
	state  AccountMap
}

func newChain(p *Params) *chain {
	return &chain{p: p, blocks: []*Block{p.Genesis()}, state: AccountMap(p.allocAccounts())}
}

func (c *chain) tip() *Header { return &c.blocks[len(c.blocks)-1].Header }

// add builds the next block with txs, applies it and returns it.
func (c *chain) add(tb testing.TB, miner ed25519.PrivateKey, txs ...*Tx) *Block {
	tb.Helper()
	b := nextBlock(tb, c.p, c.tip(), c.state, miner, txs...)
	d, err := ApplyBlock(c.p, c.tip().StateRoot, c.state, b)
	if err != nil {
		tb.Fatalf("ApplyBlock: %v", err)
	}
	d.ApplyTo(c.state)
	c.blocks = append(c.blocks, b)
	return b
}

// fork returns a copy of c truncated to height h.
func (c *chain) fork(tb testing.TB, h int) *chain {
	tb.Helper()
	f := newChain(c.p)
	for _, b := range c.blocks[1 : h+1] {
		d, err := ApplyBlock(c.p, f.tip().StateRoot, f.state, b)
		if err != nil {
			tb.Fatal(err)
		}
		d.ApplyTo(f.state)
		f.blocks = append(f.blocks, b)
	}
	return f
}

func ed25519NewKeyFromSeed(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }
