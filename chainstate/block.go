package chainstate

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
)

// MaxBlockTxsDecode is the most transactions DecodeBlock accepts, whatever the chain's
// max_block_txs; it bounds what a decoder allocates for hostile input.
const MaxBlockTxsDecode = 100_000

// Block is a header and its transactions. A block does not change once it passed CheckBlock:
// the check keeps its transactions' hashes for the commit that connects it (txHashes).
type Block struct {
	Header Header
	Txs    []*Tx

	checked txHashes   // set when the block passed CheckBlock (or CheckBlocksAlone)
	raw     blockBytes // set by DecodeBlockOwned
}

// blockBytes is the encoding a block was decoded from, with the transactions decoded from it.
type blockBytes struct {
	enc []byte
	txs []*Tx
}

// txHashes are the hashes of the transactions of txs, in order.
type txHashes struct {
	txs    []*Tx
	hashes []Hash
}

// keepHashes keeps hashes, those of b's transactions, for b's commit.
func (b *Block) keepHashes(hashes []Hash) { b.checked = txHashes{txs: b.Txs, hashes: hashes} }

// sameTxs reports whether txs is still the slice b.Txs was: same length, same first element
// (a block's transactions are replaced, not changed in place).
func (b *Block) sameTxs(txs []*Tx) bool {
	return len(txs) == len(b.Txs) && (len(txs) == 0 || &txs[0] == &b.Txs[0])
}

// txHashes returns the hashes of b's transactions in order: the ones its check computed when
// b.Txs is still the slice it checked (a sync's commit then hashes nothing again: 1.4% of its
// CPU), otherwise computed now.
func (b *Block) txHashes() []Hash {
	if c := b.checked; len(c.hashes) == len(b.Txs) && b.sameTxs(c.txs) {
		return c.hashes
	}
	hashes := make([]Hash, len(b.Txs))
	for i, tx := range b.Txs {
		hashes[i] = tx.Hash()
	}
	return hashes
}

// Hash returns the block hash (Header.Hash).
func (b *Block) Hash() Hash { return b.Header.Hash() }

// Encode returns the canonical block encoding: header encoding (HeaderSize) ‖ u32 tx count ‖ for
// each transaction: u16 length ‖ transaction encoding.
func (b *Block) Encode() []byte {
	n := HeaderSize + 4
	for _, tx := range b.Txs {
		n += 2 + tx.encodedLen()
	}
	out := b.Header.AppendEncode(make([]byte, 0, n))
	out = be.AppendUint32(out, uint32(len(b.Txs)))
	for _, tx := range b.Txs {
		out = be.AppendUint16(out, uint16(tx.encodedLen()))
		out = tx.AppendEncode(out)
	}
	return out
}

// encoding returns b's canonical encoding: the bytes it was decoded from (DecodeBlockOwned)
// while its header and transactions are still the ones decoded from them (a sync's commit then
// stores the bytes that came off the wire instead of a copy, 175 KB a block of 1,000
// transfers), otherwise Encode. The caller must not change it.
func (b *Block) encoding() []byte {
	if r := b.raw; len(r.enc) >= HeaderSize && b.sameTxs(r.txs) &&
		bytes.Equal(b.Header.AppendEncode(make([]byte, 0, HeaderSize)), r.enc[:HeaderSize]) {
		return r.enc
	}
	return b.Encode()
}

// DecodeBlockOwned is DecodeBlock for a caller that hands raw over: the block keeps it as its
// encoding for its commit (encoding). raw must not change afterwards.
func DecodeBlockOwned(raw []byte) (*Block, error) {
	b, err := decodeBlock(raw, true)
	if err != nil {
		return nil, err
	}
	b.raw = blockBytes{enc: raw, txs: b.Txs}
	return b, nil
}

// DecodeBlock decodes the canonical block encoding strictly: at most MaxBlockTxsDecode
// transactions (checked, together with the bytes left, before allocating), every length within
// the bytes left, every transaction strictly decoded, no trailing bytes. Errors are *RuleError
// with CodeMalformed. It checks nothing beyond the encoding.
func DecodeBlock(b []byte) (*Block, error) { return decodeBlock(b, false) }

// decodeBlock is DecodeBlock; with slab the transactions are decoded into one array (one
// allocation a block instead of one a transaction) that any one of them keeps alive: for a
// block kept whole until it is stored (DecodeBlockOwned), not for one whose transactions may
// outlive it (in the mempool after a reorg).
func decodeBlock(b []byte, slab bool) (*Block, error) {
	d := newDecoder("block", b)
	if len(b) < HeaderSize+4 {
		d.failf("want at least %d bytes, got %d", HeaderSize+4, len(b))
		return nil, d.err
	}
	blk := &Block{Header: *decodeHeaderFrom(d)}
	count := d.u32("tx count")
	if count > MaxBlockTxsDecode {
		d.failf("tx count %d exceeds %d", count, MaxBlockTxsDecode)
		return nil, d.err
	}
	if need := uint64(count) * uint64(2+MinTxSize); need > uint64(d.remaining()) {
		d.failf("tx count %d needs at least %d bytes, %d left", count, need, d.remaining())
		return nil, d.err
	}
	var txs []Tx
	if count > 0 {
		blk.Txs = make([]*Tx, 0, count)
		if slab {
			txs = make([]Tx, count)
		}
	}
	for i := uint32(0); i < count && d.err == nil; i++ {
		n := int(d.u16("tx length"))
		raw := d.take(n, "tx")
		if raw == nil {
			break
		}
		var chainID string
		if len(blk.Txs) > 0 {
			chainID = blk.Txs[len(blk.Txs)-1].ChainID
		}
		var tx *Tx
		if slab {
			tx = &txs[i]
		} else {
			tx = new(Tx)
		}
		if err := decodeTxInto(tx, raw, chainID); err != nil {
			d.failf("tx %d: %s", i, strings.TrimPrefix(err.(*RuleError).Reason, "tx: "))
			break
		}
		blk.Txs = append(blk.Txs, tx)
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return blk, nil
}

// Prefixes of the TxRoot Merkle tree, separating leaves from inner nodes.
const (
	merkleLeafPrefix  = 0x00
	merkleInnerPrefix = 0x01
)

// TxRoot returns the binary Merkle root of txs' hashes:
//
//   - no transactions: SHA-256 of the empty string;
//   - a leaf is SHA-256(0x00 ‖ tx hash);
//   - an inner node is SHA-256(0x01 ‖ left ‖ right);
//   - each level pairs nodes left to right; an odd last node is promoted to the next level as is
//     (not duplicated, so two different lists never share a root the way Bitcoin's can).
func TxRoot(txs []*Tx) Hash {
	hashes := make([]Hash, len(txs))
	for i, tx := range txs {
		hashes[i] = tx.Hash()
	}
	return merkleRoot(hashes)
}

// merkleRoot is TxRoot over precomputed transaction hashes. It does not modify hashes.
func merkleRoot(hashes []Hash) Hash {
	root, _ := merkleRootIn(hashes, nil)
	return root
}

// merkleRootIn is merkleRoot working in scratch (grown when too short, and returned).
func merkleRootIn(hashes, scratch []Hash) (Hash, []Hash) {
	if len(hashes) == 0 {
		return sha256.Sum256(nil), scratch
	}
	scratch = slices.Grow(scratch[:0], len(hashes))
	level := scratch[:len(hashes)]
	var buf [1 + 2*32]byte
	for i, h := range hashes {
		buf[0] = merkleLeafPrefix
		copy(buf[1:], h[:])
		level[i] = sha256.Sum256(buf[:33])
	}
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			buf[0] = merkleInnerPrefix
			copy(buf[1:], level[i][:])
			copy(buf[33:], level[i+1][:])
			next = append(next, sha256.Sum256(buf[:]))
		}
		level = next
	}
	return level[0], scratch
}
