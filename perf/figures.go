package perf

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/noisep2p"
)

const (
	verifyLimit = "bare stdlib ed25519.Verify on all cores"
	mib         = 1 << 20
)

// ---- hash rate ----

// hashRate measures the node's hash rate with W = GOMAXPROCS workers (from its
// actorchain_miner_hashes_total, at a difficulty no hash meets) against a bare double SHA-256 of
// an 80-byte header on W goroutines. The two alternate in hashRounds windows (mining is switched
// off during the bare ones), so that a load of the machine that comes and goes hits both alike.
func hashRate(l *Lab, s Sizes) ([]Result, error) {
	const hashRounds = 3
	w := runtime.GOMAXPROCS(0)
	h, err := l.NewHome(func(c *config.Config) {
		c.Chain.PowBits = 64
		c.Mining.Enabled = true
		c.Mining.Workers = w
	})
	if err != nil {
		return nil, err
	}
	n, err := h.Start(actors.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop(n) }()
	hashes := func() float64 { v, _ := metricValue(n, "actorchain_miner_hashes_total"); return v }
	window := s.HashPhase / hashRounds
	var bareH, nodeH float64
	var bareT, nodeT time.Duration
	for range hashRounds {
		if err := n.SetMining(context.Background(), false); err != nil {
			return nil, err
		}
		bh, bt := bareHashes(w, window)
		bareH, bareT = bareH+bh, bareT+bt
		if err := n.SetMining(context.Background(), true); err != nil {
			return nil, err
		}
		start := hashes()
		if err := l.poll(10*time.Second, "the workers hashing", func() bool { return hashes() > start }); err != nil {
			return nil, err
		}
		c0, t0 := hashes(), time.Now()
		time.Sleep(window) // the measurement window
		c1, t1 := hashes(), time.Now()
		nodeH, nodeT = nodeH+c1-c0, nodeT+t1.Sub(t0)
	}
	return []Result{relative("hashrate", fmt.Sprintf("node hash rate, %d workers", w), nodeH/nodeT.Seconds(), "H/s",
		fmt.Sprintf("bare double SHA-256 of 80 bytes on %d goroutines", w), bareH/bareT.Seconds(), "H/s", atLeast(0.90))}, nil
}

var hashSink atomic.Uint32

// bareHashes hashes an 80-byte header (double SHA-256, the nonce changing) on w goroutines for
// about d and returns how many hashes they did and how long it took.
func bareHashes(w int, d time.Duration) (float64, time.Duration) {
	var stop atomic.Bool
	var total atomic.Uint64
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range w {
		wg.Go(func() {
			var hdr [80]byte
			binary.BigEndian.PutUint32(hdr[:4], uint32(i))
			var n uint64
			var acc byte
			for !stop.Load() {
				for range 1024 {
					binary.BigEndian.PutUint32(hdr[76:], uint32(n))
					first := sha256.Sum256(hdr[:])
					sum := sha256.Sum256(first[:])
					acc ^= sum[0]
					n++
				}
			}
			hashSink.Add(uint32(acc))
			total.Add(n)
		})
	}
	time.Sleep(d) // the measurement window
	stop.Store(true)
	wg.Wait()
	return float64(total.Load()), time.Since(t0)
}

// metricValue reads one unlabelled sample from the node's /metrics.
func metricValue(n *actors.Node, name string) (float64, error) {
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// ---- ingest ----

// ingest measures durable ingest: 4 senders x 8 requests in flight, each 202 only after the
// mempool's group commit, over the HTTP API (direct: the node's SubmitTx, without HTTP). Mining
// is off so the figure is the ingest path alone.
func ingest(l *Lab, s Sizes, direct bool) ([]Result, error) {
	return ingestN(l, s.IngestTxs, direct)
}

// scaleIngest is the API ingest of each of s.ScaleTxs transfers (a quarter per sender): a
// sender's queue grows with the count, so any per-transfer cost that grows with it shows here.
func scaleIngest(l *Lab, s Sizes) ([]Result, error) {
	var out []Result
	for _, count := range s.ScaleTxs {
		rs, err := ingestN(l, count, false)
		if err != nil {
			return nil, err
		}
		r := rs[0]
		r.Name, r.Figure, r.Goals, r.Met = "scale-ingest", fmt.Sprintf("API ingest of %s transfers, 4 senders x 8 in flight", thousands(count)), nil, nil
		out = append(out, r)
	}
	return out, nil
}

func ingestN(l *Lab, count int, direct bool) ([]Result, error) {
	const senders, inflight = 4, 8
	var keys []ed25519.PrivateKey
	h, err := l.NewHome(func(c *config.Config) {
		c.Mempool.MaxTxs = max(c.Mempool.MaxTxs, 2*count)
		keys = fundSenders(c, senders)
	})
	if err != nil {
		return nil, err
	}
	n, err := h.Start(actors.Options{})
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop(n) }()
	p := n.Params()
	per := count / senders
	txs := make([][]*chainstate.Tx, senders)
	for i := range txs {
		txs[i] = signTransfers(p, keys[i:i+1], make([]uint64, 1), per)
	}
	submit, done := ingestSubmitter(n, txs, direct)
	defer done()
	t0 := time.Now()
	if err := fanOut(senders, inflight, per, submit); err != nil {
		return nil, err
	}
	rate := float64(per*senders) / time.Since(t0).Seconds()
	r := ingestResult(direct, rate)
	// What bounds it: 32 requests in flight wait for group commits of the mempool.
	sum, _ := metricValue(n, `actorchain_storage_commit_seconds_sum{op="mempool"}`)
	commits, _ := metricValue(n, `actorchain_storage_commit_seconds_count{op="mempool"}`)
	r.Note = groupCommitNote(commits, sum, per*senders)
	if probe, err := commitProbe(h.Dir, 50); err == nil {
		r.Note += fmt.Sprintf("; the disk alone takes %.2f ms for a bbolt-like commit (4 scattered pages + fdatasync, meta page + fdatasync; median)", probe)
	}
	return []Result{r}, nil
}

// ingestSubmitter returns a function that submits sender s's transfer i of txs to n, through
// n's SubmitTx when direct, else over the HTTP API with the bodies encoded up front, and a
// function that releases what it holds.
func ingestSubmitter(n *actors.Node, txs [][]*chainstate.Tx, direct bool) (submit func(s, i int) error, done func()) {
	if direct {
		return func(s, i int) error { _, err := n.SubmitTx(context.Background(), txs[s][i]); return err }, func() {}
	}
	bodies := make([][]api.Tx, len(txs)) // encoded up front: the figure is the node's
	for s := range txs {
		for _, tx := range txs[s] {
			bodies[s] = append(bodies[s], api.TxFromChain(tx))
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := api.NewClient("http://"+n.APIAddr(), &http.Client{Transport: tr, Timeout: 30 * time.Second})
	return func(s, i int) error { _, err := client.SubmitTx(context.Background(), bodies[s][i]); return err }, tr.CloseIdleConnections
}

// fanOut calls submit(s, i) for every sender s < senders and every i < per, each sender's i in
// order of claim by inflight goroutines of its own, and returns once all have returned. After
// the first error no goroutine claims another i; that error is returned, wrapped.
func fanOut(senders, inflight, per int, submit func(s, i int) error) error {
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for s := range senders {
		var next atomic.Int64
		for range inflight {
			wg.Go(func() {
				for failed.Load() == nil {
					i := int(next.Add(1) - 1)
					if i >= per {
						return
					}
					if err := submit(s, i); err != nil {
						err = fmt.Errorf("submit: %w", err)
						failed.CompareAndSwap(nil, &err)
					}
				}
			})
		}
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return *e
	}
	return nil
}

// ingestResult is the ingest row for rate: the API figure with its goal of 5,000 tx/s, or the
// direct one without a goal.
func ingestResult(direct bool, rate float64) Result {
	if direct {
		return absolute("ingest-direct", "durable ingest without HTTP (SubmitTx), 4 senders x 8 in flight", rate, "tx/s")
	}
	return absolute("ingest", "durable API ingest, 4 senders x 8 requests in flight", rate, "tx/s", valueAtLeast(5000))
}

// groupCommitNote describes the mempool's group commits (count commits taking sum seconds in all)
// for total transfers; it is empty when there were none.
func groupCommitNote(commits, sum float64, total int) string {
	if commits <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f group commits of %.1f transfers on average, %.2f ms each (fsync included)", commits, float64(total)/commits, 1000*sum/commits)
}

// commitProbe times what a bbolt commit asks of the disk, n times in a file under dir, and
// returns the median in milliseconds: 4 pages written at scattered offsets of an 8 MiB file and
// fdatasync, then the meta page at offset 0 and fdatasync again.
func commitProbe(dir string, n int) (float64, error) {
	const page, size = 4096, 8 << 20
	f, err := os.CreateTemp(dir, "commit-probe-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(make([]byte, size)); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	buf := make([]byte, page)
	sync := func() error { return syscall.Fdatasync(int(f.Fd())) }
	ms := make([]float64, 0, n)
	for i := range n {
		t0 := time.Now()
		for j := range 4 {
			off := int64((i*4+j)*7919%(size/page-1)+1) * page // scattered, never the meta page
			if _, err := f.WriteAt(buf, off); err != nil {
				return 0, err
			}
		}
		if err := sync(); err != nil {
			return 0, err
		}
		if _, err := f.WriteAt(buf, 0); err != nil {
			return 0, err
		}
		if err := sync(); err != nil {
			return 0, err
		}
		ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
	}
	return median(ms), nil
}

// ---- block import ----

// blockImport measures SubmitBlock of blocks holding count transfers in all (blocks of at most
// 5,000, the chain's max_block_txs) into a fresh node that never saw them, against bare
// verification of the same signatures; the median of runs.
func blockImport(l *Lab, name string, count, runs int, goals ...Goal) ([]Result, error) {
	var senders []ed25519.PrivateKey
	src, err := l.NewHome(func(c *config.Config) {
		c.Chain.PowBits = 2
		senders = fundSenders(c, fixtureSenders)
	})
	if err != nil {
		return nil, err
	}
	p, err := actors.ParamsFromConfig(src.Cfg)
	if err != nil {
		return nil, err
	}
	perBlock := min(count, p.MaxBlockTxs)
	cb, txs, err := mineTransfers(p, senders, count, perBlock)
	if err != nil {
		return nil, err
	}
	var rates, bares []float64
	for range runs {
		rate, err := l.importOnce(src, cb.blocks, count)
		if err != nil {
			return nil, err
		}
		rates = append(rates, rate)
		bare, err := BareVerifyRate(txs)
		if err != nil {
			return nil, err
		}
		bares = append(bares, bare)
	}
	fig := fmt.Sprintf("block import of %s transfers", thousands(count))
	if count > perBlock {
		fig += fmt.Sprintf(" (%d blocks)", len(cb.blocks))
	}
	return []Result{relative(name, fig, median(rates), "tx/s", verifyLimit, median(bares), "sig/s", goals...)}, nil
}

// mineTransfers mines a chain of blocks of at most perBlock transfers, count in all, from
// senders, and returns it with the transfers in block order.
func mineTransfers(p *chainstate.Params, senders []ed25519.PrivateKey, count, perBlock int) (*chainMiner, []*chainstate.Tx, error) {
	cb := newChainMiner(p)
	nonces := make([]uint64, len(senders))
	var txs []*chainstate.Tx
	for done := 0; done < count; done += perBlock {
		t := signTransfers(p, senders, nonces, min(perBlock, count-done))
		if _, err := cb.mine(keyFromSeed(98), t); err != nil {
			return nil, nil, err
		}
		txs = append(txs, t...)
	}
	return cb, txs, nil
}

// importOnce starts a fresh node from src's home, submits blocks to it in order (each must
// connect) and stops it; it returns the transfers a second (count in all) of the submissions.
func (l *Lab) importOnce(src *Home, blocks []*chainstate.Block, count int) (float64, error) {
	h, err := l.Join(src, nil)
	if err != nil {
		return 0, err
	}
	n, err := h.Start(actors.Options{})
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	for _, b := range blocks {
		r, err := n.SubmitBlock(context.Background(), b)
		if err == nil && r.Status != "connected" {
			err = fmt.Errorf("block %d: %s, want connected", b.Header.Height, r.Status)
		}
		if err != nil {
			_ = l.Stop(n)
			return 0, err
		}
	}
	rate := float64(count) / time.Since(t0).Seconds()
	if err := l.Stop(n); err != nil {
		return 0, err
	}
	return rate, nil
}

// ---- sync ----

// syncOnce starts a fresh node seeded with peers (through counting proxies when counted) and
// returns how long it took from its start to hold the fixture's whole chain, and the bytes the
// proxies carried.
func (l *Lab) syncOnce(f *fixture, peers []*actors.Node, counted bool) (time.Duration, int64, error) {
	var seeds []string
	var proxies []*proxy
	defer func() {
		for _, px := range proxies {
			_ = px.Close()
		}
	}()
	for _, p := range peers {
		addr := p.P2PAddr()
		if counted {
			px, err := startProxy(addr)
			if err != nil {
				return 0, 0, err
			}
			proxies = append(proxies, px)
			addr = px.Addr()
		}
		seeds = append(seeds, p.NodeID()+"@"+addr)
	}
	h, err := l.Join(f.src, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.MaxOutbound = len(peers)
		c.P2P.Seeds = seeds
	})
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	n, err := h.Start(actors.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = l.Stop(n) }()
	want := uint64(len(f.blocks))
	err = l.poll(10*time.Minute, "the sync", func() bool {
		st, err := n.Status(context.Background())
		return err == nil && st.Height >= want
	})
	d := time.Since(t0)
	var total int64
	for _, px := range proxies {
		total += px.Bytes()
	}
	l.lastSync = fmt.Sprintf("per block: arrival to consensus's answer %.1f ms, consensus import %.1f ms, of which the commit %.1f ms",
		meanMs([]*actors.Node{n}, "actorchain_sync_block_seconds"), meanMs([]*actors.Node{n}, "actorchain_block_import_seconds"),
		meanMs([]*actors.Node{n}, `actorchain_storage_commit_seconds{op="connect"}`))
	return d, total, err
}

// syncFigure syncs a chain of count transfers (blocks of 1,000) from k peers holding it.
func (l *Lab) syncFigure(count, k int, counted bool) (rate, bare, bytesPerTx float64, err error) {
	f, err := l.fixture(count, 1000)
	if err != nil {
		return 0, 0, 0, err
	}
	peers, err := l.startPeers(f, k)
	defer func() {
		for _, p := range peers {
			_ = l.Stop(p)
		}
	}()
	if err != nil {
		return 0, 0, 0, err
	}
	d, bytes, err := l.syncOnce(f, peers, counted)
	if err != nil {
		return 0, 0, 0, err
	}
	if bare, err = BareVerifyRate(f.txs); err != nil {
		return 0, 0, 0, err
	}
	return float64(count) / d.Seconds(), bare, float64(bytes) / float64(count), nil
}

func syncHeadline(l *Lab, s Sizes) ([]Result, error) {
	rate, bare, _, err := l.syncFigure(s.SyncTxs, 1, false)
	if err != nil {
		return nil, err
	}
	r := relative("sync", fmt.Sprintf("sync of %s transfers over Noise TCP", thousands(s.SyncTxs)), rate, "tx/s",
		verifyLimit, bare, "sig/s", atLeast(0.8))
	r.Note = l.lastSync
	return []Result{r}, nil
}

func wire(l *Lab, s Sizes) ([]Result, error) {
	_, _, perTx, err := l.syncFigure(s.WireTxs, 1, true)
	if err != nil {
		return nil, err
	}
	f, err := l.fixture(s.WireTxs, 1000)
	if err != nil {
		return nil, err
	}
	var enc int
	for _, tx := range f.txs {
		enc += len(tx.Encode())
	}
	r := relative("wire", "bytes on the wire per transfer synced", perTx, "B", "encoded transfer size", float64(enc)/float64(len(f.txs)), "B", atMost(1.2))
	r.Note = fmt.Sprintf("both directions of the Noise TCP connection during a sync of %s transfers, handshake and protocol included", thousands(s.WireTxs))
	return []Result{r}, nil
}

func scaleSync(l *Lab, s Sizes) ([]Result, error) {
	var out []Result
	for _, count := range s.ScaleTxs {
		rate, bare, perTx, err := l.syncFigure(count, 1, true)
		if err != nil {
			return nil, err
		}
		r := relative("scale-sync", fmt.Sprintf("sync of %s transfers, 1 peer", thousands(count)), rate, "tx/s", verifyLimit, bare, "sig/s")
		r.Note = fmt.Sprintf("%.1f µs and %.0f B on the wire per transfer", 1e6/rate, perTx)
		out = append(out, r)
	}
	return out, nil
}

func scalePeers(l *Lab, s Sizes) ([]Result, error) {
	var out []Result
	for _, k := range s.ScalePeers {
		rate, bare, perTx, err := l.syncFigure(s.ScalePeersTxs, k, true)
		if err != nil {
			return nil, err
		}
		r := relative("scale-peers", fmt.Sprintf("sync of %s transfers, %d peer(s)", thousands(s.ScalePeersTxs), k), rate, "tx/s", verifyLimit, bare, "sig/s")
		r.Note = fmt.Sprintf("%.0f B on the wire per transfer (all peers)", perTx)
		out = append(out, r)
	}
	return out, nil
}

func scaleImport(l *Lab, s Sizes) ([]Result, error) {
	var out []Result
	for _, count := range s.ScaleTxs {
		r, err := blockImport(l, "scale-import", count, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	return out, nil
}

// ---- ready after restart ----

// ready mines a chain to each of s.ReadyBlocks and measures Start (to an answering API) on it,
// against Start on a fresh home. The two homes are started in turn (one warm-up start each, then
// s.ReadyRuns pairs), so a change in the machine's load hits both sides alike; each side is the
// median of its runs.
func ready(l *Lab, s Sizes) ([]Result, error) {
	h, err := l.NewHome(func(c *config.Config) {
		c.Chain.PowBits = 4
		c.Mining.Workers = 1
	})
	if err != nil {
		return nil, err
	}
	fresh, err := l.Join(h, nil)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, target := range s.ReadyBlocks {
		if err := mineTo(l, h, target); err != nil {
			return nil, err
		}
		full, empty, err := readyPairs(l, h, fresh, s.ReadyRuns)
		if err != nil {
			return nil, err
		}
		out = append(out, relative("ready", fmt.Sprintf("ready after restart, %s blocks", thousands(target)), full, "ms",
			"ready with a fresh home", empty, "ms", atMost(1.2), valueBelow(150)))
	}
	return out, nil
}

// mineTo runs h as a miner until its chain is target blocks high, and stops it.
func mineTo(l *Lab, h *Home, target int) error {
	h.Cfg.Mining.Enabled = true
	defer func() { h.Cfg.Mining.Enabled = false }()
	n, err := h.Start(actors.Options{MinBlockInterval: -1})
	if err != nil {
		return err
	}
	err = l.poll(15*time.Minute, fmt.Sprintf("%d blocks mined", target), func() bool {
		st, err := n.Status(context.Background())
		return err == nil && st.Height >= uint64(target)
	})
	if serr := l.Stop(n); err == nil {
		err = serr
	}
	return err
}

// readyPairs starts full and fresh in turn, runs+1 times each (the first pair warms up and is not
// counted), and returns the median milliseconds from Start to an answering API of each.
func readyPairs(l *Lab, full, fresh *Home, runs int) (fullMs, freshMs float64, err error) {
	startTime := func(h *Home) (float64, error) {
		t0 := time.Now()
		n, err := h.Start(actors.Options{})
		if err != nil {
			return 0, err
		}
		_, err = n.Status(context.Background())
		ms := float64(time.Since(t0).Microseconds()) / 1000
		if serr := l.Stop(n); err == nil {
			err = serr
		}
		return ms, err
	}
	var a, b []float64
	for i := range runs + 1 {
		x, err := startTime(full)
		if err != nil {
			return 0, 0, err
		}
		y, err := startTime(fresh)
		if err != nil {
			return 0, 0, err
		}
		if i > 0 {
			a, b = append(a, x), append(b, y)
		}
	}
	return median(a), median(b), nil
}

// ---- SIGTERM to exit ----

// sigterm runs a mining node as a child process connected to 2 peers and measures SIGTERM to
// process exit (the ordered stop), the median of s.SigtermRuns.
func sigterm(l *Lab, s Sizes) ([]Result, error) {
	const nPeers = 2
	base, err := l.NewHome(func(c *config.Config) { peerConfig(c); c.Chain.PowBits = 64 })
	if err != nil {
		return nil, err
	}
	var seeds []string
	for range nPeers {
		h, err := l.Join(base, peerConfig)
		if err != nil {
			return nil, err
		}
		n, err := h.Start(actors.Options{})
		if err != nil {
			return nil, err
		}
		defer func() { _ = l.Stop(n) }()
		seeds = append(seeds, peerAddr(n))
	}
	w := runtime.GOMAXPROCS(0)
	ch, err := l.Join(base, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.Seeds = seeds
		c.Mining.Enabled = true
		c.Mining.Workers = w
	})
	if err != nil {
		return nil, err
	}
	var ms []float64
	for range s.SigtermRuns {
		c, err := ch.StartChild()
		if err != nil {
			return nil, err
		}
		err = l.poll(30*time.Second, "the child mining with 2 peers", func() bool {
			st, err := c.API.Status(context.Background())
			return err == nil && st.Mining && st.Peers >= nPeers
		})
		if err != nil {
			c.Kill()
			return nil, err
		}
		d, err := c.Terminate(20 * time.Second)
		if err != nil {
			return nil, fmt.Errorf("SIGTERM: %w", err)
		}
		ms = append(ms, float64(d.Microseconds())/1000)
	}
	r := absolute("sigterm", fmt.Sprintf("SIGTERM to exit, %d miners running, %d peers connected", w, nPeers), median(ms), "ms", valueBelow(100))
	r.Note = fmt.Sprintf("median of %d; all: %v ms", len(ms), roundAll(ms))
	return []Result{r}, nil
}

// ---- RSS ----

// rss syncs a chain of s.RSSTxs transfers from s.RSSPeers peers into a node in a child process
// and reads its peak resident set (VmHWM).
func rss(l *Lab, s Sizes) ([]Result, error) {
	f, err := l.fixture(s.RSSTxs, 1000)
	if err != nil {
		return nil, err
	}
	peers, err := l.startPeers(f, s.RSSPeers)
	defer func() {
		for _, p := range peers {
			_ = l.Stop(p)
		}
	}()
	if err != nil {
		return nil, err
	}
	var seeds []string
	for _, p := range peers {
		seeds = append(seeds, peerAddr(p))
	}
	h, err := l.Join(f.src, func(c *config.Config) {
		c.P2P.Listen = "127.0.0.1:0"
		c.P2P.MaxOutbound = len(peers)
		c.P2P.Seeds = seeds
	})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	c, err := h.StartChild()
	if err != nil {
		return nil, err
	}
	defer c.Kill()
	maxPeers := 0
	err = l.poll(10*time.Minute, "the child's sync", func() bool {
		st, err := c.API.Status(context.Background())
		maxPeers = max(maxPeers, st.Peers)
		return err == nil && st.Height >= uint64(len(f.blocks))
	})
	if err != nil {
		return nil, err
	}
	d := time.Since(t0)
	hwm, cur, err := c.memKiB()
	if err != nil {
		return nil, err
	}
	r := absolute("rss", fmt.Sprintf("RSS, %d peers, %s transfers synced", len(peers), thousands(s.RSSTxs)), float64(hwm)*1024/mib, "MiB", valueAtMost(150))
	r.Note = fmt.Sprintf("peak (VmHWM); VmRSS after the sync %.1f MiB; sync %.1f s; up to %d peers connected", float64(cur)*1024/mib, d.Seconds(), maxPeers)
	return []Result{r}, nil
}

// ---- block hop ----

// blockHop measures how fast a block of 1,000 transfers crosses a line of 5 nodes A-B-C-D-E:
// per hop beyond the first, (E - B) / 3, the median of s.HopRounds blocks, each node's time
// being when its tip reached the block (stored). warm: every mempool already holds (and has
// verified) the block's transactions, as in a live network; cold: none has seen them. compact:
// the nodes relay compact blocks (p2p.compact_blocks, the default), else whole blocks (the
// control rows hop-full and hop-full-cold). A warm compact run also gives the bytes on the wire
// per relayed block (hop-bytes).
//
// The five nodes run in this process. Five node processes would have GOMAXPROCS Ps each, their
// threads time-sliced by the kernel; five nodes in one process would share GOMAXPROCS Ps, and a
// node's relay would wait in Go's run queue behind another node's validation and commit (Go
// preempts a running goroutine after 10 ms): a cost of the harness, not of the node. So the line
// runs with GOMAXPROCS Ps per node, as five processes would.
func blockHop(l *Lab, s Sizes, warm, compact bool) ([]Result, error) {
	prev := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(hopNodes * prev)
	defer runtime.GOMAXPROCS(prev)
	var senders []ed25519.PrivateKey
	nodes, err := l.startHopLine(compact, func(c *config.Config) { senders = fundSenders(c, hopSenders) })
	defer func() {
		for _, n := range nodes {
			_ = l.Stop(n)
		}
	}()
	if err != nil {
		return nil, err
	}
	if err := l.waitLine(nodes); err != nil {
		return nil, err
	}
	p := nodes[0].Params()
	cb := newChainMiner(p)
	nonces := make([]uint64, hopSenders)
	var hopMs, relayMs, totalMs []float64
	var fullBytes float64
	bytes0 := relayBytes(nodes[1:])
	for range s.HopRounds {
		txs := signTransfers(p, senders, nonces, hopPerBlock)
		at, size, err := l.hopRound(nodes, cb, txs, warm)
		if err != nil {
			return nil, err
		}
		hopMs = append(hopMs, float64((at.stored[4]-at.stored[1]).Microseconds())/3000)
		if at.relayed[1] > 0 && at.relayed[4] > 0 {
			relayMs = append(relayMs, float64((at.relayed[4]-at.relayed[1]).Microseconds())/3000)
		}
		totalMs = append(totalMs, float64(at.stored[4].Microseconds())/1000)
		fullBytes += float64(noisep2p.WireSize(size))
	}
	r := hopResult(warm, compact, median(hopMs))
	r.Note = fmt.Sprintf("median of %d blocks; A to E %v ms; on B..E a block import takes %.1f ms on average, of which the commit %.1f ms",
		len(hopMs), roundAll(totalMs), meanMs(nodes[1:], "actorchain_block_import_seconds"), meanMs(nodes[1:], `actorchain_storage_commit_seconds{op="connect"}`))
	out := []Result{r}
	if compact && len(relayMs) > 0 {
		out = append(out, hopRelayResult(warm, median(relayMs), len(relayMs)))
	}
	if warm && compact {
		links := float64(len(nodes) - 1)
		per := (relayBytes(nodes[1:]) - bytes0) / links / float64(s.HopRounds)
		b := hopBytesResult(per, fullBytes/float64(s.HopRounds))
		b.Note = fmt.Sprintf("mean over %d blocks and %d links of the cmpctblock, getblocktxn, blocktxn and block messages, as on the wire (frames and tags); receivers' mempools hold the transfers", s.HopRounds, len(nodes)-1)
		out = append(out, b)
	}
	return out, nil
}

// relayBytes is what the nodes received, as on the wire, in the messages that carry blocks.
func relayBytes(nodes []*actors.Node) float64 {
	var sum float64
	for _, n := range nodes {
		for _, msg := range []string{"block", "cmpctblock", "getblocktxn", "blocktxn"} {
			v, _ := metricValue(n, fmt.Sprintf(`actorchain_p2p_bytes_total{direction="received",msg="%s"}`, msg))
			sum += v
		}
	}
	return sum
}

// The block-hop line: hopNodes nodes, a block of hopPerBlock transfers from hopSenders senders.
const hopPerBlock, hopSenders, hopNodes = 1000, 10, 5

// hopLineConfig makes a node of the block-hop line: one inbound and one outbound slot, so the
// nodes can only form a line.
func hopLineConfig(c *config.Config, compact bool) {
	c.P2P.CompactBlocks = compact
	c.P2P.Listen = "127.0.0.1:0"
	c.P2P.MaxInbound = 1
	c.P2P.MaxOutbound = 1
	c.Chain.PowBits = 4
	c.Mempool.MaxTxs = 100_000
}

// startHopLine starts the hopNodes nodes of the line, each seeded with the one before it; fund
// edits the first home's config (the others copy it). It returns the nodes it started, also on
// error: the caller stops them.
func (l *Lab) startHopLine(compact bool, fund func(*config.Config)) ([]*actors.Node, error) {
	first, err := l.NewHome(func(c *config.Config) {
		hopLineConfig(c, compact)
		c.P2P.MaxOutbound = 0 // A only accepts: its one inbound slot is B's
		fund(c)
	})
	if err != nil {
		return nil, err
	}
	var nodes []*actors.Node
	for i := range hopNodes {
		h := first
		if i > 0 {
			prev := nodes[i-1]
			if h, err = l.Join(first, func(c *config.Config) { hopLineConfig(c, compact); c.P2P.Seeds = []string{peerAddr(prev)} }); err != nil {
				return nodes, err
			}
		}
		n, err := h.Start(actors.Options{})
		if err != nil {
			return nodes, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// arrivals is when each node of the line reached a block, from its submission to the first:
// stored, its tip reached it; relayed, its peer manager handed it to early relay (0: it did not,
// as the first node, whose block comes from the API).
type arrivals struct {
	stored, relayed []time.Duration
}

// hopRound sends one block of txs down the line (first into every mempool when warm) and returns
// when each node reached it, from the block's submission to A, and the block's encoded size; it
// returns once every mempool is back to its size before the round.
func (l *Lab) hopRound(nodes []*actors.Node, cb *chainMiner, txs []*chainstate.Tx, warm bool) (arrivals, int, error) {
	base := make([]int, len(nodes))
	for i, n := range nodes {
		base[i] = statusOf(n).Mempool
	}
	if warm {
		if err := submitAll(nodes[0], txs, hopSenders); err != nil {
			return arrivals{}, 0, err
		}
		err := l.poll(60*time.Second, "every mempool holding the block's transfers", func() bool {
			return mempoolsAtLeast(nodes, base, len(txs))
		})
		if err != nil {
			return arrivals{}, 0, err
		}
		// The last nodes may still be writing the transfers to their mempool buckets (group
		// commits, each with an fsync): the block's commits would queue behind them. Wait until
		// no node's mempool commit count has moved for 50 ms (whole and compact rows alike).
		if err := l.poll(30*time.Second, "the mempool commits to settle", mempoolCommitsSettled(nodes, 50*time.Millisecond)); err != nil {
			return arrivals{}, 0, err
		}
	}
	blk, err := cb.mine(keyFromSeed(98), txs)
	if err != nil {
		return arrivals{}, 0, err
	}
	at, err := l.timeBlockArrival(nodes, blk)
	if err != nil {
		return arrivals{}, 0, err
	}
	err = l.poll(30*time.Second, "mempools emptied by the block", func() bool {
		return mempoolsAtMost(nodes, base)
	})
	if err != nil {
		return arrivals{}, 0, err
	}
	return at, len(blk.Encode()), nil
}

// timeBlockArrival submits blk to the line's first node and returns when each node stored and
// relayed it, measured from the submission; it waits at most 30 s.
func (l *Lab) timeBlockArrival(nodes []*actors.Node, blk *chainstate.Block) (arrivals, error) {
	submitErr := make(chan error, 1)
	t0 := time.Now()
	go func() { // joined below (submitErr)
		_, err := nodes[0].SubmitBlock(context.Background(), blk)
		submitErr <- err
	}()
	at, err := l.waitArrivals(nodes, blk.Header.Height, t0)
	if serr := <-submitErr; err == nil && serr != nil {
		err = fmt.Errorf("submit block: %w", serr)
	}
	if err != nil {
		return arrivals{}, err
	}
	return at, nil
}

// waitArrivals polls the nodes finely until each has stored height target, and returns when each
// stored and relayed it, measured from t0; it gives up 30 s after t0 or when the lab closes.
func (l *Lab) waitArrivals(nodes []*actors.Node, target uint64, t0 time.Time) (arrivals, error) {
	at := arrivals{stored: make([]time.Duration, len(nodes)), relayed: make([]time.Duration, len(nodes))}
	seen := make([]bool, len(nodes))
	deadline := t0.Add(30 * time.Second)
	for left := len(nodes); left > 0; {
		for i, n := range nodes {
			if at.relayed[i] == 0 && !seen[i] && n.RelayedHeight() >= target {
				at.relayed[i] = time.Since(t0)
			}
			if !seen[i] && statusOf(n).Height >= target {
				at.stored[i], seen[i] = time.Since(t0), true
				left--
			}
		}
		if l.isClosed() {
			return at, errClosed
		}
		if left > 0 && time.Now().After(deadline) {
			return at, fmt.Errorf("block %d did not reach every node of the line in 30 s", target)
		}
		time.Sleep(200 * time.Microsecond) // a bounded fine-grained poll
	}
	return at, nil
}

// statusOf is n's status, the zero Status when n does not answer.
func statusOf(n *actors.Node) api.Status {
	st, _ := n.Status(context.Background())
	return st
}

// mempoolsAtLeast reports whether every node's mempool holds at least extra more than its base.
func mempoolsAtLeast(nodes []*actors.Node, base []int, extra int) bool {
	for i, n := range nodes {
		if statusOf(n).Mempool < base[i]+extra {
			return false
		}
	}
	return true
}

// mempoolCommitsSettled returns a condition that holds once no node's count of mempool commits
// has changed for quiet.
func mempoolCommitsSettled(nodes []*actors.Node, quiet time.Duration) func() bool {
	var last []float64
	var since time.Time
	return func() bool {
		now := make([]float64, len(nodes))
		for i, n := range nodes {
			now[i], _ = metricValue(n, `actorchain_storage_commit_seconds_count{op="mempool"}`)
		}
		if !slices.Equal(now, last) {
			last, since = now, time.Now()
			return false
		}
		return time.Since(since) >= quiet
	}
}

// mempoolsAtMost reports whether no node's mempool holds more than its base.
func mempoolsAtMost(nodes []*actors.Node, base []int) bool {
	for i, n := range nodes {
		if statusOf(n).Mempool > base[i] {
			return false
		}
	}
	return true
}

// hopResult is the block-hop row for a median hop of hopMs: with compact blocks, warm rows have
// the goal of at most 3 ms a hop, cold rows 20 ms; the control rows without compact blocks
// (hop-full, hop-full-cold) have none.
func hopResult(warm, compact bool, hopMs float64) Result {
	name, fig := "hop", "block of 1,000 transfers, per hop, 5-node line"
	if !compact {
		name, fig = "hop-full", fig+", whole blocks (p2p.compact_blocks off)"
	}
	switch {
	case !compact && warm:
		return absolute(name, fig, hopMs, "ms")
	case !compact:
		return absolute(name+"-cold", fig+", mempools cold", hopMs, "ms")
	case !warm:
		return absolute(name+"-cold", fig+", mempools cold", hopMs, "ms", valueAtMost(20))
	}
	return absolute(name, fig, hopMs, "ms", valueAtMost(3))
}

// hopRelayResult is the per-hop figure of the relay itself: (E - B) / 3 of the times the nodes
// handed the block to early relay (rebuilt, header, work and tx root checked), the median of n
// blocks. No goal: the hop rows' goals are on the stored block.
func hopRelayResult(warm bool, hopMs float64, n int) Result {
	name, fig := "hop-relay", "block of 1,000 transfers, per hop to the early relay, 5-node line"
	if !warm {
		name, fig = name+"-cold", fig+", mempools cold"
	}
	r := absolute(name, fig, hopMs, "ms")
	r.Note = fmt.Sprintf("median of %d blocks; each node's time is when its peer manager handed the block on, before validating and storing it", n)
	return r
}

// hopBytesResult is the bytes-per-relayed-block row: per bytes on the wire for a block whose
// whole encoding takes full bytes on the wire, the goal at most 0.1 of it.
func hopBytesResult(per, full float64) Result {
	return relative("hop-bytes", "bytes on the wire per relayed block of 1,000 transfers, mempools warm", per, "B",
		"the whole block", full, "B", atMost(0.1))
}

// meanMs is the mean of a histogram series (name without _sum/_count, labels included) over
// nodes, in milliseconds.
func meanMs(nodes []*actors.Node, series string) float64 {
	name, labels, _ := strings.Cut(series, "{")
	if labels != "" {
		labels = "{" + labels
	}
	var sum, count float64
	for _, n := range nodes {
		s, _ := metricValue(n, name+"_sum"+labels)
		c, _ := metricValue(n, name+"_count"+labels)
		sum, count = sum+s, count+c
	}
	if count == 0 {
		return 0
	}
	return 1000 * sum / count
}

// waitLine waits until the nodes form exactly the line A-B-C-D-E.
func (l *Lab) waitLine(nodes []*actors.Node) error {
	want := make([][]string, len(nodes))
	for i := range nodes {
		if i > 0 {
			want[i] = append(want[i], nodes[i-1].NodeID())
		}
		if i < len(nodes)-1 {
			want[i] = append(want[i], nodes[i+1].NodeID())
		}
		slices.Sort(want[i])
	}
	return l.poll(30*time.Second, "the line of nodes", func() bool {
		for i, n := range nodes {
			info, err := n.Peers(context.Background())
			if err != nil {
				return false
			}
			var ids []string
			for _, c := range info.Connected {
				ids = append(ids, c.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, want[i]) {
				return false
			}
		}
		return true
	})
}

// submitAll submits txs to n: one goroutine per sender, each in nonce order.
func submitAll(n *actors.Node, txs []*chainstate.Tx, senders int) error {
	var wg sync.WaitGroup
	errs := make([]error, senders)
	for s := range senders {
		wg.Go(func() {
			for i := s; i < len(txs); i += senders {
				if _, err := n.SubmitTx(context.Background(), txs[i]); err != nil {
					errs[s] = fmt.Errorf("submit transfer %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ---- helpers ----

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func roundAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10+0.5)) / 10
	}
	return out
}

// thousands writes n with comma separators (40000 -> "40,000").
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
