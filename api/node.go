package api

import (
	"fmt"
	"math/big"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
)

// The answers the node serves that are also what its facade (actors) returns: the node builds
// them, the handler encodes them, the Client decodes them. They live here, not in actors, so
// that a client links neither protoactor nor prometheus.

// Status is GET /v1/status.
type Status struct {
	NodeID      string   `json:"node_id"`
	ChainID     string   `json:"chain_id"`
	GenesisHash string   `json:"genesis_hash"`
	Height      uint64   `json:"height"`
	TipHash     string   `json:"tip_hash"`
	TotalWork   *big.Int `json:"total_work"`
	// Target is the tip's target (64 hex), Difficulty the genesis target over it (CONTRACT §10;
	// 1 on a fixed-difficulty chain).
	Target     string  `json:"target"`
	Difficulty float64 `json:"difficulty"`
	Peers      int     `json:"peers"`
	Mempool    int     `json:"mempool"`
	Mining     bool    `json:"mining"`
	Syncing    bool    `json:"syncing"`
	SyncTarget uint64  `json:"sync_target_height"` // the best height a connected peer announced (0 with none)
	Version    string  `json:"version"`
	Healthy    bool    `json:"healthy"` // GET /v1/health's verdict
}

// AccountInfo is GET /v1/accounts/{address}.
type AccountInfo struct {
	Address      string `json:"address"`
	Balance      uint64 `json:"balance"`
	Nonce        uint64 `json:"nonce"`
	PendingNonce uint64 `json:"pending_nonce"`
}

// BlockInfo is a main-chain or side-chain block as the node finds it; the handler answers it as
// a Block.
type BlockInfo struct {
	Block *chainstate.Block
	Hash  chainstate.Hash
	Main  bool
	// Target is the target the block's hash met (chainstate.Params.Target); nil: the fixed
	// difficulty of its bits (chainstate.TargetForBits).
	Target *big.Int
}

// TxInfo is what the node knows of a transaction; the handler answers it as a TxStatus.
// Replaced is set (and Tx nil) for a transfer this node saw replaced by a replace-by-fee since
// it started; ReplacedBy is the one that replaced it.
type TxInfo struct {
	Tx         *chainstate.Tx
	Confirmed  bool
	Height     uint64
	BlockHash  chainstate.Hash
	Replaced   bool
	ReplacedBy chainstate.Hash
}

// PeerInfo is one connected peer.
type PeerInfo struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	Direction string `json:"direction"`
	Height    uint64 `json:"height"`
}

// KnownPeer is one address-book entry.
type KnownPeer struct {
	ID       string    `json:"id"`
	Addr     string    `json:"addr"`
	LastSeen time.Time `json:"last_seen"`
}

// PeersInfo is GET /v1/peers.
type PeersInfo struct {
	Connected []PeerInfo  `json:"connected"`
	Known     []KnownPeer `json:"known"`
}

// Health is GET /v1/health (CONTRACT §9).
type Health struct {
	Healthy    bool              `json:"healthy"`
	Components []HealthComponent `json:"components"`
}

// HealthComponent is the health of one actor. Error is "" when Healthy; Since is when the
// component's current verdict began (the node's start when it never changed); RestartsRecent
// counts its restarts and replacements in the last 60 s.
type HealthComponent struct {
	Name           string    `json:"name"`
	Healthy        bool      `json:"healthy"`
	Error          string    `json:"error"`
	Since          time.Time `json:"since"`
	RestartsRecent int       `json:"restarts_recent"`
}

// LinkFilter is the fault filter of the node's link to one peer (POST /v1/debug/links). Cut
// closes a live connection with the peer and refuses every dial and accept to or from it while
// set; DelayMs delays and Loss (0 to 1) drops whole messages sent to it. A filter with all three
// at zero is no filter.
type LinkFilter struct {
	Peer    string  `json:"peer"` // node id, 64 hex
	Cut     bool    `json:"cut"`
	DelayMs int     `json:"delay_ms"`
	Loss    float64 `json:"loss"`
}

// MaxLinkDelayMs bounds a link's delay: longer would only stall the connection's send queue.
const MaxLinkDelayMs = 60_000

// Validate checks a filter: a 64 hex peer id, 0 <= DelayMs <= 60000, 0 <= Loss <= 1. Errors name
// the field.
func (f LinkFilter) Validate() error {
	if _, err := noisep2p.ParseID(f.Peer); err != nil {
		return fmt.Errorf("peer: want a 64 hex character node id: %v", err)
	}
	if f.DelayMs < 0 || f.DelayMs > MaxLinkDelayMs {
		return fmt.Errorf("delay_ms: want 0 to %d, got %d", MaxLinkDelayMs, f.DelayMs)
	}
	if !(f.Loss >= 0 && f.Loss <= 1) { // also refuses NaN
		return fmt.Errorf("loss: want 0 to 1, got %v", f.Loss)
	}
	return nil
}

// Active reports whether the filter changes anything.
func (f LinkFilter) Active() bool { return f.Cut || f.DelayMs > 0 || f.Loss > 0 }
