// Package chainstate holds Actorchain's consensus core: the block, header and transaction types,
// their canonical encodings and hashes, the validation rules, the account ledger with its undo
// data, fork-choice helpers, key files, and the bbolt store (the only code in the module that
// imports bbolt). Everything but the store and the key files is pure: no goroutines outlive a
// call, no clocks (the current time is an argument), no randomness.
//
// Hashes, keys and addresses are shown as lower-case hex in their own byte order, never
// reversed. An address is the first 20 bytes of SHA-256 of an ed25519 public key. Every integer
// below is big-endian; ‖ is concatenation.
//
// # Transaction
//
//	signing bytes = "actorchain-tx/1" (15 ASCII bytes) ‖ u8 n ‖ chain id (n bytes, 1..64) ‖
//	                from public key (32) ‖ to address (20) ‖ amount u64 ‖ fee u64 ‖ nonce u64
//	encoding      = signing bytes ‖ ed25519 signature over the signing bytes (64)
//	tx hash       = SHA-256(encoding)
//
// An encoding is 156 + n bytes. DecodeTx accepts exactly this form and nothing else.
//
// Signatures (transactions' and miners') are checked under one rule, ZIP-215 (VerifySignature):
// single checks and the batch verification CheckBlock uses always agree.
//
// # Header
//
// The miner signs the seal bytes once per template:
//
//	seal bytes = "actorchain-seal/1" ‖ height u64 ‖ bits u32 ‖ tx root (32) ‖ state root (32) ‖
//	             miner public key (32)
//	commitment = SHA-256("actorchain-commit/1" ‖ height u64 ‖ bits u32 ‖ tx root ‖ state root ‖
//	             miner public key ‖ miner signature (64))
//
// Proof of work hashes the 80-byte work header (CONTRACT §6), so a miner patches only the time
// and nonce of a fixed buffer:
//
//	offset  0: version u32
//	offset  4: previous block hash (32)
//	offset 36: commitment (32)
//	offset 68: time, ms since the Unix epoch, u64
//	offset 76: nonce u32
//	block hash = SHA-256(SHA-256(work header))
//
// A hash meets bits when, read as a 256-bit big-endian number, it has at least bits leading zero
// bits. A block's work is 2^bits and a chain's work the sum over its blocks; the most work wins,
// ties keep the first seen.
//
// The header's storage and wire encoding is fixed-size (HeaderSize = 220 bytes): version u32 ‖
// prev hash ‖ height u64 ‖ bits u32 ‖ tx root ‖ state root ‖ miner ‖ miner signature ‖ time u64
// ‖ nonce u32.
//
// # Block
//
//	block encoding = header encoding (220) ‖ u32 tx count ‖ count × (u16 length ‖ tx encoding)
//
// DecodeBlock refuses more than MaxBlockTxsDecode transactions before allocating, checks every
// length against the bytes left, and refuses trailing bytes. The tx root is a binary Merkle tree
// over the tx hashes: leaf = SHA-256(0x00 ‖ tx hash), inner = SHA-256(0x01 ‖ left ‖ right), an
// odd node is promoted unchanged, and no transactions give SHA-256 of the empty string.
//
// A block that passed CheckBlock keeps its transactions' hashes for the commit that connects it,
// and one decoded with DecodeBlockOwned keeps the bytes it came in (the commit stores them): both
// are used only while the block's Txs (and, for the bytes, its header) are the ones checked or
// decoded. Replace a checked block's transactions, never change them in place.
//
// # Genesis
//
// The genesis block has version 1, height 0, bits = pow_bits, PrevHash = SHA-256 of
// Params.CanonicalBytes (the whole chain section in canonical form), the empty tx root, the
// state root of the alloc accounts, a zero miner and signature, time = genesis time and nonce 0.
// It needs no proof of work. Its hash, the genesis hash, identifies the chain.
//
// # State root
//
// The state root is an additive multiset hash: the sum mod 2^256 of
//
//	SHA-256("actorchain-acct/1" ‖ address (20) ‖ balance u64 ‖ nonce u64)
//
// read as big-endian numbers, over every account whose balance or nonce is not zero. A block
// updates it in time proportional to the accounts it touches: subtract each touched account's old
// term, add its new one. StateRootOf computes it from scratch.
//
// # Ledger
//
// ApplyBlock executes transfers in order (the sender's nonce must equal the tx nonce, its
// balance must cover amount + fee; the nonce is incremented), then credits the miner's address
// with the block reward plus the fees. It returns a Delta: each touched account's old and new
// value, the old values being the block's undo data.
//
// # Storage
//
// One bbolt file. Buckets:
//
//	meta      "schema" → u32 (SchemaVersion), "chain_id" → bytes, "genesis" → hash, "tip" → hash,
//	          "mempool_count" → u64, "txindex_merged" → u64, "txruns" → n × (id u64 ‖ entries u64)
//	index     block hash → header encoding (220) ‖ status u8 ‖ cumulative work (big-endian bytes)
//	blocks    block hash → block encoding, or its first bodyPiece bytes when longer, the rest
//	          under block hash ‖ u32 1, 2, ... in pieces of bodyPiece bytes (body.go; schema 4)
//	main      height u64 → block hash, for the main chain only
//	accounts  address → balance u64 ‖ nonce u64 (zero accounts are deleted)
//	undo      block hash → u32 n ‖ n × (address ‖ old balance u64 ‖ old nonce u64), main chain only
//	txindex   tx hash → block hash ‖ height u64 ‖ index u32, main chain up to txindex_merged
//	          (schema 4 and older; from schema 5 on the oldest run, no longer written)
//	txruns    run id u64 → bucket of first tx hash → up to 107 × (tx hash ‖ block hash ‖
//	          height u64 ‖ index u32), sorted: the rest of the main chain up to txindex_merged,
//	          in runs listed in meta "txruns" (txruns.go)
//	txrecent  height u64 → block hash ‖ n × (tx hash ‖ index u32) sorted by hash (a long record in
//	          pieces: the rest under height ‖ u32 1, 2, ..., txrecent.go), main chain
//	          above txindex_merged (txindex.go: the index's two levels)
//	mempool   tx hash → tx encoding
//	mempool_sender  sender address ‖ nonce u64 ‖ tx hash → empty (each sender's pending nonces)
//	peers, bans  created empty for the peer store
//
// Every change is one bbolt transaction: Connect writes the block, its index entry, the account
// changes, the undo record, the main entry, the tx index entries, the tip and the mempool
// removals together; Reorg disconnects and connects a whole branch, returning the dropped
// transactions to the mempool bucket, together. A failing block rolls everything back. The
// mempool bucket, its sender index and its count change together too (a replace-by-fee in
// CommitMempool swaps two transfers in one transaction), and the bucket never holds a main-chain
// transaction; so TxState, AccountPending and Summary, each one read transaction,
// never see a transfer in neither place nor in both. So after kill -9 the file is always at a
// committed tip and a restart needs no replay. Verify
// re-executes the main chain from genesis and compares every stored structure with the
// recomputed one.
//
// # Damage
//
// A damaged file (truncated, pages overwritten, zeros, empty, not a bbolt file, no chain in it)
// is never written to and never makes a caller panic (damage.go). Open checks the file's layout
// before bbolt trusts it (meta pages, size against the high-water mark, root and freelist pages)
// and then the meta bucket and the tip, a few page reads whatever the chain's length; only a
// missing file starts a new chain. Every read and write of a Store runs under one guard that
// turns bbolt's panics on unreadable pages and memory faults past the end of the file into a
// *DamageError (errors.Is ErrDamaged and ErrCorrupt, naming the file) and reports it to the
// SetOnDamage hook. Store.WalkPages reads every page of a live store in short read transactions
// (walk.go); Check is the offline check (`node db check`) and Salvage rebuilds a new database from
// the readable part of a damaged one (`node db salvage`).
//
// # Usage
//
// A block from the network goes through CheckBlock (stateless, signatures in parallel, with the
// mempool's SigCache) and CheckHeaderContext (against its parent and the local clock; on a chain
// that adjusts its difficulty also against the ASERT schedule anchored at block 1 and the median
// time past, reading ancestors through an Ancestors function; schedule.go), then
// either Store.Connect (it extends the tip), Store.PutBlock (a side chain with less work), or
// Store.Reorg with the lists from ForkPath (a side chain that now has more work, MoreWork); the
// consensus state machine of package chain takes these decisions, fork choice being these two. The
// store re-executes every connected block with ApplyBlock inside its write transaction. A miner
// asks Store.NextAfterTip for the block's bits and earliest time (Params.NextAfter), calls
// BuildTemplate over Store.View, sets the bits, then Header.Seal, then searches the work
// header's nonce until the hash is at most Params.Target.
//
// # Concurrency
//
// Values (Params, Block, Tx, Header) are not synchronised: share them read-only. SigCache and
// Store are goroutine-safe. Store reads each run one read transaction and return copies; writes
// are meant to come from one owner (the storage actor). CheckBlock verifies signatures on up to
// GOMAXPROCS goroutines, fewer while other checks verify (the process counts its verifying
// goroutines), and joins them before it returns; CheckBlockAlone verifies on one, for a caller
// that runs several checks at once, and CheckBlocksAlone checks several blocks with their
// signatures in one batch on one (a sync's checks). SigCache keeps two generations and drops the older whole;
// SigCache.LookupOnly is a view that finds its entries and adds none.
//
// # Shutdown
//
// Store.Close waits for running transactions, releases the file lock and is idempotent; the
// Store is unusable afterwards (ErrClosed). Open and Verify never wait on the lock longer than
// their timeout: a file in use yields ErrInUse naming it.
package chainstate
