package actors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/powworker"
	"github.com/actorchain/actorchain/supervisor"
)

type (
	setMiningRequest  struct{ Enabled bool }
	setMiningResponse struct{}

	// mineJob gives a worker a work header and its nonce range.
	mineJob struct {
		ID     uint64
		Header [chainstate.WorkHeaderSize]byte
		Target powworker.Target // the block's target (chainstate.Params.Target)
		Range  powworker.Range
		// TipAt is when consensus published the tip this job builds on, for the first job on
		// that tip (the tip switch metric); zero otherwise.
		TipAt time.Time
		// Epoch is the tip epoch the template was built in: the search stops as soon as
		// consensus publishes another tip (tipEpoch).
		Epoch uint64
	}
	// stopJob makes a worker drop its job. TipAt as in mineJob: set when the job is dropped
	// for a new tip whose job is held back (mining.min_block_interval).
	stopJob struct{ TipAt time.Time }
	// workerReady is sent by a worker when it starts (also after a restart or a replacement).
	workerReady struct{ Index int }
	// workerFound reports a solved header.
	workerFound struct {
		ID     uint64
		TimeMs uint64
		Nonce  uint32
	}
	// workerExhausted reports a nonce range searched without success.
	workerExhausted struct {
		ID    uint64
		Index int
	}
	refreshTick struct{}
	// paceTick starts the job that pacing held back.
	paceTick struct{ Parent chainstate.Hash }
)

// tipEpoch numbers the main-chain tips consensus has published. Consensus advances it before it
// sends tipChanged; a worker's search carries the epoch its template was built in and stops at
// its next poll (every ~0.6 ms of hashing) once the epoch has moved on, so no hashing goes into a
// stale tip while the new one travels to the miner and its template is built.
type tipEpoch struct {
	n  atomic.Uint64
	at atomic.Int64 // when it last advanced (Unix ns): the stale stop metric
}

// advance records a new tip published at at.
func (e *tipEpoch) advance(at time.Time) {
	e.at.Store(at.UnixNano())
	e.n.Add(1)
}

func (e *tipEpoch) load() uint64 { return e.n.Load() }

// publishedAt is when the epoch last advanced.
func (e *tipEpoch) publishedAt() time.Time { return time.Unix(0, e.at.Load()) }

// since is how long ago the epoch last advanced.
func (e *tipEpoch) since() time.Duration { return time.Since(e.publishedAt()) }

// baseProcs is GOMAXPROCS as the process started (the runtime's choice, or the GOMAXPROCS
// environment variable).
var baseProcs = runtime.GOMAXPROCS(0)

// lowPriorityProcs gives the process a P per low-priority worker besides its own: such a
// worker's search holds its P while it hashes and never yields it (workerActor.start), so without
// these the node's goroutines would wait for the runtime to preempt a search. Raised only.
func lowPriorityProcs(workers int) {
	if want := baseProcs + workers; runtime.GOMAXPROCS(0) < want {
		runtime.GOMAXPROCS(want)
	}
}

// templateRefresh is how often the miner rebuilds its template when the mempool has new
// transactions but no new block arrived.
const templateRefresh = time.Second

// minerActor builds block templates from the committed tip and the mempool, signs each template
// once, hands disjoint nonce ranges of it to its workers (one child per worker, supervised by its
// own Group) and submits solved blocks to consensus. A new tip means a fresh template.
type minerActor struct {
	d       minerDeps
	group   *supervisor.Group
	workers int
	ranges  []powworker.Range

	enabled  bool
	jobID    uint64
	template *chainstate.Block
	target   powworker.Target                // the template's target
	header   [chainstate.WorkHeaderSize]byte // the template's work header, time patched
	parent   chainstate.Hash
	builtAt  int // mempool size when the template was built
	stopTick func()
	pace     *time.Timer     // a held-back job's start (stopped in Stopping/Restarting)
	pacedFor chainstate.Hash // the tip whose pace has run out
	// tipAt is when consensus published tipHash, until the first job on it goes out.
	tipAt   time.Time
	tipHash chainstate.Hash
	// epoch is the tip epoch the template was built in (read before the store's tip).
	epoch uint64
	// txs is the last mempool selection: a new tip's template is built from it at once, and
	// rebuilt when a fresh selection (asked for then, without waiting) differs.
	txs []*chainstate.Tx
	// priorityWarned: the workers' failure to lower their priority has been logged.
	priorityWarned bool
}

func newMinerActor(d minerDeps) *minerActor {
	m := &minerActor{d: d, workers: d.workers}
	m.ranges = powworker.Split(m.workers)
	specs := make([]supervisor.Spec, m.workers)
	for i := range specs {
		specs[i] = supervisor.Spec{
			Name: fmt.Sprintf("worker-%d", i),
			Producer: func() actor.Actor {
				return &workerActor{hashes: d.hashes, tipSwitch: d.tipSwitch, staleStop: d.staleStop, tips: d.tips,
					lowPriority: d.lowPriority, index: i}
			},
			Options:   workerOptions(),
			Restart:   supervisor.Permanent,
			Shutdown:  5 * time.Second,
			Intensity: d.intensity,
		}
	}
	m.group = supervisor.NewGroup(supervisor.GroupOptions{
		Tree:           d.tree,
		Path:           nameMiner,
		Logger:         d.log,
		Specs:          specs,
		OnGiveUp:       m.onGiveUp,
		FaultInjection: d.faultInjection,
	})
	return m
}

// workerOptions runs a worker's mailbox on the goroutine that sends to it (protoactor's
// synchronized dispatcher) instead of a goroutine of its own: a new job is taken, and the tip
// switch done, while the miner's goroutine is still on a core. With a goroutine per mailbox
// activation the job waited for a core again: in a 32-node netsim, 5 of the 11 switches over
// 10 ms spent 12-26 ms between the miner sending the jobs and a worker taking one (the kernel's
// run queue: 32 processes on 2 cores), against 0.2 ms at the median. A worker's handling is
// short and never blocks on another actor (it stops a search and starts the next); what may
// wait is Stopping and Restarting joining the search (Stopping's wait, at most the search's
// next poll). The search goroutine never sends to its own worker (that would run the worker's
// Restarting, which joins that goroutine, on it): a panic goes through the miner
// (workerPanicked).
func workerOptions() []actor.PropsOption {
	return []actor.PropsOption{actor.WithDispatcher(actor.NewSynchronizedDispatcher(workerThroughput))}
}

// workerThroughput is protoactor's default: messages processed before the mailbox yields.
const workerThroughput = 300

// HandleFailure makes the miner the supervisor of its workers.
func (m *minerActor) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	m.group.HandleFailure(sys, sup, child, rs, reason, msg)
}

func (m *minerActor) Receive(ctx actor.Context) {
	if m.group.Receive(ctx) {
		return
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		m.stopTimers(ctx)
	case *paceTick:
		m.paced(ctx, msg)
	case *setMiningRequest:
		m.setEnabled(ctx, msg.Enabled)
		ctx.Respond(&setMiningResponse{})
	case *tipChanged:
		switch {
		case !m.enabled:
		case msg.Hash != m.parent:
			m.tipAt, m.tipHash = msg.At, msg.Hash
			m.newJob(ctx)
		case m.template != nil && m.epoch != m.d.tips.load():
			// The template was built on this tip before consensus published it (a block of ours,
			// or a refresh between the commit and the publication): the publication stopped the
			// workers, and the same template, still current, goes out again.
			m.tipAt, m.tipHash = msg.At, msg.Hash
			m.dispatch(ctx, m.d.tips.load())
		}
	case *selectTxsResponse:
		m.selected(ctx, msg)
	case *storageHealthChanged:
		// Failing commits: stop hashing (a block could not be stored); commits again: mine on.
		if m.enabled {
			m.newJob(ctx)
		}
	case *refreshTick:
		m.refresh(ctx)
	case *mempoolSizeResponse:
		if m.enabled && m.template != nil && msg.Size != m.builtAt {
			m.selectTxs(ctx)
		}
	case *workerReady:
		if m.enabled && m.template != nil {
			m.sendJob(ctx, msg.Index)
		}
	case *workerFound:
		if m.enabled && msg.ID == m.jobID {
			m.found(ctx, msg)
		}
	case *workerExhausted:
		if m.enabled && msg.ID == m.jobID {
			m.rollTime(ctx)
		}
	case *workerPanicked:
		// The worker fails with its search's panic, on this goroutine (workerOptions), and the
		// miner's supervision restarts it.
		if pid := m.group.PID(fmt.Sprintf("worker-%d", msg.Index)); pid != nil {
			ctx.Send(pid, &workerPanic{reason: msg.Reason})
		}
	case *workerPriority:
		if !m.priorityWarned {
			m.priorityWarned = true
			m.d.log.Warn("mining at the node's priority: mining.low_priority failed", "actor", nameMiner, "err", msg.Err)
		}
	}
}

// start starts the workers and the refresh tick, and the first job when mining is on.
func (m *minerActor) start(ctx actor.Context) {
	if err := m.group.Start(ctx); err != nil {
		panic(fmt.Errorf("miner: start workers: %w", err))
	}
	m.enabled = m.d.mining.Load()
	if m.enabled {
		m.refreshing(ctx, true)
		m.newJob(ctx)
	}
}

// stopTimers stops the refresh tick and a held-back job's start.
func (m *minerActor) stopTimers(ctx actor.Context) {
	m.refreshing(ctx, false)
	if m.pace != nil {
		m.pace.Stop()
		m.pace = nil
	}
}

// paced starts the job held back on msg.Parent.
func (m *minerActor) paced(ctx actor.Context, msg *paceTick) {
	if m.enabled && m.template == nil {
		// This tip has been waited for: the next template on it goes out at once, even if
		// its time is still ahead of our clock.
		m.pacedFor = msg.Parent
		m.newJob(ctx)
	}
}

// refresh builds a fresh template when the last one could not be built (storage was
// restarting), or when transactions arrived: the mempool's size, asked for without blocking,
// differs from the one the template was built at (mempoolSizeResponse).
func (m *minerActor) refresh(ctx actor.Context) {
	switch {
	case !m.enabled:
	case m.template == nil:
		m.newJob(ctx)
	case m.epoch != m.d.tips.load() && m.d.tips.since() > templateRefresh:
		// The workers left this template for a tip published a tick ago whose tipChanged has
		// not been acted on (it always follows within milliseconds): a safety net.
		m.newJob(ctx)
	default:
		ctx.Request(m.d.pid(nameMempool), &mempoolSizeRequest{})
	}
}

func (m *minerActor) setEnabled(ctx actor.Context, on bool) {
	m.d.mining.Store(on)
	if on == m.enabled {
		return
	}
	m.enabled = on
	m.refreshing(ctx, on)
	if on {
		m.d.log.Info("mining started", "actor", nameMiner, "workers", m.workers)
		m.newJob(ctx)
		return
	}
	// From here on found blocks of older jobs are ignored (jobID moves on), and submission is
	// synchronous inside this actor: once the reply is sent, no block of ours gets connected.
	m.jobID++
	m.template = nil
	m.idleWorkers(ctx)
	m.d.log.Info("mining stopped", "actor", nameMiner)
}

// refreshing starts or stops the template refresh tick: it runs only while mining is on, so a
// node that does not mine has no timer here.
func (m *minerActor) refreshing(ctx actor.Context, on bool) {
	switch {
	case on && m.stopTick == nil:
		self, root := ctx.Self(), ctx.ActorSystem().Root
		m.stopTick = every(templateRefresh, func() { root.Send(self, &refreshTick{}) })
	case !on && m.stopTick != nil:
		m.stopTick()
		m.stopTick = nil
	}
}

// idleWorkers makes every worker drop its job.
func (m *minerActor) idleWorkers(ctx actor.Context) { m.dropJobs(ctx, time.Time{}) }

// dropJobs makes every worker drop its job; tipAt as in stopJob.
func (m *minerActor) dropJobs(ctx actor.Context, tipAt time.Time) {
	for i := 0; i < m.workers; i++ {
		if pid := m.group.PID(fmt.Sprintf("worker-%d", i)); pid != nil {
			ctx.Send(pid, &stopJob{TipAt: tipAt})
		}
	}
}

// newJob builds and signs a template on the committed tip from the last mempool selection and
// hands it to every worker, then asks the mempool for a fresh selection without waiting for it
// (selected rebuilds the template when it differs): a new tip reaches the workers through no
// other actor's mailbox. The template drops what the new tip confirmed (BuildTemplate keeps only
// transfers valid on it).
func (m *minerActor) newJob(ctx actor.Context) {
	if m.build(ctx) {
		m.selectTxs(ctx)
	}
}

// selectTxs asks the mempool for a fresh selection (answered with selectTxsResponse).
func (m *minerActor) selectTxs(ctx actor.Context) {
	ctx.Request(m.d.pid(nameMempool), &selectTxsRequest{Max: m.d.params.MaxBlockTxs})
}

// selected keeps a fresh mempool selection and rebuilds the template from it unless the
// template already holds exactly those transfers.
func (m *minerActor) selected(ctx actor.Context, r *selectTxsResponse) {
	m.txs, m.builtAt = r.Txs, r.Size
	if m.enabled && m.template != nil && !sameTxs(m.template.Txs, r.Txs) {
		m.build(ctx)
	}
}

// sameTxs reports whether a and b are the same transfers in the same order.
func sameTxs(a, b []*chainstate.Tx) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && a[i].Hash() != b[i].Hash() {
			return false
		}
	}
	return true
}

// build builds and signs a template on the committed tip from m.txs and hands it to every
// worker. It reports whether a job went out (not while storage fails or pacing holds it back).
func (m *minerActor) build(ctx actor.Context) bool {
	// Until the new template is built, results of the old one are ignored; if it cannot be built
	// (storage restarting), the refresh tick retries.
	m.template = nil
	m.jobID++
	if m.d.storageFailing() {
		// Paused: nothing mined now could be stored. The refresh tick and the storage actor's
		// storageHealthChanged bring the next job once commits succeed.
		m.idleWorkers(ctx)
		return false
	}
	s, err := m.d.store()
	if err != nil {
		return false // storage restarting: the next tip or tick retries
	}
	// The epoch is read before the tip: a tip committed after this read but published later
	// stops the workers, and its tipChanged sends this template out again (Receive).
	epoch := m.d.tips.load()
	// The tip and what the rules require of the block on it: its bits (the next target of an
	// adjusting chain) and its earliest time (the median time past).
	tip, next, err := s.NextAfterTip()
	if err != nil {
		return false
	}
	if wait := paceWait(tip.Header.Time, m.d.nowMs(), m.d.minInterval); wait > 0 && tip.Header.Height > 0 && tip.Hash != m.pacedFor {
		m.holdBack(ctx, tip.Hash, wait)
		return false
	}
	now := max(m.d.nowMs(), tip.Header.Time, next.MinTimeMs)
	var tmpl *chainstate.Block
	err = s.View(func(r chainstate.AccountReader) error {
		b, _, err := chainstate.BuildTemplate(m.d.params, &tip.Header, r, m.d.pub, m.txs, now)
		tmpl = b
		return err
	})
	if err != nil {
		m.d.log.Warn("cannot build a block template", "actor", nameMiner, "err", err)
		return false
	}
	tmpl.Header.Bits = next.Bits
	target, err := m.d.params.Target(&tmpl.Header)
	if err != nil {
		m.d.log.Warn("cannot build a block template", "actor", nameMiner, "err", err)
		return false
	}
	tmpl.Header.Seal(m.d.key)
	m.template = tmpl
	m.target = powworker.TargetOf(target)
	m.parent = tip.Hash
	m.header = tmpl.Header.WorkHeader()
	m.dispatch(ctx, epoch)
	return true
}

// dispatch hands the template to every worker as a new job built in the given tip epoch.
func (m *minerActor) dispatch(ctx actor.Context, epoch uint64) {
	m.jobID++
	m.epoch = epoch
	for i := 0; i < m.workers; i++ {
		m.sendJob(ctx, i)
	}
	m.tipAt = time.Time{} // measured once per tip
}

// holdBack paces mining (mining.min_block_interval): the job on tip starts after wait, and the
// workers leave the old tip now (that is the tip switch; the wait is policy).
func (m *minerActor) holdBack(ctx actor.Context, tip chainstate.Hash, wait time.Duration) {
	if m.pace != nil {
		m.pace.Stop()
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	m.pace = time.AfterFunc(wait, func() { root.Send(self, &paceTick{Parent: tip}) })
	if tip == m.tipHash {
		m.dropJobs(ctx, m.tipAt)
		m.tipAt = time.Time{}
	} else {
		m.idleWorkers(ctx)
	}
}

// paceWait is how long the miner holds a job on a tip made at tipMs back, at nowMs: until
// interval has passed since the tip's time, but never longer than interval. A tip that is ahead of
// this node's clock (a peer's clock runs fast, or ours was set back) does not stall mining for the
// difference: the template's time is max(now, tip time) anyway, so the block stays valid.
func paceWait(tipMs, nowMs uint64, interval time.Duration) time.Duration {
	if nowMs >= tipMs+uint64(interval.Milliseconds()) {
		return 0
	}
	if tipMs >= nowMs {
		return interval
	}
	return interval - time.Duration(nowMs-tipMs)*time.Millisecond
}

func (m *minerActor) sendJob(ctx actor.Context, i int) {
	pid := m.group.PID(fmt.Sprintf("worker-%d", i))
	if pid == nil {
		return
	}
	job := &mineJob{ID: m.jobID, Header: m.header, Target: m.target, Range: m.ranges[i], Epoch: m.epoch}
	if m.parent == m.tipHash {
		job.TipAt = m.tipAt
	}
	ctx.Send(pid, job)
}

// rollTime gives the workers the same template with a later time once a nonce range is spent.
func (m *minerActor) rollTime(ctx actor.Context) {
	t := max(m.d.nowMs(), m.template.Header.Time+1)
	m.template.Header.Time = t
	powworker.SetTime(&m.header, t)
	m.jobID++
	for i := 0; i < m.workers; i++ {
		m.sendJob(ctx, i)
	}
}

func (m *minerActor) found(ctx actor.Context, f *workerFound) {
	b := &chainstate.Block{Header: m.template.Header, Txs: m.template.Txs}
	b.Header.Time = f.TimeMs
	b.Header.Nonce = f.Nonce
	m.jobID++ // no second block from this job
	h := b.Hash()
	// A request dropped with a killed consensus is sent again unless the block got stored.
	r := callRetry[*submitBlockResponse](ctx, m.d.calls, nameConsensus, &submitBlockRequest{Block: b, Source: "miner"}, indexed(h))
	switch {
	case r.Applied:
		m.d.log.Debug("block mined", "actor", nameMiner, "height", b.Header.Height, "block_hash", h)
	case r.Err != nil && r.Val == nil:
		m.d.log.Warn("mined block not accepted", "actor", nameMiner, "height", b.Header.Height, "err", r.Err)
	case r.Err != nil:
		m.d.log.Warn("mined block rejected", "actor", nameMiner, "height", b.Header.Height, "err", r.Err)
	default:
		m.d.log.Debug("block mined", "actor", nameMiner, "height", b.Header.Height, "block_hash", r.Val.Result.Hash, "txs", len(b.Txs), "status", r.Val.Result.Status)
	}
	m.newJob(ctx)
}

func (m *minerActor) onGiveUp(ctx actor.Context, name string, reason any) {
	m.setEnabled(ctx, false)
	m.d.log.Error("mining stopped: a worker restarted too often; the node keeps running", "actor", nameMiner+"/"+name, "reason", fmt.Sprint(reason))
}

// every calls f every d until the returned stop function is called; stop waits for nothing and
// is idempotent (f must only send a message).
func every(d time.Duration, f func()) (stop func()) {
	k := &ticker{d: d, f: f}
	k.mu.Lock()
	k.t = time.AfterFunc(d, k.fire)
	k.mu.Unlock()
	return k.stop
}

type ticker struct {
	d       time.Duration
	f       func()
	mu      sync.Mutex
	t       *time.Timer // guarded by mu
	stopped bool        // guarded by mu
}

func (k *ticker) fire() {
	k.f()
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped {
		k.t.Reset(k.d)
	}
}

func (k *ticker) stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	k.t.Stop()
}

// workerActor runs the nonce search of its job in one tracked goroutine, counted in the hash
// metric, and reports found or exhausted to the miner. A new job or a stop tells the running
// goroutine to end without waiting for it; Stopping and Restarting join every one.
type workerActor struct {
	// hashes counts the hashes tried (the hashes metric).
	hashes interface{ Add(float64) }
	// tipSwitch observes how long a new tip took to reach this worker's search; staleStop how
	// long its search on the old tip went on after the new tip was published.
	tipSwitch, staleStop interface{ Observe(float64) }
	tips                 *tipEpoch
	// lowPriority: mining.low_priority (each search yields its core to whoever waits for it:
	// workeryield.go).
	lowPriority bool
	// runWait opens the search thread's run-queue wait (nil: openRunWait; tests replace it).
	runWait func() (runWait, error)
	index   int
	wg      sync.WaitGroup
	// cur is the running search's quit flag and leave signal (replaced per job).
	cur *searchCtl
}

// searchCtl tells one search to end: quit is polled while it hashes, left wakes it from a yield.
type searchCtl struct {
	quit atomic.Bool
	left chan struct{}
}

// searchChunk is how many nonces one Search call covers before the hash metric is updated.
const searchChunk = 1 << 18

func (w *workerActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(ctx.Parent(), &workerReady{Index: w.index})
	case *actor.Stopping, *actor.Restarting:
		w.leaveSearch()
		w.wg.Wait() // every search joined before the worker stops or restarts
	case *mineJob:
		w.leaveSearch()
		w.start(ctx, msg)
		w.observeSwitch(msg.TipAt)
	case *stopJob:
		w.leaveSearch()
		w.observeSwitch(msg.TipAt)
	case *workerPanic:
		panic(msg.reason)
	}
}

// workerPriority reports that a worker's search could not lower its thread's priority.
type workerPriority struct{ Err error }

type workerPanic struct{ reason any }

// workerPanicked is a search's panic, reported to the miner, which fails the worker with it.
type workerPanicked struct {
	Index  int
	Reason any
}

// observeSwitch records a tip switch: the new tip was published at tipAt (zero: not a switch).
func (w *workerActor) observeSwitch(tipAt time.Time) {
	if !tipAt.IsZero() && w.tipSwitch != nil {
		w.tipSwitch.Observe(time.Since(tipAt).Seconds())
	}
}

// leaveSearch tells the running search to stop without waiting for it: it ends at its next
// poll (at once, if it sleeps in a yield), which its thread reaches only when the kernel runs it
// again, and the next job must not wait for that. Stopping and Restarting join every search.
func (w *workerActor) leaveSearch() {
	if w.cur != nil {
		w.cur.quit.Store(true)
		close(w.cur.left)
		w.cur = nil
	}
}

func (w *workerActor) start(ctx actor.Context, job *mineJob) {
	ctl := &searchCtl{left: make(chan struct{})}
	w.cur = ctl
	quit := &ctl.quit
	parent, root, index := ctx.Parent(), ctx.ActorSystem().Root, w.index
	hashes, tips, staleStop, lowPriority := w.hashes, w.tips, w.staleStop, w.lowPriority
	openWait := w.runWait
	if openWait == nil {
		openWait = openRunWait
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() {
			// A panic here would kill the process: turn it into a failure of the actor.
			if r := recover(); r != nil {
				root.Send(parent, &workerPanicked{Index: index, Reason: r})
			}
		}()
		hdr := job.Header
		// stale: consensus has published another tip since the template was built.
		stale := func() bool { return tips != nil && tips.load() != job.Epoch }
		// Search polls stop every ~0.6 ms. At the node's priority it yields there to the node's
		// goroutines, so that its actors (a new tip, a new job) run at once instead of waiting
		// for the scheduler to preempt a hashing goroutine (up to 10 ms each time on a machine
		// whose cores the workers fill). With mining.low_priority it yields its core instead,
		// when its thread waited for it (yielder); the node has a P per worker besides its own
		// (lowPriorityProcs), so its goroutines do not wait for a search's P.
		var y *yielder
		if lowPriority {
			rw, err := openWait()
			if err == nil {
				defer rw.Close()
				y, err = newYielder(rw)
			}
			if err != nil {
				root.Send(parent, &workerPriority{Err: err})
			}
		}
		// lastPoll is the search's last poll that let it go on: after the publication of a new
		// tip it hashed at most from then (or from the publication, if later) to its stop.
		lastPoll := time.Now()
		stop := func() bool {
			if y == nil {
				runtime.Gosched()
			} else if err := y.poll(ctl.left); errors.Is(err, errLeft) {
				return true
			} else if err != nil {
				// Hash on without yielding the core rather than not at all.
				root.Send(parent, &workerPriority{Err: err})
				y = nil
			}
			if quit.Load() || stale() {
				return true
			}
			lastPoll = time.Now()
			return false
		}
		r := job.Range
		for r.Count > 0 && !quit.Load() && !stale() {
			n := min(r.Count, searchChunk)
			res := powworker.SearchTarget(hdr, job.Target, powworker.Range{Start: r.Start, Count: n}, 0, stop)
			hashes.Add(float64(res.Hashes))
			if res.Found {
				root.Send(parent, &workerFound{ID: job.ID, TimeMs: binary.BigEndian.Uint64(hdr[chainstate.WorkTimeOffset:]), Nonce: res.Nonce})
				return
			}
			if !res.Done {
				break // stopped
			}
			r.Start += uint32(n)
			r.Count -= n
		}
		switch {
		case stale():
			// Left for a new tip (by the epoch, or by the job or stop that followed it): the
			// miner's next job comes with tipChanged; nothing to report.
			if staleStop != nil {
				from := tips.publishedAt()
				if lastPoll.After(from) {
					from = lastPoll
				}
				staleStop.Observe(time.Since(from).Seconds())
			}
		case quit.Load():
		default:
			root.Send(parent, &workerExhausted{ID: job.ID, Index: w.index})
		}
	}()
}
