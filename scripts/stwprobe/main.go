// Command stwprobe measures how long Go's garbage collector waits to stop the world in a process
// that hashes on an OS thread of lowered priority (as mining.low_priority did at first) while other
// processes keep the cores busy. It starts -hogs busy processes (itself with -hog, at the
// default priority), one hashing goroutine locked to its thread at -nice (none with -nice -1),
// runs -gcs collections and prints the time each runtime.GC() took and the runtime's own
// histogram of the time spent stopping the world. With -yielding the hashing thread stays at the
// default priority and, after each round, sleeps as long as it waited for a core during it (read
// from /proc/thread-self/schedstat), as mining.low_priority does since 2026-12-04 (nice 19 before). Linux only; see
// docs/performance.md.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var sink [32]byte

// hashed counts the hashing thread's rounds of 2,000 hashes.
var hashed atomic.Int64

// hash hashes on its own OS thread until stop closes: at the given nice value, or, yielding, at
// the default priority, reading the thread's run-queue wait from /proc/thread-self/schedstat
// after each round of 2,000 hashes and, when it waited for a core during the round (others want
// it), sleeping as long as it waited, which leaves its P and the core.
func hash(nice int, yielding bool, stop <-chan struct{}, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	after := func() {}
	if yielding {
		f, err := os.Open("/proc/thread-self/schedstat")
		if err != nil {
			started <- err
			return
		}
		defer f.Close()
		buf := make([]byte, 128)
		wait := func() int64 {
			n, _ := f.ReadAt(buf, 0)
			fs := strings.Fields(string(buf[:n]))
			if len(fs) < 2 {
				return 0
			}
			v, _ := strconv.ParseInt(fs[1], 10, 64)
			return v
		}
		last := wait()
		after = func() {
			if w := wait(); w-last > int64(100*time.Microsecond) {
				time.Sleep(time.Duration(w - last))
				last = wait()
			} else {
				last = w
			}
		}
		started <- nil
	} else {
		started <- syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
	}
	var b [80]byte
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 2000 {
			b[0]++
			sink = sha256.Sum256(b[:])
		}
		hashed.Add(1)
		after()
	}
}

func main() {
	nice := flag.Int("nice", 19, "nice value of the hashing thread; -1: no hashing thread")
	yielding := flag.Bool("yielding", false, "hash at the default priority, sleeping as long as the thread waited for a core")
	hogs := flag.Int("hogs", 40, "busy processes beside the probe")
	gcs := flag.Int("gcs", 10, "collections to time")
	hog := flag.Bool("hog", false, "be a busy process (internal)")
	flag.Parse()
	if *hog {
		for {
			sink[0]++
		}
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "stwprobe:", err)
		os.Exit(1)
	}
	for range *hogs {
		p := exec.Command(self, "-hog")
		if err := p.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "stwprobe: start a busy process:", err)
			return
		}
		procs = append(procs, p)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if *yielding || *nice >= 0 {
		started := make(chan error)
		wg.Go(func() { hash(*nice, *yielding, stop, started) })
		if err := <-started; err != nil {
			fmt.Fprintln(os.Stderr, "stwprobe: the hashing thread:", err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	var took []time.Duration
	t0, h0 := time.Now(), hashed.Load()
	for range *gcs {
		t0 := time.Now()
		runtime.GC()
		took = append(took, time.Since(t0))
		time.Sleep(50 * time.Millisecond)
	}
	rate := float64(hashed.Load()-h0) * 2000 / time.Since(t0).Seconds()
	close(stop)
	wg.Wait()
	s := []metrics.Sample{{Name: "/sched/pauses/stopping/gc:seconds"}}
	metrics.Read(s)
	h := s[0].Value.Float64Histogram()
	slices.Sort(took)
	mode := fmt.Sprintf("nice %d", *nice)
	if *yielding {
		mode = "yielding"
	}
	fmt.Printf("%s, %d busy processes, %d collections: runtime.GC() median %v, max %v; stopping the world: median <= %s, max <= %s; %.0f hashes/s\n",
		mode, *hogs, len(took), took[len(took)/2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond),
		quantile(h, 0.5), quantile(h, 1), rate)
}

// quantile is the upper bound of the bucket holding quantile q of h.
func quantile(h *metrics.Float64Histogram, q float64) string {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	want, acc := uint64(q*float64(n)+0.5), uint64(0)
	for i, c := range h.Counts {
		acc += c
		if acc >= want && c > 0 {
			return (time.Duration(h.Buckets[i+1] * float64(time.Second))).Round(time.Microsecond).String()
		}
	}
	return "?"
}
