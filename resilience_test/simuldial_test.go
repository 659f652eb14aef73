package resilience_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/internal/testutil"
)

// TestSimultaneousDialKeepsOneConnection: two nodes dial each other at the same moment, several
// times; each time exactly one connection survives, the same one on both sides (the one initiated
// by the smaller node id), and it stays.
func TestSimultaneousDialKeepsOneConnection(t *testing.T) {
	ha := netHome(t, nil)
	hb := joinHome(t, ha, nil)
	a := ha.start(t, actors.Options{})
	b := hb.start(t, actors.Options{})
	aID, bID := a.n.NodeID(), b.n.NodeID()
	// The smaller id initiates the surviving connection.
	wantAOut := aID < bID
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		for _, pair := range [][2]*node{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := pair[0].n.AddPeer(context.Background(), peerAddr(pair[1])); err != nil {
					t.Errorf("round %d: add peer: %v", round, err)
				}
			}()
		}
		wg.Wait()
		settled := func() bool {
			pa, pb := a.peers().Connected, b.peers().Connected
			if len(pa) != 1 || len(pb) != 1 || pa[0].ID != bID || pb[0].ID != aID {
				return false
			}
			return (pa[0].Direction == "outbound") == wantAOut && (pb[0].Direction == "inbound") == wantAOut
		}
		testutil.WaitFor(t, netTimeout, "one connection, initiated by the smaller id, on both sides", settled)
		// It must stay so over an observation window (polled, not slept through).
		end := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(end) {
			if !settled() {
				t.Fatalf("round %d: the surviving connection did not stay: a %+v, b %+v", round, a.peers().Connected, b.peers().Connected)
			}
			time.Sleep(10 * time.Millisecond) // polling an invariant over the window
		}
	}
}
