package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestWriteLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		config func() *Config
	}{
		{"defaults", Default},
		{"every key changed", nonDefault},
		{"strings that need quoting", func() *Config {
			c := Default()
			c.Chain.ID = `"quoted"#not-a-comment:{x}`
			c.Node.KeyFile = "yes"
			c.Storage.Path = "123"
			c.Mining.KeyFile = " leading space and # hash: colon 'single' \"double\" é ✓ \u00a0\ufeff"
			c.P2P.Listen = ":7600"
			c.API.Listen = "[::1]:0"
			c.Chain.Alloc = map[string]uint64{strings.Repeat("0", 39) + "1": 1, "1e10000000000000000000000000000000000000": 2}
			c.Chain.Validators = []string{strings.Repeat("1", 64)}
			c.P2P.Seeds = []string{strings.Repeat("0", 64) + "@[fe80::1%eth0]:1"}
			return c
		}},
		{"null-like and boolean-like strings", func() *Config {
			c := Default()
			c.Chain.ID = "null"
			c.Node.KeyFile = "~"
			c.Storage.Path = "true"
			c.Mining.KeyFile = "0x10"
			return c
		}},
		{"sub-second genesis", func() *Config {
			c := Default()
			c.Chain.GenesisTime = time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)
			c.Storage.OpenTimeout = time.Nanosecond
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.config()
			home := t.TempDir()
			path := filepath.Join(home, FileName)
			if err := Write(path, c); err != nil {
				t.Fatal(err)
			}
			got, err := Load(home, "", nil)
			if err != nil {
				data, _ := os.ReadFile(path)
				t.Fatalf("Load() = %v; file:\n%s", err, data)
			}
			if want := resolved(c, home, path); !reflect.DeepEqual(got, want) {
				data, _ := os.ReadFile(path)
				t.Fatalf("Load(Write(c)) =\n%+v\nwant\n%+v\nfile:\n%s", got, want, data)
			}
		})
	}
}

// TestWriteListsEveryKey parses Write's output as plain YAML and checks that its keys are
// exactly Keys(), in order, each under a comment naming its default and environment variable.
func TestWriteListsEveryKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := Write(path, Default()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		sec, body := root.Content[i], root.Content[i+1]
		if sec.HeadComment == "" {
			t.Errorf("section %s has no comment", sec.Value)
		}
		for j := 0; j < len(body.Content); j += 2 {
			key := body.Content[j]
			path := sec.Value + "." + key.Value
			got = append(got, path)
			if !strings.Contains(key.HeadComment, "Env: "+EnvName(path)+".") || !strings.Contains(key.HeadComment, "Default: ") ||
				!strings.Contains(key.HeadComment, byPath[path].help) {
				t.Errorf("%s: comment %q must explain it and name its default and %s", path, key.HeadComment, EnvName(path))
			}
		}
	}
	if want := Keys(); !slices.Equal(got, want) {
		t.Fatalf("keys in the written file = %q\nwant %q", got, want)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", FileName)
	if err := Write(path, Default()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o644 {
		t.Fatalf("mode = %v, want -rw-r--r--", fi.Mode())
	}
	// Replacing an existing file leaves nothing else behind.
	c := Default()
	c.Chain.PowBits = 1
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadChain(path); err != nil || got.PowBits != 1 {
		t.Fatalf("LoadChain() = %+v, %v; want pow_bits 1", got, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %v, want only %s", entries, FileName)
	}
}

func TestWriteRefusesInvalidConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	c := Default()
	c.P2P.MaxInbound = -1
	err := Write(path, c)
	wantError(t, err, "p2p.max_inbound", "must be >= 0, got -1")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Write of an invalid config created the file: %v", err)
	}
}

func TestWriteIOError(t *testing.T) {
	dir := t.TempDir()
	blocker := writeFile(t, dir, "file", "")
	err := Write(filepath.Join(blocker, FileName), Default())
	var ce *Error
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("Write under a file = %v, want a plain I/O error", err)
	}
}

func TestWriteKeepsRelativePaths(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := Write(path, Default()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"  path: data/chain.db\n", "  key_file: keys/node.key\n", "  key_file: keys/miner.key\n",
		"  open_timeout: 5s\n", "  genesis_time: 2026-01-01T00:00:00Z\n", "  listen: 127.0.0.1:7600\n", "  external_addr: \"\"\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("written file lacks %q", line)
		}
	}
}

func TestYAMLString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"info", "info"},
		{"127.0.0.1:7600", "127.0.0.1:7600"},
		{"keys/node.key", "keys/node.key"},
		{"", `""`},
		{"true", `"true"`},
		{"null", `"null"`},
		{"~", `"~"`},
		{"123", `"123"`},
		{"1e3", `"1e3"`},
		{"0x1f", `"0x1f"`},
		{".inf", `".inf"`},
		{"a b", `"a b"`},
		{"a: b", `"a: b"`},
		{"#x", `"#x"`},
		{"-", `"-"`},
		{"@x", `"@x"`},
		{"a\nb", `"a\nb"`},
	}
	for _, tt := range tests {
		if got := yamlString(tt.in); got != tt.want {
			t.Errorf("yamlString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		var v map[string]any
		if err := yaml.Unmarshal([]byte("k: "+yamlString(tt.in)), &v); err != nil || v["k"] != tt.in {
			t.Errorf("yamlString(%q) reads back as %#v, %v", tt.in, v["k"], err)
		}
	}
}

// TestWriteOrder checks that sections come in the order of CONTRACT §2.
func TestWriteOrder(t *testing.T) {
	text := string(render(Default()))
	var pos []int
	for _, s := range []string{"\nlog:\n", "\nchain:\n", "\nnode:\n", "\nstorage:\n", "\np2p:\n", "\nmempool:\n", "\nmining:\n", "\napi:\n", "\ndebug:\n"} {
		i := strings.Index(text, s)
		if i < 0 {
			t.Fatalf("no section %q", s)
		}
		pos = append(pos, i)
	}
	if !sort.IntsAreSorted(pos) {
		t.Fatalf("sections out of order: %v", pos)
	}
}
