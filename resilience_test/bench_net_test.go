package resilience_test

import (
	"context"
	"crypto/ed25519"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
)

// BenchmarkSync40k measures the sync of a chain holding 40,000 transfers (40 blocks of 1,000)
// from one node to a fresh one over Noise TCP, and, in the same run, the bare standard-library
// ed25519 verification rate on all cores: the issue asks transfers/s >= 0.8 x that rate.
func BenchmarkSync40k(b *testing.B) {
	const blocks, perBlock = 40, 1000
	senders := make([]ed25519.PrivateKey, 8)
	src := newHome(b, func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
		c.Chain.PowBits = 2
		for i := range senders {
			senders[i] = keyFromSeed(byte(30 + i))
			c.Chain.Alloc[addrOf(senders[i]).String()] = 1 << 50
		}
	})
	p, err := actors.ParamsFromConfig(src.cfg)
	if err != nil {
		b.Fatal(err)
	}
	// The chain, built and signed outside the timing.
	cb := newChainBuilder(p)
	to := addrOf(keyFromSeed(99))
	nonces := make([]uint64, len(senders))
	sealer := keyFromSeed(98)
	for i := 0; i < blocks; i++ {
		txs := make([]*chainstate.Tx, perBlock)
		for j := range txs {
			s := j % len(senders)
			txs[j] = transfer(p, senders[s], to, 1, 1, nonces[s])
			nonces[s]++
		}
		cb.mine(b, sealer, txs)
	}
	a := src.start(b, actors.Options{})
	for _, blk := range cb.blocks {
		if _, err := a.n.SubmitBlock(context.Background(), blk); err != nil {
			b.Fatal(err)
		}
	}
	allTxs := make([]*chainstate.Tx, 0, blocks*perBlock)
	for _, blk := range cb.blocks {
		allTxs = append(allTxs, blk.Txs...)
	}
	b.ResetTimer()
	var syncTime time.Duration
	for i := 0; i < b.N; i++ {
		dst := newHome(b, func(c *config.Config) {
			c.Mining.Enabled = false
			c.P2P.Listen = "127.0.0.1:0"
			c.P2P.Seeds = []string{a.n.NodeID() + "@" + a.n.P2PAddr()}
		})
		dst.cfg.Chain = src.cfg.Chain.Clone()
		rewrite(b, dst)
		t0 := time.Now()
		nd := dst.start(b, actors.Options{})
		waitFor(b, 5*time.Minute, "the sync", func() bool { return nd.status().Height >= blocks })
		syncTime += time.Since(t0)
		nd.stop()
	}
	b.StopTimer()
	rate := float64(b.N*blocks*perBlock) / syncTime.Seconds()
	bare := bareVerifyRate(allTxs)
	b.ReportMetric(rate, "tx/s")
	b.ReportMetric(bare, "verify/s")
	b.ReportMetric(rate/bare, "ratio")
}

// bareVerifyRate verifies every transaction's signature with the standard library on
// GOMAXPROCS goroutines and returns signatures per second.
func bareVerifyRate(txs []*chainstate.Tx) float64 {
	msgs := make([][]byte, len(txs))
	for i, tx := range txs {
		msgs[i] = tx.SigningBytes()
	}
	w := runtime.GOMAXPROCS(0)
	t0 := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(txs); i += w {
				if !ed25519.Verify(txs[i].From[:], msgs[i], txs[i].Sig[:]) {
					panic("bad signature in the benchmark chain")
				}
			}
		}()
	}
	wg.Wait()
	return float64(len(txs)) / time.Since(t0).Seconds()
}
