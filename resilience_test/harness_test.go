package resilience_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/perf"
	"github.com/actorchain/actorchain/supervisor"
)

// logBuffer collects a node's JSON log records (goroutine-safe).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the parsed records whose msg is one of msgs (all when none given).
func (b *logBuffer) records(msgs ...string) []map[string]any {
	b.mu.Lock()
	data := append([]byte(nil), b.buf.Bytes()...)
	b.mu.Unlock()
	return parseRecords(data, msgs...)
}

// actorsOf lists the `actor` attribute of the records with message msg, in order.
func (b *logBuffer) actorsOf(msg string) []string {
	var out []string
	for _, r := range b.records(msg) {
		if a, ok := r["actor"].(string); ok {
			out = append(out, a)
		}
	}
	return out
}

// lockErrorRE matches what a database lock problem looks like in a log (the acceptance scripts'
// own pattern).
var lockErrorRE = regexp.MustCompile(`(?i)acquire (the )?lock|file lock|flock|database (is )?locked|lock timeout|resource temporarily unavailable`)

func (b *logBuffer) lockError() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return lockErrorRE.Match(b.buf.Bytes())
}

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
	log  *logBuffer
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
	lb := &logBuffer{}
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

// waitFor polls cond every 10 ms until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // a bounded poll, not a synchronisation stand-in
	}
}

func (nd *node) waitHeight(h uint64, d time.Duration) {
	nd.t.Helper()
	waitFor(nd.t, d, fmt.Sprintf("height %d", h), func() bool { return nd.status().Height >= h })
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

// chainBuilder is perf.ChainBuilder (blocks mined outside any node, on an in-memory ledger: used
// to feed alternative branches to a running node) that fails the test on an error.
type chainBuilder struct{ *perf.ChainBuilder }

func newChainBuilder(p *chainstate.Params) *chainBuilder {
	return &chainBuilder{perf.NewChainBuilder(p)}
}

// fork returns a builder that continues from the first n blocks of c's chain.
func (c *chainBuilder) fork(t testing.TB, n int) *chainBuilder {
	t.Helper()
	f, err := c.Fork(n)
	if err != nil {
		t.Fatal(err)
	}
	return &chainBuilder{f}
}

// clone returns an independent copy of the builder (same tip, ledger and blocks).
func (c *chainBuilder) clone() *chainBuilder { return &chainBuilder{c.Clone()} }

func (c *chainBuilder) add(t testing.TB, b *chainstate.Block) {
	t.Helper()
	if err := c.Add(b); err != nil {
		t.Fatal(err)
	}
}

// mine seals and solves the next block with txs (all must apply) and appends it.
func (c *chainBuilder) mine(t testing.TB, key ed25519.PrivateKey, txs []*chainstate.Tx) *chainstate.Block {
	t.Helper()
	b, err := c.Mine(key, txs)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
