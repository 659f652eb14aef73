package perf

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// The user rows (issue 11 §4) run exactly what a user runs: the shipped binary as child processes
// (`node run`, the `node tx send --count` load generator, `node peers add`), talking to each
// other over loopback as separate processes do, with nothing pre-signed and nothing shared in
// memory.

// NodeCommand returns the command that runs the node binary with args (`node ARGS...`).
// DefaultNode runs this executable.
type NodeCommand func(args ...string) (*exec.Cmd, error)

// DefaultNode runs this executable with args: right when the running program is the node binary
// (`node bench`).
func DefaultNode(args ...string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the node executable: %w", err)
	}
	return exec.Command(exe, args...), nil
}

// userSenders and userInflight are the black-box ingest's load: 4 `node tx send` processes with
// --concurrency 8 each.
const userSenders, userInflight = 4, 8

// userIngest measures durable ingest as a user does: a child `node run` (mining and networking
// off, as the ingest row) and userSenders child `node tx send --count N/4 --concurrency 8`
// processes started together, each with its own funded key file; the rate is N over the time from
// starting the senders until the last one exited (process start, key loading, the status and
// account requests and the signing included). Its limit is the in-process API ingest of the same
// count (pre-signed, one process; the `ingest` row), measured in the same run: the two alternate,
// s.UserRounds times each, and each side is the median. The goal is the ingest row's (a value of
// at least 5,000 tx/s); the ratio says what the processes cost.
func userIngest(l *Lab, s Sizes) ([]Result, error) {
	var user, harness []float64
	var notes []string
	for range max(1, s.UserRounds) {
		rs, err := ingestN(l, s.UserIngestTxs, false)
		if err != nil {
			return nil, fmt.Errorf("in-process ingest: %w", err)
		}
		harness = append(harness, rs[0].Value)
		rate, note, err := l.userIngestOnce(s.UserIngestTxs)
		if err != nil {
			return nil, err
		}
		user = append(user, rate)
		notes = append(notes, note)
	}
	per := s.UserIngestTxs / userSenders
	r := relative("user-ingest", fmt.Sprintf("durable ingest from %d `node tx send --count %s --concurrency %d` processes into a `node run` process",
		userSenders, thousands(per), userInflight), median(user), "tx/s",
		"in-process API ingest of pre-signed transfers (the ingest row)", median(harness), "tx/s", valueAtLeast(5000))
	r.Note = fmt.Sprintf("user runs %v tx/s, in-process %v tx/s (alternating); %s", roundAll(user), roundAll(harness), strings.Join(notes, " | "))
	return []Result{r}, nil
}

// userIngestOnce runs one black-box ingest of count transfers and returns its rate and a note with
// the CPU time per transfer of the node and of the senders, and the node's group commits.
func (l *Lab) userIngestOnce(count int) (float64, string, error) {
	h, err := l.NewHome(func(c *config.Config) {
		c.Mempool.MaxTxs = max(c.Mempool.MaxTxs, 2*count)
		fundSenders(c, userSenders)
	})
	if err != nil {
		return 0, "", err
	}
	keys := make([]string, userSenders)
	for i := range keys {
		keys[i] = filepath.Join(h.Dir, "keys", fmt.Sprintf("sender-%d.key", i))
		if err := chainstate.WriteKeyFile(keys[i], chainstate.KeyTypeEd25519, bytes.Repeat([]byte{byte(60 + i)}, chainstate.KeySeedSize)); err != nil {
			return 0, "", err
		}
	}
	node, err := h.StartChild()
	if err != nil {
		return 0, "", err
	}
	defer func() { _, _ = node.Terminate(30 * time.Second) }()
	cpu0 := node.cpuSeconds()
	per := count / userSenders
	to := addrOf(keyFromSeed(99)).String()
	url := "http://" + h.Cfg.API.Listen
	t0 := time.Now()
	sendersCPU, err := l.runSenders(keys, url, to, per)
	if err != nil {
		return 0, "", err
	}
	d := time.Since(t0)
	cpu1 := node.cpuSeconds()
	st, err := node.API.Status(context.Background())
	if err != nil {
		return 0, "", err
	}
	if st.Mempool != per*userSenders {
		return 0, "", fmt.Errorf("the node's mempool holds %d transfers, want %d", st.Mempool, per*userSenders)
	}
	total := float64(per * userSenders)
	note := fmt.Sprintf("CPU per transfer: node %.0f µs, senders %.0f µs", (cpu1-cpu0)*1e6/total, sendersCPU.Seconds()*1e6/total)
	if sum, commits, err := childCommits(node); err == nil {
		note += "; " + groupCommitNote(commits, sum, per*userSenders)
	}
	return total / d.Seconds(), note, nil
}

// runSenders runs one `node tx send --count per` process for each key against the API at url
// and waits for all of them; each must have had every transfer accepted. It returns their CPU.
func (l *Lab) runSenders(keys []string, url, to string, per int) (time.Duration, error) {
	procs := make([]*Proc, len(keys))
	for i := range procs {
		var err error
		procs[i], err = l.StartProc("tx", "send", "--api", url, "--key", keys[i], "--to", to, "--amount", "1",
			"--count", strconv.Itoa(per), "--concurrency", strconv.Itoa(userInflight))
		if err != nil {
			return 0, err
		}
	}
	var cpu time.Duration
	for i, p := range procs {
		if err := p.Wait(10 * time.Minute); err != nil {
			return 0, fmt.Errorf("sender %d: %w", i, err)
		}
		var res struct{ Sent, Accepted, Rejected int }
		if err := json.Unmarshal(p.Stdout(), &res); err != nil {
			return 0, fmt.Errorf("sender %d printed %q: %w", i, p.Stdout(), err)
		}
		if res.Accepted != per || res.Rejected != 0 {
			return 0, fmt.Errorf("sender %d: %d of %d accepted, %d rejected", i, res.Accepted, per, res.Rejected)
		}
		cpu += p.CPU()
	}
	return cpu, nil
}

// childCommits reads the mempool commit histogram (sum of seconds, count) from a child's /metrics.
func childCommits(c *Child) (sum, count float64, err error) {
	text, err := c.Metrics()
	if err != nil {
		return 0, 0, err
	}
	sum, err1 := sampleValue(text, `actorchain_storage_commit_seconds_sum{op="mempool"}`)
	count, err2 := sampleValue(text, `actorchain_storage_commit_seconds_count{op="mempool"}`)
	if err1 != nil {
		return 0, 0, err1
	}
	return sum, count, err2
}

// userSync measures a sync between two `node run` processes as a user sets it up: one holds a
// chain of s.UserSyncTxs transfers (blocks of 1,000; a copy of the fixture's database), the other
// is a fresh home of the same chain; both are running when `node peers add` (a child process)
// tells the fresh one to connect to the other, and the time runs from starting `peers add` until
// the fresh node's API reports the whole chain. Two rows: the rate against bare stdlib
// verification of the same signatures on all cores (goal 0.8) and against the batch verification
// the node itself uses, chainstate.CheckBlock of the same blocks on all cores with an empty
// signature cache (goal 0.8). Both limits are measured right after each sync, and each row is
// the round (of s.UserSyncRounds, each to a fresh home) whose ratio is the median: the machine's
// other tenants move the sync and its limits together within a round (the batch limit alone by
// up to a fifth between rounds a minute apart), so a round's ratio is steadier than the ratio of
// the rates' and the limits' separate medians.
func userSync(l *Lab, s Sizes) ([]Result, error) {
	f, err := l.fixture(s.UserSyncTxs, 1000)
	if err != nil {
		return nil, err
	}
	src, err := l.Join(f.src, userSyncConfig)
	if err != nil {
		return nil, err
	}
	if err := src.copyDB(f.src); err != nil {
		return nil, err
	}
	a, err := src.StartChild()
	if err != nil {
		return nil, err
	}
	defer func() { _, _ = a.Terminate(30 * time.Second) }()
	st, err := a.API.Status(context.Background())
	if err != nil {
		return nil, err
	}
	if st.Height != uint64(len(f.blocks)) {
		return nil, fmt.Errorf("the node holding the chain is at height %d, want %d", st.Height, len(f.blocks))
	}
	// A node that serves a sync has been up a while: its startup walk of the database (which
	// decodes every stored block, in the background) is over before the first round.
	if err := l.poll(2*time.Minute, "the serving node's database page walk", func() bool {
		return strings.Contains(a.logs.String(), "database page walk done")
	}); err != nil {
		return nil, err
	}
	peer := st.NodeID + "@" + src.Cfg.P2P.Listen
	p, err := actors.ParamsFromConfig(f.src.Cfg)
	if err != nil {
		return nil, err
	}
	var rates, bares, batches, adds, firsts []float64
	var notes []string
	for range max(1, s.UserSyncRounds) {
		served := a.cpuSeconds()
		rate, add, first, note, err := l.userSyncOnce(f, peer)
		if err != nil {
			return nil, err
		}
		// The serving process's CPU over the round (its reads, the wire), per block served.
		notes = append(notes, fmt.Sprintf("%s; serving node %.2f ms CPU a block", note, 1000*(a.cpuSeconds()-served)/float64(len(f.blocks))))
		bare, err := BareVerifyRate(f.txs)
		if err != nil {
			return nil, err
		}
		batch, err := BatchVerifyRate(p, f.blocks)
		if err != nil {
			return nil, err
		}
		rates, bares, batches = append(rates, rate), append(bares, bare), append(batches, batch)
		adds, firsts = append(adds, ms(add)), append(firsts, ms(first))
	}
	fig := fmt.Sprintf("sync of %s transfers between two `node run` processes (`node peers add`)", thousands(s.UserSyncTxs))
	note := fmt.Sprintf("syncs %v tx/s; bare %v sig/s; batch %v tx/s; `peers add` took %v ms, first block connected after %v ms; %s",
		roundAll(rates), roundAll(bares), roundAll(batches), roundAll(adds), roundAll(firsts), strings.Join(notes, " | "))
	i, k := medianRatio(rates, bares), medianRatio(rates, batches)
	bareRow := relative("user-sync", fig, rates[i], "tx/s", verifyLimit, bares[i], "sig/s", atLeast(0.8))
	batchRow := relative("user-sync-batch", fig, rates[k], "tx/s", "chainstate.CheckBlock of the same blocks on all cores, empty signature cache", batches[k], "tx/s", atLeast(0.8))
	bareRow.Note = note
	return []Result{bareRow, batchRow}, nil
}

// medianRatio returns the index of the round whose value over its limit is the median of the
// rounds' ratios (of an even count, the lower of the middle two).
func medianRatio(values, limits []float64) int {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(values[a]/limits[a], values[b]/limits[b]) })
	return idx[(len(idx)-1)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// userSyncConfig is a networked node process that neither mines nor dials on its own, on a p2p
// port chosen now (a child's address must be known before it starts).
func userSyncConfig(c *config.Config) {
	c.Mining.Enabled = false
	c.P2P.MaxOutbound = 8
	c.P2P.Seeds = nil
	if addr, err := freePort(); err == nil {
		c.P2P.Listen = addr
	}
}

// userSyncOnce starts a fresh `node run` of f's chain, tells it with `node peers add` to connect
// to peer, and returns the transfers a second from the start of `peers add` until it holds the
// whole chain, and how long `peers add` took and how long until the first block was connected
// (the fixed cost of a sync: process start, dial, handshake, the first locator round).
func (l *Lab) userSyncOnce(f *fixture, peer string) (rate float64, add, first time.Duration, note string, err error) {
	h, err := l.Join(f.src, userSyncConfig)
	if err != nil {
		return 0, 0, 0, "", err
	}
	b, err := h.StartChild()
	if err != nil {
		return 0, 0, 0, "", err
	}
	defer func() { _, _ = b.Terminate(30 * time.Second) }()
	want := uint64(len(f.blocks))
	cpu0 := b.cpuSeconds()
	t0 := time.Now()
	p, err := l.StartProc("peers", "add", peer, "--api", "http://"+h.Cfg.API.Listen)
	if err != nil {
		return 0, 0, 0, "", err
	}
	if err := p.Wait(30 * time.Second); err != nil {
		return 0, 0, 0, "", fmt.Errorf("peers add: %w", err)
	}
	add = time.Since(t0)
	// The node's own "block connected" records tell when each block was connected: the
	// harness reads the child's log here instead of polling its API, which cost the syncing
	// process 2% of its CPU, and the times are the node's, not the next poll's.
	var seen connectedLog
	var last time.Time
	err = l.poll(10*time.Minute, "the sync between the two processes", func() bool {
		var lines string
		lines, seen.off = b.logs.since(seen.off)
		at, done := seen.scan(lines, want)
		if first == 0 && !seen.first.IsZero() {
			first = seen.first.Sub(t0)
		}
		last = at
		return done
	})
	if err != nil {
		return 0, 0, 0, "", fmt.Errorf("%w: %s", err, b.logs.tail())
	}
	if st, err := b.API.Status(context.Background()); err != nil || st.Height < want {
		return 0, 0, 0, "", fmt.Errorf("the log says block %d connected, the API says height %d (%v)", want, st.Height, err)
	}
	d := last.Sub(t0)
	note = fmt.Sprintf("syncing node CPU %.2f cores", (b.cpuSeconds()-cpu0)/d.Seconds())
	if text, err := b.Metrics(); err == nil {
		note += fmt.Sprintf(", per block: arrival to consensus's answer %.1f ms, consensus import %.1f ms; a connect commit (a block, or a run of them) %.1f ms",
			histMeanMs(text, "actorchain_sync_block_seconds", ""), histMeanMs(text, "actorchain_block_import_seconds", ""),
			histMeanMs(text, "actorchain_storage_commit_seconds", `{op="connect"}`))
	}
	return float64(len(f.txs)) / d.Seconds(), add, first, note, nil
}

// connectedLog follows a node's JSON log for its "block connected" records.
type connectedLog struct {
	off   int       // how much of the log has been read
	first time.Time // the first block connected (zero: none yet)
}

// scan reads whole log lines: it records the time of the first "block connected" and returns
// that of the one at height want or above, when there is one.
func (c *connectedLog) scan(lines string, want uint64) (at time.Time, done bool) {
	for line := range strings.SplitSeq(lines, "\n") {
		if !strings.Contains(line, `"block connected"`) {
			continue
		}
		var rec struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Height uint64    `json:"height"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "block connected" {
			continue
		}
		if c.first.IsZero() {
			c.first = rec.Time
		}
		if rec.Height >= want {
			return rec.Time, true
		}
	}
	return time.Time{}, false
}

// BatchVerifyRate runs chainstate.CheckBlock on every block with an empty signature cache each
// time (batch verification on all cores, as a node checks a block it never saw), again and again
// for at least minVerifyTime, and returns transfers per second: the rate a node could sync at if
// checking blocks were all it did.
func BatchVerifyRate(p *chainstate.Params, blocks []*chainstate.Block) (float64, error) {
	txs := 0
	t0 := time.Now()
	for txs == 0 || time.Since(t0) < minVerifyTime {
		n := 0
		for _, b := range blocks {
			if err := chainstate.CheckBlock(p, b, chainstate.NewSigCache(len(b.Txs)+1)); err != nil {
				return 0, fmt.Errorf("block %d: %w", b.Header.Height, err)
			}
			n += len(b.Txs)
		}
		if n == 0 {
			return 0, fmt.Errorf("no transactions to verify")
		}
		txs += n
	}
	return float64(txs) / time.Since(t0).Seconds(), nil
}

// Metrics is the child's /metrics text.
func (c *Child) Metrics() (string, error) {
	resp, err := http.Get(c.API.BaseURL() + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(body), nil
}

// histMeanMs is the mean of a histogram in Prometheus text (name without _sum/_count, labels as
// printed), in milliseconds; 0 when it has no observations.
func histMeanMs(text, name, labels string) float64 {
	sum, err1 := sampleValue(text, name+"_sum"+labels)
	count, err2 := sampleValue(text, name+"_count"+labels)
	if err1 != nil || err2 != nil || count == 0 {
		return 0
	}
	return 1000 * sum / count
}

// sampleValue is the value of the sample name (labels included, as printed) in Prometheus text.
func sampleValue(text, name string) (float64, error) {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// Proc is a run of the node binary that ends by itself (`node tx send`, `node peers add`); the
// lab kills it on Close.
type Proc struct {
	child  *Child
	stdout syncBuffer
}

// StartProc starts `node ARGS...` (the lab's node command, without ACTORCHAIN_* overrides).
func (l *Lab) StartProc(args ...string) (*Proc, error) {
	cmd, err := l.node(args...)
	if err != nil {
		return nil, err
	}
	cmd.Env = childEnv(cmd.Env)
	p := &Proc{child: &Child{Cmd: cmd, done: make(chan struct{})}}
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.child.logs
	if err := l.startTracked(p.child); err != nil {
		return nil, fmt.Errorf("start node %s: %w", strings.Join(args, " "), err)
	}
	return p, nil
}

// Wait waits up to d for the process to exit (then kills it) and returns an error unless it exited
// 0.
func (p *Proc) Wait(d time.Duration) error {
	select {
	case <-p.child.done:
	case <-time.After(d):
		p.child.Kill()
		return fmt.Errorf("did not exit within %v: %s", d, p.child.logs.tail())
	}
	if p.child.err != nil {
		return fmt.Errorf("%w: %s", p.child.err, p.child.logs.tail())
	}
	return nil
}

// Stdout is what the process printed on stdout.
func (p *Proc) Stdout() []byte { return []byte(p.stdout.String()) }

// CPU is the user + system CPU time of the process (after it exited).
func (p *Proc) CPU() time.Duration {
	ps := p.child.Cmd.ProcessState
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}
