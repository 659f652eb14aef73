//go:build linux

package actors

import (
	"golang.org/x/sys/unix"
)

// A search with mining.low_priority asks the kernel for the longest time slice for its thread
// while it hashes (sched_setattr(2)'s sched_runtime under SCHED_OTHER, honoured since Linux 6.12:
// the EEVDF scheduler's custom slice; older kernels ignore it). A thread's slice sets how soon it
// runs, not how much: with the longest one the hashing keeps its fair share of a core, but any
// thread with a shorter slice that wakes (the node's own, another process's) preempts it and runs
// first, instead of waiting for the hashing's slice to end. The thread gets the kernel's default
// slice back before it is unlocked (docs/performance.md, "A long slice for the hashing, and the
// miner first").

// hashSliceNs is the slice a hashing thread asks for: the longest the kernel grants.
const hashSliceNs = 100_000_000

// setSlice sets thread tid's requested slice (ns; 0: the kernel's default), keeping its policy
// and nice value. A thread under another policy than SCHED_OTHER (the operator's choice, e.g.
// SCHED_BATCH or SCHED_IDLE) is left alone.
func setSlice(tid int, ns uint64) error {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return err
	}
	if a.Policy != unix.SCHED_NORMAL {
		return nil
	}
	a.Runtime = ns
	return unix.SchedSetAttr(tid, a, 0)
}

// threadSlice is thread tid's slice as the kernel reports it (ns).
func threadSlice(tid int) (uint64, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return 0, err
	}
	return a.Runtime, nil
}

// hashSlice gives the calling thread, locked to a hashing goroutine, the longest slice (on:
// true), or the kernel's default back (on: false) before it is unlocked.
func hashSlice(on bool) error {
	ns := uint64(0)
	if on {
		ns = hashSliceNs
	}
	return setSlice(unix.Gettid(), ns)
}
