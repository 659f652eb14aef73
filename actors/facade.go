package actors

import (
	"context"
	"errors"
	"math/big"
	"slices"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// This file is the node's facade: the methods the API's handler (api.Reader, api.Submitter,
// api.Debugger) and the tests call on a running node. Every method turns a call into an actor
// request (or a snapshot read of the store) bounded by ctx and answers with the api package's
// types; a refusal is an *errcode.Error, whose code the API maps to its HTTP status. All methods
// are goroutine-safe.

// ErrNotFound is returned when a block, transaction or account-independent object is unknown
// (404 not_found).
var ErrNotFound = errcode.New(errcode.NotFound, "not found")

// ErrUnavailable is returned when the actor that must answer is restarting, stopped or did not answer
// in time; the caller may retry (503 busy).
var ErrUnavailable = errcode.New(errcode.Busy, "temporarily unavailable")

// ErrStopped is returned once the node is stopping or stopped (503 busy).
var ErrStopped = errcode.New(errcode.Busy, "node is stopping")

// Status reports the node's state from the committed tip. Height, tip and the mempool count come
// from one read of the store, so they describe one state: the count is the durable mempool
// (acknowledged transfers not yet mined), never a transfer counted both as pending and mined.
func (n *Node) Status(ctx context.Context) (api.Status, error) {
	s, err := n.store()
	if err != nil {
		return api.Status{}, err
	}
	sum, err := s.Summary()
	if err != nil {
		return api.Status{}, unavailable(err)
	}
	return api.Status{
		NodeID:      n.nodeID,
		ChainID:     n.params.ChainID,
		GenesisHash: n.params.GenesisHash().String(),
		Height:      sum.Tip.Header.Height,
		TipHash:     sum.Tip.Hash.String(),
		TotalWork:   sum.Tip.Work,
		Target:      api.TargetHex(n.blockTarget(&sum.Tip.Header), sum.Tip.Header.Bits),
		Difficulty:  n.params.Difficulty(&sum.Tip.Header),
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
func (n *Node) BlockAt(ctx context.Context, height uint64) (api.BlockInfo, error) {
	s, err := n.store()
	if err != nil {
		return api.BlockInfo{}, err
	}
	h, ok, err := s.MainHash(height)
	if err != nil {
		return api.BlockInfo{}, unavailable(err)
	}
	if !ok {
		return api.BlockInfo{}, ErrNotFound
	}
	return n.BlockByHash(ctx, h)
}

// BlockByHash returns a stored block, main chain or side chain.
func (n *Node) BlockByHash(ctx context.Context, h chainstate.Hash) (api.BlockInfo, error) {
	s, err := n.store()
	if err != nil {
		return api.BlockInfo{}, err
	}
	b, ok, err := s.Block(h)
	if err != nil {
		return api.BlockInfo{}, unavailable(err)
	}
	if !ok {
		return api.BlockInfo{}, ErrNotFound
	}
	main, _, err := s.MainHash(b.Header.Height)
	if err != nil {
		return api.BlockInfo{}, unavailable(err)
	}
	return api.BlockInfo{Block: b, Hash: h, Main: main == h, Target: n.blockTarget(&b.Header)}, nil
}

// blockTarget is the target h's hash met (nil for bits that encode none: such a block is never
// stored).
func (n *Node) blockTarget(h *chainstate.Header) *big.Int {
	t, err := n.params.Target(h)
	if err != nil {
		return nil
	}
	return t
}

// Account returns an account's committed state and its next pending nonce, both from one read
// of the store: the pending nonce follows the committed one through the account's acknowledged
// (durable) transfers, so a block connected meanwhile cannot make it answer a used nonce.
func (n *Node) Account(ctx context.Context, a chainstate.Address) (api.AccountInfo, error) {
	s, err := n.store()
	if err != nil {
		return api.AccountInfo{}, err
	}
	acc, pending, err := s.AccountPending(a)
	if err != nil {
		return api.AccountInfo{}, unavailable(err)
	}
	return api.AccountInfo{Address: a.String(), Balance: acc.Balance, Nonce: acc.Nonce, PendingNonce: pending}, nil
}

// SubmitTx checks tx and stores it durably in the mempool. It returns only after the mempool commit:
// from then on the transaction survives kill -9. A rejection is an *errcode.Error with one of errcode.TxCodes.
func (n *Node) SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error) {
	h := tx.Hash()
	// Stateless checks run here, on the caller's goroutine, outside every mailbox: signatures of
	// concurrent submissions are verified in parallel and remembered for block import.
	if err := chainstate.CheckTx(n.params, tx, n.sigs); err != nil {
		return h, txRejection(err)
	}
	_, err := call[*submitTxResponse](ctx, n, nameMempool, &submitTxRequest{Tx: tx, Hash: h})
	return h, err
}

// Tx reports a transaction: confirmed on the main chain, or pending in the mempool. The answer is
// one read of the store, where a connect (or a reorg) moves a transaction between the mempool
// bucket and the tx index in one write transaction: an acknowledged transfer is always found,
// also while the block that confirms it is being connected. A transfer whose mempool commit has
// not finished yet (not acknowledged) is not found. A transfer the store no longer holds because
// a replace-by-fee replaced it is reported replaced while this node remembers it (replaced.go:
// since the node started, the most recent ones); then it is not found.
func (n *Node) Tx(ctx context.Context, h chainstate.Hash) (api.TxInfo, error) {
	s, err := n.store()
	if err != nil {
		return api.TxInfo{}, err
	}
	st, ok, err := s.TxState(h)
	if err != nil {
		return api.TxInfo{}, unavailable(err)
	}
	if !ok {
		if by, replaced := n.replaced.lookup(h); replaced {
			return api.TxInfo{Replaced: true, ReplacedBy: by}, nil
		}
		return api.TxInfo{}, ErrNotFound
	}
	if !st.Confirmed {
		return api.TxInfo{Tx: st.Tx}, nil
	}
	return api.TxInfo{Tx: st.Tx, Confirmed: true, Height: st.Location.Height, BlockHash: st.Location.BlockHash}, nil
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
func (n *Node) Peers(ctx context.Context) (api.PeersInfo, error) {
	res, err := request[*peersInfoResponse](ctx, n, namePeers, &peersInfoRequest{})
	if err != nil {
		return api.PeersInfo{}, err
	}
	return res.Info, nil
}

// AddPeer records ID@HOST:PORT in the address book and dials it now.
func (n *Node) AddPeer(ctx context.Context, peerAddr string) error {
	id, addr, err := noisep2p.ParsePeerAddr(peerAddr)
	if err != nil {
		return errcode.New(errcode.Malformed, err.Error())
	}
	_, err = request[*addPeersResponse](ctx, n, namePeers, &addPeerRequest{ID: id, Addr: addr})
	return err
}

// ExportPeers returns the address book as a peer bundle.
func (n *Node) ExportPeers(ctx context.Context) (*api.Bundle, error) {
	res, err := request[*exportPeersResponse](ctx, n, namePeers, &exportPeersRequest{})
	if err != nil {
		return nil, err
	}
	return api.NewBundle(n.params, res.Peers, n.now()), nil
}

// ImportPeers merges a bundle into the address book and dials its peers; a bundle of another
// chain is refused (ErrWrongChain).
func (n *Node) ImportPeers(ctx context.Context, b *api.Bundle) (int, error) {
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

// ActorTree returns the supervision tree as GET /v1/actors answers it.
func (n *Node) ActorTree() api.ActorNode { return actorNodeFrom(n.tree.Snapshot()) }

// actorNodeFrom converts a supervision-tree snapshot.
func actorNodeFrom(s supervisor.Node) api.ActorNode {
	out := api.ActorNode{Name: s.Name, State: string(s.State), Restarts: s.Restarts,
		Children: make([]api.ActorNode, 0, len(s.Children))}
	for _, c := range s.Children {
		out.Children = append(out.Children, actorNodeFrom(c))
	}
	return out
}

// FaultInjection reports whether the debug fault hooks are enabled.
func (n *Node) FaultInjection() bool { return n.cfg.Debug.FaultInjection }

// CrashActor makes the named actor panic inside its own handler (debug.fault_injection only).
func (n *Node) CrashActor(name string) error {
	if !n.cfg.Debug.FaultInjection {
		return ErrNotFound
	}
	return actorError(supervisor.CrashActor(n.sys, n.tree, name, "fault injection: crash requested over the API"))
}

// KillActor stops the named actor abruptly; its parent replaces it (debug.fault_injection only).
func (n *Node) KillActor(name string) error {
	if !n.cfg.Debug.FaultInjection {
		return ErrNotFound
	}
	return actorError(supervisor.Kill(n.sys, n.tree, name))
}

// actorError gives the supervisor's refusals their codes: an unknown actor is 404 unknown_actor,
// a node without fault injection 404 not_found.
func actorError(err error) error {
	switch {
	case errors.Is(err, supervisor.ErrUnknownActor):
		return &errcode.Error{Code: errcode.UnknownActor, Reason: err.Error(), Err: err}
	case errors.Is(err, supervisor.ErrNoFaultInjection):
		return &errcode.Error{Code: errcode.NotFound, Reason: err.Error(), Err: err}
	}
	return err
}

// Params returns the chain parameters.
func (n *Node) Params() *chainstate.Params { return n.params }

// call is request for a reply that carries the actor's own error: one error for the caller, the
// call's (no answer in time: ErrUnavailable) or the actor's (the reply's Err).
func call[T replier](ctx context.Context, n *Node, name string, msg any) (T, error) {
	r, err := request[T](ctx, n, name, msg)
	if err == nil {
		err = r.replyErr()
	}
	return r, err
}

// txRejection maps a stateless check's rule error onto the API's rejection codes: a rule code
// that is one of errcode.TxCodes keeps its name, every other is malformed.
func txRejection(err error) error {
	re, ok := chainstate.IsRuleError(err)
	if !ok {
		return errcode.New(errcode.Malformed, err.Error())
	}
	code := errcode.Code(re.Code.String())
	if !slices.Contains(errcode.TxCodes, code) {
		code = errcode.Malformed
	}
	return &errcode.Error{Code: code, Reason: re.Error()}
}

// The facade is the API's whole backend.
var (
	_ api.Backend       = (*Node)(nil)
	_ api.BackupBackend = (*Node)(nil)
)
