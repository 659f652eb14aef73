package api

import (
	"context"
	"net/http"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/supervisor"
)

// Backend is what the handlers need from a node: exactly the methods of *actors.Node they call,
// so tests can serve the API from a fake. Every method must be safe for concurrent use; the
// methods taking a context must return once it is done.
type Backend interface {
	Status(ctx context.Context) (actors.Status, error)
	Health(ctx context.Context) (actors.Health, error)
	BlockAt(ctx context.Context, height uint64) (actors.BlockInfo, error)
	BlockByHash(ctx context.Context, h chainstate.Hash) (actors.BlockInfo, error)
	Account(ctx context.Context, a chainstate.Address) (actors.AccountInfo, error)
	SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error)
	Tx(ctx context.Context, h chainstate.Hash) (actors.TxInfo, error)
	Mempool(ctx context.Context) ([]chainstate.Hash, error)
	Peers(ctx context.Context) (actors.PeersInfo, error)
	AddPeer(ctx context.Context, peerAddr string) error
	ExportPeers(ctx context.Context) (*actors.Bundle, error)
	ImportPeers(ctx context.Context, b *actors.Bundle) (int, error)
	SetMining(ctx context.Context, enabled bool) error
	Actors() supervisor.Node
	FaultInjection() bool
	CrashActor(name string) error
	KillActor(name string) error
	SetStorageFault(ctx context.Context, fail bool) (bool, error)
	SetClockSkew(ctx context.Context, skewSeconds int64) (int64, error)
	SetLink(ctx context.Context, f actors.LinkFilter) ([]actors.LinkFilter, error)
	Links(ctx context.Context) ([]actors.LinkFilter, error)
	ClearLinks(ctx context.Context) ([]actors.LinkFilter, error)
	Params() *chainstate.Params
	MetricsHandler() http.Handler
}

// The node is the production Backend.
var _ Backend = (*actors.Node)(nil)
