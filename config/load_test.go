package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// resolved returns c as Load returns it for home and file: Home and File set, paths resolved.
func resolved(c *Config, home, file string) *Config {
	r := c.Clone()
	r.Home, r.File = home, file
	for _, p := range []*string{&r.Storage.Path, &r.Node.KeyFile, &r.Mining.KeyFile} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(home, *p)
		}
	}
	return r
}

// wantError fails unless err is an *Error with the given key and problem.
func wantError(t *testing.T, err error, key, problem string) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v (%T), want *Error %s: %s", err, err, key, problem)
	}
	if ce.Key != key || ce.Problem != problem {
		t.Fatalf("error = %q\nwant key %q problem %q", err.Error(), key, problem)
	}
	return ce
}

func TestLoadWithoutFileGivesDefaults(t *testing.T) {
	home := t.TempDir()
	c, err := Load(home, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := resolved(Default(), home, ""); !reflect.DeepEqual(c, want) {
		t.Fatalf("Load() =\n%+v\nwant\n%+v", c, want)
	}
	if c.Storage.Path != filepath.Join(home, "data", "chain.db") {
		t.Fatalf("storage.path = %q", c.Storage.Path)
	}
}

func TestLoadReadsHomeFile(t *testing.T) {
	home := t.TempDir()
	path := writeFile(t, home, FileName, "chain:\n  pow_bits: 12\n")
	c, err := Load(home, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path || c.Chain.PowBits != 12 {
		t.Fatalf("File = %q, pow_bits = %d; want %q, 12", c.File, c.Chain.PowBits, path)
	}
}

// TestLoadContractExample reads the YAML of CONTRACT §2 (flow style sections, comments) and
// expects exactly the defaults.
func TestLoadContractExample(t *testing.T) {
	const example = `log:      {level: info, format: text}          # debug|info|warn|error ; text|json
chain:                                         # genesis: identical on every node of one network
  id: actorchain-devnet
  genesis_time: 2026-01-01T00:00:00Z
  pow_bits: 20               # leading zero bits a block hash needs (fixed difficulty)
  block_reward: 50
  validators: []             # hex public keys allowed to seal blocks; empty = anyone may mine
  alloc: {}                  # address -> initial balance
  max_block_txs: 5000
node:     {key_file: keys/node.key}
storage:  {path: data/chain.db, open_timeout: 5s}
p2p:
  listen: 127.0.0.1:7600     # "" disables networking
  external_addr: ""          # advertised; default = listen
  seeds: []                  # ID@HOST:PORT
  max_inbound: 32
  max_outbound: 8
mempool:  {max_txs: 50000}
mining:   {enabled: true, workers: 0, key_file: keys/miner.key}   # workers 0 = one per CPU
api:      {listen: 127.0.0.1:8600}             # "" disables the API
debug:    {fault_injection: false, pprof: false}  # /v1/debug/* fault hooks; /debug/pprof/ (never on by default)
`
	home := t.TempDir()
	path := writeFile(t, home, FileName, example)
	c, err := Load(home, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := resolved(Default(), home, path); !reflect.DeepEqual(c, want) {
		t.Fatalf("Load() =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadFileValues(t *testing.T) {
	home := t.TempDir()
	v1, v2 := strings.Repeat("AB", 32), strings.Repeat("01", 32)
	path := writeFile(t, home, "custom.yaml", `
LOG: {Level: DEBUG, format: json}
chain:
  id: testnet-7
  genesis_time: 2025-06-30T12:00:00.5+02:00
  pow_bits: 8
  block_reward: 18446744073709551615
  validators: [`+v1+`, "`+v2+`"]
  alloc:
    `+strings.Repeat("EF", 20)+`: 1000000000000
    "`+strings.Repeat("0", 39)+`1": 1
  max_block_txs: 100
node: {key_file: /etc/actorchain/node.key}
storage: {path: db/x.db, open_timeout: 1m30s}
p2p:
  listen: 0.0.0.0:9000
  external_addr: node.example.com:9000
  seeds:
    - `+v2+`@10.0.0.1:9000
  max_inbound: 0
  max_outbound: 3
  compact_blocks: false
mempool: {max_txs: 7}
mining: {enabled: false, workers: 4, key_file: m.key}
api: {listen: ""}
debug: {fault_injection: true, pprof: true}
`)
	c, err := Load(home, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Home: home,
		File: path,
		Log:  Log{Level: "debug", Format: "json"},
		Chain: Chain{
			ID:                 "testnet-7",
			GenesisTime:        time.Date(2025, 6, 30, 10, 0, 0, 500000000, time.UTC),
			PowBits:            8,
			DifficultyHalfLife: time.Hour, // not in the file: default
			BlockReward:        1<<64 - 1,
			Validators:         []string{strings.ToLower(v1), v2},
			Alloc:              map[string]uint64{strings.Repeat("ef", 20): 1000000000000, strings.Repeat("0", 39) + "1": 1},
			MaxBlockTxs:        100,
		},
		Node:    Node{KeyFile: "/etc/actorchain/node.key"},
		Storage: Storage{Path: filepath.Join(home, "db", "x.db"), OpenTimeout: 90 * time.Second},
		P2P: P2P{Listen: "0.0.0.0:9000", ExternalAddr: "node.example.com:9000",
			Seeds: []string{v2 + "@10.0.0.1:9000"}, MaxInbound: 0, MaxOutbound: 3},
		Mempool:     Mempool{MaxTxs: 7, ReplaceFeeBumpPercent: 10}, // the bump is not in the file: default
		Mining:      Mining{Enabled: false, Workers: 4, KeyFile: filepath.Join(home, "m.key"), MinBlockInterval: 100 * time.Millisecond},
		API:         API{Listen: ""},
		Supervision: Supervision{MaxRestarts: 10, Window: 5 * time.Minute}, // not in the file: defaults
		Debug:       Debug{FaultInjection: true, Pprof: true},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load() =\n%+v\nwant\n%+v", c, want)
	}
}

func TestLoadPaths(t *testing.T) {
	tmp := t.TempDir()
	t.Chdir(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, "home", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(tmp, "home"), "alt.yaml",
		"storage: {path: ../outside.db}\nnode: {key_file: /abs/node.key}\nmining: {key_file: ./k/miner.key}\n")

	// A relative home is made absolute; a relative --config file is relative to the working
	// directory, not to home; relative key paths are relative to home.
	c, err := Load("home", "home/alt.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(tmp, "home")
	if c.Home != home || c.File != filepath.Join(home, "alt.yaml") {
		t.Fatalf("Home, File = %q, %q", c.Home, c.File)
	}
	if c.Storage.Path != filepath.Join(tmp, "outside.db") ||
		c.Node.KeyFile != "/abs/node.key" ||
		c.Mining.KeyFile != filepath.Join(home, "k", "miner.key") {
		t.Fatalf("paths = %q, %q, %q", c.Storage.Path, c.Node.KeyFile, c.Mining.KeyFile)
	}
}

func TestLoadHomeRequired(t *testing.T) {
	_, err := Load("", "", nil)
	wantError(t, err, "home", "must not be empty")
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := Load(dir, missing, nil)
	wantError(t, err, missing, "cannot read config file: no such file or directory")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("errors.Is(%v, fs.ErrNotExist) = false", err)
	}

	bad := writeFile(t, dir, "bad.yaml", "p2p:\n  listen: [\n")
	_, err = Load(dir, bad, nil)
	ce := wantErrorPrefix(t, err, bad, "invalid YAML: ")
	if !strings.Contains(ce.Problem, "line") {
		t.Fatalf("YAML error %q does not give the line", ce.Problem)
	}

	list := writeFile(t, dir, "list.yaml", "- a\n- b\n")
	_, err = Load(dir, list, nil)
	wantErrorPrefix(t, err, list, "invalid YAML: ")

	// HOME/node.yaml being a directory is an error, not "no file".
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Load(home, "", nil)
	wantErrorPrefix(t, err, filepath.Join(home, FileName), "cannot read config file: ")
}

func wantErrorPrefix(t *testing.T, err error, key, prefix string) *Error {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != key || !strings.HasPrefix(ce.Problem, prefix) {
		t.Fatalf("error = %v, want *Error for %q starting %q", err, key, prefix)
	}
	return ce
}

func TestLoadEmptyFile(t *testing.T) {
	home := t.TempDir()
	for _, content := range []string{"", "# only a comment\n", "log:\n", "log: {}\np2p: ~\n"} {
		path := writeFile(t, home, FileName, content)
		c, err := Load(home, "", nil)
		if err != nil {
			t.Fatalf("%q: %v", content, err)
		}
		if want := resolved(Default(), home, path); !reflect.DeepEqual(c, want) {
			t.Fatalf("%q: Load() = %+v, want defaults", content, c)
		}
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	tests := []struct {
		name, content, key, problem string
	}{
		{"unknown section", "bogus_section:\n  a: 1\n", "bogus_section", "unknown key"},
		{"unknown scalar section", "bogus_section: 1\n", "bogus_section", "unknown key"},
		{"unknown key in section", "p2p:\n  listen: 127.0.0.1:1\n  bogus: 1\n", "p2p.bogus", "unknown key"},
		{"unknown nested key", "p2p:\n  bogus:\n    deeper: 1\n", "p2p.bogus", "unknown key"},
		{"typo in key", "p2p:\n  max_inbounds: 3\n", "p2p.max_inbounds", "unknown key; did you mean p2p.max_inbound?"},
		{"typo in section", "mempol: {max_txs: 1}\n", "mempol", "unknown key; did you mean mempool?"},
		{"key in the wrong section", "chain: {listen: 127.0.0.1:1}\n", "chain.listen", "unknown key"},
		{"flat key", "pow_bits: 3\n", "pow_bits", "unknown key"},
		{"unknown before invalid", "chain: {pow_bits: x}\nzzz: 1\n", "zzz", "unknown key"},
		{"section not a mapping", "log: 5\n", "log", "must be a mapping of log.* keys, got integer 5"},
		{"section a list", "p2p: [a]\n", "p2p", "must be a mapping of p2p.* keys, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeFile(t, home, FileName, tt.content)
			_, err := Load(home, "", nil)
			wantError(t, err, tt.key, tt.problem)
			if want := "config: " + tt.key + ": " + tt.problem; err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

// TestLoadValueErrors checks values in the file that do not parse as their key's type.
func TestLoadValueErrors(t *testing.T) {
	tests := []struct {
		name, content, key, problem string
	}{
		{"duration", "storage: {open_timeout: x}\n", "storage.open_timeout", `invalid duration "x"`},
		{"duration as number", "storage: {open_timeout: 5}\n", "storage.open_timeout", "expected a duration in Go syntax such as 5s, got integer 5"},
		{"integer", "chain: {pow_bits: abc}\n", "chain.pow_bits", `invalid integer "abc"`},
		{"integer as float", "chain: {pow_bits: 1.5}\n", "chain.pow_bits", "expected an integer, got number 1.5"},
		{"integer as bool", "p2p: {max_inbound: true}\n", "p2p.max_inbound", "expected an integer, got boolean true"},
		{"integer as mapping", "chain: {pow_bits: {x: 1}}\n", "chain.pow_bits", "expected an integer, got a mapping"},
		{"unsigned negative", "chain: {block_reward: -5}\n", "chain.block_reward", "must be >= 0, got -5"},
		{"unsigned too big", "chain: {block_reward: 18446744073709551616}\n", "chain.block_reward", "expected an unsigned integer, got number 1.8446744073709552e+19"},
		{"bool", "mining: {enabled: maybe}\n", "mining.enabled", `invalid boolean "maybe" (want true or false)`},
		{"bool as number", "mining: {enabled: 2}\n", "mining.enabled", "expected a boolean (true or false), got integer 2"},
		{"time", "chain: {genesis_time: yesterday}\n", "chain.genesis_time", `invalid time "yesterday" (want RFC 3339 such as 2026-01-01T00:00:00Z)`},
		{"quoted date", "chain: {genesis_time: \"2026-01-01\"}\n", "chain.genesis_time", `invalid time "2026-01-01" (want RFC 3339 such as 2026-01-01T00:00:00Z)`},
		{"time as number", "chain: {genesis_time: 5}\n", "chain.genesis_time", "expected an RFC 3339 time such as 2026-01-01T00:00:00Z, got integer 5"},
		{"string as number", "api: {listen: 8600}\n", "api.listen", "expected a string, got integer 8600 (quote the value)"},
		{"string as list", "log: {level: [info]}\n", "log.level", "expected a string, got a list"},
		{"list element", "chain: {validators: [" + hex64 + ", 12]}\n", "chain.validators[1]", "expected a string, got integer 12 (quote the value)"},
		{"list as mapping", "p2p: {seeds: {a: b}}\n", "p2p.seeds", "expected a list of strings, got a mapping"},
		{"alloc as list", "chain: {alloc: [a]}\n", "chain.alloc", "expected a mapping of address: balance, got a list"},
		{"alloc balance", "chain: {alloc: {" + hex40 + ": lots}}\n", "chain.alloc." + hex40, `invalid unsigned integer "lots"`},
		{"alloc negative", "chain: {alloc: {" + hex40 + ": -1}}\n", "chain.alloc." + hex40, "must be >= 0, got -1"},
		// Values that parse but fail validation.
		{"validation", "p2p: {max_inbound: -1}\n", "p2p.max_inbound", "must be >= 0, got -1"},
		{"alloc address", "chain: {alloc: {abc: 5}}\n", "chain.alloc.abc", `address must be 40 lower-case hex characters, got "abc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			writeFile(t, home, FileName, tt.content)
			_, err := Load(home, "", nil)
			wantError(t, err, tt.key, tt.problem)
			if want := "config: " + tt.key + ": " + tt.problem; err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

// TestLoadLenientScalars checks the spellings a hand-written file may use for typed values.
func TestLoadLenientScalars(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, FileName, `
chain: {pow_bits: "12", block_reward: 1e3, max_block_txs: 2.0, genesis_time: 2027-03-04}
mining: {enabled: "false"}
p2p: {seeds: "`+hex64+`@a:1, `+hex64[:62]+`cd@b:2"}
`)
	c, err := Load(home, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Chain.PowBits != 12 || !c.Chain.GenesisTime.Equal(time.Date(2027, 3, 4, 0, 0, 0, 0, time.UTC)) || c.Chain.BlockReward != 1000 || c.Chain.MaxBlockTxs != 2 || c.Mining.Enabled ||
		!reflect.DeepEqual(c.P2P.Seeds, []string{hex64 + "@a:1", hex64[:62] + "cd@b:2"}) {
		t.Fatalf("Load() = %+v", c)
	}
}

func TestLoadChain(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "other.yaml", `
chain:
  id: shared-net
  validators: [`+strings.ToUpper(hex64)+`]
  alloc: {`+hex40+`: 99}
p2p: {max_inbound: -1}    # invalid, but not part of the chain
storage: {path: ""}
`)
	ch, err := LoadChain(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Default().Chain
	want.ID = "shared-net"
	want.Validators = []string{hex64}
	want.Alloc = map[string]uint64{hex40: 99}
	if !reflect.DeepEqual(ch, want) {
		t.Fatalf("LoadChain() = %+v, want %+v", ch, want)
	}

	t.Setenv("ACTORCHAIN_CHAIN_ID", "from-env")
	if ch, err := LoadChain(path); err != nil || ch.ID != "shared-net" {
		t.Fatalf("LoadChain() = %+v, %v: must ignore the environment", ch, err)
	}

	tests := []struct{ name, content, key, problem string }{
		{"invalid chain", "chain: {pow_bits: 99}\n", "chain.pow_bits", "must be between 0 and 64, got 99"},
		{"unknown key elsewhere", "chain: {id: x}\np2p: {bogus: 1}\n", "p2p.bogus", "unknown key"},
		{"bad value elsewhere", "p2p: {max_inbound: x}\n", "p2p.max_inbound", `invalid integer "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadChain(writeFile(t, t.TempDir(), "n.yaml", tt.content))
			wantError(t, err, tt.key, tt.problem)
		})
	}
	missing := filepath.Join(dir, "none.yaml")
	_, err = LoadChain(missing)
	wantError(t, err, missing, "cannot read config file: no such file or directory")
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
