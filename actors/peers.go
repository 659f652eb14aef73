package actors

import (
	"context"
	"errors"
	"github.com/actorchain/actorchain/addrbook"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/blocksync"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/noisep2p"
	"github.com/actorchain/actorchain/supervisor"
)

// Inventory kinds in announcements (the wire's).
const (
	invBlock = noisep2p.InvBlock
	invTx    = noisep2p.InvTx
)

type (
	// announce asks the peer manager to relay new inventory to every peer but its source.
	announce struct {
		Kind   uint8
		Hashes []chainstate.Hash
		Source string // peer id (hex) it came from; "" for local
		Height uint64 // for blocks: the new tip height
	}
	inboundConn struct{ Conn *noisep2p.Conn }
	dialResult  struct {
		ID   noisep2p.ID
		Addr string
		Conn *noisep2p.Conn
		Err  error
	}
	peerTick struct{}
	// addrsLearned carries the addresses a peer sent.
	addrsLearned struct {
		From  noisep2p.ID
		Peers []noisep2p.PeerAddr
	}
	// addrsWanted asks the manager to answer a peer's getaddr.
	addrsWanted struct{ From noisep2p.ID }
	// misbehaved reports a peer that broke the protocol or sent invalid data.
	misbehaved struct {
		ID     noisep2p.ID
		Reason string
	}
	// peerHeight reports a peer's best height (from its hello or a block announcement).
	peerHeight struct {
		ID     noisep2p.ID
		Height uint64
	}
	// syncDone reports that a sync round with a peer ended (caught up, or the peer has nothing).
	syncDone struct{ ID noisep2p.ID }

	peersInfoRequest  struct{}
	peersInfoResponse struct{ Info api.PeersInfo }
	addPeerRequest    struct {
		ID   noisep2p.ID
		Addr string
	}
	addPeersResponse    struct{ Added int }
	importPeersRequest  struct{ Peers []chainstate.PeerRecord }
	exportPeersRequest  struct{}
	exportPeersResponse struct{ Peers []chainstate.PeerRecord }
	putPeersRequest     struct {
		Put    []chainstate.PeerRecord
		Remove [][32]byte
	}
)

const (
	peerTickEvery = time.Second
	dialTimeout   = 10 * time.Second
	// addrRelayFanout is how many other peers hear of a newly learned address.
	addrRelayFanout = 2
	// flushEvery is the most often the address book's changes are written (one storage request,
	// one transaction, per batch; and at stop).
	flushEvery = 2 * time.Second
	// maxFlushBatch bounds a batch (about 20 ms of commit here), so that a bundle's thousands of
	// new entries reach the database over a few batches rather than one long transaction that
	// block commits would wait behind; the last batch at stop takes everything.
	maxFlushBatch = 1024
	// flushTimeout bounds the wait for the last batch at stop.
	flushTimeout = 5 * time.Second
	// dialRate and dialBurst bound the dials started a second (a token bucket; the burst is at
	// least p2p.max_outbound, so that a starting node fills its slots at once).
	dialRate  = 4
	dialBurst = 8
)

// pendingConn is a connection waiting for the one it replaces to stop.
type pendingConn struct {
	conn     *noisep2p.Conn
	dialAddr string
	outbound bool // conn.Outbound()
}

// peerConnInfo is the manager's view of one live connection.
type peerConnInfo struct {
	id       noisep2p.ID
	name     string // child name: first 8 hex of the id
	pid      *actor.PID
	outbound bool
	addr     string // dial address (outbound) or advertised listen address (inbound)
	remote   string // TCP remote address
	height   uint64
	// compact: both sides speak compact blocks; hbAt: when this node asked the peer for
	// high-bandwidth relay (a sequence number, larger is later; 0: not asked) (peerconn_compact.go).
	compact bool
	hbAt    uint64
}

// peersActor is the peer manager: it owns the listener and the dialler, keeps the address book
// (persisted through the storage actor), spawns one supervised child per live connection
// (`peers/<id8>`, Temporary: a failing connection is dropped and the manager redials), relays
// announcements, and picks the peer to sync from.
type peersActor struct {
	d       peersDeps
	group   *supervisor.Group
	ln      *noisep2p.Listener
	cfg     *noisep2p.Config
	book    *addrbook.Book
	conns   map[noisep2p.ID]*peerConnInfo
	byName  map[string]noisep2p.ID
	dialing map[noisep2p.ID]bool
	// replacing holds a new connection to a peer whose old connection is being stopped.
	replacing map[noisep2p.ID]*pendingConn
	ours      map[string]bool // addresses that turned out to be ourselves
	syncPeer  noisep2p.ID
	syncing   bool
	// progress makes the `sync progress` and `sync finished` records.
	progress  *blocksync.Progress
	stopTick  func()
	cancel    context.CancelFunc
	dialCtx   context.Context
	wg        sync.WaitGroup // dial goroutines
	stopping  bool
	dials     *addrbook.TokenBucket // bounds the dial rate
	lastFlush time.Time             // when the book's changes were last sent to storage
	hbSeq     uint64                // the last high-bandwidth choice (peerConnInfo.hbAt)
}

// cut reports whether fault injection cut the link to id.
func (p *peersActor) cut(id noisep2p.ID) bool { return p.d.linkCut != nil && p.d.linkCut(id) }

func newPeersActor(d peersDeps) *peersActor {
	p := &peersActor{d: d, conns: map[noisep2p.ID]*peerConnInfo{}, byName: map[string]noisep2p.ID{},
		dialing: map[noisep2p.ID]bool{}, ours: map[string]bool{}, replacing: map[noisep2p.ID]*pendingConn{},
		progress: blocksync.NewProgress(syncReportEvery, syncSummaryMin)}
	p.group = supervisor.NewGroup(supervisor.GroupOptions{
		Tree:           d.tree,
		Path:           namePeers,
		Logger:         d.log,
		OnChildStopped: p.childStopped,
		OnGiveUp:       func(ctx actor.Context, name string, _ any) { p.childStopped(ctx, name) },
		FaultInjection: d.faultInjection,
	})
	return p
}

// HandleFailure makes the manager the supervisor of its connections.
func (p *peersActor) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	p.group.HandleFailure(sys, sup, child, rs, reason, msg)
}

func (p *peersActor) Receive(ctx actor.Context) {
	if p.group.Receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if err := p.start(ctx); err != nil {
			panic(err)
		}
	case *actor.Stopping, *actor.Restarting:
		p.shutdown(ctx)
	case *peerTick:
		p.tick(ctx)
	case *inboundConn:
		p.register(ctx, m.Conn, "")
	case *dialResult:
		p.dialed(ctx, m)
	case *announce:
		p.relay(ctx, m)
	case *earlyRelay:
		p.relayEarly(ctx, m)
	case *addrsLearned:
		p.learnAddrs(ctx, m)
	case *addrsWanted:
		p.answerAddrs(ctx, m.From)
	case *misbehaved:
		p.misbehaved(ctx, m)
	case *peerHeight:
		p.heightHeard(ctx, m)
	case *syncDone:
		p.syncEnded(ctx, m)
	case *peersInfoRequest:
		ctx.Respond(&peersInfoResponse{Info: p.info()})
	case *addPeerRequest:
		p.addPeer(ctx, m)
	case *importPeersRequest:
		p.importPeers(ctx, m)
	case *linkCut:
		p.cutLink(ctx, m.ID)
	case *exportPeersRequest:
		ctx.Respond(&exportPeersResponse{Peers: p.book.List(-1, p.d.now(), [32]byte{})})
	}
}

// heightHeard records a connected peer's new best height, which may start a sync.
func (p *peersActor) heightHeard(ctx actor.Context, m *peerHeight) {
	if c := p.conns[m.ID]; c != nil && m.Height > c.height {
		c.height = m.Height
	}
	p.maybeSync(ctx)
}

// syncEnded ends the running sync when it was m's peer's, and starts the next one if a peer is
// ahead.
func (p *peersActor) syncEnded(ctx actor.Context, m *syncDone) {
	if m.ID == p.syncPeer {
		p.syncing = false
	}
	p.maybeSync(ctx)
}

// addPeer adds an operator's peer to the book and dials it now.
func (p *peersActor) addPeer(ctx actor.Context, m *addPeerRequest) {
	// The address joins the book (source: import, within its share) and is dialled now: an
	// operator's explicit request (a connection makes it tried even when its share was
	// full). It takes a dial token when there is one, so the tick's dials from the book give
	// way; an empty bucket does not delay it (it would wait behind the whole book).
	p.book.Learn(m.ID, m.Addr, 0, addrbook.SourceImport)
	p.dials.Take(p.d.now())
	p.dial(ctx, m.ID, m.Addr)
	ctx.Respond(&addPeersResponse{Added: 1})
}

// importPeers adds a bundle's peers to the book.
func (p *peersActor) importPeers(ctx actor.Context, m *importPeersRequest) {
	// A bundle only fills the book (its share of it): the tick dials from the book at the
	// bounded rate. added counts the bundle's peers that are in the book afterwards and were
	// not before (a later peer of the bundle may have replaced an earlier one in the import
	// group).
	learnt := map[[32]byte]bool{}
	for _, r := range m.Peers {
		if p.book.Learn(r.ID, r.Addr, r.LastSeen, addrbook.SourceImport) {
			learnt[r.ID] = true
		}
	}
	added := 0
	for id := range learnt {
		if p.book.Known(id) {
			added++
		}
	}
	p.tick(ctx)
	ctx.Respond(&addPeersResponse{Added: added})
}

func (p *peersActor) start(ctx actor.Context) error {
	s, err := p.d.waitStore(10 * time.Second)
	if err != nil {
		return err
	}
	recs, err := s.Peers()
	if err != nil {
		return err
	}
	self := p.d.self
	p.book = addrbook.New(self, recs)
	for _, seed := range p.d.cfg.Seeds {
		id, addr, err := noisep2p.ParsePeerAddr(seed)
		if err == nil {
			p.book.Learn(id, addr, 0, addrbook.SourceSeed)
		}
	}
	p.dials = addrbook.NewTokenBucket(dialRate, float64(max(dialBurst, p.d.cfg.MaxOutbound)))
	p.flush(ctx, true)
	p.cfg = p.d.transport()
	p.dialCtx, p.cancel = context.WithCancel(context.Background())
	if listen := p.d.cfg.Listen; listen != "" {
		ln := p.d.takeListener()
		if ln == nil {
			// A restart: bind again, on the port the first instance got (matters with port 0).
			if prev := p.d.boundAddr(); prev != "" {
				listen = prev
			}
			var err error
			if ln, err = p.d.listen(listen); err != nil {
				return err
			}
		}
		p.ln = ln
		p.d.log.Info("p2p listening", "actor", namePeers, "addr", ln.Addr().String(), "node_id", p.d.nodeID)
	}
	p.d.status.up.Store(true)
	me, root := ctx.Self(), ctx.ActorSystem().Root
	p.stopTick = every(peerTickEvery, func() { root.Send(me, &peerTick{}) })
	p.tick(ctx)
	return nil
}

// shutdown closes the listener, cancels and joins the dials, stops the tick and writes the
// book's last changes. Connections are children: the group stops them (in order, before this
// actor's Stopped).
func (p *peersActor) shutdown(ctx actor.Context) {
	p.stopping = true
	p.d.status.up.Store(false)
	if p.stopTick != nil {
		p.stopTick()
		p.stopTick = nil
	}
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for id, pc := range p.replacing {
		_ = pc.conn.Close()
		delete(p.replacing, id)
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.flushNow(ctx)
	p.d.metrics.peers.WithLabelValues("inbound").Set(0)
	p.d.metrics.peers.WithLabelValues("outbound").Set(0)
	p.d.status.count.Store(0)
}

// tick keeps the outbound slots filled from the address book.
func (p *peersActor) tick(ctx actor.Context) {
	if p.stopping {
		return
	}
	p.flush(ctx, false)
	// A peer known to be ahead with no sync running (its round ended while blocks were still
	// missing, say) gets a sync now rather than at the next announcement.
	p.maybeSync(ctx)
	free := p.d.cfg.MaxOutbound - outboundCount(p.conns, p.replacing) - len(p.dialing)
	if free <= 0 {
		return
	}
	now := p.d.now()
	for _, r := range p.book.Candidates(free, now, func(id [32]byte) bool {
		_, conn := p.conns[id]
		return conn || p.dialing[id] || p.ours[p.book.Addr(id)] || p.cut(id)
	}) {
		if !p.dials.Take(now) {
			return
		}
		p.dial(ctx, r.ID, r.Addr)
	}
}

// outboundCount is the number of outbound slots taken: the outbound connections, each peer
// whose connection is being replaced counted in the direction of the replacement. (Counting the
// old one made a node that kept its own dial over a peer's inbound connection dial one peer too
// many meanwhile: 9 outbound with p2p.max_outbound 8 in a 64-node netsim.)
func outboundCount(conns map[noisep2p.ID]*peerConnInfo, replacing map[noisep2p.ID]*pendingConn) int {
	out := 0
	for id, c := range conns {
		if pc, ok := replacing[id]; ok {
			if pc.outbound {
				out++
			}
			continue
		}
		if c.outbound {
			out++
		}
	}
	for id, pc := range replacing {
		if _, ok := conns[id]; !ok && pc.outbound {
			out++
		}
	}
	return out
}

// dial connects to id at addr in a tracked goroutine; the result comes back as a message.
func (p *peersActor) dial(ctx actor.Context, id noisep2p.ID, addr string) {
	if p.stopping || p.dialing[id] || p.ours[addr] || id == p.book.Self() || p.cut(id) {
		return
	}
	if _, ok := p.conns[id]; ok {
		return
	}
	p.dialing[id] = true
	p.book.Attempt(id, p.d.now())
	self, root, cfg, dctx := ctx.Self(), ctx.ActorSystem().Root, p.cfg, p.dialCtx
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		c, cancel := context.WithTimeout(dctx, dialTimeout)
		defer cancel()
		expect := id
		conn, err := noisep2p.Dial(c, addr, cfg, &expect)
		if err == nil && dctx.Err() != nil {
			_ = conn.Close() // the manager is stopping: nobody will take it
			return
		}
		root.Send(self, &dialResult{ID: id, Addr: addr, Conn: conn, Err: err})
	}()
}

func (p *peersActor) dialed(ctx actor.Context, r *dialResult) {
	delete(p.dialing, r.ID)
	if r.Err != nil {
		switch {
		case errors.Is(r.Err, noisep2p.ErrSelf):
			p.ours[r.Addr] = true
			p.book.Forget(r.ID)
			p.d.log.Info("address is this node itself; not dialling it again", "actor", namePeers, "addr", r.Addr)
		case errors.Is(r.Err, noisep2p.ErrHandshakeAuth):
			p.book.Failed(r.ID, p.d.now(), false) // the network worked: the peer is the problem
			p.d.log.Warn("peer is on a different chain or version", "actor", namePeers, "peer_id", r.ID.String(), "addr", r.Addr, "err", r.Err)
		default:
			p.book.Failed(r.ID, p.d.now(), addrbook.Isolated(len(p.conns), p.d.cfg.MaxOutbound))
			p.d.log.Debug("dial failed", "actor", namePeers, "peer_id", r.ID.String(), "addr", r.Addr, "err", r.Err)
		}
		return
	}
	if p.stopping {
		_ = r.Conn.Close()
		return
	}
	p.register(ctx, r.Conn, r.Addr)
}

// register admits a new authenticated connection (inbound or outbound) and spawns its actor.
func (p *peersActor) register(ctx actor.Context, c *noisep2p.Conn, dialAddr string) {
	if p.stopping {
		_ = c.Close()
		return
	}
	id := c.RemoteID()
	now := p.d.now()
	if p.book.Banned(id, now) {
		p.refuse(c, "banned", nil)
		return
	}
	if p.cut(id) {
		p.refuse(c, "link cut (fault injection)", nil)
		return
	}
	if old, dup := p.conns[id]; dup {
		p.replaceConn(ctx, old, c, dialAddr)
		return
	}
	if !c.Outbound() {
		if in, _ := p.directions(); in >= p.d.cfg.MaxInbound {
			// Full: the peer gets some addresses before it goes, or a newcomer whose only way
			// in is this node (a seed) would never learn another.
			p.refuse(c, "too many inbound connections", noisep2p.Addr{Peers: p.addrsFor(id, farewellAddrs)})
			return
		}
	}
	info, err := p.spawnConn(ctx, c, dialAddr)
	if err != nil {
		p.refuse(c, "internal: "+err.Error(), nil)
		return
	}
	p.admitted(ctx, info, now)
}

// replaceConn settles a second connection c to the peer of old: it refuses c, or stops old and
// registers c once old's actor has stopped.
func (p *peersActor) replaceConn(ctx actor.Context, old *peerConnInfo, c *noisep2p.Conn, dialAddr string) {
	id := c.RemoteID()
	// Keep one connection per peer: for a simultaneous dial the one initiated by the smaller
	// id (both sides decide alike); in the same direction the newer one.
	keepNew := old.outbound == c.Outbound() || noisep2p.KeepOutbound(p.book.Self(), id, c.Outbound())
	if !keepNew {
		p.refuse(c, "duplicate connection", nil)
		return
	}
	// The child name (peers/<id8>) is taken until the old connection's actor has stopped: the
	// new one is registered when it has (childStopped).
	if prev := p.replacing[id]; prev != nil {
		_ = prev.conn.Close()
	}
	p.replacing[id] = &pendingConn{conn: c, dialAddr: dialAddr, outbound: c.Outbound()}
	p.group.StopChild(ctx, old.name)
}

// spawnConn starts the actor of connection c.
func (p *peersActor) spawnConn(ctx actor.Context, c *noisep2p.Conn, dialAddr string) (*peerConnInfo, error) {
	id := c.RemoteID()
	hello := c.RemoteHello()
	addr := dialAddr
	if !c.Outbound() {
		addr = hello.ListenAddr
	}
	info := &peerConnInfo{id: id, name: id.Short(), outbound: c.Outbound(), addr: addr, remote: c.RemoteAddr().String(), height: hello.BestHeight,
		compact: p.d.conn.compact && hello.HasFeature(noisep2p.FeatureCompactBlocks)}
	pid, err := p.group.Add(ctx, supervisor.Spec{
		Name:     info.name,
		Producer: func() actor.Actor { return newPeerConnActor(p.d.conn, c) },
		Restart:  supervisor.Temporary,
		Shutdown: 5 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	info.pid = pid
	return info, nil
}

// admitted records the connection whose actor runs, in the manager and in the address book.
func (p *peersActor) admitted(ctx actor.Context, info *peerConnInfo, now time.Time) {
	id, addr := info.id, info.addr
	p.conns[id] = info
	p.byName[info.name] = id
	// An outbound connection proves the address (the tried table); an inbound one's advertised
	// address is only heard of, from the connection's network group.
	switch {
	case addr == "":
	case info.outbound:
		p.book.Connected(id, addr, now)
	default:
		p.book.Seen(id, addr, now, addrbook.SourceGroup(info.remote, id))
	}
	p.countPeers()
	p.d.log.Info("peer connected", "actor", namePeers, "peer_id", id.String(), "addr", info.remote, "direction", direction(info.outbound), "height", info.height)
	p.pickHighBandwidth(ctx, nil)
	p.maybeSync(ctx)
}

func direction(outbound bool) string {
	if outbound {
		return "outbound"
	}
	return "inbound"
}

func (p *peersActor) dropConn(c *peerConnInfo) {
	delete(p.conns, c.id)
	delete(p.byName, c.name)
	if p.syncPeer == c.id {
		p.syncing = false
	}
	p.countPeers()
}

// childStopped is told when a connection actor ended (its connection closed or failed).
func (p *peersActor) childStopped(ctx actor.Context, name string) {
	id, ok := p.byName[name]
	if !ok {
		return
	}
	if c := p.conns[id]; c != nil && c.name == name {
		p.dropConn(c) // the connection actor logged `peer disconnected` with its reason
	}
	if pc := p.replacing[id]; pc != nil {
		delete(p.replacing, id)
		p.register(ctx, pc.conn, pc.dialAddr)
	}
	if !p.stopping {
		p.pickHighBandwidth(ctx, nil)
		p.maybeSync(ctx)
	}
}

// directions counts the connections in each direction.
func (p *peersActor) directions() (in, out int) {
	for _, c := range p.conns {
		if c.outbound {
			out++
		} else {
			in++
		}
	}
	return in, out
}

func (p *peersActor) countPeers() {
	in, out := p.directions()
	p.d.metrics.peers.WithLabelValues("inbound").Set(float64(in))
	p.d.metrics.peers.WithLabelValues("outbound").Set(float64(out))
	p.d.status.count.Store(int64(in + out))
}

// relay sends an announcement to every connected peer but its source.
func (p *peersActor) relay(ctx actor.Context, a *announce) {
	items := make([]noisep2p.InvItem, len(a.Hashes))
	for i, h := range a.Hashes {
		items[i] = noisep2p.InvItem{Kind: a.Kind, Hash: h}
	}
	var msg any = &relayInv{Items: items}
	if a.Kind == invBlock {
		msg = &relayBlocks{Hashes: a.Hashes}
	}
	for id, c := range p.conns {
		if id.String() == a.Source {
			continue
		}
		ctx.Send(c.pid, msg)
	}
	if a.Kind == invBlock {
		p.blockDelivered(ctx, a.Source)
		p.maybeSync(ctx)
	}
}

// learnAddrs merges a peer's addresses into the book and passes the new ones on to a few other
// peers, so addresses spread through the network.
func (p *peersActor) learnAddrs(ctx actor.Context, m *addrsLearned) {
	var fresh []noisep2p.PeerAddr
	remote := ""
	if c := p.conns[m.From]; c != nil {
		remote = c.remote
	}
	src := addrbook.SourceGroup(remote, m.From)
	for _, a := range m.Peers {
		if p.ours[a.Addr] {
			continue
		}
		if p.book.Learn(a.ID, a.Addr, a.LastSeen*1000, src) {
			fresh = append(fresh, a)
		}
	}
	if len(fresh) == 0 {
		return
	}
	sent := 0
	for id, c := range p.conns {
		if id == m.From || sent >= addrRelayFanout {
			continue
		}
		ctx.Send(c.pid, &relayAddr{Peers: fresh})
		sent++
	}
	p.tick(ctx)
}

// refuse disconnects a connection this node does not take (after farewell, when given), logged
// at debug. Disconnect waits (bounded) for the peer to close: not on this actor's goroutine, or
// a peer that never reads would stall the manager.
func (p *peersActor) refuse(c *noisep2p.Conn, reason string, farewell noisep2p.Message) {
	p.d.log.Debug("connection refused", "actor", namePeers, "peer_id", c.RemoteID().String(), "reason", reason)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if farewell != nil {
			_ = c.DisconnectAfter(farewell, reason)
		} else {
			_ = c.Disconnect(reason)
		}
		_ = c.Close()
	}()
}

// farewellAddrs is how many addresses a peer refused for want of inbound slots gets.
const farewellAddrs = 64

// answerAddrs sends a peer up to 1000 known addresses (ourselves included when we listen).
func (p *peersActor) answerAddrs(ctx actor.Context, to noisep2p.ID) {
	c := p.conns[to]
	if c == nil {
		return
	}
	ctx.Send(c.pid, &relayAddr{Peers: p.addrsFor(to, noisep2p.MaxAddrPeers)})
}

// addrsFor picks up to n known addresses for the peer to (ourselves first when we listen).
func (p *peersActor) addrsFor(to noisep2p.ID, n int) []noisep2p.PeerAddr {
	recs := p.book.List(n-1, p.d.now(), to)
	out := make([]noisep2p.PeerAddr, 0, len(recs)+1)
	if adv := p.d.advertised(); adv != "" {
		out = append(out, noisep2p.PeerAddr{ID: p.book.Self(), Addr: adv, LastSeen: p.d.now().Unix()})
	}
	for _, r := range recs {
		if r.ID == p.book.Self() {
			continue
		}
		out = append(out, noisep2p.PeerAddr{ID: r.ID, Addr: r.Addr, LastSeen: max(r.LastSeen/1000, 0)})
	}
	return out
}

// cutLink closes the live connection (and a pending replacement) with a peer whose link was cut;
// dial and register refuse it while the cut lasts.
func (p *peersActor) cutLink(ctx actor.Context, id noisep2p.ID) {
	if pc := p.replacing[id]; pc != nil {
		delete(p.replacing, id)
		_ = pc.conn.Close()
	}
	if c := p.conns[id]; c != nil {
		p.d.log.Info("link cut: closing the connection", "actor", namePeers, "peer_id", id.String())
		ctx.Send(c.pid, &disconnectPeer{Reason: "link cut"})
	}
}

func (p *peersActor) misbehaved(ctx actor.Context, m *misbehaved) {
	p.book.Ban(m.ID, p.d.now())
	p.d.log.Warn("peer misbehaved; disconnected and discouraged", "actor", namePeers, "peer_id", m.ID.String(), "reason", m.Reason, "ban", addrbook.BanTime)
	if c := p.conns[m.ID]; c != nil {
		ctx.Send(c.pid, &disconnectPeer{Reason: m.Reason})
	}
}

// maybeSync picks the connected peer with the most blocks above ours and asks its actor to sync,
// and reports the sync's progress.
func (p *peersActor) maybeSync(ctx actor.Context) {
	if p.stopping {
		return
	}
	s, err := p.d.store()
	if err != nil {
		return
	}
	tip, err := s.Tip()
	if err != nil {
		return
	}
	height := tip.Header.Height
	best, target := p.bestPeer(height)
	p.d.status.syncTarget.Store(target)
	if r, ok := p.progress.Observe(p.d.local.Now(), height, target, best != nil); ok {
		logSyncReport(p.d.log, r)
	}
	if best == nil {
		p.syncing = false
		p.d.status.syncing.Store(false)
		p.d.metrics.syncProgress.Set(1)
		return
	}
	p.d.status.syncing.Store(true)
	p.d.metrics.syncProgress.Set(float64(height) / float64(best.height))
	if p.syncing && p.conns[p.syncPeer] != nil {
		return
	}
	p.syncPeer, p.syncing = best.id, true
	ctx.Send(best.pid, &startSync{})
}

// bestPeer returns the connected peer with the most blocks above height (nil when none is
// ahead) and the best height any connected peer announced (0 with none).
func (p *peersActor) bestPeer(height uint64) (best *peerConnInfo, target uint64) {
	for _, c := range p.conns {
		target = max(target, c.height)
		if c.height > height && (best == nil || c.height > best.height) {
			best = c
		}
	}
	return best, target
}

// flush writes the address book's changes through the storage actor in one batch (one request,
// one transaction, at most maxFlushBatch changes), at most every flushEvery unless force (fire
// and forget: the book is advisory, a lost write only costs a redial). The book lives in this
// actor's memory, so a flood of addresses costs the storage actor one short write every few
// seconds, never one per address.
func (p *peersActor) flush(ctx actor.Context, force bool) {
	now := time.Now()
	if p.book == nil || !p.book.Pending() || !force && now.Sub(p.lastFlush) < flushEvery {
		return
	}
	p.lastFlush = now
	put, remove := p.book.TakeChanges(maxFlushBatch)
	ctx.Send(p.d.pid(nameStorage), &putPeersRequest{Put: put, Remove: remove})
}

// flushNow writes the book's last changes at stop and waits (bounded) for the write.
func (p *peersActor) flushNow(ctx actor.Context) {
	if p.book == nil || !p.book.Pending() {
		return
	}
	put, remove := p.book.TakeChanges(0)
	res, err := ctx.RequestFuture(p.d.pid(nameStorage), &putPeersRequest{Put: put, Remove: remove}, flushTimeout).Result()
	if err == nil {
		if d, ok := res.(*storageDone); ok {
			err = d.Err
		}
	}
	if err != nil {
		p.d.log.Warn("address book: last changes not written at stop", "actor", namePeers, "peers", len(put), "err", err)
	}
}

func (p *peersActor) info() api.PeersInfo {
	info := api.PeersInfo{Connected: []api.PeerInfo{}, Known: []api.KnownPeer{}}
	for _, c := range p.conns {
		info.Connected = append(info.Connected, api.PeerInfo{ID: c.id.String(), Addr: c.remote, Direction: direction(c.outbound), Height: c.height})
	}
	for _, r := range p.book.List(-1, p.d.now(), [32]byte{}) {
		info.Known = append(info.Known, api.KnownPeer{ID: noisep2p.ID(r.ID).String(), Addr: r.Addr, LastSeen: time.UnixMilli(r.LastSeen).UTC()})
	}
	return info
}
