package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// Devnet defaults (CONTRACT §1).
const (
	defaultDevnetNodes    = 3
	defaultDevnetDir      = "devnet"
	defaultDevnetBasePort = 7600
	maxDevnetNodes        = 64
)

// devnetNodeKeys are the per-node keys a devnet writes into each node.yaml; an ACTORCHAIN_*
// variable for one of them would give every node the same value, so devnet refuses it.
var devnetNodeKeys = []string{
	"p2p.listen", "p2p.external_addr", "p2p.seeds", "api.listen", "storage.path", "node.key_file", "mining.key_file",
}

// devnetOptions are the flags of `node devnet`.
type devnetOptions struct {
	dir      string
	nodes    int
	basePort int
	powBits  int
	powSet   bool // --pow-bits was given
	initOnly bool
	json     bool
	// hosts[k], when set, is node k's listen host instead of 127.0.0.1 (node chaos: its network
	// namespace's address); faultInjection turns debug.fault_injection on in every node.yaml.
	hosts          []string
	faultInjection bool
	// supervision, when set, is every node's restart budget (node chaos: a crash loop gives up
	// within its fault).
	supervision *config.Supervision
	// fixedDifficulty keeps a new chain at the fixed difficulty of pow_bits (node chaos and node
	// netsim choose their own); else it adjusts towards 1 s blocks (CONTRACT §10).
	fixedDifficulty bool
	// targetBlockTime and halfLife, when set, replace the new chain's 1 s and 5 m (node netsim).
	targetBlockTime, halfLife time.Duration
}

// devnetNode is one row of the devnet table.
type devnetNode struct {
	Node          int    `json:"node"`
	Home          string `json:"home"`
	NodeID        string `json:"node_id"`
	P2P           string `json:"p2p"`
	API           string `json:"api"`
	WalletKey     string `json:"wallet_key"`
	WalletAddress string `json:"wallet_address"`
}

// devnet is a set of node homes under one directory sharing one chain.
type devnet struct {
	Dir         string       `json:"dir"`
	ChainID     string       `json:"chain_id"`
	GenesisHash string       `json:"genesis_hash"`
	PowBits     int          `json:"pow_bits"`
	Reused      bool         `json:"reused"`
	Nodes       []devnetNode `json:"nodes"`
}

func newDevnetCmd(g *globals) *cobra.Command {
	o := &devnetOptions{}
	c := &cobra.Command{
		Use:   "devnet [--nodes N] [--dir DIR] [--base-port P] [--init-only]",
		Short: "Create N node homes sharing one chain, wired to each other as seeds, and run them all in this process",
		Long: `Create N node homes DIR/node0 ... DIR/node<N-1> sharing one chain, each listing every other
node as a seed, and run them all in this process until SIGINT/SIGTERM; then stop every node (the
highest index first, each in its own dependency order) and exit 0. A second signal exits 130.

Ports: node k listens for peers on 127.0.0.1:P+2k and serves its API on 127.0.0.1:P+2k+1.
Genesis funds every node's wallet key (keys/wallet.key) with 1,000,000,000,000 units; each node
mines with one worker (mining.workers: 1). A new chain adjusts its difficulty towards one block a
second (chain.target_block_time 1s, difficulty_halflife 5m) from a genesis difficulty measured by a
short hash-rate probe of all cores; --pow-bits sets that genesis difficulty instead. Once all nodes are up the table of nodes is printed on
stdout (text, or JSON with --json); logs go to stderr, every record tagged node=<k>.

--init-only writes the homes, prints the same table and exits, so that each node can run as its
own process with 'node run --home DIR/node<k>'. Running devnet again on the same DIR reuses the
homes when they are a devnet of the same shape (node count, base port); anything else in the
way is refused. Chain overrides (ACTORCHAIN_CHAIN_*) apply to every node alike; variables for
per-node keys (ports, seeds, paths) are refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.powSet = cmd.Flags().Changed("pow-bits")
			d, err := prepareDevnet(o)
			if err != nil {
				return err
			}
			if o.initOnly {
				return d.print(cmd.OutOrStdout(), o.json)
			}
			cfgs, err := d.configs()
			if err != nil {
				return err
			}
			if err := portsFree(cfgs); err != nil {
				return err
			}
			log, err := g.logger(cfgs[0], g.io.err)
			if err != nil {
				return err
			}
			sigs, unsubscribe := g.io.signals()
			defer unsubscribe()
			return g.runDevnet(d, cfgs, log, sigs, func() error { return d.print(cmd.OutOrStdout(), o.json) })
		},
	}
	f := c.Flags()
	f.IntVar(&o.nodes, "nodes", defaultDevnetNodes, "number of nodes")
	f.StringVar(&o.dir, "dir", defaultDevnetDir, "directory holding the node homes node0, node1, ...")
	f.IntVar(&o.basePort, "base-port", defaultDevnetBasePort, "node k listens on P+2k (p2p) and P+2k+1 (API)")
	f.IntVar(&o.powBits, "pow-bits", config.Default().Chain.PowBits, "chain.pow_bits of a new devnet's chain: its genesis difficulty (lower mines faster); default: measured")
	f.BoolVar(&o.initOnly, "init-only", false, "write the homes, print the table and exit")
	f.BoolVar(&o.json, "json", false, "print the table as JSON")
	return c
}

// nodeHome is the home of node k.
func (o *devnetOptions) nodeHome(dir string, k int) string {
	return filepath.Join(dir, "node"+strconv.Itoa(k))
}

func (o *devnetOptions) p2pAddr(k int) string {
	return net.JoinHostPort(o.host(k), strconv.Itoa(o.basePort+2*k))
}

func (o *devnetOptions) apiAddr(k int) string {
	return net.JoinHostPort(o.host(k), strconv.Itoa(o.basePort+2*k+1))
}

func (o *devnetOptions) host(k int) string {
	if k < len(o.hosts) {
		return o.hosts[k]
	}
	return "127.0.0.1"
}

// validate checks the flags and the environment (usage errors, exit 2).
func (o *devnetOptions) validate() error {
	if o.nodes < 1 || o.nodes > maxDevnetNodes {
		return usagef("devnet: --nodes must be in 1..%d, got %d", maxDevnetNodes, o.nodes)
	}
	if last := o.basePort + 2*o.nodes - 1; o.basePort < 1 || last > 65535 {
		return usagef("devnet: --base-port %d: the ports %d..%d must lie in 1..65535", o.basePort, o.basePort, last)
	}
	if o.powSet && (o.powBits < 0 || o.powBits > 64) {
		return usagef("devnet: --pow-bits must be in 0..64, got %d", o.powBits)
	}
	if o.dir == "" {
		return usagef("devnet: --dir must not be empty")
	}
	for _, k := range devnetNodeKeys {
		if env := config.EnvName(k); os.Getenv(env) != "" {
			return usagef("devnet: %s is set, but every devnet node needs its own %s (the devnet writes it into each node.yaml; ports come from --base-port): unset it", env, k)
		}
	}
	return nil
}

// prepareDevnet creates the homes, or reuses them when DIR already holds a devnet of this shape.
func prepareDevnet(o *devnetOptions) (*devnet, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return nil, err
	}
	present := 0
	for k := 0; k < o.nodes; k++ {
		if _, err := os.Stat(filepath.Join(o.nodeHome(dir, k), config.FileName)); err == nil {
			present++
		}
	}
	switch present {
	case 0:
		return createDevnet(o, dir)
	case o.nodes:
		d, err := loadDevnet(o, dir)
		if err != nil {
			return nil, fmt.Errorf("devnet: %s is not a devnet of %d nodes on base port %d (%v): remove it or choose another --dir", dir, o.nodes, o.basePort, err)
		}
		d.Reused = true
		return d, nil
	default:
		return nil, fmt.Errorf("devnet: %s holds %d of the %d node homes (node0..node%d): remove it or choose another --dir", dir, present, o.nodes, o.nodes-1)
	}
}

// createDevnet makes the homes: node0 as a fresh devnet, the others joining its chain the way
// `node init --chain node0/node.yaml` does; then genesis funds every wallet, and each node gets
// its ports and every other node as a seed. On failure the homes it made are removed again.
func createDevnet(o *devnetOptions, dir string) (d *devnet, err error) {
	var made []string
	_, statErr := os.Stat(dir)
	dirIsNew := errors.Is(statErr, os.ErrNotExist)
	defer func() {
		if err != nil {
			for _, h := range made {
				_ = os.RemoveAll(h)
			}
			if dirIsNew {
				_ = os.Remove(dir) // fails, as it should, if anything else is in it by now
			}
		}
	}()
	if err := o.checkNoStrayHomes(dir); err != nil {
		return nil, err
	}
	homes, res, err := o.initHomes(dir, &made)
	if err != nil {
		return nil, err
	}
	if err := o.configureHomes(homes, res); err != nil {
		return nil, err
	}
	return loadDevnet(o, dir)
}

// checkNoStrayHomes refuses a directory where a node home exists, not empty, without a config
// file.
func (o *devnetOptions) checkNoStrayHomes(dir string) error {
	for k := 0; k < o.nodes; k++ {
		home := o.nodeHome(dir, k)
		if entries, err := os.ReadDir(home); err == nil && len(entries) > 0 {
			return fmt.Errorf("devnet: %s exists and is not empty but has no %s: remove it or choose another --dir", home, config.FileName)
		}
	}
	return nil
}

// initHomes initialises the node homes under dir, node0 as a fresh devnet and the others on
// node0's chain, adding each home to made before it is initialised.
func (o *devnetOptions) initHomes(dir string, made *[]string) ([]string, []*actors.InitResult, error) {
	homes := make([]string, o.nodes)
	res := make([]*actors.InitResult, o.nodes)
	for k := range homes {
		homes[k] = o.nodeHome(dir, k)
		chainFile := ""
		if k > 0 {
			chainFile = filepath.Join(homes[0], config.FileName)
		}
		*made = append(*made, homes[k])
		var err error
		if res[k], err = actors.InitHomeChain(homes[k], filepath.Join(homes[k], config.FileName), chainFile, false, o.freshChain()); err != nil {
			return nil, nil, fmt.Errorf("devnet: init %s: %w", homes[k], err)
		}
	}
	return homes, res, nil
}

// freshChain is how a new devnet's chain is set up: nil (the defaults: fixed difficulty) with
// fixedDifficulty, else difficulty adjustment from --pow-bits or a measured genesis difficulty.
func (o *devnetOptions) freshChain() func(*config.Chain) {
	if o.fixedDifficulty {
		return nil
	}
	bits := -1
	if o.powSet {
		bits = o.powBits
	}
	adjust := adjustingChain(bits)
	if o.targetBlockTime <= 0 {
		return adjust
	}
	return func(c *config.Chain) {
		adjust(c)
		c.TargetBlockTime, c.DifficultyHalfLife = o.targetBlockTime, o.halfLife
	}
}

// configureHomes rewrites each home's config for the devnet (devnetConfig), node0 first: its
// chain section, as written, is the one the others copy.
func (o *devnetOptions) configureHomes(homes []string, res []*actors.InitResult) error {
	seeds := make([]string, o.nodes)
	for k := range seeds {
		seeds[k] = res[k].NodeID + "@" + o.p2pAddr(k)
	}
	var chain config.Chain
	for k, home := range homes {
		file := filepath.Join(home, config.FileName)
		cfg, err := config.Load(home, file, nil)
		if err != nil {
			return fmt.Errorf("devnet: %w", err)
		}
		o.devnetConfig(cfg, k, res, seeds, chain)
		if err := writeHomeConfig(file, cfg); err != nil {
			return fmt.Errorf("devnet: %w", err)
		}
		if k == 0 {
			if chain, err = config.LoadChain(file); err != nil {
				return fmt.Errorf("devnet: %w", err)
			}
		}
	}
	return nil
}

// devnetConfig sets node k's config: node0's chain funds every wallet of res (and takes
// --pow-bits), the others take node0's chain; each node listens on its ports and is seeded with
// every other node of seeds.
func (o *devnetOptions) devnetConfig(cfg *config.Config, k int, res []*actors.InitResult, seeds []string, chain config.Chain) {
	if k == 0 {
		cfg.Chain.Alloc = map[string]uint64{}
		for _, r := range res {
			cfg.Chain.Alloc[r.WalletAddress] = actors.DevnetFunds
		}
		if o.powSet {
			cfg.Chain.PowBits = o.powBits
		}
	} else {
		cfg.Chain = chain
	}
	cfg.P2P.Listen = o.p2pAddr(k)
	cfg.P2P.Seeds = others(seeds, k)
	cfg.API.Listen = o.apiAddr(k)
	cfg.Mining.Workers = 1
	cfg.Debug.FaultInjection = o.faultInjection
	if o.supervision != nil {
		cfg.Supervision = *o.supervision
	}
}

// others is seeds without element k.
func others(seeds []string, k int) []string {
	out := slices.Clone(seeds[:k])
	return append(out, seeds[k+1:]...)
}

// writeHomeConfig writes a config loaded from HOME back, with the paths inside HOME relative
// again (so the devnet directory can be moved).
func writeHomeConfig(file string, cfg *config.Config) error {
	for _, p := range []*string{&cfg.Node.KeyFile, &cfg.Storage.Path, &cfg.Mining.KeyFile} {
		if rel, err := filepath.Rel(cfg.Home, *p); err == nil && filepath.IsLocal(rel) {
			*p = filepath.ToSlash(rel)
		}
	}
	return config.Write(file, cfg)
}

// loadDevnet reads the homes of a devnet and checks its shape: node k on its ports, seeded with
// every other node, all on one chain (each node.yaml as written, without the environment).
func loadDevnet(o *devnetOptions, dir string) (*devnet, error) {
	if _, err := os.Stat(filepath.Join(o.nodeHome(dir, o.nodes), config.FileName)); err == nil {
		return nil, fmt.Errorf("%s exists: there are more than %d nodes", o.nodeHome(dir, o.nodes), o.nodes)
	}
	d := &devnet{Dir: dir}
	seeds := make([]string, o.nodes)
	seeded := make([][]string, o.nodes)
	for k := 0; k < o.nodes; k++ {
		home := o.nodeHome(dir, k)
		cfg, err := config.Load(home, filepath.Join(home, config.FileName), nil)
		if err != nil {
			return nil, err
		}
		if cfg.P2P.Listen != o.p2pAddr(k) || cfg.API.Listen != o.apiAddr(k) {
			return nil, fmt.Errorf("node%d listens on p2p %q and API %q, want %q and %q", k, cfg.P2P.Listen, cfg.API.Listen, o.p2pAddr(k), o.apiAddr(k))
		}
		if o.powSet && cfg.Chain.PowBits != o.powBits {
			return nil, fmt.Errorf("node%d's chain has pow_bits %d, not --pow-bits %d", k, cfg.Chain.PowBits, o.powBits)
		}
		params, err := actors.ParamsFromConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("node%d: %w", k, err)
		}
		genesis := params.GenesisHash().String()
		if k == 0 {
			d.ChainID, d.GenesisHash, d.PowBits = cfg.Chain.ID, genesis, cfg.Chain.PowBits
		} else if genesis != d.GenesisHash {
			return nil, fmt.Errorf("node%d is on genesis %s, node0 on %s", k, genesis, d.GenesisHash)
		}
		nodeID, _, _, err := chainstate.KeyInfo(cfg.Node.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("node%d: %w", k, err)
		}
		walletKey := filepath.Join(home, "keys", "wallet.key")
		wallet := ""
		if _, addr, _, err := chainstate.KeyInfo(walletKey); err == nil {
			wallet = addr
		}
		seeds[k] = nodeID + "@" + o.p2pAddr(k)
		seeded[k] = cfg.P2P.Seeds
		d.Nodes = append(d.Nodes, devnetNode{
			Node: k, Home: home, NodeID: nodeID, P2P: cfg.P2P.Listen, API: "http://" + cfg.API.Listen,
			WalletKey: walletKey, WalletAddress: wallet,
		})
	}
	for k := range seeded {
		got, want := slices.Sorted(slices.Values(seeded[k])), slices.Sorted(slices.Values(others(seeds, k)))
		if !slices.Equal(got, want) {
			return nil, fmt.Errorf("node%d's p2p.seeds are %v, want every other node: %v", k, got, want)
		}
	}
	return d, nil
}

// configs loads every node's effective configuration (file plus environment) and checks that
// they still share one genesis.
func (d *devnet) configs() ([]*config.Config, error) {
	cfgs := make([]*config.Config, len(d.Nodes))
	genesis := ""
	for k, n := range d.Nodes {
		cfg, err := config.Load(n.Home, filepath.Join(n.Home, config.FileName), os.Environ())
		if err != nil {
			return nil, err
		}
		params, err := actors.ParamsFromConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("node%d: %w", k, err)
		}
		if g := params.GenesisHash().String(); k == 0 {
			genesis = g
			d.GenesisHash, d.PowBits = g, cfg.Chain.PowBits
		} else if g != genesis {
			return nil, fmt.Errorf("devnet: node%d is on genesis %s, node0 on %s", k, g, genesis)
		}
		cfgs[k] = cfg
	}
	return cfgs, nil
}

// portsFree checks that every node's listen addresses can be bound, so that a port taken by
// another program fails the devnet before any node starts, naming the port (a node whose p2p
// port is taken would otherwise start, then stop itself once its peers actor gave up).
func portsFree(cfgs []*config.Config) error {
	for k, cfg := range cfgs {
		for _, a := range []struct{ key, addr string }{{"p2p.listen", cfg.P2P.Listen}, {"api.listen", cfg.API.Listen}} {
			if a.addr == "" {
				continue
			}
			l, err := net.Listen("tcp", a.addr)
			if err != nil {
				return fmt.Errorf("devnet: node%d's %s %s is not free (%v): stop what uses it or choose another --base-port (with another --dir)", k, a.key, a.addr, err)
			}
			_ = l.Close()
		}
	}
	return nil
}

// print writes the devnet table: text columns, or JSON.
func (d *devnet) print(w io.Writer, asJSON bool) error {
	if asJSON {
		return printJSON(w, d)
	}
	reused := ""
	if d.Reused {
		reused = " (existing homes)"
	}
	fmt.Fprintf(w, "devnet %s%s: %d nodes, chain %s, genesis %s, pow_bits %d\n", d.Dir, reused, len(d.Nodes), d.ChainID, d.GenesisHash, d.PowBits)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNODE ID\tP2P\tAPI\tWALLET KEY")
	for _, n := range d.Nodes {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n.Node, n.NodeID, n.P2P, n.API, n.WalletKey)
	}
	return tw.Flush()
}

// runDevnet starts every node in index order (one actor system each), calls ready once all are
// up, and waits for a stop signal (then stops the nodes in reverse index order and returns nil;
// a second signal returns exit 130) or for a node to stop by itself (the others are stopped and
// the error returned).
func (g *globals) runDevnet(d *devnet, cfgs []*config.Config, log *slog.Logger, sigs <-chan os.Signal, ready func() error) error {
	rn := &runningNodes{log: log}
	// A start failure or a signal while starting stops what runs already.
	for k, cfg := range cfgs {
		n, err := startNode(cfg, log.With("node", k))
		if err != nil {
			return errors.Join(fmt.Errorf("devnet: start node%d (%s): %w", k, cfg.Home, err), g.stopOrForce(sigs, rn.stopAll))
		}
		rn.nodes = append(rn.nodes, n)
		select {
		case s := <-sigs:
			log.Info("signal received while starting, stopping", "signal", s.String())
			return g.stopOrForce(sigs, rn.stopAll)
		default:
		}
	}
	log.Info("devnet running", "dir", d.Dir, "nodes", len(rn.nodes), "chain_id", d.ChainID, "genesis_hash", d.GenesisHash)
	if err := ready(); err != nil {
		return errors.Join(err, g.stopOrForce(sigs, rn.stopAll))
	}
	cause := rn.waitSignalOrStop(sigs)
	if err := g.stopOrForce(sigs, rn.stopAll); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return err
		}
		return errors.Join(cause, err)
	}
	if cause != nil {
		return cause
	}
	log.Info("devnet stopped")
	return nil
}

// runningNodes are the devnet's started nodes, in index order.
type runningNodes struct {
	nodes []*actors.Node
	log   *slog.Logger
}

// stopAll stops the nodes in reverse index order and joins their errors.
func (rn *runningNodes) stopAll(ctx context.Context) error {
	var errs []error
	for k := len(rn.nodes) - 1; k >= 0; k-- {
		rn.log.Info("devnet: stopping node", "node", k)
		if err := rn.nodes[k].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("node%d: %w", k, err))
		}
	}
	return errors.Join(errs...)
}

// waitSignalOrStop waits for a signal on sigs (it returns nil) or for a node to stop by itself
// (it returns why); one watcher per node reports the first, and all are joined before it
// returns.
func (rn *runningNodes) waitSignalOrStop(sigs <-chan os.Signal) error {
	died := make(chan int, len(rn.nodes))
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for k, n := range rn.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-n.Done():
				died <- k
			case <-quit:
			}
		}()
	}
	defer wg.Wait()
	defer close(quit)
	select {
	case s := <-sigs:
		rn.log.Info("signal received, stopping", "signal", s.String())
		return nil
	case k := <-died:
		rn.log.Error("a node stopped by itself; stopping the devnet", "node", k, "err", rn.nodes[k].Err())
		return fmt.Errorf("devnet: node%d stopped: %w", k, orStopped(rn.nodes[k].Err()))
	}
}

// orStopped is err, or a generic reason when a node stopped without one.
func orStopped(err error) error {
	if err == nil {
		return errors.New("stopped without a reason")
	}
	return err
}
