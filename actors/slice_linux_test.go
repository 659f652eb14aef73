//go:build linux

package actors

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// customSlices reports whether the kernel grants a thread a custom slice (Linux 6.12 or later),
// asking for one on the calling, locked thread directly and giving the default back. A thread
// under another policy than SCHED_OTHER has none to grant.
func customSlices() (bool, error) {
	tid := unix.Gettid()
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil || a.Policy != unix.SCHED_NORMAL {
		return false, err
	}
	const probe = 300_000
	a.Runtime = probe
	if err := unix.SchedSetAttr(tid, a, 0); err != nil {
		return false, err
	}
	b, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return false, err
	}
	a.Runtime = 0
	if err := unix.SchedSetAttr(tid, a, 0); err != nil {
		return false, err
	}
	return b.Runtime == probe, nil
}

func skipWithoutCustomSlices(t *testing.T) {
	t.Helper()
	var u unix.Utsname
	_ = unix.Uname(&u)
	t.Skipf("this kernel (%s) grants no custom slice: Linux 6.12 or later does", unix.ByteSliceToString(u.Release[:]))
}

// TestHashSlice: a hashing thread asks for the longest slice and gets the kernel's default back.
func TestHashSlice(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if ok, err := customSlices(); err != nil {
		t.Fatal(err)
	} else if !ok {
		skipWithoutCustomSlices(t)
	}
	tid := unix.Gettid()
	before, err := threadSlice(tid)
	if err != nil {
		t.Fatal(err)
	}
	if before == hashSliceNs {
		t.Fatalf("the thread has the hashing slice already")
	}
	if err := hashSlice(true); err != nil {
		t.Fatal(err)
	}
	if got, err := threadSlice(tid); err != nil || got != hashSliceNs {
		t.Errorf("hashing: slice %d ns (%v), want %d", got, err, hashSliceNs)
	}
	if err := hashSlice(false); err != nil {
		t.Fatal(err)
	}
	if got, err := threadSlice(tid); err != nil || got != before {
		t.Errorf("after hashing: slice %d ns (%v), want the default %d", got, err, before)
	}
}

// TestRunWaitHashSlice: openRunWait gives its locked thread the long slice, Close the default.
func TestRunWaitHashSlice(t *testing.T) {
	type slices struct{ during, after uint64 }
	got := make(chan slices, 1)
	errs := make(chan error, 1)
	type probe struct {
		ok  bool
		err error
	}
	supported := make(chan probe, 1)
	go func() {
		rw, err := openRunWait()
		if err != nil {
			errs <- err
			return
		}
		tid := unix.Gettid()
		var s slices
		s.during, _ = threadSlice(tid)
		// Close unlocks the thread: lock it again to read the same thread afterwards.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := rw.Close(); err != nil {
			errs <- err
			return
		}
		s.after, _ = threadSlice(tid)
		got <- s
	}()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		ok, err := customSlices()
		supported <- probe{ok, err}
	}()
	var s slices
	select {
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the hashing thread did not report within 10 s")
	case s = <-got:
	}
	if p := <-supported; p.err != nil {
		t.Fatal(p.err)
	} else if !p.ok {
		skipWithoutCustomSlices(t)
	}
	if s.during != hashSliceNs {
		t.Errorf("while hashing: slice %d ns, want %d", s.during, hashSliceNs)
	}
	if s.after == hashSliceNs {
		t.Errorf("after Close: the thread kept the hashing slice")
	}
}
