package config

import (
	"maps"
	"slices"
	"time"
)

// Config is the typed configuration of one node: the contents of node.yaml with environment
// overrides applied. Load returns it validated and with relative paths resolved against Home.
//
// The mapstructure tags document the YAML names; decoding is done by this package's key table
// (see Keys), not by reflection, so that every problem is reported with its exact key path.
type Config struct {
	Home    string  `mapstructure:"-"` // absolute HOME, set by Load
	File    string  `mapstructure:"-"` // absolute path of the config file that was read ("" if none)
	Log     Log     `mapstructure:"log"`
	Chain   Chain   `mapstructure:"chain"`
	Node    Node    `mapstructure:"node"`
	Storage Storage `mapstructure:"storage"`
	P2P     P2P     `mapstructure:"p2p"`
	Mempool Mempool `mapstructure:"mempool"`
	Mining  Mining  `mapstructure:"mining"`
	API     API     `mapstructure:"api"`
	// Supervision is the restart budget of the vital actors (CONTRACT §9).
	Supervision Supervision `mapstructure:"supervision"`
	Debug       Debug       `mapstructure:"debug"`
}

// Log configures the node's slog logger.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn or error
	Format string `mapstructure:"format"` // text or json
}

// Chain is the genesis of a network: every node of one network must have an identical Chain,
// because the genesis hash is a hash of all of it (in chainstate's canonical form).
type Chain struct {
	ID          string    `mapstructure:"id"`           // 1..64 printable ASCII characters, no spaces
	GenesisTime time.Time `mapstructure:"genesis_time"` // UTC after Load
	PowBits     int       `mapstructure:"pow_bits"`     // 0..64 leading zero bits of a block hash (the genesis target of an adjusting chain)
	// TargetBlockTime is the block interval the difficulty adjustment aims at (CONTRACT §10);
	// 0 keeps the fixed difficulty of PowBits. DifficultyHalfLife is its half-life (> 0 when
	// TargetBlockTime is). Both are whole milliseconds.
	TargetBlockTime    time.Duration     `mapstructure:"target_block_time"`
	DifficultyHalfLife time.Duration     `mapstructure:"difficulty_halflife"`
	BlockReward        uint64            `mapstructure:"block_reward"`  // units minted per block
	Validators         []string          `mapstructure:"validators"`    // lower-case 64-hex ed25519 public keys; empty = anyone may mine
	Alloc              map[string]uint64 `mapstructure:"alloc"`         // lower-case 40-hex address -> balance > 0
	MaxBlockTxs        int               `mapstructure:"max_block_txs"` // 1..100000
}

// Node holds the node's identity.
type Node struct {
	KeyFile string `mapstructure:"key_file"` // p2p identity key (static Noise key)
}

// Storage configures the bbolt database.
type Storage struct {
	Path        string        `mapstructure:"path"`         // database file
	OpenTimeout time.Duration `mapstructure:"open_timeout"` // bbolt Options.Timeout, > 0
}

// P2P configures the peer-to-peer network.
type P2P struct {
	Listen       string   `mapstructure:"listen"`        // HOST:PORT, "" disables networking
	ExternalAddr string   `mapstructure:"external_addr"` // advertised HOST:PORT, "" = Listen
	Seeds        []string `mapstructure:"seeds"`         // ID@HOST:PORT, ID lower-case 64 hex
	MaxInbound   int      `mapstructure:"max_inbound"`   // >= 0
	MaxOutbound  int      `mapstructure:"max_outbound"`  // >= 0
	// CompactBlocks announces and uses compact block relay (docs/protocol.md §4); false makes
	// the node speak protocol minor 0 only.
	CompactBlocks bool `mapstructure:"compact_blocks"`
}

// AdvertisedAddr returns the address the node tells peers to dial: ExternalAddr when set, else
// Listen ("" when networking is disabled).
func (p P2P) AdvertisedAddr() string {
	if p.ExternalAddr != "" {
		return p.ExternalAddr
	}
	return p.Listen
}

// Mempool configures the pending transaction pool.
type Mempool struct {
	MaxTxs int `mapstructure:"max_txs"` // >= 1
	// ReplaceFeeBumpPercent is how much higher (in percent, 1 to 1000) a transfer's fee must be
	// than the pending one with the same sender and nonce for it to replace that one.
	ReplaceFeeBumpPercent int `mapstructure:"replace_fee_bump_percent"`
}

// Mining configures the local miner. It never changes which blocks the node accepts.
type Mining struct {
	Enabled bool   `mapstructure:"enabled"`
	Workers int    `mapstructure:"workers"`  // 0..1024, 0 = one per CPU
	KeyFile string `mapstructure:"key_file"` // block sealing key; rewards go to its address
	// MinBlockInterval paces this node's own mining (local policy, >= 0, 0 = unpaced): no
	// template goes to the workers sooner than this after the tip's time.
	MinBlockInterval time.Duration `mapstructure:"min_block_interval"`
	// LowPriority makes each worker's hashing yield its core (Linux): a search sleeps as long as
	// its thread waited for a core, so the node's own work and other processes run first.
	LowPriority bool `mapstructure:"low_priority"`
}

// API configures the HTTP API.
type API struct {
	Listen string `mapstructure:"listen"` // HOST:PORT, "" disables the API
}

// Supervision bounds how often a vital actor (storage, consensus, mempool, peers) may restart:
// more than MaxRestarts restarts within Window stop the node (exit 1), besides the short restart
// intensity (5 in 10 s) that catches a fast crash loop.
type Supervision struct {
	MaxRestarts int           `mapstructure:"max_restarts"` // >= 1
	Window      time.Duration `mapstructure:"window"`       // > 0
}

// Debug holds switches that must stay off in production.
type Debug struct {
	FaultInjection bool `mapstructure:"fault_injection"` // /v1/debug/* fault hooks
	Pprof          bool `mapstructure:"pprof"`           // /debug/pprof/ on the API listener
}

// DefaultGenesisTime is the genesis time of the default devnet chain: 2026-01-01T00:00:00Z.
var DefaultGenesisTime = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Default returns the defaults of CONTRACT §2: a single-node devnet that mines, listens for
// peers on 127.0.0.1:7600 and serves the API on 127.0.0.1:8600. Paths are relative (to HOME);
// Home and File are empty. Each call returns a new value that the caller owns: Alloc is an
// empty, non-nil map and the lists are nil.
func Default() *Config {
	return &Config{
		Log: Log{Level: "info", Format: "text"},
		Chain: Chain{
			ID:                 "actorchain-devnet",
			GenesisTime:        DefaultGenesisTime,
			PowBits:            20,
			DifficultyHalfLife: time.Hour,
			BlockReward:        50,
			Alloc:              map[string]uint64{},
			MaxBlockTxs:        5000,
		},
		Node:    Node{KeyFile: "keys/node.key"},
		Storage: Storage{Path: "data/chain.db", OpenTimeout: 5 * time.Second},
		P2P: P2P{
			Listen:        "127.0.0.1:7600",
			MaxInbound:    32,
			MaxOutbound:   8,
			CompactBlocks: true,
		},
		Mempool:     Mempool{MaxTxs: 50000, ReplaceFeeBumpPercent: 10},
		Mining:      Mining{Enabled: true, Workers: 0, KeyFile: "keys/miner.key", MinBlockInterval: 100 * time.Millisecond},
		API:         API{Listen: "127.0.0.1:8600"},
		Supervision: Supervision{MaxRestarts: 10, Window: 5 * time.Minute},
	}
}

// Clone returns a deep copy of c: its lists and Alloc map are not shared with c.
func (c *Config) Clone() *Config {
	d := *c
	d.Chain = c.Chain.Clone()
	d.P2P.Seeds = slices.Clone(c.P2P.Seeds)
	return &d
}

// Clone returns a deep copy of ch: Validators and Alloc are not shared with ch.
func (ch Chain) Clone() Chain {
	ch.Validators = slices.Clone(ch.Validators)
	if ch.Alloc != nil {
		ch.Alloc = maps.Clone(ch.Alloc)
	}
	return ch
}
