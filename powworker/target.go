package powworker

import (
	"encoding/binary"
	"math/big"
)

// Target is a 256-bit proof-of-work target as four 64-bit words, the most significant first: a
// hash meets it when, read as a 256-bit big-endian number, it is at most the target. The search
// loop compares a hash's first word with the target's first word and only on a tie the rest, so
// checking a target costs what counting leading zero bits did.
type Target [4]uint64

// TargetOf returns t as a Target: t's low 256 bits (a target is at most 2^256 - 1; a negative
// t gives the zero target).
func TargetOf(t *big.Int) Target {
	var b [32]byte
	if t.Sign() > 0 {
		low := t
		if t.BitLen() > 256 {
			low = new(big.Int).And(t, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)))
		}
		low.FillBytes(b[:])
	}
	var out Target
	for i := range out {
		out[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	return out
}

// BitsTarget returns the target of a fixed difficulty of bits leading zero bits, 2^(256-bits) - 1:
// a hash meets it exactly when it has at least bits leading zero bits. For bits above 256 it is
// the zero target, which only the zero hash meets.
func BitsTarget(bits uint32) Target {
	var out Target
	if bits > 256 {
		return out
	}
	for i := range out {
		switch lo := uint32(64 * i); {
		case bits <= lo:
			out[i] = ^uint64(0)
		case bits < lo+64:
			out[i] = ^uint64(0) >> (bits - lo)
		}
	}
	return out
}

// Meets reports whether h, read as a 256-bit big-endian number, is at most t.
func (t *Target) Meets(h *[32]byte) bool {
	for i := range t {
		v := binary.BigEndian.Uint64(h[8*i:])
		if v != t[i] {
			return v < t[i]
		}
	}
	return true
}

// Big returns t as a big.Int.
func (t *Target) Big() *big.Int {
	var b [32]byte
	for i, w := range t {
		binary.BigEndian.PutUint64(b[8*i:], w)
	}
	return new(big.Int).SetBytes(b[:])
}
