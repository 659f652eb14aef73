package testutil

import (
	"testing"
	"time"
)

// The poll interval of WaitFor starts at firstPoll and doubles up to maxPoll: a condition that
// holds soon is seen soon, and one that takes seconds (an HTTP status, a node's height) is not
// asked more than 50 times a second.
const (
	firstPoll = time.Millisecond
	maxPoll   = 20 * time.Millisecond
)

// WaitFor calls cond until it returns true and fails t (t.Fatalf, naming what and d) when d
// passes first. cond runs on the calling goroutine, so it may itself call t.Fatal.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}

// poll is WaitFor's loop: whether cond held before d passed.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	every := firstPoll
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(every) // the poll interval of a bounded wait, not a synchronisation stand-in
		every = min(2*every, maxPoll)
	}
	return true
}
