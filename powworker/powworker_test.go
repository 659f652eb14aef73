package powworker

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"testing"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
)

// refHash is the model block hash: double SHA-256 of hdr with nonce n written at offset 76,
// computed without any code from the package.
func refHash(hdr [80]byte, n uint32) [32]byte {
	hdr[76], hdr[77], hdr[78], hdr[79] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	first := sha256.Sum256(hdr[:])
	return sha256.Sum256(first[:])
}

// refZeros counts leading zero bits one bit at a time.
func refZeros(h [32]byte) uint32 {
	var z uint32
	for _, b := range h {
		for mask := byte(0x80); mask != 0; mask >>= 1 {
			if b&mask != 0 {
				return z
			}
			z++
		}
	}
	return z
}

func drawHeader(t *rapid.T) [80]byte {
	var hdr [80]byte
	copy(hdr[:], rapid.SliceOfN(rapid.Byte(), 80, 80).Draw(t, "hdr"))
	return hdr
}

func hashWithPrefix(prefix ...byte) *[32]byte {
	var h [32]byte
	for i := range h {
		h[i] = 0xff
	}
	copy(h[:], prefix)
	return &h
}

func TestMeets(t *testing.T) {
	zero := &[32]byte{}
	last1 := &[32]byte{31: 0x01}
	last2 := &[32]byte{31: 0x02}
	word1 := &[32]byte{7: 0x01, 8: 0xff}
	tests := []struct {
		name string
		h    *[32]byte
		bits uint32
		want bool
	}{
		{"all ones, 0 bits", hashWithPrefix(), 0, true},
		{"all ones, 1 bit", hashWithPrefix(), 1, false},
		{"0x80 first, 0 bits", hashWithPrefix(0x80), 0, true},
		{"0x80 first, 1 bit", hashWithPrefix(0x80), 1, false},
		{"0x7f first, 1 bit", hashWithPrefix(0x7f), 1, true},
		{"0x7f first, 2 bits", hashWithPrefix(0x7f), 2, false},
		{"0x01 first, 7 bits", hashWithPrefix(0x01), 7, true},
		{"0x01 first, 8 bits", hashWithPrefix(0x01), 8, false},
		{"0x00 0x80, 8 bits", hashWithPrefix(0x00, 0x80), 8, true},
		{"0x00 0x80, 9 bits", hashWithPrefix(0x00, 0x80), 9, false},
		{"0x00 0x7f, 9 bits", hashWithPrefix(0x00, 0x7f), 9, true},
		{"0x00 0x7f, 10 bits", hashWithPrefix(0x00, 0x7f), 10, false},
		{"first word 1, 63 bits", word1, 63, true},
		{"first word 1, 64 bits", word1, 64, false},
		{"first word 0 then 0x80, 64 bits", hashWithPrefix(0, 0, 0, 0, 0, 0, 0, 0, 0x80), 64, true},
		{"first word 0 then 0x80, 65 bits", hashWithPrefix(0, 0, 0, 0, 0, 0, 0, 0, 0x80), 65, false},
		{"first word 0 then 0x40, 65 bits", hashWithPrefix(0, 0, 0, 0, 0, 0, 0, 0, 0x40), 65, true},
		{"last byte 2, 254 bits", last2, 254, true},
		{"last byte 2, 255 bits", last2, 255, false},
		{"last byte 1, 255 bits", last1, 255, true},
		{"last byte 1, 256 bits", last1, 256, false},
		{"zero, 0 bits", zero, 0, true},
		{"zero, 1 bit", zero, 1, true},
		{"zero, 255 bits", zero, 255, true},
		{"zero, 256 bits", zero, 256, true},
		{"zero, 257 bits", zero, 257, false},
		{"zero, max bits", zero, ^uint32(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Meets(tt.h, tt.bits); got != tt.want {
				t.Errorf("Meets(%x, %d) = %v, want %v", *tt.h, tt.bits, got, tt.want)
			}
		})
	}
}

// TestMeetsModel checks Meets against the arithmetic definition: h has at least bits leading zero
// bits iff the 256-bit number h is below 2^(256-bits).
func TestMeetsModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h [32]byte
		// Mostly-zero prefixes so that every word of the hash gets exercised.
		z := rapid.IntRange(0, 32).Draw(t, "zero_bytes")
		copy(h[z:], rapid.SliceOfN(rapid.Byte(), 32-z, 32-z).Draw(t, "rest"))
		bits := rapid.Uint32Range(0, 260).Draw(t, "bits")
		n := new(big.Int).SetBytes(h[:])
		want := bits <= 256 && n.Cmp(new(big.Int).Lsh(big.NewInt(1), uint(256-bits))) < 0
		if got := Meets(&h, bits); got != want {
			t.Fatalf("Meets(%x, %d) = %v, want %v", h, bits, got, want)
		}
	})
}

func TestSetTimeSetNonce(t *testing.T) {
	fill := func() [80]byte {
		var h [80]byte
		for i := range h {
			h[i] = 0xaa
		}
		return h
	}
	tests := []struct {
		name  string
		apply func(h *[80]byte)
		off   int
		want  []byte
	}{
		{"time", func(h *[80]byte) { SetTime(h, 0x0102030405060708) }, chainstate.WorkTimeOffset,
			[]byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"time zero", func(h *[80]byte) { SetTime(h, 0) }, 68, make([]byte, 8)},
		{"time max", func(h *[80]byte) { SetTime(h, ^uint64(0)) }, 68,
			[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"nonce", func(h *[80]byte) { SetNonce(h, 0xdeadbeef) }, chainstate.WorkNonceOffset,
			[]byte{0xde, 0xad, 0xbe, 0xef}},
		{"nonce zero", func(h *[80]byte) { SetNonce(h, 0) }, 76, make([]byte, 4)},
		{"nonce one", func(h *[80]byte) { SetNonce(h, 1) }, 76, []byte{0, 0, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fill()
			tt.apply(&h)
			want := fill()
			copy(want[tt.off:], tt.want)
			if h != want {
				t.Fatalf("header = %x\nwant     %x", h, want)
			}
		})
	}
	t.Run("round trip", func(t *testing.T) {
		h := fill()
		SetTime(&h, 1_700_000_000_123)
		SetNonce(&h, 0x01020304)
		if got := Time(&h); got != 1_700_000_000_123 {
			t.Errorf("Time = %d", got)
		}
		if got := Nonce(&h); got != 0x01020304 {
			t.Errorf("Nonce = %#x", got)
		}
	})
}

func TestSplitPanics(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Split(%d) did not panic", n)
				}
			}()
			Split(n)
		}()
	}
}

func TestSplitProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 64).Draw(t, "n")
		rs := Split(n)
		if len(rs) != n {
			t.Fatalf("len(Split(%d)) = %d", n, len(rs))
		}
		var next, total uint64
		minC, maxC := uint64(NonceSpace), uint64(0)
		for i, r := range rs {
			// Contiguous and in order: each range starts where the previous one ended, so no two
			// overlap and nothing between them is skipped.
			if uint64(r.Start) != next {
				t.Fatalf("range %d starts at %d, want %d (%v)", i, r.Start, next, rs)
			}
			if r.Count == 0 || r.End() != uint64(r.Start)+r.Count {
				t.Fatalf("range %d = %+v is empty or wraps", i, r)
			}
			next += r.Count
			total += r.Count
			minC, maxC = min(minC, r.Count), max(maxC, r.Count)
		}
		if total != NonceSpace || next != NonceSpace {
			t.Fatalf("Split(%d) covers %d nonces ending at %d, want 2^32", n, total, next)
		}
		if maxC-minC > 1 {
			t.Fatalf("Split(%d) sizes range from %d to %d", n, minC, maxC)
		}
	})
}

func TestRangeEnd(t *testing.T) {
	tests := []struct {
		r    Range
		want uint64
	}{
		{Range{}, 0},
		{Range{Start: 5, Count: 10}, 15},
		{Range{Start: 0, Count: NonceSpace}, NonceSpace},
		{Range{Start: 1, Count: NonceSpace}, NonceSpace},
		{Range{Start: ^uint32(0), Count: 1}, NonceSpace},
		{Range{Start: ^uint32(0) - 9, Count: 100}, NonceSpace},
		{Range{Start: 7, Count: ^uint64(0)}, NonceSpace},
	}
	for _, tt := range tests {
		if got := tt.r.End(); got != tt.want {
			t.Errorf("%+v.End() = %d, want %d", tt.r, got, tt.want)
		}
	}
}

func TestMidstateAvailable(t *testing.T) {
	// Guards the property tests below: if the midstate could not be captured, search would fall
	// back to the plain path and the two paths would no longer be compared with each other.
	var hdr [80]byte
	if newMidstate(&hdr) == nil {
		t.Fatal("crypto/sha256 digest does not marshal its state; Search runs without midstate")
	}
}

// naiveSearch is the model: try every nonce of r in order with the reference hash.
func naiveSearch(hdr [80]byte, bits uint32, r Range) Result {
	var res Result
	for n := uint64(r.Start); n < uint64(r.Start)+r.Count && n < NonceSpace; n++ {
		res.Hashes++
		if h := refHash(hdr, uint32(n)); refZeros(h) >= bits {
			res.Found, res.Nonce, res.Hash = true, uint32(n), h
			return res
		}
	}
	res.Done = true
	return res
}

func drawRange(t *rapid.T, maxCount uint64) Range {
	count := rapid.Uint64Range(0, maxCount).Draw(t, "count")
	var start uint32
	if rapid.Bool().Draw(t, "near_top") {
		// Ranges that run into the end of the nonce space are clamped, not wrapped.
		start = ^uint32(0) - rapid.Uint32Range(0, uint32(maxCount)).Draw(t, "from_top")
	} else {
		start = rapid.Uint32().Draw(t, "start")
	}
	return Range{Start: start, Count: count}
}

// TestSearchFindsFirst compares Search (both hashing paths) with the naive loop on small ranges:
// same first qualifying nonce, same hash, same Hashes (nonces tried), same Done.
func TestSearchFindsFirst(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hdr := drawHeader(t)
		bits := rapid.Uint32Range(1, 8).Draw(t, "bits")
		r := drawRange(t, 600)
		batch := rapid.IntRange(-1, 100).Draw(t, "batch")
		want := naiveSearch(hdr, bits, r)
		for _, mid := range []bool{true, false} {
			h := hdr
			got := search(&h, BitsTarget(bits), r, batch, nil, mid)
			if got != want {
				t.Fatalf("search(midstate=%v, %+v, bits %d, batch %d) = %+v\nwant %+v", mid, r, bits, batch, got, want)
			}
			if [76]byte(h[:76]) != [76]byte(hdr[:76]) {
				t.Fatalf("search changed header bytes outside the nonce")
			}
		}
		if got := Search(hdr, bits, r, batch, nil); got != want {
			t.Fatalf("Search = %+v, want %+v", got, want)
		}
	})
}

// TestSearchFoundMeetsBits checks that a found nonce really meets the bits, recomputing the
// double SHA-256 independently, over larger ranges and bits than the naive comparison.
func TestSearchFoundMeetsBits(t *testing.T) {
	found := 0
	rapid.Check(t, func(t *rapid.T) {
		hdr := drawHeader(t)
		bits := rapid.Uint32Range(0, 12).Draw(t, "bits")
		r := Range{Start: rapid.Uint32().Draw(t, "start"), Count: 1 << 14}
		got := Search(hdr, bits, r, 0, nil)
		if !got.Found {
			if !got.Done || got.Hashes != r.End()-uint64(r.Start) {
				t.Fatalf("not found but %+v", got)
			}
			return
		}
		found++
		if uint64(got.Nonce) < uint64(r.Start) || uint64(got.Nonce) >= r.End() {
			t.Fatalf("nonce %d outside %+v", got.Nonce, r)
		}
		h := refHash(hdr, got.Nonce)
		if chainstate.Hash(h) != got.Hash {
			t.Fatalf("hash %x, recomputed %x", got.Hash, h)
		}
		if z := refZeros(h); z < bits {
			t.Fatalf("nonce %d: hash %x has %d leading zeros, want >= %d", got.Nonce, h, z, bits)
		}
		if got.Done || got.Hashes != uint64(got.Nonce)-uint64(r.Start)+1 {
			t.Fatalf("found with %+v", got)
		}
	})
	if found == 0 {
		t.Fatal("no case found a nonce; the property was never exercised")
	}
}

// TestSearchStop checks that stop is polled before every batch and that Search returns within one
// batch of it turning true.
func TestSearchStop(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hdr := drawHeader(t)
		batch := rapid.IntRange(1, 64).Draw(t, "batch")
		count := rapid.Uint64Range(0, 2000).Draw(t, "count")
		k := rapid.IntRange(1, 50).Draw(t, "stop_on_call")
		r := Range{Start: rapid.Uint32Range(0, 1<<31).Draw(t, "start"), Count: count}
		calls := 0
		stop := func() bool { calls++; return calls >= k }
		// 256 bits: only the all-zero hash qualifies, so nothing is found.
		got := Search(hdr, 256, r, batch, stop)
		b := uint64(batch)
		batches := (count + b - 1) / b
		if uint64(k) <= batches {
			// Stopped: k-1 full batches ran, stop was not called again.
			want := Result{Hashes: uint64(k-1) * b}
			if got != want || calls != k {
				t.Fatalf("got %+v after %d calls, want %+v after %d", got, calls, want, k)
			}
			return
		}
		// The range ran out first: one poll per batch, none after the last.
		want := Result{Hashes: count, Done: true}
		if got != want || uint64(calls) != batches {
			t.Fatalf("got %+v after %d calls, want %+v after %d", got, calls, want, batches)
		}
	})
}

func TestSearchEdges(t *testing.T) {
	var hdr [80]byte
	never := func() bool { return false }
	tests := []struct {
		name  string
		bits  uint32
		r     Range
		batch int
		stop  func() bool
		want  Result
	}{
		{"empty range", 1, Range{Start: 9}, 0, func() bool { panic("stop called on empty range") }, Result{Done: true}},
		{"zero bits finds first nonce", 0, Range{Start: 42, Count: 10}, 0, never,
			Result{Found: true, Nonce: 42, Hash: refHash(hdr, 42), Hashes: 1}},
		{"clamped at top", 256, Range{Start: ^uint32(0) - 9, Count: 1000}, 3, never, Result{Done: true, Hashes: 10}},
		{"last nonce only", 0, Range{Start: ^uint32(0), Count: 5}, 0, nil,
			Result{Found: true, Nonce: ^uint32(0), Hash: refHash(hdr, ^uint32(0)), Hashes: 1}},
		{"stop before first batch", 0, Range{Count: 10}, 0, func() bool { return true }, Result{}},
		{"unreachable bits", 257, Range{Count: 100}, 7, nil, Result{Done: true, Hashes: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Search(hdr, tt.bits, tt.r, tt.batch, tt.stop); got != tt.want {
				t.Fatalf("Search = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSearchNoAllocPerHash checks that allocations per Search call do not grow with the number of
// nonces hashed.
func TestSearchNoAllocPerHash(t *testing.T) {
	var hdr [80]byte
	run := func(count uint64) float64 {
		return testing.AllocsPerRun(5, func() { Search(hdr, 256, Range{Count: count}, 64, nil) })
	}
	small, large := run(1), run(20_000)
	if large != small {
		t.Fatalf("allocations per Search: %v for 1 nonce, %v for 20000", small, large)
	}
	t.Logf("allocations per Search call: %v", small)
}

func TestSearchKnownAnswer(t *testing.T) {
	// A fixed header, worked out with the reference hash, so that a change in the header layout or
	// the byte order of the nonce shows up as a different nonce.
	var hdr [80]byte
	binary.BigEndian.PutUint32(hdr[0:], 1)
	for i := 4; i < 68; i++ {
		hdr[i] = byte(i)
	}
	SetTime(&hdr, 1_700_000_000_000)
	want := naiveSearch(hdr, 16, Range{Count: NonceSpace})
	if !want.Found {
		t.Fatal("model found nothing")
	}
	got := Search(hdr, 16, Range{Count: NonceSpace}, 0, nil)
	if got != want {
		t.Fatalf("Search = %+v, want %+v", got, want)
	}
	SetNonce(&hdr, got.Nonce)
	first := sha256.Sum256(hdr[:])
	if h := sha256.Sum256(first[:]); h != [32]byte(got.Hash) || h[0] != 0 || h[1] != 0 {
		t.Fatalf("hash of solved header %x", h)
	}
}
