package chainstate

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
)

// AccountTag starts the hashed form of one account in the state root.
const AccountTag = "actorchain-acct/1"

// Account is an account's state. The zero account is not stored.
type Account struct {
	Balance uint64
	Nonce   uint64
}

// IsZero reports whether a is the zero account (balance 0, nonce 0), which is never stored and
// does not count in the state root.
func (a Account) IsZero() bool { return a == Account{} }

// AccountReader reads accounts (a bbolt transaction, a map in tests). An unknown address reads
// as the zero account with a nil error; errors mean the reader failed.
type AccountReader interface {
	Account(a Address) (Account, error)
}

// AccountMap is an in-memory AccountReader. Missing addresses read as the zero account.
type AccountMap map[Address]Account

// Account returns m[a].
func (m AccountMap) Account(a Address) (Account, error) { return m[a], nil }

// AccountChange is one account's value before and after a block.
type AccountChange struct {
	Addr     Address
	Old, New Account
}

// Delta is the effect of a block on the ledger; its Old values are the block's undo data.
type Delta struct {
	Changes   []AccountChange // sorted by address; only accounts whose value changed
	StateRoot Hash
}

// ApplyTo writes the New values into m (deleting accounts that become zero).
func (d *Delta) ApplyTo(m map[Address]Account) {
	for _, c := range d.Changes {
		setAccount(m, c.Addr, c.New)
	}
}

// UndoTo writes the Old values into m (deleting accounts that were zero): the inverse of ApplyTo.
func (d *Delta) UndoTo(m map[Address]Account) {
	for _, c := range d.Changes {
		setAccount(m, c.Addr, c.Old)
	}
}

func setAccount(m map[Address]Account, a Address, v Account) {
	if v.IsZero() {
		delete(m, a)
	} else {
		m[a] = v
	}
}

// stateSum is a 256-bit unsigned integer, most significant limb first, used for the additive
// multiset hash of the state root.
type stateSum [4]uint64

func sumFromHash(h Hash) stateSum {
	var s stateSum
	for i := range s {
		s[i] = be.Uint64(h[8*i:])
	}
	return s
}

func (s stateSum) hash() Hash {
	var h Hash
	for i, limb := range s {
		be.PutUint64(h[8*i:], limb)
	}
	return h
}

func (s *stateSum) add(t stateSum) {
	var carry uint64
	for i := 3; i >= 0; i-- {
		s[i], carry = bits.Add64(s[i], t[i], carry)
	}
}

func (s *stateSum) sub(t stateSum) {
	var borrow uint64
	for i := 3; i >= 0; i-- {
		s[i], borrow = bits.Sub64(s[i], t[i], borrow)
	}
}

// accountTerm returns SHA-256(AccountTag ‖ address ‖ balance u64 ‖ nonce u64) as a number.
func accountTerm(a Address, acct Account) stateSum {
	var buf [len(AccountTag) + 20 + 16]byte
	b := append(buf[:0], AccountTag...)
	b = append(b, a[:]...)
	b = be.AppendUint64(b, acct.Balance)
	b = be.AppendUint64(b, acct.Nonce)
	return sumFromHash(sha256.Sum256(b))
}

// updateRoot returns root with the account a changed from old to new: the old term subtracted
// (when old is not zero) and the new term added (when new is not zero), mod 2^256.
func updateRoot(root Hash, a Address, old, new Account) Hash {
	s := sumFromHash(root)
	if !old.IsZero() {
		s.sub(accountTerm(a, old))
	}
	if !new.IsZero() {
		s.add(accountTerm(a, new))
	}
	return s.hash()
}

// StateRootOf computes the state root of a whole account set (for genesis and Verify): the sum,
// mod 2^256, of SHA-256(AccountTag ‖ address ‖ balance u64 ‖ nonce u64) read as big-endian
// numbers, over the accounts that are not zero. The empty set has the zero root. Because the sum
// is order-free, a block updates the root in time proportional to the accounts it touches.
func StateRootOf(accounts map[Address]Account) Hash {
	var s stateSum
	for a, acct := range accounts {
		if !acct.IsZero() {
			s.add(accountTerm(a, acct))
		}
	}
	return s.hash()
}

// overlay records the accounts a block reads and writes on top of an AccountReader: a small
// table from address to index and one slice of the accounts' values, in r and after the changes
// so far (a read is one lookup; a sync allocated 0.4 MB a block in two address-to-account tables
// sized for two accounts a transfer).
type overlay struct {
	r     AccountReader
	index map[Address]int32 // position in accts of every address read
	accts []overlayAcct
	// senders remembers the addresses of the transfers' keys (sender).
	senders [64]senderMemo
}

// overlayAcct is an account's value in the reader and after the changes so far.
type overlayAcct struct {
	addr      Address
	orig, cur Account
}

// newOverlay reads through r; sizeHint is the number of accounts expected (it grows past it).
func newOverlay(r AccountReader, sizeHint int) *overlay {
	return &overlay{r: r, index: make(map[Address]int32, sizeHint), accts: make([]overlayAcct, 0, sizeHint)}
}

func (o *overlay) get(a Address) (Account, error) {
	if i, ok := o.index[a]; ok {
		return o.accts[i].cur, nil
	}
	v, err := o.r.Account(a)
	if err != nil {
		return Account{}, err
	}
	o.index[a] = int32(len(o.accts))
	o.accts = append(o.accts, overlayAcct{addr: a, orig: v, cur: v})
	return v, nil
}

// sender is the address of key, remembered in a small direct-mapped table: a block's transfers
// often repeat their signers, and an address is a SHA-256 (a sixth of ApplyBlock's time for a
// block of 1,000 transfers by 10 keys). A block of distinct signers pays a 32-byte compare each.
func (o *overlay) sender(key *PublicKey) Address {
	e := &o.senders[uint(key[0])%uint(len(o.senders))]
	if !e.ok || e.key != *key {
		*e = senderMemo{key: *key, addr: key.Address(), ok: true}
	}
	return e.addr
}

// senderMemo is one entry of the overlay's sender table.
type senderMemo struct {
	key  PublicKey
	addr Address
	ok   bool
}

// set changes a's value; a must have been read (get) first.
func (o *overlay) set(a Address, v Account) { o.accts[o.index[a]].cur = v }

// delta returns the changed accounts sorted by address and the root moved from prevRoot.
func (o *overlay) delta(prevRoot Hash) *Delta {
	d := &Delta{StateRoot: prevRoot}
	for _, e := range o.accts {
		if e.orig != e.cur {
			d.Changes = append(d.Changes, AccountChange{Addr: e.addr, Old: e.orig, New: e.cur})
		}
	}
	slices.SortFunc(d.Changes, func(x, y AccountChange) int { return compareAddr(&x.Addr, &y.Addr) })
	for _, c := range d.Changes {
		d.StateRoot = updateRoot(d.StateRoot, c.Addr, c.Old, c.New)
	}
	return d
}

// compareAddr orders addresses as bytes.Compare does, on their first 8 bytes as a number first
// (a 1,000-transfer block's changes sorted in a fifth of the time).
func compareAddr(a, b *Address) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return bytes.Compare(a[8:], b[8:])
}

// applyTx executes one transfer on o. A rule violation leaves o unchanged and is returned as a
// *RuleError; reader failures are returned as they are.
func (o *overlay) applyTx(tx *Tx) error {
	cost, ok := tx.Cost()
	if !ok {
		return ruleErr(CodeOverflow, "tx %s: amount %d + fee %d overflows", tx.Hash(), tx.Amount, tx.Fee)
	}
	from := o.sender(&tx.From)
	sender, err := o.get(from)
	if err != nil {
		return err
	}
	if sender.Nonce != tx.Nonce {
		return ruleErr(CodeBadNonce, "tx %s: nonce %d, account %s expects %d", tx.Hash(), tx.Nonce, from, sender.Nonce)
	}
	if sender.Balance < cost {
		return ruleErr(CodeInsufficientFunds, "tx %s: cost %d, account %s has %d", tx.Hash(), cost, from, sender.Balance)
	}
	if sender.Nonce == ^uint64(0) {
		return ruleErr(CodeOverflow, "tx %s: account %s nonce exhausted", tx.Hash(), from)
	}
	newSender := Account{Balance: sender.Balance - cost, Nonce: sender.Nonce + 1}
	if tx.To == from {
		// A self-transfer only pays the fee and uses a nonce; it cannot overflow.
		newSender.Balance += tx.Amount
		o.set(from, newSender)
		return nil
	}
	recv, err := o.get(tx.To)
	if err != nil {
		return err
	}
	bal, carry := bits.Add64(recv.Balance, tx.Amount, 0)
	if carry != 0 {
		return ruleErr(CodeOverflow, "tx %s: balance of %s overflows", tx.Hash(), tx.To)
	}
	o.set(from, newSender)
	o.set(tx.To, Account{Balance: bal, Nonce: recv.Nonce})
	return nil
}

// credit adds the block reward and fees to the miner's account.
func (o *overlay) credit(miner Address, reward, fees uint64) error {
	total, carry := bits.Add64(reward, fees, 0)
	if carry != 0 {
		return ruleErr(CodeOverflow, "block reward %d + fees %d overflows", reward, fees)
	}
	acct, err := o.get(miner)
	if err != nil {
		return err
	}
	bal, carry := bits.Add64(acct.Balance, total, 0)
	if carry != 0 {
		return ruleErr(CodeOverflow, "balance of miner %s overflows", miner)
	}
	o.set(miner, Account{Balance: bal, Nonce: acct.Nonce})
	return nil
}

// ApplyBlock executes b's transactions in order and then credits the miner's address with
// BlockReward + the sum of fees, against r, starting from state root prevRoot (which must be r's
// root). Each transaction needs the sender's nonce to equal tx.Nonce and its balance to cover
// amount + fee; it increments the nonce, debits amount + fee and credits the recipient. It fails
// with a *RuleError when a transaction does not apply or the resulting root differs from
// b.Header.StateRoot, and with r's error when r fails. It never writes to r and does not check
// signatures (CheckBlock does).
func ApplyBlock(p *Params, prevRoot Hash, r AccountReader, b *Block) (*Delta, error) {
	o := newOverlay(r, len(b.Txs)+1)
	var fees uint64
	for i, tx := range b.Txs {
		if err := o.applyTx(tx); err != nil {
			if re, ok := err.(*RuleError); ok {
				return nil, &RuleError{Code: re.Code, Reason: "block tx " + strconv.Itoa(i) + ": " + re.Reason}
			}
			return nil, err
		}
		var carry uint64
		if fees, carry = bits.Add64(fees, tx.Fee, 0); carry != 0 {
			return nil, ruleErr(CodeOverflow, "block tx %d: sum of fees overflows", i)
		}
	}
	if err := o.credit(b.Header.Miner.Address(), p.BlockReward, fees); err != nil {
		return nil, err
	}
	d := o.delta(prevRoot)
	if d.StateRoot != b.Header.StateRoot {
		return nil, ruleErr(CodeBadStateRoot, "state root %s, header says %s", d.StateRoot, b.Header.StateRoot)
	}
	return d, nil
}

// BuildTemplate selects, in order, the txs that apply cleanly on top of parent (skipping those
// that do not), up to p.MaxBlockTxs, credits the miner and returns an unsealed block (Nonce 0,
// Time timeMs, MinerSig unset; call Header.Seal) and the delta. Its Bits are p.PowBits, right on a
// fixed-difficulty chain; on an adjusting chain the caller sets them (and picks timeMs) from
// Params.NextAfter before sealing.
//
// r must hold the state after parent. Transactions for another chain id, with a zero amount, an
// amount + fee overflow, a nonce other than the sender's next one, too little balance, or whose
// fee would overflow the block's fee sum are skipped. Signatures are not checked: txs are
// expected to come from the mempool, which checked them. The caller guarantees timeMs >=
// parent.Time. Errors come from r, or from a miner balance that would overflow.
func BuildTemplate(p *Params, parent *Header, r AccountReader, miner PublicKey, txs []*Tx, timeMs uint64) (*Block, *Delta, error) {
	limit := p.BlockTxLimit()
	o := newOverlay(r, min(len(txs), limit)+1)
	var fees uint64
	chosen := make([]*Tx, 0, min(len(txs), limit))
	for _, tx := range txs {
		if len(chosen) >= limit {
			break
		}
		if tx.ChainID != p.ChainID || tx.Amount == 0 {
			continue
		}
		sum, carry := bits.Add64(fees, tx.Fee, 0)
		if carry != 0 {
			continue
		}
		if err := o.applyTx(tx); err != nil {
			if _, ok := err.(*RuleError); ok {
				continue
			}
			return nil, nil, err
		}
		fees = sum
		chosen = append(chosen, tx)
	}
	if err := o.credit(miner.Address(), p.BlockReward, fees); err != nil {
		return nil, nil, err
	}
	d := o.delta(parent.StateRoot)
	if len(chosen) == 0 {
		chosen = nil
	}
	b := &Block{
		Header: Header{
			Version:   HeaderVersion,
			PrevHash:  parent.Hash(),
			Height:    parent.Height + 1,
			Bits:      p.PowBits,
			TxRoot:    TxRoot(chosen),
			StateRoot: d.StateRoot,
			Miner:     miner,
			Time:      timeMs,
		},
		Txs: chosen,
	}
	return b, d, nil
}

// sortedAddrs returns m's keys in ascending byte order.
func sortedAddrs[V any](m map[Address]V) []Address {
	addrs := make([]Address, 0, len(m))
	for a := range m {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(x, y Address) int { return bytes.Compare(x[:], y[:]) })
	return addrs
}
