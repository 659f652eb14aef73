package chainstate

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
)

// Targets and difficulty adjustment (CONTRACT §10, docs/protocol.md "Difficulty").
//
// A target is a 256-bit unsigned integer: a block meets it when its hash, read big-endian, is at
// most the target. A fixed-difficulty chain (chain.target_block_time 0) keeps pow_bits: its
// target is 2^(256-pow_bits) - 1, and a hash meets it exactly when it has pow_bits leading zero
// bits. An adjusting chain carries each block's target in the header's bits field in compact
// form (Bitcoin's nBits) and computes it with ASERT (aserti3-2d), integers only, anchored at
// block 1.

// maxTarget is the easiest target, 2^256 - 1: every hash meets it.
var maxTarget = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// two256 is 2^256, the numerator of a block's work.
var two256 = new(big.Int).Lsh(big.NewInt(1), 256)

// MaxTarget returns the easiest target, 2^256 - 1.
func MaxTarget() *big.Int { return new(big.Int).Set(maxTarget) }

// TargetForBits returns the target of a fixed difficulty of nbits leading zero bits,
// 2^(256-nbits) - 1 (0 for more than 256).
func TargetForBits(nbits uint32) *big.Int {
	if nbits > 256 {
		return new(big.Int)
	}
	t := new(big.Int).Lsh(big.NewInt(1), uint(256-nbits))
	return t.Sub(t, big.NewInt(1))
}

// WorkForTarget returns floor(2^256 / (target + 1)), the work of a block at target: for
// TargetForBits(n) that is exactly 2^n.
func WorkForTarget(target *big.Int) *big.Int {
	d := new(big.Int).Add(target, big.NewInt(1))
	return d.Div(two256, d)
}

// MeetsTarget reports whether h, read as a 256-bit big-endian number, is at most target.
func MeetsTarget(h Hash, target *big.Int) bool {
	return new(big.Int).SetBytes(h[:]).Cmp(target) <= 0
}

// ErrCompact is returned for a compact target that encodes no valid target.
var ErrCompact = errors.New("invalid compact target")

// CompactToTarget decodes a compact target: the high byte is an exponent E, the low 23 bits a
// mantissa M, and bit 23 a sign that must be 0; the target is M * 256^(E-3) (M >> 8*(3-E) when E
// < 3). A negative target, one above 2^256 - 1 and zero are errors.
func CompactToTarget(c uint32) (*big.Int, error) {
	exp := c >> 24
	mant := c & 0x007fffff
	if c&0x00800000 != 0 {
		return nil, fmt.Errorf("%w %08x: negative", ErrCompact, c)
	}
	t := new(big.Int).SetUint64(uint64(mant))
	if exp <= 3 {
		t.Rsh(t, uint(8*(3-exp)))
	} else {
		t.Lsh(t, uint(8*(exp-3)))
	}
	switch {
	case t.Sign() == 0:
		return nil, fmt.Errorf("%w %08x: zero", ErrCompact, c)
	case t.Cmp(maxTarget) > 0:
		return nil, fmt.Errorf("%w %08x: above 2^256-1", ErrCompact, c)
	}
	return t, nil
}

// TargetToCompact encodes target (1 to 2^256 - 1) in compact form, rounding down to the 23-bit
// mantissa: CompactToTarget of the result is at most target, and equal when target fits. The
// encoding is canonical: the mantissa's top byte is not zero unless the target is below 2^15,
// and bit 23 stays clear.
func TargetToCompact(target *big.Int) uint32 {
	size := uint32((target.BitLen() + 7) / 8)
	var mant uint32
	if size <= 3 {
		mant = uint32(target.Uint64()) << (8 * (3 - size))
	} else {
		mant = uint32(new(big.Int).Rsh(target, uint(8*(size-3))).Uint64())
	}
	if mant&0x00800000 != 0 { // the sign bit: one more exponent byte, one less mantissa byte
		mant >>= 8
		size++
	}
	return size<<24 | mant
}

// ASERT parameters: the anchor (block 1) and the schedule.
type ASERT struct {
	AnchorHeight uint64   // block 1's height (1)
	AnchorTimeMs uint64   // block 1's time, ms since the Unix epoch
	AnchorTarget *big.Int // block 1's target: the genesis target, through its compact form
	IdealMs      int64    // chain.target_block_time in ms, > 0
	HalfLifeMs   int64    // chain.difficulty_halflife in ms, > 0
}

// Cubic approximation of 2^x for x in [0, 1) in 16-bit fixed point (aserti3-2d):
// 2^x ~ 1 + (asertA*x + asertB*x^2 + asertC*x^3 + 2^47) / 2^48, x = frac / 2^16.
const (
	asertA = 195766423245049
	asertB = 971821376
	asertC = 5127
)

// Next returns the target of the block after parent (at parentHeight, made at parentTimeMs):
//
//	exponent = floor((parentTime - anchorTime - ideal * (parentHeight - anchorHeight)) * 65536 / halfLife)
//	shifts   = floor(exponent / 65536);  frac = exponent - shifts * 65536   (0 <= frac < 65536)
//	factor   = 65536 + floor((A*frac + B*frac^2 + C*frac^3 + 2^47) / 2^48)
//	target   = floor(anchorTarget * factor * 2^shifts / 65536), clamped to [1, 2^256 - 1]
//
// with every intermediate an exact integer (no overflow, floor division), so that every
// implementation computes the same target. A parent on schedule keeps the anchor's target; each
// half-life behind schedule doubles it (easier), each half-life ahead halves it.
func (a ASERT) Next(parentHeight, parentTimeMs uint64) *big.Int {
	delta := new(big.Int).Sub(new(big.Int).SetUint64(parentTimeMs), new(big.Int).SetUint64(a.AnchorTimeMs))
	heights := new(big.Int).Sub(new(big.Int).SetUint64(parentHeight), new(big.Int).SetUint64(a.AnchorHeight))
	delta.Sub(delta, heights.Mul(heights, big.NewInt(a.IdealMs)))
	exponent := floorDiv(delta.Lsh(delta, 16), big.NewInt(a.HalfLifeMs))
	shifts := floorDiv(new(big.Int).Set(exponent), big.NewInt(65536))
	frac := new(big.Int).Sub(exponent, new(big.Int).Lsh(shifts, 16)).Int64()

	poly := new(big.Int).Mul(big.NewInt(asertA), big.NewInt(frac))
	f2 := new(big.Int).Mul(big.NewInt(frac*frac), big.NewInt(asertB))
	f3 := new(big.Int).Mul(new(big.Int).Mul(big.NewInt(frac*frac), big.NewInt(frac)), big.NewInt(asertC))
	poly.Add(poly, f2).Add(poly, f3).Add(poly, new(big.Int).Lsh(big.NewInt(1), 47))
	factor := poly.Rsh(poly, 48)
	factor.Add(factor, big.NewInt(65536))

	t := new(big.Int).Mul(a.AnchorTarget, factor)
	// Beyond 512 doublings either way the result is clamped whatever the anchor target.
	switch {
	case shifts.Cmp(big.NewInt(512)) > 0:
		return MaxTarget()
	case shifts.Cmp(big.NewInt(-512)) < 0:
		return big.NewInt(1)
	case shifts.Sign() >= 0:
		t.Lsh(t, uint(shifts.Int64()))
	default:
		t.Rsh(t, uint(-shifts.Int64()))
	}
	t.Rsh(t, 16)
	switch {
	case t.Sign() == 0:
		return big.NewInt(1)
	case t.Cmp(maxTarget) > 0:
		return MaxTarget()
	}
	return t
}

// floorDiv returns floor(x / y) for y > 0 (big.Int's Div is Euclidean, which is the floor for a
// positive divisor). It may reuse x.
func floorDiv(x, y *big.Int) *big.Int {
	return x.Div(x, y)
}

// MedianTimeSpan is how many of a block's ancestors the median-time-past rule looks at.
const MedianTimeSpan = 11

// MedianTime returns the median of the last MedianTimeSpan entries of times (ms, oldest first;
// fewer near genesis): the lower middle for an even count. 0 for none. On an adjusting chain a
// block's time must be above the median time of its parent and the parent's 10 ancestors, so
// that a miner cannot walk time back to ease the target (time warp).
func MedianTime(times []uint64) uint64 {
	if len(times) == 0 {
		return 0
	}
	last := slices.Clone(times[max(0, len(times)-MedianTimeSpan):])
	slices.Sort(last)
	return last[(len(last)-1)/2]
}
