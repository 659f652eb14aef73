package chainstate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Hash is a 32-byte SHA-256 digest, shown as lower-case hex in its own byte order.
type Hash [32]byte

// Address is an account address: the first 20 bytes of SHA-256(ed25519 public key).
type Address [20]byte

// PublicKey is an ed25519 public key.
type PublicKey [32]byte

// Signature is an ed25519 signature.
type Signature [64]byte

// String returns the lower-case hex of h, never byte-reversed.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zero bytes.
func (h Hash) IsZero() bool { return h == Hash{} }

// String returns the lower-case hex of a.
func (a Address) String() string { return hex.EncodeToString(a[:]) }

// String returns the lower-case hex of k.
func (k PublicKey) String() string { return hex.EncodeToString(k[:]) }

// String returns the lower-case hex of s.
func (s Signature) String() string { return hex.EncodeToString(s[:]) }

// Address returns the account address of k: the first 20 bytes of SHA-256(k).
func (k PublicKey) Address() Address {
	sum := sha256.Sum256(k[:])
	var a Address
	copy(a[:], sum[:len(a)])
	return a
}

// ParseHash decodes 64 hex characters (either case) into a Hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	return h, parseHex("hash", s, h[:])
}

// ParseAddress decodes 40 hex characters (either case) into an Address.
func ParseAddress(s string) (Address, error) {
	var a Address
	return a, parseHex("address", s, a[:])
}

// ParsePublicKey decodes 64 hex characters (either case) into a PublicKey.
func ParsePublicKey(s string) (PublicKey, error) {
	var k PublicKey
	return k, parseHex("public key", s, k[:])
}

// parseHex decodes s into dst, which fixes the expected length. what names the value in errors.
func parseHex(what, s string, dst []byte) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%s: want %d hex characters, got %d", what, 2*len(dst), len(s))
	}
	buf := make([]byte, len(dst))
	if _, err := hex.Decode(buf, []byte(s)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	copy(dst, buf)
	return nil
}

// MarshalText encodes h as lower-case hex (so it is a JSON string).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes hex as ParseHash does.
func (h *Hash) UnmarshalText(b []byte) error { return parseHex("hash", string(b), h[:]) }

// MarshalText encodes a as lower-case hex.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes hex as ParseAddress does.
func (a *Address) UnmarshalText(b []byte) error { return parseHex("address", string(b), a[:]) }

// MarshalText encodes k as lower-case hex.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes hex as ParsePublicKey does.
func (k *PublicKey) UnmarshalText(b []byte) error {
	return parseHex("public key", string(b), k[:])
}

// MarshalText encodes s as lower-case hex.
func (s Signature) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes 128 hex characters.
func (s *Signature) UnmarshalText(b []byte) error {
	return parseHex("signature", string(b), s[:])
}

// IsZero reports whether k is all zero bytes (the genesis block's miner).
func (k PublicKey) IsZero() bool { return k == PublicKey{} }
