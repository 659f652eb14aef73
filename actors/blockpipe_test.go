package actors

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
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
		if _, err := checkRaw(p, pipeSigs(cache, synced), blk.Encode(), blk.Hash()); err != nil {
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
	if _, err := checkRaw(p, pipeSigs(cache, true), badBlk.Encode(), badBlk.Hash()); err != nil {
		t.Fatalf("the sync's check did not consult the cache: %v", err)
	}
	if _, err := checkRaw(p, pipeSigs(chainstate.NewSigCache(10), true), badBlk.Encode(), badBlk.Hash()); err == nil {
		t.Fatal("a broken signature passed without a cache entry")
	}
}

// TestCheckQueue: every job pushed before stop runs exactly once, never more than width at
// once, and a goroutine that finishes one takes the next itself (jobs pushed while all
// goroutines are busy still run, without another push); stop drops what has not started,
// waits for what has, and drops later pushes.
func TestCheckQueue(t *testing.T) {
	for _, width := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("width ", width), func(t *testing.T) {
			q := newCheckQueue(width)
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
	q := newCheckQueue(1)
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
