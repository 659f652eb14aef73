package chainstate

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileVectors(t *testing.T) {
	dir := t.TempDir()
	// RFC 8032 test 1 (ed25519) and RFC 7748 §6.1 Alice (X25519).
	edSeed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	xPriv, _ := hex.DecodeString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	edPath, xPath := filepath.Join(dir, "keys", "wallet.key"), filepath.Join(dir, "keys", "node.key")
	if err := WriteKeyFile(edPath, KeyTypeEd25519, edSeed); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(xPath, KeyTypeX25519, xPriv); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(edPath)
	if want := `{"type":"ed25519","seed":"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"}` + "\n"; string(data) != want {
		t.Fatalf("file content %q", data)
	}
	for _, p := range []string{edPath, xPath} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, %v", p, fi.Mode(), err)
		}
		if err := CheckKeyFileMode(p); err != nil {
			t.Fatal(err)
		}
	}
	if fi, _ := os.Stat(filepath.Dir(edPath)); fi.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v", fi.Mode())
	}

	pub, addr, typ, err := KeyInfo(edPath)
	if err != nil || typ != KeyTypeEd25519 ||
		pub != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" ||
		addr != "21fe31dfa154a261626bf854046fd2271b7bed4b" {
		t.Fatalf("KeyInfo(ed25519) = %s %s %s %v", pub, addr, typ, err)
	}
	priv, err := LoadSigningKey(edPath)
	if err != nil || !bytes.Equal(priv.Seed(), edSeed) {
		t.Fatalf("LoadSigningKey: %v", err)
	}
	pub, addr, typ, err = KeyInfo(xPath)
	if err != nil || typ != KeyTypeX25519 || addr != "" ||
		pub != "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a" {
		t.Fatalf("KeyInfo(x25519) = %s %q %s %v", pub, addr, typ, err)
	}
	nk, err := LoadNodeKey(xPath)
	if err != nil || hex.EncodeToString(nk.PublicKey().Bytes()) != pub {
		t.Fatalf("LoadNodeKey: %v", err)
	}
}

func TestGenerateKeyFile(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{KeyTypeEd25519, KeyTypeX25519} {
		p := filepath.Join(dir, typ+".key")
		if err := GenerateKeyFile(p, typ); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(p)
		if err := GenerateKeyFile(p, typ); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), p) {
			t.Fatalf("overwrite: %v", err)
		}
		if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
			t.Fatal("existing key file changed")
		}
		if _, _, got, err := KeyInfo(p); err != nil || got != typ {
			t.Fatalf("KeyInfo type %s, %v", got, err)
		}
	}
	a, b := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	_ = GenerateKeyFile(a, KeyTypeEd25519)
	_ = GenerateKeyFile(b, KeyTypeEd25519)
	ka, _ := LoadSigningKey(a)
	kb, _ := LoadSigningKey(b)
	if ka.Equal(kb) {
		t.Fatal("two generated keys are equal")
	}
	sig := ed25519.Sign(ka, []byte("m"))
	if !ed25519.Verify(ka.Public().(ed25519.PublicKey), []byte("m"), sig) {
		t.Fatal("loaded key does not sign")
	}
	if err := GenerateKeyFile(filepath.Join(dir, "c.key"), "rsa"); err == nil {
		t.Fatal("unknown type accepted")
	}
}

func TestKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seed := strings.Repeat("ab", 32)
	ed := write("ed.key", `{"type":"ed25519","seed":"`+seed+`"}`)
	x := write("x.key", `{"type":"x25519","seed":"`+seed+`"}`)
	tests := []struct {
		name string
		load func(string) error
		path string
		want string
	}{
		{"signing from x25519", loadSigning, x, `key type is "x25519", want "ed25519"`},
		{"node from ed25519", loadNode, ed, `key type is "ed25519", want "x25519"`},
		{"not json", loadSigning, write("bad.key", "hello"), "not a JSON key file"},
		{"unknown type", loadInfo, write("rsa.key", `{"type":"rsa","seed":"`+seed+`"}`), `unknown key type "rsa"`},
		{"short seed", loadSigning, write("short.key", `{"type":"ed25519","seed":"abcd"}`), "seed is 4 hex characters, want 64"},
		{"bad hex", loadSigning, write("hex.key", `{"type":"ed25519","seed":"`+strings.Repeat("zz", 32)+`"}`), "seed is not hex"},
		{"missing", loadSigning, filepath.Join(dir, "none.key"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("error %v, want %q naming the file", err, tt.want)
			}
			if tt.name != "missing" && !errors.Is(err, ErrKeyFile) {
				t.Fatalf("error %v does not wrap ErrKeyFile", err)
			}
		})
	}
	// Too-open permissions are a warning, not a failure.
	open := write("open.key", `{"type":"ed25519","seed":"`+seed+`"}`)
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckKeyFileMode(open); !errors.Is(err, ErrKeyFileMode) || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("CheckKeyFileMode: %v", err)
	}
	if _, err := LoadSigningKey(open); err != nil {
		t.Fatalf("load of a 0644 key file failed: %v", err)
	}
}

func loadSigning(p string) error { _, err := LoadSigningKey(p); return err }
func loadNode(p string) error    { _, err := LoadNodeKey(p); return err }
func loadInfo(p string) error    { _, _, _, err := KeyInfo(p); return err }
