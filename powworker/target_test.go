package powworker

import (
	"crypto/sha256"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// TestBitsTarget: BitsTarget(n) is chainstate.TargetForBits(n), and a hash meets it exactly when
// it has n leading zero bits (Meets).
func TestBitsTarget(t *testing.T) {
	for n := uint32(0); n <= 258; n++ {
		bt := BitsTarget(n)
		want := chainstate.TargetForBits(n)
		if got := bt.Big(); got.Cmp(want) != 0 {
			t.Fatalf("BitsTarget(%d) = %x, want %x", n, got, want)
		}
		if tt := TargetOf(want); tt != bt {
			t.Fatalf("TargetOf(TargetForBits(%d)) = %x, want %x", n, tt, bt)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		var h [32]byte
		copy(h[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))
		// Leading zeros: zero a drawn number of leading bits so that the boundary is hit often.
		z := rapid.IntRange(0, 256).Draw(t, "zeros")
		for i := 0; i < z; i++ {
			h[i/8] &^= 0x80 >> (i % 8)
		}
		n := uint32(rapid.IntRange(0, 257).Draw(t, "bits"))
		bt := BitsTarget(n)
		if got, want := bt.Meets(&h), Meets(&h, n) && n <= 256; got != want && !(n > 256 && h == [32]byte{}) {
			t.Fatalf("BitsTarget(%d).Meets(%x) = %v, Meets = %v", n, h, got, want)
		}
	})
}

// TestTargetMeets: Target.Meets is chainstate.MeetsTarget, and TargetOf round-trips.
func TestTargetMeets(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "target")
		hb := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash")
		// Share a drawn prefix so that ties in the first words happen.
		k := rapid.IntRange(0, 32).Draw(t, "shared")
		copy(hb[:k], tb[:k])
		target := new(big.Int).SetBytes(tb)
		tt := TargetOf(target)
		if tt.Big().Cmp(target) != 0 {
			t.Fatalf("TargetOf round trip: %x -> %x", target, tt.Big())
		}
		var h chainstate.Hash
		copy(h[:], hb)
		hh := [32]byte(h)
		if got, want := tt.Meets(&hh), chainstate.MeetsTarget(h, target); got != want {
			t.Fatalf("Meets(%x, %x) = %v, want %v", hb, tb, got, want)
		}
	})
	if TargetOf(new(big.Int).Lsh(big.NewInt(1), 256)) != (Target{}) {
		t.Fatal("2^256 should keep its low 256 bits (0)")
	}
	if TargetOf(big.NewInt(-1)) != (Target{}) {
		t.Fatal("a negative target should be zero")
	}
}

// TestSearchTarget: the nonce SearchTarget finds is the first in the range whose hash is at most
// a target that is not a power of two (checked by hashing every nonce before it), on both paths.
func TestSearchTarget(t *testing.T) {
	hdr := benchHeader()
	target, _ := chainstate.CompactToTarget(0x1f123456) // about 2^-11.8 of the hash space
	tt := TargetOf(target)
	for _, mid := range []bool{true, false} {
		h := hdr
		res := search(&h, tt, Range{Count: 1 << 20}, 100, nil, mid)
		if !res.Found {
			t.Fatalf("midstate %v: nothing found in 2^20 nonces", mid)
		}
		for n := uint32(0); n <= res.Nonce; n++ {
			SetNonce(&h, n)
			first := sha256.Sum256(h[:])
			sum := chainstate.Hash(sha256.Sum256(first[:]))
			if meets := chainstate.MeetsTarget(sum, target); meets != (n == res.Nonce) {
				t.Fatalf("midstate %v: nonce %d meets %v (found %d)", mid, n, meets, res.Nonce)
			}
			if n == res.Nonce && sum != res.Hash {
				t.Fatalf("hash %s, want %s", res.Hash, sum)
			}
		}
		if res.Hashes != uint64(res.Nonce)+1 {
			t.Fatalf("hashes %d for nonce %d", res.Hashes, res.Nonce)
		}
	}
}
