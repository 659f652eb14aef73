package testchain

import (
	"crypto/ed25519"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/powworker"
)

// Builder is a chain being built: its blocks from genesis, its tip and the ledger at the tip.
type Builder struct {
	p        *chainstate.Params
	accounts chainstate.AccountMap
	tip      chainstate.Header
	// Blocks are the builder's blocks after genesis, in order.
	Blocks []*chainstate.Block
}

// New starts a builder at p's genesis.
func New(p *chainstate.Params) *Builder {
	return &Builder{p: p, accounts: p.GenesisAccounts(), tip: p.Genesis().Header}
}

// Tip returns the header of the builder's last block (genesis at first).
func (b *Builder) Tip() chainstate.Header { return b.tip }

// Account returns a's account in the builder's ledger (zero when it has none).
func (b *Builder) Account(a chainstate.Address) chainstate.Account { return b.accounts[a] }

// Clone returns an independent copy of the builder: same tip, ledger and blocks.
func (b *Builder) Clone() *Builder {
	return &Builder{p: b.p, accounts: maps.Clone(b.accounts), tip: b.tip, Blocks: slices.Clone(b.Blocks)}
}

// Fork returns a new builder that continues from the first n blocks of b's chain (0: genesis).
func (b *Builder) Fork(t testing.TB, n int) *Builder {
	t.Helper()
	f := New(b.p)
	for _, blk := range b.Blocks[:n] {
		f.Add(t, blk)
	}
	return f
}

// Add applies blk, which must extend the tip, to the ledger and appends it.
func (b *Builder) Add(t testing.TB, blk *chainstate.Block) {
	t.Helper()
	d, err := chainstate.ApplyBlock(b.p, b.tip.StateRoot, b.accounts, blk)
	if err != nil {
		t.Fatalf("apply block %d: %v", blk.Header.Height, err)
	}
	d.ApplyTo(b.accounts)
	b.tip = blk.Header
	b.Blocks = append(b.Blocks, blk)
}

// Mine mines the next block holding txs (every one must apply), adds it and returns it.
func (b *Builder) Mine(t testing.TB, key ed25519.PrivateKey, txs []*chainstate.Tx) *chainstate.Block {
	t.Helper()
	blk, err := powworker.MineBlockAt(b.p, &b.tip, b.ancestor, b.accounts, key, txs, pastTime(&b.tip))
	if err != nil {
		t.Fatalf("mine block %d: %v", b.tip.Height+1, err)
	}
	b.Add(t, blk)
	return blk
}

// ancestor is the builder's header at height (chainstate.Ancestors: a chain that adjusts its
// difficulty reads block 1 and the last blocks' times).
func (b *Builder) ancestor(height uint64) (chainstate.Header, bool) {
	switch {
	case height == 0:
		return b.p.Genesis().Header, true
	case height <= uint64(len(b.Blocks)):
		return b.Blocks[height-1].Header, true
	}
	return chainstate.Header{}, false
}

// pastTime is a block time after parent's and a minute behind the wall clock, so that no node
// finds it in the future.
func pastTime(parent *chainstate.Header) uint64 {
	return max(parent.Time+1, uint64(time.Now().UnixMilli())-60_000)
}
