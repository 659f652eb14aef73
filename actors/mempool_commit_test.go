package actors

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/supervisor"
)

// TestRestartedMempoolNeverAcksBeforeItsCommit: a mempool restarted while its group commit is in
// flight gets that commit's reply. Commit ids used to start at 1 in every instance, so the
// predecessor's reply was taken for the new instance's first commit, whose submitters were
// acknowledged before their transfer was durable (lost by a kill -9 right after, or by that
// commit failing). Each commit is held in the storage actor so that the order is certain.
func TestRestartedMempoolNeverAcksBeforeItsCommit(t *testing.T) {
	pause := &commitPause{}
	n, wallet := startQuietNode(t, Options{beforeCommit: pause.hook})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	to := chainstate.PublicKey(wallet.Public().(ed25519.PublicKey)).Address()
	to[0] ^= 1
	txA := signTransfer(n.params, wallet, to, 0)
	txB := signTransfer(n.params, wallet, to, 1)

	hold := int64(1500 * time.Millisecond)
	pause.d.Store(hold) // A's commit waits in the storage actor
	resA := make(chan error, 1)
	go func() { _, err := n.SubmitTx(ctx, txA); resA <- err }()
	testutil.WaitFor(t, 5*time.Second, "A's commit to be held", func() bool { return pause.d.Load() == 0 })

	if err := supervisor.CrashActor(n.sys, n.tree, nameMempool, "test: crash with a commit in flight"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the mempool to restart", func() bool {
		a, ok := findActor(n.Actors(), nameMempool)
		return ok && a.Restarts >= 1 && a.State == supervisor.StateRunning
	})
	// B's commit, queued behind A's, is held too (short enough that B's wait, which includes the
	// rest of A's hold, stays within persistDeadline).
	pause.d.Store(int64(500 * time.Millisecond))
	if _, err := n.SubmitTx(ctx, txB); err != nil {
		t.Fatalf("submit B: %v", err)
	}
	s, err := n.store()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.TxState(txB.Hash()); err != nil || !ok {
		t.Fatalf("B was acknowledged but is not in the store (%v): acknowledged before its commit", err)
	}
	if err := <-resA; err != nil {
		t.Fatalf("A, committed across the restart, was not acknowledged: %v", err)
	}
	if _, ok, err := s.TxState(txA.Hash()); err != nil || !ok {
		t.Fatalf("A was acknowledged but is not in the store (%v)", err)
	}
}

// quietHome makes a node home on a new chain for a test: its config with the p2p and API
// listeners off, mining off and fault injection on (callers change what they need), and the
// wallet key that genesis funds.
func quietHome(t *testing.T) (*config.Config, ed25519.PrivateKey) {
	t.Helper()
	home := t.TempDir()
	file := filepath.Join(home, config.FileName)
	if _, err := InitHome(home, file, "", false); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(home, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.P2P.Listen, cfg.API.Listen = "", ""
	cfg.Mining.Enabled = false
	cfg.Debug.FaultInjection = true
	wallet, err := chainstate.LoadSigningKey(filepath.Join(home, "keys", "wallet.key"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, wallet
}

// startQuietNode starts a node with mining and networking off and fault injection on; it returns
// the node and the funded wallet key. Stop runs at cleanup.
func startQuietNode(t *testing.T, opts Options) (*Node, ed25519.PrivateKey) {
	t.Helper()
	return startQuietNodeWith(t, opts, nil)
}

// startQuietNodeWith is startQuietNode with edit applied to the configuration first (nil: none).
func startQuietNodeWith(t *testing.T, opts Options, edit func(*config.Config)) (*Node, ed25519.PrivateKey) {
	t.Helper()
	cfg, wallet := quietHome(t)
	if edit != nil {
		edit(cfg)
	}
	n, err := Start(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return n, wallet
}

func signTransfer(p *chainstate.Params, key ed25519.PrivateKey, to chainstate.Address, nonce uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: p.ChainID, From: chainstate.PublicKey(key.Public().(ed25519.PublicKey)), To: to, Amount: 1, Fee: 1, Nonce: nonce}
	tx.Sign(key)
	return tx
}

func findActor(n supervisor.Node, name string) (supervisor.Node, bool) {
	if n.Name == name {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := findActor(c, name); ok {
			return f, true
		}
	}
	return supervisor.Node{}, false
}

// TestMempoolResyncTakesBackAReorgsTransfers: a reorg whose reply was lost (its write committed
// after consensus stopped waiting) returned transactions to the mempool bucket that the running
// mempool never heard of; they were mined only after a restart. chainUpdate.Resync makes the
// mempool take them from the bucket.
func TestMempoolResyncTakesBackAReorgsTransfers(t *testing.T) {
	n, wallet := startQuietNode(t, Options{})
	to := chainstate.PublicKey(wallet.Public().(ed25519.PublicKey)).Address()
	to[0] ^= 1
	tx := signTransfer(n.params, wallet, to, 0)
	s, err := n.store()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMempool([]*chainstate.Tx{tx}, nil); err != nil { // as the lost reorg did
		t.Fatal(err)
	}
	inPool := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs, err := n.Mempool(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if h == tx.Hash() {
				return true
			}
		}
		return false
	}
	if inPool() {
		t.Fatal("the mempool knew the transfer before the resync: the test does not exercise it")
	}
	n.sys.Root.Send(n.pid(nameMempool), &chainUpdate{Resync: true})
	testutil.WaitFor(t, 5*time.Second, "the resynced mempool to hold the returned transfer", inPool)
}

// TestNonceGapCountsTheDurableMempool: between a reorg's write, which puts the sender's transfers
// back in the mempool bucket, and its chain update reaching the mempool, the pool lacks them while
// the account is already rolled back. A transfer that follows them must not be refused as too far
// ahead (the soak's stream saw "nonce 3600 is too far ahead of the next pending nonce 3124"); one
// too far ahead of the bucket's run still is.
func TestNonceGapCountsTheDurableMempool(t *testing.T) {
	n, wallet := startQuietNode(t, Options{})
	to := chainstate.PublicKey(wallet.Public().(ed25519.PublicKey)).Address()
	to[0] ^= 1
	const returned = 300 // more than the gap the pool allows
	var txs []*chainstate.Tx
	for i := range returned {
		txs = append(txs, signTransfer(n.params, wallet, to, uint64(i)))
	}
	s, err := n.store()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMempool(txs, nil); err != nil { // the reorg's write; its update is on the way
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.SubmitTx(ctx, signTransfer(n.params, wallet, to, returned+300)); err == nil || !strings.Contains(err.Error(), "too far ahead") {
		t.Fatalf("a transfer 300 past the bucket's run: %v, want refused as too far ahead", err)
	}
	if _, err := n.SubmitTx(ctx, signTransfer(n.params, wallet, to, returned)); err != nil {
		t.Fatalf("the transfer after the returned ones: %v", err)
	}
	n.sys.Root.Send(n.pid(nameMempool), &chainUpdate{Resync: true})
	testutil.WaitFor(t, 5*time.Second, "the mempool to hold all the transfers", func() bool {
		hs, err := n.Mempool(ctx)
		return err == nil && len(hs) == returned+1
	})
}
