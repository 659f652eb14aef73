package chainstate

import (
	"sync"

	voi "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// keyCacheGeneration is how many signers one generation of expandedKeys holds: at most twice as
// many are kept, about 1.5 KiB each (6 MiB at most).
const keyCacheGeneration = 2048

// expandedKeys is the process's cache of signers' expanded public keys (see keyCache). It only
// saves work: a key verifies the same signatures expanded or not (TestExpandedKeyAgreesWithPlain).
var expandedKeys = newKeyCache(keyCacheGeneration)

// keyCache keeps curve25519-voi's expanded form of public keys (the point decompressed, negated
// and a table of its multiples): verifying with it skips the decompression (a square root) and,
// in a batch, lets the multi-scalar multiplication use the table. Transfers come from far fewer
// signers than there are transfers, so most signatures a node checks are by a key it has seen.
//
// Two generations bound it: lookups hit either, a hit in the old one moves the key to the current
// one, and when the current one holds max keys it becomes the old one (the previous old one is
// dropped). A key that does not decompress is never cached. Safe for concurrent use.
//
// A signer never seen again pays for the expansion: a single verification by a new key takes
// about 31.5 µs where the plain one takes 28.6 (a hit 22.7), so a flood of one-off signers costs
// a tenth more per signature and churns the cache, nothing else.
type keyCache struct {
	mu       sync.Mutex
	max      int                                  // keys per generation, fixed at construction
	cur, old map[PublicKey]*voi.ExpandedPublicKey // guarded by mu
}

func newKeyCache(max int) *keyCache {
	return &keyCache{max: max, cur: make(map[PublicKey]*voi.ExpandedPublicKey)}
}

// get returns pub's expanded key, computing and caching it on a miss, or nil when pub is not
// 32 bytes or does not decompress to a curve point (no signature by it verifies).
func (c *keyCache) get(pub []byte) *voi.ExpandedPublicKey {
	if len(pub) != len(PublicKey{}) {
		return nil
	}
	k := PublicKey(pub)
	c.mu.Lock()
	ek, ok := c.cur[k]
	if !ok {
		if ek, ok = c.old[k]; ok {
			delete(c.old, k)
			c.putLocked(k, ek)
		}
	}
	c.mu.Unlock()
	if ok {
		return ek
	}
	// Expanding takes a few microseconds: outside the lock, so that two goroutines may both
	// expand a new key (the second store wins, both are the same key).
	ek, err := voi.NewExpandedPublicKey(voi.PublicKey(pub))
	if err != nil {
		return nil
	}
	c.mu.Lock()
	c.putLocked(k, ek)
	c.mu.Unlock()
	return ek
}

func (c *keyCache) putLocked(k PublicKey, ek *voi.ExpandedPublicKey) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[PublicKey]*voi.ExpandedPublicKey, c.max)
	}
	c.cur[k] = ek
}

// len is the number of keys held in both generations.
func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
