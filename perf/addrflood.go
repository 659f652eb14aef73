package perf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux architecture Go supports).
const clockTicks = 100

// addrFloodFigures are the readings of one address-flood round (addrFloodRound).
type addrFloodFigures struct {
	// Blocks a second of the flooded node a and the control c in the clean window, the import
	// window (from the bundle's POST) and the window after it.
	RateA, RateC [3]float64
	// CPU seconds of a and c in the clean and the after window.
	CPUA, CPUC [2]float64
	// Timeouts counts a's log records of a storage request that got no answer.
	Timeouts int
	// Added is the bundle import's answer; Took how long the import and the adds took.
	Added int
	Took  time.Duration
}

// addrFlood measures what a flood of addresses costs a mining node: node a mines alone (pow_bits
// 12, one worker: a rate bound by commit latency, what address-book writes would slow) beside a
// control node c, an identical node of its own chain that is never flooded, both child
// processes measured over the same windows; a's figures are judged against its clean window
// scaled by the control's change between the windows, so that load that comes and goes on the
// machine hits both sides alike.
func addrFlood(l *Lab, s Sizes) ([]Result, error) {
	f, err := addrFloodRound(l, s.AddrPeers, s.AddrAdds, s.AddrWindow)
	if err != nil {
		return nil, err
	}
	return f.Results(s.AddrPeers, s.AddrAdds, s.AddrWindow), nil
}

// Results are the figure's rows: a's block rate in the import and the after window against its
// clean rate scaled by the control (>= 0.9x), its CPU time after against the same (<= 1.2x), and
// the storage timeouts (none).
func (f *addrFloodFigures) Results(peers, adds int, window time.Duration) []Result {
	scale := func(x float64, cNow, cClean float64) float64 {
		if cClean <= 0 {
			return x
		}
		return x * cNow / cClean
	}
	what := fmt.Sprintf("%s unreachable peers imported, %d added", thousands(peers), adds)
	return []Result{
		relative("addr-flood-rate", fmt.Sprintf("mining block rate while %s", what), f.RateA[1], "blocks/s",
			"clean rate x control's change", scale(f.RateA[0], f.RateC[1], f.RateC[0]), "blocks/s", atLeast(0.9)),
		relative("addr-flood-rate-after", fmt.Sprintf("mining block rate in the %v after", window), f.RateA[2], "blocks/s",
			"clean rate x control's change", scale(f.RateA[0], f.RateC[2], f.RateC[0]), "blocks/s", atLeast(0.9)),
		relative("addr-flood-cpu", fmt.Sprintf("node CPU in the %v after", window), f.CPUA[1], "s",
			"clean CPU x control's change", scale(f.CPUA[0], f.CPUC[1], f.CPUC[0]), "s", atMost(1.2)),
		absolute("addr-flood-timeouts", "storage requests unanswered during the flood", float64(f.Timeouts), "records", valueAtMost(0)),
	}
}

// addrFloodRound runs one round of the address-flood figure on lab l: a clean window, then an
// import window that starts when a bundle of peers unreachable loopback peers is posted to a and
// adds more are added with POST /v1/peers, then the window after it.
func addrFloodRound(l *Lab, peers, adds int, window time.Duration) (*addrFloodFigures, error) {
	ha, a, err := l.startAddrFloodMiner()
	if err != nil {
		return nil, err
	}
	defer a.Kill()
	_, c, err := l.startAddrFloodMiner()
	if err != nil {
		return nil, err
	}
	defer c.Kill()
	if err := l.poll(60*time.Second, "a and c mining to height 20", func() bool { return childHeight(a) >= 20 && childHeight(c) >= 20 }); err != nil {
		return nil, err
	}
	nodes := []*Child{a, c}
	var f addrFloodFigures
	rate, cpu, err := measureWindow(nodes, window, nil)
	if err != nil {
		return nil, err
	}
	f.RateA[0], f.RateC[0], f.CPUA[0], f.CPUC[0] = rate[0], rate[1], cpu[0], cpu[1]
	bundle, addrs, err := unreachableBundle(ha.Cfg, peers, adds)
	if err != nil {
		return nil, err
	}
	rate, _, err = measureWindow(nodes, window, func() error {
		t0 := time.Now()
		added, err := floodAddresses(a, bundle, addrs, peers)
		f.Added = added
		if err == nil {
			f.Took = time.Since(t0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	f.RateA[1], f.RateC[1] = rate[0], rate[1]
	if rate, cpu, err = measureWindow(nodes, window, nil); err != nil {
		return nil, err
	}
	f.RateA[2], f.RateC[2], f.CPUA[1], f.CPUC[1] = rate[0], rate[1], cpu[0], cpu[1]
	f.Timeouts = storageTimeouts(a.logs.String())
	return &f, nil
}

// startAddrFloodMiner starts a mining child of a home of its own: pow_bits 12, one worker,
// 20 ms pacing.
func (l *Lab) startAddrFloodMiner() (*Home, *Child, error) {
	h, err := l.NewHome(func(c *config.Config) {
		c.Chain.PowBits = 12
		c.Mining.Enabled = true
		c.Mining.Workers = 1
		// 20 ms pacing, not the default 100: the block rate is then bound by commit
		// latency (what address-book writes would slow) and the CPU by mining's work.
		c.Mining.MinBlockInterval = 20 * time.Millisecond
		c.P2P.Listen = "127.0.0.1:0"
	})
	if err != nil {
		return nil, nil, err
	}
	c, err := h.StartChild()
	return h, c, err
}

// childHeight is ch's chain height, 0 when its API does not answer.
func childHeight(ch *Child) uint64 {
	st, err := ch.API.Status(context.Background())
	if err != nil {
		return 0
	}
	return st.Height
}

// measureWindow runs during (if any), then waits out the window from its start; it returns each
// node's blocks a second and CPU seconds over the window.
func measureWindow(nodes []*Child, window time.Duration, during func() error) (rate, cpu [2]float64, err error) {
	var h0 [2]uint64
	var c0 [2]float64
	t0 := time.Now()
	for i, n := range nodes {
		h0[i], c0[i] = childHeight(n), n.cpuSeconds()
	}
	if during != nil {
		if err := during(); err != nil {
			return rate, cpu, err
		}
	}
	time.Sleep(time.Until(t0.Add(window))) // the measurement window
	d := time.Since(t0).Seconds()
	for i, n := range nodes {
		h := childHeight(n)
		if h < h0[i] {
			return rate, cpu, fmt.Errorf("node %d's API did not answer at the end of the window", i)
		}
		rate[i], cpu[i] = float64(h-h0[i])/d, n.cpuSeconds()-c0[i]
	}
	return rate, cpu, nil
}

// floodAddresses posts bundle (of peers peers) to a's peer import, then adds each of addrs with
// POST /v1/peers; it returns the import's count of added peers.
func floodAddresses(a *Child, bundle json.RawMessage, addrs []string, peers int) (int, error) {
	ctx := context.Background()
	n, err := a.API.ImportPeers(ctx, bundle)
	if err != nil {
		return 0, fmt.Errorf("import a bundle of %d unreachable peers: %w", peers, err)
	}
	for _, ad := range addrs {
		if err := a.API.AddPeer(ctx, ad); err != nil {
			return n, fmt.Errorf("add peer %s: %w", ad, err)
		}
	}
	return n, nil
}

// storageTimeouts counts the lines of logs that record a storage request with no answer.
func storageTimeouts(logs string) int {
	n := 0
	for line := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(line, "no answer") && strings.Contains(line, "storage") {
			n++
		}
	}
	return n
}

// unreachableBundle makes a peer bundle of cfg's chain with peers loopback addresses where
// nothing listens (random ids, last seen now), and adds more as ID@HOST:PORT.
func unreachableBundle(cfg *config.Config, peers, adds int) (json.RawMessage, []string, error) {
	p, err := actors.ParamsFromConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	busy := listeningPorts()
	now := time.Now()
	var recs []chainstate.PeerRecord
	var addrs []string
	for port := 1; port < 65536 && len(recs)+len(addrs) < peers+adds; port++ {
		if busy[port] {
			continue
		}
		var id [32]byte
		_, _ = rand.Read(id[:])
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if len(recs) < peers {
			recs = append(recs, chainstate.PeerRecord{ID: id, Addr: addr, LastSeen: now.UnixMilli()})
		} else {
			addrs = append(addrs, hex.EncodeToString(id[:])+"@"+addr)
		}
	}
	data, err := json.Marshal(api.NewBundle(p, recs, now))
	return data, addrs, err
}

// listeningPorts are the TCP ports with a listener on this machine (/proc/net/tcp and tcp6).
func listeningPorts() map[int]bool {
	out := map[int]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			cols := strings.Fields(line)
			if i == 0 || len(cols) < 4 || cols[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, port, ok := strings.Cut(cols[1][strings.LastIndex(cols[1], ":"):], ":")
			if n, err := strconv.ParseInt(port, 16, 32); ok && err == nil {
				out[int(n)] = true
			}
		}
	}
	return out
}

// cpuSeconds is the child's CPU time so far (utime + stime), 0 when it cannot be read.
func (c *Child) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}
