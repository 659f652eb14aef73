package powworker

import (
	"crypto/ed25519"
	"fmt"

	"github.com/actorchain/actorchain/chainstate"
)

// MineBlock builds the block of txs on parent at time timeMs (every transaction must apply to
// r, the ledger at parent), seals it with key and searches the whole nonce space on the calling
// goroutine: mining outside any node, for the chains `node bench` and the tests feed to nodes.
// It is MineBlockAt without ancestors, which is enough on a fixed-difficulty chain and for
// block 1 of an adjusting one.
func MineBlock(p *chainstate.Params, parent *chainstate.Header, r chainstate.AccountReader, key ed25519.PrivateKey, txs []*chainstate.Tx, timeMs uint64) (*chainstate.Block, error) {
	return MineBlockAt(p, parent, nil, r, key, txs, timeMs)
}

// MineBlockAt is MineBlock on any chain: the block gets the bits the rules require after parent
// (chainstate.Params.NextAfter, which reads block 1 and the parent's last ancestors through anc
// on an adjusting chain), a time of at least the earliest valid one, and a hash at most its
// target.
func MineBlockAt(p *chainstate.Params, parent *chainstate.Header, anc chainstate.Ancestors, r chainstate.AccountReader, key ed25519.PrivateKey, txs []*chainstate.Tx, timeMs uint64) (*chainstate.Block, error) {
	next, err := p.NextAfter(parent, anc)
	if err != nil {
		return nil, fmt.Errorf("next block rules: %w", err)
	}
	pub := chainstate.PublicKey(key.Public().(ed25519.PublicKey))
	b, _, err := chainstate.BuildTemplate(p, parent, r, pub, txs, max(timeMs, next.MinTimeMs))
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(b.Txs) != len(txs) {
		return nil, fmt.Errorf("template took %d of %d txs", len(b.Txs), len(txs))
	}
	b.Header.Bits = next.Bits
	target, err := p.Target(&b.Header)
	if err != nil {
		return nil, err
	}
	b.Header.Seal(key)
	res := SearchTarget(b.Header.WorkHeader(), TargetOf(target), Range{Start: 0, Count: NonceSpace}, 0, nil)
	if !res.Found {
		return nil, fmt.Errorf("no nonce found at bits %08x", b.Header.Bits)
	}
	b.Header.Nonce = res.Nonce
	return b, nil
}
