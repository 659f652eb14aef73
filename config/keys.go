package config

import (
	"strings"
)

// EnvPrefix starts the name of every environment variable that overrides a key.
const EnvPrefix = "ACTORCHAIN_"

// HomeEnv is the environment variable the CLI reads HOME from. It names no key, and Load
// ignores it instead of reporting it as unknown.
const HomeEnv = "ACTORCHAIN_HOME"

// entry describes one key: where it lives in Config, how it is documented and how it is checked.
// The table below is the single source of the key set: Keys, Load, Validate, Write and the
// documentation are all driven by it, so a key cannot be half added.
type entry struct {
	path string
	// field returns a pointer to the key's field in c: *string, *int, *uint64, *bool,
	// *time.Duration, *time.Time, *[]string or *map[string]uint64. The pointer's type is the
	// key's type.
	field func(c *Config) any
	// help is one sentence for the comment above the key in Write's output and for docs/config.md.
	help string
	// check validates the key's value; nil means any value of the type is valid.
	check func(c *Config) *Error
}

// sections lists the top-level sections in file order, with the comment Write puts above each.
var sections = []struct{ name, help string }{
	{"log", "Logging (log/slog)."},
	{"chain", "Genesis: must be identical on every node of one network (the genesis hash covers all of it)."},
	{"node", "The node's identity."},
	{"storage", "The bbolt database."},
	{"p2p", "Peer-to-peer networking (Noise over TCP)."},
	{"mempool", "Pending transactions."},
	{"mining", "The local miner. It never changes which blocks the node accepts."},
	{"api", "The HTTP API."},
	{"supervision", "The restart budget of the vital actors (storage, consensus, mempool, peers)."},
	{"debug", "Debugging aids: never enable them on a node reachable by others."},
}

// entries is the key table, in file order.
var entries = []entry{
	{"log.level", func(c *Config) any { return &c.Log.Level },
		"Minimum level of log records: debug, info, warn or error.",
		func(c *Config) *Error { return checkOneOf("log.level", c.Log.Level, logLevels) }},
	{"log.format", func(c *Config) any { return &c.Log.Format },
		"Format of log records: text (human readable) or json (one object per line).",
		func(c *Config) *Error { return checkOneOf("log.format", c.Log.Format, logFormats) }},

	{"chain.id", func(c *Config) any { return &c.Chain.ID },
		"Chain identifier, signed into every transaction: 1 to 64 printable ASCII characters without spaces.",
		func(c *Config) *Error { return checkChainID(c.Chain.ID) }},
	{"chain.genesis_time", func(c *Config) any { return &c.Chain.GenesisTime },
		"Time of the genesis block, RFC 3339.",
		func(c *Config) *Error { return checkGenesisTime(c.Chain.GenesisTime) }},
	{"chain.pow_bits", func(c *Config) any { return &c.Chain.PowBits },
		"Leading zero bits a block hash needs (fixed difficulty), 0 to 64.",
		func(c *Config) *Error { return checkRange("chain.pow_bits", c.Chain.PowBits, 0, 64) }},
	{"chain.target_block_time", func(c *Config) any { return &c.Chain.TargetBlockTime },
		"Block interval the difficulty adjustment (ASERT) aims at, whole milliseconds; 0s keeps the fixed difficulty of chain.pow_bits, which is then the genesis target.",
		func(c *Config) *Error {
			return checkScheduleDuration("chain.target_block_time", c.Chain.TargetBlockTime, false)
		}},
	{"chain.difficulty_halflife", func(c *Config) any { return &c.Chain.DifficultyHalfLife },
		"Half-life of the difficulty adjustment, whole milliseconds: a chain one half-life behind (ahead of) its schedule has twice (half) the genesis target; > 0 when chain.target_block_time is set.",
		func(c *Config) *Error {
			return checkScheduleDuration("chain.difficulty_halflife", c.Chain.DifficultyHalfLife, c.Chain.TargetBlockTime > 0)
		}},
	{"chain.block_reward", func(c *Config) any { return &c.Chain.BlockReward },
		"Units minted to the miner of each block, on top of the block's fees.",
		nil},
	{"chain.validators", func(c *Config) any { return &c.Chain.Validators },
		"Lower-case hex ed25519 public keys (64 hex) allowed to seal blocks; empty means anyone may mine.",
		func(c *Config) *Error { return checkValidators(c.Chain.Validators) }},
	{"chain.alloc", func(c *Config) any { return &c.Chain.Alloc },
		"Genesis balances: lower-case hex address (40 hex, quoted) -> initial balance (> 0).",
		func(c *Config) *Error { return checkAlloc(c.Chain.Alloc) }},
	{"chain.max_block_txs", func(c *Config) any { return &c.Chain.MaxBlockTxs },
		"Most transactions one block may hold, 1 to 100000.",
		func(c *Config) *Error { return checkRange("chain.max_block_txs", c.Chain.MaxBlockTxs, 1, 100000) }},

	{"node.key_file", func(c *Config) any { return &c.Node.KeyFile },
		"The node's p2p identity key (static Noise key; the node id is its public key). Relative to HOME.",
		func(c *Config) *Error { return checkPath("node.key_file", c.Node.KeyFile) }},

	{"storage.path", func(c *Config) any { return &c.Storage.Path },
		"The database file. Relative to HOME.",
		func(c *Config) *Error { return checkPath("storage.path", c.Storage.Path) }},
	{"storage.open_timeout", func(c *Config) any { return &c.Storage.OpenTimeout },
		"How long opening the database waits for a lock held by another process before failing (> 0).",
		func(c *Config) *Error { return checkPositiveDuration("storage.open_timeout", c.Storage.OpenTimeout) }},

	{"p2p.listen", func(c *Config) any { return &c.P2P.Listen },
		`TCP address (HOST:PORT) peers connect to; "" disables networking.`,
		func(c *Config) *Error { return checkListen("p2p.listen", c.P2P.Listen) }},
	{"p2p.external_addr", func(c *Config) any { return &c.P2P.ExternalAddr },
		`Address (HOST:PORT) advertised to peers; "" advertises p2p.listen.`,
		func(c *Config) *Error { return checkExternalAddr(c.P2P.ExternalAddr) }},
	{"p2p.seeds", func(c *Config) any { return &c.P2P.Seeds },
		"Peers dialled at start, each ID@HOST:PORT (ID: the peer's 64-hex node id).",
		func(c *Config) *Error { return checkSeeds(c.P2P.Seeds) }},
	{"p2p.max_inbound", func(c *Config) any { return &c.P2P.MaxInbound },
		"Most inbound peer connections (>= 0).",
		func(c *Config) *Error { return checkMin("p2p.max_inbound", c.P2P.MaxInbound, 0) }},
	{"p2p.max_outbound", func(c *Config) any { return &c.P2P.MaxOutbound },
		"Most outbound peer connections (>= 0).",
		func(c *Config) *Error { return checkMin("p2p.max_outbound", c.P2P.MaxOutbound, 0) }},
	{"p2p.compact_blocks", func(c *Config) any { return &c.P2P.CompactBlocks },
		"Relay blocks as compact blocks to peers that support them, high-bandwidth (before storing) to up to 3; false: protocol minor 0, whole blocks only.",
		nil},

	{"mempool.max_txs", func(c *Config) any { return &c.Mempool.MaxTxs },
		"Most pending transactions the mempool holds (>= 1).",
		func(c *Config) *Error { return checkMin("mempool.max_txs", c.Mempool.MaxTxs, 1) }},
	{"mempool.replace_fee_bump_percent", func(c *Config) any { return &c.Mempool.ReplaceFeeBumpPercent },
		"How much higher, in percent (1 to 1000), a transfer's fee must be than the pending transfer with the same sender and nonce to replace it.",
		func(c *Config) *Error {
			return checkRange("mempool.replace_fee_bump_percent", c.Mempool.ReplaceFeeBumpPercent, 1, 1000)
		}},

	{"mining.enabled", func(c *Config) any { return &c.Mining.Enabled },
		"Mine from start (POST /v1/mining switches it at run time).",
		nil},
	{"mining.workers", func(c *Config) any { return &c.Mining.Workers },
		"Proof-of-work workers, 0 to 1024; 0 means one per CPU.",
		func(c *Config) *Error { return checkRange("mining.workers", c.Mining.Workers, 0, 1024) }},
	{"mining.key_file", func(c *Config) any { return &c.Mining.KeyFile },
		"The block sealing key; block rewards go to its address. Relative to HOME.",
		func(c *Config) *Error { return checkPath("mining.key_file", c.Mining.KeyFile) }},
	{"mining.min_block_interval", func(c *Config) any { return &c.Mining.MinBlockInterval },
		"Local pacing of own mining (>= 0; 0s: unpaced): no template goes to the workers sooner than this after the tip's time. Blocks from others are never judged by it.",
		func(c *Config) *Error {
			return checkNonNegativeDuration("mining.min_block_interval", c.Mining.MinBlockInterval)
		}},
	{"mining.low_priority", func(c *Config) any { return &c.Mining.LowPriority },
		"Hashing yields its core (Linux only): each worker's search watches how long its thread waits for a core and sleeps as long whenever it waited, so the node's relay, validation and API, and other processes, get the CPU they ask for, and the hashing takes what is left (about half of a fair share on a busy machine, all of an idle one; docs/performance.md).",
		nil},

	{"api.listen", func(c *Config) any { return &c.API.Listen },
		`TCP address (HOST:PORT) of the HTTP API; "" disables the API.`,
		func(c *Config) *Error { return checkAPIListen(c) }},

	{"supervision.max_restarts", func(c *Config) any { return &c.Supervision.MaxRestarts },
		"A vital actor that restarts more than this many times within supervision.window stops the node (exit 1, log record node gave up), 1 to 100000.",
		func(c *Config) *Error {
			return checkRange("supervision.max_restarts", c.Supervision.MaxRestarts, 1, 100000)
		}},
	{"supervision.window", func(c *Config) any { return &c.Supervision.Window },
		"The window of supervision.max_restarts (> 0); the short restart intensity of 5 restarts in 10 s applies besides.",
		func(c *Config) *Error { return checkPositiveDuration("supervision.window", c.Supervision.Window) }},

	{"debug.fault_injection", func(c *Config) any { return &c.Debug.FaultInjection },
		"Serve the /v1/debug/* fault hooks (crash or kill actors, failing commits).",
		nil},
	{"debug.pprof", func(c *Config) any { return &c.Debug.Pprof },
		"Serve /debug/pprof/ on the API listener.",
		nil},
}

// byPath and byEnv index entries by key path and by environment variable name.
var byPath, byEnv = indexEntries()

func indexEntries() (byPath, byEnv map[string]*entry) {
	byPath = make(map[string]*entry, len(entries))
	byEnv = make(map[string]*entry, len(entries))
	for i := range entries {
		e := &entries[i]
		byPath[e.path] = e
		byEnv[EnvName(e.path)] = e
	}
	return byPath, byEnv
}

// Keys returns every key path ("section.name") in file order. The caller owns the slice.
func Keys() []string {
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.path
	}
	return keys
}

// EnvName returns the environment variable that overrides key: EnvPrefix followed by the
// upper-cased key path with "_" for ".", e.g. EnvName("p2p.max_inbound") ==
// "ACTORCHAIN_P2P_MAX_INBOUND".
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// section returns the section part of a key path.
func (e *entry) section() string {
	s, _, _ := strings.Cut(e.path, ".")
	return s
}

// name returns the key's name inside its section.
func (e *entry) name() string {
	_, n, _ := strings.Cut(e.path, ".")
	return n
}
