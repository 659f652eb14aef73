package api

import (
	"encoding/hex"
	"fmt"
	"math/big"

	"github.com/actorchain/actorchain/chainstate"
)

// Tx is the JSON form of a signed transaction, in POST /v1/txs bodies and in every answer that
// carries transactions. Keys and hashes are hex; From is the sender's ed25519 public key (64
// hex), To the recipient's address (40 hex), Signature the ed25519 signature (128 hex). Hash is
// filled in answers and optional in requests (when given it must match the transaction).
type Tx struct {
	Hash      string `json:"hash,omitempty"`
	ChainID   string `json:"chain_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	Amount    uint64 `json:"amount"`
	Fee       uint64 `json:"fee"`
	Nonce     uint64 `json:"nonce"`
	Signature string `json:"signature"`
}

// TxFromChain returns the JSON form of tx, Hash included (tx.Hash()).
func TxFromChain(tx *chainstate.Tx) Tx {
	t := txFromChainNoHash(tx)
	h := tx.Hash()
	t.Hash = encodeHex(h[:])
	return t
}

// txFromChainNoHash is TxFromChain without the hash, which is the only part that needs
// chainstate's encoding.
func txFromChainNoHash(tx *chainstate.Tx) Tx {
	return Tx{
		ChainID:   tx.ChainID,
		From:      encodeHex(tx.From[:]),
		To:        encodeHex(tx.To[:]),
		Amount:    tx.Amount,
		Fee:       tx.Fee,
		Nonce:     tx.Nonce,
		Signature: encodeHex(tx.Sig[:]),
	}
}

// ToChain checks the form of every field and returns the chain transaction. Hex may be of
// either case. The chain id must be 1..chainstate.MaxChainIDLen bytes and the amount non-zero;
// errors name the field ("to: want 40 hex characters, got 3"). ToChain ignores Hash and checks
// nothing that needs chain state (signature, nonce, balance).
func (t Tx) ToChain() (*chainstate.Tx, error) {
	tx := &chainstate.Tx{ChainID: t.ChainID, Amount: t.Amount, Fee: t.Fee, Nonce: t.Nonce}
	if n := len(t.ChainID); n == 0 || n > chainstate.MaxChainIDLen {
		return nil, fmt.Errorf("chain_id: want 1 to %d bytes, got %d", chainstate.MaxChainIDLen, n)
	}
	if err := decodeHex("from", t.From, tx.From[:]); err != nil {
		return nil, err
	}
	if err := decodeHex("to", t.To, tx.To[:]); err != nil {
		return nil, err
	}
	if t.Amount == 0 {
		return nil, fmt.Errorf("amount: must be greater than 0")
	}
	if err := decodeHex("signature", t.Signature, tx.Sig[:]); err != nil {
		return nil, err
	}
	return tx, nil
}

// Block is the JSON form of a block (GET /v1/blocks/{id}). Time is in milliseconds since the
// Unix epoch; Miner is the sealing key (hex); MainChain tells a main-chain block from a stored
// side-chain block. Version and MinerSignature complete the header, so a client can recompute
// the commitment and the block hash from this answer.
type Block struct {
	Hash           string `json:"hash"`
	Height         uint64 `json:"height"`
	PrevHash       string `json:"prev_hash"`
	Time           uint64 `json:"time"`
	Bits           uint32 `json:"bits"`
	Target         string `json:"target"` // 64 hex (CONTRACT §10)
	Nonce          uint32 `json:"nonce"`
	Miner          string `json:"miner"`
	TxRoot         string `json:"tx_root"`
	StateRoot      string `json:"state_root"`
	Version        uint32 `json:"version"`
	MinerSignature string `json:"miner_signature"`
	MainChain      bool   `json:"main_chain"`
	Txs            []Tx   `json:"txs"`
}

// TargetHex is target as 64 hex digits; a nil target is that of the fixed difficulty of bits
// leading zero bits.
func TargetHex(target *big.Int, bits uint32) string {
	if target == nil {
		target = chainstate.TargetForBits(bits)
	}
	var b [32]byte
	if target.Sign() > 0 && target.BitLen() <= 256 {
		target.FillBytes(b[:])
	}
	return encodeHex(b[:])
}

// blockFromInfo converts a backend block. It computes every transaction's hash (chainstate).
func blockFromInfo(bi BlockInfo) Block {
	h := &bi.Block.Header
	out := Block{
		Hash:           encodeHex(bi.Hash[:]),
		Height:         h.Height,
		PrevHash:       encodeHex(h.PrevHash[:]),
		Time:           h.Time,
		Bits:           h.Bits,
		Target:         TargetHex(bi.Target, h.Bits),
		Nonce:          h.Nonce,
		Miner:          encodeHex(h.Miner[:]),
		TxRoot:         encodeHex(h.TxRoot[:]),
		StateRoot:      encodeHex(h.StateRoot[:]),
		Version:        h.Version,
		MinerSignature: encodeHex(h.MinerSig[:]),
		MainChain:      bi.Main,
		Txs:            make([]Tx, 0, len(bi.Block.Txs)),
	}
	for _, tx := range bi.Block.Txs {
		out.Txs = append(out.Txs, TxFromChain(tx))
	}
	return out
}

// Transaction states of TxStatus.Status.
const (
	TxPending   = "pending"
	TxConfirmed = "confirmed"
	TxReplaced  = "replaced" // replaced by a transfer of the same sender and nonce (ReplacedBy)
)

// TxStatus is GET /v1/txs/{hash}. For a pending or replaced transaction Height is 0 and BlockHash
// is "" (both always present). Tx is the transaction itself; it is omitted for a replaced one and
// in the unlikely case that a confirmed transaction's block body cannot be read. ReplacedBy is
// set only for a replaced one: the hash of the transfer that replaced it (follow it: it may be
// replaced in turn, pending or confirmed).
type TxStatus struct {
	Hash       string `json:"hash"`
	Status     string `json:"status"`
	Height     uint64 `json:"height"`
	BlockHash  string `json:"block_hash"`
	ReplacedBy string `json:"replaced_by,omitempty"`
	Tx         *Tx    `json:"tx,omitempty"`
}

// Mempool is GET /v1/mempool: the pending transactions' hashes in the order a miner takes them.
// Txs is never null.
type Mempool struct {
	Count int      `json:"count"`
	Txs   []string `json:"txs"`
}

// Mining is the answer of POST /v1/mining: whether the miners now run.
type Mining struct {
	Mining bool `json:"mining"`
}

// Submitted is the answer of POST /v1/txs.
type Submitted struct {
	Hash string `json:"hash"`
}

// Added is the answer of POST /v1/peers/bundle: how many peers were new to the store.
type Added struct {
	Added int `json:"added"`
}

// Dialling is the 202 answer of POST /v1/peers.
type Dialling struct {
	Addr string `json:"addr"`
}

// Accepted is the 202 answer of the debug fault hooks: the request that was made of which actor.
type Accepted struct {
	Actor  string `json:"actor"`
	Action string `json:"action"`
}

// StorageFault is the answer of POST /v1/debug/storage: whether storage commits now fail.
type StorageFault struct {
	FailCommits bool `json:"fail_commits"`
}

// ClockSkew is the answer of POST /v1/debug/clock: the node's clock skew in seconds.
type ClockSkew struct {
	SkewSeconds int64 `json:"skew_seconds"`
}

// ActorNode is one actor of the supervision tree (GET /v1/actors): its full name ("node",
// "miner/worker-0"), its state ("running", "restarting" or "stopped"), how often it was
// restarted or replaced, and its children in start order (never null).
type ActorNode struct {
	Name     string      `json:"name"`
	State    string      `json:"state"`
	Restarts int         `json:"restarts"`
	Children []ActorNode `json:"children"`
}

// nonNil returns n with every nil Children made empty, so that the answer never has null.
func (n ActorNode) nonNil() ActorNode {
	out := n
	out.Children = make([]ActorNode, len(n.Children))
	for i, c := range n.Children {
		out.Children[i] = c.nonNil()
	}
	return out
}

// Find returns the node named name in the subtree rooted at n.
func (n ActorNode) Find(name string) (ActorNode, bool) {
	if n.Name == name {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := c.Find(name); ok {
			return f, true
		}
	}
	return ActorNode{}, false
}

// encodeHex is lower-case hex.
func encodeHex(b []byte) string { return hex.EncodeToString(b) }

// decodeHex decodes exactly 2*len(dst) hex characters of either case into dst; errors start with
// field.
func decodeHex(field, s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%s: want %d hex characters, got %d", field, 2*len(dst), len(s))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%s: not hex: %w", field, err)
	}
	return nil
}
