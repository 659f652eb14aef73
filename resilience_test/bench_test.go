package resilience_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// BenchmarkIngestAPI measures durable ingest over the HTTP API: 4 senders (accounts), each with 8
// requests in flight, every 202 only after the mempool's group commit (fsync). Mining is off so
// the figure is the ingest path alone. Reports transfers/s.
func BenchmarkIngestAPI(b *testing.B) {
	runIngest(b, func(nd *node, txs [][]*chainstate.Tx) (func(s, n int) error, func()) {
		// Encoded up front: the figure is the node's, not the load generator's.
		bodies := make([][]api.Tx, len(txs))
		for s := range txs {
			for _, tx := range txs[s] {
				bodies[s] = append(bodies[s], api.TxFromChain(tx))
			}
		}
		tr := &http.Transport{MaxIdleConnsPerHost: 64}
		client := api.NewClient("http://"+nd.n.APIAddr(), &http.Client{Transport: tr})
		return func(s, n int) error {
			_, err := client.SubmitTx(context.Background(), bodies[s][n])
			return err
		}, tr.CloseIdleConnections
	})
}

// BenchmarkIngestDirect is BenchmarkIngestAPI without HTTP: the node's SubmitTx from 4 senders × 8
// goroutines, to separate the mempool's group commit from the HTTP layer.
func BenchmarkIngestDirect(b *testing.B) {
	runIngest(b, func(nd *node, txs [][]*chainstate.Tx) (func(s, n int) error, func()) {
		return func(s, n int) error {
			_, err := nd.n.SubmitTx(context.Background(), txs[s][n])
			return err
		}, func() {}
	})
}

// runIngest starts a node with mining off and 4 funded senders, signs b.N transfers up front, and
// submits them with 8 goroutines per sender through the submit function prepare returns,
// reporting transfers/s.
func runIngest(b *testing.B, prepare func(nd *node, txs [][]*chainstate.Tx) (submit func(s, n int) error, done func())) {
	const senders, inflight = 4, 8
	keys := make([]ed25519.PrivateKey, senders)
	h := newHome(b, func(c *config.Config) {
		c.Mining.Enabled = false
		c.Mempool.MaxTxs = 1_000_000
		for i := range keys {
			keys[i] = keyFromSeed(byte(100 + i))
			c.Chain.Alloc[addrOf(keys[i]).String()] = 1 << 60
		}
	})
	nd := h.start(b, actors.Options{})
	p := nd.n.Params()
	to := addrOf(keyFromSeed(99))
	per := b.N/senders + 1
	txs := make([][]*chainstate.Tx, senders)
	for s := range txs {
		for n := 0; n < per; n++ {
			txs[s] = append(txs[s], transfer(p, keys[s], to, 1, 1, uint64(n)))
		}
	}
	submit, done := prepare(nd, txs)
	defer done()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		var next atomic.Int64
		for j := 0; j < inflight; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n := next.Add(1) - 1
					if n >= int64(per) {
						return
					}
					if err := submit(s, int(n)); err != nil {
						b.Errorf("submit: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*senders)/time.Since(start).Seconds(), "tx/s")
}

// BenchmarkReadyAfterRestart measures the time from Start to a ready node (API answering) on a home
// holding 3000 blocks, against a fresh home: the restart loads the tip and the block index, and
// replays nothing.
func BenchmarkReadyAfterRestart(b *testing.B) {
	h := newHome(b, func(c *config.Config) { c.Chain.PowBits = 4; c.Mining.Enabled = true })
	nd := h.start(b, actors.Options{MinBlockInterval: -1})
	deadline := time.Now().Add(2 * time.Minute)
	for nd.status().Height < 3000 {
		if time.Now().After(deadline) {
			b.Fatal("did not reach 3000 blocks")
		}
		time.Sleep(20 * time.Millisecond) // bounded poll
	}
	nd.stop()
	h.cfg.Mining.Enabled = false
	fresh := newHome(b, func(c *config.Config) { c.Mining.Enabled = false })
	var full, empty time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		n := h.start(b, actors.Options{})
		full += time.Since(t0)
		n.stop()
		t0 = time.Now()
		n = fresh.start(b, actors.Options{})
		empty += time.Since(t0)
		n.stop()
	}
	b.ReportMetric(float64(full.Microseconds())/float64(b.N)/1000, "ms-ready-3000")
	b.ReportMetric(float64(empty.Microseconds())/float64(b.N)/1000, "ms-ready-fresh")
	b.ReportMetric(float64(full)/float64(empty), "ratio")
}

// BenchmarkStopWhileMining measures Stop (the ordered stop) of a node whose workers are hashing.
func BenchmarkStopWhileMining(b *testing.B) {
	h := newHome(b, func(c *config.Config) { c.Chain.PowBits = 30 })
	var total time.Duration
	for i := 0; i < b.N; i++ {
		nd := h.start(b, actors.Options{})
		waitFor(b, 10*time.Second, "mining", func() bool {
			m, err := nd.n.Status(context.Background())
			return err == nil && m.Mining
		})
		t0 := time.Now()
		nd.stop()
		total += time.Since(t0)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-stop")
}

func keyFromSeed(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}
