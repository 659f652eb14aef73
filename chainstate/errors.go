package chainstate

import (
	"errors"
	"fmt"

	"github.com/actorchain/actorchain/errcode"
)

// Sentinel errors. Test for them with errors.Is; the returned errors wrap them with context (the
// file, the hashes or versions involved).
var (
	// ErrInUse is returned when Open or Verify cannot get the database file's lock within the
	// timeout because another process (or another Store in this process) holds it.
	ErrInUse = errors.New("database is in use by another process")

	// ErrWrongChain is returned when a database belongs to another genesis than the Params given.
	ErrWrongChain = errors.New("database belongs to another chain")

	// ErrSchema is returned when a database was written by a newer schema version than this
	// program supports.
	ErrSchema = errors.New("unsupported database schema version")

	// ErrCorrupt is returned when stored data cannot be decoded or contradicts itself (a missing
	// undo record, a main-chain block without a body, a truncated value).
	ErrCorrupt = errors.New("database is corrupt")

	// ErrClosed is returned when a Store is used after Close.
	ErrClosed = errors.New("store is closed")

	// ErrNotTip is returned when Connect is given a block whose parent is not the current tip, or
	// Reorg a disconnect list that does not start at the tip and walk down through parents.
	ErrNotTip = errors.New("block does not extend the tip")

	// ErrNotFound is returned when an operation needs a block the store does not have.
	ErrNotFound = errors.New("not found")

	// ErrMainChain is returned when MarkInvalid is asked to mark a block of the main chain.
	ErrMainChain = errors.New("block is on the main chain")

	// ErrKeyFile is returned when a key file is malformed: unreadable JSON, a wrong type, bad hex
	// or a seed of the wrong length.
	ErrKeyFile = errors.New("bad key file")

	// ErrKeyFileMode is returned by CheckKeyFileMode when a key file is readable or writable by
	// group or others. Loading such a file still works: this is a warning for the operator.
	ErrKeyFileMode = errors.New("key file permissions are too open")
)

// ErrorCode classifies a consensus rule violation. Its String form is a stable snake_case name
// suitable for API error codes and logs.
type ErrorCode int

// Error codes of RuleError. The zero value is CodeUnknown.
const (
	CodeUnknown           ErrorCode = iota
	CodeMalformed                   // bytes do not decode (strict canonical encodings)
	CodeWrongChain                  // a transaction signed for another chain id
	CodeBadAmount                   // a transaction moving nothing (amount 0)
	CodeOverflow                    // an amount, fee or balance sum does not fit in 64 bits
	CodeBadSignature                // a transaction signature does not verify
	CodeBadNonce                    // a transaction nonce is not the sender's next nonce
	CodeInsufficientFunds           // a sender cannot pay amount + fee
	CodeBadVersion                  // a header version this node does not know
	CodeBadBits                     // a header's bits differ from the chain's pow_bits
	CodeBadPoW                      // a block hash without enough leading zero bits
	CodeBadMinerSig                 // the miner's signature over the seal bytes does not verify
	CodeNotValidator                // the miner is not in the chain's validator set
	CodeTooManyTxs                  // more transactions than the chain's max_block_txs
	CodeBadTxRoot                   // the header's tx root does not match the transactions
	CodeDuplicateTx                 // the same transaction twice in one block
	CodeBadStateRoot                // the header's state root does not match the executed state
	CodeBadHeight                   // a height that is not the parent's + 1
	CodeBadPrevHash                 // a previous-block hash that is not the parent's hash
	CodeTimeTooOld                  // a time before the parent's
	CodeTimeTooNew                  // a time too far past the local clock
	CodeBadGenesis                  // a height-0 block that is not this chain's genesis
	CodeKnownInvalid                // a block that is, or builds on, a block already found invalid
)

// codeNames are the codes' names; a code that the API also answers takes its name from the one
// table of API codes (errcode), so a rejected transfer's rule code is its API code.
var codeNames = [...]string{
	CodeUnknown:           "unknown",
	CodeMalformed:         string(errcode.Malformed),
	CodeWrongChain:        string(errcode.WrongChain),
	CodeBadAmount:         "bad_amount",
	CodeOverflow:          "overflow",
	CodeBadSignature:      string(errcode.BadSignature),
	CodeBadNonce:          string(errcode.BadNonce),
	CodeInsufficientFunds: string(errcode.InsufficientFunds),
	CodeBadVersion:        "bad_version",
	CodeBadBits:           "bad_bits",
	CodeBadPoW:            "bad_pow",
	CodeBadMinerSig:       "bad_miner_signature",
	CodeNotValidator:      "not_validator",
	CodeTooManyTxs:        "too_many_txs",
	CodeBadTxRoot:         "bad_tx_root",
	CodeDuplicateTx:       "duplicate_tx",
	CodeBadStateRoot:      "bad_state_root",
	CodeBadHeight:         "bad_height",
	CodeBadPrevHash:       "bad_prev_hash",
	CodeTimeTooOld:        "time_too_old",
	CodeTimeTooNew:        "time_too_new",
	CodeBadGenesis:        "bad_genesis",
	CodeKnownInvalid:      "known_invalid",
}

// String returns the code's stable snake_case name ("bad_nonce"), or "code(N)" for an unknown
// value.
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", int(c))
}

// RuleError is a consensus rejection: the data is bad, not the node. Decoders also return it
// (with CodeMalformed) so that every "bad input" answer can be classified the same way.
type RuleError struct {
	Code   ErrorCode
	Reason string
}

// Error returns "<code>: <reason>".
func (e *RuleError) Error() string { return e.Code.String() + ": " + e.Reason }

func ruleErr(code ErrorCode, format string, args ...any) *RuleError {
	return &RuleError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// IsRuleError reports whether err is or wraps a *RuleError, and returns it.
func IsRuleError(err error) (*RuleError, bool) {
	var re *RuleError
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}

// BlockError names the block that made a multi-block operation (Store.Reorg) fail. It wraps the
// cause, typically a *RuleError, so errors.As finds both.
type BlockError struct {
	Hash   Hash
	Height uint64
	Err    error
}

// Error returns "block <height> <hash>: <cause>".
func (e *BlockError) Error() string {
	return fmt.Sprintf("block %d %s: %v", e.Height, e.Hash, e.Err)
}

// Unwrap returns the cause.
func (e *BlockError) Unwrap() error { return e.Err }
