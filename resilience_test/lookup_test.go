package resilience_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
)

// TestLookupsSeeEveryAcknowledgedTransfer is the lookup race behind the one lost acknowledgement
// of TestStopOrderFromEventLog: Node.Tx read the tx index and then asked the mempool actor, so a
// block connected between the two made a transfer being confirmed look unknown (and a reorg opens
// the same window the other way); Node.Account read the committed nonce and then asked the
// mempool for the queue after it, so a connect in between could answer a pending nonce that is
// already used. A mining node at trivial work, the CPUs kept busy, each transfer looked up again
// and again by several goroutines right after its acknowledgement: every lookup must find it
// (pending or confirmed) and every account read must give a pending nonce past it.
//
// LOOKUP_RACE_SECONDS lengthens the run (default 3 s; the probe that found the race needed about
// 1,000,000 lookups for 33 misses, so a long run is the real check).
func TestLookupsSeeEveryAcknowledgedTransfer(t *testing.T) {
	run := 3 * time.Second
	if s := os.Getenv("LOOKUP_RACE_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("LOOKUP_RACE_SECONDS=%q: want a positive number of seconds", s)
		}
		run = time.Duration(n) * time.Second
	}
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 8
		c.Mining.Workers = 2
	})
	nd := h.start(t, actors.Options{MinBlockInterval: -1})
	nd.waitHeight(1, 10*time.Second)

	// One spinning goroutine per CPU: the scheduler then preempts the lookups between their reads.
	defer spinCPUs(runtime.GOMAXPROCS(0))()

	const readers, lookupsPerTx = 4, 100
	to := addrOf(newKey(t, 42))
	sender := addrOf(h.wallet)
	var lookups, misses, staleNonces atomic.Int64
	var firstMiss atomic.Value
	ctx := context.Background()
	deadline := time.Now().Add(run)
	acked := 0
	for nonce := uint64(0); time.Now().Before(deadline); nonce++ {
		tx := transfer(nd.n.Params(), h.wallet, to, 1, 1, nonce)
		if _, err := nd.n.SubmitTx(ctx, tx); err != nil {
			t.Fatalf("submit nonce %d: %v", nonce, err)
		}
		acked++
		hash := tx.Hash()
		var wg sync.WaitGroup
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range lookupsPerTx / readers {
					lookups.Add(1)
					if _, err := nd.n.Tx(ctx, hash); err != nil {
						misses.Add(1)
						firstMiss.CompareAndSwap(nil, fmt.Sprintf("transfer %s (nonce %d): %v", hash, nonce, err))
					}
					acc, err := nd.n.Account(ctx, sender)
					if err != nil {
						t.Errorf("account: %v", err)
						return
					}
					if acc.PendingNonce <= nonce {
						staleNonces.Add(1)
						firstMiss.CompareAndSwap(nil, fmt.Sprintf("pending nonce %d after nonce %d was acknowledged", acc.PendingNonce, nonce))
					}
				}
			}()
		}
		wg.Wait()
	}
	st := nd.status()
	t.Logf("%d transfers acknowledged, %d lookups, height %d", acked, lookups.Load(), st.Height)
	if st.Height < 5 {
		t.Fatalf("only %d blocks connected during the run: the lookups did not race with connects", st.Height)
	}
	if m, s := misses.Load(), staleNonces.Load(); m > 0 || s > 0 {
		t.Fatalf("%d of %d lookups missed an acknowledged transfer and %d account reads gave a used pending nonce; first: %v",
			m, lookups.Load(), s, firstMiss.Load())
	}
	if acked == 0 {
		t.Fatal("no transfer acknowledged")
	}
}
