package chainstate

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
)

// ParamsTag starts the canonical encoding of Params, whose hash is the genesis PrevHash.
const ParamsTag = "actorchain-chain/1"

// Defaults applied where a Params field is zero.
const (
	DefaultMaxBlockTxs      = 5000
	DefaultMaxFutureDriftMs = 120_000
	// MaxScheduleMs bounds the target block time and the half-life (about 292 years).
	MaxScheduleMs = 1 << 53
)

// Params are the chain parameters (the config's chain: section), identical on every node.
//
// A Params value is read-only once in use: it is shared between goroutines without locks, and
// nothing in this package writes to it.
type Params struct {
	ChainID       string
	GenesisTimeMs uint64 // ms since the Unix epoch
	PowBits       uint32 // leading zero bits of a block hash
	BlockReward   uint64
	Validators    []PublicKey // empty: anyone may seal
	Alloc         map[Address]uint64
	MaxBlockTxs   int // 0: DefaultMaxBlockTxs
	// MaxFutureDriftMs bounds how far a block's time may lead the local clock (default 2 minutes
	// when 0).
	MaxFutureDriftMs uint64
	// TargetBlockTimeMs is the block interval the difficulty schedule aims at (chain.
	// target_block_time); 0 keeps the fixed difficulty of PowBits. HalfLifeMs is the schedule's
	// half-life (chain.difficulty_halflife), > 0 when TargetBlockTimeMs is.
	TargetBlockTimeMs uint64
	HalfLifeMs        uint64
}

// Validate reports the first problem with p: a chain id of 1..MaxChainIDLen bytes, pow bits at
// most 256, max block txs within 0..MaxBlockTxsDecode (0 meaning the default), no duplicate
// validator.
func (p *Params) Validate() error {
	switch {
	case len(p.ChainID) == 0 || len(p.ChainID) > MaxChainIDLen:
		return fmt.Errorf("chain id: must be 1..%d bytes, got %d", MaxChainIDLen, len(p.ChainID))
	case p.PowBits > 256:
		return fmt.Errorf("pow bits: must be <= 256, got %d", p.PowBits)
	case p.MaxBlockTxs < 0 || p.MaxBlockTxs > MaxBlockTxsDecode:
		return fmt.Errorf("max block txs: must be 0..%d, got %d", MaxBlockTxsDecode, p.MaxBlockTxs)
	case p.TargetBlockTimeMs > MaxScheduleMs:
		return fmt.Errorf("target block time: must be at most %d ms, got %d", uint64(MaxScheduleMs), p.TargetBlockTimeMs)
	case p.Adjusting() && (p.HalfLifeMs == 0 || p.HalfLifeMs > MaxScheduleMs):
		return fmt.Errorf("difficulty half-life: must be 1..%d ms when the target block time is set, got %d", uint64(MaxScheduleMs), p.HalfLifeMs)
	case p.Adjusting() && p.PowBits > 255:
		return fmt.Errorf("pow bits: must be <= 255 on an adjusting chain, got %d", p.PowBits)
	}
	seen := make(map[PublicKey]bool, len(p.Validators))
	for _, v := range p.Validators {
		if seen[v] {
			return errors.New("validators: duplicate " + v.String())
		}
		seen[v] = true
	}
	return nil
}

// BlockTxLimit returns the most transactions a block may hold: MaxBlockTxs, or
// DefaultMaxBlockTxs when that is zero or negative.
func (p *Params) BlockTxLimit() int {
	if p.MaxBlockTxs <= 0 {
		return DefaultMaxBlockTxs
	}
	return p.MaxBlockTxs
}

// FutureDriftMs returns MaxFutureDriftMs, or DefaultMaxFutureDriftMs when that is zero.
func (p *Params) FutureDriftMs() uint64 {
	if p.MaxFutureDriftMs == 0 {
		return DefaultMaxFutureDriftMs
	}
	return p.MaxFutureDriftMs
}

// IsValidator reports whether k may seal blocks (always true when Validators is empty).
func (p *Params) IsValidator(k PublicKey) bool {
	return len(p.Validators) == 0 || slices.Contains(p.Validators, k)
}

// CanonicalBytes returns the canonical encoding of p, whose SHA-256 is the genesis block's
// PrevHash, so the genesis hash binds every parameter:
//
//	ParamsTag ‖ u8 len ‖ chain id ‖ genesis time ms u64 ‖ pow bits u32 ‖ block reward u64 ‖
//	u32 n ‖ n validator keys (32 each, sorted, duplicates once) ‖
//	u32 m ‖ m × (address (20) ‖ balance u64), sorted by address, zero balances left out ‖
//	max block txs u64 ‖ max future drift ms u64 [‖ target block time ms u64 ‖ half-life ms u64]
//
// Max block txs and the drift are the effective values (BlockTxLimit, FutureDriftMs), so a zero
// field and its default give the same chain. The last two fields are there only on an adjusting
// chain (TargetBlockTimeMs > 0): a fixed-difficulty chain keeps the encoding, and so the genesis
// hash, it had before difficulty adjustment existed.
func (p *Params) CanonicalBytes() []byte {
	b := append([]byte(nil), ParamsTag...)
	b = append(b, byte(len(p.ChainID)))
	b = append(b, p.ChainID...)
	b = be.AppendUint64(b, p.GenesisTimeMs)
	b = be.AppendUint32(b, p.PowBits)
	b = be.AppendUint64(b, p.BlockReward)

	vals := slices.Clone(p.Validators)
	slices.SortFunc(vals, func(x, y PublicKey) int { return bytes.Compare(x[:], y[:]) })
	vals = slices.Compact(vals)
	b = be.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		b = append(b, v[:]...)
	}

	alloc := p.allocAccounts()
	addrs := sortedAddrs(alloc)
	b = be.AppendUint32(b, uint32(len(addrs)))
	for _, a := range addrs {
		b = append(b, a[:]...)
		b = be.AppendUint64(b, alloc[a].Balance)
	}

	b = be.AppendUint64(b, uint64(p.BlockTxLimit()))
	b = be.AppendUint64(b, p.FutureDriftMs())
	if p.Adjusting() {
		b = be.AppendUint64(b, p.TargetBlockTimeMs)
		b = be.AppendUint64(b, p.HalfLifeMs)
	}
	return b
}

// allocAccounts returns the genesis account set: Alloc without zero balances.
func (p *Params) allocAccounts() map[Address]Account {
	m := make(map[Address]Account, len(p.Alloc))
	for a, bal := range p.Alloc {
		if bal != 0 {
			m[a] = Account{Balance: bal}
		}
	}
	return m
}

// GenesisAccounts returns a new in-memory ledger at genesis (Alloc without zero balances): where
// a chain built outside any node starts.
func (p *Params) GenesisAccounts() AccountMap { return AccountMap(p.allocAccounts()) }

// Genesis returns the genesis block: Version 1, Height 0, Bits GenesisBits (PowBits on a
// fixed-difficulty chain, the compact genesis target on an adjusting one), PrevHash SHA-256 of
// CanonicalBytes, TxRoot of no transactions, StateRoot of the Alloc accounts, zero Miner and
// MinerSig, Time GenesisTimeMs, Nonce 0 and no transactions. It needs no proof of work. Each call
// returns a new Block the caller may modify.
func (p *Params) Genesis() *Block {
	return &Block{Header: Header{
		Version:   HeaderVersion,
		PrevHash:  sha256.Sum256(p.CanonicalBytes()),
		Height:    0,
		Bits:      p.GenesisBits(),
		TxRoot:    TxRoot(nil),
		StateRoot: StateRootOf(p.allocAccounts()),
		Time:      p.GenesisTimeMs,
	}}
}

// GenesisHash is the hash of the genesis block, which binds the whole chain section in canonical
// form. It is computed from the current field values on each call (a few hashes per Alloc entry),
// so it needs no synchronisation; callers on a hot path keep the result.
func (p *Params) GenesisHash() Hash { return p.Genesis().Hash() }
