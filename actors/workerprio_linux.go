//go:build linux

package actors

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"
)

// threadRunWait reads one thread's run-queue wait from its schedstat file.
type threadRunWait struct {
	f   *os.File
	buf [96]byte
}

// openRunWait locks the calling goroutine to its OS thread, gives the thread the longest
// time slice (hashSlice) and opens its schedstat. Close undoes all three.
func openRunWait() (runWait, error) {
	runtime.LockOSThread()
	if err := hashSlice(true); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("mining.low_priority gives the hashing thread the longest time slice: %w", err)
	}
	f, err := os.Open("/proc/thread-self/schedstat")
	if err != nil {
		err = errors.Join(fmt.Errorf("mining.low_priority reads the hashing thread's run-queue wait: %w", err), hashSlice(false))
		runtime.UnlockOSThread()
		return nil, err
	}
	return &threadRunWait{f: f}, nil
}

func (t *threadRunWait) wait() (time.Duration, error) {
	n, err := t.f.ReadAt(t.buf[:], 0)
	if n == 0 && err != nil {
		return 0, fmt.Errorf("read the hashing thread's schedstat: %w", err)
	}
	return parseSchedstat(t.buf[:n])
}

func (t *threadRunWait) Close() error {
	err := errors.Join(t.f.Close(), hashSlice(false))
	runtime.UnlockOSThread()
	return err
}
