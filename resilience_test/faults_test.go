package resilience_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/supervisor"
)

// TestFaultInjectionEachActor crashes, then kills, every supervised actor of a mining node that
// takes a steady stream of transfers. After each fault the actor is back (restart count up by
// exactly one, the whole tree running), the log tells what happened (crashed+restarted, or
// stopped+restarted), mining and the transfer stream go on; at the end no acknowledged transfer
// is lost and /metrics reports the tree's restart counts.
func TestFaultInjectionEachActor(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Debug.FaultInjection = true
		c.Mining.Workers = 2
	})
	nd := h.start(t, actors.Options{Intensity: supervisor.Intensity{MaxRestarts: 100, Window: 10 * time.Second}})
	nd.dumpOnFailure()
	nd.waitHeight(2, 15*time.Second)
	stream := startStream(t, nd.n.Params(), h.wallet, addrOf(newKey(t, 31)), 0, nodeSubmit(nd.n))
	testutil.WaitFor(t, 10*time.Second, "the first acknowledged transfers", func() bool { return stream.count() >= 3 })

	type fault struct{ kind, name string }
	var faults []fault
	for _, name := range []string{"storage", "consensus", "mempool", "miner", "miner/worker-0", "miner/worker-1", "api", "peers"} {
		faults = append(faults, fault{"crash", name})
	}
	for _, name := range []string{"storage", "consensus", "mempool", "miner", "miner/worker-0", "api", "peers"} {
		faults = append(faults, fault{"kill", name})
	}
	want := map[string]int{}
	for _, f := range faults {
		before, ok := treeNode(nd.n.Actors(), f.name)
		if !ok {
			t.Fatalf("%s: not in the tree: %+v", f.name, nd.n.Actors())
		}
		off := nd.log.Len()
		acks := stream.count()
		began := time.Now()
		var err error
		if f.kind == "crash" {
			err = nd.n.CrashActor(f.name)
		} else {
			err = nd.n.KillActor(f.name)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", f.kind, f.name, err)
		}
		want[f.name]++

		// The tree: one more restart, and everything running again.
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("%s to be running again after a %s", f.name, f.kind), func() bool {
			a, ok := treeNode(nd.n.Actors(), f.name)
			return ok && a.Restarts > before.Restarts && allRunning(nd.n.Actors())
		})
		recovered := time.Since(began)
		if a, _ := treeNode(nd.n.Actors(), f.name); a.Restarts != before.Restarts+1 {
			t.Fatalf("%s %s: restarts %d -> %d, want one more", f.kind, f.name, before.Restarts, a.Restarts)
		}

		// The log: crashed (actor, reason) then restarted; or stopped then restarted.
		first := "actor crashed"
		if f.kind == "kill" {
			first = "actor stopped"
		}
		testutil.WaitFor(t, 5*time.Second, fmt.Sprintf("%q then %q records of %s", first, "actor restarted", f.name), func() bool {
			recs := nd.log.RecordsSince(off)
			i := indexOf(recs, 0, first, f.name)
			return i >= 0 && indexOf(recs, i+1, "actor restarted", f.name) > i
		})
		recs := nd.log.RecordsSince(off)
		if f.kind == "crash" {
			r := recs[indexOf(recs, 0, "actor crashed", f.name)]
			if reason, _ := r["reason"].(string); reason == "" {
				t.Fatalf("crash %s: `actor crashed` record without the panic reason: %v", f.name, r)
			}
		} else if i := indexOf(recs, 0, "actor crashed", f.name); i >= 0 {
			t.Fatalf("kill %s: logged as a crash: %v", f.name, recs[i])
		}

		// Mining and the transfer stream go on.
		from, ok := nd.height()
		if !ok {
			testutil.WaitFor(t, 5*time.Second, "status to answer", func() bool { from, ok = nd.height(); return ok })
		}
		nd.waitGrows(from, 15*time.Second, fmt.Sprintf("the height to grow past %d after the %s of %s", from, f.kind, f.name))
		testutil.WaitFor(t, 15*time.Second, fmt.Sprintf("a transfer acknowledged after the %s of %s", f.kind, f.name), func() bool {
			return stream.count() > acks
		})
		if f.name == "api" {
			testutil.WaitFor(t, 5*time.Second, "the HTTP API to answer after the api restart", func() bool {
				_, err := nd.api.Status(context.Background())
				return err == nil
			})
		}
		t.Logf("%s %-15s running again after %v, mining and transfers going on after %v", f.kind, f.name,
			recovered.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	}

	stream.stop()
	acked, unexpected, gap := stream.result()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected rejections: %v", unexpected)
	}
	pending, confirmed := checkAcked(t, acked, nodeLookup(nd.n))
	t.Logf("%d transfers acknowledged (%d confirmed, %d pending), longest gap between acknowledgements %v",
		len(acked), confirmed, pending, gap.Round(time.Millisecond))

	tree := flatten(nd.n.Actors())
	metrics := scrapeRestarts(t, nd.n)
	for name, a := range tree {
		if name == "node" {
			continue
		}
		if a.State != supervisor.StateRunning {
			t.Errorf("%s is %s at the end", name, a.State)
		}
		if a.Restarts != want[name] {
			t.Errorf("%s restarted %d times, the test caused %d", name, a.Restarts, want[name])
		}
		if m, ok := metrics[name]; !ok || m != a.Restarts {
			t.Errorf(`actorchain_actor_restarts_total{actor=%q} = %d (present %v), the tree says %d`, name, m, ok, a.Restarts)
		}
	}
	for name := range metrics {
		if _, ok := tree[name]; !ok {
			t.Errorf("/metrics has restarts of %q, which is not in the tree", name)
		}
	}
}

// TestMiningResumesAfterFaults: on a node that takes no transfers (so nothing but a new tip
// makes the miner build a template), mining goes on within a few seconds after each of many
// crashes and kills of storage and consensus. A fault can land while the miner builds a template
// (the store is being reopened) or while a block is on its way from the miner through consensus to
// storage (a killed actor drops its mailbox): nothing may wait on the lost work for long.
func TestMiningResumesAfterFaults(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Debug.FaultInjection = true
		c.Supervision.MaxRestarts = 100000 // many faults on purpose: no restart budget
	})
	nd := h.start(t, actors.Options{Intensity: supervisor.Intensity{MaxRestarts: 1000, Window: 10 * time.Second}})
	nd.dumpOnFailure()
	nd.waitHeight(2, 10*time.Second)
	// Kills of consensus most often: a kill drops what its mailbox holds, and a block the miner is
	// waiting on is lost only when the kill lands in that short window.
	cycle := []struct{ kind, name string }{
		{"kill", "consensus"}, {"crash", "storage"}, {"kill", "consensus"}, {"kill", "storage"}, {"kill", "consensus"},
		{"crash", "consensus"}, {"kill", "consensus"}, {"kill", "storage"}, {"kill", "consensus"},
	}
	var slowest time.Duration
	const faults = 36
	for i := 0; i < faults; i++ {
		kind, name := cycle[i%len(cycle)].kind, cycle[i%len(cycle)].name
		before, _ := treeNode(nd.n.Actors(), name)
		began := time.Now()
		var err error
		if kind == "crash" {
			err = nd.n.CrashActor(name)
		} else {
			err = nd.n.KillActor(name)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
		testutil.WaitFor(t, 5*time.Second, name+" to run again", func() bool {
			a, ok := treeNode(nd.n.Actors(), name)
			return ok && a.Restarts > before.Restarts && allRunning(nd.n.Actors())
		})
		var from uint64
		testutil.WaitFor(t, 5*time.Second, "status to answer", func() bool { var ok bool; from, ok = nd.height(); return ok })
		nd.waitGrows(from, 5*time.Second, fmt.Sprintf("mining to go on after fault %d (%s %s) at height %d", i+1, kind, name, from))
		slowest = max(slowest, time.Since(began))
	}
	t.Logf("%d faults; mining went on at most %v after a fault", faults, slowest.Round(time.Millisecond))
}

// TestRestartIntensityStopsNode: a vital actor that exceeds its restart intensity stops the node
// cleanly (in order, storage last, Err naming the actor) and the home reopens at once; a miner or
// miner worker that exceeds it only stops mining, the node keeps serving and stops cleanly later.
func TestRestartIntensityStopsNode(t *testing.T) {
	tight := actors.Options{Intensity: supervisor.Intensity{MaxRestarts: 2, Window: 10 * time.Second}}
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Debug.FaultInjection = true
	})

	t.Run("consensus", func(t *testing.T) {
		nd := h.start(t, tight)
		nd.dumpOnFailure()
		nd.waitHeight(1, 10*time.Second)
		crashTimes(t, nd, "consensus", 2)
		if err := nd.n.CrashActor("consensus"); err != nil {
			t.Fatalf("third crash: %v", err)
		}
		select {
		case <-nd.n.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("the node did not stop within 10s after consensus exceeded its restart intensity")
		}
		err := nd.n.Err()
		if err == nil || !strings.Contains(err.Error(), "consensus") {
			t.Fatalf("Err() = %v, want an error naming consensus", err)
		}
		recs := nd.log.Records()
		if i := indexOf(recs, 0, "actor gave up", "consensus"); i < 0 {
			t.Errorf("no `actor gave up` record for consensus")
		}
		stopped := testutil.ActorsOf(recs, "actor stopped")
		checkStoppedLast(t, recs, stopped)
		if stopped[0] != "consensus" {
			t.Errorf("`actor stopped` records %v: consensus, which gave up, should come first", stopped)
		}
		// Whatever was still running was stopped in reverse start order.
		var top []string
		for _, a := range stopped {
			if !strings.HasPrefix(a, "miner/") && a != "consensus" {
				top = append(top, a)
			}
		}
		if want := []string{"api", "miner", "peers", "mempool", "storage", "node"}; !slices.Equal(top, want) {
			t.Errorf("stop order after the give-up %v, want %v (consensus first, when it gave up)", stopped, want)
		}
		nd.stop()

		re, err := h.tryStart(t, actors.Options{})
		if err != nil {
			t.Fatalf("reopening the home right after the node stopped itself: %v", err)
		}
		re.stop()
		if lockError(nd.log) || lockError(re.log) {
			t.Fatalf("a lock error was logged: %s", re.log.Tail())
		}
	})

	for _, name := range []string{"miner", "miner/worker-0"} {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			nd := h.start(t, tight)
			nd.dumpOnFailure()
			nd.dumpOnFailure()
			nd.waitGrows(nd.status().Height, 10*time.Second, "mining")
			crashTimes(t, nd, name, 2)
			if err := nd.n.CrashActor(name); err != nil {
				t.Fatalf("third crash: %v", err)
			}
			testutil.WaitFor(t, 10*time.Second, "mining to be reported off", func() bool { return !nd.status().Mining })
			testutil.WaitFor(t, 5*time.Second, name+" to be stopped in the tree", func() bool {
				a, ok := treeNode(nd.n.Actors(), name)
				return ok && a.State == supervisor.StateStopped
			})
			heightStable(t, 400*time.Millisecond, func() (uint64, error) {
				st, err := nd.n.Status(context.Background())
				return st.Height, err
			})
			select {
			case <-nd.n.Done():
				t.Fatalf("the node stopped (%v) when the miner gave up", nd.n.Err())
			default:
			}
			// It still answers, and takes transfers.
			if _, err := nd.api.Status(context.Background()); err != nil {
				t.Fatalf("status over HTTP after the give-up: %v", err)
			}
			acc, err := nd.n.Account(context.Background(), addrOf(h.wallet))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nd.n.SubmitTx(context.Background(), transfer(nd.n.Params(), h.wallet, addrOf(newKey(t, 3)), 1, 1, acc.PendingNonce)); err != nil {
				t.Fatalf("submit after the give-up: %v", err)
			}
			recs := nd.log.Records()
			found := false
			for _, r := range recs {
				if r["level"] == "ERROR" && r["actor"] == name && r["msg"] == "actor gave up" {
					found = true
				}
			}
			if !found {
				t.Errorf("no ERROR `actor gave up` record for %s", name)
			}
			nd.stop()
			if err := nd.n.Err(); err != nil {
				t.Fatalf("Err() after a requested stop = %v, want nil", err)
			}
			checkStoppedLast(t, nd.log.Records(), nd.log.ActorsOf("actor stopped"))
		})
	}
}

// crashTimes crashes name k times, waiting each time until it runs again.
func crashTimes(t *testing.T, nd *node, name string, k int) {
	t.Helper()
	for i := 0; i < k; i++ {
		before, _ := treeNode(nd.n.Actors(), name)
		if err := nd.n.CrashActor(name); err != nil {
			t.Fatalf("crash %d of %s: %v", i+1, name, err)
		}
		testutil.WaitFor(t, 10*time.Second, fmt.Sprintf("restart %d of %s", i+1, name), func() bool {
			a, ok := treeNode(nd.n.Actors(), name)
			return ok && a.Restarts > before.Restarts && a.State == supervisor.StateRunning
		})
	}
}

// checkStoppedLast checks the end of a stop: node's record last, storage's just before it, and
// `store closed` logged before storage's record.
func checkStoppedLast(t *testing.T, recs []testutil.Record, stopped []string) {
	t.Helper()
	if len(stopped) < 2 || stopped[len(stopped)-1] != "node" || stopped[len(stopped)-2] != "storage" {
		t.Fatalf("`actor stopped` records %v: want storage then node last", stopped)
	}
	closed, storage := -1, -1
	for i, r := range recs {
		if r["msg"] == "store closed" {
			closed = i
		}
		if r["msg"] == "actor stopped" && r["actor"] == "storage" {
			storage = i
		}
	}
	if closed < 0 || closed > storage {
		t.Fatalf("`store closed` (record %d) not before storage's `actor stopped` (record %d)", closed, storage)
	}
}
