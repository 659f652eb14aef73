package actors

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorchain/actorchain/chainstate"
)

// TestPageWalkHoldsWritesFromTheOpen: writes wait from the moment the storage actor starts the
// walk (right after the open), not only while the walk runs after the node is ready. node chaos
// (seed 24) found a file whose damaged pages the open check cannot see written to by the start
// (a mined block) before the walk, which starts once the node is ready, found the damage.
func TestPageWalkHoldsWritesFromTheOpen(t *testing.T) {
	p := &chainstate.Params{ChainID: "actorchain-test", GenesisTimeMs: 1_767_225_600_000, PowBits: 3, BlockReward: 50, MaxBlockTxs: 10}
	s, err := chainstate.Open(filepath.Join(t.TempDir(), "chain.db"), p, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := &Node{ready: make(chan struct{}), log: slog.New(slog.DiscardHandler)}
	w := startPageWalk(n.ready, n.log, n.storeDamaged, s)
	defer w.stop()
	wrote := make(chan error, 1)
	go func() { wrote <- s.PutMempool(nil, nil) }()
	select {
	case err := <-wrote:
		t.Fatalf("a write went through before the node was ready and the walk had run (err %v)", err)
	case <-time.After(200 * time.Millisecond): // the write must still be held: a bounded look, not a sync
	}
	close(n.ready)
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatalf("the held write failed after a clean walk: %v", err)
		}
	case <-time.After(walkHold + 2*time.Second):
		t.Fatal("the held write did not go through after the walk")
	}
}
