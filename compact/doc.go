// Package compact builds and reconstructs compact blocks (docs/protocol.md §4, "Compact
// blocks"; in the spirit of BIP152). It is pure: no I/O, no clock, no goroutines.
//
// A sender turns a block into a noisep2p.CmpctBlock for one peer with Build: the header whole,
// a 6-byte short id (SipHash-2-4, keyed per block and per message by NewKey) for every
// transaction the peer is known to have, and every other transaction prefilled. A receiver
// starts a Partial from it (NewPartial: a repeated short id is ErrCollision, and the receiver
// asks for the full block), fills the slots it finds in its mempool (Match, Fill), asks for the
// rest with a GetBlockTxn of Missing(), fills them from the BlockTxn (FillTxn; the sender answers
// with Txn) and takes the Block, whose transactions must hash to the header's tx root
// (ErrRootMismatch otherwise: a short id matched the wrong pool transaction; the receiver asks
// for the full block).
//
// The actors' side (which peers get compact blocks, high-bandwidth relay before commit, the
// fallbacks) is actors/peerconn_compact.go.
package compact
