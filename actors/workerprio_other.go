//go:build !linux

package actors

import "errors"

// lowerPriority is not available off Linux: the hashing runs at the node's priority.
func lowerPriority() error {
	return errors.New("mining.low_priority needs Linux (per-thread priorities)")
}
