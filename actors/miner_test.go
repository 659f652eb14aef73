package actors

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/powworker"
)

// hashCount counts the hashes a worker reports.
type hashCount struct{ n atomic.Int64 }

func (c *hashCount) Add(v float64) { c.n.Add(int64(v)) }

// observations sends each observed value to a channel.
type observations chan float64

func (o observations) Observe(v float64) { o <- v }

// workerHarness is a worker under a parent that forwards what the worker sends it.
type workerHarness struct {
	sys    *actor.ActorSystem
	parent *actor.PID
	worker chan *actor.PID
	got    chan any
}

func newWorkerHarness(t *testing.T, w *workerActor) *workerHarness {
	t.Helper()
	h := &workerHarness{sys: actor.NewActorSystem(), worker: make(chan *actor.PID, 1), got: make(chan any, 16)}
	h.parent = h.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			h.worker <- ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return w }, workerOptions()...))
		case *workerPanicked: // as the miner does
			ctx.Send(<-h.worker, &workerPanic{reason: msg.Reason})
		case *workerReady, *workerFound, *workerExhausted, *workerPriority:
			h.got <- msg
		}
	}))
	t.Cleanup(func() {
		if err := h.sys.Root.StopFuture(h.parent).Wait(); err != nil {
			t.Errorf("stop the worker's parent: %v", err)
		}
		h.sys.Shutdown()
	})
	return h
}

// readyWorker waits for the harness's worker to announce itself and returns its PID (left in
// h.worker for the parent's use).
func (h *workerHarness) readyWorker(t *testing.T) *actor.PID {
	t.Helper()
	pid := <-h.worker
	h.worker <- pid
	if _, ok := (<-h.got).(*workerReady); !ok {
		t.Fatal("the worker did not announce itself")
	}
	return pid
}

// noReport fails the test if the worker has reported anything (a find, an exhausted range, a
// priority failure) so far; what names the case for the message.
func (h *workerHarness) noReport(t *testing.T, what string) {
	t.Helper()
	select {
	case msg := <-h.got:
		t.Errorf("the worker reported %T %+v %s", msg, msg, what)
	default:
	}
}

// endlessJob is job id over a range no search finishes while a test runs (no target is met:
// the search runs until it is stopped).
func endlessJob(id uint64) *mineJob {
	return &mineJob{ID: id, Range: powworker.Range{Start: 0, Count: 1 << 31}}
}

// waitHashing waits until c has grown past from.
func waitHashing(t *testing.T, c *hashCount, from int64) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, "the worker hashing", func() bool { return c.n.Load() > from })
}

// panicOnce is a hash counter whose first Add panics (a bug in a search).
type panicOnce struct {
	hashCount
	done atomic.Bool
}

func (c *panicOnce) Add(v float64) {
	if c.done.CompareAndSwap(false, true) {
		panic("search bug")
	}
	c.hashCount.Add(v)
}

// TestWorkerTakesJobOnSendersGoroutine: a worker takes a new job, and the tip switch is
// observed, before the send to it returns (workerOptions: its mailbox runs on the sender's
// goroutine, which is on a core, instead of waiting for one of its own).
func TestWorkerTakesJobOnSendersGoroutine(t *testing.T) {
	switches := make(observations, 4)
	w := &workerActor{hashes: &hashCount{}, tipSwitch: switches, tips: &tipEpoch{}}
	h := newWorkerHarness(t, w)
	pid := h.readyWorker(t)
	for i := range 3 {
		job := endlessJob(uint64(i + 1))
		job.TipAt = time.Now()
		h.sys.Root.Send(pid, job)
		select {
		case <-switches:
		default:
			t.Fatalf("job %d: the send returned before the worker took the job", i+1)
		}
	}
}

// TestWorkerSearchPanicRestartsWorker: a panic in a search fails its worker (through the
// parent, never on the search's own goroutine, which the restart joins), the worker restarts,
// and the next job hashes.
func TestWorkerSearchPanicRestartsWorker(t *testing.T) {
	hashes := &panicOnce{}
	w := &workerActor{hashes: hashes, tips: &tipEpoch{}}
	h := newWorkerHarness(t, w)
	pid := h.readyWorker(t)
	h.sys.Root.Send(pid, endlessJob(1))
	select {
	case msg := <-h.got:
		if _, ok := msg.(*workerReady); !ok {
			t.Fatalf("after the search's panic the worker reported %T, want a restart (workerReady)", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not restart within 5 s of its search's panic")
	}
	h.sys.Root.Send(pid, endlessJob(2))
	waitHashing(t, &hashes.hashCount, 0)
}

// TestWorkerLeavesStaleTip: a worker's search stops on its own as soon as consensus publishes
// another tip (the tip epoch moves on), without a message from the miner, reports neither a
// find nor an exhausted range, and the next job resumes hashing.
func TestWorkerLeavesStaleTip(t *testing.T) {
	tips := &tipEpoch{}
	hashes := &hashCount{}
	stops := make(observations, 4)
	w := &workerActor{hashes: hashes, staleStop: stops, tips: tips}
	h := newWorkerHarness(t, w)
	pid := h.readyWorker(t)
	// A target no hash meets: the search runs until it is stopped.
	job := func(epoch uint64) *mineJob {
		return &mineJob{ID: epoch + 1, Range: powworker.Range{Start: 0, Count: 1 << 31}, Epoch: epoch}
	}
	h.sys.Root.Send(pid, job(tips.load()))
	waitHashing(t, hashes, 0)

	published := time.Now()
	tips.advance(published)
	select {
	case v := <-stops:
		if max := time.Since(published).Seconds(); v > max {
			t.Errorf("stale stop observed %.4f s, more than the %.4f s since the tip", v, max)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the search on the stale tip did not stop within 5 s")
	}
	// Stopped: the count stays where it is.
	n := hashes.n.Load()
	h.sys.Root.Send(pid, job(tips.load()))
	waitHashing(t, hashes, n)
	h.noReport(t, "for a search it left for a new tip")

	// A job that is stale when it arrives (built before the tip it missed) does not hash.
	tips.advance(time.Now())
	select {
	case <-stops:
	case <-time.After(5 * time.Second):
		t.Fatal("the second search did not stop within 5 s")
	}
	n = hashes.n.Load()
	h.sys.Root.Send(pid, job(tips.load()-1))
	select {
	case <-stops:
	case <-time.After(5 * time.Second):
		t.Fatal("a stale job was not dropped within 5 s")
	}
	if got := hashes.n.Load(); got != n {
		t.Errorf("a job stale on arrival hashed %d times", got-n)
	}
}
