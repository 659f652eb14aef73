package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeyFileDocExample: the key file example of docs/operations.md ("Keys") parses, and `keys
// show` prints the public key and address the doc says; README and `keys new --help` give the
// same format.
func TestKeyFileDocExample(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Keys\n")
	if !ok {
		t.Fatal("docs/operations.md has no Keys section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	example := regexp.MustCompile(`(?m)^    (\{"type": "ed25519", "seed": "[0-9a-f]{64}"\})$`).FindStringSubmatch(section)
	shown := regexp.MustCompile(`(?m)^    \{"address": "([0-9a-f]{40})", "public_key": "([0-9a-f]{64})"\}$`).FindStringSubmatch(section)
	if example == nil || shown == nil {
		t.Fatalf("the Keys section lacks the example key file or what keys show prints for it:\n%s", section)
	}
	file := filepath.Join(t.TempDir(), "example.key")
	if err := os.WriteFile(file, []byte(example[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := decode[map[string]string](t, cli(t, "keys", "show", file).want(t, exitOK))
	if got["address"] != shown[1] || got["public_key"] != shown[2] {
		t.Errorf("keys show of the documented example printed %v; the doc says address %s, public key %s", got, shown[1], shown[2])
	}
	// A key file that keys new writes has the documented form.
	made := filepath.Join(t.TempDir(), "new.key")
	cli(t, "keys", "new", "--out", made).want(t, exitOK)
	data, err := os.ReadFile(made)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\{"type": ?"ed25519", ?"seed": ?"[0-9a-f]{64}"\}\n$`).Match(data) {
		t.Errorf("keys new wrote %q, not the documented form", data)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const form = `{"type": "ed25519", "seed": "<64 hex`
	if !strings.Contains(string(readme), form) {
		t.Errorf("README does not give the key file form %s", form)
	}
	if help := cli(t, "keys", "new", "--help").want(t, exitOK); !strings.Contains(help, form) {
		t.Errorf("keys new --help does not give the key file form %s:\n%s", form, help)
	}
}
