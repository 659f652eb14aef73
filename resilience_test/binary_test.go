package resilience_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

// The tests of this file build the real `node` binary (once for the tests that run together: they
// are parallel tests, so they share one build, removed when the last one ends) and drive it as an
// operator would: init, run, tx send, kill -9, SIGTERM, verify.

var nodeBin struct {
	mu   sync.Mutex
	refs int
	dir  string
	path string
}

// nodeBinary returns the path of a `node` binary built from this module's cmd/node.
func nodeBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds ./cmd/node and needs the go command on PATH: %v", err)
	}
	nodeBin.mu.Lock()
	defer nodeBin.mu.Unlock()
	nodeBin.refs++
	t.Cleanup(releaseNodeBinary)
	if nodeBin.path != "" {
		return nodeBin.path
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("cannot find the module root (go env GOMOD = %q): %v", gomod, err)
	}
	dir, err := os.MkdirTemp("", "actorchain-node-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "node")
	began := time.Now()
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/node")
	build.Dir = filepath.Dir(gomod)
	if b, err := build.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("go build ./cmd/node: %v\n%s", err, b)
	}
	t.Logf("built %s in %v", bin, time.Since(began).Round(time.Millisecond))
	nodeBin.dir, nodeBin.path = dir, bin
	return bin
}

func releaseNodeBinary() {
	nodeBin.mu.Lock()
	defer nodeBin.mu.Unlock()
	nodeBin.refs--
	if nodeBin.refs == 0 && nodeBin.dir != "" {
		_ = os.RemoveAll(nodeBin.dir)
		nodeBin.dir, nodeBin.path = "", ""
	}
}

// binNode is a home driven through the binary, with the environment every command of it gets.
type binNode struct {
	t    *testing.T
	bin  string
	home string
	env  []string
	url  string
	api  *api.Client
}

// newBinNode runs `node init` on a fresh home; every later command gets the same environment:
// pow_bits 12, the API on a free loopback port, networking off.
func newBinNode(t *testing.T) *binNode {
	t.Helper()
	b := &binNode{t: t, bin: nodeBinary(t), home: filepath.Join(t.TempDir(), "home")}
	port := freePort(t)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ACTORCHAIN_") {
			b.env = append(b.env, kv)
		}
	}
	b.env = append(b.env,
		"ACTORCHAIN_CHAIN_POW_BITS=12",
		"ACTORCHAIN_API_LISTEN=127.0.0.1:"+strconv.Itoa(port),
		"ACTORCHAIN_P2P_LISTEN=",
	)
	b.url = "http://127.0.0.1:" + strconv.Itoa(port)
	b.api = api.NewClient(b.url, &http.Client{Timeout: 10 * time.Second})
	out := b.mustRun("init", "--home", b.home)
	var res actors.InitResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.WalletAddress == "" {
		t.Fatalf("node init printed %q (%v)", out, err)
	}
	return b
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// run runs a short command to completion and returns its stdout, stderr and exit code.
func (b *binNode) run(args ...string) (stdout, stderr string, code int) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = b.env
	var o, e testutil.LogBuffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		b.t.Fatalf("node %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

func (b *binNode) mustRun(args ...string) string {
	b.t.Helper()
	out, errOut, code := b.run(args...)
	if code != 0 {
		b.t.Fatalf("node %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// proc is a long-running command of the binary.
type proc struct {
	cmd  *exec.Cmd
	out  *testutil.LogBuffer
	logs *testutil.LogBuffer // stderr: the JSON log of `run`
	done chan struct{}
	err  error
}

func (b *binNode) start(args ...string) *proc {
	b.t.Helper()
	p := &proc{out: &testutil.LogBuffer{}, logs: &testutil.LogBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(b.bin, args...)
	p.cmd.Env = b.env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.logs
	if err := p.cmd.Start(); err != nil {
		b.t.Fatalf("start node %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	b.t.Cleanup(p.kill)
	return p
}

// runNode starts `node run` with a JSON log and waits until its API answers.
func (b *binNode) runNode() *proc {
	b.t.Helper()
	p := b.start("run", "--home", b.home, "--log-format", "json")
	testutil.WaitFor(b.t, 30*time.Second, "the node's API", func() bool {
		if p.exited() {
			b.t.Fatalf("node run exited early (%v): %s", p.err, p.logs.Tail())
		}
		_, err := b.api.Status(context.Background())
		return err == nil
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits for the process (idempotent).
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// waitExit waits at most d for the process to end and returns its exit code.
func (p *proc) waitExit(t *testing.T, d time.Duration, what string) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("%s: still running after %v: %s", what, d, p.logs.Tail())
		return -1
	}
}

// checkLogStopOrder reads a node process's JSON log: its last `actor stopped` record is node's,
// the one before storage's, api stopped first, and `store closed` came before storage's record.
func checkLogStopOrder(t *testing.T, logs *testutil.LogBuffer) {
	t.Helper()
	recs := logs.Records()
	stopped := testutil.ActorsOf(recs, "actor stopped")
	if len(stopped) == 0 || stopped[0] != "api" {
		t.Errorf("the first `actor stopped` record is not api's: %v", stopped)
	}
	checkStoppedLast(t, recs, stopped)
}

// TestBinaryKill9UnderLoad: the real binary is killed with SIGKILL while it mines and takes
// transfers from the CLI's load generator and from this test (which records every 202). Offline
// verify passes, the restarted node has every acknowledged transfer (pending or confirmed) and at
// least the last reported tip, and SIGTERM then stops it in order with exit code 0.
func TestBinaryKill9UnderLoad(t *testing.T) {
	t.Parallel()
	b := newBinNode(t)
	ctx := context.Background()
	cfg, err := config.Load(b.home, "", b.env)
	if err != nil {
		t.Fatal(err)
	}
	params, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	walletFile := filepath.Join(b.home, "keys", "wallet.key")
	wallet, err := chainstate.LoadSigningKey(walletFile)
	if err != nil {
		t.Fatal(err)
	}

	p1 := b.runNode()
	// Our own transfers come from a second key, so that they never race the load generator for
	// the wallet's nonces.
	spender := newKey(t, 51)
	fund := transfer(params, wallet, addrOf(spender), 1_000_000, 0, 0)
	if _, err := b.api.SubmitTx(ctx, api.TxFromChain(fund)); err != nil {
		t.Fatalf("fund the test's key: %v", err)
	}
	testutil.WaitFor(t, 20*time.Second, "the funding transfer to be confirmed", func() bool {
		st, err := b.api.Tx(ctx, fund.Hash().String())
		return err == nil && st.Status == api.TxConfirmed
	})

	to := addrOf(newKey(t, 52))
	load := b.start("tx", "send", "--home", b.home, "--key", walletFile, "--to", to.String(),
		"--amount", "1", "--count", "200", "--concurrency", "4", "--api", b.url)
	stream := startStream(t, params, spender, to, 0, apiSubmit(b.api))
	testutil.WaitFor(t, 20*time.Second, "30 acknowledged transfers", func() bool { return stream.count() >= 30 })
	// The kill must find the load generator sending: before its first acknowledgement it may still
	// be asking for the wallet's pending nonce, and a node gone at that point is a plain error
	// (exit 1, no summary), not the case under test. The funding took nonce 0.
	testutil.WaitFor(t, 20*time.Second, "the load generator's first acknowledged transfer", func() bool {
		a, err := b.api.Account(ctx, addrOf(wallet).String())
		return err == nil && a.PendingNonce >= 2
	})
	last, err := b.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loadRunning := !load.exited()
	p1.kill()
	t.Logf("SIGKILL at height %d with %d of our transfers acknowledged; the load generator was still running: %v",
		last.Height, stream.count(), loadRunning)

	code := load.waitExit(t, 60*time.Second, "node tx send")
	var lr struct{ Sent, Accepted, Rejected int }
	if err := json.Unmarshal(load.out.Bytes(), &lr); err != nil || lr.Sent != 200 || lr.Accepted+lr.Rejected != 200 {
		t.Fatalf("node tx send exited %d and printed %q (%v)%s", code, load.out.String(), err, load.logs.Tail())
	}
	// The transfers sent after the kill are not accepted, and then the load generator exits 1.
	if want := map[bool]int{false: 0, true: 1}[lr.Rejected > 0]; code != want {
		t.Fatalf("node tx send exited %d with %d rejections, want %d: %s", code, lr.Rejected, want, load.logs.Tail())
	}
	t.Logf("load generator: %+v", lr)
	stream.stop()
	acked, unexpected, _ := stream.result()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected rejections: %v", unexpected)
	}

	out := b.mustRun("verify", "--home", b.home)
	t.Logf("verify after SIGKILL: %s", strings.TrimSpace(out))

	p2 := b.runNode()
	st, err := b.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Height < last.Height {
		t.Fatalf("height %d after the restart, the API had reported %d", st.Height, last.Height)
	}
	if _, err := b.api.Block(ctx, last.TipHash); err != nil {
		t.Fatalf("the last reported tip %s is gone after the restart: %v", last.TipHash, err)
	}
	pending, confirmed := checkAcked(t, acked, func(h chainstate.Hash) (string, error) {
		s, err := b.api.Tx(ctx, h.String())
		return s.Status, err
	})
	t.Logf("after the restart: %d acknowledged transfers, %d confirmed, %d pending", len(acked), confirmed, pending)

	began := time.Now()
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.waitExit(t, 5*time.Second, "SIGTERM"); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0: %s", code, p2.logs.Tail())
	}
	t.Logf("SIGTERM to exit: %v", time.Since(began).Round(time.Millisecond))
	checkLogStopOrder(t, p2.logs)
	b.mustRun("verify", "--home", b.home)
}

// TestSIGTERMWhileMining: SIGTERM stops a node whose workers are busy quickly (the figure is
// logged; the bound asserted is 5 s) with exit code 0 and an ordered stop; a second signal during
// the stop exits at once (130) or finds the stop done (0), and the home verifies either way.
func TestSIGTERMWhileMining(t *testing.T) {
	t.Parallel()
	b := newBinNode(t)
	ctx := context.Background()
	p := b.runNode()
	var h0 uint64
	var hashes0 float64
	testutil.WaitFor(t, 20*time.Second, "the miners to be busy", func() bool {
		st, err := b.api.Status(ctx)
		if err != nil || !st.Mining {
			return false
		}
		hs := minerHashes(t, b.url)
		if h0 == 0 {
			h0, hashes0 = st.Height+1, hs
			return false
		}
		return st.Height > h0 && hs > hashes0
	})
	began := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := p.waitExit(t, 5*time.Second, "SIGTERM while mining")
	took := time.Since(began)
	t.Logf("SIGTERM to exit while mining: %v", took.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0: %s", code, p.logs.Tail())
	}
	checkLogStopOrder(t, p.logs)

	// A second signal while stopping.
	p = b.runNode()
	restart, err := b.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 20*time.Second, "mining", func() bool {
		st, err := b.api.Status(ctx)
		return err == nil && st.Mining && st.Height > restart.Height
	})
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	code = p.waitExit(t, 5*time.Second, "SIGINT then SIGTERM")
	switch code {
	case 0:
		checkLogStopOrder(t, p.logs)
	case 130:
		if !strings.Contains(p.logs.String(), "second signal") {
			t.Errorf("exit 130 without saying why: %s", p.logs.Tail())
		}
	default:
		t.Fatalf("exit code %d after two signals, want 130 (or 0 if the stop was already done): %s", code, p.logs.Tail())
	}
	t.Logf("two signals: exit %d", code)
	b.mustRun("verify", "--home", b.home)
}

// minerHashes reads actorchain_miner_hashes_total from the node's /metrics.
func minerHashes(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "actorchain_miner_hashes_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no actorchain_miner_hashes_total in /metrics")
	return 0
}
