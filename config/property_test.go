package config

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"
)

func genHex(t *rapid.T, bytes int, label string) string {
	return hex.EncodeToString(rapid.SliceOfN(rapid.Byte(), bytes, bytes).Draw(t, label))
}

// genText draws a non-empty string without control characters: letters, digits, punctuation,
// symbols and spaces from all of Unicode, so quoting in Write is exercised.
func genText(t *rapid.T, label string) string {
	r := rapid.RuneFrom(nil, unicode.L, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.M, unicode.Cf)
	return rapid.StringOfN(r, 1, 40, -1).Draw(t, label)
}

func genHostPort(t *rapid.T, label string, needHost bool, minPort int) string {
	hosts := []string{"127.0.0.1", "localhost", "0.0.0.0", "[::1]", "node-1.example.com", "10.1.2.3"}
	if !needHost {
		hosts = append(hosts, "")
	}
	host := rapid.SampledFrom(hosts).Draw(t, label+"_host")
	return fmt.Sprintf("%s:%d", host, rapid.IntRange(minPort, 65535).Draw(t, label+"_port"))
}

// genConfig draws a random valid Config.
func genConfig(t *rapid.T) *Config {
	c := &Config{}
	c.Log.Level = rapid.SampledFrom(logLevels).Draw(t, "level")
	c.Log.Format = rapid.SampledFrom(logFormats).Draw(t, "format")
	c.Chain.ID = string(rapid.SliceOfN(rapid.ByteRange('!', '~'), 1, 64).Draw(t, "id"))
	c.Chain.GenesisTime = time.Unix(
		rapid.Int64Range(0, maxGenesisTime.Unix()).Draw(t, "genesis_s"),
		rapid.Int64Range(0, 999999999).Draw(t, "genesis_ns")).UTC()
	c.Chain.PowBits = rapid.IntRange(0, 64).Draw(t, "pow_bits")
	c.Chain.BlockReward = rapid.Uint64().Draw(t, "reward")
	vals := rapid.SliceOfNDistinct(rapid.Custom(func(t *rapid.T) string { return genHex(t, 32, "validator") }), 0, 4,
		func(s string) string { return s }).Draw(t, "validators")
	if len(vals) > 0 {
		c.Chain.Validators = vals
	}
	c.Chain.Alloc = rapid.MapOfN(rapid.Custom(func(t *rapid.T) string { return genHex(t, 20, "addr") }),
		rapid.Uint64Min(1), 0, 4).Draw(t, "alloc")
	c.Chain.MaxBlockTxs = rapid.IntRange(1, 100000).Draw(t, "max_block_txs")
	c.Node.KeyFile = genText(t, "node_key")
	c.Storage.Path = genText(t, "storage_path")
	c.Storage.OpenTimeout = time.Duration(rapid.Int64Range(1, 1<<62).Draw(t, "open_timeout"))
	if rapid.Bool().Draw(t, "listen_on") {
		c.P2P.Listen = genHostPort(t, "listen", false, 0)
	}
	if rapid.Bool().Draw(t, "external_on") {
		c.P2P.ExternalAddr = genHostPort(t, "external", true, 1)
	}
	for i := rapid.IntRange(0, 3).Draw(t, "seeds"); i > 0; i-- {
		c.P2P.Seeds = append(c.P2P.Seeds, genHex(t, 32, "seed_id")+"@"+genHostPort(t, "seed", true, 1))
	}
	c.P2P.MaxInbound = rapid.IntRange(0, 1<<20).Draw(t, "max_inbound")
	c.P2P.MaxOutbound = rapid.IntRange(0, 1<<20).Draw(t, "max_outbound")
	c.Mempool.MaxTxs = rapid.IntRange(1, 1<<30).Draw(t, "max_txs")
	c.Mempool.ReplaceFeeBumpPercent = rapid.IntRange(1, 1000).Draw(t, "replace_fee_bump_percent")
	c.Mining.Enabled = rapid.Bool().Draw(t, "mining")
	c.Mining.Workers = rapid.IntRange(0, 1024).Draw(t, "workers")
	c.Mining.KeyFile = genText(t, "miner_key")
	if rapid.Bool().Draw(t, "api_on") {
		c.API.Listen = genHostPort(t, "api", false, 0)
	}
	c.Supervision.MaxRestarts = rapid.IntRange(1, 100000).Draw(t, "max_restarts")
	c.Supervision.Window = time.Duration(rapid.Int64Range(1, 1<<62).Draw(t, "supervision_window"))
	c.Debug.FaultInjection = rapid.Bool().Draw(t, "fault_injection")
	c.Debug.Pprof = rapid.Bool().Draw(t, "pprof")
	if err := c.Validate(); err != nil {
		t.Skip("drew an invalid config:", err) // only api.listen == p2p.listen
	}
	return c
}

// TestWriteLoadRoundTripProperty: Load(Write(c)) == c for every valid c.
func TestWriteLoadRoundTripProperty(t *testing.T) {
	dir := t.TempDir()
	n := 0
	rapid.Check(t, func(t *rapid.T) {
		c := genConfig(t)
		n++
		home := filepath.Join(dir, fmt.Sprint(n))
		path := filepath.Join(home, FileName)
		if err := Write(path, c); err != nil {
			t.Fatal(err)
		}
		got, err := Load(home, "", nil)
		if err != nil {
			data, _ := os.ReadFile(path)
			t.Fatalf("Load(Write(c)) = %v; file:\n%s", err, data)
		}
		if want := resolved(c, home, path); !reflect.DeepEqual(got, want) {
			data, _ := os.ReadFile(path)
			t.Fatalf("Load(Write(c)) =\n%+v\nwant\n%+v\nfile:\n%s", got, want, data)
		}
		if ch, err := LoadChain(path); err != nil || !reflect.DeepEqual(ch, c.Chain) {
			t.Fatalf("LoadChain(Write(c)) = %+v, %v; want %+v", ch, err, c.Chain)
		}
	})
}

// TestEnvRoundTripProperty: setting every key of a valid c through the environment alone
// (no file) gives back c.
func TestEnvRoundTripProperty(t *testing.T) {
	home := t.TempDir()
	rapid.Check(t, func(t *rapid.T) {
		c := genConfig(t)
		var env []string
		for i := range entries {
			env = append(env, EnvName(entries[i].path)+"="+envValue(&entries[i], c))
		}
		env = rapid.Permutation(env).Draw(t, "env order")
		got, err := Load(home, "", env)
		if err != nil {
			t.Fatalf("Load(env) = %v\nenv %q", err, env)
		}
		if want := resolved(c, home, ""); !reflect.DeepEqual(got, want) {
			t.Fatalf("Load(env) =\n%+v\nwant\n%+v", got, want)
		}
	})
}

// TestYAMLStringProperty: every string yamlString renders reads back as itself.
func TestYAMLStringProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s")
		var v map[string]any
		if err := yaml.Unmarshal([]byte("k: "+yamlString(s)), &v); err != nil || v["k"] != s {
			t.Fatalf("yamlString(%q) = %s reads back as %#v, %v", s, yamlString(s), v["k"], err)
		}
	})
}
