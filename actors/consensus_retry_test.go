package actors

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorchain/actorchain/config"
)

// TestConnectCommittedAfterItsWaitTimedOut: a block write that commits only after consensus
// stopped waiting for it (a frozen process, found by `node chaos --seed 9`: SIGSTOP, then SIGCONT
// fires the ask timeout before the storage actor runs) is retried; the retry fails with ErrNotTip
// because the first attempt did connect the block. Consensus must take that as connected, not keep
// its old tip and refuse every later block.
func TestConnectCommittedAfterItsWaitTimedOut(t *testing.T) {
	home := t.TempDir()
	file := filepath.Join(home, config.FileName)
	if _, err := InitHome(home, file, "", false); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(home, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Chain.PowBits = 4
	cfg.P2P.Listen, cfg.API.Listen = "", ""
	cfg.Mining.Workers = 1
	pause := &commitPause{}
	n, err := Start(cfg, Options{beforeCommit: pause.hook})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := n.Stop(ctx); err != nil {
			t.Error(err)
		}
	}()
	height := func() uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := n.Status(ctx)
		if err != nil {
			return 0
		}
		return st.Height
	}
	waitHeight := func(h uint64, limit time.Duration) bool {
		deadline := time.Now().Add(limit)
		for height() < h {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
		}
		return true
	}
	if !waitHeight(2, 30*time.Second) {
		t.Fatalf("the node did not mine 2 blocks (height %d)", height())
	}
	// The next write (the next mined block's connect) commits only after consensus's wait for it
	// has timed out and it has looked at the store once.
	pause.d.Store(int64(storageAttempt + time.Second))
	h0 := height()
	if !waitHeight(h0+5, 30*time.Second) {
		t.Fatalf("after a connect that outlasted its wait, the node is stuck at height %d (was %d)", height(), h0)
	}
	if d := pause.d.Load(); d != 0 {
		t.Fatalf("the pause was never taken (%d): the test did not exercise a slow commit", d)
	}
}
