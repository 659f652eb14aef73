package actors

import (
	"context"
	"errors"
	"math/big"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// This file is the node's request facade: every method turns a call into an actor request (or a
// snapshot read of the store) bounded by ctx. The api package maps these onto HTTP; tests use them
// directly. All methods are goroutine-safe.

// ErrNotFound is returned when a block, transaction or account-independent object is unknown.
var ErrNotFound = errors.New("not found")

// ErrUnavailable is returned when the actor that must answer is restarting, stopped or did not answer
// in time; the caller may retry. The API maps it to 503.
var ErrUnavailable = errors.New("temporarily unavailable")

// ErrStopped is returned once the node is stopping or stopped.
var ErrStopped = errors.New("node is stopping")

// TxRejected is a transaction refused by the mempool. Code is one of the CONTRACT's codes:
// bad_signature, bad_nonce, insufficient_funds, wrong_chain, malformed, duplicate, mempool_full,
// or fee_too_low (a replace-by-fee whose fee is under the bump; the reason names the minimum).
type TxRejected struct {
	Code   string
	Reason string
}

func (e *TxRejected) Error() string { return e.Reason }

// Status is GET /v1/status.
type Status struct {
	NodeID      string   `json:"node_id"`
	ChainID     string   `json:"chain_id"`
	GenesisHash string   `json:"genesis_hash"`
	Height      uint64   `json:"height"`
	TipHash     string   `json:"tip_hash"`
	TotalWork   *big.Int `json:"total_work"`
	Peers       int      `json:"peers"`
	Mempool     int      `json:"mempool"`
	Mining      bool     `json:"mining"`
	Syncing     bool     `json:"syncing"`
	SyncTarget  uint64   `json:"sync_target_height"` // the best height a connected peer announced (0 with none)
	Version     string   `json:"version"`
	Healthy     bool     `json:"healthy"` // GET /v1/health's verdict (health.go)
}

// AccountInfo is GET /v1/accounts/{address}.
type AccountInfo struct {
	Address      string `json:"address"`
	Balance      uint64 `json:"balance"`
	Nonce        uint64 `json:"nonce"`
	PendingNonce uint64 `json:"pending_nonce"`
}

// BlockInfo is a main-chain or side-chain block with its height.
type BlockInfo struct {
	Block *chainstate.Block
	Hash  chainstate.Hash
	Main  bool
}

// TxInfo is GET /v1/txs/{hash}. Replaced is set (and Tx nil) for a transfer this node saw
// replaced by a replace-by-fee since it started; ReplacedBy is the one that replaced it.
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

// Status reports the node's state from the committed tip. Height, tip and the mempool count come
// from one read of the store, so they describe one state: the count is the durable mempool
// (acknowledged transfers not yet mined), never a transfer counted both as pending and mined.
func (n *Node) Status(ctx context.Context) (Status, error) {
	s, err := n.store()
	if err != nil {
		return Status{}, err
	}
	sum, err := s.Summary()
	if err != nil {
		return Status{}, unavailable(err)
	}
	return Status{
		NodeID:      n.nodeID,
		ChainID:     n.params.ChainID,
		GenesisHash: n.params.GenesisHash().String(),
		Height:      sum.Tip.Header.Height,
		TipHash:     sum.Tip.Hash.String(),
		TotalWork:   sum.Tip.Work,
		Peers:       int(n.peer.count.Load()),
		Mempool:     sum.Mempool,
		Mining:      n.mining.Load(),
		Syncing:     n.peer.syncing.Load(),
		SyncTarget:  n.peer.syncTarget.Load(),
		Version:     Version,
		Healthy:     n.Healthy(),
	}, nil
}

// BlockAt returns the main-chain block at height.
func (n *Node) BlockAt(ctx context.Context, height uint64) (BlockInfo, error) {
	s, err := n.store()
	if err != nil {
		return BlockInfo{}, err
	}
	h, ok, err := s.MainHash(height)
	if err != nil {
		return BlockInfo{}, unavailable(err)
	}
	if !ok {
		return BlockInfo{}, ErrNotFound
	}
	return n.BlockByHash(ctx, h)
}

// BlockByHash returns a stored block, main chain or side chain.
func (n *Node) BlockByHash(ctx context.Context, h chainstate.Hash) (BlockInfo, error) {
	s, err := n.store()
	if err != nil {
		return BlockInfo{}, err
	}
	b, ok, err := s.Block(h)
	if err != nil {
		return BlockInfo{}, unavailable(err)
	}
	if !ok {
		return BlockInfo{}, ErrNotFound
	}
	main, _, err := s.MainHash(b.Header.Height)
	if err != nil {
		return BlockInfo{}, unavailable(err)
	}
	return BlockInfo{Block: b, Hash: h, Main: main == h}, nil
}

// Account returns an account's committed state and its next pending nonce, both from one read
// of the store: the pending nonce follows the committed one through the account's acknowledged
// (durable) transfers, so a block connected meanwhile cannot make it answer a used nonce.
func (n *Node) Account(ctx context.Context, a chainstate.Address) (AccountInfo, error) {
	s, err := n.store()
	if err != nil {
		return AccountInfo{}, err
	}
	acc, pending, err := s.AccountPending(a)
	if err != nil {
		return AccountInfo{}, unavailable(err)
	}
	return AccountInfo{Address: a.String(), Balance: acc.Balance, Nonce: acc.Nonce, PendingNonce: pending}, nil
}

// SubmitTx checks tx and stores it durably in the mempool. It returns only after the mempool commit:
// from then on the transaction survives kill -9. A rejection is a *TxRejected.
func (n *Node) SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error) {
	h := tx.Hash()
	// Stateless checks run here, on the caller's goroutine, outside every mailbox: signatures of
	// concurrent submissions are verified in parallel and remembered for block import.
	if err := chainstate.CheckTx(n.params, tx, n.sigs); err != nil {
		return h, txRejection(err)
	}
	res, err := request[*submitTxResponse](ctx, n, nameMempool, &submitTxRequest{Tx: tx, Hash: h})
	if err != nil {
		return h, err
	}
	if res.Err != nil {
		return h, res.Err
	}
	return h, nil
}

// Tx reports a transaction: confirmed on the main chain, or pending in the mempool. The answer is
// one read of the store, where a connect (or a reorg) moves a transaction between the mempool
// bucket and the tx index in one write transaction: an acknowledged transfer is always found,
// also while the block that confirms it is being connected. A transfer whose mempool commit has
// not finished yet (not acknowledged) is not found. A transfer the store no longer holds because
// a replace-by-fee replaced it is reported replaced while this node remembers it (replaced.go:
// since the node started, the most recent ones); then it is not found.
func (n *Node) Tx(ctx context.Context, h chainstate.Hash) (TxInfo, error) {
	s, err := n.store()
	if err != nil {
		return TxInfo{}, err
	}
	st, ok, err := s.TxState(h)
	if err != nil {
		return TxInfo{}, unavailable(err)
	}
	if !ok {
		if by, replaced := n.replaced.lookup(h); replaced {
			return TxInfo{Replaced: true, ReplacedBy: by}, nil
		}
		return TxInfo{}, ErrNotFound
	}
	if !st.Confirmed {
		return TxInfo{Tx: st.Tx}, nil
	}
	return TxInfo{Tx: st.Tx, Confirmed: true, Height: st.Location.Height, BlockHash: st.Location.BlockHash}, nil
}

// Mempool lists the pending transactions' hashes in the order a miner would take them.
func (n *Node) Mempool(ctx context.Context) ([]chainstate.Hash, error) {
	res, err := request[*mempoolListResponse](ctx, n, nameMempool, &mempoolListRequest{})
	if err != nil {
		return nil, err
	}
	return res.Hashes, nil
}

// Peers lists connected and known peers.
func (n *Node) Peers(ctx context.Context) (PeersInfo, error) {
	res, err := request[*peersInfoResponse](ctx, n, namePeers, &peersInfoRequest{})
	if err != nil {
		return PeersInfo{}, err
	}
	return res.Info, nil
}

// AddPeer records ID@HOST:PORT in the address book and dials it now.
func (n *Node) AddPeer(ctx context.Context, peerAddr string) error {
	id, addr, err := noisep2p.ParsePeerAddr(peerAddr)
	if err != nil {
		return &TxRejected{Code: "malformed", Reason: err.Error()}
	}
	_, err = request[*addPeersResponse](ctx, n, namePeers, &addPeerRequest{ID: id, Addr: addr})
	return err
}

// ExportPeers returns the address book as a peer bundle.
func (n *Node) ExportPeers(ctx context.Context) (*Bundle, error) {
	res, err := request[*exportPeersResponse](ctx, n, namePeers, &exportPeersRequest{})
	if err != nil {
		return nil, err
	}
	return NewBundle(n.params, res.Peers, n.now()), nil
}

// ImportPeers merges a bundle into the address book and dials its peers; a bundle of another
// chain is refused (ErrWrongChain).
func (n *Node) ImportPeers(ctx context.Context, b *Bundle) (int, error) {
	recs, err := b.Records(n.params)
	if err != nil {
		return 0, err
	}
	res, err := request[*addPeersResponse](ctx, n, namePeers, &importPeersRequest{Peers: recs})
	if err != nil {
		return 0, err
	}
	return res.Added, nil
}

// SetMining starts or stops the miners. When it returns after a stop, this node connects no block
// of its own mining.
func (n *Node) SetMining(ctx context.Context, enabled bool) error {
	_, err := request[*setMiningResponse](ctx, n, nameMiner, &setMiningRequest{Enabled: enabled})
	return err
}

// Actors returns a snapshot of the supervision tree.
func (n *Node) Actors() supervisor.Node { return n.tree.Snapshot() }

// FaultInjection reports whether the debug fault hooks are enabled.
func (n *Node) FaultInjection() bool { return n.cfg.Debug.FaultInjection }

// CrashActor makes the named actor panic inside its own handler (debug.fault_injection only).
func (n *Node) CrashActor(name string) error {
	if !n.cfg.Debug.FaultInjection {
		return ErrNotFound
	}
	return supervisor.CrashActor(n.sys, n.tree, name, "fault injection: crash requested over the API")
}

// KillActor stops the named actor abruptly; its parent replaces it (debug.fault_injection only).
func (n *Node) KillActor(name string) error {
	if !n.cfg.Debug.FaultInjection {
		return ErrNotFound
	}
	return supervisor.Kill(n.sys, n.tree, name)
}

// Params returns the chain parameters.
func (n *Node) Params() *chainstate.Params { return n.params }

// txRejection maps a stateless check's rule error onto the API's rejection codes.
func txRejection(err error) error {
	re, ok := chainstate.IsRuleError(err)
	if !ok {
		return &TxRejected{Code: "malformed", Reason: err.Error()}
	}
	code := "malformed"
	switch re.Code {
	case chainstate.CodeBadSignature:
		code = "bad_signature"
	case chainstate.CodeWrongChain:
		code = "wrong_chain"
	case chainstate.CodeBadNonce:
		code = "bad_nonce"
	case chainstate.CodeInsufficientFunds:
		code = "insufficient_funds"
	}
	return &TxRejected{Code: code, Reason: re.Error()}
}
