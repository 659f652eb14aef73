package actors

import (
	"sync/atomic"
	"time"
)

// Clock is the node's one source of wall-clock time, injected through Options.Clock. Every
// time the node's logic depends on is read from it: block timestamps and the future-drift rule,
// the peer book (last seen, bans, redial backoff), block sync rounds and stall checks, mempool
// admission ages, health (uptime, restart windows) and the commit trace.
//
// What does not read it: latency metrics (observeSince) and the deadlines of blocking calls
// (requestTimeout, storage retries), which measure real elapsed time, and the timers that wake
// actors (time.AfterFunc through every), which only decide when an actor looks at the Clock again.
//
// Time from a Clock is an input to the pure values (blocksync.Sync, addrbook.Book, linkShaper): they
// never read a clock themselves, so their tests pass times in directly.
type Clock interface {
	Now() time.Time
}

// systemClock is the real clock: time.Now (with its monotonic reading).
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// skewedClock is a Clock running skewMs milliseconds ahead of base (behind when negative): the
// fault-injection decorator behind POST /v1/debug/clock (faults.go). A node without
// debug.fault_injection never builds one.
type skewedClock struct {
	base   Clock
	skewMs atomic.Int64
}

func (c *skewedClock) Now() time.Time {
	return c.base.Now().Add(time.Duration(c.skewMs.Load()) * time.Millisecond)
}
