//go:build linux

package actors

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/powworker"
)

// lowestThreads counts this process's threads at the lowest priority (nice 19, field 19 of
// /proc/self/task/TID/stat): all of them, and the others than the main thread. A goroutine that
// exits locked to the main thread cannot end it: the runtime parks that thread for good instead
// (it runs no goroutine again), so only the other threads are seen to end.
func lowestThreads(t *testing.T) (all, others int) {
	t.Helper()
	stats, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	main := strconv.Itoa(os.Getpid())
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended meanwhile
		}
		// The command name (field 2) is in parentheses and may hold spaces: count after it.
		_, rest, ok := strings.Cut(string(b), ") ")
		fields := strings.Fields(rest)
		if !ok || len(fields) < 17 {
			t.Fatalf("%s: unexpected stat %q", f, b)
		}
		if nice, err := strconv.Atoi(fields[16]); err == nil && nice == lowestNice {
			all++
			if filepath.Base(filepath.Dir(f)) != main {
				others++
			}
		}
	}
	return all, others
}

// waitLowest waits until count() reports want threads at the lowest priority.
func waitLowest(t *testing.T, what string, want int, count func() int) {
	t.Helper()
	testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("%d %s at nice %d", want, what, lowestNice), func() bool { return count() == want })
}

// TestWorkerLowPriority: with mining.low_priority a worker hashes on a thread of its own at
// nice 19, and that thread ends with the search, so no other goroutine runs at that priority.
func TestWorkerLowPriority(t *testing.T) {
	all0, others0 := lowestThreads(t)
	all := func() int { n, _ := lowestThreads(t); return n }
	others := func() int { _, n := lowestThreads(t); return n }
	hashes := &hashCount{}
	w := &workerActor{hashes: hashes, tips: &tipEpoch{}, lowPriority: true}
	h := newWorkerHarness(t, w)
	pid := <-h.worker
	<-h.got // workerReady
	h.sys.Root.Send(pid, &mineJob{ID: 1, Range: powworker.Range{Start: 0, Count: 1 << 31}})
	waitHashing(t, hashes, 0)
	waitLowest(t, "threads", all0+1, all)
	select {
	case msg := <-h.got:
		t.Fatalf("the worker reported %T %+v", msg, msg)
	default:
	}
	h.sys.Root.Send(pid, &stopJob{})
	waitLowest(t, "threads besides the main one", others0, others)
}
