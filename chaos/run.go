package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/localnet"
)

// LinkMode selects how link faults are made (localnet.LinkMode).
type LinkMode = localnet.LinkMode

// The link modes. Auto takes netns when it can run (root, ip and tc), else filter.
const (
	LinksAuto   = localnet.LinksAuto
	LinksNetns  = localnet.LinksNetns
	LinksFilter = localnet.LinksFilter
)

// NetnsAvailable says why the netns link mode cannot run here, or nil.
func NetnsAvailable() error { return localnet.NetnsAvailable() }

// Home is one node home made for a run (localnet.Home).
type Home = localnet.Home

// Config is one chaos run.
type Config struct {
	Exe      string // the node binary
	Seed     int64
	Settings Settings
	Dir      string // parent of the homes and the logs
	Senders  int
	Interval time.Duration // between two transfers of one sender
	Links    LinkMode
	// Converge bounds each wait after the heal (transfers confirmed, tips equal).
	Converge time.Duration
	// MakeHomes creates the homes of the network, node k listening on hosts[k] (the devnet code,
	// with debug.fault_injection on).
	MakeHomes func(hosts []string) ([]Home, error)
	// Out receives the transcript as it happens.
	Out io.Writer
}

// Transcript is what a run did and found; it is also written as JSON.
type Transcript struct {
	Seed        int64     `json:"seed"`
	Nodes       int       `json:"nodes"`
	DurationS   float64   `json:"duration_s,omitempty"`
	Rounds      int       `json:"rounds,omitempty"`
	Senders     int       `json:"senders"`
	LinkMode    LinkMode  `json:"link_mode"`
	LinkWhy     string    `json:"link_mode_reason"`
	Dir         string    `json:"dir"`
	Schedule    []string  `json:"schedule"`
	Steps       []Applied `json:"steps"`
	Acked       int       `json:"transfers_acked"`
	Known       int       `json:"transfers_known_unacked"`
	ConvergeS   float64   `json:"convergence_s"`
	Height      uint64    `json:"final_height"`
	Tip         string    `json:"final_tip"`
	Checks      []Check   `json:"checks"`
	Exits       []Exit    `json:"unexpected_exits"`
	OK          bool      `json:"ok"`
	Interrupted bool      `json:"interrupted,omitempty"`
	TookS       float64   `json:"took_s"`
}

// proc is one run of a node process.
type proc struct {
	*localnet.Proc
	byHand   bool // the harness killed it (guarded by runner.mu)
	stopping bool // the harness stopped it with SIGTERM: it must exit 0
	// expectExit: a crash loop drives it to give up; the loop judges its exit.
	expectExit bool
}

// runner is the state of one Run.
type runner struct {
	cfg     Config
	homes   []Home
	clients []*api.Client
	hc      *http.Client
	links   localnet.Links
	chainID string
	genesis string // hex, from the first status
	env     []string
	logs    []*os.File
	began   time.Time
	faults  []Fault
	wg      sync.WaitGroup // process watchers

	scheduleStart time.Time // when the schedule's offset 0 was
	healed        time.Time // when the heal ended

	mu     sync.Mutex
	procs  []*proc
	all    []*proc // every process started, for teardown (procs holds each node's latest)
	down   []bool  // killed, restart pending
	frozen []bool
	acks   []ack
	signed map[string]api.Tx // every acknowledged transfer by hash
	known  int
	exits  []Exit
	floods map[int]*flood     // running flood faults by fault index
	loops  map[int]*crashLoop // running crash loops by fault index

	// Desired fault state, pushed to a node again after it resumes or restarts.
	active  []int // link faults in force
	table   map[Pair]Link
	storage []bool
	skew    []int
	dirty   []bool // a change was skipped while the node was down or frozen
}

// Run runs cfg: sets up links and homes, starts the nodes, loads and faults them on the seeded
// schedule, heals, checks, stops the nodes, verifies the homes and tears everything down. The
// transcript's OK says whether every invariant held; an error means the run could not be
// carried out (its setup failed, or ctx was cancelled: then the transcript says Interrupted).
func Run(ctx context.Context, cfg Config) (tr *Transcript, err error) {
	faults, err := Plan(cfg.Seed, cfg.Settings)
	if err != nil {
		return nil, err
	}
	n := cfg.Settings.Nodes
	r := &runner{
		cfg: cfg, faults: faults, began: time.Now(),
		// Idle connections enough for the checks' parallel queries of one node (confirmWorkers),
		// so that they reuse connections instead of opening one a request.
		hc:   &http.Client{Timeout: submitTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * confirmWorkers}},
		down: make([]bool, n), frozen: make([]bool, n), procs: make([]*proc, n),
		storage: make([]bool, n), skew: make([]int, n), dirty: make([]bool, n), table: map[Pair]Link{},
		signed: map[string]api.Tx{}, floods: map[int]*flood{}, loops: map[int]*crashLoop{},
	}
	tr = &Transcript{Seed: cfg.Seed, Nodes: n, DurationS: cfg.Settings.Duration.Seconds(), Rounds: cfg.Settings.Rounds,
		Senders: cfg.Senders, Dir: cfg.Dir, Steps: []Applied{}, Checks: []Check{}, Exits: []Exit{}}
	for _, f := range faults {
		tr.Schedule = append(tr.Schedule, fmt.Sprintf("%7.2fs %-9s %s", f.At.Seconds(), f.Kind, f))
	}
	defer func() {
		cerr := r.teardown()
		if err == nil && cerr != nil {
			err = cerr
		}
		if ctx.Err() != nil {
			tr.Interrupted = true
			if err == nil {
				err = ctx.Err()
			}
		}
		tr.TookS = time.Since(r.began).Seconds()
	}()
	if err := r.setupLinks(ctx, tr); err != nil {
		return tr, err
	}
	r.printf("chaos: seed %d, %d nodes, %d faults, links %s (%s)\n", cfg.Seed, n, len(faults), r.links.Mode, tr.LinkWhy)
	for _, s := range tr.Schedule {
		r.printf("  plan %s\n", s)
	}
	if err := r.setupHomes(); err != nil {
		return tr, err
	}
	if err := r.startAll(ctx); err != nil {
		return tr, err
	}
	if err := r.runLoad(ctx, tr); err != nil {
		return tr, err
	}
	r.check(ctx, tr)
	return tr, nil
}

// runLoad funds the senders from the genesis wallets, then runs the schedule and the heal while
// every sender sends until the heal; it returns when the load has stopped.
func (r *runner) runLoad(ctx context.Context, tr *Transcript) error {
	cfg, n := r.cfg, len(r.homes)
	wallets := make([]*account, n)
	for k, h := range r.homes {
		key, err := chainstate.LoadSigningKey(h.WalletKey)
		if err != nil {
			return err
		}
		wallets[k] = localnet.NewAccount(key)
	}
	senders := make([]*account, cfg.Senders)
	for i := range senders {
		senders[i] = localnet.NewAccount(localnet.SenderKey("chaos", cfg.Seed, i))
	}
	if err := r.fund(ctx, wallets, senders, 2*cfg.Converge); err != nil {
		return err
	}
	r.printf("chaos: %d senders funded at %.1fs; schedule starts\n", len(senders), time.Since(r.began).Seconds())
	loadCtx, stopLoad := context.WithCancel(ctx)
	var lwg sync.WaitGroup
	for i, s := range senders {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			r.load(loadCtx, i, s, senders[(i+1)%len(senders)], cfg.Interval)
		}()
	}
	r.schedule(ctx, tr)
	if cfg.Settings.Duration > 0 {
		sleepCtx(ctx, time.Until(r.scheduleStart.Add(cfg.Settings.Duration)))
	}
	if ctx.Err() == nil {
		r.heal(ctx, tr)
	}
	stopLoad()
	lwg.Wait()
	return ctx.Err()
}

func (r *runner) printf(format string, a ...any) {
	if r.cfg.Out != nil {
		fmt.Fprintf(r.cfg.Out, format, a...)
	}
}

// setupLinks picks the link mode and builds the namespaces for netns.
func (r *runner) setupLinks(ctx context.Context, tr *Transcript) error {
	l, err := localnet.SetupLinks(ctx, r.cfg.Links, r.cfg.Settings.Nodes, true)
	if err != nil {
		return err
	}
	r.links, tr.LinkMode, tr.LinkWhy = l, l.Mode, l.Why
	return nil
}

// setupHomes makes the homes and opens the logs.
func (r *runner) setupHomes() error {
	homes, err := r.cfg.MakeHomes(r.links.Hosts(r.cfg.Settings.Nodes))
	if err != nil {
		return err
	}
	r.homes = homes
	for _, h := range homes {
		r.clients = append(r.clients, api.NewClient(h.API, r.hc))
		f, err := os.OpenFile(filepath.Join(h.Dir, "chaos.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		r.logs = append(r.logs, f)
	}
	r.env = localnet.ChildEnv()
	return nil
}

// startAll starts every node and waits until each answers and has a peer.
func (r *runner) startAll(ctx context.Context) error {
	for k := range r.homes {
		if err := r.start(k); err != nil {
			return err
		}
	}
	for k := range r.homes {
		if err := r.waitReady(ctx, k); err != nil {
			return err
		}
	}
	bound, cancel := context.WithTimeout(ctx, r.cfg.Converge)
	defer cancel()
	for k := range r.homes {
		err := poll(bound, 100*time.Millisecond, func() bool {
			st, err := r.clients[k].Status(bound)
			if err == nil {
				r.chainID, r.genesis = st.ChainID, st.GenesisHash
			}
			return err == nil && st.Peers > 0
		})
		if err != nil {
			return fmt.Errorf("node%d has no peer within %s", k, r.cfg.Converge)
		}
	}
	return nil
}

// start starts node k's process.
func (r *runner) start(k int) error {
	argv := r.links.Command(k, []string{r.cfg.Exe, "run", "--home", r.homes[k].Dir, "--log-format", "json"})
	p := &proc{}
	lp, err := localnet.Start(argv, r.env, r.logs[k], &r.wg, func(err error) { r.exited(k, p, err) })
	if err != nil {
		return fmt.Errorf("start node%d: %w", k, err)
	}
	r.mu.Lock()
	p.Proc = lp
	r.procs[k] = p
	r.all = append(r.all, p)
	r.down[k] = false
	r.mu.Unlock()
	return nil
}

// exited records how node k's process p ended, unless the harness meant it to.
func (r *runner) exited(k int, p *proc, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case p.byHand, p.expectExit:
	case p.stopping && err == nil:
	case p.stopping:
		r.exits = append(r.exits, Exit{Node: k, At: time.Since(r.began), How: "a SIGTERM stop failed: " + err.Error()})
	default:
		how := "exited by itself"
		if err != nil {
			how += ": " + err.Error()
		}
		r.exits = append(r.exits, Exit{Node: k, At: time.Since(r.began), How: how})
	}
}

// waitReady polls node k's status until it answers, or fails when the process ends first.
func (r *runner) waitReady(ctx context.Context, k int) error {
	r.mu.Lock()
	p := r.procs[k]
	r.mu.Unlock()
	bound, cancel := context.WithTimeout(ctx, r.cfg.Converge)
	defer cancel()
	err := poll(bound, 50*time.Millisecond, func() bool {
		select {
		case <-p.Done():
			cancel()
			return false
		default:
		}
		_, err := r.clients[k].Status(bound)
		return err == nil
	})
	select {
	case <-p.Done():
		return fmt.Errorf("node%d exited while starting (%v); see %s", k, p.Err(), r.logs[k].Name())
	default:
	}
	if err != nil {
		return fmt.Errorf("node%d did not answer within %s: %w", k, r.cfg.Converge, err)
	}
	return nil
}

// signal sends sig to node k's process.
func (r *runner) signal(k int, sig syscall.Signal) error {
	r.mu.Lock()
	p := r.procs[k]
	if sig == syscall.SIGKILL {
		p.byHand = true
	}
	r.mu.Unlock()
	return p.Signal(sig)
}

// kill sends SIGKILL to node k and waits for it to be gone.
func (r *runner) kill(k int) error {
	if err := r.signal(k, syscall.SIGKILL); err != nil {
		return err
	}
	r.mu.Lock()
	p := r.procs[k]
	r.down[k] = true
	r.mu.Unlock()
	select {
	case <-p.Done():
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("node%d still runs 10s after SIGKILL", k)
	}
}

// running reports whether node k's latest process still runs.
func (r *runner) running(k int) bool {
	r.mu.Lock()
	p := r.procs[k]
	r.mu.Unlock()
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

func (r *runner) isUp(k int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.down[k] && !r.frozen[k]
}

// restart starts node k again and pushes its fault state back.
func (r *runner) restart(ctx context.Context, k int) error {
	if err := r.start(k); err != nil {
		return err
	}
	if err := r.waitReady(ctx, k); err != nil {
		return err
	}
	return r.push(ctx, k, true)
}

// schedule applies the timeline, printing each step.
func (r *runner) schedule(ctx context.Context, tr *Transcript) {
	r.scheduleStart = time.Now()
	for _, st := range Timeline(r.faults) {
		if !sleepCtx(ctx, time.Until(r.scheduleStart.Add(st.At))) && ctx.Err() != nil {
			return
		}
		f := r.faults[st.Fault]
		began := time.Now()
		res, detail := r.apply(ctx, st, f)
		a := Applied{
			AtS: time.Since(r.scheduleStart).Seconds(), PlanS: st.At.Seconds(), Kind: f.Kind, End: st.End,
			Fault: st.Fault, What: f.String(), Result: res, Detail: detail, Duration: time.Since(began).Seconds(),
		}
		if st.End {
			a.What = "end: " + a.What
		}
		tr.Steps = append(tr.Steps, a)
		line := fmt.Sprintf("  %7.2fs fault %-3d %-9s %s: %s", a.AtS, st.Fault, f.Kind, a.What, res)
		if detail != "" {
			line += " (" + detail + ")"
		}
		r.printf("%s\n", line)
	}
}

// apply carries out one step.
func (r *runner) apply(ctx context.Context, st Step, f Fault) (Result, string) {
	k := f.Node
	switch f.Kind {
	case KindKill:
		return r.applyKill(ctx, st, f)
	case KindFreeze:
		return r.applyFreeze(ctx, st, k)
	case KindActor:
		return r.applyActor(ctx, f)
	case KindPartition, KindLink:
		r.mu.Lock()
		if st.End {
			r.active = slices.DeleteFunc(r.active, func(i int) bool { return i == st.Fault })
		} else {
			r.active = append(r.active, st.Fault)
		}
		r.mu.Unlock()
		return stepResult(r.applyLinks(ctx))
	case KindStorage:
		r.mu.Lock()
		r.storage[k] = !st.End
		r.mu.Unlock()
		return stepResult(r.pushStorage(ctx, k))
	case KindClock:
		r.mu.Lock()
		r.skew[k] = f.SkewS
		if st.End {
			r.skew[k] = 0
		}
		r.mu.Unlock()
		return stepResult(r.pushClock(ctx, k))
	case KindDamage:
		return r.applyDamage(ctx, st, f)
	case KindFlood:
		return r.applyFlood(ctx, st, k)
	case KindCrashLoop:
		return r.applyCrashLoop(ctx, st, k)
	}
	return ResultError, "unknown fault kind " + string(f.Kind)
}

// stepResult is the result of a step that did err (nil: ok).
func stepResult(err error) (Result, string) {
	if err == nil {
		return ResultOK, ""
	}
	return ResultError, strings.ReplaceAll(err.Error(), "\n", "; ")
}

func (r *runner) applyKill(ctx context.Context, st Step, f Fault) (Result, string) {
	if st.End {
		return stepResult(r.restart(ctx, f.Node))
	}
	if err := r.kill(f.Node); err != nil {
		return stepResult(err)
	}
	if f.For == 0 {
		return stepResult(r.restart(ctx, f.Node))
	}
	return ResultOK, ""
}

func (r *runner) applyFreeze(ctx context.Context, st Step, k int) (Result, string) {
	if st.End {
		if err := r.signal(k, syscall.SIGCONT); err != nil {
			return stepResult(err)
		}
		r.mu.Lock()
		r.frozen[k] = false
		r.mu.Unlock()
		return stepResult(r.push(ctx, k, false))
	}
	r.mu.Lock()
	r.frozen[k] = true
	r.mu.Unlock()
	return stepResult(r.signal(k, syscall.SIGSTOP))
}

func (r *runner) applyActor(ctx context.Context, f Fault) (Result, string) {
	k := f.Node
	name, err := r.actorName(ctx, k, f)
	if err != nil {
		return stepResult(err)
	}
	if name == "" {
		return ResultSkipped, "node" + fmt.Sprint(k) + " has no " + f.Actor
	}
	c, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	if f.Action == "kill" {
		err = r.clients[k].Kill(c, name)
	} else {
		err = r.clients[k].Crash(c, name)
	}
	if err != nil {
		return stepResult(fmt.Errorf("%s %s: %w", f.Action, name, err))
	}
	return ResultOK, name
}

func (r *runner) applyDamage(ctx context.Context, st Step, f Fault) (Result, string) {
	k := f.Node
	if st.End {
		if r.running(k) { // the start step failed before it stopped the node
			return ResultSkipped, "the node was not stopped"
		}
		return stepResult(r.restart(ctx, k))
	}
	detail, err := r.damage(ctx, k, f.Damage, uint64(f.Pick))
	var skip *notHandedOver
	if errors.As(err, &skip) {
		return ResultSkipped, skip.Error() + ": the disk is left whole and the node serves on"
	}
	if err != nil {
		return stepResult(err)
	}
	return ResultOK, detail
}

func (r *runner) applyFlood(ctx context.Context, st Step, k int) (Result, string) {
	if st.End {
		fl := r.floods[st.Fault]
		delete(r.floods, st.Fault)
		if fl == nil {
			return ResultSkipped, "the flood did not start"
		}
		fl.stop()
		return ResultOK, fl.String()
	}
	fl, err := r.startFlood(ctx, k)
	if err != nil {
		return stepResult(err)
	}
	r.floods[st.Fault] = fl
	return ResultOK, ""
}

func (r *runner) applyCrashLoop(ctx context.Context, st Step, k int) (Result, string) {
	if !st.End {
		r.loops[st.Fault] = r.startCrashLoop(ctx, k)
		return ResultOK, ""
	}
	cl := r.loops[st.Fault]
	delete(r.loops, st.Fault)
	if cl == nil {
		return ResultSkipped, "the crash loop did not start"
	}
	err := cl.finish(r.logs[k].Name())
	r.mu.Lock()
	r.procs[k].expectExit = false // still running: any later exit is unexpected again
	r.down[k] = cl.exited
	r.mu.Unlock()
	if cl.exited {
		err = errors.Join(err, r.restart(ctx, k))
	}
	if err != nil {
		return ResultError, strings.ReplaceAll(err.Error(), "\n", "; ") + " (" + cl.String() + ")"
	}
	return ResultOK, cl.String()
}

// actorWait bounds the wait for a live child of an actor role (a connection, a worker).
const actorWait = 5 * time.Second

// actorName resolves an actor role to a live actor of node k ("" when there is none within
// actorWait).
func (r *runner) actorName(ctx context.Context, k int, f Fault) (string, error) {
	parent := ""
	switch f.Actor {
	case ActorConn:
		parent = "peers"
	case ActorWorker:
		parent = "miner"
	default:
		return f.Actor, nil
	}
	// A node that restarted a moment ago may not have its connections yet: wait a little for a
	// live child before skipping the fault.
	var names []string
	bound, cancel := context.WithTimeout(ctx, actorWait)
	defer cancel()
	var lastErr error
	_ = poll(bound, 200*time.Millisecond, func() bool {
		c, cancel := context.WithTimeout(bound, submitTimeout)
		defer cancel()
		tree, err := r.clients[k].Actors(c)
		if err != nil {
			lastErr = err
			return false
		}
		lastErr, names = nil, names[:0]
		for _, a := range tree.Children {
			if a.Name != parent {
				continue
			}
			for _, ch := range a.Children {
				if ch.State == "running" {
					names = append(names, ch.Name)
				}
			}
		}
		return len(names) > 0
	})
	if lastErr != nil {
		return "", fmt.Errorf("GET /v1/actors: %w", lastErr)
	}
	if len(names) == 0 {
		return "", nil
	}
	slices.Sort(names)
	return names[int(f.Pick%uint32(len(names)))], nil
}

// usesFilter says whether some link state goes through the nodes' link filter.
func (r *runner) usesFilter() bool { return r.links.UsesFilter() }

// applyLinks brings every link to the table of the active link faults.
func (r *runner) applyLinks(ctx context.Context) error {
	r.mu.Lock()
	next := LinkTable(r.faults, r.active, len(r.homes))
	changes := LinkChanges(r.table, next)
	r.table = next
	r.mu.Unlock()
	var errs []error
	for _, ch := range changes {
		if r.links.NS != nil {
			if err := r.links.NS.SetLink(ctx, ch.From, ch.To, ch.Link); err != nil {
				errs = append(errs, err)
			}
		}
		if r.usesFilter() {
			if err := r.setFilter(ctx, ch.Pair, r.filterPart(ch.Link)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// filterPart is what of a link's state the node's filter carries: all of it in filter mode,
// delay and loss in netns mode without netem.
func (r *runner) filterPart(l Link) Link {
	if r.links.Mode == LinksFilter {
		return l
	}
	return Link{DelayMs: l.DelayMs, Loss: l.Loss}
}

// push gives node k its desired fault state: after a restart (fresh) the faults in force; after
// SIGCONT (or a peers actor restart) everything, when a change was skipped meanwhile (dirty).
func (r *runner) push(ctx context.Context, k int, fresh bool) error {
	r.mu.Lock()
	all := r.dirty[k] && !fresh
	r.dirty[k] = false
	var mine []LinkChange
	for p, l := range r.table {
		if p.From == k {
			mine = append(mine, LinkChange{p, l})
		}
	}
	storage, skew := r.storage[k], r.skew[k]
	r.mu.Unlock()
	var errs []error
	if r.usesFilter() {
		if all {
			errs = append(errs, r.call(ctx, k, "DELETE /v1/debug/links", func(c context.Context) error {
				return r.clients[k].DebugClearLinks(c)
			}))
		}
		for _, ch := range mine {
			errs = append(errs, r.setFilter(ctx, ch.Pair, r.filterPart(ch.Link)))
		}
	}
	if storage || all {
		errs = append(errs, r.pushStorage(ctx, k))
	}
	if skew != 0 || all {
		errs = append(errs, r.pushClock(ctx, k))
	}
	return errors.Join(errs...)
}

// setFilter sets node p.From's link filter for p.To, unless p.From is down or frozen (then it is
// marked dirty and gets its filters when it is back).
func (r *runner) setFilter(ctx context.Context, p Pair, l Link) error {
	if !r.upOrDirty(p.From) {
		return nil
	}
	f := api.LinkFilter{Peer: r.homes[p.To].NodeID, Cut: l.Cut, DelayMs: l.DelayMs, Loss: l.Loss}
	return r.call(ctx, p.From, "POST /v1/debug/links", func(c context.Context) error {
		_, err := r.clients[p.From].DebugSetLink(c, f)
		return err
	})
}

// pushStorage and pushClock give node k its desired storage and clock state, unless it is down
// or frozen (then push does it when it is back).
func (r *runner) pushStorage(ctx context.Context, k int) error {
	if !r.upOrDirty(k) {
		return nil
	}
	r.mu.Lock()
	v := r.storage[k]
	r.mu.Unlock()
	return r.call(ctx, k, "POST /v1/debug/storage", func(c context.Context) error {
		_, err := r.clients[k].DebugStorageFault(c, v)
		return err
	})
}

func (r *runner) pushClock(ctx context.Context, k int) error {
	if !r.upOrDirty(k) {
		return nil
	}
	r.mu.Lock()
	v := r.skew[k]
	r.mu.Unlock()
	return r.call(ctx, k, "POST /v1/debug/clock", func(c context.Context) error {
		_, err := r.clients[k].DebugClockSkew(c, int64(v))
		return err
	})
}

// upOrDirty reports whether node k is up; if not, it marks k dirty.
func (r *runner) upOrDirty(k int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down[k] || r.frozen[k] {
		r.dirty[k] = true
		return false
	}
	return true
}

// call makes one bounded request to node k; an error names the node and the endpoint.
func (r *runner) call(ctx context.Context, k int, what string, do func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	if err := do(c); err != nil {
		return fmt.Errorf("node%d %s: %w", k, what, err)
	}
	return nil
}

// heal ends every fault: frozen nodes continue, down nodes restart, links, storage and clocks
// are healthy again.
func (r *runner) heal(ctx context.Context, tr *Transcript) {
	began := time.Now()
	var errs []error
	for k := range r.homes {
		r.mu.Lock()
		frozen, down := r.frozen[k], r.down[k]
		r.storage[k], r.skew[k] = false, 0
		r.mu.Unlock()
		if frozen {
			errs = append(errs, r.signal(k, syscall.SIGCONT))
			r.mu.Lock()
			r.frozen[k] = false
			r.mu.Unlock()
		}
		if down {
			errs = append(errs, r.restart(ctx, k))
		}
	}
	r.mu.Lock()
	r.active = nil
	r.mu.Unlock()
	errs = append(errs, r.applyLinks(ctx))
	for k := range r.homes {
		if r.usesFilter() {
			errs = append(errs, r.call(ctx, k, "DELETE /v1/debug/links", func(c context.Context) error {
				return r.clients[k].DebugClearLinks(c)
			}))
		}
		errs = append(errs, r.pushStorage(ctx, k), r.pushClock(ctx, k))
	}
	a := Applied{AtS: time.Since(r.scheduleStart).Seconds(), Kind: "heal", Fault: -1, What: "heal everything", Result: ResultOK,
		Duration: time.Since(began).Seconds()}
	if err := errors.Join(errs...); err != nil {
		a.Result, a.Detail = ResultError, strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	tr.Steps = append(tr.Steps, a)
	r.healed = time.Now()
	r.printf("  %7.2fs heal everything: %s %s\n", a.AtS, a.Result, a.Detail)
}

// teardown kills every process still running, joins the watchers, closes the logs and removes
// the namespaces. Idempotent.
func (r *runner) teardown() error {
	for i, fl := range r.floods {
		fl.stop()
		delete(r.floods, i)
	}
	for i, cl := range r.loops {
		cl.cancel()
		<-cl.done
		delete(r.loops, i)
	}
	r.mu.Lock()
	for _, p := range r.all {
		select {
		case <-p.Done():
		default:
			p.byHand = true
			p.Kill()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
	r.hc.Transport.(*http.Transport).CloseIdleConnections()
	for _, f := range r.logs {
		_ = f.Close()
	}
	r.logs = nil
	return r.links.Close()
}
