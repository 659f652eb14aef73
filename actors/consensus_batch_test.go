package actors

import (
	"context"
	"crypto/ed25519"
	"errors"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// commitCounter is a commit hook (Options.beforeCommit) that counts the writes and, while fail
// is set, fails them.
type commitCounter struct {
	n    atomic.Int64
	fail atomic.Bool
}

func (c *commitCounter) hook() error {
	c.n.Add(1)
	if c.fail.Load() {
		return errors.New("injected commit failure")
	}
	return nil
}

// runNode is a quiet node with easy proof of work, a commit counter, and the state of its
// genesis accounts, so that a test can build a chain of blocks off the node and hand it over.
type runNode struct {
	*rbfNode
	commits *commitCounter
	genesis chainstate.AccountMap // the accounts at genesis
	state   chainstate.AccountMap // the accounts after the last block built
	parent  chainstate.Header     // the last block built
}

func startRunNode(t *testing.T) *runNode {
	t.Helper()
	cfg, wallet := quietHome(t)
	cfg.Chain.PowBits = 4
	c := &commitCounter{}
	n, err := Start(cfg, Options{beforeCommit: c.hook})
	if err != nil {
		t.Fatal(err)
	}
	miner, err := chainstate.LoadSigningKey(cfg.Mining.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	r := &runNode{rbfNode: &rbfNode{t: t, cfg: cfg, n: n, wallet: wallet, miner: miner,
		to: chainstate.PublicKey(miner.Public().(ed25519.PublicKey)).Address()}, commits: c,
		state: chainstate.AccountMap{}, parent: n.params.Genesis().Header}
	t.Cleanup(func() {
		if r.n != nil {
			r.stop()
		}
	})
	s, err := n.store()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []chainstate.Address{chainstate.PublicKey(wallet.Public().(ed25519.PublicKey)).Address(), r.to} {
		if r.state[a], err = s.Account(a); err != nil {
			t.Fatal(err)
		}
	}
	r.genesis = maps.Clone(r.state)
	return r
}

// chain builds k blocks on the last one built, each with one transfer of amount from the wallet.
func (r *runNode) chain(k int, nonce, amount uint64) []*chainstate.Block {
	out := make([]*chainstate.Block, k)
	for i := range out {
		out[i] = r.blockOn(&r.parent, r.state, r.tx(nonce+uint64(i), amount, 1))
		r.parent = out[i].Header
	}
	return out
}

func (r *runNode) submitRun(blocks []*chainstate.Block) []submitBlockResponse {
	r.t.Helper()
	res, err := request[*submitBlocksResponse](context.Background(), r.n, nameConsensus, &submitBlocksRequest{Blocks: blocks, Source: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(res.Results) != len(blocks) {
		r.t.Fatalf("%d answers for %d blocks", len(res.Results), len(blocks))
	}
	return res.Results
}

func (r *runNode) tip() chainstate.Hash {
	r.t.Helper()
	_, tip := r.storeTip()
	return tip.Hash
}

// TestSubmitBlocksConnectsARunInOneWrite: blocks that extend the tip one after another are
// connected in one storage write, each answered connected, and the next run goes on from them.
func TestSubmitBlocksConnectsARunInOneWrite(t *testing.T) {
	r := startRunNode(t)
	for round, k := range []int{5, 3} {
		blocks := r.chain(k, uint64(5*round), 1)
		before := r.commits.n.Load()
		for i, res := range r.submitRun(blocks) {
			if res.Err != nil || res.Result.Status != "connected" || res.Result.Hash != blocks[i].Hash() {
				t.Fatalf("round %d block %d: %+v", round, i, res)
			}
		}
		if got := r.commits.n.Load() - before; got != 1 {
			t.Fatalf("round %d: %d writes for a run of %d blocks, want 1", round, got, k)
		}
		if got := r.tip(); got != blocks[k-1].Hash() {
			t.Fatalf("round %d: tip %s, want the run's last block", round, got)
		}
	}
	p := r.n.params
	r.stop()
	if _, err := chainstate.Verify(r.cfg.Storage.Path, p, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestSubmitBlocksInvalidBlockInARun: a run with a block whose state root is wrong (valid header
// and work, so only connecting it finds out) connects the blocks before it, rejects it as
// invalid and the one after it as building on it; the store's tip is the last good block.
func TestSubmitBlocksInvalidBlockInARun(t *testing.T) {
	r := startRunNode(t)
	good := r.chain(2, 0, 1)
	bad := r.blockOn(&r.parent, r.state, r.tx(2, 1, 1))
	bad.Header.StateRoot[0] ^= 1
	bad = r.sealAndMine(bad)
	after := r.blockOn(&bad.Header, r.state, r.tx(3, 1, 1))
	res := r.submitRun([]*chainstate.Block{good[0], good[1], bad, after})
	for i := range good {
		if res[i].Err != nil || res[i].Result.Status != "connected" {
			t.Fatalf("good block %d: %+v", i, res[i])
		}
	}
	for i, want := range []chainstate.ErrorCode{chainstate.CodeBadStateRoot, chainstate.CodeKnownInvalid} {
		re, ok := chainstate.IsRuleError(res[2+i].Err)
		if !ok || re.Code != want {
			t.Fatalf("block %d: %+v, want rule %s", 2+i, res[2+i], want)
		}
	}
	if got := r.tip(); got != good[1].Hash() {
		t.Fatalf("tip %s, want the last good block %s", got, good[1].Hash())
	}
}

// TestSubmitBlocksFailedWrite: when the store fails the run's write, every block is answered
// with the node's error, nothing is connected, and the same blocks connect once writes succeed
// (consensus rebuilt its view from the store, not from the blocks it had stepped through).
func TestSubmitBlocksFailedWrite(t *testing.T) {
	r := startRunNode(t)
	blocks := r.chain(3, 0, 1)
	genesis := r.tip()
	r.commits.fail.Store(true)
	for i, res := range r.submitRun(blocks) {
		if !errors.Is(res.Err, ErrUnavailable) {
			t.Fatalf("block %d with failing writes: %+v, want ErrUnavailable", i, res)
		}
	}
	if got := r.tip(); got != genesis {
		t.Fatalf("tip %s after a failed write, want genesis", got)
	}
	r.commits.fail.Store(false)
	for i, res := range r.submitRun(blocks) {
		if res.Err != nil || res.Result.Status != "connected" {
			t.Fatalf("block %d once writes succeed: %+v", i, res)
		}
	}
	if got := r.tip(); got != blocks[2].Hash() {
		t.Fatalf("tip %s, want the run's last block", got)
	}
}

// TestSubmitBlocksNotARun: blocks that do not extend the tip one after another (here a side
// branch, then a block already known) go through consensus one by one, with the answers a
// single submit gives.
func TestSubmitBlocksNotARun(t *testing.T) {
	r := startRunNode(t)
	main := r.chain(3, 0, 1)
	if res := r.submitRun(main); res[2].Result.Status != "connected" {
		t.Fatalf("main chain: %+v", res)
	}
	// A branch from genesis, one block shorter: stored on the side.
	r.parent, r.state = r.n.params.Genesis().Header, maps.Clone(r.genesis)
	side := r.chain(2, 0, 2)
	want := []string{"side", "side", "duplicate"}
	for i, res := range r.submitRun(append(side, main[2])) {
		if res.Err != nil || res.Result.Status != want[i] {
			t.Fatalf("block %d: %+v, want %s", i, res, want[i])
		}
	}
	if got := r.tip(); got != main[2].Hash() {
		t.Fatalf("tip %s, want the main chain's", got)
	}
}
