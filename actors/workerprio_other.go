//go:build !linux

package actors

import "errors"

// openRunWait is not available off Linux: the hashing runs at the node's priority and yields
// at each poll only to the node's own goroutines.
func openRunWait() (runWait, error) {
	return nil, errors.New("mining.low_priority needs Linux (a thread's run-queue wait in /proc)")
}
