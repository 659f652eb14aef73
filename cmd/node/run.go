package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

// stopBudget bounds the ordered stop after a signal; past it the process exits 1.
const stopBudget = 30 * time.Second

func newInitCmd(g *globals) *cobra.Command {
	var chainFile string
	var force bool
	c := &cobra.Command{
		Use:   "init",
		Short: "Create HOME with node.yaml and keys (a fresh devnet chain, or --chain FILE to join one)",
		Long: `Create HOME with node.yaml and keys. Without --chain the chain is a fresh devnet whose genesis
funds the wallet key, with difficulty adjustment (chain.target_block_time 1s, difficulty_halflife 5m)
from a genesis difficulty (chain.pow_bits) measured by a short hash-rate probe of all cores, so that
it makes about one block a second from its first blocks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := g.homeDir()
			if err != nil {
				return err
			}
			out, err := actors.InitHomeChain(home, g.configFile(home), chainFile, force, adjustingChain(-1))
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), out)
		},
	}
	c.Flags().StringVar(&chainFile, "chain", "", "copy the chain: section of this node.yaml (join that chain)")
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing HOME's config and keys")
	return c
}

func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the node until SIGINT/SIGTERM (initialises HOME as a mining devnet first if it has no config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := g.homeDir()
			if err != nil {
				return err
			}
			cfgFile := g.configFile(home)
			if _, err := os.Stat(cfgFile); errors.Is(err, os.ErrNotExist) && g.config == "" {
				res, err := actors.InitHomeChain(home, cfgFile, "", false, adjustingChain(-1))
				if err != nil {
					return fmt.Errorf("initialise %s: %w", home, err)
				}
				fmt.Fprintf(g.io.err, "initialised %s (node %s, wallet %s)\n", home, res.NodeID, res.WalletAddress)
			}
			cfg, err := config.Load(home, cfgFile, os.Environ())
			if err != nil {
				return err
			}
			log, err := g.logger(cfg, g.io.err)
			if err != nil {
				return err
			}
			return g.runNode(cfg, log)
		},
	}
}

// startNode starts one node with the API handler of the api package.
func startNode(cfg *config.Config, log *slog.Logger) (*actors.Node, error) {
	return actors.Start(cfg, actors.Options{
		Logger: log,
	})
}

// runNode starts the node and waits for a signal (ordered stop, exit 0; a second signal exits
// 130) or for the node to stop by itself (exit 1).
func (g *globals) runNode(cfg *config.Config, log *slog.Logger) error {
	sigs, unsubscribe := g.io.signals()
	defer unsubscribe()

	n, err := startNode(cfg, log)
	if err != nil {
		return err
	}
	log.Info("node running", "home", cfg.Home, "node_id", n.NodeID(), "api", n.APIAddr(), "chain_id", cfg.Chain.ID)
	select {
	case s := <-sigs:
		log.Info("signal received, stopping", "signal", s.String())
		if err := g.stopOrForce(sigs, func(ctx context.Context) error { return n.Stop(ctx) }); err != nil {
			return err
		}
	case <-n.Done():
		_ = n.Stop(context.Background())
	}
	if err := n.Err(); err != nil {
		return err
	}
	log.Info("node stopped")
	return nil
}

// stopOrForce runs stop within stopBudget; a second signal meanwhile gives up on it and exits
// 130 (the process ends, so the stop's goroutine is not waited for).
func (g *globals) stopOrForce(sigs <-chan os.Signal, stop func(context.Context) error) error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
		defer cancel()
		done <- stop(ctx)
	}()
	select {
	case err := <-done:
		return err
	case s := <-sigs:
		fmt.Fprintf(g.io.err, "node: second signal (%s): exiting without a clean stop\n", s)
		return &exitError{code: exitForced}
	}
}
