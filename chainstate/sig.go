package chainstate

import (
	"crypto/ed25519"
	"runtime"
	"sync"
	"sync/atomic"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// The chain's signature rule is ed25519 verification as ZIP-215 defines it: the cofactored
// equation [8][S]B = [8]R + [8][k]A, S must be canonical (S < ℓ), and A and R may be any
// encoding that decompresses to a curve point, small-order and non-canonical ones included.
//
// Unlike RFC 8032's loose wording (and Go's crypto/ed25519, which checks the cofactorless
// equation), this rule gives the same answer for a signature verified alone and verified in a
// batch, whatever the batch's random coefficients: a node that batch-verifies a block agrees
// with one that checks each signature alone, so consensus cannot split on a crafted signature.
// Every signature crypto/ed25519 produces (or accepts from an honest signer) verifies under it.
var sigRule = &voi.Options{Verify: voi.VerifyOptionsZIP_215}

// VerifySignature reports whether sig is pub's valid signature over msg under the chain's rule
// (ZIP-215, see above). pub and sig of the wrong length are invalid, never a panic. The key's
// expanded form comes from expandedKeys (22.6 µs a verification where decompressing the key
// each time takes 26.7 µs on the reference machine).
func VerifySignature(pub, msg, sig []byte) bool {
	if len(pub) != voi.PublicKeySize || len(sig) != voi.SignatureSize {
		return false
	}
	if ek := expandedKeys.get(pub); ek != nil {
		return voi.VerifyExpandedWithOptions(ek, msg, sig, sigRule)
	}
	return voi.VerifyWithOptions(pub, msg, sig, sigRule) // pub is not a point: false
}

// sign is priv's ed25519 signature over msg (RFC 8032: deterministic, so byte for byte what
// crypto/ed25519.Sign makes). curve25519-voi's precomputed base-point tables sign in 14 µs where
// crypto/ed25519 takes 22 µs on the reference machine: every transfer `node tx send` makes and
// every seal. Like crypto/ed25519.Sign it panics on a key of the wrong length, a programming
// error (keys come from LoadSigningKey or ed25519.NewKeyFromSeed).
func sign(priv ed25519.PrivateKey, msg []byte) []byte {
	return voi.Sign(voi.PrivateKey(priv), msg)
}

// minBatch is the smallest number of signatures worth a batch verification: below it the batch's
// set-up (one multi-scalar multiplication and random coefficients) costs more than it saves.
const minBatch = 8

// verifying counts the goroutines verifying batches in this process (verifyAll's workers).
var verifying atomic.Int32

// verifyWorkers is how many goroutines verifyAll splits n signatures across when procs is
// GOMAXPROCS and busy goroutines already verify: the cores nobody verifies on, at least one and
// no more than n/minBatch. Several blocks checked at once (a sync checks two) then each run on
// one goroutine in chunks of half the block: the same cores busy, with larger batches (9.7 µs a
// signature at 500 against 10.4 at 250) and no goroutines waiting their turn for a core.
func verifyWorkers(procs, busy, n int) int {
	return max(1, min(procs-busy, n/minBatch))
}

// sigItem is one signature to check: the signer's key, the signed bytes and the signature.
type sigItem struct {
	pub, msg, sig []byte
}

// verifyAll checks every item under the chain's rule and returns the index of the lowest item
// that does not verify, or len(items) when all do. Items are verified in batches split across up
// to most goroutines (0: GOMAXPROCS, fewer while other checks verify: verifyWorkers), all joined
// before it returns; the answer equals checking each item with VerifySignature in order (a
// failed batch is re-checked item by item).
func verifyAll(items []sigItem, most int) int {
	n := len(items)
	if n < minBatch {
		for i, it := range items {
			if !VerifySignature(it.pub, it.msg, it.sig) {
				return i
			}
		}
		return n
	}
	workers := verifyWorkers(runtime.GOMAXPROCS(0), int(verifying.Load()), n)
	if most > 0 {
		workers = min(workers, most)
	}
	verifying.Add(int32(workers))
	defer verifying.Add(-int32(workers))
	// One contiguous chunk per worker: a batch's cost per signature falls as it grows (10.2,
	// 9.5, 8.7 and 8.2 µs at 250, 500, 1,000 and 2,000 signatures by cached keys here). Two
	// chunks a worker, so that one finished early could take over from a slow one, cost more
	// than they saved: a 1,000-transfer CheckBlock on two idle cores took 6.28 ms that way
	// against 5.90, and a sync, whose two checks run one worker each, verified 7% fewer
	// transfers a second. A worker slowed by a busy core is what verifyWorkers avoids.
	chunk := max(minBatch, (n+workers-1)/workers)
	var next atomic.Int64
	var failAt atomic.Int64 // lowest failing index so far; n while none failed
	failAt.Store(int64(n))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			bv := getBatchVerifier(chunk)
			defer putBatchVerifier(bv)
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				// Chunks are claimed in increasing order and failAt only decreases, so every
				// chunk starting below the final failAt is checked.
				if lo >= n || int64(lo) > failAt.Load() {
					return
				}
				hi := min(lo+chunk, n)
				if bad := verifyChunk(bv, items[lo:hi]); bad >= 0 {
					lowerTo(&failAt, int64(lo+bad))
				}
			}
		})
	}
	wg.Wait()
	return int(failAt.Load())
}

// batchVerifiers keeps batch verifiers between checks: a verifier's entries take about 430
// bytes a signature, and a sync made new ones for every chunk (215 KB a 1,000-transfer block).
var batchVerifiers sync.Pool

// getBatchVerifier is a pooled batch verifier, or a new one with room for n signatures.
func getBatchVerifier(n int) *voi.BatchVerifier {
	if bv, ok := batchVerifiers.Get().(*voi.BatchVerifier); ok {
		return bv
	}
	return voi.NewBatchVerifierWithCapacity(n)
}

// putBatchVerifier returns bv to the pool, emptied.
func putBatchVerifier(bv *voi.BatchVerifier) {
	bv.Reset()
	batchVerifiers.Put(bv)
}

// verifyChunk batch-verifies items with bv (reset first) and returns the index of the first
// invalid item, or -1 when all verify.
func verifyChunk(bv *voi.BatchVerifier, items []sigItem) int {
	bv.Reset()
	for _, it := range items {
		if ek := expandedKeys.get(it.pub); ek != nil {
			bv.AddExpandedWithOptions(ek, it.msg, it.sig, sigRule)
		} else {
			bv.AddWithOptions(it.pub, it.msg, it.sig, sigRule) // not a point: the entry fails
		}
	}
	ok, valid := bv.Verify(nil)
	if ok {
		return -1
	}
	for i, v := range valid {
		if !v {
			return i
		}
	}
	// Verify reported failure with every entry valid: cannot happen, but fail closed by
	// checking each item alone rather than trusting either answer.
	for i, it := range items {
		if !VerifySignature(it.pub, it.msg, it.sig) {
			return i
		}
	}
	return -1
}

// lowerTo sets v to x if x is lower than v's value.
func lowerTo(v *atomic.Int64, x int64) {
	for {
		cur := v.Load()
		if x >= cur || v.CompareAndSwap(cur, x) {
			return
		}
	}
}

// checkScratch is a block check's working memory (prepareBlock): the signatures to verify, their
// signed messages and the Merkle tree's levels. A sync checks a block of 1,000 transfers every few
// milliseconds, and these were 13% of the bytes the syncing process allocated.
type checkScratch struct {
	items []sigItem
	msgs  []byte
	level []Hash
}

var checkScratches = sync.Pool{New: func() any { return new(checkScratch) }}

func getCheckScratch() *checkScratch { return checkScratches.Get().(*checkScratch) }

// put empties s (its items point at transactions, which it must not keep alive) and pools it.
func (s *checkScratch) put() {
	clear(s.items)
	s.items, s.msgs = s.items[:0], s.msgs[:0]
	checkScratches.Put(s)
}
