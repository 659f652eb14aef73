//go:build linux

package actors

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
)

// TestThreadRunWaitGrowsUnderLoad: the thread's run-queue wait read from schedstat grows while
// more threads spin than there are cores, and never goes back.
func TestThreadRunWaitGrowsUnderLoad(t *testing.T) {
	rw, err := openRunWait()
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	start, err := rw.wait()
	if err != nil {
		t.Fatal(err)
	}
	spinners := runtime.NumCPU() + 2
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(spinners + 2))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range spinners {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for !stop.Load() {
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	last := start
	testutil.WaitFor(t, 10*time.Second, "this thread's run-queue wait to grow by 1 ms", func() bool {
		// Spin here too, so that this thread competes for a core rather than sleeping.
		for end := time.Now().Add(time.Millisecond); time.Now().Before(end); {
		}
		now, err := rw.wait()
		if err != nil {
			t.Fatal(err)
		}
		if now < last {
			t.Fatalf("the run-queue wait went back from %v to %v", last, now)
		}
		last = now
		return now-start >= time.Millisecond
	})
}

// TestWorkerLowPriorityHashes: with mining.low_priority a worker reads its thread's run-queue
// wait on Linux without a failure and hashes, and stops when told.
func TestWorkerLowPriorityHashes(t *testing.T) {
	hashes := &hashCount{}
	w := &workerActor{hashes: hashes, tips: &tipEpoch{}, lowPriority: true}
	h := newWorkerHarness(t, w)
	pid := h.readyWorker(t)
	h.sys.Root.Send(pid, endlessJob(1))
	waitHashing(t, hashes, 0)
	h.noReport(t, "while it hashed")
	h.sys.Root.Send(pid, &stopJob{})
}
