package localnet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
)

// Account is a harness's sender of transfers: a signing key and the next nonce it signs (the
// harness moves Nonce on once a transfer is acknowledged).
type Account struct {
	Key   ed25519.PrivateKey
	From  chainstate.PublicKey
	Nonce uint64
}

// NewAccount is the account of key, at nonce 0.
func NewAccount(key ed25519.PrivateKey) *Account {
	return &Account{Key: key, From: chainstate.PublicKey(key.Public().(ed25519.PublicKey))}
}

// SenderKey is sender i's key in a run of the harness named harness with seed: derived from
// both, so a replay of a seed uses the same accounts.
func SenderKey(harness string, seed int64, i int) ed25519.PrivateKey {
	s := sha256.Sum256(fmt.Appendf(nil, "actorchain-%s sender %d %d", harness, seed, i))
	return ed25519.NewKeyFromSeed(s[:])
}

// Address is the account's address in hex.
func (a *Account) Address() string { return a.From.Address().String() }

// Sign builds and signs the transfer of the account's next nonce, and returns it with its hash.
func (a *Account) Sign(chainID string, to chainstate.Address, amount, fee uint64) (api.Tx, string) {
	t := &chainstate.Tx{ChainID: chainID, From: a.From, To: to, Amount: amount, Fee: fee, Nonce: a.Nonce}
	t.Sign(a.Key)
	tx := api.TxFromChain(t)
	return tx, tx.Hash
}
