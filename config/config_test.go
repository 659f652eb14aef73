package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDefaultMatchesContract pins Default to the defaults of CONTRACT §2.
func TestDefaultMatchesContract(t *testing.T) {
	want := &Config{
		Log: Log{Level: "info", Format: "text"},
		Chain: Chain{
			ID:          "actorchain-devnet",
			GenesisTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			PowBits:     20,
			// CONTRACT §10: fixed difficulty unless target_block_time is set; half-life 1h.
			TargetBlockTime:    0,
			DifficultyHalfLife: time.Hour,
			BlockReward:        50,
			Validators:         nil,
			Alloc:              map[string]uint64{},
			MaxBlockTxs:        5000,
		},
		Node:        Node{KeyFile: "keys/node.key"},
		Storage:     Storage{Path: "data/chain.db", OpenTimeout: 5 * time.Second},
		P2P:         P2P{Listen: "127.0.0.1:7600", ExternalAddr: "", Seeds: nil, MaxInbound: 32, MaxOutbound: 8, CompactBlocks: true},
		Mempool:     Mempool{MaxTxs: 50000, ReplaceFeeBumpPercent: 10},
		Mining:      Mining{Enabled: true, Workers: 0, KeyFile: "keys/miner.key", MinBlockInterval: 100 * time.Millisecond},
		API:         API{Listen: "127.0.0.1:8600"},
		Supervision: Supervision{MaxRestarts: 10, Window: 5 * time.Minute},
		Debug:       Debug{FaultInjection: false, Pprof: false},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() =\n%+v\nwant\n%+v", got, want)
	}
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestDefaultReturnsFreshValues(t *testing.T) {
	a := Default()
	a.Chain.Alloc["00"] = 1
	a.Log.Level = "debug"
	if b := Default(); len(b.Chain.Alloc) != 0 || b.Log.Level != "info" {
		t.Fatalf("Default() shares state between calls: %+v", b)
	}
}

func TestKeys(t *testing.T) {
	want := []string{
		"log.level", "log.format",
		"chain.id", "chain.genesis_time", "chain.pow_bits", "chain.target_block_time", "chain.difficulty_halflife",
		"chain.block_reward", "chain.validators",
		"chain.alloc", "chain.max_block_txs",
		"node.key_file",
		"storage.path", "storage.open_timeout",
		"p2p.listen", "p2p.external_addr", "p2p.seeds", "p2p.max_inbound", "p2p.max_outbound",
		"p2p.compact_blocks",
		"mempool.max_txs", "mempool.replace_fee_bump_percent",
		"mining.enabled", "mining.workers", "mining.key_file", "mining.min_block_interval", "mining.low_priority",
		"api.listen",
		"supervision.max_restarts", "supervision.window",
		"debug.fault_injection", "debug.pprof",
	}
	got := Keys()
	if !slices.Equal(got, want) {
		t.Fatalf("Keys() = %q\nwant %q", got, want)
	}
	got[0] = "mutated"
	if Keys()[0] != "log.level" {
		t.Fatal("Keys() returns shared storage")
	}
	// Every key's section is a known section, in file order.
	var order []string
	for _, k := range want {
		sec, _, _ := strings.Cut(k, ".")
		if len(order) == 0 || order[len(order)-1] != sec {
			order = append(order, sec)
		}
	}
	var secs []string
	for _, s := range sections {
		secs = append(secs, s.name)
	}
	if !slices.Equal(order, secs) {
		t.Fatalf("sections of Keys() = %q, sections table = %q", order, secs)
	}
	for _, e := range entries {
		if e.help == "" || !strings.HasSuffix(e.help, ".") {
			t.Errorf("%s: help %q must be a sentence", e.path, e.help)
		}
		_ = e.typeName() // panics on an unsupported field type
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ key, want string }{
		{"p2p.max_inbound", "ACTORCHAIN_P2P_MAX_INBOUND"},
		{"api.listen", "ACTORCHAIN_API_LISTEN"},
		{"chain.pow_bits", "ACTORCHAIN_CHAIN_POW_BITS"},
		{"storage.open_timeout", "ACTORCHAIN_STORAGE_OPEN_TIMEOUT"},
		{"debug.fault_injection", "ACTORCHAIN_DEBUG_FAULT_INJECTION"},
		{"chain.genesis_time", "ACTORCHAIN_CHAIN_GENESIS_TIME"},
	}
	for _, tt := range tests {
		if got := EnvName(tt.key); got != tt.want {
			t.Errorf("EnvName(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	// Env names are unique, so a variable maps back to exactly one key, and none is HomeEnv.
	seen := map[string]string{}
	for _, k := range Keys() {
		n := EnvName(k)
		if prev, dup := seen[n]; dup {
			t.Errorf("%s and %s share the variable %s", prev, k, n)
		}
		if n == HomeEnv {
			t.Errorf("%s maps to %s", k, HomeEnv)
		}
		seen[n] = k
	}
}

func TestClone(t *testing.T) {
	a := Default()
	a.Chain.Validators = []string{strings.Repeat("a", 64)}
	a.Chain.Alloc[strings.Repeat("b", 40)] = 7
	a.P2P.Seeds = []string{strings.Repeat("c", 64) + "@h:1"}
	b := a.Clone()
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("Clone() = %+v, want %+v", b, a)
	}
	b.Chain.Validators[0] = "x"
	b.Chain.Alloc["y"] = 1
	b.P2P.Seeds[0] = "z"
	if a.Chain.Validators[0] == "x" || a.Chain.Alloc["y"] == 1 || a.P2P.Seeds[0] == "z" {
		t.Fatal("Clone() shares lists or maps")
	}
	if got := (Chain{}).Clone(); got.Alloc != nil || got.Validators != nil {
		t.Fatalf("Chain{}.Clone() = %+v, want zero", got)
	}
}

func TestAdvertisedAddr(t *testing.T) {
	tests := []struct{ listen, external, want string }{
		{"127.0.0.1:7600", "", "127.0.0.1:7600"},
		{"0.0.0.0:7600", "node.example.com:7600", "node.example.com:7600"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := (P2P{Listen: tt.listen, ExternalAddr: tt.external}).AdvertisedAddr(); got != tt.want {
			t.Errorf("AdvertisedAddr(%q, %q) = %q, want %q", tt.listen, tt.external, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Key: "p2p.max_inbound", Problem: "must be >= 0, got -1"}, "config: p2p.max_inbound: must be >= 0, got -1"},
		{&Error{Key: "p2p.max_inbound", Problem: "must be >= 0, got -1", Env: "ACTORCHAIN_P2P_MAX_INBOUND"},
			"config: p2p.max_inbound: must be >= 0, got -1 (from ACTORCHAIN_P2P_MAX_INBOUND)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
