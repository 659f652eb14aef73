package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/localnet"
	"github.com/actorchain/actorchain/netsim"
)

// Netsim defaults (issue 11 §3: 64 nodes, 20 to 150 ms one way, a 5 s block time, 100 blocks).
const (
	defaultNetsimNodes    = 64
	defaultNetsimBasePort = 7800
	defaultNetsimBlocks   = 100
)

// netsimOptions are the flags of `node netsim`.
type netsimOptions struct {
	nodes, blocks, senders, basePort, powBits, maxOutbound int
	maxInbound, seedMaxInbound                             int
	seed                                                   int64
	miners, links, dir, jsonFile                           string
	blockTime, latMin, latMax, txInterval, txSample        time.Duration
	halfLife                                               time.Duration
	idle, warmup, addrEvery, converge                      time.Duration
	keep, lowPriority                                      bool
}

func newNetsimCmd(g *globals) *cobra.Command {
	o := &netsimOptions{}
	c := &cobra.Command{
		Use:   "netsim [--nodes N] [--blocks B] [--block-time T] [--miners W,W,...] [--links auto|netns|filter]",
		Short: "Run a network of N node processes with per-link latency and measure block and transfer propagation, stales, traffic and idle cost",
		Long: `Create N node homes on one chain (the devnet code), run each as its own 'node run' process
(in its own network namespace when running as root with ip and tc, else on loopback), and let
them find each other: every node lists only the 2 seed nodes in p2p.seeds and fills its
p2p.max_outbound slots from the addresses it learns. Each directed link gets a one-way delay
drawn from the seed between --latency-min and --latency-max, through the sending node's link
filter (POST /v1/debug/links) in both link modes. After the connections settle it measures
the idle cost (RSS and CPU of every node), turns on the miners (--miners lists their
mining.workers: their hash-rate shares; their hashing yields the cores
(mining.low_priority) unless --miners-low-priority=false, as if on hardware of their own), funds --senders accounts, and sends transfers until the
main chain has grown by --blocks. Then it stops the miners, checks that every node is on one tip
and every acknowledged transfer is mined exactly once, stops every node and runs 'node verify' on
every home.

It prints and writes as JSON (--json, default DIR/netsim.json) the figures: block propagation to
50%, 90% and 100% of nodes (p50/p95 over blocks, from every node's 'block connected' records),
the stale rate next to what propagation implies, transfer propagation to 90% of nodes (sampled),
bytes sent per node per block and per transfer (actorchain_p2p_bytes_total), the address books
and connection slots over time, the idle cost, the load's contention (each node's CPU and its
threads' run-queue wait per millisecond on a core, from /proc/PID/task/*/schedstat), and issue
11's goals met or not. Exit 0 when the
checks hold (one tip, transfers mined once, verify, no process died), 1 otherwise, 2 on bad usage.

The chain adjusts its difficulty towards --block-time (chain.target_block_time, with
--difficulty-halflife as chain.difficulty_halflife; CONTRACT §10) from a genesis difficulty that
--pow-bits 0 (the default) picks from a short hash-rate probe; --difficulty-halflife 0 keeps that
difficulty fixed instead. See docs/performance.md.
Ports: node k uses P+2k (p2p) and P+2k+1 (API). DIR defaults to a new temporary directory,
removed after a run whose checks held unless --keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return g.runNetsim(cmd, o) },
	}
	f := c.Flags()
	f.IntVar(&o.nodes, "nodes", defaultNetsimNodes, "number of node processes (3..64)")
	f.Int64Var(&o.seed, "seed", 1, "seed of the plan: latencies, which nodes mine, sender keys")
	f.IntVar(&o.blocks, "blocks", defaultNetsimBlocks, "run length: main-chain blocks mined under load")
	f.DurationVar(&o.blockTime, "block-time", 5*time.Second, "block interval aimed at (sets --pow-bits 0's choice)")
	f.StringVar(&o.miners, "miners", "2,1,1", "mining.workers of each miner, comma-separated (their hash-rate shares)")
	f.IntVar(&o.powBits, "pow-bits", 0, "chain.pow_bits, the genesis difficulty; 0: chosen from a hash-rate probe and --block-time")
	f.DurationVar(&o.halfLife, "difficulty-halflife", 2*time.Minute, "chain.difficulty_halflife of the adjusting chain; 0: fixed difficulty")
	f.DurationVar(&o.latMin, "latency-min", 20*time.Millisecond, "shortest one-way link delay")
	f.DurationVar(&o.latMax, "latency-max", 150*time.Millisecond, "longest one-way link delay")
	f.IntVar(&o.maxOutbound, "max-outbound", 8, "p2p.max_outbound of every node")
	f.IntVar(&o.maxInbound, "max-inbound", 32, "p2p.max_inbound of every node but the seeds")
	f.IntVar(&o.seedMaxInbound, "seed-max-inbound", 64, "p2p.max_inbound of the 2 seeds (a full seed refuses newcomers before they learn another address)")
	f.IntVar(&o.senders, "senders", 4, "accounts sending transfers")
	f.DurationVar(&o.txInterval, "tx-interval", time.Second, "time between two transfers of one sender")
	f.DurationVar(&o.txSample, "tx-sample-every", 3*time.Second, "how often the latest transfer is followed to every node")
	f.DurationVar(&o.idle, "idle", 10*time.Second, "how long the idle cost is measured (0: not)")
	f.DurationVar(&o.warmup, "warmup", time.Minute, "bound on the wait for the connections to settle")
	f.DurationVar(&o.addrEvery, "addr-sample-every", 30*time.Second, "how often every node's address book and slots are read")
	f.DurationVar(&o.converge, "converge", 2*time.Minute, "bound on each wait for the network (start, transfers confirmed, one tip)")
	f.StringVar(&o.links, "links", string(localnet.LinksAuto), "auto|netns|filter (the delay goes through the link filter in both)")
	f.StringVar(&o.dir, "dir", "", "directory for the homes and logs; must not exist or be empty (default: a new temporary directory)")
	f.IntVar(&o.basePort, "base-port", defaultNetsimBasePort, "node k listens on P+2k (p2p) and P+2k+1 (API)")
	f.StringVar(&o.jsonFile, "json", "", "write the report as JSON to this file (default DIR/netsim.json)")
	f.BoolVar(&o.keep, "keep", false, "keep DIR even when every check held")
	f.BoolVar(&o.lowPriority, "miners-low-priority", true, "the miners' hashing yields the cores (mining.low_priority): on one machine the hashing stands in for mining hardware of its own and takes mostly the CPU the nodes leave")
	return c
}

// minerWorkers parses --miners.
func (o *netsimOptions) minerWorkers() ([]int, error) {
	var out []int
	for _, s := range strings.Split(o.miners, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || w < 1 || w > 64 {
			return nil, usagef("netsim: --miners: want worker counts 1..64 separated by commas, got %q", o.miners)
		}
		out = append(out, w)
	}
	return out, nil
}

// validate checks the flags (usage errors, exit 2); each message names its flag.
func (o *netsimOptions) validate() error {
	switch {
	case o.nodes < netsim.NumSeeds+1 || o.nodes > maxDevnetNodes:
		return usagef("netsim: --nodes must be in %d..%d, got %d", netsim.NumSeeds+1, maxDevnetNodes, o.nodes)
	case o.blocks < 1:
		return usagef("netsim: --blocks must be >= 1, got %d", o.blocks)
	case o.blockTime <= 0:
		return usagef("netsim: --block-time must be > 0, got %s", o.blockTime)
	case o.halfLife < 0:
		return usagef("netsim: --difficulty-halflife must be >= 0, got %s", o.halfLife)
	case o.powBits < 0 || o.powBits > 64:
		return usagef("netsim: --pow-bits must be in 0..64, got %d", o.powBits)
	case o.latMin < 0 || o.latMax < o.latMin || o.latMax > time.Minute:
		return usagef("netsim: --latency-min %s and --latency-max %s: want 0 <= min <= max <= 1m", o.latMin, o.latMax)
	case o.maxOutbound < 1:
		return usagef("netsim: --max-outbound must be >= 1, got %d", o.maxOutbound)
	case o.maxInbound < 1 || o.seedMaxInbound < 1:
		return usagef("netsim: --max-inbound and --seed-max-inbound must be >= 1, got %d and %d", o.maxInbound, o.seedMaxInbound)
	case o.senders < 1:
		return usagef("netsim: --senders must be >= 1, got %d", o.senders)
	case o.txInterval <= 0 || o.txSample <= 0 || o.addrEvery <= 0:
		return usagef("netsim: --tx-interval, --tx-sample-every and --addr-sample-every must be > 0")
	case o.idle < 0 || o.warmup <= 0 || o.converge <= 0:
		return usagef("netsim: --idle must be >= 0, --warmup and --converge > 0")
	}
	ws, err := o.minerWorkers()
	if err != nil {
		return err
	}
	if len(ws) > o.nodes {
		return usagef("netsim: --miners lists %d miners for %d nodes", len(ws), o.nodes)
	}
	switch localnet.LinkMode(o.links) {
	case localnet.LinksAuto, localnet.LinksFilter:
	case localnet.LinksNetns:
		if err := localnet.NetnsAvailable(); err != nil {
			return usagef("netsim: --links netns cannot run here: %v", err)
		}
	default:
		return usagef("netsim: --links: want auto|netns|filter, got %q", o.links)
	}
	if last := o.basePort + 2*o.nodes - 1; o.basePort < 1 || last > 65535 {
		return usagef("netsim: --base-port %d: the ports %d..%d must lie in 1..65535", o.basePort, o.basePort, last)
	}
	if o.dir != "" {
		if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
			return usagef("netsim: --dir %s exists and is not empty: a run needs fresh homes", o.dir)
		}
	}
	return nil
}

// chosenPowBits is --pow-bits, or the choice of a hash-rate probe for the miners' workers, with why.
func (o *netsimOptions) chosenPowBits(miners []int) (int, string) {
	workers := 0
	for _, w := range miners {
		workers += w
	}
	if o.powBits > 0 {
		return o.powBits, "--pow-bits"
	}
	rate := netsim.ProbeHashRate(500 * time.Millisecond)
	cores := runtime.NumCPU()
	bits := netsim.PowBits(rate, workers, cores, o.blockTime)
	total := rate * float64(min(workers, cores))
	return bits, fmt.Sprintf("probe: %.2f MH/s a thread, %d workers on %d cores ~ %.2f MH/s; 2^%d hashes ~ %.2fs a block at that rate",
		rate/1e6, workers, cores, total/1e6, bits, float64(uint64(1)<<bits)/total)
}

func (g *globals) runNetsim(cmd *cobra.Command, o *netsimOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	workers, _ := o.minerWorkers()
	dev := &devnetOptions{nodes: o.nodes, basePort: o.basePort, faultInjection: true, powSet: true,
		fixedDifficulty: o.halfLife == 0, targetBlockTime: o.blockTime, halfLife: o.halfLife}
	if err := o.loopbackPortsFree(dev); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("netsim: cannot find this program to run the nodes: %w", err)
	}
	dir, temp, err := o.runDir()
	if err != nil {
		return err
	}
	dev.dir = dir
	bits, why := o.chosenPowBits(workers)
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sigs, unsubscribe := g.io.signals()
	defer unsubscribe()
	watch := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			fmt.Fprintf(g.io.err, "node: netsim: %s received: stopping every node and removing what the run made\n", s)
			cancel()
		case <-watch:
		}
	}()
	rep, err := netsim.Run(ctx, netsim.Config{
		Exe: exe, Dir: dir, Seed: o.seed, Links: localnet.LinkMode(o.links), Blocks: o.blocks, BlockTime: o.blockTime,
		PowBits: bits, PowWhy: why, HalfLife: o.halfLife, Senders: o.senders, TxInterval: o.txInterval, TxSampleEvery: o.txSample,
		Idle: o.idle, Warmup: o.warmup, AddrSampleEvery: o.addrEvery, Converge: o.converge, MaxOutbound: o.maxOutbound,
		MinersLowPriority: o.lowPriority,
		Plan:              netsim.PlanSettings{Nodes: o.nodes, MinerWorkers: workers, LatencyMin: o.latMin, LatencyMax: o.latMax},
		Out:               cmd.OutOrStdout(),
		MakeHomes: func(hosts []string, plan netsim.Plan, powBits int) ([]localnet.Home, error) {
			dev.hosts, dev.powBits = hosts, powBits
			return netsimHomes(dev, plan, o)
		},
	})
	close(watch)
	if rep == nil {
		return err
	}
	rep.Print(cmd.OutOrStdout())
	err = errors.Join(err, o.keepOrRemove(cmd, rep, dir, temp, err != nil))
	switch {
	case rep.Interrupted:
		return errors.New("netsim: interrupted; every node it started is stopped and its namespaces removed")
	case err != nil:
		return fmt.Errorf("netsim: %w", err)
	case !rep.OK:
		return errors.New("netsim: a check failed (see above)")
	}
	return nil
}

// loopbackPortsFree checks, when the nodes will listen on 127.0.0.1 (filter links), that their
// ports are free; in namespaces each node has its own address.
func (o *netsimOptions) loopbackPortsFree(dev *devnetOptions) error {
	if localnet.LinkMode(o.links) != localnet.LinksFilter &&
		(localnet.LinkMode(o.links) != localnet.LinksAuto || localnet.NetnsAvailable() == nil) {
		return nil
	}
	return devnetPortsFree("netsim", o.nodes, dev)
}

// runDir is --dir made absolute, or a new temporary directory (temp).
func (o *netsimOptions) runDir() (dir string, temp bool, err error) {
	return harnessDir(o.dir, fmt.Sprintf("actorchain-netsim-%d-", o.seed))
}

// keepOrRemove writes the JSON report and keeps DIR (asked, given, or the run failed) or removes
// it.
func (o *netsimOptions) keepOrRemove(cmd *cobra.Command, rep *netsim.Report, dir string, temp, failed bool) error {
	var err error
	keep := o.keep || !temp || failed || !rep.OK
	jsonFile := o.jsonFile
	if jsonFile == "" && keep {
		jsonFile = filepath.Join(dir, "netsim.json")
	}
	if jsonFile != "" {
		if err = rep.WriteJSON(jsonFile); err == nil {
			fmt.Fprintf(cmd.OutOrStdout(), "netsim: report written to %s\n", jsonFile)
		}
	}
	if keep {
		fmt.Fprintf(cmd.OutOrStdout(), "netsim: homes and logs (DIR/node<k>/netsim.log) kept in %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	return err
}

// netsimHomes makes the devnet homes and then gives each node the plan's seeds (not every other
// node), its mining.workers with mining off at start (the harness turns the miners on), unpaced
// mining, p2p.max_outbound and p2p.max_inbound (the seeds' own).
func netsimHomes(dev *devnetOptions, plan netsim.Plan, o *netsimOptions) ([]localnet.Home, error) {
	d, err := prepareDevnet(dev)
	if err != nil {
		return nil, err
	}
	homes := make([]localnet.Home, len(d.Nodes))
	for k, n := range d.Nodes {
		homes[k] = localnet.Home{Dir: n.Home, NodeID: n.NodeID, P2P: n.P2P, API: n.API, WalletKey: n.WalletKey}
	}
	for k, h := range homes {
		file := filepath.Join(h.Dir, config.FileName)
		cfg, err := config.Load(h.Dir, file, nil)
		if err != nil {
			return nil, err
		}
		cfg.P2P.Seeds = nil
		for _, s := range plan.SeedsOf(k) {
			cfg.P2P.Seeds = append(cfg.P2P.Seeds, homes[s].NodeID+"@"+homes[s].P2P)
		}
		cfg.P2P.MaxOutbound, cfg.P2P.MaxInbound = o.maxOutbound, o.maxInbound
		if slices.Contains(plan.Seeds, k) {
			cfg.P2P.MaxInbound = o.seedMaxInbound
		}
		cfg.Mining.Enabled = false
		cfg.Mining.Workers = max(plan.Workers[k], 1)
		cfg.Mining.MinBlockInterval = 0
		cfg.Mining.LowPriority = o.lowPriority
		if err := writeHomeConfig(file, cfg); err != nil {
			return nil, err
		}
	}
	return homes, nil
}
