package chainstate

import (
	"crypto/ed25519"
	"crypto/sha256"
	"math/bits"
)

// TxTag starts every transaction encoding and its signing bytes.
const TxTag = "actorchain-tx/1"

// MaxChainIDLen is the longest chain id a transaction (and Params) may carry, in bytes.
const MaxChainIDLen = 64

// Sizes of the transaction encoding. A transaction with a chain id of n bytes encodes to
// TxFixedSize + n bytes.
const (
	TxFixedSize = len(TxTag) + 1 + 32 + 20 + 8 + 8 + 8 + 64
	MinTxSize   = TxFixedSize + 1
	MaxTxSize   = TxFixedSize + MaxChainIDLen
)

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

// appendSigning appends the signing bytes: TxTag ‖ u8 len(chain id) ‖ chain id ‖ from (32) ‖
// to (20) ‖ amount u64 ‖ fee u64 ‖ nonce u64. A chain id longer than MaxChainIDLen is written
// with its length byte truncated to the real length modulo 256, which DecodeTx and CheckTx
// reject; such a transaction is never valid.
func (tx *Tx) appendSigning(b []byte) []byte {
	b = append(b, TxTag...)
	b = append(b, byte(len(tx.ChainID)))
	b = append(b, tx.ChainID...)
	b = append(b, tx.From[:]...)
	b = append(b, tx.To[:]...)
	b = be.AppendUint64(b, tx.Amount)
	b = be.AppendUint64(b, tx.Fee)
	b = be.AppendUint64(b, tx.Nonce)
	return b
}

// SigningBytes returns the bytes the sender signs: the encoding without the signature.
func (tx *Tx) SigningBytes() []byte {
	return tx.appendSigning(make([]byte, 0, TxFixedSize-64+len(tx.ChainID)))
}

// Sign sets From to priv's public key and Sig to priv's signature over SigningBytes.
func (tx *Tx) Sign(priv ed25519.PrivateKey) {
	copy(tx.From[:], priv.Public().(ed25519.PublicKey))
	copy(tx.Sig[:], sign(priv, tx.SigningBytes()))
}

// VerifySig reports whether Sig is From's valid signature over SigningBytes under the chain's
// rule (VerifySignature). It does no caching; CheckTx
// consults a SigCache.
func (tx *Tx) VerifySig() bool {
	return VerifySignature(tx.From[:], tx.SigningBytes(), tx.Sig[:])
}

// Hash returns SHA-256 of Encode. It covers the signature.
func (tx *Tx) Hash() Hash {
	var buf [MaxTxSize + 8]byte
	return sha256.Sum256(tx.AppendEncode(buf[:0]))
}

// Sender returns the address of From.
func (tx *Tx) Sender() Address { return tx.From.Address() }

// Cost returns Amount + Fee, with ok false when the sum overflows.
func (tx *Tx) Cost() (uint64, bool) {
	sum, carry := bits.Add64(tx.Amount, tx.Fee, 0)
	return sum, carry == 0
}

// AppendEncode appends the canonical encoding (SigningBytes ‖ signature) to b.
func (tx *Tx) AppendEncode(b []byte) []byte {
	b = tx.appendSigning(b)
	return append(b, tx.Sig[:]...)
}

// Encode returns the canonical encoding: SigningBytes ‖ signature (64).
func (tx *Tx) Encode() []byte {
	return tx.AppendEncode(make([]byte, 0, TxFixedSize+len(tx.ChainID)))
}

// encodedLen is len(tx.Encode()).
func (tx *Tx) encodedLen() int { return TxFixedSize + len(tx.ChainID) }

// DecodeTx decodes the canonical encoding strictly: the tag, a chain id of 1..MaxChainIDLen
// bytes, the exact length and no trailing bytes. Errors are *RuleError with CodeMalformed. It does
// not check the signature.
func DecodeTx(b []byte) (*Tx, error) {
	tx := new(Tx)
	if err := decodeTxInto(tx, b, ""); err != nil {
		return nil, err
	}
	return tx, nil
}

// decodeTxInto is DecodeTx into tx, giving it the string chainID when its chain id is those
// bytes: a block's transactions share their chain id's string (one allocation a transaction
// fewer, 1,000 a block of a sync).
func decodeTxInto(tx *Tx, b []byte, chainID string) error {
	d := newDecoder("tx", b)
	if len(b) < MinTxSize {
		d.failf("want at least %d bytes, got %d", MinTxSize, len(b))
		return d.err
	}
	if string(d.take(len(TxTag), "tag")) != TxTag {
		d.failf("bad tag %q, want %q", b[:len(TxTag)], TxTag)
		return d.err
	}
	n := int(d.u8("chain id length"))
	if n < 1 || n > MaxChainIDLen {
		d.failf("chain id length %d out of range 1..%d", n, MaxChainIDLen)
		return d.err
	}
	if want := TxFixedSize + n; len(b) != want {
		d.failf("chain id of %d bytes needs exactly %d bytes, got %d", n, want, len(b))
		return d.err
	}
	if id := d.take(n, "chain id"); string(id) == chainID {
		tx.ChainID = chainID
	} else {
		tx.ChainID = string(id)
	}
	d.fixed(tx.From[:], "from")
	d.fixed(tx.To[:], "to")
	tx.Amount = d.u64("amount")
	tx.Fee = d.u64("fee")
	tx.Nonce = d.u64("nonce")
	d.fixed(tx.Sig[:], "signature")
	return d.finish()
}
