package chainstate

import (
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"

	"pgregory.net/rapid"
)

// TestExpandedKeyAgreesWithPlain: VerifySignature with the key from expandedKeys (a miss, then
// a hit) gives the answer of verification that decompresses the key every time, on honest,
// altered, random, small-order and non-canonical signatures and keys.
func TestExpandedKeyAgreesWithPlain(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		it, _ := drawSigItem(t, "item")
		want := verifyPlain(it)
		for round := range 2 {
			if got := VerifySignature(it.pub, it.msg, it.sig); got != want {
				t.Fatalf("round %d: VerifySignature = %v, plain verification %v", round, got, want)
			}
		}
	})
}

func cacheTestKey(i int) []byte {
	seed := make([]byte, ed25519.SeedSize)
	seed[0], seed[1] = byte(i), byte(i>>8)
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

func TestKeyCacheBounds(t *testing.T) {
	c := newKeyCache(4)
	hot := cacheTestKey(1000)
	first := c.get(hot)
	if first == nil {
		t.Fatal("a valid key was not expanded")
	}
	for i := range 40 {
		if c.get(cacheTestKey(i)) == nil {
			t.Fatalf("key %d was not expanded", i)
		}
		if n := c.len(); n > 8 {
			t.Fatalf("after %d keys the cache holds %d, bound 8", i+1, n)
		}
		// A key in use is promoted on every hit and never dropped.
		if got := c.get(hot); got != first {
			t.Fatalf("after %d other keys the hot key was expanded again", i+1)
		}
	}
}

func TestKeyCacheRejects(t *testing.T) {
	c := newKeyCache(4)
	notAPoint := make([]byte, 32)
	notAPoint[0] = 2 // y = 2 has no x on the curve
	tests := []struct {
		name string
		pub  []byte
	}{
		{"short", cacheTestKey(1)[:31]},
		{"long", append(cacheTestKey(1), 0)},
		{"not a point", notAPoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ek := c.get(tt.pub); ek != nil {
				t.Fatal("got an expanded key")
			}
			if n := c.len(); n != 0 {
				t.Fatalf("the cache holds %d keys", n)
			}
		})
	}
}

// TestKeyCacheConcurrent: goroutines sharing a small cache (run with -race) each get a key
// that verifies their signer's signatures.
func TestKeyCacheConcurrent(t *testing.T) {
	c := newKeyCache(8)
	msg := []byte("concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				seed := make([]byte, ed25519.SeedSize)
				seed[0], seed[1] = byte(g), byte(i%12)
				priv := ed25519.NewKeyFromSeed(seed)
				it := sigItem{pub: priv.Public().(ed25519.PublicKey), msg: msg, sig: ed25519.Sign(priv, msg)}
				ek := c.get(it.pub)
				if ek == nil || ek.CompressedY() != [32]byte(it.pub) {
					errs <- fmt.Errorf("goroutine %d key %d: wrong expanded key", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := c.len(); n > 16 {
		t.Fatalf("the cache holds %d keys, bound 16", n)
	}
}
