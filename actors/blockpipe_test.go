package actors

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/internal/testchain"
)

// TestBlockPipeOrder: whatever order the checks finish in, blocks come out exactly once each, in
// the order they were added, and only once their checks finished.
func TestBlockPipeOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var p blockPipe
		var added, out []uint64
		var running []*pipedBlock
		steps := rapid.IntRange(1, 60).Draw(t, "steps")
		for i := range steps {
			if len(running) == 0 || rapid.Bool().Draw(t, fmt.Sprint("add ", i)) {
				e := &pipedBlock{}
				p.add(e)
				added = append(added, e.seq)
				running = append(running, e)
				continue
			}
			k := rapid.IntRange(0, len(running)-1).Draw(t, fmt.Sprint("finish ", i))
			e := running[k]
			running = slices.Delete(running, k, k+1)
			for _, r := range p.finished(e.seq, nil, nil) {
				if !r.done {
					t.Fatalf("block %d handed on before its check finished", r.seq)
				}
				out = append(out, r.seq)
			}
		}
		for len(running) > 0 { // drain
			e := running[0]
			running = running[1:]
			for _, r := range p.finished(e.seq, nil, nil) {
				out = append(out, r.seq)
			}
		}
		if !slices.Equal(out, added) {
			t.Fatalf("handed on %v, added %v", out, added)
		}
		if p.len() != 0 {
			t.Fatalf("%d blocks left in the pipe", p.len())
		}
	})
}

func TestBlockPipeVerdicts(t *testing.T) {
	var p blockPipe
	a, b, c := &pipedBlock{}, &pipedBlock{}, &pipedBlock{}
	p.add(a)
	p.add(b)
	p.add(c)
	bad := errors.New("bad signature")
	// b finishes first: nothing is ready (a is still checking).
	if ready := p.finished(b.seq, nil, bad); len(ready) != 0 {
		t.Fatalf("after b: ready %d", len(ready))
	}
	// An unknown or repeated sequence number changes nothing.
	if ready := p.finished(b.seq, nil, nil); len(ready) != 0 || b.err != bad {
		t.Fatalf("a repeated finish changed the pipe: ready %d, b.err %v", len(ready), b.err)
	}
	if ready := p.finished(99, nil, nil); len(ready) != 0 {
		t.Fatalf("an unknown finish changed the pipe: ready %d", len(ready))
	}
	ready := p.finished(a.seq, nil, nil)
	if len(ready) != 2 || ready[0] != a || ready[1] != b || ready[0].err != nil || ready[1].err != bad {
		t.Fatalf("after a: ready %v", ready)
	}
	if p.len() != 1 {
		t.Fatalf("pipe holds %d, want c only", p.len())
	}
}

// TestPipeSigsLeavesASyncOut: a piped check of a sync's block finds the signature cache's
// entries but adds none of its own; a new block's check adds its transactions.
func TestPipeSigsLeavesASyncOut(t *testing.T) {
	cfg, wallet := quietHome(t)
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := signTransfer(p, wallet, chainstate.Address{9}, 0)
	blk := testchain.New(p).Mine(t, wallet, []*chainstate.Tx{tx})
	for _, synced := range []bool{true, false} {
		cache := chainstate.NewSigCache(10)
		if err := checkOne(p, cache, synced, blk.Encode(), blk.Hash()); err != nil {
			t.Fatal(err)
		}
		if got := cache.Contains(tx.Hash()); got == synced {
			t.Errorf("synced %v: the cache holds the block's transfer: %v", synced, got)
		}
	}
	// A sync's check still finds what the cache holds: an entry for the transfer lets even a
	// broken signature through, as for any cached transfer.
	cache := chainstate.NewSigCache(10)
	bad := *tx
	bad.Sig[0] ^= 1
	cache.Add(bad.Hash())
	badBlk := testchain.New(p).Mine(t, wallet, []*chainstate.Tx{&bad})
	if err := checkOne(p, cache, true, badBlk.Encode(), badBlk.Hash()); err != nil {
		t.Fatalf("the sync's check did not consult the cache: %v", err)
	}
	if err := checkOne(p, chainstate.NewSigCache(10), true, badBlk.Encode(), badBlk.Hash()); err == nil {
		t.Fatal("a broken signature passed without a cache entry")
	}
}

// checkOne runs one piped block's check as a connection does and returns its result.
func checkOne(p *chainstate.Params, sigs *chainstate.SigCache, synced bool, raw []byte, h chainstate.Hash) error {
	var got error
	reported := 0
	checkJobs(p, sigs, []checkJob{{raw: raw, hash: h, synced: synced, report: func(_ *chainstate.Block, err error) {
		got = err
		reported++
	}}})
	if reported != 1 {
		return fmt.Errorf("the check reported %d times", reported)
	}
	return got
}

// TestCheckJobsReportEachBlock: a batch of piped checks reports every job once, in order, with
// its own block or error, whatever else the batch holds: sync and non-sync jobs (different
// caches), an undecodable block, a block with a broken signature between good ones.
func TestCheckJobsReportEachBlock(t *testing.T) {
	cfg, wallet := quietHome(t)
	p, err := ParamsFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := testchain.New(p)
	var good []*chainstate.Block
	for i := range 3 {
		good = append(good, c.Mine(t, wallet, []*chainstate.Tx{signTransfer(p, wallet, chainstate.Address{byte(i)}, uint64(i))}))
	}
	bad := *signTransfer(p, wallet, chainstate.Address{7}, 3)
	bad.Sig[5] ^= 1
	badBlk := c.Mine(t, wallet, []*chainstate.Tx{&bad})
	type want struct {
		blk     *chainstate.Block
		errWith string
	}
	var jobs []checkJob
	var wants []want
	var got []string
	add := func(raw []byte, h chainstate.Hash, synced bool, w want) {
		i := len(jobs)
		jobs = append(jobs, checkJob{raw: raw, hash: h, synced: synced, report: func(b *chainstate.Block, err error) {
			switch {
			case len(got) != i:
				got = append(got, fmt.Sprintf("job %d reported as %d", i, len(got)))
			case err != nil:
				got = append(got, err.Error())
			default:
				got = append(got, b.Hash().String())
			}
		}})
		wants = append(wants, w)
	}
	add(good[0].Encode(), good[0].Hash(), true, want{blk: good[0]})
	add(badBlk.Encode(), badBlk.Hash(), true, want{errWith: "signature does not verify"})
	add(good[1].Encode(), good[1].Hash(), true, want{blk: good[1]})
	add([]byte("not a block"), chainstate.Hash{1}, true, want{errWith: "undecodable block"})
	add(good[2].Encode(), good[2].Hash(), false, want{blk: good[2]})
	cache := chainstate.NewSigCache(10)
	checkJobs(p, cache, jobs)
	if len(got) != len(wants) {
		t.Fatalf("%d reports for %d jobs: %q", len(got), len(wants), got)
	}
	for i, w := range wants {
		if w.blk != nil && got[i] != w.blk.Hash().String() || w.blk == nil && !strings.Contains(got[i], w.errWith) {
			t.Errorf("job %d: got %q, want block %v or an error with %q", i, got[i], w.blk != nil, w.errWith)
		}
	}
	// Only the non-sync job's transfer went into the cache.
	if !cache.Contains(good[2].Txs[0].Hash()) || cache.Contains(good[0].Txs[0].Hash()) {
		t.Error("the cache does not hold exactly the non-sync block's transfer")
	}
}

// TestCheckQueue: every job pushed before stop runs exactly once, never more than width at
// once, and a goroutine that finishes one takes the next itself (jobs pushed while all
// goroutines are busy still run, without another push); stop drops what has not started,
// waits for what has, and drops later pushes.
func TestCheckQueue(t *testing.T) {
	for _, width := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("width ", width), func(t *testing.T) {
			q := newCheckQueue(width, 1, runEach)
			const jobs = 200
			var mu sync.Mutex
			running, most := 0, 0
			ran := make([]int, jobs)
			var done sync.WaitGroup
			done.Add(jobs)
			for i := range jobs {
				q.push(func() {
					mu.Lock()
					running++
					most = max(most, running)
					ran[i]++
					mu.Unlock()
					runtime.Gosched()
					mu.Lock()
					running--
					mu.Unlock()
					done.Done()
				})
			}
			waitGroupWithin(t, &done, 10*time.Second)
			q.stop()
			if most > width {
				t.Fatalf("%d jobs ran at once, width %d", most, width)
			}
			for i, n := range ran {
				if n != 1 {
					t.Fatalf("job %d ran %d times", i, n)
				}
			}
			q.push(func() { t.Error("a job pushed after stop ran") })
			q.stop()
		})
	}
}

// TestCheckQueueStopDropsWaiting: stop returns once the running jobs end; the queued ones never
// start.
func TestCheckQueueStopDropsWaiting(t *testing.T) {
	q := newCheckQueue(1, 1, runEach)
	release, started := make(chan struct{}), make(chan struct{})
	q.push(func() { close(started); <-release })
	var late atomic.Int32
	for range 5 {
		q.push(func() { late.Add(1) })
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first job did not start")
	}
	stopped := make(chan struct{})
	go func() { q.stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a job ran")
	case <-time.After(20 * time.Millisecond): // a bound on how long stop could wrongly take
	}
	close(release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not return after the running job ended")
	}
	if n := late.Load(); n != 0 {
		t.Fatalf("%d queued jobs ran after stop", n)
	}
}

// runEach runs each job of a batch in order.
func runEach(jobs []func()) {
	for _, j := range jobs {
		j()
	}
}

// TestCheckQueueBatches: a goroutine takes up to batch waiting jobs at once, in the order they
// came, and never waits for a batch to fill.
func TestCheckQueueBatches(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	var done sync.WaitGroup
	done.Add(8)
	release, started := make(chan struct{}), make(chan struct{})
	q := newCheckQueue(1, 3, func(jobs []int) {
		mu.Lock()
		batches = append(batches, jobs)
		mu.Unlock()
		if jobs[0] == 0 {
			close(started)
			<-release
		}
		for range jobs {
			done.Done()
		}
	})
	q.push(0) // runs alone: nothing else waits
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first job did not start")
	}
	for i := 1; i <= 7; i++ {
		q.push(i) // waits behind job 0
	}
	close(release)
	waitGroupWithin(t, &done, 10*time.Second)
	q.stop()
	mu.Lock()
	defer mu.Unlock()
	if got := fmt.Sprint(batches); got != "[[0] [1 2 3] [4 5 6] [7]]" {
		t.Fatalf("batches %s, want [[0] [1 2 3] [4 5 6] [7]]", got)
	}
}

// TestCheckQueueBatchesAll: with jobs waiting, every one runs exactly once in batches of at most
// batch, in order.
func TestCheckQueueBatchesAll(t *testing.T) {
	var mu sync.Mutex
	var seen []int
	most := 0
	var done sync.WaitGroup
	const jobs = 100
	done.Add(jobs)
	q := newCheckQueue(1, 4, func(js []int) {
		mu.Lock()
		seen = append(seen, js...)
		most = max(most, len(js))
		mu.Unlock()
		for range js {
			done.Done()
		}
	})
	for i := range jobs {
		q.push(i)
	}
	waitGroupWithin(t, &done, 10*time.Second)
	q.stop()
	if most > 4 {
		t.Fatalf("a batch of %d, at most 4", most)
	}
	for i, j := range seen {
		if i != j {
			t.Fatalf("job %d ran as the %d-th", j, i)
		}
	}
	if len(seen) != jobs {
		t.Fatalf("%d of %d jobs ran", len(seen), jobs)
	}
}

func waitGroupWithin(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("jobs not done within %v", d)
	}
}
