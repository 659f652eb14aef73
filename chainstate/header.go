package chainstate

import (
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"math/bits"
)

// Domain tags of the header's hashed and signed byte strings.
const (
	SealTag   = "actorchain-seal/1"
	CommitTag = "actorchain-commit/1"
)

// HeaderVersion is the only header version this code accepts after genesis.
const HeaderVersion = 1

// HeaderSize is the size of a header's storage and wire encoding (AppendEncode).
const HeaderSize = 4 + 32 + 8 + 4 + 32 + 32 + 32 + 64 + 8 + 4

// Header is a block header; its 80-byte work header is what proof of work hashes.
type Header struct {
	Version   uint32
	PrevHash  Hash
	Height    uint64
	Bits      uint32
	TxRoot    Hash
	StateRoot Hash
	Miner     PublicKey
	MinerSig  Signature
	Time      uint64 // ms since the Unix epoch
	Nonce     uint32
}

// WorkHeaderSize is the size of the work header.
const WorkHeaderSize = 80

// Offsets of the fields inside the work header. A miner patches WorkTimeOffset (u64) and
// WorkNonceOffset (u32) in place.
const (
	WorkVersionOffset    = 0
	WorkPrevHashOffset   = 4
	WorkCommitmentOffset = 36
	WorkTimeOffset       = 68
	WorkNonceOffset      = 76
)

// appendSealFields appends height u64 ‖ bits u32 ‖ tx root ‖ state root ‖ miner pubkey.
func (h *Header) appendSealFields(b []byte) []byte {
	b = be.AppendUint64(b, h.Height)
	b = be.AppendUint32(b, h.Bits)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.StateRoot[:]...)
	return append(b, h.Miner[:]...)
}

// SealBytes returns what the miner signs: SealTag ‖ height u64 ‖ bits u32 ‖ tx root (32) ‖
// state root (32) ‖ miner public key (32). Version, previous hash, time and nonce are not signed
// (they are in the work header directly), so a miner signs once per template.
func (h *Header) SealBytes() []byte {
	return h.appendSealFields(append(make([]byte, 0, len(SealTag)+140), SealTag...))
}

// Seal sets Miner to priv's public key and MinerSig to priv's signature over SealBytes.
func (h *Header) Seal(priv ed25519.PrivateKey) {
	copy(h.Miner[:], priv.Public().(ed25519.PublicKey))
	copy(h.MinerSig[:], sign(priv, h.SealBytes()))
}

// VerifySeal reports whether MinerSig is Miner's signature over SealBytes (the chain's rule:
// VerifySignature).
func (h *Header) VerifySeal() bool {
	return VerifySignature(h.Miner[:], h.SealBytes(), h.MinerSig[:])
}

// Commitment returns SHA-256(CommitTag ‖ height u64 ‖ bits u32 ‖ tx root ‖ state root ‖ miner
// public key ‖ miner signature (64)): the part of the header the work header binds by hash.
func (h *Header) Commitment() Hash {
	var buf [len(CommitTag) + 140 + 64]byte
	b := append(buf[:0], CommitTag...)
	b = h.appendSealFields(b)
	b = append(b, h.MinerSig[:]...)
	return sha256.Sum256(b)
}

// WorkHeader returns the 80-byte work header: version u32 ‖ previous hash (32) ‖ commitment
// (32) ‖ time ms u64 ‖ nonce u32, big-endian.
func (h *Header) WorkHeader() [WorkHeaderSize]byte {
	var w [WorkHeaderSize]byte
	be.PutUint32(w[WorkVersionOffset:], h.Version)
	copy(w[WorkPrevHashOffset:], h.PrevHash[:])
	c := h.Commitment()
	copy(w[WorkCommitmentOffset:], c[:])
	be.PutUint64(w[WorkTimeOffset:], h.Time)
	be.PutUint32(w[WorkNonceOffset:], h.Nonce)
	return w
}

// Hash returns the block hash: HashWork of the work header.
func (h *Header) Hash() Hash {
	w := h.WorkHeader()
	return HashWork(&w)
}

// AppendEncode appends the fixed-size (HeaderSize) encoding: every field in declaration order,
// integers big-endian: version u32 ‖ prev hash ‖ height u64 ‖ bits u32 ‖ tx root ‖ state root ‖
// miner ‖ miner signature ‖ time u64 ‖ nonce u32.
func (h *Header) AppendEncode(b []byte) []byte {
	b = be.AppendUint32(b, h.Version)
	b = append(b, h.PrevHash[:]...)
	b = be.AppendUint64(b, h.Height)
	b = be.AppendUint32(b, h.Bits)
	b = append(b, h.TxRoot[:]...)
	b = append(b, h.StateRoot[:]...)
	b = append(b, h.Miner[:]...)
	b = append(b, h.MinerSig[:]...)
	b = be.AppendUint64(b, h.Time)
	return be.AppendUint32(b, h.Nonce)
}

// Encode returns AppendEncode(nil).
func (h *Header) Encode() []byte { return h.AppendEncode(make([]byte, 0, HeaderSize)) }

// DecodeHeader decodes exactly HeaderSize bytes. Errors are *RuleError with CodeMalformed.
func DecodeHeader(b []byte) (*Header, error) {
	d := newDecoder("header", b)
	if len(b) != HeaderSize {
		d.failf("want exactly %d bytes, got %d", HeaderSize, len(b))
		return nil, d.err
	}
	h := decodeHeaderFrom(d)
	if err := d.finish(); err != nil {
		return nil, err
	}
	return h, nil
}

func decodeHeaderFrom(d *decoder) *Header {
	h := new(Header)
	h.Version = d.u32("version")
	d.fixed(h.PrevHash[:], "prev hash")
	h.Height = d.u64("height")
	h.Bits = d.u32("bits")
	d.fixed(h.TxRoot[:], "tx root")
	d.fixed(h.StateRoot[:], "state root")
	d.fixed(h.Miner[:], "miner")
	d.fixed(h.MinerSig[:], "miner signature")
	h.Time = d.u64("time")
	h.Nonce = d.u32("nonce")
	return h
}

// HashWork returns the double SHA-256 of a work header.
func HashWork(w *[WorkHeaderSize]byte) Hash {
	first := sha256.Sum256(w[:])
	return sha256.Sum256(first[:])
}

// MeetsBits reports whether h has at least bits leading zero bits (big-endian). Every hash meets
// 0 bits; none meets more than 256.
func MeetsBits(h Hash, nbits uint32) bool {
	if nbits > 256 {
		return false
	}
	full := nbits / 8
	for i := uint32(0); i < full; i++ {
		if h[i] != 0 {
			return false
		}
	}
	if rem := nbits % 8; rem != 0 {
		return bits.LeadingZeros8(h[full]) >= int(rem)
	}
	return true
}

// WorkForBits returns 2^bits, the work a block at that difficulty contributes to its chain.
func WorkForBits(nbits uint32) *big.Int {
	return new(big.Int).Lsh(big.NewInt(1), uint(nbits))
}
