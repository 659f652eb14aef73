package actors

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/logthrottle"
	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// Version is the node's version, set at build time with -ldflags "-X ...actors.Version=...".
var Version = "0.1.0-dev"

// Actor names (CONTRACT §3), in start order.
const (
	nameStorage   = "storage"
	nameConsensus = "consensus"
	nameMempool   = "mempool"
	namePeers     = "peers"
	nameMiner     = "miner"
	nameAPI       = "api"
	rootName      = "node"
)

// requestTimeout bounds every request from one actor to another, and from a caller to an actor
// when the caller's context has no earlier deadline.
const requestTimeout = 5 * time.Second

// Options are the parts of a node that the caller supplies besides its Config.
type Options struct {
	// Logger receives every record of the node (lifecycle records included), behind the rate
	// limit of repeated warnings (logthrottle: one Warn or Error record a second per kind, with a
	// repeated count). Default: discard.
	Logger *slog.Logger
	// Clock is the node's clock (clock.go; tests: a fake). Default: the system clock.
	Clock Clock
	// Intensity overrides the restart intensity of every supervised actor (tests). Zero: 5 in 10 s.
	Intensity supervisor.Intensity
	// CommitTrace, when set, receives one JSON line per committed write that moves transactions
	// into or out of the mempool (trace.go): the acknowledgement stress test traces every
	// acknowledgement with it. Nil: no trace.
	CommitTrace io.Writer
	// MinBlockInterval overrides mining.min_block_interval, the pacing of this node's own
	// mining (tests and benchmarks): zero keeps the config's value; negative: no pacing.
	// It is local policy only: blocks from others are never judged by it.
	MinBlockInterval time.Duration
	// beforeCommit, when set, runs just before every storage write commits, after the storage
	// fault's check (tests: a commit that outlasts its caller's wait).
	beforeCommit func() error
}

// Node is a running node: an actor system whose root actor `node` supervises storage, consensus,
// mempool, peers, miner and api. It is created by Start and stopped by Stop; after Stop it is
// permanently unusable.
type Node struct {
	cfg      *config.Config
	params   *chainstate.Params
	opts     Options
	log      *slog.Logger
	sys      *actor.ActorSystem
	tree     *supervisor.Tree
	root     *actor.PID
	handle   storeHandle
	sigs     *chainstate.SigCache
	txreq    *txRequests  // the transfers asked of one peer (txrequests.go)
	replaced *replacedLog // transfers a replace-by-fee replaced, for GET /v1/txs (replaced.go)
	metrics  *metrics
	// clock is the node's clock: Options.Clock, decorated with the injected skew when
	// debug.fault_injection is on (faults.go). Health and supervision read Options.Clock itself,
	// so that a skew set and cleared does not move their restart windows.
	clock    Clock
	faults   *faults // debug fault hooks (faults.go); nil without debug.fault_injection
	trace    *commitTrace
	nodeID   string
	minerKey ed25519.PrivateKey
	minerPub chainstate.PublicKey
	nodeKey  *ecdh.PrivateKey
	p2pCfg   *noisep2p.Config // set before the tree starts; read-only after
	traffic  noisep2p.Traffic // every peer connection's messages (p2pCfg.Traffic; metrics)

	mining  atomic.Bool  // desired mining state; survives miner restarts
	tips    tipEpoch     // counts the tips consensus published (miner.go: workers stop on a stale tip)
	apiAddr atomic.Value // string: the API's bound address once listening
	p2pAddr atomic.Value // string: the p2p listener's bound address
	peer    peerStatus   // what the peer manager publishes (deps.go)
	// mempoolCommits numbers the mempool's group commits across its restarts (mempool.go).
	mempoolCommits atomic.Uint64
	stopping       atomic.Bool      // the ordered stop has begun
	listeners      initialListeners // bound by Start, taken by the first peers and api instances
	ready          chan struct{}
	readyOn        sync.Once

	stopOnce  sync.Once
	done      chan struct{} // closed when the root actor has stopped
	mu        sync.Mutex
	exitErr   error // why the node stopped itself (guarded by mu)
	shutdowns sync.Once

	healthState healthState          // what health depends on besides the tree (health.go)
	throttle    *logthrottle.Handler // rate-limits repeated warnings; flushed by finish
	backups     backupSet            // backups in flight, cancelled when storage closes (backup.go)
}

// Start opens the node's store (failing fast, with a clear error, when the home is in use or the
// database belongs to another chain), builds the actor tree in start order and returns once the
// API listens. The caller must call Stop.
func Start(cfg *config.Config, opts Options) (*Node, error) {
	opts, throttle := opts.withDefaults()
	n, err := newNode(cfg, opts, throttle)
	if err != nil {
		return nil, err
	}
	if cfg.Mining.LowPriority {
		lowPriorityProcs(n.workers())
	}
	if err := n.bindListeners(); err != nil {
		_ = n.handle.takeInitial().Close()
		return nil, err
	}
	n.metrics = newMetrics(n)
	if err := n.spawnRoot(); err != nil {
		n.finish()
		return nil, err
	}
	return n.awaitReady()
}

// withDefaults fills in the logger and the clock, and puts the logger behind the rate limit of
// repeated warnings, whose handler it returns too (Node.throttle).
func (opts Options) withDefaults() (Options, *logthrottle.Handler) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = systemClock{}
	}
	// Repeated warnings of one kind: at most one record a second, with a repeated count
	// (CONTRACT §11).
	throttle := logthrottle.New(opts.Logger.Handler(), logthrottle.Options{})
	opts.Logger = slog.New(throttle)
	return opts, throttle
}

// newNode loads the chain parameters and the keys, opens the store (left in n.handle.initial for
// the first storage instance) and builds the Node, with nothing listening or running yet.
func newNode(cfg *config.Config, opts Options, throttle *logthrottle.Handler) (*Node, error) {
	params, err := ParamsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	nodeKey, minerKey, err := loadKeys(cfg, opts.Logger)
	if err != nil {
		return nil, err
	}
	store, err := chainstate.Open(cfg.Storage.Path, params, cfg.Storage.OpenTimeout)
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		params:   params,
		opts:     opts,
		log:      opts.Logger,
		tree:     supervisor.NewTree(rootName),
		sigs:     chainstate.NewSigCache(200_000),
		txreq:    newTxRequests(txRequestTimeout, txRequestsMax),
		replaced: newReplacedLog(cfg.Mempool.MaxTxs),
		nodeID:   hex.EncodeToString(nodeKey.PublicKey().Bytes()),
		minerKey: minerKey,
		nodeKey:  nodeKey,
		minerPub: chainstate.PublicKey(minerKey.Public().(ed25519.PublicKey)),
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
		trace:    &commitTrace{w: opts.CommitTrace, now: opts.Clock.Now},
		clock:    opts.Clock,
		throttle: throttle,
	}
	if cfg.Debug.FaultInjection {
		n.faults = newFaults(opts.Clock)
		n.clock = n.faults.clock
	}
	n.healthState.started = opts.Clock.Now()
	n.mining.Store(cfg.Mining.Enabled)
	n.handle.initial = store
	return n, nil
}

// loadKeys reads the node's p2p key and the miner's signing key, warning about a key file others
// can read or write.
func loadKeys(cfg *config.Config, log *slog.Logger) (*ecdh.PrivateKey, ed25519.PrivateKey, error) {
	nodeKey, err := chainstate.LoadNodeKey(cfg.Node.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("node key: %w", err)
	}
	minerKey, err := chainstate.LoadSigningKey(cfg.Mining.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("miner key: %w", err)
	}
	for _, path := range []string{cfg.Node.KeyFile, cfg.Mining.KeyFile} {
		// A key others can read still works, but the operator should know (docs/operations.md).
		if err := chainstate.CheckKeyFileMode(path); err != nil {
			log.Warn("key file is readable or writable by others: chmod 600 it", "err", err)
		}
	}
	return nodeKey, minerKey, nil
}

// bindListeners binds the p2p and API listeners the first peers and api instances take. On an
// error nothing stays bound.
func (n *Node) bindListeners() error {
	cfg := n.cfg
	// The p2p listener is bound here too, so that a port in use fails Start with a clear error
	// instead of a restart loop; the first peers instance takes it.
	if cfg.P2P.Listen != "" {
		ln, err := n.listenP2P(cfg.P2P.Listen)
		if err != nil {
			return err
		}
		n.listeners.p2p = ln
	}
	// The API listener too: a restart cannot free a port in use, so it fails Start at once,
	// naming the address, instead of a crash loop of the api actor.
	if cfg.API.Listen != "" {
		ln, err := net.Listen("tcp", cfg.API.Listen)
		if err != nil {
			if n.listeners.p2p != nil {
				_ = n.listeners.p2p.Close()
			}
			return fmt.Errorf("api: listen on %s: %w", cfg.API.Listen, err)
		}
		n.listeners.api = ln
	}
	return nil
}

// spawnRoot creates the actor system and spawns the root actor, which starts the tree.
func (n *Node) spawnRoot() error {
	n.sys = actor.NewActorSystem(
		actor.WithLoggerFactory(func(s *actor.ActorSystem) *slog.Logger {
			return slog.New(minLevel{h: n.log.Handler(), min: slog.LevelWarn}).With("lib", "protoactor")
		}),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
		actor.WithDeadLetterRequestLogging(false),
	)
	props := actor.PropsFromProducer(func() actor.Actor { return newRootActor(n) })
	pid, err := n.sys.Root.SpawnNamed(props, rootName)
	if err != nil {
		return fmt.Errorf("spawn node: %w", err)
	}
	n.root = pid
	return nil
}

// awaitReady waits until the tree is up (n), has stopped while starting, or 30 s have passed.
func (n *Node) awaitReady() (*Node, error) {
	select {
	case <-n.ready:
		return n, nil
	case <-n.done:
		err := n.Err()
		n.finish()
		if err == nil {
			err = errors.New("node stopped while starting")
		}
		return nil, err
	case <-time.After(30 * time.Second):
		_ = n.Stop(context.Background())
		return nil, errors.New("node did not become ready within 30s")
	}
}

// Config returns the node's configuration.
func (n *Node) Config() *config.Config { return n.cfg }

// NodeID is the hex of the node's static p2p public key.
func (n *Node) NodeID() string { return n.nodeID }

// APIAddr is the address the API listens on ("" when disabled).
func (n *Node) APIAddr() string {
	s, _ := n.apiAddr.Load().(string)
	return s
}

// P2PAddr is the address the p2p listener is bound to ("" when networking is off).
func (n *Node) P2PAddr() string {
	s, _ := n.p2pAddr.Load().(string)
	return s
}

// RelayedHeight is the height of the last block the peer manager handed to early relay (a block
// received compact or whole, or mined here, whose header and work checked out, on its way to the
// high-bandwidth peers before this node validated and stored it); 0 before the first. The
// per-hop relay figure of `node bench` reads it.
func (n *Node) RelayedHeight() uint64 { return n.peer.relayed.Load() }

// advertisedAddr is the address peers are told to dial: p2p.external_addr, else the bound
// listen address.
func (n *Node) advertisedAddr() string {
	if a := n.cfg.P2P.ExternalAddr; a != "" {
		return a
	}
	return n.P2PAddr()
}

// listenP2P binds the p2p listener; accepted connections go to whichever peers instance runs.
func (n *Node) listenP2P(addr string) (*noisep2p.Listener, error) {
	if n.p2pCfg == nil {
		n.p2pCfg = n.p2pConfig()
	}
	ln, err := noisep2p.Listen(addr, n.p2pCfg, noisep2p.ListenerConfig{
		ThrottlePerIP:  noisep2p.DefaultThrottlePerIP,
		ExemptLoopback: true, // local devnets and tests; every other address is throttled
		Rejected: func(a net.Addr, reason string, err error) {
			n.log.Info("inbound handshake failed", "actor", namePeers, "remote", a.String(), "reason", reason, "err", err)
		},
	}, func(c *noisep2p.Conn) {
		// Until a peers instance runs (the listener is bound before the tree starts, and while
		// peers restarts) nobody would take the connection: refuse it; the peer redials.
		if !n.peer.up.Load() {
			_ = c.Close()
			return
		}
		n.sys.Root.Send(n.pid(namePeers), &inboundConn{Conn: c})
	})
	if err != nil {
		return nil, fmt.Errorf("p2p: listen on %s: %w", addr, err)
	}
	n.p2pAddr.Store(ln.Addr().String())
	return ln, nil
}

// initialListeners are the listeners Start binds (so that a port in use fails Start), each
// taken once by the first instance of the actor that serves it.
type initialListeners struct {
	mu  sync.Mutex
	p2p *noisep2p.Listener // guarded by mu
	api net.Listener       // guarded by mu
}

func (n *Node) takeAPIListener() net.Listener {
	n.listeners.mu.Lock()
	defer n.listeners.mu.Unlock()
	ln := n.listeners.api
	n.listeners.api = nil
	return ln
}

func (n *Node) takeListener() *noisep2p.Listener {
	n.listeners.mu.Lock()
	defer n.listeners.mu.Unlock()
	ln := n.listeners.p2p
	n.listeners.p2p = nil
	return ln
}

// p2pConfig is the transport configuration: our key, the genesis bound by the prologue, and a
// hello with the committed tip.
func (n *Node) p2pConfig() *noisep2p.Config {
	return &noisep2p.Config{
		Key:     n.nodeKey,
		Genesis: n.params.GenesisHash(),
		// Room for a getdata's worth of blocks plus announcements; a peer that lets this fill up
		// is too slow and is dropped.
		SendQueue: 1024,
		Traffic:   &n.traffic,
		Hello: func() noisep2p.Hello {
			h := noisep2p.Hello{ListenAddr: n.advertisedAddr()}
			if n.cfg.P2P.CompactBlocks {
				h.Minor, h.Features = noisep2p.MinorCompact, noisep2p.FeatureCompactBlocks
			}
			if s, err := n.store(); err == nil {
				if tip, err := s.Tip(); err == nil {
					h.BestHeight, h.TipHash = tip.Header.Height, tip.Hash
				}
			}
			return h
		},
	}
}

// Done is closed once the node has stopped, by Stop or by itself (a vital actor gave up).
func (n *Node) Done() <-chan struct{} { return n.done }

// Err reports why the node stopped itself; nil after a requested stop.
func (n *Node) Err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.exitErr
}

func (n *Node) setErr(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.exitErr == nil {
		n.exitErr = err
	}
}

// Stop stops the node in dependency order (api, miner, peers, mempool, consensus, storage; each
// fully stopped before the next gets its stop, storage closing the database last) and waits until
// it is done or ctx expires. It is idempotent and safe to call after the node stopped itself.
func (n *Node) Stop(ctx context.Context) error {
	n.stopOnce.Do(func() { n.sys.Root.Send(n.root, &shutdownRequest{}) })
	select {
	case <-n.done:
		n.finish()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop: %w", ctx.Err())
	}
}

// finish releases what outlives the actors: the actor system.
func (n *Node) finish() {
	n.shutdowns.Do(func() {
		n.sys.Shutdown()
		if ln := n.takeListener(); ln != nil {
			_ = ln.Close()
		}
		if ln := n.takeAPIListener(); ln != nil {
			_ = ln.Close()
		}
		n.throttle.Flush()
		// A store the storage actor never took (the tree stopped before it started).
		if s := n.handle.takeInitial(); s != nil {
			_ = s.Close()
		}
	})
}

// SubmitBlock hands a block to consensus as if a peer had sent it (tests, and peers later).
func (n *Node) SubmitBlock(ctx context.Context, b *chainstate.Block) (BlockResult, error) {
	res, err := request[*submitBlockResponse](ctx, n, nameConsensus, &submitBlockRequest{Block: b, Source: "local"})
	if err != nil {
		return BlockResult{}, err
	}
	return res.Result, res.Err
}

func (n *Node) pid(name string) *actor.PID { return actor.NewPID(n.sys.Address(), rootName+"/"+name) }

// now is the node's clock's time (Node.clock).
func (n *Node) now() time.Time { return n.clock.Now() }

func (n *Node) workers() int {
	if w := n.cfg.Mining.Workers; w > 0 {
		return w
	}
	return runtime.NumCPU()
}

// minBlockInterval is the pacing of this node's own mining: a template is not handed to the
// workers sooner than this after the tip's time, so a devnet at trivial difficulty makes about
// ten blocks a second, not thousands that no peer can follow, and a follower a block or two
// behind is behind by a fraction of a second. It is local policy only: blocks from others are
// never judged by it.
func (n *Node) minBlockInterval() time.Duration {
	switch d := n.opts.MinBlockInterval; {
	case d < 0:
		return 0
	case d == 0:
		return n.cfg.Mining.MinBlockInterval
	default:
		return d
	}
}

func (n *Node) intensity() supervisor.Intensity {
	if n.opts.Intensity.MaxRestarts > 0 {
		return n.opts.Intensity
	}
	return supervisor.Intensity{MaxRestarts: 5, Window: 10 * time.Second}
}

// request sends msg to the named child of the root and waits for its reply of type T, bounded by
// ctx and requestTimeout.
func request[T any](ctx context.Context, n *Node, name string, msg any) (T, error) {
	var zero T
	timeout := requestTimeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return zero, fmt.Errorf("%s: %w", name, ErrUnavailable)
	}
	res, err := n.sys.Root.RequestFuture(n.pid(name), msg, timeout).Result()
	if err != nil {
		return zero, fmt.Errorf("%s did not answer (%v): %w", name, err, ErrUnavailable)
	}
	t, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s answered %T: %w", name, res, ErrUnavailable)
	}
	return t, nil
}

// askFrom is request from inside an actor: it blocks the calling actor, so it may only be used
// along the acyclic request graph (miner → consensus → storage, miner → mempool).
func askFrom[T any](ctx actor.Context, pid *actor.PID, msg any, timeout time.Duration) (T, error) {
	var zero T
	res, err := ctx.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return zero, fmt.Errorf("%s did not answer (%v): %w", pid.Id, err, ErrUnavailable)
	}
	t, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s answered %T: %w", pid.Id, res, ErrUnavailable)
	}
	return t, nil
}

// rootActor is `node`: it supervises the six top-level actors and owns the ordered stop.
type rootActor struct {
	n     *Node
	group *supervisor.Group
}

type shutdownRequest struct{}

func newRootActor(n *Node) *rootActor {
	r := &rootActor{n: n}
	in := n.intensity()
	spec := func(name string, p actor.Producer) supervisor.Spec {
		s := supervisor.Spec{Name: name, Producer: p, Restart: supervisor.Permanent, Shutdown: 10 * time.Second, Intensity: in}
		if isVital(name) {
			// CONTRACT §9's restart budget: a slow crash loop stops the node too.
			s.Budget = supervisor.Intensity{MaxRestarts: n.cfg.Supervision.MaxRestarts, Window: n.cfg.Supervision.Window}
		}
		return s
	}
	r.group = supervisor.NewGroup(supervisor.GroupOptions{
		Tree:   n.tree,
		Path:   "",
		Logger: n.log,
		Specs: []supervisor.Spec{
			spec(nameStorage, func() actor.Actor { return &storageActor{d: n.storageDeps()} }),
			spec(nameConsensus, func() actor.Actor { return newConsensusActor(n.consensusDeps()) }),
			spec(nameMempool, func() actor.Actor { return newMempoolActor(n.mempoolDeps()) }),
			spec(namePeers, func() actor.Actor { return newPeersActor(n.peersDeps()) }),
			spec(nameMiner, func() actor.Actor { return newMinerActor(n.minerDeps()) }),
			spec(nameAPI, func() actor.Actor { return &apiActor{d: n.apiDeps()} }),
		},
		OnGiveUp:       r.onGiveUp,
		FaultInjection: n.cfg.Debug.FaultInjection,
		Clock:          n.opts.Clock.Now, // restart times on the clock health reads them with
	})
	return r
}

// HandleFailure makes the root the supervisor of its children (protoactor calls it because the
// actor implements actor.SupervisorStrategy).
func (r *rootActor) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	r.group.HandleFailure(sys, sup, child, rs, reason, msg)
}

func (r *rootActor) Receive(ctx actor.Context) {
	if r.group.Receive(ctx) {
		return
	}
	switch ctx.Message().(type) {
	case *actor.Started:
		r.n.tree.SetRoot(ctx.Self(), supervisor.StateRunning)
		r.n.log.Info("actor started", "actor", rootName)
		if err := r.group.Start(ctx); err != nil {
			r.n.setErr(fmt.Errorf("start: %w", err))
			r.stop(ctx)
		}
	case *shutdownRequest:
		r.stop(ctx)
	case *actor.Stopped:
		r.n.tree.SetRoot(ctx.Self(), supervisor.StateStopped)
		r.n.log.Info("actor stopped", "actor", rootName)
		close(r.n.done)
	}
}

func (r *rootActor) stop(ctx actor.Context) {
	if r.group.Stopping() {
		return
	}
	r.n.log.Info("node stopping")
	r.n.healthState.markStopping(r.n.opts.Clock.Now())
	r.n.stopping.Store(true)
	r.n.mining.Store(false)
	self := ctx.Self()
	r.group.StopAll(ctx, func() { ctx.Stop(self) })
}

// onGiveUp decides what a child that exceeded its restart intensity means for the node: without a
// miner the node keeps serving; without any other actor it cannot, so it stops cleanly with an
// error (exit 1).
func (r *rootActor) onGiveUp(ctx actor.Context, name string, reason any) {
	if name == nameMiner {
		r.n.mining.Store(false)
		r.n.log.Error("mining stopped: the miner restarted too often; the node keeps running", "actor", name, "reason", fmt.Sprint(reason))
		return
	}
	if r.group.Stopping() {
		return // already stopping: the node has given up once
	}
	limit, in := r.group.GaveUp(name)
	what := "restarted too often"
	switch limit {
	case supervisor.LimitBudget:
		what = fmt.Sprintf("restarted more than %d times within %s (supervision.max_restarts, supervision.window)", in.MaxRestarts, in.Window)
	case supervisor.LimitIntensity:
		what = fmt.Sprintf("restarted more than %d times within %s (the restart intensity)", in.MaxRestarts, in.Window)
	}
	r.n.setErr(fmt.Errorf("node gave up: actor %s %s; last error: %v", name, what, reason))
	r.n.log.Error("node gave up", "actor", name, "limit", string(limit), "err", fmt.Sprint(reason),
		"max_restarts", in.MaxRestarts, "window", in.Window.String())
	r.stop(ctx)
}

// minLevel drops records below min (protoactor's own Info chatter).
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(a), min: m.min}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{h: m.h.WithGroup(g), min: m.min} }
