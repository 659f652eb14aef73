package api

import (
	"context"
	"net/http"

	"github.com/actorchain/actorchain/chainstate"
)

// The node as the handler sees it, split by role; the node's facade (*actors.Node, which
// actors checks against these) is the production one, tests serve the API from fakes. Every
// method must be safe for concurrent use; the methods taking a context must return once it is
// done. A refusal is an *errcode.Error: its code picks the answer's status.

// Reader is what the read endpoints need: GET of status, health, blocks, accounts, transactions,
// the mempool, peers, the peer bundle, the actor tree and /metrics.
type Reader interface {
	Status(ctx context.Context) (Status, error)
	Health(ctx context.Context) (Health, error)
	BlockAt(ctx context.Context, height uint64) (BlockInfo, error)
	BlockByHash(ctx context.Context, h chainstate.Hash) (BlockInfo, error)
	Account(ctx context.Context, a chainstate.Address) (AccountInfo, error)
	Tx(ctx context.Context, h chainstate.Hash) (TxInfo, error)
	Mempool(ctx context.Context) ([]chainstate.Hash, error)
	Peers(ctx context.Context) (PeersInfo, error)
	ExportPeers(ctx context.Context) (*Bundle, error)
	ActorTree() ActorNode
	Params() *chainstate.Params
	MetricsHandler() http.Handler
}

// Submitter is what the endpoints that change the node need: POST of transfers, peers, peer
// bundles and the mining switch.
type Submitter interface {
	SubmitTx(ctx context.Context, tx *chainstate.Tx) (chainstate.Hash, error)
	AddPeer(ctx context.Context, peerAddr string) error
	ImportPeers(ctx context.Context, b *Bundle) (int, error)
	SetMining(ctx context.Context, enabled bool) error
}

// Debugger is what the /v1/debug/* fault hooks need; FaultInjection guards them all (without it
// they answer 404 like an unknown path).
type Debugger interface {
	FaultInjection() bool
	CrashActor(name string) error
	KillActor(name string) error
	SetStorageFault(ctx context.Context, fail bool) (bool, error)
	SetClockSkew(ctx context.Context, skewSeconds int64) (int64, error)
	SetLink(ctx context.Context, f LinkFilter) ([]LinkFilter, error)
	Links(ctx context.Context) ([]LinkFilter, error)
	ClearLinks(ctx context.Context) ([]LinkFilter, error)
}

// Backend is a whole node: every role. A Backend that also implements BackupBackend serves
// GET /v1/db/backup.
type Backend interface {
	Reader
	Submitter
	Debugger
}
