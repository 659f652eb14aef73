package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

func TestDevnetInitOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	base := freePorts(t, 6)
	args := []string{"devnet", "--init-only", "--json", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base)}
	d := decode[devnet](t, cli(t, args...).want(t, exitOK))
	if len(d.Nodes) != 3 || d.Reused || d.Dir != dir {
		t.Fatalf("devnet table %+v", d)
	}
	var seeds []string
	for k, n := range d.Nodes {
		seeds = append(seeds, fmt.Sprintf("%s@127.0.0.1:%d", n.NodeID, base+2*k))
	}
	var genesis string
	for k, n := range d.Nodes {
		home := filepath.Join(dir, "node"+strconv.Itoa(k))
		cfg, err := config.Load(home, filepath.Join(home, "node.yaml"), nil)
		if err != nil {
			t.Fatal(err)
		}
		p2p, apiAddr := fmt.Sprintf("127.0.0.1:%d", base+2*k), fmt.Sprintf("127.0.0.1:%d", base+2*k+1)
		if n.Home != home || n.P2P != p2p || n.API != "http://"+apiAddr || cfg.P2P.Listen != p2p || cfg.API.Listen != apiAddr {
			t.Fatalf("node%d: row %+v, config p2p %s api %s", k, n, cfg.P2P.Listen, cfg.API.Listen)
		}
		if got, want := slices.Sorted(slices.Values(cfg.P2P.Seeds)), slices.Sorted(slices.Values(others(seeds, k))); !slices.Equal(got, want) {
			t.Fatalf("node%d seeds %v, want %v", k, got, want)
		}
		params, err := actors.ParamsFromConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			genesis = params.GenesisHash().String()
		} else if g := params.GenesisHash().String(); g != genesis {
			t.Fatalf("node%d genesis %s, node0 %s", k, g, genesis)
		}
		// Every node's wallet is funded, and the table points at that key file.
		show := decode[map[string]string](t, cli(t, "keys", "show", n.WalletKey).want(t, exitOK))
		if show["address"] != n.WalletAddress || cfg.Chain.Alloc[n.WalletAddress] != actors.DevnetFunds {
			t.Fatalf("node%d wallet %s: alloc %v", k, n.WalletAddress, cfg.Chain.Alloc)
		}
		if cfg.Mining.Workers != 1 {
			t.Fatalf("node%d mining.workers %d, want 1", k, cfg.Mining.Workers)
		}
		// Paths stay relative to the home in the file.
		data, _ := os.ReadFile(filepath.Join(home, "node.yaml"))
		if strings.Contains(string(data), dir) {
			t.Fatalf("node%d's node.yaml holds absolute paths", k)
		}
	}
	if d.GenesisHash != genesis {
		t.Fatalf("table genesis %s, homes %s", d.GenesisHash, genesis)
	}
	// A peer bundle of node0 is accepted by node2: one chain.
	file := bundleWith(t, filepath.Join(dir, "node0"), somePeer(0))
	cli(t, "peers", "import", "--home", filepath.Join(dir, "node2"), file).want(t, exitOK)

	// Again, same shape: the homes are reused as they are; text table by default.
	again := decode[devnet](t, cli(t, args...).want(t, exitOK))
	if !again.Reused || again.GenesisHash != d.GenesisHash || again.Nodes[2].NodeID != d.Nodes[2].NodeID {
		t.Fatalf("rerun: %+v", again)
	}
	text := cli(t, "devnet", "--init-only", "--dir", dir, "--base-port", strconv.Itoa(base)).want(t, exitOK)
	for _, n := range d.Nodes {
		if !strings.Contains(text, n.NodeID) || !strings.Contains(text, n.API) || !strings.Contains(text, n.WalletKey) {
			t.Fatalf("text table lacks node %d:\n%s", n.Node, text)
		}
	}
	// Another shape is refused and nothing is changed.
	for _, other := range [][]string{
		{"--nodes", "2", "--base-port", strconv.Itoa(base)},
		{"--nodes", "4", "--base-port", strconv.Itoa(base)},
		{"--nodes", "3", "--base-port", strconv.Itoa(base + 2)},
		{"--nodes", "3", "--base-port", strconv.Itoa(base), "--pow-bits", "9"},
	} {
		r := cli(t, append([]string{"devnet", "--init-only", "--dir", dir}, other...)...)
		r.want(t, exitFailure)
		if !strings.Contains(r.err.String(), dir) {
			t.Fatalf("%v: refusal does not name the directory: %s", other, r.err.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node3")); !os.IsNotExist(err) {
		t.Fatalf("a refused devnet wrote node3 (err %v)", err)
	}
	// Per-node keys cannot come from the environment.
	t.Setenv("ACTORCHAIN_API_LISTEN", "127.0.0.1:1")
	r := cli(t, args...)
	r.want(t, exitUsage)
	if !strings.Contains(r.err.String(), "ACTORCHAIN_API_LISTEN") {
		t.Fatalf("env refusal: %s", r.err.String())
	}
}

func TestDevnetRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "node1")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "devnet", "--init-only", "--dir", dir, "--base-port", "30000")
	r.want(t, exitFailure)
	if _, err := os.Stat(filepath.Join(home, "precious.txt")); err != nil {
		t.Fatalf("devnet removed a file it did not write: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node0")); !os.IsNotExist(err) {
		t.Fatalf("a refused devnet left node0 behind (err %v)", err)
	}
}

// TestDevnetRuns runs `node devnet --nodes 3` in-process until the three nodes, mining on one
// chain, agree; then stops it with a signal (exit 0, every node stopped: goleak checks).
func TestDevnetRuns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	base := freePorts(t, 6)
	run := cliStart(t, "devnet", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base), "--pow-bits", "14", "--log-format", "json")
	clients := make([]*api.Client, 3)
	for k := range clients {
		clients[k] = apiClient(t, fmt.Sprintf("http://127.0.0.1:%d", base+2*k+1))
	}
	testutil.WaitFor(t, 30*time.Second, "all three APIs answer", func() bool {
		if run.exited() {
			t.Fatalf("devnet exited %d: %s", run.code, tail(run.err.String(), 20))
		}
		for _, c := range clients {
			if _, err := c.Status(reqCtx(t)); err != nil {
				return false
			}
		}
		return true
	})
	// The table is printed once all are up.
	testutil.WaitFor(t, 10*time.Second, "the table is printed", func() bool { return strings.Contains(run.out.String(), "NODE ID") })
	var ids []string
	for _, c := range clients {
		st, err := c.Status(reqCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(run.out.String(), st.NodeID) {
			t.Fatalf("table lacks node %s:\n%s", st.NodeID, run.out.String())
		}
		ids = append(ids, st.NodeID)
	}
	testutil.WaitFor(t, 60*time.Second, "the three nodes are at height >= 3 on one chain, each with 2 peers", func() bool {
		return agree(t, clients)
	})
	// Each node logs with its own node=k tag.
	for k := range 3 {
		if !strings.Contains(run.err.String(), fmt.Sprintf(`"node":%d`, k)) {
			t.Fatalf("no log record tagged node=%d", k)
		}
	}
	if code := run.stop(t, 30*time.Second); code != exitOK {
		t.Fatalf("devnet exited %d after SIGTERM: %s", code, tail(run.err.String(), 30))
	}
	// Stopped in reverse index order: node2's root stops before node1's, node1's before node0's.
	log := run.err.String()
	last := -1
	for k := 2; k >= 0; k-- {
		i := strings.Index(log, fmt.Sprintf(`"msg":"actor stopped","node":%d,"actor":"node"`, k))
		if i < 0 || i < last {
			t.Fatalf("node%d's stop record missing or out of order (at %d, previous at %d)", k, i, last)
		}
		last = i
	}
	// Restarted on the same directory, the devnet reuses its homes (same node ids).
	d := decode[devnet](t, cli(t, "devnet", "--init-only", "--json", "--dir", dir, "--base-port", strconv.Itoa(base)).want(t, exitOK))
	for k, n := range d.Nodes {
		if n.NodeID != ids[k] {
			t.Fatalf("node%d has id %s after the run, %s during", k, n.NodeID, ids[k])
		}
	}
}

// agree: every node is at height >= 3, connected to the two others, and all have the same block
// at the lowest height minus 2 (competing miners may fork at the tip).
func agree(t *testing.T, clients []*api.Client) bool {
	minH := ^uint64(0)
	for _, c := range clients {
		st, err := c.Status(reqCtx(t))
		if err != nil || st.Height < 3 || st.Peers < 2 {
			return false
		}
		minH = min(minH, st.Height)
	}
	ref := ""
	for _, c := range clients {
		b, err := c.Block(reqCtx(t), strconv.FormatUint(minH-2, 10))
		if err != nil {
			return false
		}
		if ref == "" {
			ref = b.Hash
		}
		if b.Hash != ref {
			return false
		}
	}
	return true
}

func TestDevnetPortTaken(t *testing.T) {
	base := freePorts(t, 6)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+4))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := cli(t, "devnet", "--dir", filepath.Join(t.TempDir(), "dn"), "--base-port", strconv.Itoa(base))
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), fmt.Sprintf("node2's p2p.listen 127.0.0.1:%d", base+4)) {
		t.Fatalf("taken port not named: %s", r.err.String())
	}
}
