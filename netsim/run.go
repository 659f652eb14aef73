package netsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/localnet"
)

// Config is one netsim run.
type Config struct {
	Exe   string // the node binary
	Dir   string // parent of the homes and the logs
	Seed  int64
	Plan  PlanSettings
	Links localnet.LinkMode
	// Blocks is the run length: main-chain blocks mined while the load runs.
	Blocks int
	// BlockTime is the block interval aimed at; PowBits the network's fixed difficulty (chosen
	// by the caller, see PowBits), PowWhy how.
	BlockTime time.Duration
	PowBits   int
	PowWhy    string
	// HalfLife is the chain's difficulty_halflife: the difficulty adjusts towards BlockTime from
	// the genesis difficulty PowBits (0: it stays fixed).
	HalfLife time.Duration
	Senders  int
	// TxInterval is the time between two transfers of one sender; TxSampleEvery how often one of
	// them is followed to every node (transfer propagation).
	TxInterval    time.Duration
	TxSampleEvery time.Duration
	// Idle is how long the idle cost (RSS, CPU per node) is measured, before mining starts.
	Idle time.Duration
	// Warmup bounds the wait for the connections to settle before the idle measurement.
	Warmup time.Duration
	// AddrSampleEvery is how often every node's address book and slots are read.
	AddrSampleEvery time.Duration
	// Converge bounds each wait after the load (transfers confirmed, one tip).
	Converge    time.Duration
	MaxOutbound int
	// MinersLowPriority records that the homes' miners yield the cores (mining.low_priority;
	// MakeHomes sets it).
	MinersLowPriority bool
	// MakeHomes creates the homes, node k listening on hosts[k], on a chain of powBits, each
	// with p2p.seeds, mining.workers and p2p.max_outbound from plan, mining off at start, the
	// debug hooks on (the link filter) and JSON logs at info.
	MakeHomes func(hosts []string, plan Plan, powBits int) ([]localnet.Home, error)
	Out       io.Writer
}

// Run-wide bounds.
const (
	callTimeout  = 3 * time.Second
	probeBound   = 10 * time.Second
	probeEvery   = 20 * time.Millisecond
	stopBound    = 30 * time.Second
	senderFunds  = 1_000_000_000
	settleQuiet  = 3 * time.Second
	verifyWorker = 2
	linkTries    = 3
)

// runner is the state of one Run.
type runner struct {
	cfg     Config
	plan    Plan
	links   localnet.Links
	homes   []localnet.Home
	clients []*api.Client
	hc      *http.Client
	env     []string
	logs    []*os.File
	began   time.Time
	chainID string
	wg      sync.WaitGroup // process watchers

	mu       sync.Mutex
	procs    []*localnet.Proc
	stopping bool
	exits    []string
	acks     []ack
	samples  []TxSample
	addr     []AddrSample
}

type ack struct {
	hash string
	at   time.Time
}

// Run carries out cfg and returns its report. An error means the run could not be carried out
// (its setup failed, a wait ran out, or ctx was cancelled); the report holds what was measured
// until then. Run returns only after every process it started has exited and every namespace
// it made is gone.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	plan, err := MakePlan(cfg.Seed, cfg.Plan)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, plan: plan, began: time.Now(), env: localnet.ChildEnv(),
		hc: &http.Client{Timeout: callTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}}
	rep = newReport(cfg, plan)
	defer func() {
		if terr := r.teardown(); err == nil {
			err = terr
		}
		if ctx.Err() != nil {
			rep.Interrupted = true
			if err == nil {
				err = ctx.Err()
			}
		}
		rep.TookS = time.Since(r.began).Seconds()
	}()
	if r.links, err = localnet.SetupLinks(ctx, cfg.Links, plan.Nodes, false); err != nil {
		return rep, err
	}
	rep.LinkMode, rep.LinkWhy = r.links.Mode, r.links.Why
	r.printf("netsim: seed %d, %d nodes, miners %v (workers %v), pow_bits %d (%s), links %s (%s)\n",
		cfg.Seed, plan.Nodes, plan.Miners(), cfg.Plan.MinerWorkers, cfg.PowBits, cfg.PowWhy, r.links.Mode, r.links.Why)
	if err := r.startNetwork(ctx); err != nil {
		return rep, err
	}
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var swg sync.WaitGroup
	swg.Add(1)
	go func() { defer swg.Done(); r.sampleAddrs(sampleCtx) }()
	err = r.measure(ctx, rep)
	stopSampling()
	swg.Wait()
	r.mu.Lock()
	rep.AddrBook = append([]AddrSample{}, r.addr...)
	r.mu.Unlock()
	if err != nil {
		rep.summarizeAddrs()
		return rep, err
	}
	r.stopAll()
	r.verifyAll(ctx, rep)
	return rep, r.figures(rep)
}

// measure runs the phases between a started network and its stop.
func (r *runner) measure(ctx context.Context, rep *Report) error {
	if err := r.setLatencies(ctx); err != nil {
		return err
	}
	r.settle(ctx)
	if err := r.idleCost(ctx, rep); err != nil {
		return err
	}
	if err := r.setMining(ctx, r.plan.Miners(), true); err != nil {
		return err
	}
	senders, err := r.fund(ctx)
	if err != nil {
		return err
	}
	if err := r.load(ctx, rep, senders); err != nil {
		return err
	}
	return r.finish(ctx, rep)
}

func (r *runner) printf(format string, a ...any) {
	if r.cfg.Out != nil {
		fmt.Fprintf(r.cfg.Out, format, a...)
	}
}

// startNetwork makes the homes, starts every node and waits until each answers.
func (r *runner) startNetwork(ctx context.Context) error {
	homes, err := r.cfg.MakeHomes(r.links.Hosts(r.plan.Nodes), r.plan, r.cfg.PowBits)
	if err != nil {
		return err
	}
	r.homes = homes
	r.printf("netsim: links and %d homes made at %.1fs\n", len(homes), time.Since(r.began).Seconds())
	r.procs = make([]*localnet.Proc, len(homes))
	for _, h := range homes {
		r.clients = append(r.clients, api.NewClient(h.API, r.hc))
		f, err := os.OpenFile(filepath.Join(h.Dir, "netsim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		r.logs = append(r.logs, f)
	}
	for k := range homes {
		argv := r.links.Command(k, []string{r.cfg.Exe, "run", "--home", homes[k].Dir, "--log-format", "json", "--log-level", "info"})
		p, err := localnet.Start(argv, r.env, r.logs[k], &r.wg, func(err error) { r.exited(k, err) })
		if err != nil {
			return fmt.Errorf("start node%d: %w", k, err)
		}
		r.mu.Lock()
		r.procs[k] = p
		r.mu.Unlock()
	}
	bound, cancel := context.WithTimeout(ctx, r.cfg.Converge)
	defer cancel()
	for k := range homes {
		p := r.procs[k]
		err := localnet.Poll(bound, 50*time.Millisecond, func() bool {
			if !p.Running() {
				return true
			}
			st, err := r.clients[k].Status(bound)
			if err == nil {
				r.chainID = st.ChainID
			}
			return err == nil
		})
		if !p.Running() {
			return fmt.Errorf("node%d exited while starting (%v); see %s", k, p.Err(), r.logs[k].Name())
		}
		if err != nil {
			return fmt.Errorf("node%d did not answer within %s: %w", k, r.cfg.Converge, err)
		}
	}
	r.printf("netsim: %d nodes answer at %.1fs\n", len(homes), time.Since(r.began).Seconds())
	return nil
}

// exited records a node process's end unless the harness was stopping it.
func (r *runner) exited(k int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping && err == nil {
		return
	}
	how := fmt.Sprintf("node%d exited at %.1fs", k, time.Since(r.began).Seconds())
	if err != nil {
		how += ": " + err.Error()
	}
	r.exits = append(r.exits, how)
}

// call makes one bounded request to node k; an error names the node and what was asked.
func (r *runner) call(ctx context.Context, k int, what string, do func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := do(c); err != nil {
		return fmt.Errorf("node%d %s: %w", k, what, err)
	}
	return nil
}

// eachNode runs f for every node, at most par at a time, and joins the errors.
func (r *runner) eachNode(par int, f func(k int) error) error {
	errs := make([]error, len(r.homes))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for k := range r.homes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[k] = f(k)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// setLatencies gives every directed link its one-way delay through the sending node's link filter
// (POST /v1/debug/links), in both link modes: the namespaces carry no per-link qdiscs (they would
// cost about 3 tc commands per directed link, 12,000 at 64 nodes, and this kernel has no netem).
func (r *runner) setLatencies(ctx context.Context) error {
	began := time.Now()
	err := r.eachNode(8, func(a int) error {
		for b := range r.homes {
			d := r.plan.LatencyMs[a][b]
			if a == b || d == 0 {
				continue
			}
			f := api.LinkFilter{Peer: r.homes[b].NodeID, DelayMs: d}
			var err error
			for try := 0; try < linkTries; try++ { // idempotent; a loaded machine times a call out
				if err = r.call(ctx, a, "POST /v1/debug/links", func(c context.Context) error {
					_, err := r.clients[a].DebugSetLink(c, f)
					return err
				}); err == nil || ctx.Err() != nil {
					break
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	r.printf("netsim: %d link delays set in %.1fs\n", len(r.homes)*(len(r.homes)-1), time.Since(began).Seconds())
	return err
}

// peersOf reads node k's connections and address book.
func (r *runner) peersOf(ctx context.Context, k int) (api.PeersInfo, error) {
	var pi api.PeersInfo
	err := r.call(ctx, k, "GET /v1/peers", func(c context.Context) error {
		var err error
		pi, err = r.clients[k].Peers(c)
		return err
	})
	return pi, err
}

// settle waits, up to Warmup, until every node has a peer and the number of connections has
// not changed for settleQuiet.
func (r *runner) settle(ctx context.Context) {
	bound, cancel := context.WithTimeout(ctx, r.cfg.Warmup)
	defer cancel()
	last, since := -1, time.Now()
	_ = localnet.Poll(bound, time.Second, func() bool {
		total, lonely := 0, 0
		for k := range r.homes {
			pi, err := r.peersOf(bound, k)
			if err != nil || len(pi.Connected) == 0 {
				lonely++
			}
			total += len(pi.Connected)
		}
		if total != last || lonely > 0 {
			last, since = total, time.Now()
		}
		return lonely == 0 && time.Since(since) >= settleQuiet
	})
	r.printf("netsim: connections settled at %.1fs (%d connection ends)\n", time.Since(r.began).Seconds(), last)
}

// sampleAddrs reads every node's address book and slots every AddrSampleEvery until ctx ends.
func (r *runner) sampleAddrs(ctx context.Context) {
	for {
		s := AddrSample{AtS: time.Since(r.began).Seconds()}
		for k := range r.homes {
			pi, err := r.peersOf(ctx, k)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.Unanswered++
				continue
			}
			s.Known = append(s.Known, float64(len(pi.Known)))
			out := 0
			for _, c := range pi.Connected {
				if c.Direction == "outbound" {
					out++
				}
			}
			s.Outbound = append(s.Outbound, float64(out))
			s.Inbound = append(s.Inbound, float64(len(pi.Connected)-out))
		}
		r.mu.Lock()
		r.addr = append(r.addr, s)
		r.mu.Unlock()
		if !localnet.SleepCtx(ctx, r.cfg.AddrSampleEvery) {
			return
		}
	}
}

// setMining turns mining on or off on the given nodes.
func (r *runner) setMining(ctx context.Context, nodes []int, on bool) error {
	var errs []error
	for _, k := range nodes {
		errs = append(errs, r.call(ctx, k, "POST /v1/mining", func(c context.Context) error {
			_, err := r.clients[k].SetMining(c, on)
			return err
		}))
	}
	return errors.Join(errs...)
}

// account is a sender of transfers (localnet.Account).
type account = localnet.Account

// submit sends tx to node k, then to the following nodes, until one acknowledges it or knows it
// (duplicate, nonce used); false when ctx ends first.
func (r *runner) submit(ctx context.Context, tx api.Tx, k int) (acked bool, ok bool) {
	for try := 0; ; try++ {
		n := (k + try) % len(r.homes)
		err := r.call(ctx, n, "POST /v1/txs", func(c context.Context) error {
			_, err := r.clients[n].SubmitTx(c, tx)
			return err
		})
		if err == nil {
			return true, true
		}
		var ae *api.APIError
		if errors.As(err, &ae) && (ae.Code == errcode.Duplicate || ae.Code == errcode.BadNonce) {
			return false, true
		}
		if !localnet.SleepCtx(ctx, 100*time.Millisecond) {
			return false, false
		}
	}
}

// fund sends every sender its funds from the genesis wallets and waits until every node sees
// every sender funded.
func (r *runner) fund(ctx context.Context) ([]*account, error) {
	bound, cancel := context.WithTimeout(ctx, r.cfg.Converge+time.Duration(r.cfg.Senders)*r.cfg.BlockTime)
	defer cancel()
	senders := make([]*account, r.cfg.Senders)
	wallets := map[int]*account{}
	for i := range senders {
		senders[i] = localnet.NewAccount(localnet.SenderKey("netsim", r.cfg.Seed, i))
		k := i % len(r.homes)
		if wallets[k] == nil {
			key, err := chainstate.LoadSigningKey(r.homes[k].WalletKey)
			if err != nil {
				return nil, err
			}
			wallets[k] = localnet.NewAccount(key)
		}
		w := wallets[k]
		if _, ok := r.submit(bound, signed(w.Sign(r.chainID, senders[i].From.Address(), senderFunds, 1)), k); !ok {
			return nil, fmt.Errorf("funding sender %d: %w", i, bound.Err())
		}
		w.Nonce++
	}
	for _, s := range senders {
		for k := range r.homes {
			err := localnet.Poll(bound, 250*time.Millisecond, func() bool {
				c, cancel := context.WithTimeout(bound, callTimeout)
				defer cancel()
				a, err := r.clients[k].Account(c, s.From.Address().String())
				return err == nil && a.Balance >= senderFunds
			})
			if err != nil {
				pi, _ := r.peersOf(ctx, k)
				return nil, fmt.Errorf("sender %s not funded on node%d in time (node%d has %d connections)", s.From.Address(), k, k, len(pi.Connected))
			}
		}
	}
	r.printf("netsim: %d senders funded at %.1fs\n", len(senders), time.Since(r.began).Seconds())
	return senders, nil
}

// heights reads every node's height (0 for a node that does not answer) and the highest.
func (r *runner) heights(ctx context.Context) ([]uint64, uint64) {
	hs := make([]uint64, len(r.homes))
	var top uint64
	for k := range r.homes {
		c, cancel := context.WithTimeout(ctx, callTimeout)
		if st, err := r.clients[k].Status(c); err == nil {
			hs[k] = st.Height
			top = max(top, st.Height)
		}
		cancel()
	}
	return hs, top
}

// scrapeMiners sums the miners' histograms of one family.
func (r *runner) scrapeMiners(ctx context.Context, family string) (Histogram, error) {
	sum := Histogram{}
	for _, k := range r.plan.Miners() {
		err := r.metrics(ctx, k, func(body io.Reader) error {
			h, err := ParseHistogram(body, family)
			sum.Add(h)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// metrics reads node k's /metrics with read.
func (r *runner) metrics(ctx context.Context, k int, read func(io.Reader) error) error {
	return r.call(ctx, k, "GET /metrics", func(c context.Context) error {
		req, err := http.NewRequestWithContext(c, http.MethodGet, r.homes[k].API+"/metrics", nil)
		if err != nil {
			return err
		}
		resp, err := r.hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return read(resp.Body)
	})
}

// scrapeBytes sums the sent byte and message counters of every node by message type.
func (r *runner) scrapeBytes(ctx context.Context) (map[string]float64, map[string]float64, error) {
	sum, msgs := map[string]float64{}, map[string]float64{}
	for k := range r.homes {
		err := r.metrics(ctx, k, func(body io.Reader) error {
			by, ms, err := ParseSent(body)
			for m, v := range by {
				sum[m] += v
			}
			for m, v := range ms {
				msgs[m] += v
			}
			return err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return sum, msgs, nil
}

// load runs the senders and the transfer sampler from the current height until the main chain
// has grown by Blocks, and records the window and its traffic.
func (r *runner) load(ctx context.Context, rep *Report, senders []*account) error {
	_, h0 := r.heights(ctx)
	before, beforeMsgs, err := r.scrapeBytes(ctx)
	if err != nil {
		return err
	}
	rep.FromHeight, rep.windowStart = h0+1, time.Now()
	sched0 := readSchedTimes(r.pids())
	r.printf("netsim: load from height %d until %d\n", h0, h0+uint64(r.cfg.Blocks))
	loadCtx, stop := context.WithCancel(ctx)
	var lwg sync.WaitGroup
	for i, s := range senders {
		lwg.Add(1)
		go func() { defer lwg.Done(); r.send(loadCtx, i, s, senders[(i+1)%len(senders)]) }()
	}
	lwg.Add(1)
	go func() { defer lwg.Done(); r.sampleTxs(loadCtx) }()
	bound := time.Duration(r.cfg.Blocks)*r.cfg.BlockTime*8 + 2*time.Minute
	wctx, wcancel := context.WithTimeout(ctx, bound)
	err = localnet.Poll(wctx, 500*time.Millisecond, func() bool {
		c, cancel := context.WithTimeout(wctx, callTimeout)
		defer cancel()
		st, err := r.clients[0].Status(c)
		return err == nil && st.Height >= h0+uint64(r.cfg.Blocks)
	})
	wcancel()
	stop()
	lwg.Wait()
	rep.windowEnd = time.Now()
	rep.Contention = contention(sched0, readSchedTimes(r.pids()), rep.windowEnd.Sub(rep.windowStart).Seconds(), r.plan.Miners())
	if err != nil {
		return fmt.Errorf("node0 did not reach height %d within %s: %w", h0+uint64(r.cfg.Blocks), bound, err)
	}
	_, rep.ToHeight = r.heights(ctx)
	after, afterMsgs, err := r.scrapeBytes(ctx)
	if err != nil {
		return err
	}
	for m, v := range after {
		after[m] = v - before[m]
	}
	for m, v := range afterMsgs {
		afterMsgs[m] = v - beforeMsgs[m]
	}
	rep.bytes, rep.msgs = after, afterMsgs
	return nil
}

// send is one sender's loop: a transfer every TxInterval to the next sender until ctx ends.
func (r *runner) send(ctx context.Context, i int, s, to *account) {
	tick := time.NewTicker(r.cfg.TxInterval)
	defer tick.Stop()
	target := i
	for {
		tx := signed(s.Sign(r.chainID, to.From.Address(), 1, 1))
		acked, ok := r.submit(ctx, tx, target%len(r.homes))
		if !ok {
			return
		}
		s.Nonce++
		target++
		if acked {
			r.mu.Lock()
			r.acks = append(r.acks, ack{hash: tx.Hash, at: time.Now()})
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sampleTxs follows the latest acknowledged transfer to every node every TxSampleEvery.
func (r *runner) sampleTxs(ctx context.Context) {
	last := ""
	for localnet.SleepCtx(ctx, r.cfg.TxSampleEvery) {
		r.mu.Lock()
		var a ack
		if len(r.acks) > 0 {
			a = r.acks[len(r.acks)-1]
		}
		r.mu.Unlock()
		if a.hash == "" || a.hash == last {
			continue
		}
		last = a.hash
		s := r.probe(ctx, a)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		r.samples = append(r.samples, s)
		r.mu.Unlock()
	}
}

// probe polls every node for transfer a until it knows it (pending or confirmed) or probeBound.
func (r *runner) probe(ctx context.Context, a ack) TxSample {
	s := TxSample{Hash: a.hash, Ack: a.at, Known: make([]float64, len(r.homes))}
	bound, cancel := context.WithTimeout(ctx, probeBound)
	defer cancel()
	var wg sync.WaitGroup
	for k := range r.homes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Known[k] = -1
			_ = localnet.Poll(bound, probeEvery, func() bool {
				c, cancel := context.WithTimeout(bound, callTimeout)
				defer cancel()
				if _, err := r.clients[k].Tx(c, a.hash); err == nil {
					s.Known[k] = float64(time.Since(a.at)) / float64(time.Millisecond)
					return true
				}
				return false
			})
		}()
	}
	wg.Wait()
	return s
}

// finish keeps mining until every node confirms every acknowledged transfer, stops the miners
// and waits until every node is on one tip; then it reads the main chain.
func (r *runner) finish(ctx context.Context, rep *Report) error {
	r.mu.Lock()
	acks := append([]ack{}, r.acks...)
	r.mu.Unlock()
	bound, cancel := context.WithTimeout(ctx, r.cfg.Converge)
	defer cancel()
	r.awaitConfirmed(bound, acks)
	if err := r.setMining(ctx, r.plan.Miners(), false); err != nil {
		return err
	}
	if h, err := r.scrapeMiners(ctx, "actorchain_miner_tip_switch_seconds"); err == nil {
		rep.TipSwitch = tipSwitch(h)
	} else {
		r.printf("netsim: miners' tip switch histogram: %v\n", err)
	}
	if h, err := r.scrapeMiners(ctx, "actorchain_miner_stale_stop_seconds"); err == nil {
		rep.StaleStop = tipSwitch(h)
	} else {
		r.printf("netsim: miners' stale stop histogram: %v\n", err)
	}
	tips := r.oneTip(bound, tieWait)
	if len(distinct(tips)) > 1 {
		rep.TieBroken = true
		if err := r.breakTie(ctx, bound); err != nil {
			return err
		}
		tips = r.oneTip(bound, r.cfg.Converge)
	}
	rep.Tips = distinct(tips)
	st, err := r.clients[0].Status(ctx)
	if err != nil {
		return fmt.Errorf("node0 status: %w", err)
	}
	rep.FinalHeight, rep.FinalTip = st.Height, st.TipHash
	main, txs, err := r.mainChain(ctx, st.Height)
	if err != nil {
		return err
	}
	rep.main = main
	rep.Transfers = Transfers{Acked: len(acks)}
	for _, a := range acks {
		switch n := txs[a.hash]; {
		case n == 1:
			rep.Transfers.MinedOnce++
		case n == 0:
			rep.Transfers.Missing++
		default:
			rep.Transfers.MoreThanOnce++
		}
	}
	return nil
}

// awaitConfirmed polls node0 until it confirms every acknowledged transfer, or bound ends.
func (r *runner) awaitConfirmed(bound context.Context, acks []ack) {
	left := map[string]bool{}
	for _, a := range acks {
		left[a.hash] = true
	}
	_ = localnet.Poll(bound, 500*time.Millisecond, func() bool {
		for h := range left {
			c, cancel := context.WithTimeout(bound, callTimeout)
			st, err := r.clients[0].Tx(c, h)
			cancel()
			if err == nil && st.Status == "confirmed" {
				delete(left, h)
			}
		}
		return len(left) == 0
	})
}

// breakTie ends a tie of equal work (two blocks of one height: with fixed difficulty it lasts
// until the next block): the first miner mines past the highest tip, then stops.
func (r *runner) breakTie(ctx, bound context.Context) error {
	m := r.plan.Miners()[0]
	_, top := r.heights(bound)
	if err := r.setMining(ctx, []int{m}, true); err != nil {
		return err
	}
	_ = localnet.Poll(bound, 100*time.Millisecond, func() bool {
		c, cancel := context.WithTimeout(bound, callTimeout)
		defer cancel()
		st, err := r.clients[m].Status(c)
		return err == nil && st.Height > top
	})
	return r.setMining(ctx, []int{m}, false)
}

// tieWait bounds the wait for one tip before a tie is broken.
const tieWait = 10 * time.Second

// oneTip polls every node's tip until all agree or wait passes; it returns the tips last read.
func (r *runner) oneTip(ctx context.Context, wait time.Duration) []string {
	bound, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tips := make([]string, len(r.homes))
	_ = localnet.Poll(bound, 100*time.Millisecond, func() bool {
		for k := range r.homes {
			c, cancel := context.WithTimeout(ctx, callTimeout)
			st, err := r.clients[k].Status(c)
			cancel()
			tips[k] = ""
			if err == nil {
				tips[k] = st.TipHash
			}
		}
		return len(distinct(tips)) == 1 && tips[0] != ""
	})
	return tips
}

// mainChain reads node0's main chain: hash → height, and how often each transaction occurs.
func (r *runner) mainChain(ctx context.Context, height uint64) (map[string]uint64, map[string]int, error) {
	main, txs := map[string]uint64{}, map[string]int{}
	for h := uint64(1); h <= height; h++ {
		var b api.Block
		err := r.call(ctx, 0, "GET /v1/blocks/"+strconv.FormatUint(h, 10), func(c context.Context) error {
			var err error
			b, err = r.clients[0].Block(c, strconv.FormatUint(h, 10))
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		main[b.Hash] = h
		for _, t := range b.Txs {
			txs[t.Hash]++
		}
	}
	return main, txs, nil
}

// idleCost measures every node's RSS and CPU over Idle while nothing mines or sends.
func (r *runner) idleCost(ctx context.Context, rep *Report) error {
	if r.cfg.Idle <= 0 {
		return nil
	}
	pids := r.pids()
	t0, before, sw0 := time.Now(), readCPU(pids), readSwitches(pids)
	if !localnet.SleepCtx(ctx, r.cfg.Idle) {
		return ctx.Err()
	}
	took, after, sw1 := time.Since(t0), readCPU(pids), readSwitches(pids)
	var cpu, rss, sw []float64
	for k, pid := range pids {
		if before[k] < 0 || after[k] < 0 {
			continue
		}
		cpu = append(cpu, 100*(after[k]-before[k])/took.Seconds())
		if sw0[k] >= 0 && sw1[k] >= 0 {
			sw = append(sw, (sw1[k]-sw0[k])/took.Seconds())
		}
		if m, err := readRSS(pid); err == nil {
			rss = append(rss, m)
		}
	}
	rep.Idle = IdleCost{Seconds: took.Seconds(), CPUPercent: Summarize(cpu), RSSMiB: Summarize(rss), SwitchesPerS: Summarize(sw)}
	r.printf("netsim: idle over %.0fs: CPU per node p50 %.2f%% max %.2f%%, RSS p50 %.1f MiB max %.1f MiB, context switches p50 %.0f/s\n",
		took.Seconds(), rep.Idle.CPUPercent.P50, rep.Idle.CPUPercent.Max, rep.Idle.RSSMiB.P50, rep.Idle.RSSMiB.Max, rep.Idle.SwitchesPerS.P50)
	return nil
}

// pids are the node processes' ids (0 for one not started).
func (r *runner) pids() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	pids := make([]int, len(r.procs))
	for k, p := range r.procs {
		if p != nil {
			pids[k] = p.Cmd.Process.Pid
		}
	}
	return pids
}

// stopAll stops every node with SIGTERM, each within stopBound (else SIGKILL, recorded).
func (r *runner) stopAll() {
	r.mu.Lock()
	r.stopping = true
	ps := append([]*localnet.Proc{}, r.procs...)
	r.mu.Unlock()
	for _, p := range ps {
		if p != nil {
			_ = p.Signal(syscall.SIGTERM)
		}
	}
	for k, p := range ps {
		if p != nil && !p.Wait(stopBound) {
			r.mu.Lock()
			r.exits = append(r.exits, fmt.Sprintf("node%d still running %s after SIGTERM", k, stopBound))
			r.mu.Unlock()
			p.Kill()
			<-p.Done()
		}
	}
}

// verifyAll runs `node verify` on every home.
func (r *runner) verifyAll(ctx context.Context, rep *Report) {
	rep.Verify = make([]localnet.Verified, len(r.homes))
	_ = r.eachNode(verifyWorker, func(k int) error {
		ok, h, problem := localnet.Verify(ctx, r.cfg.Exe, r.homes[k].Dir, r.env)
		rep.Verify[k] = localnet.Verified{Node: k, OK: ok, Height: h, Error: problem}
		return nil
	})
}

// figures reads the logs and computes the report's figures.
func (r *runner) figures(rep *Report) error {
	var conns []Connect
	for k, f := range r.logs {
		rf, err := os.Open(f.Name())
		if err != nil {
			return err
		}
		cs, err := ParseConnects(k, rf)
		_ = rf.Close()
		if err != nil {
			return err
		}
		conns = append(conns, cs...)
	}
	r.mu.Lock()
	rep.Exits = append([]string{}, r.exits...)
	samples := append([]TxSample{}, r.samples...)
	acks := len(r.acks)
	r.mu.Unlock()
	rep.compute(conns, samples, acks)
	return nil
}

// teardown kills every process still running, joins the watchers, closes the logs and removes
// the namespaces.
func (r *runner) teardown() error {
	r.mu.Lock()
	r.stopping = true
	ps := append([]*localnet.Proc{}, r.procs...)
	r.mu.Unlock()
	for _, p := range ps {
		if p != nil {
			p.Kill()
		}
	}
	r.wg.Wait()
	r.hc.Transport.(*http.Transport).CloseIdleConnections()
	for _, f := range r.logs {
		_ = f.Close()
	}
	return r.links.Close()
}

// signed is the transfer of Account.Sign (its hash is the tx's Hash field as well).
func signed(tx api.Tx, _ string) api.Tx { return tx }
