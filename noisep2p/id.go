package noisep2p

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// ID is a node id: the node's 32-byte X25519 static public key, which the Noise handshake
// authenticates directly. Its text form is 64 lower-case hex digits.
type ID [32]byte

// String returns the lower-case hex form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, as used in actor names ("peers/<id8>") and logs.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zeros (no X25519 public key is).
func (id ID) IsZero() bool { return id == ID{} }

// MarshalText implements encoding.TextMarshaler (JSON strings of lower-case hex).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the rules of ParseID.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses 64 hex digits (either case) into an ID.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("node id: want %d hex digits, got %d", 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// ParsePeerAddr splits "ID@HOST:PORT" into the id and the address, checking both (the address
// with the rules of the wire format: printable ASCII, a non-empty host, a port 1..65535, at most
// 255 bytes).
func ParsePeerAddr(s string) (ID, string, error) {
	idPart, addr, ok := strings.Cut(s, "@")
	if !ok {
		return ID{}, "", fmt.Errorf("peer address %q: want ID@HOST:PORT", s)
	}
	id, err := ParseID(idPart)
	if err != nil {
		return ID{}, "", fmt.Errorf("peer address %q: %w", s, err)
	}
	if err := checkAddr(addr); err != nil {
		return ID{}, "", fmt.Errorf("peer address %q: %w", s, err)
	}
	return id, addr, nil
}

// IDFromKey returns the node id of an X25519 public key.
func IDFromKey(pub *ecdh.PublicKey) ID {
	var id ID
	copy(id[:], pub.Bytes())
	return id
}

// GenerateKey returns a fresh X25519 static key from crypto/rand.
func GenerateKey() (*ecdh.PrivateKey, error) { return ecdh.X25519().GenerateKey(rand.Reader) }

// KeepOutbound decides which of two live connections between the same pair of nodes survives when
// they run in opposite directions (a simultaneous dial): the one initiated by the node with the
// smaller id (bytewise). Called on the local node for one of the two connections, it reports
// whether that connection (outbound when we initiated it) is the one to keep; both nodes reach the
// same decision without talking. For local == remote (a self connection) it returns false.
func KeepOutbound(local, remote ID, outbound bool) bool {
	switch c := bytes.Compare(local[:], remote[:]); {
	case c < 0: // we are smaller: keep the one we initiated
		return outbound
	case c > 0: // they are smaller: keep the one they initiated
		return !outbound
	default:
		return false
	}
}
