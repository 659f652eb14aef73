package powworker

import (
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchHeader is an arbitrary work header; bits 256 are never met by it in practice, so every
// benchmark hashes its whole range.
func benchHeader() [80]byte {
	var hdr [80]byte
	for i := range hdr {
		hdr[i] = byte(i * 7)
	}
	return hdr
}

var benchSink byte

// BenchmarkBareDoubleSHA256 is the baseline: one double SHA-256 of the 80-byte header per op.
func BenchmarkBareDoubleSHA256(b *testing.B) {
	hdr := benchHeader()
	b.SetBytes(80)
	b.ReportAllocs()
	var acc byte
	for i := 0; b.Loop(); i++ {
		binary.BigEndian.PutUint32(hdr[76:], uint32(i))
		first := sha256.Sum256(hdr[:])
		h := sha256.Sum256(first[:])
		acc ^= h[0]
	}
	benchSink = acc
}

// BenchmarkSearch is one nonce per op: a single Search over b.N nonces on one goroutine.
func BenchmarkSearch(b *testing.B) {
	hdr := benchHeader()
	b.SetBytes(80)
	b.ReportAllocs()
	b.ResetTimer()
	res := Search(hdr, 256, Range{Count: uint64(b.N)}, 0, nil)
	if res.Hashes != uint64(b.N) {
		b.Fatalf("hashed %d of %d", res.Hashes, b.N)
	}
}

// ratioPhase is how long each half of BenchmarkHashRateRatio hashes.
const ratioPhase = time.Second

// BenchmarkHashRateRatio measures the hash rate of Search against the bare double SHA-256 loop,
// each on GOMAXPROCS goroutines for ratioPhase, and reports search/bare as "ratio".
func BenchmarkHashRateRatio(b *testing.B) {
	w := runtime.GOMAXPROCS(0)
	hdr := benchHeader()
	var bareH, searchH uint64
	var bareT, searchT time.Duration
	sinks := make([]byte, w) // one per goroutine, so that keeping the sums live is race-free
	for b.Loop() {
		n, d := runWorkers(w, func(i int, stop *atomic.Bool) uint64 {
			h := hdr
			binary.BigEndian.PutUint32(h[:4], uint32(i)) // a different header per goroutine
			var acc byte
			var n uint64
			for !stop.Load() {
				for j := 0; j < DefaultBatch; j++ {
					binary.BigEndian.PutUint32(h[76:], uint32(n))
					first := sha256.Sum256(h[:])
					sum := sha256.Sum256(first[:])
					acc ^= sum[0]
					n++
				}
			}
			sinks[i] ^= acc
			return n
		})
		bareH, bareT = bareH+n, bareT+d
		ranges := Split(w)
		n, d = runWorkers(w, func(i int, stop *atomic.Bool) uint64 {
			var total uint64
			for !stop.Load() {
				total += Search(hdr, 256, ranges[i], 0, stop.Load).Hashes
			}
			return total
		})
		searchH, searchT = searchH+n, searchT+d
	}
	bare := float64(bareH) / bareT.Seconds()
	search := float64(searchH) / searchT.Seconds()
	b.ReportMetric(bare, "bare-H/s")
	b.ReportMetric(search, "search-H/s")
	b.ReportMetric(search/bare, "ratio")
	b.ReportMetric(float64(w), "workers")
	for _, s := range sinks {
		benchSink ^= s
	}
}

// runWorkers runs fn on w goroutines for ratioPhase, then sets their stop flag, joins them and
// returns the total count they report and the elapsed time up to the join.
func runWorkers(w int, fn func(i int, stop *atomic.Bool) uint64) (uint64, time.Duration) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	counts := make([]uint64, w)
	start := time.Now()
	for i := range w {
		wg.Go(func() { counts[i] = fn(i, &stop) })
	}
	time.Sleep(ratioPhase)
	stop.Store(true)
	wg.Wait()
	elapsed := time.Since(start)
	var total uint64
	for _, c := range counts {
		total += c
	}
	return total, elapsed
}
