package chainstate

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Key file types.
const (
	KeyTypeEd25519 = "ed25519" // spending and sealing keys
	KeyTypeX25519  = "x25519"  // the node's p2p (Noise static) identity
)

// KeySeedSize is the size of the seed in a key file: an ed25519 seed or an X25519 private key.
const KeySeedSize = 32

// keyFile is the JSON form of a key file: {"type":"ed25519","seed":"<64 hex>"}.
type keyFile struct {
	Type string `json:"type"`
	Seed string `json:"seed"`
}

// GenerateKeyFile writes a new random key of type typ (KeyTypeEd25519 or KeyTypeX25519) to path
// with mode 0600, creating the parent directory (mode 0700) when missing. It refuses to
// overwrite an existing file (the error wraps fs.ErrExist).
func GenerateKeyFile(path, typ string) error {
	seed := make([]byte, KeySeedSize)
	if _, err := rand.Read(seed); err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return WriteKeyFile(path, typ, seed)
}

// WriteKeyFile writes a key file for a given 32-byte seed, as GenerateKeyFile does for a random
// one (same modes, same refusal to overwrite). Deterministic seeds are for tests and devnets.
func WriteKeyFile(path, typ string, seed []byte) error {
	if typ != KeyTypeEd25519 && typ != KeyTypeX25519 {
		return fmt.Errorf("key file %s: unknown key type %q (want %q or %q)", path, typ, KeyTypeEd25519, KeyTypeX25519)
	}
	if len(seed) != KeySeedSize {
		return fmt.Errorf("key file %s: seed is %d bytes, want %d", path, len(seed), KeySeedSize)
	}
	data, err := json.Marshal(keyFile{Type: typ, Seed: hex.EncodeToString(seed)})
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("key file %s: create directory: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("key file %s: already exists, not overwriting: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("key file %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("key file %s: %w", path, err)
	}
	return nil
}

// readKeyFile returns the seed and type of a key file; want, when not empty, is the type the
// caller needs.
func readKeyFile(path, want string) ([]byte, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: %w", path, err)
	}
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&kf); err != nil {
		return nil, "", fmt.Errorf("key file %s: not a JSON key file (%v): %w", path, err, ErrKeyFile)
	}
	switch {
	case kf.Type != KeyTypeEd25519 && kf.Type != KeyTypeX25519:
		return nil, "", fmt.Errorf("key file %s: unknown key type %q: %w", path, kf.Type, ErrKeyFile)
	case want != "" && kf.Type != want:
		return nil, "", fmt.Errorf("key file %s: key type is %q, want %q: %w", path, kf.Type, want, ErrKeyFile)
	case len(kf.Seed) != 2*KeySeedSize:
		return nil, "", fmt.Errorf("key file %s: seed is %d hex characters, want %d: %w", path, len(kf.Seed), 2*KeySeedSize, ErrKeyFile)
	}
	seed, err := hex.DecodeString(kf.Seed)
	if err != nil {
		return nil, "", fmt.Errorf("key file %s: seed is not hex (%v): %w", path, err, ErrKeyFile)
	}
	return seed, kf.Type, nil
}

// LoadSigningKey reads an ed25519 key file. Errors name the file and the problem and wrap
// ErrKeyFile when the content is wrong. Permissions are not checked (see CheckKeyFileMode).
func LoadSigningKey(path string) (ed25519.PrivateKey, error) {
	seed, _, err := readKeyFile(path, KeyTypeEd25519)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadNodeKey reads an x25519 key file: the node's static p2p key. Errors as LoadSigningKey.
func LoadNodeKey(path string) (*ecdh.PrivateKey, error) {
	seed, _, err := readKeyFile(path, KeyTypeX25519)
	if err != nil {
		return nil, err
	}
	k, err := ecdh.X25519().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %v: %w", path, err, ErrKeyFile)
	}
	return k, nil
}

// KeyInfo describes a key file of either type: for ed25519 the public key and its address; for
// x25519 the public key (the node id) and an empty address. All in lower-case hex.
func KeyInfo(path string) (pub string, addr string, typ string, err error) {
	seed, typ, err := readKeyFile(path, "")
	if err != nil {
		return "", "", "", err
	}
	if typ == KeyTypeX25519 {
		k, err := ecdh.X25519().NewPrivateKey(seed)
		if err != nil {
			return "", "", "", fmt.Errorf("key file %s: %v: %w", path, err, ErrKeyFile)
		}
		return hex.EncodeToString(k.PublicKey().Bytes()), "", typ, nil
	}
	var pk PublicKey
	copy(pk[:], ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	return pk.String(), pk.Address().String(), typ, nil
}

// CheckKeyFileMode returns an error wrapping ErrKeyFileMode when the key file at path can be
// read or written by group or others, for the caller to log as a warning; loading such a file
// still works. It returns the stat error when the file cannot be examined.
func CheckKeyFileMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("key file %s: mode %04o, want 0600: %w", path, mode, ErrKeyFileMode)
	}
	return nil
}
