//go:build linux

package actors

import (
	"fmt"
	"runtime"
	"syscall"
)

// lowestNice is the lowest scheduling priority of a Linux thread.
const lowestNice = 19

// lowerPriority locks the calling goroutine to its OS thread and gives that thread the lowest
// priority (nice 19): every other thread of the node, and every other process, runs before it
// when they want the CPU. The thread is never unlocked: Go ends a thread whose goroutine exits
// locked to it, so no other goroutine ever runs at this priority. On failure the goroutine is
// unlocked and its thread keeps its priority.
func lowerPriority() error {
	runtime.LockOSThread()
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), lowestNice); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("lower the hashing thread's priority: %w", err)
	}
	return nil
}
