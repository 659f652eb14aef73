package resilience_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/internal/testutil"
)

// TestMempoolSurvivesRestart: transactions acknowledged with 202 survive a clean restart and a
// kill -9 of the node process, and are mined once mining is switched on.
func TestMempoolSurvivesRestart(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Mining.Enabled = false })
	ctx := context.Background()
	to := addrOf(newKey(t, 7))

	nd := h.start(t, actors.Options{})
	p := nd.n.Params()
	var acked []chainstate.Hash
	for i := uint64(0); i < 5; i++ {
		hash, err := nd.n.SubmitTx(ctx, transfer(p, h.wallet, to, 3, 1, i))
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		acked = append(acked, hash)
	}
	nd.stop()

	nd = h.start(t, actors.Options{})
	got, err := nd.n.Mempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(got, acked) {
		t.Fatalf("after a clean restart the mempool holds %d txs, want the %d acknowledged", len(got), len(acked))
	}
	nd.stop()

	// kill -9 of a node process right after the acknowledgements.
	c := h.startChild(t)
	for i := uint64(5); i < 8; i++ {
		hash, err := c.api.SubmitTx(ctx, api.TxFromChain(transfer(p, h.wallet, to, 3, 1, i)))
		if err != nil {
			t.Fatalf("submit %d to the child: %v", i, err)
		}
		acked = append(acked, mustHash(t, hash))
	}
	c.kill()

	nd = h.start(t, actors.Options{})
	got, err = nd.n.Mempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(got, acked) {
		t.Fatalf("after kill -9 the mempool holds %d txs, want the %d acknowledged", len(got), len(acked))
	}
	if err := nd.n.SetMining(ctx, true); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "the mempool to be mined", func() bool {
		m, err := nd.n.Mempool(ctx)
		return err == nil && len(m) == 0
	})
	for _, hash := range acked {
		info, err := nd.n.Tx(ctx, hash)
		if err != nil || !info.Confirmed {
			t.Fatalf("tx %s not confirmed after mining: %+v %v", hash, info, err)
		}
	}
	acc, err := nd.n.Account(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Balance != 3*uint64(len(acked)) {
		t.Fatalf("recipient balance %d, want %d", acc.Balance, 3*len(acked))
	}
}

// TestCrashReplayRestoresState: kill -9 a node process while it mines and takes transfers, reopen
// the same home at once: no lock error, the state is at least the last tip the API reported, every
// acknowledged transfer is present, and Verify passes.
func TestCrashReplayRestoresState(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Chain.PowBits = 10 })
	ctx := context.Background()
	to := addrOf(newKey(t, 9))
	rng := rand.New(rand.NewPCG(1, 2))
	var acked []chainstate.Hash
	nonce := uint64(0)
	p, err := actors.ParamsFromConfig(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	for cycle := 0; cycle < 3; cycle++ {
		c := h.startChild(t)
		// Transfers until a random moment, then kill -9 mid-work.
		deadline := time.Now().Add(time.Duration(200+rng.IntN(400)) * time.Millisecond)
		for time.Now().Before(deadline) {
			hash, err := c.api.SubmitTx(ctx, api.TxFromChain(transfer(p, h.wallet, to, 1, 1, nonce)))
			if err != nil {
				t.Fatalf("cycle %d: submit nonce %d: %v", cycle, nonce, err)
			}
			acked = append(acked, mustHash(t, hash))
			nonce++
		}
		st, err := c.api.Status(ctx)
		if err != nil {
			t.Fatalf("cycle %d: status: %v", cycle, err)
		}
		c.kill()

		nd, err := h.tryStart(t, actors.Options{})
		if err != nil {
			t.Fatalf("cycle %d: reopening right after kill -9 failed: %v", cycle, err)
		}
		now := nd.status()
		if now.Height < st.Height {
			t.Fatalf("cycle %d: height %d after restart, the API had reported %d", cycle, now.Height, st.Height)
		}
		tip, err := chainstate.ParseHash(st.TipHash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nd.n.BlockByHash(ctx, tip); err != nil {
			t.Fatalf("cycle %d: reported tip %s lost: %v", cycle, st.TipHash, err)
		}
		for _, hash := range acked {
			if _, err := nd.n.Tx(ctx, hash); err != nil {
				t.Fatalf("cycle %d: acknowledged tx %s lost: %v", cycle, hash, err)
			}
		}
		nd.stop()
		if lockError(nd.log) {
			t.Fatalf("cycle %d: the log mentions a lock: %s", cycle, nd.log.Tail())
		}
		if _, err := chainstate.Verify(h.cfg.Storage.Path, p, time.Second); err != nil {
			t.Fatalf("cycle %d: verify after kill -9: %v", cycle, err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no transfer was acknowledged")
	}
}

// TestShortReorgPrefersLongerChain: a running node fed a longer alternative branch, sealed by
// another key of the chain's validator set, switches to it. Validator checks read the chain
// parameters only: the node's own mining key plays no part.
func TestShortReorgPrefersLongerChain(t *testing.T) {
	other := newKey(t, 42)
	h := newHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
	})
	// Both the node's miner key and the other sealer are validators.
	h.cfg.Chain.Validators = []string{pubHex(h.miner), pubHex(other)}
	rewrite(t, h)
	nd := h.start(t, actors.Options{})
	ctx := context.Background()
	p := nd.n.Params()

	// The node's own chain: 3 blocks sealed by its miner key.
	mine := testchain.New(p)
	for i := 0; i < 3; i++ {
		submit(t, nd, mine.Mine(t, h.miner, nil), "connected")
	}
	// A branch from block 1, sealed by the other validator: 4 blocks, so more work from height 2.
	alt := mine.Fork(t, 1)
	var last *chainstate.Block
	for i := 0; i < 4; i++ {
		last = alt.Mine(t, other, nil)
		res, err := nd.n.SubmitBlock(ctx, last)
		if err != nil {
			t.Fatalf("alt block %d rejected: %v", last.Header.Height, err)
		}
		_ = res
	}
	st := nd.status()
	if st.TipHash != last.Hash().String() || st.Height != 5 {
		t.Fatalf("tip %s at %d, want the longer branch's %s at 5", st.TipHash, st.Height, last.Hash())
	}
	for _, r := range nd.log.Records() {
		if msg, _ := r["msg"].(string); msg != "" && r["err"] != nil {
			if s := fmt.Sprint(r["err"]); containsAny(s, "not_validator", "validator") {
				t.Fatalf("validator mismatch logged: %v", r)
			}
		}
	}
	// A block sealed by a key outside the validator set is refused.
	stranger := newKey(t, 77)
	bad := alt.Fork(t, len(alt.Blocks)).Mine(t, stranger, nil)
	if _, err := nd.n.SubmitBlock(ctx, bad); err == nil {
		t.Fatal("a block sealed by a non-validator was accepted")
	} else if re, ok := chainstate.IsRuleError(err); !ok || re.Code != chainstate.CodeNotValidator {
		t.Fatalf("non-validator block: %v, want a not_validator rule error", err)
	}
}

// TestReorgRebuildsLedgerAndStorage: after a reorg the balances, nonces, tx index and main-chain
// index equal those of a node that only ever saw the winning branch, and the losing branch's
// transactions are back in the mempool.
func TestReorgRebuildsLedgerAndStorage(t *testing.T) {
	second := newKey(t, 5)
	x := newHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
	})
	x.cfg.Chain.Alloc[addrOf(second).String()] = 1_000_000
	rewrite(t, x)
	y := newHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
	})
	y.cfg.Chain = x.cfg.Chain.Clone()
	rewrite(t, y)

	p, err := actors.ParamsFromConfig(x.cfg)
	if err != nil {
		t.Fatal(err)
	}
	sealer := newKey(t, 11)
	r1, r2 := addrOf(newKey(t, 21)), addrOf(newKey(t, 22))

	base := testchain.New(p)
	base.Mine(t, sealer, []*chainstate.Tx{transfer(p, x.wallet, r1, 100, 2, 0)})
	base.Mine(t, sealer, nil)
	// Branch A: the wallet's next two transfers. Branch B (one block longer): the second key's.
	a := base.Fork(t, 2)
	losing := []*chainstate.Tx{transfer(p, x.wallet, r1, 10, 1, 1), transfer(p, x.wallet, r2, 20, 1, 2)}
	a.Mine(t, sealer, losing[:1])
	a.Mine(t, sealer, losing[1:])
	b := base.Fork(t, 2)
	b.Mine(t, sealer, []*chainstate.Tx{transfer(p, second, r2, 5, 3, 0)})
	b.Mine(t, sealer, nil)
	b.Mine(t, sealer, []*chainstate.Tx{transfer(p, second, r1, 7, 1, 1)})

	nx := x.start(t, actors.Options{})
	for _, blk := range a.Blocks {
		submit(t, nx, blk, "connected")
	}
	for _, blk := range b.Blocks[2:] {
		if _, err := nx.n.SubmitBlock(context.Background(), blk); err != nil {
			t.Fatalf("branch B block %d: %v", blk.Header.Height, err)
		}
	}
	ny := y.start(t, actors.Options{})
	for _, blk := range b.Blocks {
		submit(t, ny, blk, "connected")
	}

	ctx := context.Background()
	sx, sy := nx.status(), ny.status()
	if sx.TipHash != sy.TipHash || sx.Height != 5 {
		t.Fatalf("tips differ after the reorg: %s@%d vs %s@%d", sx.TipHash, sx.Height, sy.TipHash, sy.Height)
	}
	for _, addr := range []chainstate.Address{addrOf(x.wallet), addrOf(second), r1, r2, addrOf(sealer)} {
		ax, err1 := nx.n.Account(ctx, addr)
		ay, err2 := ny.n.Account(ctx, addr)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if ax.Balance != ay.Balance || ax.Nonce != ay.Nonce {
			t.Fatalf("account %s: %d/%d after the reorg, %d/%d on the winning branch only", addr, ax.Balance, ax.Nonce, ay.Balance, ay.Nonce)
		}
	}
	for height := uint64(0); height <= 5; height++ {
		bx, err1 := nx.n.BlockAt(ctx, height)
		by, err2 := ny.n.BlockAt(ctx, height)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if bx.Hash != by.Hash {
			t.Fatalf("main chain at %d: %s vs %s", height, bx.Hash, by.Hash)
		}
		for _, tx := range by.Block.Txs {
			ix, err := nx.n.Tx(ctx, tx.Hash())
			if err != nil || !ix.Confirmed || ix.Height != height || ix.BlockHash != by.Hash {
				t.Fatalf("tx index of %s after the reorg: %+v %v, want confirmed at %d", tx.Hash(), ix, err, height)
			}
		}
	}
	pending, err := nx.n.Mempool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []chainstate.Hash{losing[0].Hash(), losing[1].Hash()}
	if !sameSet(pending, want) {
		t.Fatalf("mempool after the reorg holds %v, want the losing branch's %v", pending, want)
	}
	for _, tx := range losing {
		info, err := nx.n.Tx(ctx, tx.Hash())
		if err != nil || info.Confirmed {
			t.Fatalf("losing-branch tx %s: %+v %v, want pending", tx.Hash(), info, err)
		}
	}
	// The stored state agrees too: restart and re-verify both homes.
	nx.stop()
	ny.stop()
	rx, err1 := chainstate.Verify(x.cfg.Storage.Path, p, time.Second)
	ry, err2 := chainstate.Verify(y.cfg.Storage.Path, p, time.Second)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if rx.TipHash != ry.TipHash || rx.Accounts != ry.Accounts || rx.Txs != ry.Txs {
		t.Fatalf("verify reports differ: %+v vs %+v", rx, ry)
	}
	nx = x.start(t, actors.Options{})
	if pending, _ := nx.n.Mempool(ctx); !sameSet(pending, want) {
		t.Fatalf("after a restart the mempool holds %v, want %v", pending, want)
	}
}

func submit(t *testing.T, nd *node, b *chainstate.Block, want string) {
	t.Helper()
	res, err := nd.n.SubmitBlock(context.Background(), b)
	if err != nil {
		t.Fatalf("block %d: %v", b.Header.Height, err)
	}
	if res.Status != want {
		t.Fatalf("block %d: status %s, want %s", b.Header.Height, res.Status, want)
	}
}

// rewrite saves an edited in-memory config to the home's node.yaml.
func rewrite(t testing.TB, h *home) {
	t.Helper()
	if err := config.Write(h.cfg.File, h.cfg); err != nil {
		t.Fatalf("write config: %v", err)
	}
}

func pubHex(k ed25519.PrivateKey) string {
	return chainstate.PublicKey(k.Public().(ed25519.PublicKey)).String()
}

func mustHash(t *testing.T, s string) chainstate.Hash {
	t.Helper()
	h, err := chainstate.ParseHash(s)
	if err != nil {
		t.Fatalf("hash %q: %v", s, err)
	}
	return h
}

func sameSet(a, b []chainstate.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	x := slices.Clone(a)
	y := slices.Clone(b)
	cmp := func(p, q chainstate.Hash) int { return slices.Compare(p[:], q[:]) }
	slices.SortFunc(x, cmp)
	slices.SortFunc(y, cmp)
	return slices.Equal(x, y)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
