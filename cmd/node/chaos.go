package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/chaos"
	"github.com/actorchain/actorchain/config"
)

// Chaos defaults.
const (
	defaultChaosBasePort = 7700
	defaultChaosPowBits  = 16
	defaultChaosSenders  = 4
	defaultChaosDuration = 60 * time.Second
)

// chaosOptions are the flags of `node chaos`.
type chaosOptions struct {
	nodes    int
	seed     int64
	duration time.Duration
	rounds   int
	dir      string
	basePort int
	senders  int
	interval time.Duration
	links    string
	jsonFile string
	powBits  int
	converge time.Duration
	keep     bool
}

func newChaosCmd(g *globals) *cobra.Command {
	o := &chaosOptions{}
	c := &cobra.Command{
		Use:   "chaos [--seed S] [--nodes N] [--duration D | --rounds R] [--links auto|netns|filter]",
		Short: "Run a local network of node processes under a seeded fault schedule and check that it heals and loses nothing",
		Long: `Create N node homes (the devnet code, debug.fault_injection on), run each as its own 'node run'
process, send transfers from several senders through the API and apply the fault schedule drawn
from --seed: kill -9 and restart, SIGSTOP/SIGCONT, actor crashes and kills, partitions, slow and
lossy links, failing storage commits and clock skew. Then heal everything and check the
invariants: one tip on every node, every transfer acknowledged with 202 confirmed exactly once,
'node verify' passes on every home, no node died but by the harness's hand, no lock error logged.

The transcript goes to stdout as it happens and as JSON to --json (default DIR/transcript.json).
Exit 0 when every invariant held, 1 when one failed or the run could not be carried out, 2 on
bad usage. The same seed and settings give the same schedule: replay a failure with its seed.

--links netns (the default 'auto' when running as root with ip and tc) puts each node in its own
network namespace on a bridge and makes link faults with tc; --links filter uses the nodes' own
link filter (/v1/debug/links). Ports: node k uses P+2k (p2p) and P+2k+1 (API). DIR defaults to
a new temporary directory, removed after a run whose invariants all held unless --keep.
See docs/chaos.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.runChaos(cmd, o)
		},
	}
	f := c.Flags()
	f.IntVar(&o.nodes, "nodes", defaultDevnetNodes, "number of node processes (at least 2)")
	f.Int64Var(&o.seed, "seed", 1, "seed of the fault schedule (the same seed gives the same schedule)")
	f.DurationVar(&o.duration, "duration", defaultChaosDuration, "length of the fault schedule")
	f.IntVar(&o.rounds, "rounds", 0, "number of faults instead of --duration")
	f.StringVar(&o.dir, "dir", "", "directory for the node homes and logs; must not exist or be empty (default: a new temporary directory)")
	f.IntVar(&o.basePort, "base-port", defaultChaosBasePort, "node k listens on P+2k (p2p) and P+2k+1 (API)")
	f.IntVar(&o.senders, "senders", defaultChaosSenders, "number of accounts sending transfers")
	f.DurationVar(&o.interval, "interval", 100*time.Millisecond, "time between two transfers of one sender")
	f.StringVar(&o.links, "links", string(chaos.LinksAuto), "how links are faulted: auto|netns|filter")
	f.StringVar(&o.jsonFile, "json", "", "write the transcript as JSON to this file (default DIR/transcript.json)")
	f.IntVar(&o.powBits, "pow-bits", defaultChaosPowBits, "chain.pow_bits of the network (lower mines faster)")
	f.DurationVar(&o.converge, "converge", 60*time.Second, "bound from the heal until every node confirms every acknowledged transfer and all agree on one tip")
	f.BoolVar(&o.keep, "keep", false, "keep DIR even when every invariant held")
	return c
}

// validate checks the flags (usage errors, exit 2); each message names its flag.
func (o *chaosOptions) validate(cmd *cobra.Command) error {
	durSet, roundsSet := cmd.Flags().Changed("duration"), cmd.Flags().Changed("rounds")
	switch {
	case o.nodes < 2 || o.nodes > maxDevnetNodes:
		return usagef("chaos: --nodes must be in 2..%d, got %d", maxDevnetNodes, o.nodes)
	case durSet && roundsSet:
		return usagef("chaos: give --duration or --rounds, not both")
	case roundsSet && o.rounds < 1:
		return usagef("chaos: --rounds must be >= 1, got %d", o.rounds)
	case !roundsSet && o.duration <= 0:
		return usagef("chaos: --duration must be > 0, got %s", o.duration)
	case o.senders < 1:
		return usagef("chaos: --senders must be >= 1, got %d", o.senders)
	case o.interval <= 0:
		return usagef("chaos: --interval must be > 0, got %s", o.interval)
	case o.converge <= 0:
		return usagef("chaos: --converge must be > 0, got %s", o.converge)
	case o.powBits < 0 || o.powBits > 64:
		return usagef("chaos: --pow-bits must be in 0..64, got %d", o.powBits)
	}
	switch chaos.LinkMode(o.links) {
	case chaos.LinksAuto, chaos.LinksFilter:
	case chaos.LinksNetns:
		if err := chaos.NetnsAvailable(); err != nil {
			return usagef("chaos: --links netns cannot run here: %v", err)
		}
	default:
		return usagef("chaos: --links: want auto|netns|filter, got %q", o.links)
	}
	if last := o.basePort + 2*o.nodes - 1; o.basePort < 1 || last > 65535 {
		return usagef("chaos: --base-port %d: the ports %d..%d must lie in 1..65535", o.basePort, o.basePort, last)
	}
	if o.dir != "" {
		if entries, err := os.ReadDir(o.dir); err == nil && len(entries) > 0 {
			return usagef("chaos: --dir %s exists and is not empty: a chaos run needs fresh homes", o.dir)
		}
	}
	return nil
}

// loopbackPorts says whether the nodes will listen on 127.0.0.1 (filter links), where the
// ports must be free; in namespaces each node has its own address and ports.
func (o *chaosOptions) loopbackPorts() bool {
	return chaos.LinkMode(o.links) == chaos.LinksFilter ||
		(chaos.LinkMode(o.links) == chaos.LinksAuto && chaos.NetnsAvailable() != nil)
}

func (g *globals) runChaos(cmd *cobra.Command, o *chaosOptions) error {
	if err := o.validate(cmd); err != nil {
		return err
	}
	dev := &devnetOptions{nodes: o.nodes, basePort: o.basePort, powBits: o.powBits, powSet: true, fixedDifficulty: true, faultInjection: true,
		supervision: &config.Supervision{MaxRestarts: chaos.CrashLoopBudget, Window: chaos.CrashLoopWindow}}
	if err := o.checkPortsFree(dev); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("chaos: cannot find this program to run the nodes: %w", err)
	}
	dir, temp, err := o.runDir()
	if err != nil {
		return err
	}
	dev.dir = dir
	settings := chaos.Settings{Nodes: o.nodes, Duration: o.duration}
	if cmd.Flags().Changed("rounds") {
		settings = chaos.Settings{Nodes: o.nodes, Rounds: o.rounds}
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	sigs, unsubscribe := g.io.signals()
	defer unsubscribe()
	stopWatch := g.cancelOnSignal(sigs, cancel)
	tr, err := chaos.Run(ctx, chaos.Config{
		Exe: exe, Seed: o.seed, Settings: settings, Dir: dir, Senders: o.senders, Interval: o.interval,
		Links: chaos.LinkMode(o.links), Converge: o.converge, Out: cmd.OutOrStdout(),
		MakeHomes: devnetHomes(dev),
	})
	stopWatch()
	if tr == nil {
		return err // the settings were refused before anything started
	}
	tr.Print(cmd.OutOrStdout())
	keep := o.keep || !temp || err != nil || !tr.OK
	if werr := writeChaosFiles(cmd, tr, chaosJSONPath(o.jsonFile, keep, dir), keep, dir); werr != nil {
		err = errors.Join(err, werr)
	}
	return chaosOutcome(tr.Interrupted, tr.OK, err, o.seed)
}

// checkPortsFree refuses a run on loopback (see loopbackPorts) whose nodes' ports are taken.
func (o *chaosOptions) checkPortsFree(dev *devnetOptions) error {
	if !o.loopbackPorts() {
		return nil
	}
	return devnetPortsFree("chaos", o.nodes, dev)
}

// devnetPortsFree is a usage error of command cmd when a port of the nodes' devnet addresses
// is taken.
func devnetPortsFree(cmd string, nodes int, dev *devnetOptions) error {
	cfgs := make([]*config.Config, nodes)
	for k := range cfgs {
		cfgs[k] = config.Default()
		cfgs[k].P2P.Listen, cfgs[k].API.Listen = dev.p2pAddr(k), dev.apiAddr(k)
	}
	if err := portsFree(cfgs); err != nil {
		return usagef("%s: %v", cmd, err)
	}
	return nil
}

// runDir is the run's directory, absolute: --dir, or a new temporary one (temp) when not given.
func (o *chaosOptions) runDir() (dir string, temp bool, err error) {
	return harnessDir(o.dir, fmt.Sprintf("actorchain-chaos-%d-", o.seed))
}

// harnessDir is a harness's run directory, absolute: dir, or a new temporary one named after
// pattern (temp) when dir is "".
func harnessDir(dir, pattern string) (_ string, temp bool, err error) {
	temp = dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", pattern); err != nil {
			return "", temp, err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", temp, err
	}
	return dir, temp, nil
}

// cancelOnSignal calls cancel, saying so, when a signal arrives on sigs, until the returned
// function is called; that function ends the watch and waits for it.
func (g *globals) cancelOnSignal(sigs <-chan os.Signal, cancel context.CancelFunc) (stop func()) {
	watch, done := make(chan struct{}), make(chan struct{})
	go func() { // ends on a signal or on stop; joined by stop
		defer close(done)
		select {
		case s := <-sigs:
			fmt.Fprintf(g.io.err, "node: chaos: %s received: stopping every node and removing what the run made\n", s)
			cancel()
		case <-watch:
		}
	}()
	return func() { close(watch); <-done }
}

// devnetHomes makes the chaos run's homes: a devnet of dev on the given hosts.
func devnetHomes(dev *devnetOptions) func(hosts []string) ([]chaos.Home, error) {
	return func(hosts []string) ([]chaos.Home, error) {
		dev.hosts = hosts
		d, err := prepareDevnet(dev)
		if err != nil {
			return nil, err
		}
		homes := make([]chaos.Home, len(d.Nodes))
		for k, n := range d.Nodes {
			homes[k] = chaos.Home{Dir: n.Home, NodeID: n.NodeID, P2P: n.P2P, API: n.API, WalletKey: n.WalletKey}
		}
		return homes, nil
	}
}

// chaosJSONPath is where the transcript's JSON goes: --json, else DIR/transcript.json when the
// run's directory is kept, else nowhere ("").
func chaosJSONPath(jsonFile string, keep bool, dir string) string {
	if jsonFile == "" && keep {
		return filepath.Join(dir, "transcript.json")
	}
	return jsonFile
}

// writeChaosFiles writes tr's JSON to jsonFile (if any), then keeps dir, saying so, or removes
// it; it returns the JSON's write error.
func writeChaosFiles(cmd *cobra.Command, tr *chaos.Transcript, jsonFile string, keep bool, dir string) error {
	var err error
	if jsonFile != "" {
		if err = tr.WriteJSON(jsonFile); err == nil {
			fmt.Fprintf(cmd.OutOrStdout(), "chaos: transcript written to %s\n", jsonFile)
		}
	}
	if keep {
		fmt.Fprintf(cmd.OutOrStdout(), "chaos: homes and logs (DIR/node<k>/chaos.log) kept in %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	return err
}

// chaosOutcome is the command's error for a run that was interrupted or not, whose invariants
// held (ok) or not, and that ended with err.
func chaosOutcome(interrupted, ok bool, err error, seed int64) error {
	switch {
	case interrupted:
		return errors.New("chaos: interrupted; every node it started is stopped and its namespaces removed")
	case err != nil:
		return fmt.Errorf("chaos: %w", err)
	case !ok:
		return fmt.Errorf("chaos: seed %d: an invariant failed (see the checks above)", seed)
	}
	return nil
}
