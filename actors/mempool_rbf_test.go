package actors

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/supervisor"
)

// rbfNode is a quiet node (no mining, no networking, fault injection on) with easy proof of
// work, so that a test can mine its own blocks; restart stops it and starts it again on the same
// home.
type rbfNode struct {
	t      *testing.T
	cfg    *config.Config
	n      *Node
	wallet ed25519.PrivateKey
	miner  ed25519.PrivateKey
	to     chainstate.Address
	pause  *commitPause // holds a commit (Options.beforeCommit)
}

func startRBFNode(t *testing.T) *rbfNode {
	t.Helper()
	cfg, wallet := quietHome(t)
	cfg.Chain.PowBits = 4
	r := &rbfNode{t: t, cfg: cfg, pause: &commitPause{}, wallet: wallet}
	var err error
	if r.miner, err = chainstate.LoadSigningKey(cfg.Mining.KeyFile); err != nil {
		t.Fatal(err)
	}
	r.to = chainstate.PublicKey(r.miner.Public().(ed25519.PublicKey)).Address()
	r.start()
	t.Cleanup(func() {
		if r.n != nil {
			r.stop()
		}
	})
	return r
}

func (r *rbfNode) start() {
	r.t.Helper()
	n, err := Start(r.cfg, Options{beforeCommit: r.pause.hook})
	if err != nil {
		r.t.Fatal(err)
	}
	r.n = n
}

func (r *rbfNode) stop() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.n.Stop(ctx); err != nil {
		r.t.Error(err)
	}
	r.n = nil
}

func (r *rbfNode) tx(nonce, amount, fee uint64) *chainstate.Tx {
	tx := &chainstate.Tx{ChainID: r.n.params.ChainID, From: chainstate.PublicKey(r.wallet.Public().(ed25519.PublicKey)), To: r.to, Amount: amount, Fee: fee, Nonce: nonce}
	tx.Sign(r.wallet)
	return tx
}

func (r *rbfNode) submit(tx *chainstate.Tx) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.n.SubmitTx(ctx, tx)
	return err
}

// block builds and mines the next block on the node's tip holding exactly txs.
func (r *rbfNode) block(txs ...*chainstate.Tx) *chainstate.Block {
	r.t.Helper()
	s, tip := r.storeTip()
	var b *chainstate.Block
	err := s.View(func(ar chainstate.AccountReader) error {
		var err error
		b, _, err = chainstate.BuildTemplate(r.n.params, &tip.Header, ar, chainstate.PublicKey(r.miner.Public().(ed25519.PublicKey)), txs, max(uint64(time.Now().UnixMilli()), tip.Header.Time+1))
		return err
	})
	if err != nil || len(b.Txs) != len(txs) {
		r.t.Fatalf("template: %v (%d of %d transfers)", err, len(b.Txs), len(txs))
	}
	return r.sealAndMine(b)
}

// storeTip returns the node's store and its tip.
func (r *rbfNode) storeTip() (*chainstate.Store, chainstate.TipInfo) {
	r.t.Helper()
	s, err := r.n.store()
	if err != nil {
		r.t.Fatal(err)
	}
	tip, err := s.Tip()
	if err != nil {
		r.t.Fatal(err)
	}
	return s, tip
}

// sealAndMine signs b's header with the miner's key and finds a nonce that meets its bits.
func (r *rbfNode) sealAndMine(b *chainstate.Block) *chainstate.Block {
	b.Header.Seal(r.miner)
	w := b.Header.WorkHeader()
	for n := uint32(0); ; n++ {
		binary.BigEndian.PutUint32(w[chainstate.WorkNonceOffset:], n)
		if chainstate.MeetsBits(chainstate.HashWork(&w), b.Header.Bits) {
			b.Header.Nonce = n
			return b
		}
	}
}

func (r *rbfNode) connect(b *chainstate.Block) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := r.n.SubmitBlock(ctx, b)
	return err
}

// state is what GET /v1/txs says of tx: pending, confirmed, replaced by X, or unknown.
func (r *rbfNode) state(tx *chainstate.Tx) string {
	r.t.Helper()
	info, err := r.n.Tx(context.Background(), tx.Hash())
	switch {
	case errors.Is(err, ErrNotFound):
		return "unknown"
	case err != nil:
		r.t.Fatal(err)
	case info.Confirmed:
		return "confirmed"
	case info.Replaced:
		return "replaced by " + info.ReplacedBy.String()
	}
	return "pending"
}

// pool returns the mempool actor's pending hashes and the store's mempool bucket, which must agree
// once the node is quiet.
func (r *rbfNode) pool() (mem, bucket map[chainstate.Hash]bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs, err := r.n.Mempool(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	mem = map[chainstate.Hash]bool{}
	for _, h := range hs {
		mem[h] = true
	}
	s, err := r.n.store()
	if err != nil {
		r.t.Fatal(err)
	}
	txs, err := s.MempoolTxs()
	if err != nil {
		r.t.Fatal(err)
	}
	bucket = map[chainstate.Hash]bool{}
	for _, tx := range txs {
		bucket[tx.Hash()] = true
	}
	return mem, bucket
}

func wantRejected(t *testing.T, err error, code errcode.Code, inReason string) {
	t.Helper()
	var rej *errcode.Error
	if !errors.As(err, &rej) || rej.Code != code || !strings.Contains(rej.Reason, inReason) {
		t.Fatalf("got %v, want %s naming %q", err, code, inReason)
	}
}

// TestReplaceByFeeThroughSubmit: through the node's submit path, a transfer with a pending
// one's sender and nonce replaces it with a fee 10% higher and is refused below that, naming the
// minimum; the replaced one is reported replaced, is not pending in memory or in the store, and
// is refused when it comes again; a restart keeps the replacement only; once a block confirms
// the replacement, a further one is a used nonce.
func TestReplaceByFeeThroughSubmit(t *testing.T) {
	r := startRBFNode(t)
	a := r.tx(0, 5, 20)
	if err := r.submit(a); err != nil {
		t.Fatal(err)
	}
	wantRejected(t, r.submit(r.tx(0, 5, 21)), "fee_too_low", "at least 22")
	b := r.tx(0, 6, 22)
	if err := r.submit(b); err != nil {
		t.Fatalf("replacement with fee 22: %v", err)
	}
	if got, want := r.state(a), "replaced by "+b.Hash().String(); got != want {
		t.Fatalf("the replaced transfer is %q, want %q", got, want)
	}
	if got := r.state(b); got != "pending" {
		t.Fatalf("the replacement is %s", got)
	}
	mem, bucket := r.pool()
	if len(mem) != 1 || !mem[b.Hash()] || len(bucket) != 1 || !bucket[b.Hash()] {
		t.Fatalf("pending in memory %v, in the store %v; want the replacement only", mem, bucket)
	}
	wantRejected(t, r.submit(a), "fee_too_low", "at least 25") // 22 + 10% rounded up
	if st, err := r.n.Status(context.Background()); err != nil || st.Mempool != 1 {
		t.Fatalf("status mempool %d (%v), want 1", st.Mempool, err)
	}

	r.stop()
	r.start()
	mem, bucket = r.pool()
	if len(mem) != 1 || !mem[b.Hash()] || len(bucket) != 1 || !bucket[b.Hash()] {
		t.Fatalf("after a restart pending in memory %v, in the store %v; want the replacement only", mem, bucket)
	}
	if got := r.state(a); got != "unknown" {
		t.Fatalf("after a restart the replaced transfer is %s, want unknown (the log is memory only)", got)
	}
	wantRejected(t, r.submit(a), "fee_too_low", "at least 25")

	if err := r.connect(r.block(b)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the replacement to be confirmed and the mempool empty", func() bool {
		mem, bucket := r.pool()
		return r.state(b) == "confirmed" && len(mem) == 0 && len(bucket) == 0
	})
	wantRejected(t, r.submit(r.tx(0, 7, 100)), "bad_nonce", "already used")
}

// TestReplaceByFeeRacesABlock: a replacement submitted while a block that holds the pending
// transfer is being connected. Whichever lands first, the block's transfer is confirmed and
// nothing of that nonce stays pending; a replacement that reached the store after the block is
// refused (bad_nonce); one acknowledged before it is reported replaced by the confirmed one.
func TestReplaceByFeeRacesABlock(t *testing.T) {
	r := startRBFNode(t)
	a := r.tx(0, 5, 20)
	if err := r.submit(a); err != nil {
		t.Fatal(err)
	}
	blk := r.block(a)
	b := r.tx(0, 6, 30)
	var wg sync.WaitGroup
	var subErr, blkErr error
	wg.Add(2)
	go func() { defer wg.Done(); subErr = r.submit(b) }()
	go func() { defer wg.Done(); blkErr = r.connect(blk) }()
	wg.Wait()
	if blkErr != nil {
		t.Fatal(blkErr)
	}
	t.Logf("replacement answered %v", subErr) // either order may come; both must hold
	if subErr != nil {
		wantRejected(t, subErr, "bad_nonce", "")
	}
	testutil.WaitFor(t, 5*time.Second, "the block's transfer confirmed and nothing of its nonce pending", func() bool {
		mem, bucket := r.pool()
		return r.state(a) == "confirmed" && len(mem) == 0 && len(bucket) == 0
	})
	// Acknowledged before the block: the block's transfer won the nonce, and GET /v1/txs says so.
	want := "replaced by " + a.Hash().String()
	if subErr != nil {
		want = "unknown" // refused: never pending here
	}
	if got := r.state(b); got != want {
		t.Fatalf("the replacement is %q, want %q", got, want)
	}
}

// TestConcurrentReplacements: many replacements of one nonce submitted at once (so that some
// share a group commit with the one they replace, and some replace one whose commit is in
// flight), with the mempool crashed in the middle. Every acknowledged transfer is pending or
// replaced; exactly one is pending, in memory and in the store alike, and every replaced one
// leads to it by replaced_by; a restart keeps exactly that one.
func TestConcurrentReplacements(t *testing.T) {
	r := startRBFNode(t)
	const n = 24
	txs := make([]*chainstate.Tx, n)
	for i := range txs {
		txs[i] = r.tx(0, uint64(i+1), uint64(10+i*7)) // every one 10% above an earlier one's fee is admissible
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range txs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.submit(txs[i]) }()
		if i == n/2 {
			if err := supervisor.CrashActor(r.n.sys, r.n.tree, nameMempool, "test: crash among replacements"); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	var acked []*chainstate.Tx
	unanswered := map[chainstate.Hash]bool{}
	for i, err := range errs {
		var rej *errcode.Error
		switch {
		case err == nil:
			acked = append(acked, txs[i])
		case errors.As(err, &rej) && rej.Code == "fee_too_low":
		case errors.Is(err, ErrUnavailable): // the crash: not acknowledged, but it may be durable
			unanswered[txs[i].Hash()] = true
		default:
			t.Fatalf("transfer %d: %v", i, err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no transfer acknowledged")
	}
	check := func(when string) chainstate.Hash {
		t.Helper()
		var winner chainstate.Hash
		testutil.WaitFor(t, 5*time.Second, when+": one transfer pending, in memory and in the store alike", func() bool {
			mem, bucket := r.pool()
			if len(mem) != 1 || len(bucket) != 1 {
				return false
			}
			for h := range mem {
				winner = h
			}
			return bucket[winner]
		})
		return winner
	}
	winner := check("after the replacements")
	found := false
	for _, tx := range acked {
		h := tx.Hash()
		for hops := 0; h != winner; hops++ {
			info, err := r.n.Tx(context.Background(), h)
			if err != nil || !info.Replaced || hops > n {
				t.Fatalf("acknowledged transfer %s (fee %d): %+v, %v; want pending or replaced on the way to %s", tx.Hash(), tx.Fee, info, err, winner)
			}
			h = info.ReplacedBy
		}
		found = found || tx.Hash() == winner
	}
	if !found && !unanswered[winner] {
		t.Fatalf("the pending transfer %s was neither acknowledged nor left unanswered by the crash", winner)
	}
	r.stop()
	r.start()
	if got := check("after a restart"); got != winner {
		t.Fatalf("after a restart %s is pending, before it %s", got, winner)
	}
}

// blockOn builds and mines a block on parent holding exactly txs over state (the accounts the
// blocks touch, which is enough for the order-free state root), and applies it to state.
func (r *rbfNode) blockOn(parent *chainstate.Header, state chainstate.AccountMap, txs ...*chainstate.Tx) *chainstate.Block {
	r.t.Helper()
	b, d, err := chainstate.BuildTemplate(r.n.params, parent, state, chainstate.PublicKey(r.miner.Public().(ed25519.PublicKey)), txs, parent.Time+1)
	if err != nil || len(b.Txs) != len(txs) {
		r.t.Fatalf("template: %v (%d of %d transfers)", err, len(b.Txs), len(txs))
	}
	d.ApplyTo(state)
	return r.sealAndMine(b)
}

// TestReplaceByFeeAcrossReorgs: the replaced transfer is mined on a branch that becomes the main
// chain (its replacement, pending here, is then pruned and reported replaced by it), and a reorg
// back returns it to the mempool. At every point exactly one of the two is pending or confirmed,
// in memory and in the store alike.
func TestReplaceByFeeAcrossReorgs(t *testing.T) {
	r := startRBFNode(t)
	walletAddr := chainstate.PublicKey(r.wallet.Public().(ed25519.PublicKey)).Address()
	s, err := r.n.store()
	if err != nil {
		t.Fatal(err)
	}
	genesisState := func() chainstate.AccountMap {
		m := chainstate.AccountMap{}
		for _, a := range []chainstate.Address{walletAddr, r.to} {
			acc, err := s.Account(a)
			if err != nil {
				t.Fatal(err)
			}
			m[a] = acc
		}
		return m
	}
	genesis := r.n.params.Genesis().Header
	a, b := r.tx(0, 5, 20), r.tx(0, 6, 22)
	if err := r.submit(a); err != nil {
		t.Fatal(err)
	}
	if err := r.submit(b); err != nil {
		t.Fatal(err)
	}
	sy, sx := genesisState(), genesisState()
	y1 := r.blockOn(&genesis, sy, a) // a branch that mined the replaced transfer
	y2 := r.blockOn(&y1.Header, sy)
	x1 := r.blockOn(&genesis, sx)
	x2 := r.blockOn(&x1.Header, sx)
	x3 := r.blockOn(&x2.Header, sx)
	only := func(what string, pending *chainstate.Tx, confirmed *chainstate.Tx) {
		t.Helper()
		testutil.WaitFor(t, 5*time.Second, what, func() bool {
			mem, bucket := r.pool()
			if pending == nil {
				return len(mem) == 0 && len(bucket) == 0 && r.state(confirmed) == "confirmed"
			}
			return len(mem) == 1 && mem[pending.Hash()] && len(bucket) == 1 && bucket[pending.Hash()] && r.state(pending) == "pending"
		})
	}
	for _, blk := range []*chainstate.Block{x1, y1, y2} {
		if err := r.connect(blk); err != nil {
			t.Fatal(err)
		}
	}
	only("the branch holding the replaced transfer to win, and nothing of its nonce pending", nil, a)
	if got, want := r.state(b), "replaced by "+a.Hash().String(); got != want {
		t.Fatalf("the pruned replacement is %q, want %q", got, want)
	}
	for _, blk := range []*chainstate.Block{x2, x3} {
		if err := r.connect(blk); err != nil {
			t.Fatal(err)
		}
	}
	only("the reorg back to return the replaced transfer, alone", a, nil)
	if got := r.state(b); got == "pending" || got == "confirmed" {
		t.Fatalf("the replacement is %s beside the returned transfer", got)
	}
}

// TestReplacementCommitLandsAfterItsTimeout: a replacement whose commit outlives persistDeadline
// is answered unavailable and the pool takes the old transfer back from the store; when the
// commit then lands (it swapped the two in the store), the late reply gives the slot to the
// replacement, so memory and store agree again on exactly one.
func TestReplacementCommitLandsAfterItsTimeout(t *testing.T) {
	r := startRBFNode(t)
	a, b := r.tx(0, 5, 20), r.tx(0, 6, 22)
	if err := r.submit(a); err != nil {
		t.Fatal(err)
	}
	r.pause.d.Store(int64(persistDeadline + 1200*time.Millisecond))
	err := r.submit(b)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("the held replacement: %v; want unavailable after %s", err, persistDeadline)
	}
	mem, _ := r.pool()
	if !mem[a.Hash()] || mem[b.Hash()] {
		t.Fatalf("after the timeout the pool holds %v; want the old transfer back", mem)
	}
	testutil.WaitFor(t, 5*time.Second, "the late commit to give the slot to the replacement, in memory and in the store", func() bool {
		mem, bucket := r.pool()
		return len(mem) == 1 && mem[b.Hash()] && len(bucket) == 1 && bucket[b.Hash()]
	})
	if got, want := r.state(a), "replaced by "+b.Hash().String(); got != want {
		t.Fatalf("the old transfer is %q, want %q", got, want)
	}
}
