package powworker

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"math/bits"

	"github.com/actorchain/actorchain/chainstate"
)

// NonceSpace is the number of distinct nonces, 2^32.
const NonceSpace = 1 << 32

// DefaultBatch is the batch size Search uses when it is given a batch <= 0. At about 150 ns per
// hash it makes stop() a poll every ~0.6 ms, which bounds how long a stopped worker keeps hashing.
const DefaultBatch = 4096

// midstateLen is the length of the header prefix that does not change between nonces and fills
// exactly one SHA-256 block.
const midstateLen = 64

// Range is a slice of the 2^32 nonce space: the nonces Start, Start+1, ..., Start+Count-1. Count
// may be up to 1<<32; a range never wraps past nonce 2^32-1 (see End). The zero value is empty.
type Range struct {
	Start uint32
	Count uint64
}

// End returns the exclusive end of r as a uint64, Start+Count clamped to 2^32 so that the range
// never wraps around the nonce space.
func (r Range) End() uint64 {
	return uint64(r.Start) + min(r.Count, NonceSpace-uint64(r.Start))
}

// Split divides the whole nonce space into n disjoint, contiguous ranges, in ascending order, that
// together cover all 2^32 nonces. Their sizes differ by at most one. Split panics if n < 1 or
// n > 2^32, since then no such split exists.
func Split(n int) []Range {
	if n < 1 || uint64(n) > NonceSpace {
		panic(fmt.Sprintf("powworker: Split(%d): n must be in [1, 2^32]", n))
	}
	base, rem := NonceSpace/uint64(n), NonceSpace%uint64(n)
	out := make([]Range, n)
	var start uint64
	for i := range out {
		c := base
		if uint64(i) < rem {
			c++
		}
		out[i] = Range{Start: uint32(start), Count: c}
		start += c
	}
	return out
}

// Result is the outcome of a Search. Exactly one of three cases holds: Found (Nonce and Hash are
// set), Done (the range was exhausted without a find), or neither (stop() returned true first).
type Result struct {
	// Found reports that Nonce meets the target.
	Found bool
	// Nonce is the first nonce in the range that meets the target; valid only when Found.
	Nonce uint32
	// Hash is the block hash (double SHA-256 of the header with Nonce); valid only when Found.
	Hash chainstate.Hash
	// Hashes is the number of nonces hashed, including the found one.
	Hashes uint64
	// Done reports that the whole range was hashed and no nonce met the target.
	Done bool
}

// Search is SearchTarget with the target of bits leading zero bits (BitsTarget): the fixed
// difficulty of chain.pow_bits.
func Search(hdr [chainstate.WorkHeaderSize]byte, bits uint32, r Range, batch int, stop func() bool) Result {
	return search(&hdr, BitsTarget(bits), r, batch, stop, true)
}

// SearchTarget hashes the work header hdr with the nonces of r in ascending order and returns the
// first one whose block hash, read big-endian, is at most target (Target.Meets). It works in
// batches of batch nonces (DefaultBatch when batch <= 0) and calls stop before each batch, the first included; when stop returns true it
// returns at once with Found and Done false and Hashes counting the nonces hashed so far. A nil stop
// never stops. Search never calls stop once the range is exhausted or a nonce is found.
//
// hdr is passed by value: Search patches only the nonce bytes of its own copy, and the caller's
// header is never modified. Search blocks until it returns, starts no goroutines, and does not
// allocate per hash (a few small allocations per call set up the SHA-256 midstate).
func SearchTarget(hdr [chainstate.WorkHeaderSize]byte, target Target, r Range, batch int, stop func() bool) Result {
	return search(&hdr, target, r, batch, stop, true)
}

// search is SearchTarget with the choice of hashing strategy exposed, so that tests can check the
// midstate path against the plain one.
func search(hdr *[chainstate.WorkHeaderSize]byte, target Target, r Range, batch int, stop func() bool, useMidstate bool) Result {
	if batch <= 0 {
		batch = DefaultBatch
	}
	var ms *midstate
	if useMidstate {
		ms = newMidstate(hdr) // nil when the SHA-256 implementation cannot export its state
	}
	next, end := uint64(r.Start), r.End()
	var res Result
	for next < end {
		if stop != nil && stop() {
			return res
		}
		to := min(next+uint64(batch), end)
		var n uint64
		var found bool
		if ms != nil {
			n, found = ms.scan(next, to, &target, &res.Hash)
		} else {
			n, found = scanPlain(hdr, next, to, &target, &res.Hash)
		}
		if found {
			res.Found, res.Nonce = true, uint32(n)
			res.Hashes += n - next + 1
			return res
		}
		res.Hashes += to - next
		next = to
	}
	res.Done = true
	return res
}

// scanPlain hashes hdr with each nonce in [from, to) using two sha256.Sum256 calls, and returns the
// first nonce that meets target, writing its hash to out. It is the fallback when the midstate
// cannot be captured (e.g. a BoringCrypto build).
func scanPlain(hdr *[chainstate.WorkHeaderSize]byte, from, to uint64, target *Target, out *chainstate.Hash) (uint64, bool) {
	head := target[0]
	nonce := hdr[chainstate.WorkNonceOffset : chainstate.WorkNonceOffset+4]
	for n := from; n < to; n++ {
		binary.BigEndian.PutUint32(nonce, uint32(n))
		first := sha256.Sum256(hdr[:])
		h := sha256.Sum256(first[:])
		if binary.BigEndian.Uint64(h[:8]) <= head && target.Meets(&h) {
			*out = h
			return n, true
		}
	}
	return 0, false
}

// midstate is the SHA-256 state after the first 64 bytes of a work header, plus a digest that is
// reset to it for every nonce.
type midstate struct {
	d     hash.Hash
	u     encoding.BinaryUnmarshaler
	state []byte   // d's marshalled state after hdr[:64]
	tail  [16]byte // hdr[64:80]; the nonce is patched in place
	first []byte   // len 0, cap 32: where Sum writes the first hash without allocating
}

// newMidstate captures the SHA-256 state after hdr[:64], or returns nil if the standard library's
// digest does not support marshalling its state.
func newMidstate(hdr *[chainstate.WorkHeaderSize]byte) *midstate {
	d := sha256.New()
	m, ok1 := d.(encoding.BinaryMarshaler)
	u, ok2 := d.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return nil
	}
	d.Write(hdr[:midstateLen])
	state, err := m.MarshalBinary()
	if err != nil {
		return nil
	}
	ms := &midstate{d: d, u: u, state: state, first: make([]byte, 0, sha256.Size)}
	copy(ms.tail[:], hdr[midstateLen:])
	return ms
}

// scan is scanPlain on the midstate: per nonce it restores the state, writes the 16-byte tail (which
// only fills the digest's buffer) and finishes, so only two SHA-256 compressions run instead of three.
func (ms *midstate) scan(from, to uint64, target *Target, out *chainstate.Hash) (uint64, bool) {
	head := target[0]
	nonce := ms.tail[chainstate.WorkNonceOffset-midstateLen:]
	for n := from; n < to; n++ {
		binary.BigEndian.PutUint32(nonce, uint32(n))
		// NB: UnmarshalBinary only fails on a state of the wrong kind or size, and state came from
		// the same digest's MarshalBinary.
		_ = ms.u.UnmarshalBinary(ms.state)
		ms.d.Write(ms.tail[:])
		first := ms.d.Sum(ms.first)
		h := sha256.Sum256(first)
		if binary.BigEndian.Uint64(h[:8]) <= head && target.Meets(&h) {
			*out = h
			return n, true
		}
	}
	return 0, false
}

// lz64 returns the number of leading zero bits of v.
func lz64(v uint64) uint32 { return uint32(bits.LeadingZeros64(v)) }

// Meets reports whether h, read as a 256-bit big-endian number, has at least bits leading zero
// bits. Every hash meets 0 bits, only the zero hash meets 256, and nothing meets more than 256.
func Meets(h *[32]byte, bits uint32) bool {
	if bits > 256 {
		return false
	}
	for i := 0; i < 32; i += 8 {
		v := binary.BigEndian.Uint64(h[i:])
		if bits <= 64 {
			return lz64(v) >= bits
		}
		if v != 0 {
			return false
		}
		bits -= 64
	}
	return true // unreachable: bits <= 256 is used up by the fourth word
}

// SetTime writes ms, the header time in milliseconds since the Unix epoch, big-endian at
// chainstate.WorkTimeOffset of hdr.
func SetTime(hdr *[chainstate.WorkHeaderSize]byte, ms uint64) {
	binary.BigEndian.PutUint64(hdr[chainstate.WorkTimeOffset:], ms)
}

// SetNonce writes n big-endian at chainstate.WorkNonceOffset of hdr.
func SetNonce(hdr *[chainstate.WorkHeaderSize]byte, n uint32) {
	binary.BigEndian.PutUint32(hdr[chainstate.WorkNonceOffset:], n)
}

// Time returns the header time in milliseconds since the Unix epoch (the inverse of SetTime).
func Time(hdr *[chainstate.WorkHeaderSize]byte) uint64 {
	return binary.BigEndian.Uint64(hdr[chainstate.WorkTimeOffset:])
}

// Nonce returns the header nonce (the inverse of SetNonce).
func Nonce(hdr *[chainstate.WorkHeaderSize]byte) uint32 {
	return binary.BigEndian.Uint32(hdr[chainstate.WorkNonceOffset:])
}
