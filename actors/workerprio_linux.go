//go:build linux

package actors

import (
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

// openRunWait locks the calling goroutine to its OS thread and opens that thread's schedstat.
// Close unlocks it.
func openRunWait() (runWait, error) {
	runtime.LockOSThread()
	f, err := os.Open("/proc/thread-self/schedstat")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("mining.low_priority reads the hashing thread's run-queue wait: %w", err)
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
	err := t.f.Close()
	runtime.UnlockOSThread()
	return err
}
