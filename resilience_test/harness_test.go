package resilience_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/supervisor"
)

// lockErrorRE matches what a database lock problem looks like in a log (the acceptance scripts'
// own pattern).
var lockErrorRE = regexp.MustCompile(`(?i)acquire (the )?lock|file lock|flock|database (is )?locked|lock timeout|resource temporarily unavailable`)

// lockError reports whether log mentions a database lock problem.
func lockError(log *testutil.LogBuffer) bool { return lockErrorRE.Match(log.Bytes()) }

// home is a node home made for a test: its config (kept in memory so every run of the home uses
// the same chain section) and the wallet key the devnet genesis funds.
type home struct {
	dir    string
	cfg    *config.Config
	wallet ed25519.PrivateKey
	miner  ed25519.PrivateKey
}

// newHome initialises a devnet home under t.TempDir() with easy work, the API on a free loopback
// port and networking off; edit applies further changes before the first run.
func newHome(t testing.TB, edit func(*config.Config)) *home {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "home")
	cfgFile := filepath.Join(dir, "node.yaml")
	if _, err := actors.InitHome(dir, cfgFile, "", false); err != nil {
		t.Fatalf("init home: %v", err)
	}
	cfg, err := config.Load(dir, cfgFile, nil)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	cfg.Chain.PowBits = 8
	cfg.API.Listen = "127.0.0.1:0"
	cfg.P2P.Listen = ""
	cfg.Mining.Workers = 2
	cfg.Storage.OpenTimeout = 2 * time.Second
	if edit != nil {
		edit(cfg)
	}
	if err := config.Write(cfgFile, cfg); err != nil {
		t.Fatalf("write config: %v", err)
	}
	h := &home{dir: dir, cfg: cfg}
	if h.wallet, err = chainstate.LoadSigningKey(filepath.Join(dir, "keys", "wallet.key")); err != nil {
		t.Fatal(err)
	}
	if h.miner, err = chainstate.LoadSigningKey(cfg.Mining.KeyFile); err != nil {
		t.Fatal(err)
	}
	return h
}

// node is a running in-process node with its log.
type node struct {
	t    testing.TB
	h    *home
	n    *actors.Node
	log  *testutil.LogBuffer
	api  *api.Client
	opts actors.Options
}

// start runs the home's node in this process (one actor system) with a JSON log in memory.
func (h *home) start(t testing.TB, opts actors.Options) *node {
	t.Helper()
	nd, err := h.tryStart(t, opts)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	return nd
}

func (h *home) tryStart(t testing.TB, opts actors.Options) (*node, error) {
	t.Helper()
	lb := &testutil.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Logger = log
	n, err := actors.Start(h.cfg, opts)
	if err != nil {
		return nil, err
	}
	nd := &node{t: t, h: h, n: n, log: lb, opts: opts}
	nd.api = api.NewClient("http://"+n.APIAddr(), &http.Client{Timeout: 10 * time.Second})
	t.Cleanup(func() { nd.stop() })
	return nd, nil
}

// stop stops the node in order (idempotent).
func (nd *node) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := nd.n.Stop(ctx); err != nil {
		nd.t.Errorf("stop: %v", err)
	}
}

func (nd *node) status() api.Status {
	nd.t.Helper()
	st, err := nd.n.Status(context.Background())
	if err != nil {
		nd.t.Fatalf("status: %v", err)
	}
	return st
}

func (nd *node) waitHeight(h uint64, d time.Duration) {
	nd.t.Helper()
	testutil.WaitFor(nd.t, d, fmt.Sprintf("height %d", h), func() bool { return nd.status().Height >= h })
}

// transfer signs a transfer from key with the given nonce.
func transfer(p *chainstate.Params, key ed25519.PrivateKey, to chainstate.Address, amount, fee, nonce uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: p.ChainID, From: chainstate.PublicKey(key.Public().(ed25519.PublicKey)), To: to, Amount: amount, Fee: fee, Nonce: nonce}
	tx.Sign(key)
	return tx
}

func newKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func addrOf(k ed25519.PrivateKey) chainstate.Address {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey)).Address()
}

// treeNode finds an actor in a supervision snapshot.
func treeNode(n supervisor.Node, name string) (supervisor.Node, bool) {
	if n.Name == name {
		return n, true
	}
	for _, k := range n.Children {
		if f, ok := treeNode(k, name); ok {
			return f, true
		}
	}
	return supervisor.Node{}, false
}
