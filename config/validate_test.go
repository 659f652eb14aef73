package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	hex64 = strings.Repeat("ab", 32)
	hex40 = strings.Repeat("cd", 20)
)

// TestValidate checks every validation rule at its boundaries, with the exact key and problem.
func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		key     string // "" = valid
		problem string
	}{
		{"defaults", func(c *Config) {}, "", ""},

		{"log level debug", func(c *Config) { c.Log.Level = "debug" }, "", ""},
		{"log level error", func(c *Config) { c.Log.Level = "error" }, "", ""},
		{"log level unknown", func(c *Config) { c.Log.Level = "verbose" }, "log.level", `must be one of debug, info, warn, error; got "verbose"`},
		{"log level upper case", func(c *Config) { c.Log.Level = "INFO" }, "log.level", `must be one of debug, info, warn, error; got "INFO"`},
		{"log format json", func(c *Config) { c.Log.Format = "json" }, "", ""},
		{"log format unknown", func(c *Config) { c.Log.Format = "xml" }, "log.format", `must be one of text, json; got "xml"`},

		{"chain id 64 chars", func(c *Config) { c.Chain.ID = strings.Repeat("x", 64) }, "", ""},
		{"chain id punctuation", func(c *Config) { c.Chain.ID = "a!~{}" }, "", ""},
		{"chain id empty", func(c *Config) { c.Chain.ID = "" }, "chain.id", `must be 1 to 64 printable ASCII characters without spaces, got ""`},
		{"chain id 65 chars", func(c *Config) { c.Chain.ID = strings.Repeat("x", 65) }, "chain.id",
			`must be 1 to 64 printable ASCII characters without spaces, got "` + strings.Repeat("x", 65) + `"`},
		{"chain id space", func(c *Config) { c.Chain.ID = "a b" }, "chain.id", `must be 1 to 64 printable ASCII characters without spaces, got "a b"`},
		{"chain id non-ASCII", func(c *Config) { c.Chain.ID = "é" }, "chain.id", `must be 1 to 64 printable ASCII characters without spaces, got "é"`},
		{"chain id control", func(c *Config) { c.Chain.ID = "a\x7f" }, "chain.id", `must be 1 to 64 printable ASCII characters without spaces, got "a\x7f"`},

		{"genesis at epoch", func(c *Config) { c.Chain.GenesisTime = time.Unix(0, 0) }, "", ""},
		{"genesis before epoch", func(c *Config) { c.Chain.GenesisTime = time.Unix(-1, 0) }, "chain.genesis_time",
			"must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, got 1969-12-31T23:59:59Z"},
		{"genesis zero", func(c *Config) { c.Chain.GenesisTime = time.Time{} }, "chain.genesis_time",
			"must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z, got 0001-01-01T00:00:00Z"},

		{"pow bits 0", func(c *Config) { c.Chain.PowBits = 0 }, "", ""},
		{"pow bits 64", func(c *Config) { c.Chain.PowBits = 64 }, "", ""},
		{"pow bits 65", func(c *Config) { c.Chain.PowBits = 65 }, "chain.pow_bits", "must be between 0 and 64, got 65"},
		{"pow bits -1", func(c *Config) { c.Chain.PowBits = -1 }, "chain.pow_bits", "must be between 0 and 64, got -1"},
		{"adjusting", func(c *Config) { c.Chain.TargetBlockTime, c.Chain.DifficultyHalfLife = time.Second, 5*time.Minute }, "", ""},
		{"fixed without half-life", func(c *Config) { c.Chain.DifficultyHalfLife = 0 }, "", ""},
		{"target block time negative", func(c *Config) { c.Chain.TargetBlockTime = -time.Second }, "chain.target_block_time", "must be >= 0, got -1s"},
		{"target block time sub-ms", func(c *Config) { c.Chain.TargetBlockTime = 1500 * time.Microsecond }, "chain.target_block_time", "must be whole milliseconds, got 1.5ms"},
		{"half-life 0 when adjusting", func(c *Config) { c.Chain.TargetBlockTime, c.Chain.DifficultyHalfLife = time.Second, 0 }, "chain.difficulty_halflife", "must be > 0 when chain.target_block_time is set, got 0s"},
		{"half-life negative", func(c *Config) { c.Chain.DifficultyHalfLife = -time.Second }, "chain.difficulty_halflife", "must be >= 0, got -1s"},
		{"half-life sub-ms", func(c *Config) { c.Chain.DifficultyHalfLife = time.Second + time.Microsecond }, "chain.difficulty_halflife", "must be whole milliseconds, got 1.000001s"},

		{"block reward 0", func(c *Config) { c.Chain.BlockReward = 0 }, "", ""},

		{"validators", func(c *Config) { c.Chain.Validators = []string{hex64, strings.Repeat("0", 64)} }, "", ""},
		{"validator short", func(c *Config) { c.Chain.Validators = []string{hex64, "abc"} }, "chain.validators[1]",
			`must be 64 lower-case hex characters (an ed25519 public key), got "abc"`},
		{"validator upper case", func(c *Config) { c.Chain.Validators = []string{strings.ToUpper(hex64)} }, "chain.validators[0]",
			`must be 64 lower-case hex characters (an ed25519 public key), got "` + strings.ToUpper(hex64) + `"`},
		{"validator duplicate", func(c *Config) { c.Chain.Validators = []string{hex64, hex64} }, "chain.validators[1]", "duplicate of chain.validators[0]"},

		{"alloc", func(c *Config) { c.Chain.Alloc = map[string]uint64{hex40: 1, strings.Repeat("0", 40): 1<<64 - 1} }, "", ""},
		{"alloc nil", func(c *Config) { c.Chain.Alloc = nil }, "", ""},
		{"alloc bad address", func(c *Config) { c.Chain.Alloc = map[string]uint64{"xyz": 5} }, "chain.alloc.xyz",
			`address must be 40 lower-case hex characters, got "xyz"`},
		{"alloc 0x address", func(c *Config) { c.Chain.Alloc = map[string]uint64{"0x" + hex40[2:]: 5} }, "chain.alloc.0x" + hex40[2:],
			`address must be 40 lower-case hex characters, got "0x` + hex40[2:] + `"`},
		{"alloc zero balance", func(c *Config) { c.Chain.Alloc = map[string]uint64{hex40: 0} }, "chain.alloc." + hex40, "balance must be > 0, got 0"},

		{"max block txs 1", func(c *Config) { c.Chain.MaxBlockTxs = 1 }, "", ""},
		{"max block txs 100000", func(c *Config) { c.Chain.MaxBlockTxs = 100000 }, "", ""},
		{"max block txs 0", func(c *Config) { c.Chain.MaxBlockTxs = 0 }, "chain.max_block_txs", "must be between 1 and 100000, got 0"},
		{"max block txs 100001", func(c *Config) { c.Chain.MaxBlockTxs = 100001 }, "chain.max_block_txs", "must be between 1 and 100000, got 100001"},

		{"node key empty", func(c *Config) { c.Node.KeyFile = "" }, "node.key_file", "must not be empty"},
		{"node key control", func(c *Config) { c.Node.KeyFile = "a\nb" }, "node.key_file", `must not contain control characters, got "a\nb"`},
		{"node key invalid UTF-8", func(c *Config) { c.Node.KeyFile = "a\xffb" }, "node.key_file", `must be valid UTF-8, got "a\xffb"`},
		{"node key absolute with spaces", func(c *Config) { c.Node.KeyFile = "/my keys/n é.key" }, "", ""},

		{"storage path empty", func(c *Config) { c.Storage.Path = "" }, "storage.path", "must not be empty"},
		{"open timeout 1ns", func(c *Config) { c.Storage.OpenTimeout = 1 }, "", ""},
		{"restart budget 0", func(c *Config) { c.Supervision.MaxRestarts = 0 }, "supervision.max_restarts", "must be between 1 and 100000, got 0"},
		{"restart budget window 0", func(c *Config) { c.Supervision.Window = 0 }, "supervision.window", "must be > 0, got 0s"},
		{"open timeout 0", func(c *Config) { c.Storage.OpenTimeout = 0 }, "storage.open_timeout", "must be > 0, got 0s"},
		{"open timeout negative", func(c *Config) { c.Storage.OpenTimeout = -time.Second }, "storage.open_timeout", "must be > 0, got -1s"},

		{"p2p listen empty", func(c *Config) { c.P2P.Listen = "" }, "", ""},
		{"p2p listen any host port 0", func(c *Config) { c.P2P.Listen = ":0" }, "", ""},
		{"p2p listen ipv6", func(c *Config) { c.P2P.Listen = "[::1]:65535" }, "", ""},
		{"p2p listen no port", func(c *Config) { c.P2P.Listen = "127.0.0.1" }, "p2p.listen", `must be "" or HOST:PORT: must be HOST:PORT, got "127.0.0.1"`},
		{"p2p listen port too big", func(c *Config) { c.P2P.Listen = "127.0.0.1:65536" }, "p2p.listen",
			`must be "" or HOST:PORT: port must be a number from 0 to 65535, got "127.0.0.1:65536"`},
		{"p2p listen named port", func(c *Config) { c.P2P.Listen = "127.0.0.1:http" }, "p2p.listen",
			`must be "" or HOST:PORT: port must be a number from 0 to 65535, got "127.0.0.1:http"`},
		{"p2p listen space in host", func(c *Config) { c.P2P.Listen = "a b:1" }, "p2p.listen",
			`must be "" or HOST:PORT: host must not contain spaces or control characters, got "a b:1"`},

		{"external addr", func(c *Config) { c.P2P.ExternalAddr = "node.example.com:7600" }, "", ""},
		{"external addr no host", func(c *Config) { c.P2P.ExternalAddr = ":7600" }, "p2p.external_addr",
			`must be "" or HOST:PORT: host must not be empty, got ":7600"`},
		{"external addr port 0", func(c *Config) { c.P2P.ExternalAddr = "h:0" }, "p2p.external_addr",
			`must be "" or HOST:PORT: port must be a number from 1 to 65535, got "h:0"`},

		{"seeds", func(c *Config) { c.P2P.Seeds = []string{hex64 + "@127.0.0.1:7602", hex64 + "@[::1]:1"} }, "", ""},
		{"seed without id", func(c *Config) { c.P2P.Seeds = []string{hex64 + "@h:1", "127.0.0.1:7602"} }, "p2p.seeds[1]",
			`must be ID@HOST:PORT, got "127.0.0.1:7602"`},
		{"seed short id", func(c *Config) { c.P2P.Seeds = []string{"abcd@h:1"} }, "p2p.seeds[0]",
			`node id must be 64 lower-case hex characters, got "abcd@h:1"`},
		{"seed no host", func(c *Config) { c.P2P.Seeds = []string{hex64 + "@:1"} }, "p2p.seeds[0]",
			`must be ID@HOST:PORT: host must not be empty, got ":1"`},
		{"seed port 0", func(c *Config) { c.P2P.Seeds = []string{hex64 + "@h:0"} }, "p2p.seeds[0]",
			`must be ID@HOST:PORT: port must be a number from 1 to 65535, got "h:0"`},

		{"max inbound 0", func(c *Config) { c.P2P.MaxInbound = 0 }, "", ""},
		{"max inbound -1", func(c *Config) { c.P2P.MaxInbound = -1 }, "p2p.max_inbound", "must be >= 0, got -1"},
		{"max outbound 0", func(c *Config) { c.P2P.MaxOutbound = 0 }, "", ""},
		{"max outbound -1", func(c *Config) { c.P2P.MaxOutbound = -1 }, "p2p.max_outbound", "must be >= 0, got -1"},

		{"mempool 1", func(c *Config) { c.Mempool.MaxTxs = 1 }, "", ""},
		{"mempool 0", func(c *Config) { c.Mempool.MaxTxs = 0 }, "mempool.max_txs", "must be >= 1, got 0"},
		{"bump 1", func(c *Config) { c.Mempool.ReplaceFeeBumpPercent = 1 }, "", ""},
		{"bump 1000", func(c *Config) { c.Mempool.ReplaceFeeBumpPercent = 1000 }, "", ""},
		{"bump 0", func(c *Config) { c.Mempool.ReplaceFeeBumpPercent = 0 }, "mempool.replace_fee_bump_percent", "must be between 1 and 1000, got 0"},
		{"bump 1001", func(c *Config) { c.Mempool.ReplaceFeeBumpPercent = 1001 }, "mempool.replace_fee_bump_percent", "must be between 1 and 1000, got 1001"},

		{"workers 1024", func(c *Config) { c.Mining.Workers = 1024 }, "", ""},
		{"workers 1025", func(c *Config) { c.Mining.Workers = 1025 }, "mining.workers", "must be between 0 and 1024, got 1025"},
		{"workers -1", func(c *Config) { c.Mining.Workers = -1 }, "mining.workers", "must be between 0 and 1024, got -1"},
		{"miner key empty", func(c *Config) { c.Mining.KeyFile = "" }, "mining.key_file", "must not be empty"},
		{"negative pacing", func(c *Config) { c.Mining.MinBlockInterval = -time.Second }, "mining.min_block_interval", "must be >= 0, got -1s"},

		{"api listen empty", func(c *Config) { c.API.Listen = "" }, "", ""},
		{"api listen bad", func(c *Config) { c.API.Listen = "localhost" }, "api.listen", `must be "" or HOST:PORT: must be HOST:PORT, got "localhost"`},
		{"api listen same as p2p", func(c *Config) { c.API.Listen = c.P2P.Listen }, "api.listen", `must differ from p2p.listen, both are "127.0.0.1:7600"`},
		{"api and p2p both port 0", func(c *Config) { c.API.Listen, c.P2P.Listen = "127.0.0.1:0", "127.0.0.1:0" }, "", ""},

		{"first problem in key order", func(c *Config) { c.Mining.Workers = -1; c.Log.Level = "x" }, "log.level", `must be one of debug, info, warn, error; got "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(c)
			err := c.Validate()
			if tt.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate() = %v (%T), want *Error", err, err)
			}
			if ce.Key != tt.key || ce.Problem != tt.problem || ce.Env != "" {
				t.Fatalf("Validate() = %+v\nwant key %q problem %q", *ce, tt.key, tt.problem)
			}
			if want := "config: " + tt.key + ": " + tt.problem; err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}
