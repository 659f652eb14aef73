package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/chainstate"
)

// damageHint is added to the message of a command that met a damaged database.
const damageHint = "stop the node, run `node db check` to see what is damaged, then `node db salvage` to keep the readable part and let the node sync the rest from its peers"

// withDamageHint adds damageHint to an error that names a damaged database.
func withDamageHint(err error) error {
	if errors.Is(err, chainstate.ErrDamaged) {
		return fmt.Errorf("%w; %s", err, damageHint)
	}
	return err
}

func newDBCmd(g *globals) *cobra.Command {
	db := &cobra.Command{Use: "db", Short: "Check, salvage, back up or restore the database", Args: cobra.NoArgs}
	check := &cobra.Command{
		Use:   "check",
		Short: "Check every page of the database and the chain; print {ok, path, pages, problems} (exit 1 unless ok)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, params, err := g.loadChain()
			if err != nil {
				return err
			}
			rep, err := chainstate.Check(cfg.Storage.Path, params, cfg.Storage.OpenTimeout)
			if err != nil {
				return fmt.Errorf("db check %s: %w", cfg.Storage.Path, err)
			}
			if err := printJSON(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			if !rep.OK {
				return &exitError{code: exitFailure}
			}
			return nil
		},
	}
	salvage := &cobra.Command{
		Use:   "salvage",
		Short: "Move the database aside and rebuild it from its readable part; print {moved_aside, height, blocks_recovered, peers_recovered, mempool_recovered}",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, params, err := g.loadChain()
			if err != nil {
				return err
			}
			rep, err := chainstate.Salvage(cfg.Storage.Path, params, cfg.Storage.OpenTimeout, time.Now())
			if err != nil {
				return fmt.Errorf("db salvage %s: %w", cfg.Storage.Path, err)
			}
			return printJSON(cmd.OutOrStdout(), rep)
		},
	}
	db.AddCommand(check, salvage, newDBBackupCmd(g), newDBRestoreCmd(g))
	return db
}
