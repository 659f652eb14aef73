package actors

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"
)

// A search with mining.low_priority yields its core: it hashes at the node's priority and, at
// each poll, reads how long its OS thread has waited in the kernel's run queue since the last
// poll. A wait means something else wanted the core meanwhile (the node's relay, another
// process); the search then sleeps as long as it waited, which leaves the core, and its P, to
// them. It takes about half of a fair share of a busy machine and all of an idle one.
//
// A thread at the lowest priority (nice 19, this setting's first form) would leave more, but
// Go's collector must stop every P before it stops the world, a search holds its P while it
// hashes, and a nice-19 thread on a saturated machine waits seconds for the kernel to run it:
// the whole node then stood still at each collection (docs/performance.md, "The miners' garbage
// collector"). A sleeping search holds no P.

const (
	// yieldMin is the least run-queue wait between two polls that makes a search sleep: shorter
	// waits are the kernel's ordinary bookkeeping on a machine that is not busy.
	yieldMin = 100 * time.Microsecond
	// yieldMax bounds one sleep.
	yieldMax = time.Second
)

// yieldFor is how long a yielding search sleeps at a poll, given its thread's total run-queue
// wait at the last poll (before) and now: as long as it waited in between, when that is at least
// yieldMin, and at most yieldMax. A total that went back (a counter that is not the thread's)
// gives no sleep.
func yieldFor(before, now time.Duration) time.Duration {
	d := now - before
	switch {
	case d < yieldMin:
		return 0
	case d > yieldMax:
		return yieldMax
	default:
		return d
	}
}

// parseSchedstat reads the run-queue wait from a schedstat file's content (Linux's
// /proc/PID/task/TID/schedstat: time on the CPU, time waiting to run, both in nanoseconds, and
// the number of times it ran). It allocates nothing but its errors: a search calls it at every
// poll.
func parseSchedstat(b []byte) (time.Duration, error) {
	rest := bytes.TrimLeft(b, " ")
	i := bytes.IndexByte(rest, ' ')
	if i < 0 {
		return 0, fmt.Errorf("schedstat %q: want at least 2 fields", b)
	}
	rest = bytes.TrimLeft(rest[i:], " ")
	var ns int64
	n := 0
	for ; n < len(rest) && rest[n] != ' ' && rest[n] != '\n'; n++ {
		c := rest[n]
		if c < '0' || c > '9' || ns > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, fmt.Errorf("schedstat %q: run-queue wait is not a count of nanoseconds", b)
		}
		ns = ns*10 + int64(c-'0')
	}
	if n == 0 {
		return 0, fmt.Errorf("schedstat %q: want at least 2 fields", b)
	}
	return time.Duration(ns), nil
}

// runWait is the calling thread's total run-queue wait (threadRunWait on Linux).
type runWait interface {
	wait() (time.Duration, error)
	Close() error
}

// yielder makes a search sleep for as long as its thread waited for a core.
type yielder struct {
	w    runWait
	last time.Duration
}

func newYielder(w runWait) (*yielder, error) {
	last, err := w.wait()
	if err != nil {
		return nil, err
	}
	return &yielder{w: w, last: last}, nil
}

// errLeft: the search was told to leave while it slept.
var errLeft = errors.New("left during a yield")

// poll sleeps as long as yieldFor says, or until left closes (errLeft).
func (y *yielder) poll(left <-chan struct{}) error {
	now, err := y.w.wait()
	if err != nil {
		return err
	}
	d := yieldFor(y.last, now)
	if d == 0 {
		y.last = now
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-left:
		return errLeft
	}
	// The wait to run again after the sleep is the sleep's, not a sign of load.
	y.last, err = y.w.wait()
	return err
}
