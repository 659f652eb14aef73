package resilience_test

import (
	"context"
	"testing"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
)

// TestLatencyHistograms: a fresh node exposes the import, sync, tip switch and commit histograms with zero
// counts from its first scrape (every op label of the commit histogram included); after it
// synced A's chain of 10 blocks, each block was imported exactly once, committed in at most one
// write each (a run of a sync's blocks shares one), and the sync's blocks were timed.
func TestLatencyHistograms(t *testing.T) {
	const height = 10
	ops := []string{"connect", "put_block", "reorg", "mark_invalid", "mempool", "peers"}
	ah := netHome(t, func(c *config.Config) { c.Mining.Enabled = true })
	a := ah.start(t, actors.Options{})
	bh := joinHome(t, ah, func(c *config.Config) { c.Mining.Enabled = false })
	b := bh.start(t, actors.Options{})
	zero := []string{"actorchain_block_import_seconds_count", "actorchain_sync_block_seconds_count", "actorchain_miner_tip_switch_seconds_count", "actorchain_miner_stale_stop_seconds_count"}
	for _, op := range ops {
		zero = append(zero, `actorchain_storage_commit_seconds_count{op="`+op+`"}`)
	}
	for _, series := range zero {
		if v, ok := b.metric(series); !ok || v != 0 {
			t.Errorf("first scrape: %s = %v (present %v), want 0", series, v, ok)
		}
	}
	if _, ok := b.metric(`actorchain_storage_commit_seconds_bucket{op="connect",le="+Inf"}`); !ok {
		t.Errorf("first scrape: no +Inf bucket of the commit histogram")
	}

	a.waitHeight(height, netTimeout)
	// A's one worker switches to each new tip while it mines (the count trails the height by the
	// switch in flight), each well under a second (it is milliseconds: template, signature, the
	// old search stopped; the bound only catches a switch that waits for something it should not).
	testutil.WaitFor(t, netTimeout, "A's tip switches", func() bool {
		v, _ := a.metric("actorchain_miner_tip_switch_seconds_count")
		return v >= height-1
	})
	setMining(t, a, false)
	switches, _ := a.metric("actorchain_miner_tip_switch_seconds_count")
	sum, _ := a.metric("actorchain_miner_tip_switch_seconds_sum")
	if sum/switches > 0.5 {
		t.Errorf("tip switches: %v, mean %.4f s", switches, sum/switches)
	}
	_, top := waitSameTip(t, a) // A's final tip, after the stop took effect
	if err := b.n.AddPeer(context.Background(), peerAddr(a)); err != nil {
		t.Fatal(err)
	}
	b.waitHeight(top, netTimeout)
	b.waitMetric("actorchain_block_import_seconds_count", float64(top))
	// A sync's blocks that are ready together are connected in one write: at most one commit a
	// block (the imports are observed after their commits).
	if v, _ := b.metric(`actorchain_storage_commit_seconds_count{op="connect"}`); v < 1 || v > float64(top) {
		t.Errorf("%v connect commits for a sync of %d blocks", v, top)
	}
	if v, _ := b.metric("actorchain_sync_block_seconds_count"); v < 1 || v > float64(top) {
		t.Errorf("actorchain_sync_block_seconds_count = %v after a sync of %d blocks", v, top)
	}
	if v, _ := b.metric("actorchain_block_import_seconds_sum"); v <= 0 {
		t.Errorf("actorchain_block_import_seconds_sum = %v after %d imports", v, top)
	}
}

// TestMinerLeavesStaleTip: when one worker finds a block, the other worker's search on the
// same parent stops through the tip epoch that consensus advances, and the miner goes on
// mining: the stale stop histogram counts those searches, each well under a second (the bound
// only catches a search that waits for a message instead of polling the epoch).
func TestMinerLeavesStaleTip(t *testing.T) {
	const height = 12
	h := newHome(t, func(c *config.Config) {
		c.Mining.Enabled = true
		c.Mining.Workers = 2
		c.Chain.PowBits = 14 // a few ms a block: the other worker is searching when one finds
	})
	// No pacing: the next template goes out at once, so nothing but the epoch stops the
	// searches on the old tip before the new job reaches the workers.
	a := h.start(t, actors.Options{MinBlockInterval: -1})
	a.waitHeight(height, netTimeout)
	setMining(t, a, false)
	stops, _ := a.metric("actorchain_miner_stale_stop_seconds_count")
	sum, _ := a.metric("actorchain_miner_stale_stop_seconds_sum")
	if stops < 1 {
		t.Fatalf("%v searches left a stale tip in %d blocks of 2 workers", stops, height)
	}
	if sum/stops > 0.5 {
		t.Errorf("stale stops: %v, mean %.4f s", stops, sum/stops)
	}
}
