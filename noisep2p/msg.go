package noisep2p

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Message types. Numbers are part of the wire format (docs/protocol.md); 13..16 are the compact
// block messages of minor version 1 (compact.go); 0 and 17..255 are unassigned.
const (
	MsgPing       uint8 = 1  // Ping{Nonce}; answered by the transport
	MsgPong       uint8 = 2  // Pong{Nonce}; consumed by the transport (RTT)
	MsgGetAddr    uint8 = 3  // GetAddr{}: ask for known peer addresses
	MsgAddr       uint8 = 4  // Addr{Peers}: at most 1000 addresses
	MsgInv        uint8 = 5  // Inv{Items}: announce blocks/txs by hash
	MsgGetData    uint8 = 6  // GetData{Items}: request blocks/txs by hash
	MsgNotFound   uint8 = 7  // NotFound{Items}: the requested items we do not have
	MsgBlock      uint8 = 8  // Block{Raw}: one encoded block (opaque here)
	MsgTx         uint8 = 9  // Tx{Raw}: one encoded transaction (opaque here)
	MsgGetBlocks  uint8 = 10 // GetBlocks{Locator, Stop}: answered with an Inv of up to 500 block hashes
	MsgGetMempool uint8 = 11 // GetMempool{}: ask for an Inv of the mempool
	MsgDisconnect uint8 = 12 // Disconnect{Reason}: sent before closing; consumed by the transport
)

// Inventory kinds.
const (
	InvBlock uint8 = 1
	InvTx    uint8 = 2
)

// Codec limits.
const (
	MaxAddrPeers        = 1000   // entries in one Addr
	MaxAddrLen          = 255    // bytes of one HOST:PORT
	MaxInvItems         = 50_000 // items in one Inv, GetData or NotFound
	MaxLocator          = 101    // hashes in one GetBlocks locator
	MaxGetBlocksReply   = 500    // block hashes in the Inv answering a GetBlocks
	MaxDisconnectReason = 256    // bytes of a Disconnect reason

	addrEntryFixed = 32 + 1 + 8 // id, address length, last seen
	invItemSize    = 1 + 32
)

// Default per-type payload limits (the L of a message, see Config.MaxMessage).
const (
	MaxMessageCap = 8 << 20  // absolute cap of any message
	ControlLimit  = 64 << 10 // control messages and unknown types
	BlockLimit    = 8 << 20  // Block
	TxLimit       = 64 << 10 // Tx
	// AddrLimit is the largest valid Addr: 2 + 1000 × (32 + 1 + 255 + 8) = 296,002.
	AddrLimit = 2 + MaxAddrPeers*(addrEntryFixed+MaxAddrLen)
	// InvLimit is the largest valid Inv, GetData or NotFound: 4 + 50,000 × 33 = 1,650,004.
	InvLimit = 4 + MaxInvItems*invItemSize
)

// Message is implemented by every message struct of this package.
type Message interface {
	Type() uint8
	Encode() []byte
	Validate() error
}

// MsgName returns a short lower-case name of a message type for logs ("inv", "type-77").
func MsgName(typ uint8) string {
	switch typ {
	case MsgPing:
		return "ping"
	case MsgPong:
		return "pong"
	case MsgGetAddr:
		return "getaddr"
	case MsgAddr:
		return "addr"
	case MsgInv:
		return "inv"
	case MsgGetData:
		return "getdata"
	case MsgNotFound:
		return "notfound"
	case MsgBlock:
		return "block"
	case MsgTx:
		return "tx"
	case MsgGetBlocks:
		return "getblocks"
	case MsgGetMempool:
		return "getmempool"
	case MsgDisconnect:
		return "disconnect"
	case MsgSendCmpct:
		return "sendcmpct"
	case MsgCmpctBlock:
		return "cmpctblock"
	case MsgGetBlockTxn:
		return "getblocktxn"
	case MsgBlockTxn:
		return "blocktxn"
	}
	return fmt.Sprintf("type-%d", typ)
}

// DecodeMessage decodes a payload of the given type with the strict decoder of that type. Unknown
// types return an error wrapping ErrUnknownMessage; malformed payloads one wrapping ErrMalformed.
func DecodeMessage(typ uint8, b []byte) (Message, error) {
	switch typ {
	case MsgPing:
		return DecodePing(b)
	case MsgPong:
		return DecodePong(b)
	case MsgGetAddr:
		return DecodeGetAddr(b)
	case MsgAddr:
		return DecodeAddr(b)
	case MsgInv:
		return DecodeInv(b)
	case MsgGetData:
		return DecodeGetData(b)
	case MsgNotFound:
		return DecodeNotFound(b)
	case MsgBlock:
		return DecodeBlock(b)
	case MsgTx:
		return DecodeTx(b)
	case MsgGetBlocks:
		return DecodeGetBlocks(b)
	case MsgGetMempool:
		return DecodeGetMempool(b)
	case MsgDisconnect:
		return DecodeDisconnect(b)
	case MsgSendCmpct:
		return DecodeSendCmpct(b)
	case MsgCmpctBlock:
		return DecodeCmpctBlock(b)
	case MsgGetBlockTxn:
		return DecodeGetBlockTxn(b)
	case MsgBlockTxn:
		return DecodeBlockTxn(b)
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownMessage, typ)
}

func malformed(typ uint8, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrMalformed, MsgName(typ), err)
}

// ---- Ping / Pong -----------------------------------------------------------------------------

// Ping is a keepalive; the transport sends one every PingInterval and answers each with a Pong
// carrying the same nonce. Layout: nonce u64.
type Ping struct{ Nonce uint64 }

// Pong answers a Ping. Layout: nonce u64.
type Pong struct{ Nonce uint64 }

func (Ping) Type() uint8      { return MsgPing }
func (Ping) Validate() error  { return nil }
func (m Ping) Encode() []byte { return binary.BigEndian.AppendUint64(nil, m.Nonce) }
func (Pong) Type() uint8      { return MsgPong }
func (Pong) Validate() error  { return nil }
func (m Pong) Encode() []byte { return binary.BigEndian.AppendUint64(nil, m.Nonce) }
func decodeNonce(b []byte) (uint64, error) {
	r := reader{b: b}
	n := r.u64()
	return n, r.done()
}

// DecodePing decodes exactly 8 bytes.
func DecodePing(b []byte) (Ping, error) {
	n, err := decodeNonce(b)
	if err != nil {
		return Ping{}, malformed(MsgPing, err)
	}
	return Ping{Nonce: n}, nil
}

// DecodePong decodes exactly 8 bytes.
func DecodePong(b []byte) (Pong, error) {
	n, err := decodeNonce(b)
	if err != nil {
		return Pong{}, malformed(MsgPong, err)
	}
	return Pong{Nonce: n}, nil
}

// ---- empty messages --------------------------------------------------------------------------

// GetAddr asks for known peer addresses (answered with Addr). Its payload is empty.
type GetAddr struct{}

// GetMempool asks for an Inv of the mempool's transactions. Its payload is empty.
type GetMempool struct{}

func (GetAddr) Type() uint8        { return MsgGetAddr }
func (GetAddr) Validate() error    { return nil }
func (GetAddr) Encode() []byte     { return []byte{} }
func (GetMempool) Type() uint8     { return MsgGetMempool }
func (GetMempool) Validate() error { return nil }
func (GetMempool) Encode() []byte  { return []byte{} }

// DecodeGetAddr accepts only the empty payload.
func DecodeGetAddr(b []byte) (GetAddr, error) {
	if len(b) != 0 {
		return GetAddr{}, malformed(MsgGetAddr, fmt.Errorf("%d trailing bytes", len(b)))
	}
	return GetAddr{}, nil
}

// DecodeGetMempool accepts only the empty payload.
func DecodeGetMempool(b []byte) (GetMempool, error) {
	if len(b) != 0 {
		return GetMempool{}, malformed(MsgGetMempool, fmt.Errorf("%d trailing bytes", len(b)))
	}
	return GetMempool{}, nil
}

// ---- Addr ------------------------------------------------------------------------------------

// PeerAddr is one entry of an Addr message.
type PeerAddr struct {
	ID       ID
	Addr     string // HOST:PORT, printable ASCII, 1..255 bytes, port 1..65535
	LastSeen int64  // unix seconds, >= 0
}

// Addr carries known peer addresses. Layout: count u16 (<= 1000), then per entry
// id [32] ‖ addr length u8 (>= 1) ‖ addr ‖ last seen i64.
type Addr struct{ Peers []PeerAddr }

func (Addr) Type() uint8 { return MsgAddr }

// Validate checks the count and every entry.
func (m Addr) Validate() error {
	if len(m.Peers) > MaxAddrPeers {
		return malformed(MsgAddr, fmt.Errorf("%d entries (max %d)", len(m.Peers), MaxAddrPeers))
	}
	for i, p := range m.Peers {
		if err := checkAddr(p.Addr); err != nil {
			return malformed(MsgAddr, fmt.Errorf("entry %d: %v", i, err))
		}
		if p.LastSeen < 0 {
			return malformed(MsgAddr, fmt.Errorf("entry %d: negative last seen", i))
		}
	}
	return nil
}

// Encode never fails: entries past 1000 are dropped and addresses cut to 255 bytes (Validate
// reports both).
func (m Addr) Encode() []byte {
	peers := m.Peers
	if len(peers) > MaxAddrPeers {
		peers = peers[:MaxAddrPeers]
	}
	n := 2
	for _, p := range peers {
		n += addrEntryFixed + len(clip(p.Addr, MaxAddrLen))
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint16(b, uint16(len(peers)))
	for _, p := range peers {
		a := clip(p.Addr, MaxAddrLen)
		b = append(b, p.ID[:]...)
		b = append(b, byte(len(a)))
		b = append(b, a...)
		b = binary.BigEndian.AppendUint64(b, uint64(p.LastSeen))
	}
	return b
}

// DecodeAddr decodes strictly; the count is checked against the limit and the input length before
// the slice is allocated.
func DecodeAddr(b []byte) (Addr, error) {
	r := reader{b: b}
	n := int(r.u16())
	if r.err != nil {
		return Addr{}, malformed(MsgAddr, r.err)
	}
	if n > MaxAddrPeers {
		return Addr{}, malformed(MsgAddr, fmt.Errorf("%d entries (max %d)", n, MaxAddrPeers))
	}
	if n*(addrEntryFixed+1) > len(r.b) {
		return Addr{}, malformed(MsgAddr, fmt.Errorf("%d entries in %d bytes", n, len(r.b)))
	}
	var m Addr
	if n > 0 {
		m.Peers = make([]PeerAddr, n)
	}
	for i := range m.Peers {
		p := &m.Peers[i]
		p.ID = r.hash()
		p.Addr = string(r.take(int(r.u8())))
		p.LastSeen = int64(r.u64())
	}
	if err := r.done(); err != nil {
		return Addr{}, malformed(MsgAddr, err)
	}
	if err := m.Validate(); err != nil {
		return Addr{}, err
	}
	return m, nil
}

// ---- Inv / GetData / NotFound ----------------------------------------------------------------

// InvItem names a block or a transaction by hash.
type InvItem struct {
	Kind uint8 // InvBlock or InvTx
	Hash [32]byte
}

// Inv announces blocks or transactions. Layout: count u32 (<= 50,000), then per item
// kind u8 (1 block, 2 tx) ‖ hash [32].
type Inv struct{ Items []InvItem }

// GetData requests blocks or transactions (answered with Block, Tx and NotFound). Layout as Inv.
type GetData struct{ Items []InvItem }

// NotFound lists requested items that the sender does not have. Layout as Inv.
type NotFound struct{ Items []InvItem }

func (Inv) Type() uint8      { return MsgInv }
func (GetData) Type() uint8  { return MsgGetData }
func (NotFound) Type() uint8 { return MsgNotFound }

func (m Inv) Validate() error      { return validateItems(MsgInv, m.Items) }
func (m GetData) Validate() error  { return validateItems(MsgGetData, m.Items) }
func (m NotFound) Validate() error { return validateItems(MsgNotFound, m.Items) }

// Encode never fails: items past 50,000 are dropped (Validate reports it).
func (m Inv) Encode() []byte { return encodeItems(m.Items) }

// Encode never fails: items past 50,000 are dropped (Validate reports it).
func (m GetData) Encode() []byte { return encodeItems(m.Items) }

// Encode never fails: items past 50,000 are dropped (Validate reports it).
func (m NotFound) Encode() []byte { return encodeItems(m.Items) }

// DecodeInv decodes strictly: exact length 4 + 33 × count, count <= 50,000, kinds 1 or 2.
func DecodeInv(b []byte) (Inv, error) {
	items, err := decodeItems(MsgInv, b)
	return Inv{Items: items}, err
}

// DecodeGetData decodes strictly (layout of Inv).
func DecodeGetData(b []byte) (GetData, error) {
	items, err := decodeItems(MsgGetData, b)
	return GetData{Items: items}, err
}

// DecodeNotFound decodes strictly (layout of Inv).
func DecodeNotFound(b []byte) (NotFound, error) {
	items, err := decodeItems(MsgNotFound, b)
	return NotFound{Items: items}, err
}

func validateItems(typ uint8, items []InvItem) error {
	if len(items) > MaxInvItems {
		return malformed(typ, fmt.Errorf("%d items (max %d)", len(items), MaxInvItems))
	}
	for i, it := range items {
		if it.Kind != InvBlock && it.Kind != InvTx {
			return malformed(typ, fmt.Errorf("item %d: unknown kind %d", i, it.Kind))
		}
	}
	return nil
}

func encodeItems(items []InvItem) []byte {
	if len(items) > MaxInvItems {
		items = items[:MaxInvItems]
	}
	b := make([]byte, 4, 4+invItemSize*len(items))
	binary.BigEndian.PutUint32(b, uint32(len(items)))
	for _, it := range items {
		b = append(b, it.Kind)
		b = append(b, it.Hash[:]...)
	}
	return b
}

func decodeItems(typ uint8, b []byte) ([]InvItem, error) {
	r := reader{b: b}
	n := r.u32()
	if r.err != nil {
		return nil, malformed(typ, r.err)
	}
	if n > MaxInvItems {
		return nil, malformed(typ, fmt.Errorf("%d items (max %d)", n, MaxInvItems))
	}
	if int(n)*invItemSize != len(r.b) {
		return nil, malformed(typ, fmt.Errorf("%d items need %d bytes, have %d", n, int(n)*invItemSize, len(r.b)))
	}
	if n == 0 {
		return nil, nil
	}
	items := make([]InvItem, n)
	for i := range items {
		items[i].Kind = r.u8()
		items[i].Hash = r.hash()
	}
	if err := validateItems(typ, items); err != nil {
		return nil, err
	}
	return items, nil
}

// ---- Block / Tx ------------------------------------------------------------------------------

// Block carries one encoded block. The payload is the raw block bytes (at least 1; the transport
// limit is 8 MiB by default); this package does not look inside.
type Block struct{ Raw []byte }

// Tx carries one encoded transaction. The payload is the raw bytes (at least 1; 64 KiB limit by
// default).
type Tx struct{ Raw []byte }

func (Block) Type() uint8 { return MsgBlock }
func (Tx) Type() uint8    { return MsgTx }

// Validate requires a non-empty payload no larger than the default limit.
func (m Block) Validate() error { return validateRaw(MsgBlock, m.Raw, BlockLimit) }

// Validate requires a non-empty payload no larger than the default limit.
func (m Tx) Validate() error { return validateRaw(MsgTx, m.Raw, TxLimit) }

// Encode returns Raw itself (not a copy).
func (m Block) Encode() []byte { return m.Raw }

// Encode returns Raw itself (not a copy).
func (m Tx) Encode() []byte { return m.Raw }

// DecodeBlock accepts any non-empty payload; the result aliases b.
func DecodeBlock(b []byte) (Block, error) {
	if len(b) == 0 {
		return Block{}, malformed(MsgBlock, fmt.Errorf("empty"))
	}
	return Block{Raw: b}, nil
}

// DecodeTx accepts any non-empty payload; the result aliases b.
func DecodeTx(b []byte) (Tx, error) {
	if len(b) == 0 {
		return Tx{}, malformed(MsgTx, fmt.Errorf("empty"))
	}
	return Tx{Raw: b}, nil
}

func validateRaw(typ uint8, b []byte, limit int) error {
	if len(b) == 0 {
		return malformed(typ, fmt.Errorf("empty"))
	}
	if len(b) > limit {
		return fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrMsgTooLarge, MsgName(typ), len(b), limit)
	}
	return nil
}

// ---- GetBlocks -------------------------------------------------------------------------------

// GetBlocks asks for the hashes of the main-chain blocks after the first locator hash the
// receiver knows, up to Stop (zero: no stop) or 500 hashes, answered with an Inv. Layout:
// count u8 (<= 101) ‖ count × hash [32] ‖ stop [32].
type GetBlocks struct {
	Locator [][32]byte
	Stop    [32]byte
}

func (GetBlocks) Type() uint8 { return MsgGetBlocks }

// Validate checks the locator length.
func (m GetBlocks) Validate() error {
	if len(m.Locator) > MaxLocator {
		return malformed(MsgGetBlocks, fmt.Errorf("locator of %d hashes (max %d)", len(m.Locator), MaxLocator))
	}
	return nil
}

// Encode never fails: locator hashes past 101 are dropped (Validate reports it).
func (m GetBlocks) Encode() []byte {
	loc := m.Locator
	if len(loc) > MaxLocator {
		loc = loc[:MaxLocator]
	}
	b := make([]byte, 0, 1+32*len(loc)+32)
	b = append(b, byte(len(loc)))
	for _, h := range loc {
		b = append(b, h[:]...)
	}
	return append(b, m.Stop[:]...)
}

// DecodeGetBlocks decodes strictly: exact length 1 + 32 × count + 32, count <= 101.
func DecodeGetBlocks(b []byte) (GetBlocks, error) {
	r := reader{b: b}
	n := int(r.u8())
	if r.err != nil {
		return GetBlocks{}, malformed(MsgGetBlocks, r.err)
	}
	if n > MaxLocator {
		return GetBlocks{}, malformed(MsgGetBlocks, fmt.Errorf("locator of %d hashes (max %d)", n, MaxLocator))
	}
	if len(r.b) != 32*n+32 {
		return GetBlocks{}, malformed(MsgGetBlocks, fmt.Errorf("%d hashes need %d bytes, have %d", n, 32*n+32, len(r.b)))
	}
	var m GetBlocks
	if n > 0 {
		m.Locator = make([][32]byte, n)
	}
	for i := range m.Locator {
		m.Locator[i] = r.hash()
	}
	m.Stop = r.hash()
	if err := r.done(); err != nil {
		return GetBlocks{}, malformed(MsgGetBlocks, err)
	}
	return m, nil
}

// ---- Disconnect ------------------------------------------------------------------------------

// Disconnect tells the peer why we close (misbehaviour, too many peers, shutting down). Layout:
// length u16 (<= 256) ‖ reason (valid UTF-8). The transport consumes it: Conn.Disconnect sends
// one, and receiving one fails the connection with a *DisconnectError.
type Disconnect struct{ Reason string }

func (Disconnect) Type() uint8 { return MsgDisconnect }

// Validate requires valid UTF-8 of at most 256 bytes.
func (m Disconnect) Validate() error {
	if len(m.Reason) > MaxDisconnectReason {
		return malformed(MsgDisconnect, fmt.Errorf("reason of %d bytes (max %d)", len(m.Reason), MaxDisconnectReason))
	}
	if !utf8.ValidString(m.Reason) {
		return malformed(MsgDisconnect, fmt.Errorf("reason is not valid UTF-8"))
	}
	return nil
}

// Encode never fails: invalid UTF-8 is replaced with U+FFFD and the reason is cut to 256 bytes at
// a character boundary.
func (m Disconnect) Encode() []byte {
	s := truncateReason(m.Reason)
	b := make([]byte, 0, 2+len(s))
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// truncateReason makes s valid UTF-8 of at most MaxDisconnectReason bytes.
func truncateReason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= MaxDisconnectReason {
		return s
	}
	n := MaxDisconnectReason
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// DecodeDisconnect decodes strictly: exact length, at most 256 bytes, valid UTF-8.
func DecodeDisconnect(b []byte) (Disconnect, error) {
	r := reader{b: b}
	n := int(r.u16())
	if r.err == nil && n > MaxDisconnectReason {
		return Disconnect{}, malformed(MsgDisconnect, fmt.Errorf("reason of %d bytes (max %d)", n, MaxDisconnectReason))
	}
	m := Disconnect{Reason: string(r.take(n))}
	if err := r.done(); err != nil {
		return Disconnect{}, malformed(MsgDisconnect, err)
	}
	if err := m.Validate(); err != nil {
		return Disconnect{}, err
	}
	return m, nil
}
