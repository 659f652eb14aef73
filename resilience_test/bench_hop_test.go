package resilience_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// Benchmarks of block propagation along a line of nodes, of a sync's memory with many peers, and
// of a healthy pair's latency while its listener is flooded with idle TCP connections. Every node
// runs in this process (one actor system each) on loopback TCP; the figures are reported with
// b.ReportMetric and asserted nothing about.

// hopSenders funds keys in a chain section (seeds 60..60+n-1) and returns them.
func hopSenders(c *config.Config, n int) []ed25519.PrivateKey {
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		keys[i] = keyFromSeed(byte(60 + i))
		c.Chain.Alloc[addrOf(keys[i]).String()] = 1 << 50
	}
	return keys
}

// benchPeerAddr is ID@HOST:PORT of a running node.
func benchPeerAddr(nd *node) string { return nd.n.NodeID() + "@" + nd.n.P2PAddr() }

// connectedIDs is the sorted list of node ids nd is connected to.
func connectedIDs(nd *node) []string {
	info, err := nd.n.Peers(context.Background())
	if err != nil {
		return nil
	}
	var ids []string
	for _, c := range info.Connected {
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

func idsOf(nodes ...*node) []string {
	var ids []string
	for _, nd := range nodes {
		ids = append(ids, nd.n.NodeID())
	}
	sort.Strings(ids)
	return ids
}

// signTransfers signs count transfers spread round-robin over senders, continuing each sender's
// nonce from nonces (updated), on all cores.
func signTransfers(p *chainstate.Params, senders []ed25519.PrivateKey, nonces []uint64, count int) []*chainstate.Tx {
	txs := make([]*chainstate.Tx, count)
	type job struct {
		i, s  int
		nonce uint64
	}
	jobs := make([]job, count)
	for i := range jobs {
		s := i % len(senders)
		jobs[i] = job{i: i, s: s, nonce: nonces[s]}
		nonces[s]++
	}
	to := addrOf(keyFromSeed(99))
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := g; k < len(jobs); k += w {
				j := jobs[k]
				txs[j.i] = transfer(p, senders[j.s], to, 1, 1, j.nonce)
			}
		}()
	}
	wg.Wait()
	return txs
}

// submitConcurrently submits txs to nd: one goroutine per sender, each in nonce order.
func submitConcurrently(b *testing.B, nd *node, txs []*chainstate.Tx, senders int) {
	b.Helper()
	var wg sync.WaitGroup
	var failed atomic.Value
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s; i < len(txs); i += senders {
				if _, err := nd.n.SubmitTx(context.Background(), txs[i]); err != nil {
					failed.Store(fmt.Errorf("submit tx %d: %w", i, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
}

// BenchmarkBlockHop5 measures how fast a block of 1,000 transfers crosses a line of 5 nodes
// A-B-C-D-E whose mempools already hold (and have verified) its transactions, as in a live network.
// ms-hop is the latency per hop beyond the first: (E - B) / 3.
func BenchmarkBlockHop5(b *testing.B) { benchBlockHop(b, true) }

// BenchmarkBlockHop5Cold is BenchmarkBlockHop5 with mempools that never saw the block's
// transactions: every node checks all 1,000 signatures on the block's way.
func BenchmarkBlockHop5Cold(b *testing.B) { benchBlockHop(b, false) }

func benchBlockHop(b *testing.B, warm bool) {
	const perBlock, nSenders, hops = 1000, 10, 5
	var senders []ed25519.PrivateKey
	lineCfg := func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.MaxInbound = 1
		c.P2P.MaxOutbound = 1
		c.Chain.PowBits = 4
		c.Mempool.MaxTxs = 100_000
	}
	first := newHome(b, func(c *config.Config) {
		lineCfg(c)
		c.P2P.MaxOutbound = 0 // A only accepts: its one inbound slot is B's
		senders = hopSenders(c, nSenders)
	})
	nodes := []*node{first.start(b, actors.Options{})}
	for i := 1; i < hops; i++ {
		prev := nodes[i-1]
		h := newHome(b, func(c *config.Config) {
			lineCfg(c)
			c.P2P.Seeds = []string{benchPeerAddr(prev)}
		})
		h.cfg.Chain = first.cfg.Chain.Clone()
		rewrite(b, h)
		nodes = append(nodes, h.start(b, actors.Options{}))
	}
	// The line, checked exactly: A={B}, B={A,C}, C={B,D}, D={C,E}, E={D}.
	want := make([][]string, hops)
	for i := range nodes {
		var nb []*node
		if i > 0 {
			nb = append(nb, nodes[i-1])
		}
		if i < hops-1 {
			nb = append(nb, nodes[i+1])
		}
		want[i] = idsOf(nb...)
	}
	isLine := func() bool {
		for i, nd := range nodes {
			if !slices.Equal(connectedIDs(nd), want[i]) {
				return false
			}
		}
		return true
	}
	waitFor(b, 30*time.Second, "the line A-B-C-D-E", isLine)
	time.Sleep(300 * time.Millisecond) // an observation window (not synchronisation): the line must still hold after address exchange ran
	if !isLine() {
		b.Fatal("the line topology did not hold after it formed")
	}

	p := nodes[0].n.Params()
	cb := newChainBuilder(p)
	sealer := keyFromSeed(98)
	nonces := make([]uint64, nSenders)
	var first1, total, hop, accept time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		txs := signTransfers(p, senders, nonces, perBlock)
		base := make([]int, hops)
		for i, nd := range nodes {
			base[i] = nd.status().Mempool
		}
		if warm {
			submitConcurrently(b, nodes[0], txs, nSenders)
			waitFor(b, 60*time.Second, "every mempool holding the 1,000 transfers", func() bool {
				for _, nd := range nodes {
					if nd.status().Mempool < perBlock {
						return false
					}
				}
				return true
			})
		}
		blk := cb.mine(b, sealer, txs)
		target := blk.Header.Height
		for _, nd := range nodes {
			if h := nd.status().Height; h != target-1 {
				b.Fatalf("node %s at height %d before the block, want %d", short(nd), h, target-1)
			}
		}
		b.StartTimer()

		at := make([]time.Duration, hops)
		seen := make([]bool, hops)
		left := hops
		submitErr := make(chan error, 1)
		t0 := time.Now()
		go func() {
			_, err := nodes[0].n.SubmitBlock(context.Background(), blk)
			submitErr <- err
		}()
		deadline := t0.Add(30 * time.Second)
		for left > 0 {
			for i, nd := range nodes {
				if seen[i] {
					continue
				}
				st, err := nd.n.Status(context.Background())
				if err == nil && st.Height >= target {
					at[i], seen[i] = time.Since(t0), true
					left--
				}
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				var got []string
				for _, nd := range nodes {
					got = append(got, strconv.FormatUint(nd.status().Height, 10))
				}
				b.Fatalf("block %d did not reach every node in 30s: heights A..E %s", target, strings.Join(got, " "))
			}
			time.Sleep(time.Millisecond) // a bounded ~1 ms poll
		}
		b.StopTimer()
		if err := <-submitErr; err != nil {
			b.Fatalf("submit block: %v", err)
		}
		b.Logf("iteration %d (warm=%v): A %v B %v C %v D %v E %v after SubmitBlock", it, warm, at[0], at[1], at[2], at[3], at[4])
		accept += at[0]
		first1 += at[1] - at[0]
		hop += (at[4] - at[1]) / 3
		total += at[4]
		// The block's transactions leave every mempool before the next round.
		waitFor(b, 30*time.Second, "mempools emptied by the block", func() bool {
			for i, nd := range nodes {
				if nd.status().Mempool > base[i] {
					return false
				}
			}
			return true
		})
		b.StartTimer()
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) / 1000 }
	b.ReportMetric(ms(hop), "ms-hop")
	b.ReportMetric(ms(first1), "ms-first")
	b.ReportMetric(ms(accept), "ms-accept-A")
	b.ReportMetric(ms(total), "ms-total")
}

// BenchmarkSyncMemory8Peers measures the heap of a node B syncing a chain of 100,000 transfers
// (100 blocks of 1,000) while connected to 8 peers that all hold the chain.
//
// Setup: the chain is built offline and fed to A with SubmitBlock; A is stopped and its database
// file copied into the homes of 7 more nodes of the same chain (much faster than making each of
// them verify 100,000 signatures); the 8 are started and B is seeded with all of them.
//
// Method: every node lives in this process, so the Go heap is shared. We take a baseline
// (runtime.GC, then HeapInuse) with the 8 peers running and idle, before B starts; during the sync
// a sampler reads HeapInuse every 20 ms (peak); after the sync we GC and read it again with B
// still running. MiB-heap-peak / MiB-heap-after are those absolute figures, MiB-delta-* minus the
// baseline: an upper bound on B's own heap, since the peers' work serving the sync (reading and
// sending blocks) is counted too. The true resident memory of a synced node comes from the second
// part: a fresh B run as a child process (home.startChild) syncs from the same 8 peers and its
// /proc/<pid>/status VmHWM (peak RSS) and VmRSS are read after the sync: MiB-child-hwm,
// MiB-child-rss. The goal is <= 150 MiB resident for the synced node.
func BenchmarkSyncMemory8Peers(b *testing.B) {
	const blocks, perBlock, nSenders, nPeers = 100, 1000, 10, 8
	var senders []ed25519.PrivateKey
	peerCfg := func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 2
	}
	src := newHome(b, func(c *config.Config) {
		peerCfg(c)
		senders = hopSenders(c, nSenders)
	})
	p, err := actors.ParamsFromConfig(src.cfg)
	if err != nil {
		b.Fatal(err)
	}
	tBuild := time.Now()
	cb := newChainBuilder(p)
	nonces := make([]uint64, nSenders)
	sealer := keyFromSeed(98)
	for i := 0; i < blocks; i++ {
		cb.mine(b, sealer, signTransfers(p, senders, nonces, perBlock))
	}
	b.Logf("built %d blocks of %d transfers in %v", blocks, perBlock, time.Since(tBuild))
	tFeed := time.Now()
	a := src.start(b, actors.Options{})
	for _, blk := range cb.blocks {
		if _, err := a.n.SubmitBlock(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
	}
	a.stop()
	dbPath := func(h *home) string {
		if filepath.IsAbs(h.cfg.Storage.Path) {
			return h.cfg.Storage.Path
		}
		return filepath.Join(h.dir, h.cfg.Storage.Path)
	}
	chainDB, err := os.ReadFile(dbPath(src))
	if err != nil {
		b.Fatal(err)
	}
	peers := []*node{src.start(b, actors.Options{})}
	for i := 1; i < nPeers; i++ {
		h := newHome(b, peerCfg)
		h.cfg.Chain = src.cfg.Chain.Clone()
		rewrite(b, h)
		if err := os.MkdirAll(filepath.Dir(dbPath(h)), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(dbPath(h), chainDB, 0o600); err != nil {
			b.Fatal(err)
		}
		peers = append(peers, h.start(b, actors.Options{}))
	}
	for _, nd := range peers {
		if h := nd.status().Height; h != blocks {
			b.Fatalf("peer %s at height %d, want %d", short(nd), h, blocks)
		}
	}
	b.Logf("fed A and started %d peers holding the chain (db %d KiB) in %v", nPeers, len(chainDB)/1024, time.Since(tFeed))
	seeds := make([]string, 0, nPeers)
	for _, nd := range peers {
		seeds = append(seeds, benchPeerAddr(nd))
	}
	newB := func() *home {
		h := newHome(b, func(c *config.Config) {
			peerCfg(c)
			c.P2P.MaxOutbound = nPeers
			c.P2P.Seeds = slices.Clone(seeds)
		})
		h.cfg.Chain = src.cfg.Chain.Clone()
		rewrite(b, h)
		return h
	}
	const mib = 1 << 20
	var syncTime, childSync time.Duration
	var baseline, peak, after, hwm, rss uint64
	var peersSeen int
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		// Part 1: B in this process.
		b.StopTimer()
		hb := newB()
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		baseline = ms.HeapInuse
		stop := make(chan struct{})
		var peakHeap atomic.Uint64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var m runtime.MemStats
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peakHeap.Load() {
					peakHeap.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		b.StartTimer()
		t0 := time.Now()
		nb := hb.start(b, actors.Options{})
		maxPeers := 0
		waitFor(b, 5*time.Minute, "B's sync", func() bool {
			st := nb.status()
			maxPeers = max(maxPeers, st.Peers)
			return st.Height >= blocks
		})
		syncTime += time.Since(t0)
		b.StopTimer()
		close(stop)
		wg.Wait()
		peak = peakHeap.Load()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		after = ms.HeapInuse
		peersSeen = maxPeers
		nb.stop()

		// Part 2: a fresh B in a child process: its real peak RSS.
		hc := newB()
		t1 := time.Now()
		c := hc.startChild(b)
		waitFor(b, 5*time.Minute, "the child's sync", func() bool {
			st, err := c.api.Status(context.Background())
			return err == nil && st.Height >= blocks
		})
		childSync += time.Since(t1)
		hwm, rss = procMemKiB(b, c.cmd.Process.Pid)
		c.kill()
		b.StartTimer()
	}
	b.StopTimer()
	mb := func(v uint64) float64 { return float64(v) / mib }
	b.ReportMetric(syncTime.Seconds()/float64(b.N), "s-sync")
	b.ReportMetric(mb(baseline), "MiB-heap-base")
	b.ReportMetric(mb(peak), "MiB-heap-peak")
	b.ReportMetric(mb(after), "MiB-heap-after")
	b.ReportMetric(mb(peak)-mb(baseline), "MiB-delta-peak")
	b.ReportMetric(mb(after)-mb(baseline), "MiB-delta-after")
	b.ReportMetric(float64(peersSeen), "peers")
	b.ReportMetric(childSync.Seconds()/float64(b.N), "s-sync-child")
	b.ReportMetric(float64(hwm)/1024, "MiB-child-hwm")
	b.ReportMetric(float64(rss)/1024, "MiB-child-rss")
}

// procMemKiB reads VmHWM and VmRSS (KiB) of a process.
func procMemKiB(b *testing.B, pid int) (hwm, rss uint64) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read the child's status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return hwm, rss
}

// BenchmarkPingUnderConnFlood measures a healthy pair's round trip (a transfer submitted at B, until
// A's mempool holds it) before and while 500 idle TCP connections from 127.0.0.1 sit on A's p2p
// port. The node closes what its handshake limits refuse; conns-open-* say how many of ours were
// still open when the flood's measurement started and ended.
func BenchmarkPingUnderConnFlood(b *testing.B) {
	const flood, samples = 500, 20
	var senders []ed25519.PrivateKey
	cfg := func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 4
	}
	ha := newHome(b, func(c *config.Config) {
		cfg(c)
		senders = hopSenders(c, 1)
	})
	na := ha.start(b, actors.Options{})
	hb := newHome(b, func(c *config.Config) {
		cfg(c)
		c.P2P.Seeds = []string{benchPeerAddr(na)}
	})
	hb.cfg.Chain = ha.cfg.Chain.Clone()
	rewrite(b, hb)
	nb := hb.start(b, actors.Options{})
	waitFor(b, 30*time.Second, "A and B connected", func() bool {
		return slices.Contains(connectedIDs(na), nb.n.NodeID()) && slices.Contains(connectedIDs(nb), na.n.NodeID())
	})
	p := na.n.Params()
	to := addrOf(keyFromSeed(99))
	var nonce uint64
	rtt := func() time.Duration {
		tx := transfer(p, senders[0], to, 1, 1, nonce)
		nonce++
		t0 := time.Now()
		h, err := nb.n.SubmitTx(context.Background(), tx)
		if err != nil {
			b.Fatalf("submit at B: %v", err)
		}
		deadline := t0.Add(30 * time.Second)
		for {
			_, err := na.n.Tx(context.Background(), h)
			if err == nil {
				return time.Since(t0)
			}
			if !errors.Is(err, actors.ErrNotFound) {
				b.Fatalf("tx at A: %v", err)
			}
			if time.Now().After(deadline) {
				b.Fatalf("tx %d never reached A's mempool (A-B connected: %v)", nonce-1, slices.Contains(connectedIDs(na), nb.n.NodeID()))
			}
			time.Sleep(250 * time.Microsecond) // a bounded poll
		}
	}
	measure := func() []time.Duration {
		out := make([]time.Duration, samples)
		for i := range out {
			out[i] = rtt()
		}
		slices.Sort(out)
		return out
	}
	var baseP50, baseMax, floodP50, floodMax time.Duration
	var openStart, openEnd, dialed int
	var newcomerOK float64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		base := measure()
		baseP50, baseMax = base[len(base)/2], base[len(base)-1]

		var conns []net.Conn
		var open atomic.Int64
		var wg sync.WaitGroup
		d := net.Dialer{Timeout: 2 * time.Second}
		for i := 0; i < flood; i++ {
			c, err := d.Dial("tcp", na.n.P2PAddr())
			if err != nil {
				continue // refused or timed out: counted by conns-dialed
			}
			conns = append(conns, c)
			open.Add(1)
			wg.Add(1)
			go func() { // idle: read only to notice the node closing it
				defer wg.Done()
				_, _ = io.Copy(io.Discard, c)
				open.Add(-1)
			}()
		}
		dialed = len(conns)
		openStart = int(open.Load())
		fl := measure()
		openEnd = int(open.Load())
		floodP50, floodMax = fl[len(fl)/2], fl[len(fl)-1]
		// A newcomer's handshake while the flood holds A's handshake slots.
		t1 := time.Now()
		if _, err := dialRaw(b, na, rawKey(b, byte(0x70+it%16)), nil); err != nil {
			newcomerOK = 0
			b.Logf("a new peer's handshake with A during the flood failed after %v: %v", time.Since(t1), err)
		} else {
			newcomerOK = 1
		}
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
		if !slices.Contains(connectedIDs(na), nb.n.NodeID()) {
			b.Logf("A and B no longer connected after the flood")
		}
		b.Logf("baseline rtt %v; flood rtt %v", base, fl)
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(floodP50), "ms-rtt-p50")
	b.ReportMetric(ms(floodMax), "ms-rtt-max")
	b.ReportMetric(ms(baseP50), "ms-base-p50")
	b.ReportMetric(ms(baseMax), "ms-base-max")
	b.ReportMetric(float64(dialed), "conns-dialed")
	b.ReportMetric(float64(openStart), "conns-open-start")
	b.ReportMetric(float64(openEnd), "conns-open-end")
	b.ReportMetric(newcomerOK, "newcomer-ok")
}
