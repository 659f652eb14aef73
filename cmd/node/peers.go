package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
)

// peerRequestTimeout bounds one API request of the peers commands.
const peerRequestTimeout = 30 * time.Second

func newPeersCmd(g *globals) *cobra.Command {
	peers := &cobra.Command{
		Use:   "peers",
		Short: "Share peer addresses (peer bundles) and connect to peers",
		Long: `Share peer addresses and connect to peers.

export and import work on HOME's peer store whether or not its node runs: through the running
node's API when --api is given or HOME's node is running (detected from HOME's database lock),
directly on the store otherwise. add and list need a running node.`,
		Args: cobra.NoArgs,
	}
	peers.AddCommand(newPeersExportCmd(g), newPeersImportCmd(g), newPeersAddCmd(g), newPeersListCmd(g))
	return peers
}

// peerTarget says where a peers export/import goes: a running node's API (client set) or the
// stopped home's store (cfg set).
type peerTarget struct {
	client *api.Client
	cfg    *config.Config
}

// peerTarget decides between the API and the store: the API when --api is given or HOME's node
// holds its database, the store otherwise. HOME must be initialised for the store.
func (g *globals) peerTarget() (peerTarget, error) {
	if g.api != "" {
		c, err := g.client()
		return peerTarget{client: c}, err
	}
	cfg, err := g.initialisedConfig()
	if err != nil {
		return peerTarget{}, err
	}
	running, err := actors.HomeRunning(cfg)
	if err != nil {
		return peerTarget{}, err
	}
	if running {
		c, err := g.runningClient(cfg)
		return peerTarget{client: c}, err
	}
	return peerTarget{cfg: cfg}, nil
}

// initialisedConfig loads HOME's config, failing when HOME has no config file: a store made from
// the defaults would belong to a chain that `node init` or `node run` never makes.
func (g *globals) initialisedConfig() (*config.Config, error) {
	home, err := g.homeDir()
	if err != nil {
		return nil, err
	}
	if file := g.configFile(home); g.config == "" {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("HOME %s is not initialised (no %s): run `node init --home %s` first, or give --api URL of a running node", home, file, home)
		}
	}
	return g.loadConfig()
}

// runningClient is the API client of the node running on HOME (whose database is locked).
func (g *globals) runningClient(cfg *config.Config) (*api.Client, error) {
	if cfg.API.Listen == "" {
		return nil, fmt.Errorf("a node is running on HOME %s but its API is disabled (api.listen is empty): stop the node to work on its store, or give --api URL", cfg.Home)
	}
	return g.client()
}

func newPeersExportCmd(g *globals) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "export [--out FILE]",
		Short: "Write HOME's peer bundle (JSON) to FILE or stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := g.peerTarget()
			if err != nil {
				return err
			}
			b, err := t.export(cmd.Context(), g)
			if err != nil {
				return fmt.Errorf("peers export: %w", err)
			}
			if out == "" || out == "-" {
				return printJSON(cmd.OutOrStdout(), b)
			}
			if err := writeJSONFile(out, b); err != nil {
				return fmt.Errorf("peers export: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d peers of chain %s to %s\n", len(b.Peers), b.ChainID, out)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "file to write the bundle to (default stdout)")
	return c
}

// export reads the bundle from the API or the store. A node that starts on the home between the
// check and the read is asked through its API.
func (t peerTarget) export(ctx context.Context, g *globals) (*api.Bundle, error) {
	if t.cfg != nil {
		b, err := actors.ExportStore(t.cfg)
		if !errors.Is(err, actors.ErrHomeInUse) {
			return b, err
		}
		if t.client, err = g.runningClient(t.cfg); err != nil {
			return nil, err
		}
	}
	raw, err := t.client.ExportPeers(ctxTimeout(ctx, peerRequestTimeout))
	if err != nil {
		return nil, nodeError(t.client, err)
	}
	b, err := actors.ParseBundle(raw)
	if err != nil {
		return nil, fmt.Errorf("the node at %s answered a bad bundle: %w", t.client.BaseURL(), err)
	}
	return b, nil
}

func newPeersImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Merge a peer bundle into HOME's peer store (a running node dials its peers at once); FILE - is stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(cmd, args[0])
			if err != nil {
				return fmt.Errorf("peers import: %w", err)
			}
			b, err := actors.ParseBundle(data)
			if err != nil {
				return fmt.Errorf("peers import %s: %w", args[0], err)
			}
			t, err := g.peerTarget()
			if err != nil {
				return err
			}
			n, err := t.importBundle(cmd.Context(), g, b, data)
			if err != nil {
				return fmt.Errorf("peers import %s: %w", args[0], err)
			}
			return printJSON(cmd.OutOrStdout(), map[string]int{"added": n})
		},
	}
}

// importBundle merges b (whose JSON is raw) through the API or into the store.
func (t peerTarget) importBundle(ctx context.Context, g *globals, b *api.Bundle, raw []byte) (int, error) {
	if t.cfg != nil {
		n, err := actors.ImportStore(t.cfg, b)
		if !errors.Is(err, actors.ErrHomeInUse) {
			return n, err
		}
		if t.client, err = g.runningClient(t.cfg); err != nil {
			return 0, err
		}
	}
	n, err := t.client.ImportPeers(ctxTimeout(ctx, peerRequestTimeout), json.RawMessage(raw))
	if err != nil {
		return 0, nodeError(t.client, err)
	}
	return n, nil
}

func newPeersAddCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "add ID@HOST:PORT",
		Short: "Ask the running node to connect to a peer now (POST /v1/peers)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			addr := args[0]
			if err := api.ValidatePeerAddr(addr); err != nil {
				return usagef("peers add: %v", err)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.AddPeer(ctxTimeout(cmd.Context(), peerRequestTimeout), addr); err != nil {
				err = nodeError(c, err)
				var nn *noNodeError
				if errors.As(err, &nn) {
					return fmt.Errorf("peers add: %w. Or give --api URL of a running node; "+
						"to have a stopped node dial a peer when it starts, put it in p2p.seeds or use `node peers import`", err)
				}
				return fmt.Errorf("peers add: %w", err)
			}
			return printJSON(cmd.OutOrStdout(), map[string]string{"addr": addr, "status": "dialling"})
		},
	}
}

func newPeersListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Print the running node's connected and known peers (GET /v1/peers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			p, err := c.Peers(ctxTimeout(cmd.Context(), peerRequestTimeout))
			if err != nil {
				return fmt.Errorf("peers list: %w", nodeError(c, err))
			}
			return printJSON(cmd.OutOrStdout(), p)
		},
	}
}

// readInput reads FILE, or stdin for "-".
func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
	}
	return os.ReadFile(name)
}

// writeJSONFile writes v as indented JSON to path atomically (a temporary file in the same
// directory, synced, then renamed), mode 0644.
func writeJSONFile(path string, v any) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if tmp != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := printJSON(tmp, v); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	tmp = nil
	return nil
}
