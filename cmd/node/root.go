package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// globals are the persistent flags of every command.
type globals struct {
	home      string
	config    string
	logLevel  string
	logFormat string
	api       string

	io cliIO // stdout, stderr and the stop signals of this run
}

func newRootCmd(io cliIO) *cobra.Command {
	g := &globals{io: io}
	root := &cobra.Command{
		Use:   "node",
		Short: "Actorchain: a proof-of-work blockchain node built as a tree of supervised actors",
		Long: `Actorchain node.

  node run                 start a node (initialises HOME with a mining devnet first if needed)
  node devnet              run a local network of 3 nodes in this process (--init-only: just the homes)
  node chaos               run node processes under a seeded fault schedule and check the invariants
  node netsim              run N node processes with link latency and measure propagation and cost
  node status              show a running node's status
  node peers export|import|add|list
                           share peer addresses (peer bundles), connect to a peer now
  node tx send ...         sign and submit a transfer
  node verify              check the stored chain of a stopped node
  node db check|salvage|backup|restore
                           check or repair a stopped node's database; back it up (running or not), restore it
  node version             version, VCS revision, Go version (also --version); node completion bash|zsh|fish
  node bench               measure the performance table (docs/performance.md)

HOME is --home, else $ACTORCHAIN_HOME, else ~/.actorchain. Every config key can be overridden
with an ACTORCHAIN_* environment variable (see docs/config.md). Operating a node or a devnet:
docs/operations.md. Exit codes: 0 success, 1 failure, 2 bad usage or invalid config, 130 forced
by a second signal.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.home, "home", "", "node home directory (default $ACTORCHAIN_HOME, else ~/.actorchain)")
	pf.StringVar(&g.config, "config", "", "config file (default HOME/node.yaml)")
	pf.StringVar(&g.logLevel, "log-level", "", "log level: debug|info|warn|error (default from config)")
	pf.StringVar(&g.logFormat, "log-format", "", "log format: text|json (default from config)")
	pf.StringVar(&g.api, "api", "", "API URL of a running node (default http:// + the config's api.listen)")
	root.SetOut(io.out)
	root.SetErr(io.err)
	root.AddCommand(
		newInitCmd(g), newRunCmd(g), newDevnetCmd(g), newChaosCmd(g), newNetsimCmd(g), newStatusCmd(g), newPeersCmd(g), newKeysCmd(g),
		newTxCmd(g), newVerifyCmd(g), newDBCmd(g), newVersionCmd(), newBenchCmd(g),
	)
	setVersionFlag(root)
	setCompletion(root)
	usageArgs(root)
	return root
}

// usageArgs makes unknown commands and wrong arguments usage errors (exit 2) on c and every
// command under it. A command group (root, keys, tx, peers) given no subcommand prints its help;
// given an unknown one it fails naming it (with cobra's suggestions). Without this, cobra
// answers an unknown subcommand of a group with its help and exit 0.
func usageArgs(c *cobra.Command) {
	check := c.Args
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if cmd.HasSubCommands() && len(args) > 0 {
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usagef("%s (see %s --help)", msg, cmd.CommandPath())
		}
		if check == nil {
			return nil
		}
		if err := check(cmd, args); err != nil {
			if strings.Contains(err.Error(), cmd.CommandPath()) {
				return &usageError{err}
			}
			return usagef("%s: %v", cmd.CommandPath(), err)
		}
		return nil
	}
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
	for _, s := range c.Commands() {
		usageArgs(s)
	}
}

// homeDir resolves HOME: --home, $ACTORCHAIN_HOME, ~/.actorchain; made absolute.
func (g *globals) homeDir() (string, error) {
	h := g.home
	if h == "" {
		h = os.Getenv("ACTORCHAIN_HOME")
	}
	if h == "" {
		u, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a home directory (set --home or ACTORCHAIN_HOME): %w", err)
		}
		h = filepath.Join(u, ".actorchain")
	}
	return filepath.Abs(h)
}

func (g *globals) configFile(home string) string {
	if g.config != "" {
		return g.config
	}
	return filepath.Join(home, "node.yaml")
}

// loadConfig loads HOME's effective configuration (file plus environment).
// loadChain loads the config and its chain parameters: what the offline database commands
// (verify, db check, db salvage) need.
func (g *globals) loadChain() (*config.Config, *chainstate.Params, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	params, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, params, nil
}

func (g *globals) loadConfig() (*config.Config, error) {
	home, err := g.homeDir()
	if err != nil {
		return nil, err
	}
	file := g.configFile(home)
	if g.config == "" {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			file = ""
		}
	}
	return config.Load(home, file, os.Environ())
}

// apiURL is --api, else http:// + the config's api.listen.
func (g *globals) apiURL() (string, error) {
	if g.api != "" {
		return strings.TrimRight(g.api, "/"), nil
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return "", err
	}
	if cfg.API.Listen == "" {
		return "", usagef("the config's api.listen is empty: give --api URL")
	}
	return "http://" + cfg.API.Listen, nil
}

// logger builds the process logger from flags over config.
func (g *globals) logger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	level, format := cfg.Log.Level, cfg.Log.Format
	if g.logLevel != "" {
		level = g.logLevel
	}
	if g.logFormat != "" {
		format = g.logFormat
	}
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, usagef("--log-level: want debug|info|warn|error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, usagef("--log-format: want text|json, got %q", format)
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
