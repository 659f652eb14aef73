package chainstate

// SKELETON: the exported API of chainstate, fixed so that actors/ can be written against it.
// Every body here is to be implemented (and this file split into types.go, codec.go, tx.go,
// header.go, validate.go, ledger.go, forkchoice.go, store.go, verify.go, keys.go, errors.go).
// Signatures may gain fields but must not lose them without telling the actors' author.

import (
	"crypto/ed25519"
	"math/big"
	"time"
)

// Hash is a 32-byte SHA-256 digest, shown as lower-case hex in its own byte order.
type Hash [32]byte

// Address is an account address: the first 20 bytes of SHA-256(ed25519 public key).
type Address [20]byte

// PublicKey is an ed25519 public key.
type PublicKey [32]byte

// Signature is an ed25519 signature.
type Signature [64]byte

func (h Hash) String() string      { panic("unimplemented") } // lower-case hex
func (h Hash) IsZero() bool         { panic("unimplemented") }
func (a Address) String() string    { panic("unimplemented") }
func (k PublicKey) String() string  { panic("unimplemented") }
func (k PublicKey) Address() Address { panic("unimplemented") }

// ParseHash, ParseAddress and ParsePublicKey decode lower- or upper-case hex of the exact length;
// errors name what was wrong ("hash: want 64 hex characters, got 3").
func ParseHash(s string) (Hash, error)           { panic("unimplemented") }
func ParseAddress(s string) (Address, error)     { panic("unimplemented") }
func ParsePublicKey(s string) (PublicKey, error) { panic("unimplemented") }

// Params are the chain parameters (the config's chain: section), identical on every node.
type Params struct {
	ChainID       string
	GenesisTimeMs uint64 // ms since the Unix epoch
	PowBits       uint32 // leading zero bits of a block hash
	BlockReward   uint64
	Validators    []PublicKey // empty: anyone may seal
	Alloc         map[Address]uint64
	MaxBlockTxs   int
	// MaxFutureDriftMs bounds how far a block's time may lead the local clock (default 2 minutes
	// when 0).
	MaxFutureDriftMs uint64
}

// GenesisHash is the hash of the genesis block, which binds the whole chain section in canonical
// form. Computed once; cheap to call.
func (p *Params) GenesisHash() Hash { panic("unimplemented") }

// Genesis returns the genesis block (height 0, no transactions, state = Alloc).
func (p *Params) Genesis() *Block { panic("unimplemented") }

// IsValidator reports whether k may seal blocks (always true when Validators is empty).
func (p *Params) IsValidator(k PublicKey) bool { panic("unimplemented") }

// Tx is a signed transfer.
type Tx struct {
	ChainID string
	From    PublicKey
	To      Address
	Amount  uint64
	Fee     uint64
	Nonce   uint64
	Sig     Signature
}

func (tx *Tx) SigningBytes() []byte                { panic("unimplemented") }
func (tx *Tx) Sign(priv ed25519.PrivateKey)        { panic("unimplemented") }
func (tx *Tx) VerifySig() bool                     { panic("unimplemented") }
func (tx *Tx) Hash() Hash                          { panic("unimplemented") }
func (tx *Tx) Sender() Address                     { panic("unimplemented") }
func (tx *Tx) Cost() (uint64, bool)                { panic("unimplemented") } // amount+fee, ok=false on overflow
func (tx *Tx) AppendEncode(b []byte) []byte        { panic("unimplemented") }
func (tx *Tx) Encode() []byte                      { panic("unimplemented") }
func DecodeTx(b []byte) (*Tx, error)               { panic("unimplemented") }

// Header is a block header; its 80-byte work header is what proof of work hashes.
type Header struct {
	Version   uint32
	PrevHash  Hash
	Height    uint64
	Bits      uint32
	TxRoot    Hash
	StateRoot Hash
	Miner     PublicKey
	MinerSig  Signature
	Time      uint64 // ms since the Unix epoch
	Nonce     uint32
}

// WorkHeaderSize is the size of the work header.
const WorkHeaderSize = 80

// Offsets of the patchable fields inside the work header.
const (
	WorkTimeOffset  = 68
	WorkNonceOffset = 76
)

func (h *Header) SealBytes() []byte              { panic("unimplemented") } // signed by the miner
func (h *Header) Seal(priv ed25519.PrivateKey)    { panic("unimplemented") } // sets Miner and MinerSig
func (h *Header) Commitment() Hash                { panic("unimplemented") }
func (h *Header) WorkHeader() [WorkHeaderSize]byte { panic("unimplemented") }
func (h *Header) Hash() Hash                      { panic("unimplemented") }
func (h *Header) AppendEncode(b []byte) []byte    { panic("unimplemented") }
func DecodeHeader(b []byte) (*Header, error)      { panic("unimplemented") }

// HashWork returns the double SHA-256 of a work header.
func HashWork(w *[WorkHeaderSize]byte) Hash { panic("unimplemented") }

// MeetsBits reports whether h has at least bits leading zero bits (big-endian).
func MeetsBits(h Hash, bits uint32) bool { panic("unimplemented") }

// WorkForBits returns 2^bits.
func WorkForBits(bits uint32) *big.Int { panic("unimplemented") }

// Block is a header and its transactions.
type Block struct {
	Header Header
	Txs    []*Tx
}

func (b *Block) Hash() Hash                  { panic("unimplemented") }
func (b *Block) Encode() []byte              { panic("unimplemented") }
func DecodeBlock(b []byte) (*Block, error)   { panic("unimplemented") }
func TxRoot(txs []*Tx) Hash                  { panic("unimplemented") }

// ErrorCode classifies a consensus rule violation.
type ErrorCode int

// RuleError is a consensus rejection: the data is bad, not the node.
type RuleError struct {
	Code   ErrorCode
	Reason string
}

func (e *RuleError) Error() string { panic("unimplemented") }

// SigCache remembers transaction hashes whose signatures verified (bounded, goroutine-safe).
type SigCache struct{}

func NewSigCache(max int) *SigCache           { panic("unimplemented") }
func (c *SigCache) Add(h Hash)                { panic("unimplemented") }
func (c *SigCache) Contains(h Hash) bool      { panic("unimplemented") }

// VerifyTxSig verifies tx's signature, consulting and filling cache (nil: no cache).
func VerifyTxSig(tx *Tx, cache *SigCache) bool { panic("unimplemented") }

// CheckTx is the stateless check of a transaction: chain id, non-zero amount or fee sums without
// overflow, signature (through cache).
func CheckTx(p *Params, tx *Tx, cache *SigCache) error { panic("unimplemented") }

// CheckBlock is the stateless check of a block: work, miner signature and validator set,
// commitment, tx count limit, tx root, duplicate txs, every CheckTx (signatures in parallel).
func CheckBlock(p *Params, b *Block, cache *SigCache) error { panic("unimplemented") }

// CheckHeaderContext checks h against its parent: height, bits, time not before the parent's and
// not more than the drift past nowMs.
func CheckHeaderContext(p *Params, h *Header, parent *Header, nowMs uint64) error {
	panic("unimplemented")
}

// Account is an account's state. The zero account is not stored.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// AccountReader reads accounts (a bbolt transaction, a map in tests).
type AccountReader interface {
	Account(a Address) (Account, error)
}

// AccountChange is one account's value before and after a block.
type AccountChange struct {
	Addr     Address
	Old, New Account
}

// Delta is the effect of a block on the ledger; its Old values are the block's undo data.
type Delta struct {
	Changes   []AccountChange // sorted by address
	StateRoot Hash
}

// ApplyBlock executes b's transactions and the miner's reward + fees against r, starting from state
// root prevRoot, and checks the resulting root against b.Header.StateRoot.
func ApplyBlock(p *Params, prevRoot Hash, r AccountReader, b *Block) (*Delta, error) {
	panic("unimplemented")
}

// BuildTemplate selects, in order, the txs that apply cleanly on top of parent (skipping those
// that do not), up to p.MaxBlockTxs, credits the miner and returns an unsealed block (Nonce 0,
// Time timeMs, MinerSig unset; call Header.Seal) and the delta.
func BuildTemplate(p *Params, parent *Header, r AccountReader, miner PublicKey, txs []*Tx, timeMs uint64) (*Block, *Delta, error) {
	panic("unimplemented")
}

// StateRootOf computes the state root of a whole account set (for genesis and Verify).
func StateRootOf(accounts map[Address]Account) Hash { panic("unimplemented") }

// BlockStatus is what the store knows of a block.
type BlockStatus uint8

// IndexEntry is one block in the block index.
type IndexEntry struct {
	Hash   Hash
	Header Header
	Work   *big.Int // cumulative work up to and including this block
	Status BlockStatus
}

// TipInfo is the main chain's tip.
type TipInfo struct {
	Hash   Hash
	Header Header
	Work   *big.Int
}

// TxLocation says where a confirmed transaction is.
type TxLocation struct {
	BlockHash Hash
	Height    uint64
	Index     int
}

// Store is the bbolt-backed chain store. Reads are goroutine-safe; writes are meant to come from
// one owner (the storage actor) and each is one bbolt transaction.
type Store struct{}

// Open opens or creates the database at path for chain p, waiting at most timeout for the file
// lock (ErrInUse wrapped with the path when it is not got). A database of another genesis
// (ErrWrongChain, naming the file and both hashes) or a newer schema (ErrSchema) is refused and
// left untouched.
func Open(path string, p *Params, timeout time.Duration) (*Store, error) { panic("unimplemented") }

func (s *Store) Close() error                                   { panic("unimplemented") }
func (s *Store) Path() string                                   { panic("unimplemented") }
func (s *Store) Params() *Params                                { panic("unimplemented") }
func (s *Store) Tip() (TipInfo, error)                          { panic("unimplemented") }
func (s *Store) Index() ([]IndexEntry, error)                   { panic("unimplemented") }
func (s *Store) Entry(h Hash) (IndexEntry, bool, error)         { panic("unimplemented") }
func (s *Store) Block(h Hash) (*Block, bool, error)             { panic("unimplemented") }
func (s *Store) MainHash(height uint64) (Hash, bool, error)     { panic("unimplemented") }
func (s *Store) Account(a Address) (Account, error)             { panic("unimplemented") }
func (s *Store) TxLocation(h Hash) (TxLocation, bool, error)    { panic("unimplemented") }
func (s *Store) MempoolTxs() ([]*Tx, error)                     { panic("unimplemented") }
func (s *Store) View(fn func(r AccountReader) error) error      { panic("unimplemented") }
func (s *Store) PutBlock(b *Block, work *big.Int) error         { panic("unimplemented") }
func (s *Store) Connect(b *Block) (*Delta, error)               { panic("unimplemented") }
func (s *Store) Reorg(disconnect []Hash, connect []*Block) (*ReorgResult, error) {
	panic("unimplemented")
}
func (s *Store) PutMempool(add []*Tx, remove []Hash) error { panic("unimplemented") }
func (s *Store) MarkInvalid(h Hash) error                  { panic("unimplemented") }

// ReorgResult is what a reorg did.
type ReorgResult struct {
	Disconnected []Hash // old tip first
	Connected    []Hash // fork point + 1 first
	Returned     []*Tx  // txs of disconnected blocks not in the new branch, now in the mempool bucket
}

// VerifyReport summarises Verify.
type VerifyReport struct {
	Height   uint64
	TipHash  Hash
	Blocks   uint64
	Txs      uint64
	Accounts int
}

// Verify re-executes the stored main chain of the database at path from genesis and checks
// every block and that the stored account state equals the recomputed one.
func Verify(path string, p *Params, timeout time.Duration) (*VerifyReport, error) {
	panic("unimplemented")
}
