package resilience_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testchain"
	"github.com/actorchain/actorchain/noisep2p"
)

// The crash-safety soak (docs/soak.md), after Bitcoin Core's feature_dbcrash: a node process (this
// test binary as a child, see child_test.go) is killed with SIGKILL at a random moment of each
// cycle while a raw peer feeds it heavy blocks and reorgs built here and transfer streams write
// its mempool through the API. After every restart: the offline Verify passed, the node's tip is
// at least the last one its API reported, its account state equals that of a reference store in
// this process that never crashed and connected the node's main chain, and every transfer
// acknowledged with 202 is pending or confirmed exactly once.
//
// Each cycle's schedule (its actions: pauses, extensions, reorg depths, block sizes, and the
// moment of the kill: within 60 ms of a chosen action's first block, or anywhere in
// [0, SOAK_KILL_MAX_MS) of the cycle) is drawn from the seed before the cycle runs, so a seed
// replays the same schedule; what the node had done at the kill still depends on timing.
//
// Environment: SOAK_SEED (default: from the clock, always logged), SOAK_CYCLES (default 3; `make
// soak` runs 200), SOAK_HOME_CYCLES (cycles per node home before a fresh one, default 25: it bounds
// the chain that every Verify re-executes), SOAK_KILL_MAX_MS (default 1500).

// soakSettings is the soak's configuration, read from the environment.
type soakSettings struct {
	seed       uint64
	cycles     int
	homeCycles int
	killMax    time.Duration
}

func readSoakSettings(t *testing.T) soakSettings {
	t.Helper()
	s := soakSettings{
		seed:       uint64(time.Now().UnixNano()),
		cycles:     soakEnvInt(t, "SOAK_CYCLES", 3),
		homeCycles: soakEnvInt(t, "SOAK_HOME_CYCLES", 25),
		killMax:    time.Duration(soakEnvInt(t, "SOAK_KILL_MAX_MS", 1500)) * time.Millisecond,
	}
	if v := os.Getenv("SOAK_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SOAK_SEED: want an unsigned decimal integer, got %q", v)
		}
		s.seed = n
	}
	return s
}

// soakEnvInt reads a positive integer from the environment variable name (def when unset).
func soakEnvInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s: want a positive integer, got %q", name, v)
	}
	return n
}

// soakStats are the figures the soak reports.
type soakStats struct {
	cycles, homes     int
	acked             int // transfers acknowledged with 202
	confirmed         int // of them, confirmed at the final check of their home
	blocksBuilt       int
	blocksSent        int
	reorgsSent        int // reorg actions (a heavier branch from below the tip) fed
	reorgsFollowed    int // restarts after which the reference had to disconnect blocks to follow the node
	killsWhileFeeding int // kills that fell while blocks were sent or being connected
	maxMempool        int
	cycleTime         time.Duration
	maxCycle          time.Duration
}

// TestCrashSafetySoak runs the soak; see the comment at the top of this file.
func TestCrashSafetySoak(t *testing.T) {
	set := readSoakSettings(t)
	t.Logf("crash-safety soak: seed %d (replay with SOAK_SEED=%d), %d cycles, %d per home, kill within %v",
		set.seed, set.seed, set.cycles, set.homeCycles, set.killMax)
	rng := rand.New(rand.NewPCG(set.seed, set.seed^0x9e3779b97f4a7c15))
	var st soakStats
	began := time.Now()
	for st.cycles < set.cycles {
		n := min(set.homeCycles, set.cycles-st.cycles)
		runSoakHome(t, rng, set, &st, n)
	}
	took := time.Since(began)
	t.Logf("soak done: seed %d, %d cycles on %d homes in %v (%v per cycle on average, %v at most)",
		set.seed, st.cycles, st.homes, took.Round(time.Millisecond),
		(st.cycleTime / time.Duration(st.cycles)).Round(time.Millisecond), st.maxCycle.Round(time.Millisecond))
	t.Logf("soak figures: %d transfers acknowledged (%d confirmed at the final checks), %d blocks built, %d sent, "+
		"%d reorgs fed, %d reorgs followed by the reference after a restart, %d kills while blocks were being fed, "+
		"mempool up to %d txs; acknowledged transfers lost: 0",
		st.acked, st.confirmed, st.blocksBuilt, st.blocksSent, st.reorgsSent, st.reorgsFollowed,
		st.killsWhileFeeding, st.maxMempool)
}

// soakChain is one node home under soak and everything the test knows about its chain.
type soakChain struct {
	t   *testing.T
	h   *home
	p   *chainstate.Params
	rng *rand.Rand
	set soakSettings
	st  *soakStats

	senders []ed25519.PrivateKey // transfer streams through the API
	fillers []ed25519.PrivateKey // heavy blocks' transfers, only ever in blocks
	sealers []ed25519.PrivateKey // [0] extends, [1] seals reorg branches
	sendTo  chainstate.Address
	fillTo  chainstate.Address
	addrs   []chainstate.Address // every address that can hold an account

	blocks map[chainstate.Hash]*chainstate.Block
	states map[chainstate.Hash]*testchain.Builder // the ledger after each block (blocks field unused)
	ref    *chainstate.Store                      // never crashes; follows the node's main chain
	acked  []chainstate.Hash

	c        *child
	reported api.Status // the last status the node's API reported before the kill
}

func runSoakHome(t *testing.T, rng *rand.Rand, set soakSettings, st *soakStats, cycles int) {
	s := newSoakChain(t, rng, set, st)
	defer s.close()
	st.homes++
	s.restart()
	for range cycles {
		began := time.Now()
		s.loadAndKill(st.cycles)
		if _, err := chainstate.Verify(s.h.cfg.Storage.Path, s.p, 2*time.Second); err != nil {
			t.Fatalf("cycle %d (seed %d): verify after kill -9: %v", st.cycles, set.seed, err)
		}
		s.restart()
		s.check(st.cycles)
		d := time.Since(began)
		st.cycleTime += d
		st.maxCycle = max(st.maxCycle, d)
		st.cycles++
	}
	confirmed := s.finalConfirmed()
	st.confirmed += confirmed
	st.acked += len(s.acked)
	t.Logf("home %d: cycles up to %d pass; %d transfers acknowledged, %d of them confirmed, tip at height %d",
		st.homes, st.cycles, len(s.acked), confirmed, s.reported.Height)
}

func newSoakChain(t *testing.T, rng *rand.Rand, set soakSettings, st *soakStats) *soakChain {
	t.Helper()
	s := &soakChain{t: t, rng: rng, set: set, st: st,
		blocks: map[chainstate.Hash]*chainstate.Block{}, states: map[chainstate.Hash]*testchain.Builder{}}
	s.h = newHome(t, func(c *config.Config) {
		c.Mining.Enabled = false
		c.P2P.Listen = "127.0.0.1:0"
	})
	for i := range 3 {
		s.senders = append(s.senders, newKey(t, byte(100+i)))
	}
	for i := range 4 {
		s.fillers = append(s.fillers, newKey(t, byte(110+i)))
	}
	s.sealers = []ed25519.PrivateKey{newKey(t, 120), newKey(t, 121)}
	s.sendTo, s.fillTo = addrOf(newKey(t, 122)), addrOf(newKey(t, 123))
	s.addrs = []chainstate.Address{addrOf(s.h.wallet), s.sendTo, s.fillTo}
	for _, k := range append(append([]ed25519.PrivateKey{}, s.senders...), s.fillers...) {
		s.h.cfg.Chain.Alloc[addrOf(k).String()] = 1_000_000_000_000
		s.addrs = append(s.addrs, addrOf(k))
	}
	for _, k := range s.sealers { // they only earn block rewards and fees
		s.addrs = append(s.addrs, addrOf(k))
	}
	rewrite(t, s.h)
	p, err := actors.ParamsFromConfig(s.h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	g := p.Genesis()
	s.blocks[g.Hash()] = g
	s.states[g.Hash()] = testchain.New(p)
	if s.ref, err = chainstate.Open(t.TempDir()+"/ref.db", p, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *soakChain) close() {
	if s.c != nil {
		s.c.kill()
	}
	if err := s.ref.Close(); err != nil {
		s.t.Errorf("close the reference store: %v", err)
	}
}

// restart starts the node process again on a fresh p2p port.
func (s *soakChain) restart() {
	s.h.cfg.P2P.Listen = fmt.Sprintf("127.0.0.1:%d", freePort(s.t))
	s.c = s.h.startChild(s.t)
}

// builderAt returns a chain builder whose tip is block h.
func (s *soakChain) builderAt(h chainstate.Hash) *testchain.Builder {
	return s.states[h].Clone()
}

// soakAction is one step of a cycle's schedule: after pause, extend the main chain by n blocks,
// or (depth > 0) build a branch from depth blocks below the tip that is one block longer. fill is
// the number of filler transfers of each block, senderCap how many of the streams' transfers a
// block takes at most (per sender).
type soakAction struct {
	pause     time.Duration
	n, depth  int
	fill      []int
	senderCap int
}

// soakPlan is a cycle's schedule. The kill falls killAfter after the cycle's load starts, or,
// when killAction >= 0, killAfter after that action's first block is sent (so that many kills
// land inside block connects and reorgs, which take milliseconds).
type soakPlan struct {
	acts       []soakAction
	killAction int
	killAfter  time.Duration
}

// plan draws a cycle's schedule: everything random is drawn here, before anything runs, so a seed
// gives the same schedule whatever the timing.
func (s *soakChain) plan() soakPlan {
	var pl soakPlan
	for range 1 + s.rng.IntN(3) {
		a := soakAction{
			pause:     time.Duration(s.rng.IntN(300)) * time.Millisecond,
			n:         1 + s.rng.IntN(3),
			senderCap: s.rng.IntN(150),
		}
		if s.rng.IntN(5) < 2 {
			a.depth = 1 + s.rng.IntN(3)
			a.n = a.depth + 1
		}
		for range a.n {
			a.fill = append(a.fill, 50+s.rng.IntN(350))
		}
		pl.acts = append(pl.acts, a)
	}
	if s.rng.IntN(5) < 3 {
		pl.killAction = s.rng.IntN(len(pl.acts))
		pl.killAfter = time.Duration(s.rng.Int64N(int64(60 * time.Millisecond)))
	} else {
		pl.killAction = -1
		pl.killAfter = time.Duration(s.rng.Int64N(int64(s.set.killMax)))
	}
	return pl
}

// loadAndKill runs one cycle's load: transfer streams through the API and the planned blocks
// through a raw peer, and kills the node process at the planned moment.
func (s *soakChain) loadAndKill(cycle int) {
	t := s.t
	ctx := context.Background()
	pl := s.plan()
	c := s.c
	st, err := c.api.Status(ctx)
	if err != nil {
		t.Fatalf("cycle %d: status: %v", cycle, err)
	}
	cur := mustHash(t, st.TipHash)
	s.reported = st

	// One stream per sender, from the node's next pending nonce; known[i] is the highest nonce
	// the node is known to hold (acknowledged or refused as a duplicate), which blocks may take.
	known := make([]atomic.Int64, len(s.senders))
	var streams []*txStream
	for i, k := range s.senders {
		acc, err := c.api.Account(ctx, addrOf(k).String())
		if err != nil {
			t.Fatalf("cycle %d: account: %v", cycle, err)
		}
		known[i].Store(int64(acc.PendingNonce) - 1)
		submit := apiSubmit(c.api)
		ki := &known[i]
		streams = append(streams, startStream(t, s.p, k, s.sendTo, acc.PendingNonce, func(ctx context.Context, tx *chainstate.Tx) (string, error) {
			code, err := submit(ctx, tx)
			if err == nil || code == "duplicate" {
				for {
					old := ki.Load()
					if int64(tx.Nonce) <= old || ki.CompareAndSwap(old, int64(tx.Nonce)) {
						break
					}
				}
			}
			return code, err
		}))
	}

	peer := s.dial(cycle, st.NodeID)
	var feeding, diedEarly atomic.Bool
	// Written by the kill before it closes killed, read after.
	var killedWhileFeeding bool
	killed := make(chan struct{})
	kill := func() {
		defer close(killed)
		select {
		case err := <-c.done:
			c.done <- err
			diedEarly.Store(true)
			return
		default:
		}
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if st, err := c.api.Status(sctx); err == nil {
			s.reported = st
		}
		cancel()
		killedWhileFeeding = feeding.Load()
		c.kill()
	}
	var timer *time.Timer
	if pl.killAction < 0 {
		timer = time.AfterFunc(pl.killAfter, kill)
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()

feed:
	for i, a := range pl.acts {
		select {
		case <-killed:
			break feed
		case <-time.After(a.pause): // the planned pause between actions
		}
		from := cur
		if a.depth > 0 {
			s.st.reorgsSent++
			for range a.depth {
				if s.blocks[from].Header.Height == 0 {
					break
				}
				from = s.blocks[from].Header.PrevHash
			}
		}
		sealer := s.sealers[0]
		if a.depth > 0 {
			sealer = s.sealers[1]
		}
		tip := from
		var branch []*chainstate.Block
		for _, fill := range a.fill {
			b := s.mine(tip, sealer, fill, a.senderCap, known)
			branch = append(branch, b)
			tip = b.Hash()
		}
		feeding.Store(true)
		if i == pl.killAction {
			timer = time.AfterFunc(pl.killAfter, kill)
		}
		for _, b := range branch {
			if err := peer.SendMsg(noisep2p.Block{Raw: b.Encode()}); err != nil {
				break feed // the node is gone (killed): checked below
			}
			s.st.blocksSent++
		}
		if !s.waitTip(c, tip, killed) {
			break
		}
		feeding.Store(false)
		cur = tip
	}
	if timer == nil {
		kill() // the feed ended before the planned action: the node is gone or refused a block (checked below)
	}
	select {
	case <-killed:
	case <-time.After(s.set.killMax + 30*time.Second):
		t.Fatalf("cycle %d: the kill planned (%+v) did not happen", cycle, pl)
	}
	for _, sm := range streams {
		sm.stop()
		acked, unexpected, _ := sm.result()
		if len(unexpected) > 0 {
			t.Fatalf("cycle %d (seed %d): unexpected rejections of transfers: %v", cycle, s.set.seed, unexpected)
		}
		s.acked = append(s.acked, acked...)
	}
	_ = peer.Close()
	if diedEarly.Load() {
		t.Fatalf("cycle %d (seed %d): the node process died before the harness killed it: %s", cycle, s.set.seed, c.logs.Tail())
	}
	if err := peer.Err(); err != nil && !errors.Is(err, noisep2p.ErrClosed) {
		if reason := disconnectReason(err); reason != "" {
			t.Fatalf("cycle %d (seed %d): the node disconnected the block feeder: %s", cycle, s.set.seed, reason)
		}
	}
	if lockError(c.logs) {
		t.Fatalf("cycle %d: the node's log mentions a lock error: %s", cycle, c.logs.Tail())
	}
	if killedWhileFeeding {
		s.st.killsWhileFeeding++
	}
	s.c = nil
}

// dial connects a raw peer (a fresh identity each cycle) to the node's p2p port; it ignores
// whatever the node sends.
func (s *soakChain) dial(cycle int, nodeID string) *noisep2p.Conn {
	t := s.t
	id, err := noisep2p.ParseID(nodeID)
	if err != nil {
		t.Fatalf("node id %q: %v", nodeID, err)
	}
	cfg := &noisep2p.Config{Key: rawKey(t, byte(cycle)), Genesis: s.p.GenesisHash()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := noisep2p.Dial(ctx, s.h.cfg.P2P.Listen, cfg, &id)
	if err != nil {
		t.Fatalf("cycle %d: dial the node: %v", cycle, err)
	}
	conn.Start(func(uint8, []byte) {}, func(error) {})
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// mine builds and solves the next block on block parent: up to senderCap of each stream's
// transfers the node is known to hold, then fill filler transfers spread over the filler keys.
func (s *soakChain) mine(parent chainstate.Hash, sealer ed25519.PrivateKey, fill, senderCap int, known []atomic.Int64) *chainstate.Block {
	b := s.builderAt(parent)
	var txs []*chainstate.Tx
	for i, k := range s.senders {
		next := b.Account(addrOf(k)).Nonce
		for n := next; int64(n) <= known[i].Load() && n < next+uint64(senderCap); n++ {
			txs = append(txs, transfer(s.p, k, s.sendTo, 1, 1, n))
		}
	}
	nonces := make([]uint64, len(s.fillers))
	for i, k := range s.fillers {
		nonces[i] = b.Account(addrOf(k)).Nonce
	}
	for j := range fill {
		i := j % len(s.fillers)
		txs = append(txs, transfer(s.p, s.fillers[i], s.fillTo, 1, 1, nonces[i]))
		nonces[i]++
	}
	blk := b.Mine(s.t, sealer, txs)
	b.Blocks = nil // only the ledger is kept per block
	h := blk.Hash()
	s.blocks[h] = blk
	s.states[h] = b
	s.st.blocksBuilt++
	return blk
}

// waitTip waits until the node's tip is want; false when the node was killed first.
func (s *soakChain) waitTip(c *child, want chainstate.Hash, killed <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-killed:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := c.api.Status(ctx)
		cancel()
		if err == nil && st.TipHash == want.String() {
			return true
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("seed %d: the node did not reach tip %s within 30s (at %s@%d, %v)", s.set.seed, want, st.TipHash, st.Height, err)
		}
		select {
		case <-killed:
			return false
		case <-time.After(10 * time.Millisecond): // a bounded poll
		}
	}
}

// check runs after a restart: the tip, the account state against the reference, and every
// acknowledged transfer.
func (s *soakChain) check(cycle int) {
	t := s.t
	ctx := context.Background()
	c := s.c
	st, err := c.api.Status(ctx)
	if err != nil {
		t.Fatalf("cycle %d: status after the restart: %v", cycle, err)
	}
	tip := mustHash(t, st.TipHash)
	if _, ok := s.blocks[tip]; !ok {
		t.Fatalf("cycle %d (seed %d): the node's tip %s is no block this test built", cycle, s.set.seed, tip)
	}
	if st.Height < s.reported.Height || (st.Height == s.reported.Height && st.TipHash != s.reported.TipHash) {
		t.Fatalf("cycle %d (seed %d): tip %s@%d after the restart; before the kill the API reported %s@%d",
			cycle, s.set.seed, st.TipHash, st.Height, s.reported.TipHash, s.reported.Height)
	}
	if _, err := c.api.Block(ctx, s.reported.TipHash); err != nil {
		t.Fatalf("cycle %d (seed %d): the last reported tip %s is gone: %v", cycle, s.set.seed, s.reported.TipHash, err)
	}

	// The reference follows the node's main chain.
	rt, err := s.ref.Tip()
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(h chainstate.Hash) (chainstate.IndexEntry, bool) {
		b, ok := s.blocks[h]
		if !ok {
			return chainstate.IndexEntry{}, false
		}
		return chainstate.IndexEntry{Hash: h, Header: b.Header}, true
	}
	disconnect, connect, err := chainstate.ForkPath(lookup, rt.Hash, tip)
	if err != nil {
		t.Fatalf("cycle %d: fork path of the reference: %v", cycle, err)
	}
	var blocks []*chainstate.Block
	for _, h := range connect {
		blocks = append(blocks, s.blocks[h])
	}
	if _, err := s.ref.Reorg(disconnect, blocks); err != nil {
		t.Fatalf("cycle %d: the reference cannot connect the node's main chain: %v", cycle, err)
	}
	if len(disconnect) > 0 {
		s.st.reorgsFollowed++
	}

	// Account state: the node's (through its API) against the reference's.
	nodeAccts := map[chainstate.Address]chainstate.Account{}
	refAccts := map[chainstate.Address]chainstate.Account{}
	for _, a := range s.addrs {
		ai, err := c.api.Account(ctx, a.String())
		if err != nil {
			t.Fatalf("cycle %d: account %s: %v", cycle, a, err)
		}
		if ai.Balance != 0 || ai.Nonce != 0 {
			nodeAccts[a] = chainstate.Account{Balance: ai.Balance, Nonce: ai.Nonce}
		}
		ra, err := s.ref.Account(a)
		if err != nil {
			t.Fatal(err)
		}
		if !ra.IsZero() {
			refAccts[a] = ra
		}
	}
	refRoot := chainstate.StateRootOf(refAccts)
	if want := s.blocks[tip].Header.StateRoot; refRoot != want {
		t.Fatalf("cycle %d: the reference's state root %s differs from the tip header's %s: the address set is incomplete", cycle, refRoot, want)
	}
	if nodeRoot := chainstate.StateRootOf(nodeAccts); nodeRoot != refRoot {
		for _, a := range s.addrs {
			if nodeAccts[a] != refAccts[a] {
				t.Errorf("account %s: node %+v, reference %+v", a, nodeAccts[a], refAccts[a])
			}
		}
		t.Fatalf("cycle %d (seed %d): the node's account-state hash %s differs from the reference's %s at tip %s@%d",
			cycle, s.set.seed, nodeRoot, refRoot, tip, st.Height)
	}

	// Every acknowledged transfer is pending, or confirmed exactly once; nothing is both.
	onChain := map[chainstate.Hash]int{}
	where := map[chainstate.Hash]chainstate.Hash{}
	for h := tip; ; {
		b := s.blocks[h]
		for _, tx := range b.Txs {
			onChain[tx.Hash()]++
			where[tx.Hash()] = h
		}
		if b.Header.Height == 0 {
			break
		}
		h = b.Header.PrevHash
	}
	mp, err := c.api.Mempool(ctx)
	if err != nil {
		t.Fatalf("cycle %d: mempool: %v", cycle, err)
	}
	s.st.maxMempool = max(s.st.maxMempool, len(mp.Txs))
	pending := map[chainstate.Hash]bool{}
	for _, hs := range mp.Txs {
		h := mustHash(t, hs)
		if onChain[h] > 0 {
			t.Fatalf("cycle %d (seed %d): transfer %s is in the mempool and confirmed in block %s", cycle, s.set.seed, h, where[h])
		}
		pending[h] = true
	}
	for _, h := range s.acked {
		switch n := onChain[h]; {
		case n > 1:
			t.Fatalf("cycle %d (seed %d): acknowledged transfer %s confirmed %d times", cycle, s.set.seed, h, n)
		case n == 0 && !pending[h]:
			t.Fatalf("cycle %d (seed %d): acknowledged transfer %s lost: neither pending nor confirmed", cycle, s.set.seed, h)
		}
	}
	// A sample through the tx index: its status and block agree. (Its own generator: the number
	// of draws must not shift the schedule's.)
	sample := rand.New(rand.NewPCG(s.set.seed, uint64(cycle)))
	for range min(10, len(s.acked)) {
		h := s.acked[sample.IntN(len(s.acked))]
		ts, err := c.api.Tx(ctx, h.String())
		if err != nil {
			t.Fatalf("cycle %d: tx %s: %v", cycle, h, err)
		}
		want := api.TxPending
		if onChain[h] == 1 {
			want = api.TxConfirmed
			if ts.BlockHash != where[h].String() {
				t.Fatalf("cycle %d (seed %d): tx %s indexed in block %s, the main chain has it in %s", cycle, s.set.seed, h, ts.BlockHash, where[h])
			}
		}
		if ts.Status != want {
			t.Fatalf("cycle %d (seed %d): tx %s has status %s, want %s", cycle, s.set.seed, h, ts.Status, want)
		}
	}
	s.reported = st
}

// finalConfirmed counts the acknowledged transfers on the reference's main chain.
func (s *soakChain) finalConfirmed() int {
	n := 0
	for _, h := range s.acked {
		if _, ok, err := s.ref.TxLocation(h); err == nil && ok {
			n++
		}
	}
	return n
}
