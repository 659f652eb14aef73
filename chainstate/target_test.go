package chainstate

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestCompactToTarget(t *testing.T) {
	tests := []struct {
		c    uint32
		want string // hex, or "" for an error
	}{
		{0x1d00ffff, "ffff0000000000000000000000000000000000000000000000000000"}, // Bitcoin's genesis
		{0x1b0404cb, "404cb000000000000000000000000000000000000000000000000"},
		{0x03123456, "123456"},
		{0x04123456, "12345600"},
		{0x02123456, "1234"},
		{0x01123456, "12"},
		{0x207fffff, "7fffff" + strings.Repeat("00", 29)},
		{0x04923456, ""}, // sign bit
		{0x01003456, ""}, // rounds to zero
		{0x00000000, ""},
		{0x21010000, ""}, // 2^256: above the largest target
		{0xff123456, ""},
	}
	for _, tt := range tests {
		got, err := CompactToTarget(tt.c)
		if tt.want == "" {
			if !errors.Is(err, ErrCompact) {
				t.Errorf("CompactToTarget(%08x) = %v, %v; want ErrCompact", tt.c, got, err)
			}
			continue
		}
		if err != nil || got.Text(16) != tt.want {
			t.Errorf("CompactToTarget(%08x) = %v, %v; want %s", tt.c, got.Text(16), err, tt.want)
		}
	}
}

func TestTargetToCompact(t *testing.T) {
	tests := []struct {
		target string
		want   uint32
	}{
		{"ffff0000000000000000000000000000000000000000000000000000", 0x1d00ffff},
		{"123456", 0x03123456},
		{"12", 0x01120000},
		{"80", 0x02008000}, // the sign bit moves the mantissa
		{"800000", 0x04008000},
		{"123456789", 0x05012345}, // rounds down
		{strings.Repeat("f", 64), 0x2100ffff},
	}
	for _, tt := range tests {
		x, _ := new(big.Int).SetString(tt.target, 16)
		if got := TargetToCompact(x); got != tt.want {
			t.Errorf("TargetToCompact(%s) = %08x, want %08x", tt.target, got, tt.want)
		}
	}
}

// genTarget draws a target from 1 to 2^256-1, spread over every magnitude.
func genTarget(t *rapid.T) *big.Int {
	bits := rapid.IntRange(1, 256).Draw(t, "bits")
	b := rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "bytes")
	x := new(big.Int).SetBytes(b)
	x.Rsh(x, uint(256-bits))
	x.SetBit(x, bits-1, 1)
	return x
}

// TestCompactRoundTrip: the compact form rounds a target down by less than 2^-15 of it, and a
// canonical compact form decodes and encodes to itself.
func TestCompactRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := genTarget(t)
		c := TargetToCompact(x)
		y, err := CompactToTarget(c)
		if err != nil {
			t.Fatalf("TargetToCompact(%x) = %08x, which does not decode: %v", x, c, err)
		}
		if y.Cmp(x) > 0 {
			t.Fatalf("%x encodes to %08x = %x, above it", x, c, y)
		}
		lost := new(big.Int).Sub(x, y)
		if x.BitLen() > 16 && lost.Lsh(lost, 15).Cmp(x) >= 0 {
			t.Fatalf("%x encodes to %08x = %x, losing 2^-15 or more", x, c, y)
		}
		if TargetToCompact(y) != c {
			t.Fatalf("%08x decodes to %x, which encodes to %08x", c, y, TargetToCompact(y))
		}
	})
}

func TestWorkForTargetOfBits(t *testing.T) {
	for n := uint32(0); n <= 256; n++ {
		if got := WorkForTarget(TargetForBits(n)); got.Cmp(WorkForBits(n)) != 0 {
			t.Fatalf("WorkForTarget(TargetForBits(%d)) = %v, want 2^%d", n, got, n)
		}
	}
}

// TestMeetsTargetOfBits: a fixed difficulty's target accepts exactly the hashes with that many
// leading zero bits.
func TestMeetsTargetOfBits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h Hash
		copy(h[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "hash"))
		zeros := rapid.IntRange(0, 31).Draw(t, "zeros")
		for i := 0; i < zeros; i++ {
			h[i] = 0
		}
		n := uint32(rapid.IntRange(0, 256).Draw(t, "bits"))
		if MeetsTarget(h, TargetForBits(n)) != MeetsBits(h, n) {
			t.Fatalf("hash %x, %d bits: MeetsTarget %v, MeetsBits %v", h, n, MeetsTarget(h, TargetForBits(n)), MeetsBits(h, n))
		}
	})
}

func testASERT(anchor uint32) ASERT {
	t, err := CompactToTarget(anchor)
	if err != nil {
		panic(err)
	}
	return ASERT{AnchorHeight: 1, AnchorTimeMs: 1_796_000_000_000, AnchorTarget: t, IdealMs: 1000, HalfLifeMs: 300_000}
}

// TestASERTSchedule: on schedule the target stays; each half-life behind doubles it, each ahead
// halves it.
func TestASERTSchedule(t *testing.T) {
	a := testASERT(0x1d00ffff)
	at := func(blocks uint64, skew int64) *big.Int {
		return a.Next(a.AnchorHeight+blocks, uint64(int64(a.AnchorTimeMs)+int64(blocks)*a.IdealMs+skew))
	}
	for _, blocks := range []uint64{0, 1, 7, 1000} {
		if got := at(blocks, 0); got.Cmp(a.AnchorTarget) != 0 {
			t.Errorf("%d blocks on schedule: %x, want the anchor's %x", blocks, got, a.AnchorTarget)
		}
		for k := int64(1); k <= 4; k++ {
			late := new(big.Int).Lsh(a.AnchorTarget, uint(k))
			if got := at(blocks, k*a.HalfLifeMs); got.Cmp(late) != 0 {
				t.Errorf("%d blocks, %d half-lives late: %x, want %x", blocks, k, got, late)
			}
			early := new(big.Int).Rsh(a.AnchorTarget, uint(k))
			if got := at(blocks, -k*a.HalfLifeMs); got.Cmp(early) != 0 {
				t.Errorf("%d blocks, %d half-lives early: %x, want %x", blocks, k, got, early)
			}
		}
	}
	if got := at(0, 1e15); got.Cmp(maxTarget) != 0 {
		t.Errorf("far behind schedule: %x, want the largest target", got)
	}
	if got := at(0, -1e12); got.Cmp(big.NewInt(1)) != 0 {
		t.Errorf("far ahead of schedule: %x, want 1", got)
	}
}

// TestASERTProperties: a later parent never gives a harder target, and the fixed-point factor
// stays within 0.02% of 2^x.
func TestASERTProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := testASERT(0x1d00ffff)
		a.IdealMs = rapid.Int64Range(1, 3_600_000).Draw(t, "ideal")
		a.HalfLifeMs = rapid.Int64Range(1, 1e9).Draw(t, "halflife")
		h := a.AnchorHeight + rapid.Uint64Range(0, 1e6).Draw(t, "blocks")
		t1 := a.AnchorTimeMs - 1e9 + rapid.Uint64Range(0, 2e12).Draw(t, "t1")
		t2 := t1 + rapid.Uint64Range(0, 1e10).Draw(t, "later")
		x, y := a.Next(h, t1), a.Next(h, t2)
		if y.Cmp(x) < 0 {
			t.Fatalf("parent at %d gives %x, a later parent at %d a harder %x", t1, x, t2, y)
		}
		// With one half-life of schedule per 2^16 exponent steps, a parent frac/65536 of a
		// half-life late has a target of anchor * 2^(frac/65536), up to the fixed point.
		frac := rapid.Int64Range(0, 65535).Draw(t, "frac")
		a.HalfLifeMs = 65536
		got := a.Next(a.AnchorHeight, a.AnchorTimeMs+uint64(frac))
		ratio, _ := new(big.Float).Quo(new(big.Float).SetInt(got), new(big.Float).SetInt(a.AnchorTarget)).Float64()
		if want := math.Exp2(float64(frac) / 65536); math.Abs(ratio/want-1) > 2e-4 {
			t.Fatalf("frac %d: factor %.6f, 2^x %.6f", frac, ratio, want)
		}
	})
}

// TestASERTVectors checks the published vectors (chainstate/testdata/asert_vectors.txt, made by
// scripts/asert_vectors.py from the protocol text with Python's exact integers).
func TestASERTVectors(t *testing.T) {
	f, err := os.Open("testdata/asert_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		var ah, at, ph, pt uint64
		var ideal, hl int64
		var bits, wantBits uint32
		var wantHex string
		if _, err := fmt.Sscanf(line, "%d %d %x %d %d %d %d -> %s %x", &ah, &at, &bits, &ideal, &hl, &ph, &pt, &wantHex, &wantBits); err != nil {
			t.Fatalf("vector %q: %v", line, err)
		}
		anchor, err := CompactToTarget(bits)
		if err != nil {
			t.Fatalf("vector %q: %v", line, err)
		}
		a := ASERT{AnchorHeight: ah, AnchorTimeMs: at, AnchorTarget: anchor, IdealMs: ideal, HalfLifeMs: hl}
		got := a.Next(ph, pt)
		if fmt.Sprintf("%064x", got) != wantHex || TargetToCompact(got) != wantBits {
			t.Fatalf("vector %q: got %064x %08x", line, got, TargetToCompact(got))
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d vectors", n)
	}
	t.Logf("%d vectors agree", n)
}

func TestMedianTime(t *testing.T) {
	tests := []struct {
		times []uint64
		want  uint64
	}{
		{nil, 0},
		{[]uint64{5}, 5},
		{[]uint64{5, 1}, 1},
		{[]uint64{3, 1, 2}, 2},
		{[]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6},
		{[]uint64{100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6}, // only the last 11 count
		{[]uint64{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 5},
		{[]uint64{1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9}, 9},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.times)
		if got := MedianTime(tt.times); got != tt.want {
			t.Errorf("MedianTime(%v) = %d, want %d", tt.times, got, tt.want)
		}
		if !slices.Equal(in, tt.times) {
			t.Errorf("MedianTime changed its argument: %v", tt.times)
		}
	}
}
