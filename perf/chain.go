package perf

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/powworker"
)

// Chains for the figures are built outside any node, on an in-memory ledger, and signed on all
// cores, so that building them is not part of what is measured.

// fundSenders funds n sender keys (seeds 60..60+n-1) in a chain section and returns them.
func fundSenders(c *config.Config, n int) []ed25519.PrivateKey {
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		keys[i] = keyFromSeed(byte(60 + i))
		c.Chain.Alloc[addrOf(keys[i]).String()] = 1 << 50
	}
	return keys
}

func addrOf(k ed25519.PrivateKey) chainstate.Address {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey)).Address()
}

// transfer signs a transfer of 1 unit with fee 1.
func transfer(p *chainstate.Params, key ed25519.PrivateKey, to chainstate.Address, nonce uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: p.ChainID, From: chainstate.PublicKey(key.Public().(ed25519.PublicKey)), To: to, Amount: 1, Fee: 1, Nonce: nonce}
	tx.Sign(key)
	return tx
}

// signTransfers signs count transfers spread round-robin over senders, continuing each sender's
// nonce from nonces (updated), on all cores.
func signTransfers(p *chainstate.Params, senders []ed25519.PrivateKey, nonces []uint64, count int) []*chainstate.Tx {
	txs := make([]*chainstate.Tx, count)
	first := make([]uint64, count)
	for i := range txs {
		s := i % len(senders)
		first[i] = nonces[s]
		nonces[s]++
	}
	to := addrOf(keyFromSeed(99))
	parallel(count, func(i int) { txs[i] = transfer(p, senders[i%len(senders)], to, first[i]) })
	return txs
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines and joins them.
func parallel(n int, fn func(i int)) {
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			for i := g; i < n; i += w {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// minVerifyTime is the least time BareVerifyRate verifies for: a few thousand signatures take
// milliseconds, too short a window on a shared machine.
const minVerifyTime = 300 * time.Millisecond

// BareVerifyRate verifies every transaction's signature with the standard library's
// ed25519.Verify on GOMAXPROCS goroutines (again and again for at least minVerifyTime) and
// returns signatures per second: the limit that block import and sync are measured against.
func BareVerifyRate(txs []*chainstate.Tx) (float64, error) {
	if len(txs) == 0 {
		return 0, errors.New("no transactions to verify")
	}
	msgs := make([][]byte, len(txs))
	for i, tx := range txs {
		msgs[i] = tx.SigningBytes()
	}
	var bad sync.Once
	var badErr error
	done := 0
	t0 := time.Now()
	for done == 0 || time.Since(t0) < minVerifyTime {
		parallel(len(txs), func(i int) {
			if !ed25519.Verify(txs[i].From[:], msgs[i], txs[i].Sig[:]) {
				bad.Do(func() { badErr = fmt.Errorf("transaction %d has a bad signature", i) })
			}
		})
		done += len(txs)
	}
	return float64(done) / time.Since(t0).Seconds(), badErr
}

// chainMiner mines the figures' chains outside any node, on an in-memory ledger. (The tests'
// chain builder, with forks and clones, is internal/testchain.)
type chainMiner struct {
	p        *chainstate.Params
	accounts chainstate.AccountMap
	tip      chainstate.Header
	blocks   []*chainstate.Block
}

// newChainMiner starts at p's genesis.
func newChainMiner(p *chainstate.Params) *chainMiner {
	return &chainMiner{p: p, accounts: p.GenesisAccounts(), tip: p.Genesis().Header}
}

// mine mines the next block holding txs (all must apply), applies it to the ledger and appends it.
func (c *chainMiner) mine(key ed25519.PrivateKey, txs []*chainstate.Tx) (*chainstate.Block, error) {
	b, err := powworker.MineBlock(c.p, &c.tip, c.accounts, key, txs, pastTime(&c.tip))
	if err != nil {
		return nil, err
	}
	d, err := chainstate.ApplyBlock(c.p, c.tip.StateRoot, c.accounts, b)
	if err != nil {
		return nil, fmt.Errorf("apply block %d: %w", b.Header.Height, err)
	}
	d.ApplyTo(c.accounts)
	c.tip = b.Header
	c.blocks = append(c.blocks, b)
	return b, nil
}

// fixture is a chain of transfers (blocks of perBlock) in the database of a stopped home, from
// which peers holding the whole chain are made by copying the file.
type fixture struct {
	src    *Home
	blocks []*chainstate.Block
	txs    []*chainstate.Tx
}

const fixtureSenders = 10

// fixture builds (once per size) a chain of n transfers in blocks of perBlock and feeds it to a
// node of a fresh home, which it then stops.
func (l *Lab) fixture(n, perBlock int) (*fixture, error) {
	if f, ok := l.fixtures[[2]int{n, perBlock}]; ok {
		return f, nil
	}
	var senders []ed25519.PrivateKey
	src, err := l.NewHome(func(c *config.Config) {
		peerConfig(c)
		c.Chain.PowBits = 2
		senders = fundSenders(c, fixtureSenders)
	})
	if err != nil {
		return nil, err
	}
	p, err := actors.ParamsFromConfig(src.Cfg)
	if err != nil {
		return nil, err
	}
	cb := newChainMiner(p)
	nonces := make([]uint64, len(senders))
	sealer := keyFromSeed(98)
	f := &fixture{src: src}
	for done := 0; done < n; done += perBlock {
		txs := signTransfers(p, senders, nonces, min(perBlock, n-done))
		if _, err := cb.mine(sealer, txs); err != nil {
			return nil, err
		}
		f.txs = append(f.txs, txs...)
	}
	f.blocks = cb.blocks
	nd, err := src.Start(actors.Options{})
	if err != nil {
		return nil, err
	}
	for _, b := range f.blocks {
		if _, err := nd.SubmitBlock(context.Background(), b); err != nil {
			_ = l.Stop(nd)
			return nil, fmt.Errorf("feed the fixture: %w", err)
		}
	}
	if err := l.Stop(nd); err != nil {
		return nil, err
	}
	l.fixtures[[2]int{n, perBlock}] = f
	return f, nil
}

// peerConfig is a networked node that neither mines nor dials out.
func peerConfig(c *config.Config) {
	c.Mining.Enabled = false
	c.P2P.Listen = "127.0.0.1:0"
	c.P2P.MaxOutbound = 0
}

// startPeers starts k nodes holding the fixture's chain (copies of its database).
func (l *Lab) startPeers(f *fixture, k int) ([]*actors.Node, error) {
	var out []*actors.Node
	for range k {
		h, err := l.Join(f.src, peerConfig)
		if err != nil {
			return nil, err
		}
		if err := h.copyDB(f.src); err != nil {
			return nil, err
		}
		n, err := h.Start(actors.Options{})
		if err != nil {
			return nil, err
		}
		if st, err := n.Status(context.Background()); err != nil || st.Height != uint64(len(f.blocks)) {
			return nil, fmt.Errorf("a fixture peer is at height %d (%v), want %d", st.Height, err, len(f.blocks))
		}
		out = append(out, n)
	}
	return out, nil
}

// pastTime is a block time after parent's and a minute behind the wall clock, so that no node
// finds it in the future.
func pastTime(parent *chainstate.Header) uint64 {
	return max(parent.Time+1, uint64(time.Now().UnixMilli())-60_000)
}
