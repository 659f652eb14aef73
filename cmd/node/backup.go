package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
)

// offlineLockWait is how long the database commands wait for a stopped home's database lock
// before they take the home for running: a running node holds its lock all the time.
const offlineLockWait = 300 * time.Millisecond

// backupResult is what `node db backup` prints.
type backupResult struct {
	Path        string  `json:"path"`
	Bytes       int64   `json:"bytes"`
	Height      uint64  `json:"height"`
	TipHash     string  `json:"tip_hash"`
	GenesisHash string  `json:"genesis_hash"`
	Source      string  `json:"source"` // "api": copied by the running node; "file": read from the stopped node's file
	Verified    bool    `json:"verified"`
	Seconds     float64 `json:"seconds"`
}

func newDBBackupCmd(g *globals) *cobra.Command {
	var force, noVerify bool
	c := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of HOME's database to FILE, whether or not the node runs; print {path, bytes, height, ...}",
		Long: `Write a consistent copy of HOME's database to FILE.

While the node runs (found from HOME's database lock, or given with --api) the node makes the copy
itself, from one read transaction, while it goes on mining and syncing (GET /v1/db/backup); when it
is stopped the command reads the file itself, read-only. The copy goes to a temporary file next to
FILE, is synced, checked like ` + "`node db check`" + ` (every page, the chain, the genesis of HOME's config)
and only then renamed to FILE: FILE is a complete, checked copy or is not there. An existing FILE
is kept unless --force. Restore it with ` + "`node db restore FILE`" + ` (docs/operations.md).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.initialisedConfig()
			if err != nil {
				return err
			}
			params, err := actors.ParamsFromConfig(cfg)
			if err != nil {
				return err
			}
			start := time.Now()
			res := backupResult{Source: "file", Verified: !noVerify}
			save := func(fill func(io.Writer) (chainstate.BackupInfo, error)) (chainstate.BackupInfo, error) {
				return chainstate.SaveBackup(args[0], params, force, !noVerify, cfg.Storage.OpenTimeout, fill)
			}
			var info chainstate.BackupInfo
			if g.api == "" {
				info, err = save(func(w io.Writer) (chainstate.BackupInfo, error) {
					return chainstate.BackupFile(cfg.Storage.Path, params, offlineLockWait, w, nil)
				})
			}
			if g.api != "" || errors.Is(err, chainstate.ErrInUse) {
				c, tr, cerr := g.backupClient(cfg.API.Listen)
				if cerr != nil {
					return cerr
				}
				defer tr.CloseIdleConnections()
				res.Source = "api"
				info, err = save(func(w io.Writer) (chainstate.BackupInfo, error) {
					return backupThroughAPI(cmd.Context(), c, params, w)
				})
			}
			if err != nil {
				return fmt.Errorf("db backup: %w", err)
			}
			res.Path, res.Bytes, res.Height = absPath(args[0]), info.Bytes, info.Height
			res.TipHash, res.GenesisHash = info.TipHash.String(), info.GenesisHash.String()
			res.Seconds = time.Since(start).Seconds()
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace FILE if it exists")
	c.Flags().BoolVar(&noVerify, "no-verify", false, "skip the check of the copy (pages and chain) before it is renamed into place")
	return c
}

// backupClient is the API client of a backup: no overall timeout (a large database takes as
// long as it takes; api.Client.Backup fails after a minute without a byte), 30 s for the answer
// to begin.
func (g *globals) backupClient(listen string) (*api.Client, *http.Transport, error) {
	if g.api == "" && listen == "" {
		return nil, nil, fmt.Errorf("a node is running on HOME but its API is disabled (api.listen is empty): give --api URL, or stop the node to back up its file")
	}
	u, err := g.apiURL()
	if err != nil {
		return nil, nil, err
	}
	tr := &http.Transport{ResponseHeaderTimeout: 30 * time.Second}
	return api.NewClient(u, &http.Client{Transport: tr}), tr, nil
}

// absPath is p made absolute (as it is when the error is ignored).
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// backupThroughAPI streams the running node's copy into w and describes it; a node of another
// chain than HOME's config is refused.
func backupThroughAPI(ctx context.Context, c *api.Client, params *chainstate.Params, w io.Writer) (chainstate.BackupInfo, error) {
	hd, err := c.Backup(ctx, w)
	if err != nil {
		return chainstate.BackupInfo{}, nodeError(c, err)
	}
	if want := params.GenesisHash().String(); hd.GenesisHash != want {
		return chainstate.BackupInfo{}, fmt.Errorf("the node at %s is on chain %q (genesis %s), HOME's config on %q (genesis %s): %w",
			c.BaseURL(), hd.ChainID, hd.GenesisHash, params.ChainID, want, chainstate.ErrWrongChain)
	}
	info := chainstate.BackupInfo{Bytes: hd.Bytes, Height: hd.Height, GenesisHash: params.GenesisHash()}
	if err := info.TipHash.UnmarshalText([]byte(hd.TipHash)); err != nil {
		return info, fmt.Errorf("the node at %s: bad %s %q: %w", c.BaseURL(), api.HeaderTipHash, hd.TipHash, err)
	}
	return info, nil
}

func newDBRestoreCmd(g *globals) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "restore FILE",
		Short: "Install a backup (node db backup) as HOME's database, node stopped; print {path, from, height, ...}",
		Long: `Install the backup FILE as HOME's database, with the node stopped.

The restore refuses while a node runs on HOME (it takes the database's lock and holds it until it
is done), refuses a backup of another chain than HOME's config (genesis hash, which covers the chain
id) or one that does not check (every page and the chain, as ` + "`node db check`" + `), and never replaces an
existing database without --force; with --force the old database is moved aside to
<path>.before-restore-<unix seconds>, not deleted. FILE is only read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.initialisedConfig()
			if err != nil {
				return err
			}
			params, err := actors.ParamsFromConfig(cfg)
			if err != nil {
				return err
			}
			rep, err := chainstate.Restore(args[0], cfg.Storage.Path, params, offlineLockWait, force, time.Now())
			if err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), rep)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "replace HOME's existing database (moved aside, not deleted)")
	return c
}
