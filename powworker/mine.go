package powworker

import (
	"crypto/ed25519"
	"fmt"

	"github.com/actorchain/actorchain/chainstate"
)

// MineBlock builds the block of txs on parent at time timeMs (every transaction must apply to
// r, the ledger at parent), seals it with key and searches the whole nonce space on the calling
// goroutine: mining outside any node, for the chains `node bench` and the tests feed to nodes.
func MineBlock(p *chainstate.Params, parent *chainstate.Header, r chainstate.AccountReader, key ed25519.PrivateKey, txs []*chainstate.Tx, timeMs uint64) (*chainstate.Block, error) {
	pub := chainstate.PublicKey(key.Public().(ed25519.PublicKey))
	b, _, err := chainstate.BuildTemplate(p, parent, r, pub, txs, timeMs)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(b.Txs) != len(txs) {
		return nil, fmt.Errorf("template took %d of %d txs", len(b.Txs), len(txs))
	}
	b.Header.Seal(key)
	res := Search(b.Header.WorkHeader(), b.Header.Bits, Range{Start: 0, Count: NonceSpace}, 0, nil)
	if !res.Found {
		return nil, fmt.Errorf("no nonce found at %d bits", b.Header.Bits)
	}
	b.Header.Nonce = res.Nonce
	return b, nil
}
