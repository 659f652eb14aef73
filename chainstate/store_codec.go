package chainstate

import (
	"fmt"
	"math/big"
)

// SchemaVersion is the database layout version this code writes and reads. Version 2 added the
// mempool's sender index and count (store_mempool.go), version 3 the tx index's recent level
// (txindex.go), version 4 block bodies in pieces (body.go: an older binary would read only a
// body's first piece), version 5 the tx index's merged level in runs (txruns.go) and its recent records in pieces
// (txrecent.go); an older file is upgraded when a Store opens it and read as it is by the
// read-only paths.
const SchemaVersion = 5

// Bucket names. peers and bans are created empty for the peer store.
var (
	bucketMeta     = []byte("meta")
	bucketIndex    = []byte("index")
	bucketBlocks   = []byte("blocks")
	bucketMain     = []byte("main")
	bucketAccounts = []byte("accounts")
	bucketUndo     = []byte("undo")
	bucketTxIndex  = []byte("txindex")
	bucketMempool  = []byte("mempool")
	bucketPeers    = []byte("peers")
	bucketBans     = []byte("bans")

	allBuckets = [][]byte{
		bucketMeta, bucketIndex, bucketBlocks, bucketMain, bucketAccounts,
		bucketUndo, bucketTxIndex, bucketMempool, bucketPeers, bucketBans,
		bucketMempoolSender, bucketTxRecent, bucketTxRuns,
	}
)

// bucketSince returns the schema version that added bucket name.
func bucketSince(name []byte) uint32 {
	switch string(name) {
	case string(bucketMempoolSender):
		return 2
	case string(bucketTxRecent):
		return 3
	case string(bucketTxRuns):
		return 5
	}
	return 1
}

// Keys of the meta bucket.
var (
	metaSchema  = []byte("schema")   // u32
	metaChainID = []byte("chain_id") // raw bytes, informational
	metaGenesis = []byte("genesis")  // 32 bytes
	metaTip     = []byte("tip")      // 32 bytes
)

// BlockStatus is what the store knows of a block.
type BlockStatus uint8

// Block statuses. The zero value is not stored.
const (
	StatusUnknown BlockStatus = iota
	StatusSide                // stored, not on the main chain (not yet, or no longer)
	StatusMain                // on the main chain
	StatusInvalid             // failed validation; never to be connected
)

// String returns "unknown", "side", "main" or "invalid".
func (s BlockStatus) String() string {
	switch s {
	case StatusSide:
		return "side"
	case StatusMain:
		return "main"
	case StatusInvalid:
		return "invalid"
	case StatusUnknown:
		return "unknown"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// IndexEntry is one block in the block index.
type IndexEntry struct {
	Hash   Hash
	Header Header
	Work   *big.Int // cumulative work up to and including this block
	Status BlockStatus
}

// encodeEntry returns header (HeaderSize) ‖ status u8 ‖ cumulative work (big-endian, minimal,
// to the end of the value).
func encodeEntry(e *IndexEntry) []byte {
	b := e.Header.AppendEncode(make([]byte, 0, HeaderSize+1+16))
	b = append(b, byte(e.Status))
	return append(b, e.Work.Bytes()...)
}

func decodeEntry(h Hash, v []byte) (IndexEntry, error) {
	if len(v) < HeaderSize+2 {
		return IndexEntry{}, fmt.Errorf("index entry %s: %d bytes, want at least %d: %w", h, len(v), HeaderSize+2, ErrCorrupt)
	}
	hdr, err := DecodeHeader(v[:HeaderSize])
	if err != nil {
		return IndexEntry{}, fmt.Errorf("index entry %s: %v: %w", h, err, ErrCorrupt)
	}
	st := BlockStatus(v[HeaderSize])
	if st < StatusSide || st > StatusInvalid {
		return IndexEntry{}, fmt.Errorf("index entry %s: bad status %d: %w", h, st, ErrCorrupt)
	}
	return IndexEntry{Hash: h, Header: *hdr, Status: st, Work: new(big.Int).SetBytes(v[HeaderSize+1:])}, nil
}

// encodeAccount returns balance u64 ‖ nonce u64.
func encodeAccount(a Account) []byte {
	b := make([]byte, 16)
	be.PutUint64(b, a.Balance)
	be.PutUint64(b[8:], a.Nonce)
	return b
}

func decodeAccount(addr Address, v []byte) (Account, error) {
	if len(v) != 16 {
		return Account{}, fmt.Errorf("account %s: %d bytes, want 16: %w", addr, len(v), ErrCorrupt)
	}
	return Account{Balance: be.Uint64(v), Nonce: be.Uint64(v[8:])}, nil
}

// encodeUndo returns u32 n ‖ n × (address (20) ‖ balance u64 ‖ nonce u64): the Old values of a
// block's changes, in the Delta's (address) order.
func encodeUndo(changes []AccountChange) []byte {
	b := make([]byte, 0, 4+len(changes)*36)
	b = be.AppendUint32(b, uint32(len(changes)))
	for _, c := range changes {
		b = append(b, c.Addr[:]...)
		b = be.AppendUint64(b, c.Old.Balance)
		b = be.AppendUint64(b, c.Old.Nonce)
	}
	return b
}

// decodeUndo returns the records as AccountChanges with only Addr and Old set.
func decodeUndo(h Hash, v []byte) ([]AccountChange, error) {
	if len(v) < 4 || (len(v)-4)%36 != 0 || uint64(be.Uint32(v)) != uint64(len(v)-4)/36 {
		return nil, fmt.Errorf("undo record of %s: bad length %d: %w", h, len(v), ErrCorrupt)
	}
	n := int(be.Uint32(v))
	out := make([]AccountChange, n)
	for i := range out {
		r := v[4+36*i:]
		copy(out[i].Addr[:], r[:20])
		out[i].Old = Account{Balance: be.Uint64(r[20:]), Nonce: be.Uint64(r[28:])}
	}
	return out, nil
}

// TxLocation says where a confirmed transaction is.
type TxLocation struct {
	BlockHash Hash
	Height    uint64
	Index     int
}

// encodeTxLoc returns block hash (32) ‖ height u64 ‖ index u32.
func encodeTxLoc(l TxLocation) []byte {
	b := make([]byte, 0, 44)
	b = append(b, l.BlockHash[:]...)
	b = be.AppendUint64(b, l.Height)
	return be.AppendUint32(b, uint32(l.Index))
}

func decodeTxLoc(h Hash, v []byte) (TxLocation, error) {
	if len(v) != 44 {
		return TxLocation{}, fmt.Errorf("tx index entry %s: %d bytes, want 44: %w", h, len(v), ErrCorrupt)
	}
	var l TxLocation
	copy(l.BlockHash[:], v)
	l.Height = be.Uint64(v[32:])
	l.Index = int(be.Uint32(v[40:]))
	return l, nil
}

func heightKey(h uint64) []byte { return be.AppendUint64(make([]byte, 0, 8), h) }

func hashFrom(v []byte) (Hash, bool) {
	var h Hash
	if len(v) != len(h) {
		return h, false
	}
	copy(h[:], v)
	return h, true
}

// clone copies a bbolt value, which is only valid inside its transaction.
func clone(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append(make([]byte, 0, len(v)), v...)
}
