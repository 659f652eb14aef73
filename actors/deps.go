package actors

import (
	"crypto/ed25519"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chain"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// The dependencies of the actors (in the manner of btcd's mempool.Config): each actor gets a
// small value holding the refs and functions it needs and nothing else, built once by the Node
// (its producers) instead of reaching into *Node. What two actors share is named here: the
// store (a read-only handle for consistent reads, by design: issue 9's one-read lookups), the
// clock, the logger and metrics, and PIDs by name.

// actorEnv is what every actor gets: logging, the clock and the names of the other actors.
type actorEnv struct {
	log *slog.Logger
	// clock is the node's clock (Node.clock: skewed under fault injection): chain time, the
	// peer book. local is Options.Clock beneath the skew: the node's own rounds and durations
	// (block sync rounds and stalls, the sync progress report, mempool admission ages), which a
	// skew set or cleared must not cut short or stretch.
	clock, local Clock
	// pid names another top-level actor.
	pid func(name string) *actor.PID
	// store returns the published store for reads (ErrUnavailable while storage restarts).
	store func() (*chainstate.Store, error)
}

func (n *Node) env() actorEnv {
	return actorEnv{log: n.log, clock: n.clock, local: n.opts.Clock, pid: n.pid, store: n.store}
}

func (e actorEnv) now() time.Time { return e.clock.Now() }

// nowMs is now in milliseconds since the Unix epoch (chain time).
func (e actorEnv) nowMs() uint64 { return uint64(e.now().UnixMilli()) }

// peerConnDeps is what a connection actor needs.
type peerConnDeps struct {
	actorEnv
	params  *chainstate.Params
	sigs    *chainstate.SigCache
	metrics *metrics // syncBlock
	// txreq: the node's transfers asked of one peer, shared by every connection.
	txreq *txRequests
	// stopping reports that the node's ordered stop has begun (the `peer disconnected` reason).
	stopping func() bool
	// sender builds the connection's sender (links.go): decorated under fault injection.
	sender func(id noisep2p.ID, c *noisep2p.Conn, wake func(), name string) linkSender
	// compact: p2p.compact_blocks (this node speaks compact blocks); rules: the chain rules a
	// relayed header is checked with before it is pushed on (peerconn_compact.go).
	compact bool
	rules   chain.Rules
}

func (n *Node) peerConnDeps() peerConnDeps {
	return peerConnDeps{actorEnv: n.env(), params: n.params, sigs: n.sigs, metrics: n.metrics, txreq: n.txreq,
		stopping: n.stopping.Load, sender: n.linkSender, compact: n.cfg.P2P.CompactBlocks, rules: n.rules()}
}

// peersDeps is what the peer manager needs.
type peersDeps struct {
	actorEnv
	cfg            config.P2P
	tree           *supervisor.Tree
	faultInjection bool
	metrics        *metrics // peers, syncProgress
	self           noisep2p.ID
	nodeID         string
	conn           peerConnDeps
	// waitStore waits (bounded) for storage to publish the store.
	waitStore func(time.Duration) (*chainstate.Store, error)
	// transport returns the p2p transport configuration.
	transport func() *noisep2p.Config
	// takeListener takes the listener Start bound (nil after the first call); listen binds a
	// new one (a restart); boundAddr is the address the last one is bound to.
	takeListener func() *noisep2p.Listener
	listen       func(addr string) (*noisep2p.Listener, error)
	boundAddr    func() string
	advertised   func() string
	// linkCut reports a link cut by fault injection; nil without debug.fault_injection.
	linkCut func(noisep2p.ID) bool
	// status is what the manager publishes (written by it alone).
	status *peerStatus
}

// peerStatus is what the peer manager publishes for readers outside the actors: GET
// /v1/status (count, syncing, syncTarget) and the p2p listener's accept callback (up). Only the
// manager writes it.
type peerStatus struct {
	up      atomic.Bool // a peers instance runs and takes inbound connections
	count   atomic.Int64
	syncing atomic.Bool
	// syncTarget is the best height a connected peer announced (sync_target_height).
	syncTarget atomic.Uint64
	// relayed is the height of the last block handed to early relay (RelayedHeight).
	relayed atomic.Uint64
}

func (n *Node) peersDeps() peersDeps {
	d := peersDeps{actorEnv: n.env(), cfg: n.cfg.P2P, tree: n.tree, faultInjection: n.cfg.Debug.FaultInjection,
		metrics: n.metrics, self: noisep2p.IDFromKey(n.nodeKey.PublicKey()), nodeID: n.nodeID,
		conn: n.peerConnDeps(), waitStore: n.handle.wait, takeListener: n.takeListener, listen: n.listenP2P,
		boundAddr: n.P2PAddr, advertised: n.advertisedAddr,
		status: &n.peer}
	d.transport = func() *noisep2p.Config {
		if n.p2pCfg != nil {
			return n.p2pCfg
		}
		return n.p2pConfig()
	}
	if n.faults != nil {
		d.linkCut = n.faults.cut
	}
	return d
}

// minerDeps is what the miner and its workers need.
type minerDeps struct {
	actorEnv
	params         *chainstate.Params
	tree           *supervisor.Tree
	faultInjection bool
	intensity      supervisor.Intensity
	workers        int
	minInterval    time.Duration // minBlockInterval
	key            ed25519.PrivateKey
	pub            chainstate.PublicKey
	hashes         interface{ Add(float64) }     // the hashes counter
	tipSwitch      interface{ Observe(float64) } // the tip switch histogram
	staleStop      interface{ Observe(float64) } // the stale stop histogram
	// mining is the desired mining state, kept across miner restarts (set by the API and the root).
	mining *atomic.Bool
	// storageFailing reports failing commits (health): no hashing then.
	storageFailing func() bool
	calls          retrier // submits solved blocks to consensus
	// tips is consensus's tip epoch: a worker stops its search when it moves on.
	tips *tipEpoch
	// lowPriority: mining.low_priority.
	lowPriority bool
}

func (n *Node) minerDeps() minerDeps {
	return minerDeps{actorEnv: n.env(), params: n.params, tree: n.tree, faultInjection: n.cfg.Debug.FaultInjection,
		intensity: n.intensity(), workers: n.workers(), minInterval: n.minBlockInterval(),
		key: n.minerKey, pub: n.minerPub, hashes: n.metrics.hashes, tipSwitch: n.metrics.tipSwitch, staleStop: n.metrics.staleStop, mining: &n.mining,
		storageFailing: func() bool { failing, _ := n.healthState.storageFailing(); return failing },
		calls:          n.retrier(), tips: &n.tips, lowPriority: n.cfg.Mining.LowPriority}
}

// mempoolDeps is what the mempool needs.
type mempoolDeps struct {
	actorEnv
	cfg  config.Mempool
	sigs *chainstate.SigCache
	// replaced is the log of replaced transfers, shared with the facade's GET /v1/txs
	// (goroutine-safe: replaced.go).
	replaced  *replacedLog
	size      interface{ Set(float64) } // the mempool gauge
	waitStore func(time.Duration) (*chainstate.Store, error)
	// storageUnavailable is the error a submitter gets while commits fail (nil when they do not).
	storageUnavailable func() error
	// commits numbers the group commits across the mempool's restarts.
	commits *atomic.Uint64
}

func (n *Node) mempoolDeps() mempoolDeps {
	return mempoolDeps{actorEnv: n.env(), cfg: n.cfg.Mempool, sigs: n.sigs, replaced: n.replaced,
		size: n.metrics.mempool, waitStore: n.handle.wait, storageUnavailable: n.storageUnavailable,
		commits: &n.mempoolCommits}
}

// storageDeps is what the storage actor needs. It owns the store: it opens it (or takes the one
// Start opened), publishes it for reads and closes it.
type storageDeps struct {
	actorEnv
	cfg        config.Storage
	params     *chainstate.Params
	handle     *storeHandle
	commitTime *prometheus.HistogramVec
	// commitHook runs before every commit (Node.commitHook): nil without fault injection or a
	// test's hook.
	commitHook func() error
	// damaged stops the node for a damaged store (damage.go).
	damaged func(error)
	trace   *commitTrace
	backups *backupSet
	health  *healthState
	ready   <-chan struct{} // closed once the node is ready: the page walk starts then
}

func (n *Node) storageDeps() storageDeps {
	return storageDeps{actorEnv: n.env(), cfg: n.cfg.Storage, params: n.params, handle: &n.handle,
		commitTime: n.metrics.commit, commitHook: n.commitHook(), damaged: n.storeDamaged, trace: n.trace,
		backups: &n.backups, health: &n.healthState, ready: n.ready}
}

// consensusDeps is what the consensus actor needs.
type consensusDeps struct {
	actorEnv
	params  *chainstate.Params // the difficulty gauge
	rules   chain.Rules
	metrics *metrics // height, blocks and transfers connected, block import time
	// waitStore waits (bounded) for storage to publish the store (the machine's first load).
	waitStore func(time.Duration) (*chainstate.Store, error)
	calls     retrier // the storage writes
	// earlyRelay: p2p.compact_blocks; this node's mined blocks go to the peer manager's early
	// relay before they are stored.
	earlyRelay bool
	// tips is advanced before each new tip is sent to the miner (its workers watch it).
	tips *tipEpoch
}

func (n *Node) consensusDeps() consensusDeps {
	return consensusDeps{actorEnv: n.env(), params: n.params, rules: n.rules(), metrics: n.metrics, waitStore: n.handle.wait,
		calls: n.retrier(), earlyRelay: n.cfg.P2P.CompactBlocks, tips: &n.tips}
}

// rules are the chain rules consensus applies (package chain).
func (n *Node) rules() chain.Rules { return chain.RulesFor(n.params, n.sigs) }

// apiDeps is what the api actor needs: the facade it serves and its listener.
type apiDeps struct {
	log     *slog.Logger
	cfg     config.API
	pprof   bool
	backend api.Backend // the node's facade (facade.go)
	// takeListener takes the listener Start bound (nil after the first call); boundAddr is the
	// address the API was last bound to, setBound records a new one.
	takeListener func() net.Listener
	boundAddr    func() string
	setBound     func(string)
	// markReady closes the node's ready channel (once): the API answering is the node ready.
	markReady func()
}

func (n *Node) apiDeps() apiDeps {
	return apiDeps{log: n.log, cfg: n.cfg.API, pprof: n.cfg.Debug.Pprof, backend: n,
		takeListener: n.takeAPIListener, boundAddr: n.APIAddr,
		setBound:  func(a string) { n.apiAddr.Store(a) },
		markReady: func() { n.readyOn.Do(func() { close(n.ready) }) }}
}
