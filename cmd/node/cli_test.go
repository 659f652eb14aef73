package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

var (
	hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hex40 = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func TestInitFreshRefuseForceChain(t *testing.T) {
	dir := t.TempDir()
	home, a := initHome(t, dir, "a")
	if a.Home != home || !hex64.MatchString(a.NodeID) || !hex64.MatchString(a.GenesisHash) ||
		!hex40.MatchString(a.WalletAddress) || !hex40.MatchString(a.MinerAddress) {
		t.Fatalf("init answer %+v", a)
	}
	for _, f := range []string{"node.yaml", "keys/node.key", "keys/miner.key", "keys/wallet.key"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Fatalf("init wrote no %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("init wrote a database directory (err %v)", err)
	}
	// The wallet key is the funded one, and keys show reads it.
	show := decode[map[string]string](t, cli(t, "keys", "show", filepath.Join(home, "keys", "wallet.key")).want(t, exitOK))
	if show["address"] != a.WalletAddress {
		t.Fatalf("keys show wallet.key = %v, init said %s", show, a.WalletAddress)
	}

	r := cli(t, "init", "--home", home)
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), "--force") {
		t.Fatalf("refusal does not mention --force: %s", r.err.String())
	}
	forced := decode[initAnswer](t, cli(t, "init", "--home", home, "--force").want(t, exitOK))
	if forced.NodeID == a.NodeID || forced.WalletAddress == a.WalletAddress {
		t.Fatalf("--force kept the old keys: %+v", forced)
	}

	// --chain joins node a's chain: same genesis, own keys.
	_, b := initHome(t, dir, "b", "--chain", filepath.Join(home, "node.yaml"))
	if b.GenesisHash != forced.GenesisHash || b.NodeID == forced.NodeID {
		t.Fatalf("--chain: b %+v, a %+v", b, forced)
	}
	// Without --chain, a new chain (its genesis funds another wallet).
	_, c := initHome(t, dir, "c")
	if c.GenesisHash == forced.GenesisHash {
		t.Fatal("two fresh devnets share a genesis")
	}
}

func TestKeysNewShow(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k.key")
	made := decode[map[string]string](t, cli(t, "keys", "new", "--out", file).want(t, exitOK))
	if !hex64.MatchString(made["public_key"]) || !hex40.MatchString(made["address"]) {
		t.Fatalf("keys new printed %v", made)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (err %v), want 0600", st.Mode().Perm(), err)
	}
	shown := decode[map[string]string](t, cli(t, "keys", "show", file).want(t, exitOK))
	if shown["public_key"] != made["public_key"] || shown["address"] != made["address"] {
		t.Fatalf("keys show %v, keys new %v", shown, made)
	}
	cli(t, "keys", "new").want(t, exitUsage)
	cli(t, "keys", "show", filepath.Join(t.TempDir(), "missing.key")).want(t, exitFailure)
}

func TestPeersExportNeverRun(t *testing.T) {
	home, a := initHome(t, t.TempDir(), "a")
	b := decode[api.Bundle](t, cli(t, "peers", "export", "--home", home).want(t, exitOK))
	if b.Version != 1 || b.ChainID != config.Default().Chain.ID || b.GenesisHash != a.GenesisHash || b.Peers == nil || len(b.Peers) != 0 {
		t.Fatalf("bundle of a never-run home: %+v (init genesis %s)", b, a.GenesisHash)
	}
	if _, err := os.Stat(filepath.Join(home, "data")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("export created a database (err %v)", err)
	}
	// An uninitialised home is refused rather than exported with default genesis.
	r := cli(t, "peers", "export", "--home", filepath.Join(t.TempDir(), "none"))
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), "node init") {
		t.Fatalf("export of an uninitialised home: %s", r.err.String())
	}
}

// bundleWith returns a bundle of home's chain with the given peers, as JSON in a file.
func bundleWith(t *testing.T, home string, peers ...api.BundlePeer) string {
	t.Helper()
	b := decode[api.Bundle](t, cli(t, "peers", "export", "--home", home).want(t, exitOK))
	b.Peers = peers
	file := filepath.Join(t.TempDir(), "bundle.json")
	if err := writeJSONFile(file, b); err != nil {
		t.Fatal(err)
	}
	return file
}

func somePeer(i int) api.BundlePeer {
	return api.BundlePeer{
		ID:       strings.Repeat(fmt.Sprintf("%02x", i+1), 32),
		Addr:     fmt.Sprintf("127.0.0.1:%d", 20000+i),
		LastSeen: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestPeersImportStoppedThenExport(t *testing.T) {
	home, _ := initHome(t, t.TempDir(), "a")
	file := bundleWith(t, home, somePeer(0), somePeer(1))
	added := decode[map[string]int](t, cli(t, "peers", "import", "--home", home, file).want(t, exitOK))
	if added["added"] != 2 {
		t.Fatalf("import answered %v, want added 2", added)
	}
	again := decode[map[string]int](t, cli(t, "peers", "import", "--home", home, file).want(t, exitOK))
	if again["added"] != 0 {
		t.Fatalf("second import answered %v, want added 0", again)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	if s := cli(t, "peers", "export", "--home", home, "--out", out).want(t, exitOK); s != "" {
		t.Fatalf("export --out printed %q on stdout", s)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := actors.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range b.Peers {
		got = append(got, p.ID+"@"+p.Addr)
	}
	slices.Sort(got)
	want := []string{somePeer(0).ID + "@" + somePeer(0).Addr, somePeer(1).ID + "@" + somePeer(1).Addr}
	if !slices.Equal(got, want) {
		t.Fatalf("exported peers %v, want %v", got, want)
	}
}

func TestPeersImportOtherChainOrMalformed(t *testing.T) {
	dir := t.TempDir()
	home, a := initHome(t, dir, "a")
	other, e := initHome(t, dir, "e")
	file := bundleWith(t, other, somePeer(0))
	r := cli(t, "peers", "import", "--home", home, file)
	r.want(t, exitFailure)
	msg := r.err.String()
	if !strings.Contains(msg, `chain "actorchain-devnet"`) || !strings.Contains(msg, e.GenesisHash) || !strings.Contains(msg, a.GenesisHash) {
		t.Fatalf("refusal of another chain's bundle does not name the chains: %s", msg)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"chain_id":"x","surprise":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = cli(t, "peers", "import", "--home", home, bad)
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), "surprise") {
		t.Fatalf("malformed bundle error: %s", r.err.String())
	}
	cli(t, "peers", "import", "--home", home, filepath.Join(dir, "missing.json")).want(t, exitFailure)
	cli(t, "peers", "import", "--home", home).want(t, exitUsage)
}

func TestPeersAddNeedsARunningNode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	_ = l.Close()
	peer := somePeer(0).ID + "@127.0.0.1:9"
	r := cli(t, "peers", "add", "--api", url, peer)
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), "no node answers at "+url) {
		t.Fatalf("peers add without a node: %s", r.err.String())
	}
	cli(t, "peers", "add", "--api", url, "not-an-address").want(t, exitUsage)
	cli(t, "peers", "add", "--api", url).want(t, exitUsage)
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	home, _ := initHome(t, t.TempDir(), "a")
	file := filepath.Join(home, "node.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "max_inbound: 32", "max_inbound: -1", 1)
	if broken == string(data) {
		t.Fatal("node.yaml has no max_inbound: 32 line")
	}
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run"}, {"peers", "export"}, {"verify"}} {
		r := cli(t, append(args, "--home", home)...)
		r.want(t, exitUsage)
		if !strings.Contains(r.err.String(), "p2p.max_inbound") {
			t.Fatalf("%v: error does not name the key: %s", args, r.err.String())
		}
	}
	if err := os.WriteFile(file, append(data, []byte("\nbogus:\n  key: 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "peers", "export", "--home", home)
	r.want(t, exitUsage)
	if !strings.Contains(r.err.String(), "bogus") {
		t.Fatalf("unknown section not named: %s", r.err.String())
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ACTORCHAIN_MEMPOOL_MAX_TXS", "0")
	r = cli(t, "verify", "--home", home)
	r.want(t, exitUsage)
	if !strings.Contains(r.err.String(), "mempool.max_txs") {
		t.Fatalf("environment error does not name the key: %s", r.err.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bogus"}, {"peers", "bogus"}, {"keys", "bogus"}, {"tx", "bogus"}, {"status", "extra"},
		{"keys", "show"}, {"init", "--bogus"}, {"devnet", "--nodes", "0"}, {"devnet", "--base-port", "65535"},
		{"run", "--log-level", "loud", "--home", t.TempDir()},
	} {
		r := cli(t, args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (stderr %s)", args, r.code, r.err.String())
		}
	}
	r := cli(t, "devnt")
	if r.code != exitUsage || !strings.Contains(r.err.String(), "devnet") {
		t.Fatalf("misspelt command: exit %d, %s", r.code, r.err.String())
	}
}

func TestHelpListsCommands(t *testing.T) {
	out := cli(t, "--help").want(t, exitOK)
	for _, c := range []string{"init", "run", "devnet", "status", "peers", "keys", "tx", "verify", "bench", "version"} {
		if !regexp.MustCompile(`(?m)^  ` + c + `\s`).MatchString(out) {
			t.Errorf("--help does not list %s:\n%s", c, out)
		}
	}
	peers := cli(t, "peers").want(t, exitOK)
	for _, c := range []string{"export", "import", "add", "list"} {
		if !strings.Contains(peers, c) {
			t.Errorf("peers help does not list %s", c)
		}
	}
	if v := cli(t, "version").want(t, exitOK); !strings.Contains(v, actors.Version) {
		t.Fatalf("version printed %q", v)
	}
}

// TestPeersAgainstRunningNode runs `node run` in-process and checks the running-node rule:
// without --api, export and import find the node through HOME's database lock and go through
// its API; peers add asks it to dial.
func TestPeersAgainstRunningNode(t *testing.T) {
	dir := t.TempDir()
	home, _ := initHome(t, dir, "a")
	base := freePorts(t, 2)
	editConfig(t, home, func(c *config.Config) {
		c.P2P.Listen = fmt.Sprintf("127.0.0.1:%d", base)
		c.API.Listen = fmt.Sprintf("127.0.0.1:%d", base+1)
		c.Mining.Enabled = false
	})
	node := cliStart(t, "run", "--home", home)
	client := apiClient(t, fmt.Sprintf("http://127.0.0.1:%d", base+1))
	testutil.WaitFor(t, 20*time.Second, "the node's API answers", func() bool {
		if node.exited() {
			t.Fatalf("node exited %d: %s", node.code, tail(node.err.String(), 20))
		}
		_, err := client.Status(reqCtx(t))
		return err == nil
	})
	cfg, err := config.Load(home, filepath.Join(home, "node.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if running, err := actors.HomeRunning(cfg); err != nil || !running {
		t.Fatalf("HomeRunning = %v, %v while the node runs", running, err)
	}

	file := bundleWith(t, home, somePeer(0)) // export through the API
	added := decode[map[string]int](t, cli(t, "peers", "import", "--home", home, file).want(t, exitOK))
	if added["added"] != 1 {
		t.Fatalf("import into the running node answered %v", added)
	}
	info, err := client.Peers(reqCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(info.Known, func(p api.KnownPeer) bool { return p.ID == somePeer(0).ID }) {
		t.Fatalf("the running node does not know the imported peer: %+v", info)
	}
	b := decode[api.Bundle](t, cli(t, "peers", "export", "--home", home).want(t, exitOK))
	if !slices.ContainsFunc(b.Peers, func(p api.BundlePeer) bool { return p.ID == somePeer(0).ID }) {
		t.Fatalf("export from the running node lacks the imported peer: %+v", b)
	}
	// A second node of the same chain: peers add makes the first dial it now.
	home2, _ := initHome(t, dir, "b", "--chain", filepath.Join(home, "node.yaml"))
	base2 := freePorts(t, 2)
	editConfig(t, home2, func(c *config.Config) {
		c.P2P.Listen = fmt.Sprintf("127.0.0.1:%d", base2)
		c.API.Listen = fmt.Sprintf("127.0.0.1:%d", base2+1)
		c.Mining.Enabled = false
	})
	node2 := cliStart(t, "run", "--home", home2)
	client2 := apiClient(t, fmt.Sprintf("http://127.0.0.1:%d", base2+1))
	var id2 string
	testutil.WaitFor(t, 20*time.Second, "the second node's API answers", func() bool {
		if node2.exited() {
			t.Fatalf("node b exited %d: %s", node2.code, tail(node2.err.String(), 20))
		}
		st, err := client2.Status(reqCtx(t))
		id2 = st.NodeID
		return err == nil
	})
	// A full book's bundle (as many peers as the book holds, each with the longest address, over
	// the 1 MiB other API bodies get) imports through the API too (into the second, fresh node). The host is one 249-character
	// label, not a valid DNS name: the node's dials of it fail without a lookup.
	host := strings.Repeat("h", 255-len(":65535"))
	var full []api.BundlePeer
	for i := range api.MaxBundlePeers {
		p := somePeer(0)
		p.ID, p.Addr = fmt.Sprintf("%064x", 1000+i), fmt.Sprintf("%s:%d", host, 1+i%65535)
		full = append(full, p)
	}
	fullFile := bundleWith(t, home2, full...)
	if fi, err := os.Stat(fullFile); err != nil || fi.Size() <= api.DefaultMaxBodyBytes {
		t.Fatalf("the full bundle file: %v, %v; want over 1 MiB", fi, err)
	}
	if got := decode[map[string]int](t, cli(t, "peers", "import", "--home", home2, fullFile).want(t, exitOK)); got["added"] < 1 {
		t.Fatalf("import of a full book's bundle into the second running node answered %v", got)
	}

	out := cli(t, "peers", "add", "--home", home, fmt.Sprintf("%s@127.0.0.1:%d", id2, base2)).want(t, exitOK)
	if !strings.Contains(out, "dialling") {
		t.Fatalf("peers add printed %q", out)
	}
	testutil.WaitFor(t, 20*time.Second, "node a connects to node b", func() bool {
		info, err := client.Peers(reqCtx(t))
		return err == nil && slices.ContainsFunc(info.Connected, func(p api.PeerInfo) bool { return p.ID == id2 })
	})
	list := decode[api.PeersInfo](t, cli(t, "peers", "list", "--home", home).want(t, exitOK))
	if !slices.ContainsFunc(list.Connected, func(p api.PeerInfo) bool { return p.ID == id2 }) {
		t.Fatalf("peers list: %+v", list)
	}

	if code := node2.stop(t, 20*time.Second); code != exitOK {
		t.Fatalf("node b exited %d after SIGTERM: %s", code, tail(node2.err.String(), 20))
	}
	if code := node.stop(t, 20*time.Second); code != exitOK {
		t.Fatalf("node a exited %d after SIGTERM: %s", code, tail(node.err.String(), 20))
	}
	// Stopped: the same commands work on the store, which kept the imported peer.
	b = decode[api.Bundle](t, cli(t, "peers", "export", "--home", home).want(t, exitOK))
	if !slices.ContainsFunc(b.Peers, func(p api.BundlePeer) bool { return p.ID == somePeer(0).ID }) {
		t.Fatalf("export from the stopped home lacks the imported peer: %+v", b)
	}
	r := cli(t, "peers", "add", "--home", home, fmt.Sprintf("%s@127.0.0.1:%d", id2, base2))
	r.want(t, exitFailure)
	if !strings.Contains(r.err.String(), "no node answers") {
		t.Fatalf("peers add to a stopped node: %s", r.err.String())
	}
}

// TestSecondSignalForcesExit: a stop that hangs is abandoned at the second signal with exit 130.
func TestSecondSignalForcesExit(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	g := &globals{io: cliIO{out: &testutil.LogBuffer{}, err: &testutil.LogBuffer{}}}
	release := make(chan struct{})
	stopped := make(chan struct{})
	sigs <- syscall.SIGINT
	err := g.stopOrForce(sigs, func(context.Context) error {
		defer close(stopped)
		<-release
		return nil
	})
	close(release)
	<-stopped
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitForced {
		t.Fatalf("stopOrForce after a second signal = %v, want exit 130", err)
	}
}
