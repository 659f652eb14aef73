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

	"github.com/actorchain/actorchain/config"
)

// globals are the persistent flags of every command.
type globals struct {
	home      string
	config    string
	logLevel  string
	logFormat string
	api       string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "node",
		Short: "Actorchain: a proof-of-work blockchain node built as a tree of supervised actors",
		Long: `Actorchain node.

  node run                 start a node (initialises HOME with a mining devnet first if needed)
  node status              show a running node's status
  node tx send ...         sign and submit a transfer

HOME is --home, else $ACTORCHAIN_HOME, else ~/.actorchain. Every config key can be overridden
with an ACTORCHAIN_* environment variable (see docs/config.md).`,
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
	root.AddCommand(
		newInitCmd(g), newRunCmd(g), newStatusCmd(g), newKeysCmd(g), newTxCmd(g),
		newVerifyCmd(g), newVersionCmd(),
	)
	// Unknown commands and bad args are usage errors (exit 2).
	root.Args = cobra.NoArgs
	return root
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
