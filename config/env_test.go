package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// envValue renders the value of key e in c as an environment variable value.
func envValue(e *entry, c *Config) string {
	switch p := e.field(c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *uint64:
		return strconv.FormatUint(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case *time.Time:
		return p.Format(time.RFC3339Nano)
	case *[]string:
		return strings.Join(*p, ",")
	case *map[string]uint64:
		var pairs []string
		for _, a := range sortedKeys(*p) {
			pairs = append(pairs, fmt.Sprintf("%s=%d", a, (*p)[a]))
		}
		return strings.Join(pairs, ",")
	}
	panic("unsupported type of " + e.path)
}

// nonDefault is a valid config in which every key differs from its default.
func nonDefault() *Config {
	return &Config{
		Log: Log{Level: "warn", Format: "json"},
		Chain: Chain{
			ID:                 "other-net",
			GenesisTime:        time.Date(2030, 5, 6, 7, 8, 9, 123000000, time.UTC),
			PowBits:            3,
			TargetBlockTime:    1500 * time.Millisecond,
			DifficultyHalfLife: 90 * time.Minute,
			BlockReward:        1<<64 - 1,
			Validators:         []string{hex64, strings.Repeat("12", 32)},
			Alloc:              map[string]uint64{hex40: 5, strings.Repeat("00", 20): 1<<64 - 1},
			MaxBlockTxs:        100000,
		},
		Node:    Node{KeyFile: "/abs/node key"},
		Storage: Storage{Path: "/abs/db,1.db", OpenTimeout: 1500 * time.Millisecond},
		P2P: P2P{Listen: "0.0.0.0:0", ExternalAddr: "example.com:1",
			Seeds: []string{hex64 + "@[::1]:7602", hex64 + "@h:7604"}, MaxInbound: 0, MaxOutbound: 100},
		Mempool:     Mempool{MaxTxs: 1, ReplaceFeeBumpPercent: 1000},
		Mining:      Mining{Enabled: false, Workers: 1024, KeyFile: "/abs/miner.key", LowPriority: true},
		API:         API{Listen: ""},
		Supervision: Supervision{MaxRestarts: 3, Window: 90 * time.Second},
		Debug:       Debug{FaultInjection: true, Pprof: true},
	}
}

// TestEnvOverridesEveryKey sets every key through its environment variable alone.
func TestEnvOverridesEveryKey(t *testing.T) {
	other, def := nonDefault(), Default()
	if err := other.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		e := &entries[i]
		t.Run(e.path, func(t *testing.T) {
			if reflect.DeepEqual(e.field(other), e.field(def)) {
				t.Fatalf("nonDefault() has the default %s", e.path)
			}
			home := t.TempDir()
			env := []string{EnvName(e.path) + "=" + envValue(e, other)}
			c, err := Load(home, "", env)
			if err != nil {
				t.Fatal(err)
			}
			want := Default()
			reflect.ValueOf(e.field(want)).Elem().Set(reflect.ValueOf(e.field(other)).Elem())
			if want := resolved(want, home, ""); !reflect.DeepEqual(c, want) {
				t.Fatalf("Load(%q) =\n%+v\nwant\n%+v", env, c, want)
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		check func(c *Config) bool
	}{
		{"string", []string{"ACTORCHAIN_API_LISTEN=127.0.0.1:0"}, func(c *Config) bool { return c.API.Listen == "127.0.0.1:0" }},
		{"empty string disables", []string{"ACTORCHAIN_P2P_LISTEN="}, func(c *Config) bool { return c.P2P.Listen == "" }},
		{"int", []string{"ACTORCHAIN_CHAIN_POW_BITS=12"}, func(c *Config) bool { return c.Chain.PowBits == 12 }},
		{"int with spaces", []string{"ACTORCHAIN_P2P_MAX_INBOUND= 4 "}, func(c *Config) bool { return c.P2P.MaxInbound == 4 }},
		{"uint", []string{"ACTORCHAIN_CHAIN_BLOCK_REWARD=18446744073709551615"}, func(c *Config) bool { return c.Chain.BlockReward == 1<<64-1 }},
		{"bool false", []string{"ACTORCHAIN_MINING_ENABLED=false"}, func(c *Config) bool { return !c.Mining.Enabled }},
		{"bool true", []string{"ACTORCHAIN_DEBUG_FAULT_INJECTION=true"}, func(c *Config) bool { return c.Debug.FaultInjection }},
		{"bool 1", []string{"ACTORCHAIN_DEBUG_PPROF=1"}, func(c *Config) bool { return c.Debug.Pprof }},
		{"duration", []string{"ACTORCHAIN_STORAGE_OPEN_TIMEOUT=1s"}, func(c *Config) bool { return c.Storage.OpenTimeout == time.Second }},
		{"time", []string{"ACTORCHAIN_CHAIN_GENESIS_TIME=2026-02-01T01:00:00+01:00"},
			func(c *Config) bool { return c.Chain.GenesisTime == time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) }},
		{"list comma", []string{"ACTORCHAIN_P2P_SEEDS=" + hex64 + "@a:1," + hex64 + "@b:2"},
			func(c *Config) bool { return reflect.DeepEqual(c.P2P.Seeds, []string{hex64 + "@a:1", hex64 + "@b:2"}) }},
		{"list space", []string{"ACTORCHAIN_P2P_SEEDS= " + hex64 + "@a:1  " + hex64 + "@b:2 "},
			func(c *Config) bool { return reflect.DeepEqual(c.P2P.Seeds, []string{hex64 + "@a:1", hex64 + "@b:2"}) }},
		{"list mixed, upper-case hex", []string{"ACTORCHAIN_CHAIN_VALIDATORS=" + strings.ToUpper(hex64) + ", " + strings.Repeat("0", 64)},
			func(c *Config) bool {
				return reflect.DeepEqual(c.Chain.Validators, []string{hex64, strings.Repeat("0", 64)})
			}},
		{"list empty", []string{"ACTORCHAIN_CHAIN_VALIDATORS="}, func(c *Config) bool { return c.Chain.Validators == nil }},
		{"map", []string{"ACTORCHAIN_CHAIN_ALLOC=" + strings.ToUpper(hex40) + "=5, " + strings.Repeat("0", 40) + "=7"},
			func(c *Config) bool {
				return reflect.DeepEqual(c.Chain.Alloc, map[string]uint64{hex40: 5, strings.Repeat("0", 40): 7})
			}},
		{"map empty", []string{"ACTORCHAIN_CHAIN_ALLOC="}, func(c *Config) bool { return c.Chain.Alloc != nil && len(c.Chain.Alloc) == 0 }},
		{"log level any case", []string{"ACTORCHAIN_LOG_LEVEL=DEBUG"}, func(c *Config) bool { return c.Log.Level == "debug" }},
		{"later wins", []string{"ACTORCHAIN_CHAIN_POW_BITS=1", "ACTORCHAIN_CHAIN_POW_BITS=2"}, func(c *Config) bool { return c.Chain.PowBits == 2 }},
		{"home and others ignored", []string{"ACTORCHAIN_HOME=/elsewhere", "PATH=/bin", "actorchain_bogus=1", "ACTORCHAIN_NO_EQUALS_SIGN", "X=ACTORCHAIN_BOGUS=1"},
			func(c *Config) bool { return reflect.DeepEqual(c, resolved(Default(), c.Home, "")) }},
		{"relative path resolved", []string{"ACTORCHAIN_STORAGE_PATH=db/x.db"},
			func(c *Config) bool { return c.Storage.Path == filepath.Join(c.Home, "db", "x.db") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(t.TempDir(), "", tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("Load(%q) = %+v", tt.env, c)
			}
		})
	}
}

func TestEnvOverridesFile(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, FileName, "chain: {pow_bits: 10, validators: ["+hex64+"]}\np2p: {max_inbound: 5}\n")
	c, err := Load(home, "", []string{"ACTORCHAIN_CHAIN_POW_BITS=12", "ACTORCHAIN_CHAIN_VALIDATORS="})
	if err != nil {
		t.Fatal(err)
	}
	if c.Chain.PowBits != 12 || c.Chain.Validators != nil || c.P2P.MaxInbound != 5 {
		t.Fatalf("pow_bits %d validators %q max_inbound %d; want 12, none, 5", c.Chain.PowBits, c.Chain.Validators, c.P2P.MaxInbound)
	}
}

// TestBrokenFileValueUnderEnv: a bad value in the file is reported even where a variable
// overrides the key; a broken file never hides behind the environment.
func TestBrokenFileValueUnderEnv(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, FileName, "p2p: {max_inbound: many}\n")
	_, err := Load(home, "", []string{"ACTORCHAIN_P2P_MAX_INBOUND=5"})
	want := `config: p2p.max_inbound: invalid integer "many"`
	if err == nil || err.Error() != want {
		t.Fatalf("Load = %v, want %s", err, want)
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string // the whole Error()
	}{
		{"unknown variable", "ACTORCHAIN_BOGUS=1",
			"config: ACTORCHAIN_BOGUS: unknown environment variable: it names no configuration key"},
		{"section variable", "ACTORCHAIN_P2P=1",
			"config: ACTORCHAIN_P2P: unknown environment variable: it names no configuration key"},
		{"typo", "ACTORCHAIN_P2P_MAX_INBOUNDS=1",
			"config: ACTORCHAIN_P2P_MAX_INBOUNDS: unknown environment variable: it names no configuration key; did you mean ACTORCHAIN_P2P_MAX_INBOUND?"},
		{"naive mapping", "ACTORCHAIN_STORAGE_OPEN.TIMEOUT=1s",
			"config: ACTORCHAIN_STORAGE_OPEN.TIMEOUT: unknown environment variable: it names no configuration key; did you mean ACTORCHAIN_STORAGE_OPEN_TIMEOUT?"},
		{"duration", "ACTORCHAIN_STORAGE_OPEN_TIMEOUT=x",
			`config: storage.open_timeout: invalid duration "x" (from ACTORCHAIN_STORAGE_OPEN_TIMEOUT)`},
		{"int", "ACTORCHAIN_CHAIN_POW_BITS=twelve",
			`config: chain.pow_bits: invalid integer "twelve" (from ACTORCHAIN_CHAIN_POW_BITS)`},
		{"restart budget count", "ACTORCHAIN_SUPERVISION_MAX_RESTARTS=ten",
			`config: supervision.max_restarts: invalid integer "ten" (from ACTORCHAIN_SUPERVISION_MAX_RESTARTS)`},
		{"restart budget window", "ACTORCHAIN_SUPERVISION_WINDOW=x",
			`config: supervision.window: invalid duration "x" (from ACTORCHAIN_SUPERVISION_WINDOW)`},
		{"restart budget window zero", "ACTORCHAIN_SUPERVISION_WINDOW=0s",
			"config: supervision.window: must be > 0, got 0s (from ACTORCHAIN_SUPERVISION_WINDOW)"},
		{"int overflow", "ACTORCHAIN_CHAIN_POW_BITS=99999999999999999999",
			`config: chain.pow_bits: invalid integer "99999999999999999999" (from ACTORCHAIN_CHAIN_POW_BITS)`},
		{"uint negative", "ACTORCHAIN_CHAIN_BLOCK_REWARD=-1",
			`config: chain.block_reward: invalid unsigned integer "-1" (from ACTORCHAIN_CHAIN_BLOCK_REWARD)`},
		{"bool", "ACTORCHAIN_MINING_ENABLED=yes",
			`config: mining.enabled: invalid boolean "yes" (want true or false) (from ACTORCHAIN_MINING_ENABLED)`},
		{"time", "ACTORCHAIN_CHAIN_GENESIS_TIME=2026-01-01",
			`config: chain.genesis_time: invalid time "2026-01-01" (want RFC 3339 such as 2026-01-01T00:00:00Z) (from ACTORCHAIN_CHAIN_GENESIS_TIME)`},
		{"alloc entry", "ACTORCHAIN_CHAIN_ALLOC=" + hex40 + ":5",
			`config: chain.alloc: invalid entry "` + hex40 + `:5" (want ADDRESS=BALANCE,ADDRESS=BALANCE) (from ACTORCHAIN_CHAIN_ALLOC)`},
		{"alloc balance", "ACTORCHAIN_CHAIN_ALLOC=" + hex40 + "=x",
			`config: chain.alloc.` + hex40 + `: invalid unsigned integer "x" (from ACTORCHAIN_CHAIN_ALLOC)`},
		{"alloc duplicate", "ACTORCHAIN_CHAIN_ALLOC=" + hex40 + "=1," + strings.ToUpper(hex40) + "=2",
			`config: chain.alloc.` + hex40 + `: duplicate address (from ACTORCHAIN_CHAIN_ALLOC)`},
		// Values that parse but fail validation name the variable too.
		{"validation", "ACTORCHAIN_P2P_MAX_INBOUND=-1",
			"config: p2p.max_inbound: must be >= 0, got -1 (from ACTORCHAIN_P2P_MAX_INBOUND)"},
		{"validation of a list element", "ACTORCHAIN_P2P_SEEDS=" + hex64 + "@a:1,nope",
			`config: p2p.seeds[1]: must be ID@HOST:PORT, got "nope" (from ACTORCHAIN_P2P_SEEDS)`},
		{"validation of a map entry", "ACTORCHAIN_CHAIN_ALLOC=" + hex40 + "=0",
			`config: chain.alloc.` + hex40 + `: balance must be > 0, got 0 (from ACTORCHAIN_CHAIN_ALLOC)`},
		{"cross-key validation", "ACTORCHAIN_API_LISTEN=127.0.0.1:7600",
			`config: api.listen: must differ from p2p.listen, both are "127.0.0.1:7600" (from ACTORCHAIN_API_LISTEN)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(t.TempDir(), "", []string{"PATH=/bin", tt.env})
			var ce *Error
			if !asError(err, &ce) {
				t.Fatalf("Load() = %v (%T), want *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("Error() = %q\nwant      %q", err.Error(), tt.want)
			}
		})
	}
}

// TestEnvValidationErrorFromFile checks that a value from the file is not blamed on a variable.
func TestEnvValidationErrorFromFile(t *testing.T) {
	home := t.TempDir()
	writeFile(t, home, FileName, "p2p: {max_inbound: -1}\n")
	_, err := Load(home, "", []string{"ACTORCHAIN_P2P_MAX_OUTBOUND=1"})
	if want := "config: p2p.max_inbound: must be >= 0, got -1"; err == nil || err.Error() != want {
		t.Fatalf("Load() = %v, want %q", err, want)
	}
}
