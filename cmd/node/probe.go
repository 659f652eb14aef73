package main

import (
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/powworker"
)

// The chain section `node init` and `node devnet` give a new chain (CONTRACT §10): difficulty
// adjustment towards one block a second with a 5-minute half-life, from a genesis difficulty
// measured on this machine.
const (
	newChainBlockTime = time.Second
	newChainHalfLife  = 5 * time.Minute
	// genesisProbeTime is how long the hash-rate probe of a new chain hashes on every core.
	genesisProbeTime = 250 * time.Millisecond
)

// adjustingChain returns what sets up a new chain: target_block_time 1s, difficulty_halflife 5m
// and pow_bits from a hash-rate probe of all cores, or powBits when it is >= 0 (no probe).
func adjustingChain(powBits int) func(*config.Chain) {
	return func(c *config.Chain) {
		c.TargetBlockTime, c.DifficultyHalfLife = newChainBlockTime, newChainHalfLife
		if powBits >= 0 {
			c.PowBits = powBits
			return
		}
		c.PowBits = genesisPowBits(probeHashRate(genesisProbeTime, runtime.NumCPU()), newChainBlockTime)
	}
}

// probeHashRate hashes work headers as the miner's workers do (powworker.Search with a target
// no hash meets) on n goroutines for about d, and returns their total hashes a second. Every
// goroutine is joined before it returns.
func probeHashRate(d time.Duration, n int) float64 {
	n = max(n, 1)
	began := time.Now()
	deadline := began.Add(d)
	counts := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var hdr [chainstate.WorkHeaderSize]byte
			hdr[0] = byte(i) // a different header per goroutine
			for time.Now().Before(deadline) {
				counts[i] += powworker.Search(hdr, 256, powworker.Range{Start: uint32(counts[i]), Count: 1 << 14}, 0, nil).Hashes
			}
		})
	}
	wg.Wait()
	var total uint64
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(began).Seconds()
}

// genesisPowBits returns the pow_bits whose target gives about one block per interval at rate
// hashes a second: a block takes 2^bits hashes on average, so bits = round(log2(rate *
// interval)), within 1 to 64 (the key's range; the interval is then within a factor sqrt 2).
func genesisPowBits(rate float64, interval time.Duration) int {
	x := rate * interval.Seconds()
	switch {
	case x <= 2 || math.IsNaN(x):
		return 1
	case x >= 1<<64:
		return 64
	}
	return min(64, max(1, int(math.Round(math.Log2(x)))))
}
