package compact

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"

	"github.com/dchest/siphash"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// Errors of reconstruction. ErrMalformed and ErrBadTxn are the peer's fault (a protocol
// violation); ErrCollision and ErrRootMismatch are not (short ids may collide by chance, or a
// pool transaction with the same short id was the wrong one): the receiver asks for the full
// block instead.
var (
	// ErrMalformed: a compact block whose header or a prefilled transaction does not decode.
	ErrMalformed = errors.New("compact block: malformed")
	// ErrCollision: two transactions of the compact block have the same short id.
	ErrCollision = errors.New("compact block: short id collision")
	// ErrBadTxn: a BlockTxn that does not fit the request (count) or does not decode.
	ErrBadTxn = errors.New("compact block: bad blocktxn")
	// ErrRootMismatch: the reconstructed transactions do not hash to the header's tx root.
	ErrRootMismatch = errors.New("compact block: reconstructed transactions do not match the tx root")
	// ErrBadIndex: a GetBlockTxn asks for an index the block does not have.
	ErrBadIndex = errors.New("compact block: getblocktxn index out of range")
)

// Key is the SipHash-2-4 key of one compact block message.
type Key struct{ K0, K1 uint64 }

// NewKey derives the key of a compact block: d = SHA-256(block hash (32) ‖ nonce u64 big-endian),
// K0 = d[0:8] and K1 = d[8:16], each read little-endian (SipHash's own reading of a 16-byte key
// d[0:16]). The nonce is the one the CmpctBlock carries, drawn at random by the sender for each
// message: the key differs per block and per connection, so nobody can make two transactions
// collide on every link.
func NewKey(block chainstate.Hash, nonce uint64) Key {
	var buf [40]byte
	copy(buf[:], block[:])
	binary.BigEndian.PutUint64(buf[32:], nonce)
	d := sha256.Sum256(buf[:])
	return Key{K0: binary.LittleEndian.Uint64(d[0:8]), K1: binary.LittleEndian.Uint64(d[8:16])}
}

// ShortID is the short id of the transaction with hash tx: SipHash-2-4 under k of the 32 bytes of
// the hash, its 48 low bits.
func (k Key) ShortID(tx chainstate.Hash) uint64 {
	return siphash.Hash(k.K0, k.K1, tx[:]) & noisep2p.MaxShortID
}

// Build makes the compact form of b for one peer: hashes[i] is the hash of b.Txs[i], nonce the
// message's random nonce, and known reports the transactions the peer is known to have (it
// announced them or was sent them); every other transaction is prefilled, since the peer
// surely lacks it. (A block's seal is in its header, which always travels whole; the chain has
// no coinbase transaction to prefill.)
func Build(b *chainstate.Block, hashes []chainstate.Hash, nonce uint64, known func(chainstate.Hash) bool) noisep2p.CmpctBlock {
	m := noisep2p.CmpctBlock{Nonce: nonce}
	copy(m.Header[:], b.Header.Encode())
	k := NewKey(b.Hash(), nonce)
	for i, tx := range b.Txs {
		if known(hashes[i]) {
			m.ShortIDs = append(m.ShortIDs, k.ShortID(hashes[i]))
			continue
		}
		m.Prefilled = append(m.Prefilled, noisep2p.PrefilledTx{Index: uint32(i), Raw: tx.Encode()})
	}
	return m
}

// Hashes returns the hashes of b's transactions, in order.
func Hashes(b *chainstate.Block) []chainstate.Hash {
	hs := make([]chainstate.Hash, len(b.Txs))
	for i, tx := range b.Txs {
		hs[i] = tx.Hash()
	}
	return hs
}

// Txn answers a GetBlockTxn for b: the encodings of the transactions at idx. An index past the
// block's transactions is ErrBadIndex.
func Txn(b *chainstate.Block, idx []uint32) (noisep2p.BlockTxn, error) {
	m := noisep2p.BlockTxn{Hash: b.Hash(), Txs: make([][]byte, len(idx))}
	for i, x := range idx {
		if int64(x) >= int64(len(b.Txs)) {
			return noisep2p.BlockTxn{}, fmt.Errorf("%w: %d of %d", ErrBadIndex, x, len(b.Txs))
		}
		m.Txs[i] = b.Txs[x].Encode()
	}
	return m, nil
}

// Found is a pool transaction that matched a short id, with its hash (so that it is not hashed
// again); the zero Found is "not found".
type Found struct {
	Tx   *chainstate.Tx
	Hash chainstate.Hash
}

// Match looks short ids up in a pool of transactions: for each of ids, the pool's transaction
// with that short id under k, or the zero Found when none has it or more than one does (an
// ambiguous id is then asked for like a missing one). pool yields hash and transaction.
func Match(k Key, ids []uint64, pool iter.Seq2[chainstate.Hash, *chainstate.Tx]) []Found {
	want := make(map[uint64]int, len(ids)) // short id -> index in ids
	for i, id := range ids {
		want[id] = i
	}
	out := make([]Found, len(ids))
	ambiguous := map[uint64]bool{}
	for h, tx := range pool {
		id := k.ShortID(h)
		i, ok := want[id]
		if !ok {
			continue
		}
		if out[i].Tx != nil {
			ambiguous[id] = true
		}
		out[i] = Found{Tx: tx, Hash: h}
	}
	for id := range ambiguous {
		out[want[id]] = Found{}
	}
	return out
}

// Partial is a block being reconstructed from a compact block: its header, the prefilled
// transactions at their slots and the short ids of the others.
type Partial struct {
	Header chainstate.Header
	Hash   chainstate.Hash
	Key    Key
	txs    []*chainstate.Tx
	hashes []chainstate.Hash // of each filled slot
	ids    []uint64          // short id of each slot without a prefilled transaction, in slot order
	slots  []uint32          // the slot of each id
}

// NewPartial starts the reconstruction of m. A header or prefilled transaction that does not
// decode is ErrMalformed; two equal short ids are ErrCollision (ask for the full block).
func NewPartial(m noisep2p.CmpctBlock) (*Partial, error) {
	h, err := chainstate.DecodeHeader(m.Header[:])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	p := &Partial{Header: *h, Hash: h.Hash(), txs: make([]*chainstate.Tx, m.TxCount()), hashes: make([]chainstate.Hash, m.TxCount())}
	p.Key = NewKey(p.Hash, m.Nonce)
	for _, pre := range m.Prefilled {
		tx, err := chainstate.DecodeTx(pre.Raw)
		if err != nil {
			return nil, fmt.Errorf("%w: prefilled transaction %d: %v", ErrMalformed, pre.Index, err)
		}
		p.txs[pre.Index], p.hashes[pre.Index] = tx, tx.Hash()
	}
	seen := make(map[uint64]struct{}, len(m.ShortIDs))
	p.ids, p.slots = m.ShortIDs, make([]uint32, 0, len(m.ShortIDs))
	for i, tx := range p.txs {
		if tx != nil {
			continue
		}
		id := m.ShortIDs[len(p.slots)]
		if _, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: short id %012x twice", ErrCollision, id)
		}
		seen[id] = struct{}{}
		p.slots = append(p.slots, uint32(i))
	}
	return p, nil
}

// ShortIDs are the short ids to look up, in slot order.
func (p *Partial) ShortIDs() []uint64 { return p.ids }

// Fill puts the pool's matches into their slots: found[i] (zero: not found) is the transaction of
// ShortIDs()[i] with its hash. found shorter than the ids fills what it has.
func (p *Partial) Fill(found []Found) {
	for i, f := range found {
		if i < len(p.slots) && f.Tx != nil {
			p.txs[p.slots[i]], p.hashes[p.slots[i]] = f.Tx, f.Hash
		}
	}
}

// Missing returns the slots still empty, increasing: the indexes of a GetBlockTxn.
func (p *Partial) Missing() []uint32 {
	var out []uint32
	for _, s := range p.slots {
		if p.txs[s] == nil {
			out = append(out, s)
		}
	}
	return out
}

// FillTxn fills the missing slots from a BlockTxn answering GetBlockTxn{Missing()}: exactly one
// transaction per missing slot, each decoding, or ErrBadTxn.
func (p *Partial) FillTxn(m noisep2p.BlockTxn) error {
	miss := p.Missing()
	if len(m.Txs) != len(miss) {
		return fmt.Errorf("%w: %d transactions for %d missing", ErrBadTxn, len(m.Txs), len(miss))
	}
	txs := make([]*chainstate.Tx, len(miss))
	for i, raw := range m.Txs {
		tx, err := chainstate.DecodeTx(raw)
		if err != nil {
			return fmt.Errorf("%w: transaction %d: %v", ErrBadTxn, i, err)
		}
		txs[i] = tx
	}
	for i, s := range miss {
		p.txs[s], p.hashes[s] = txs[i], txs[i].Hash()
	}
	return nil
}

// Block returns the reconstructed block once nothing is missing, with its transactions' hashes;
// transactions that do not hash to the header's tx root are ErrRootMismatch (a short id matched
// the wrong pool transaction, or the peer sent wrong ones: ask for the full block).
func (p *Partial) Block() (*chainstate.Block, []chainstate.Hash, error) {
	if miss := p.Missing(); len(miss) > 0 {
		return nil, nil, fmt.Errorf("compact block: %d transactions still missing", len(miss))
	}
	if chainstate.TxRootOfHashes(p.hashes) != p.Header.TxRoot {
		return nil, nil, ErrRootMismatch
	}
	return &chainstate.Block{Header: p.Header, Txs: p.txs}, p.hashes, nil
}
