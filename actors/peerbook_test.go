package actors

import (
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// TestPeerBookClockStepBack is the regression test of redials stalled by a clock set back (a
// cleared forward skew): a failure recorded at a time ahead of the clock kept the address in
// backoff for the whole step. A last attempt in the future means the clock went back; the backoff
// is then over.
func TestPeerBookClockStepBack(t *testing.T) {
	id := [32]byte{7}
	b := newPeerBook([32]byte{1}, []chainstate.PeerRecord{{ID: id, Addr: "127.0.0.1:1"}})
	none := func([32]byte) bool { return false }
	real := time.Unix(1_000_000, 0)
	b.failed(id, real.Add(40*time.Second)) // the clock ran 40 s ahead
	if got := b.candidates(1, real, none); len(got) != 1 {
		t.Fatalf("after the clock went back 40 s: %d candidates, want the peer", len(got))
	}
	// A failure on a steady clock still backs off.
	b.failed(id, real)
	if got := b.candidates(1, real.Add(500*time.Millisecond), none); len(got) != 0 {
		t.Fatal("redialled within its backoff")
	}
	if got := b.candidates(1, real.Add(3*time.Second), none); len(got) != 1 {
		t.Fatal("not redialled after its backoff")
	}
}
