package netsim

import (
	"time"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/powworker"
)

// ProbeHashRate measures this machine's proof-of-work hashes a second on one thread, as a
// miner's worker computes them (powworker.Search, bits no nonce meets), for about d.
func ProbeHashRate(d time.Duration) float64 {
	var hdr [chainstate.WorkHeaderSize]byte
	began := time.Now()
	deadline := began.Add(d)
	var hashes uint64
	for time.Now().Before(deadline) {
		res := powworker.Search(hdr, 256, powworker.Range{Start: uint32(hashes), Count: 1 << 16}, 0, nil)
		hashes += res.Hashes
	}
	return float64(hashes) / time.Since(began).Seconds()
}
