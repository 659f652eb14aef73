package noisep2p

import (
	"encoding/binary"
	"fmt"
)

// Compact block relay (docs/protocol.md §4, "Compact blocks"): four message types of minor
// version 1, sent only to a peer whose hello has FeatureCompactBlocks. This file is their codec;
// package compact builds and reconstructs them.
const (
	MsgSendCmpct   uint8 = 13 // SendCmpct{HighBandwidth}: how the sender wants new blocks
	MsgCmpctBlock  uint8 = 14 // CmpctBlock: header, nonce, short ids, prefilled transactions
	MsgGetBlockTxn uint8 = 15 // GetBlockTxn{Hash, Indexes}: the transactions a receiver lacks
	MsgBlockTxn    uint8 = 16 // BlockTxn{Hash, Txs}: the answer to GetBlockTxn
)

// MinorCompact is the minor protocol version that introduced compact blocks; a node that supports
// them sends at least this minor and the feature bit.
const MinorCompact = 1

// FeatureCompactBlocks is the hello feature bit (bit 0) of a node that accepts and sends the
// compact block messages.
const FeatureCompactBlocks uint64 = 1 << 0

// HasFeature reports whether h announces every bit of f.
func (h *Hello) HasFeature(f uint64) bool { return h.Features&f == f }

// Compact block codec limits.
const (
	// CmpctHeaderSize is the size of the block header in a CmpctBlock: the canonical header
	// encoding (chainstate.HeaderSize).
	CmpctHeaderSize = 220
	// ShortIDSize is the size of one short transaction id on the wire (a 48-bit value).
	ShortIDSize = 6
	// MaxShortID is the largest short id (2^48 - 1).
	MaxShortID = 1<<48 - 1
	// MaxCmpctTxs bounds the transactions of one compact block (short ids plus prefilled), of one
	// GetBlockTxn and of one BlockTxn: the most a block can hold (chainstate.MaxBlockTxsDecode).
	MaxCmpctTxs = 100_000
	// MaxTxRawLen is the longest transaction a u16 length can carry.
	MaxTxRawLen = 1<<16 - 1

	// GetBlockTxnLimit is the largest valid GetBlockTxn: 32 + 4 + 100,000 × 4 = 400,036.
	GetBlockTxnLimit = 32 + 4 + 4*MaxCmpctTxs
	// CmpctBlockLimit and BlockTxnLimit are the payload limits of CmpctBlock and BlockTxn: those
	// of a block.
	CmpctBlockLimit = BlockLimit
	BlockTxnLimit   = BlockLimit
)

// ---- SendCmpct -------------------------------------------------------------------------------

// SendCmpct tells the peer how this node wants new blocks. Layout: mode u8, 0 or 1.
// HighBandwidth (1): push a CmpctBlock as soon as a new block's header and proof of work check
// out, before validating and storing it; low bandwidth (0, also the state before any SendCmpct):
// send a CmpctBlock for a new block once it is connected.
type SendCmpct struct{ HighBandwidth bool }

func (SendCmpct) Type() uint8     { return MsgSendCmpct }
func (SendCmpct) Validate() error { return nil }
func (m SendCmpct) Encode() []byte {
	if m.HighBandwidth {
		return []byte{1}
	}
	return []byte{0}
}

// DecodeSendCmpct decodes exactly one byte, 0 or 1.
func DecodeSendCmpct(b []byte) (SendCmpct, error) {
	if len(b) != 1 {
		return SendCmpct{}, malformed(MsgSendCmpct, fmt.Errorf("want 1 byte, have %d", len(b)))
	}
	if b[0] > 1 {
		return SendCmpct{}, malformed(MsgSendCmpct, fmt.Errorf("mode %d (want 0 or 1)", b[0]))
	}
	return SendCmpct{HighBandwidth: b[0] == 1}, nil
}

// ---- CmpctBlock ------------------------------------------------------------------------------

// PrefilledTx is a transaction sent whole in a CmpctBlock, at its index in the block.
type PrefilledTx struct {
	Index uint32
	Raw   []byte // the transaction's canonical encoding, 1..65535 bytes
}

// CmpctBlock is a block as its header, the short ids of the transactions the receiver probably
// has and the other transactions whole. Layout: header [220] ‖ nonce u64 ‖ count u32 ‖ count ×
// short id u48 ‖ prefilled count u32 ‖ prefilled count × (index u32 ‖ length u16 ‖ tx). The block's
// transactions are the prefilled ones at their indexes and the short ids, in order, in the other
// slots: count + prefilled count transactions (at most 100,000), prefilled indexes strictly
// increasing and below that total.
type CmpctBlock struct {
	Header    [CmpctHeaderSize]byte
	Nonce     uint64
	ShortIDs  []uint64
	Prefilled []PrefilledTx
}

func (CmpctBlock) Type() uint8 { return MsgCmpctBlock }

// TxCount is the number of transactions of the block.
func (m CmpctBlock) TxCount() int { return len(m.ShortIDs) + len(m.Prefilled) }

// Validate checks the counts, the short ids, the prefilled indexes and lengths.
func (m CmpctBlock) Validate() error {
	total := m.TxCount()
	if total > MaxCmpctTxs {
		return malformed(MsgCmpctBlock, fmt.Errorf("%d transactions (max %d)", total, MaxCmpctTxs))
	}
	for i, id := range m.ShortIDs {
		if id > MaxShortID {
			return malformed(MsgCmpctBlock, fmt.Errorf("short id %d is over 48 bits", i))
		}
	}
	for i, p := range m.Prefilled {
		if int64(p.Index) >= int64(total) {
			return malformed(MsgCmpctBlock, fmt.Errorf("prefilled %d: index %d of %d transactions", i, p.Index, total))
		}
		if i > 0 && p.Index <= m.Prefilled[i-1].Index {
			return malformed(MsgCmpctBlock, fmt.Errorf("prefilled %d: index %d not above %d", i, p.Index, m.Prefilled[i-1].Index))
		}
		if len(p.Raw) == 0 || len(p.Raw) > MaxTxRawLen {
			return malformed(MsgCmpctBlock, fmt.Errorf("prefilled %d: %d bytes (want 1..%d)", i, len(p.Raw), MaxTxRawLen))
		}
	}
	return nil
}

// Encode writes the layout; it does not validate (Validate first: an over-long raw transaction
// would be written with a truncated length).
func (m CmpctBlock) Encode() []byte {
	n := CmpctHeaderSize + 8 + 4 + ShortIDSize*len(m.ShortIDs) + 4
	for _, p := range m.Prefilled {
		n += 6 + len(p.Raw)
	}
	b := make([]byte, 0, n)
	b = append(b, m.Header[:]...)
	b = binary.BigEndian.AppendUint64(b, m.Nonce)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.ShortIDs)))
	for _, id := range m.ShortIDs {
		b = appendU48(b, id)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Prefilled)))
	for _, p := range m.Prefilled {
		b = binary.BigEndian.AppendUint32(b, p.Index)
		b = binary.BigEndian.AppendUint16(b, uint16(len(p.Raw)))
		b = append(b, p.Raw...)
	}
	return b
}

func appendU48(b []byte, v uint64) []byte {
	return append(b, byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func (r *reader) u48() uint64 {
	b := r.take(6)
	if b == nil {
		return 0
	}
	return uint64(b[0])<<40 | uint64(b[1])<<32 | uint64(b[2])<<24 | uint64(b[3])<<16 | uint64(b[4])<<8 | uint64(b[5])
}

// DecodeCmpctBlock decodes strictly. Every count is checked against the limit and the bytes left
// before anything is allocated; the result's prefilled transactions alias b.
func DecodeCmpctBlock(b []byte) (CmpctBlock, error) {
	r := reader{b: b}
	var m CmpctBlock
	copy(m.Header[:], r.take(CmpctHeaderSize))
	m.Nonce = r.u64()
	n := r.u32()
	if r.err != nil {
		return CmpctBlock{}, malformed(MsgCmpctBlock, r.err)
	}
	if n > MaxCmpctTxs {
		return CmpctBlock{}, malformed(MsgCmpctBlock, fmt.Errorf("%d short ids (max %d)", n, MaxCmpctTxs))
	}
	if int(n)*ShortIDSize+4 > len(r.b) {
		return CmpctBlock{}, malformed(MsgCmpctBlock, fmt.Errorf("%d short ids in %d bytes", n, len(r.b)))
	}
	if n > 0 {
		m.ShortIDs = make([]uint64, n)
	}
	for i := range m.ShortIDs {
		m.ShortIDs[i] = r.u48()
	}
	np := r.u32()
	if r.err != nil {
		return CmpctBlock{}, malformed(MsgCmpctBlock, r.err)
	}
	if int64(n)+int64(np) > MaxCmpctTxs {
		return CmpctBlock{}, malformed(MsgCmpctBlock, fmt.Errorf("%d short ids and %d prefilled (max %d transactions)", n, np, MaxCmpctTxs))
	}
	if int(np)*7 > len(r.b) {
		return CmpctBlock{}, malformed(MsgCmpctBlock, fmt.Errorf("%d prefilled in %d bytes", np, len(r.b)))
	}
	if np > 0 {
		m.Prefilled = make([]PrefilledTx, np)
	}
	for i := range m.Prefilled {
		m.Prefilled[i].Index = r.u32()
		m.Prefilled[i].Raw = r.take(int(r.u16()))
	}
	if err := r.done(); err != nil {
		return CmpctBlock{}, malformed(MsgCmpctBlock, err)
	}
	if err := m.Validate(); err != nil {
		return CmpctBlock{}, err
	}
	return m, nil
}

// ---- GetBlockTxn -----------------------------------------------------------------------------

// GetBlockTxn asks for the transactions of block Hash at Indexes (those a CmpctBlock left the
// receiver without). Layout: hash [32] ‖ count u32 (1..100,000) ‖ count × index u32, strictly
// increasing, each below 100,000.
type GetBlockTxn struct {
	Hash    [32]byte
	Indexes []uint32
}

func (GetBlockTxn) Type() uint8 { return MsgGetBlockTxn }

// Validate checks the count and that the indexes strictly increase.
func (m GetBlockTxn) Validate() error {
	if len(m.Indexes) == 0 || len(m.Indexes) > MaxCmpctTxs {
		return malformed(MsgGetBlockTxn, fmt.Errorf("%d indexes (want 1..%d)", len(m.Indexes), MaxCmpctTxs))
	}
	for i, x := range m.Indexes {
		if x >= MaxCmpctTxs {
			return malformed(MsgGetBlockTxn, fmt.Errorf("index %d is %d (max %d)", i, x, MaxCmpctTxs-1))
		}
		if i > 0 && x <= m.Indexes[i-1] {
			return malformed(MsgGetBlockTxn, fmt.Errorf("index %d: %d not above %d", i, x, m.Indexes[i-1]))
		}
	}
	return nil
}

// Encode writes the layout (Validate reports what it would not accept back).
func (m GetBlockTxn) Encode() []byte {
	b := make([]byte, 0, 36+4*len(m.Indexes))
	b = append(b, m.Hash[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Indexes)))
	for _, x := range m.Indexes {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// DecodeGetBlockTxn decodes strictly: exact length 36 + 4 × count.
func DecodeGetBlockTxn(b []byte) (GetBlockTxn, error) {
	r := reader{b: b}
	var m GetBlockTxn
	m.Hash = r.hash()
	n := r.u32()
	if r.err != nil {
		return GetBlockTxn{}, malformed(MsgGetBlockTxn, r.err)
	}
	if n == 0 || n > MaxCmpctTxs {
		return GetBlockTxn{}, malformed(MsgGetBlockTxn, fmt.Errorf("%d indexes (want 1..%d)", n, MaxCmpctTxs))
	}
	if int(n)*4 != len(r.b) {
		return GetBlockTxn{}, malformed(MsgGetBlockTxn, fmt.Errorf("%d indexes need %d bytes, have %d", n, 4*n, len(r.b)))
	}
	m.Indexes = make([]uint32, n)
	for i := range m.Indexes {
		m.Indexes[i] = r.u32()
	}
	if err := m.Validate(); err != nil {
		return GetBlockTxn{}, err
	}
	return m, nil
}

// ---- BlockTxn --------------------------------------------------------------------------------

// BlockTxn answers a GetBlockTxn with the transactions asked for, in the order asked. Layout:
// hash [32] ‖ count u32 (1..100,000) ‖ count × (length u16 (>= 1) ‖ tx).
type BlockTxn struct {
	Hash [32]byte
	Txs  [][]byte
}

func (BlockTxn) Type() uint8 { return MsgBlockTxn }

// Validate checks the count and every length.
func (m BlockTxn) Validate() error {
	if len(m.Txs) == 0 || len(m.Txs) > MaxCmpctTxs {
		return malformed(MsgBlockTxn, fmt.Errorf("%d transactions (want 1..%d)", len(m.Txs), MaxCmpctTxs))
	}
	for i, t := range m.Txs {
		if len(t) == 0 || len(t) > MaxTxRawLen {
			return malformed(MsgBlockTxn, fmt.Errorf("transaction %d: %d bytes (want 1..%d)", i, len(t), MaxTxRawLen))
		}
	}
	return nil
}

// Encode writes the layout (Validate first).
func (m BlockTxn) Encode() []byte {
	n := 36
	for _, t := range m.Txs {
		n += 2 + len(t)
	}
	b := make([]byte, 0, n)
	b = append(b, m.Hash[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Txs)))
	for _, t := range m.Txs {
		b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
		b = append(b, t...)
	}
	return b
}

// DecodeBlockTxn decodes strictly; the count is checked against the limit and the bytes left
// before the slice is allocated, and the transactions alias b.
func DecodeBlockTxn(b []byte) (BlockTxn, error) {
	r := reader{b: b}
	var m BlockTxn
	m.Hash = r.hash()
	n := r.u32()
	if r.err != nil {
		return BlockTxn{}, malformed(MsgBlockTxn, r.err)
	}
	if n == 0 || n > MaxCmpctTxs {
		return BlockTxn{}, malformed(MsgBlockTxn, fmt.Errorf("%d transactions (want 1..%d)", n, MaxCmpctTxs))
	}
	if int(n)*3 > len(r.b) {
		return BlockTxn{}, malformed(MsgBlockTxn, fmt.Errorf("%d transactions in %d bytes", n, len(r.b)))
	}
	m.Txs = make([][]byte, n)
	for i := range m.Txs {
		m.Txs[i] = r.take(int(r.u16()))
	}
	if err := r.done(); err != nil {
		return BlockTxn{}, malformed(MsgBlockTxn, err)
	}
	if err := m.Validate(); err != nil {
		return BlockTxn{}, err
	}
	return m, nil
}
