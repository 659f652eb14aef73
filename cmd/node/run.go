package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := g.homeDir()
			if err != nil {
				return err
			}
			out, err := actors.InitHome(home, g.configFile(home), chainFile, force)
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
				res, err := actors.InitHome(home, cfgFile, "", false)
				if err != nil {
					return fmt.Errorf("initialise %s: %w", home, err)
				}
				fmt.Fprintf(os.Stderr, "initialised %s (node %s, wallet %s)\n", home, res.NodeID, res.WalletAddress)
			}
			cfg, err := config.Load(home, cfgFile, os.Environ())
			if err != nil {
				return err
			}
			log, err := g.logger(cfg, os.Stderr)
			if err != nil {
				return err
			}
			return runNode(cfg, log)
		},
	}
}

// runNode starts the node and waits for a signal (ordered stop, exit 0; a second signal exits
// 130) or for the node to stop by itself (exit 1).
func runNode(cfg *config.Config, log *slog.Logger) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	n, err := actors.Start(cfg, actors.Options{
		Logger: log,
		HTTPHandler: func(n *actors.Node) http.Handler {
			return api.NewHandler(n, api.Options{Logger: log, Version: actors.Version, Pprof: cfg.Debug.Pprof})
		},
	})
	if err != nil {
		return err
	}
	log.Info("node running", "home", cfg.Home, "node_id", n.NodeID(), "api", n.APIAddr(), "chain_id", cfg.Chain.ID)
	select {
	case s := <-sigs:
		log.Info("signal received, stopping", "signal", s.String())
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
			defer cancel()
			done <- n.Stop(ctx)
		}()
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "node: second signal (%s): exiting without a clean stop\n", s)
			return &exitError{code: exitForced}
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
