package resilience_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/supervisor"
)

// TestStopOrderFromEventLog stops a mining node that has transfers in flight and reads the order
// from its lifecycle records: started in dependency order, stopped in the exact reverse (the
// workers before the miner), storage last after closing the store, node's own records around all
// others; then the home reopens at once.
func TestStopOrderFromEventLog(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Mining.Workers = 2
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	nd.waitHeight(2, 10*time.Second)
	stream := startStream(t, nd.n.Params(), h.wallet, addrOf(newKey(t, 41)), 0, nodeSubmit(nd.n))
	testutil.WaitFor(t, 10*time.Second, "transfers to be acknowledged", func() bool { return stream.count() >= 5 })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := nd.n.Stop(ctx); err != nil { // transfers still in flight
		t.Fatalf("stop: %v", err)
	}
	stream.stop()
	if err := nd.n.Err(); err != nil {
		t.Fatalf("Err() after a requested stop: %v", err)
	}
	if err := nd.n.Stop(ctx); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}

	recs := nd.log.Records()
	started := testutil.ActorsOf(recs, "actor started")
	stopped := testutil.ActorsOf(recs, "actor stopped")
	workers := []string{"miner/worker-0", "miner/worker-1"}

	// Start: node, then storage, consensus, mempool, peers, miner (its workers), api.
	wantStart := []string{"node", "storage", "consensus", "mempool", "peers", "miner", "*", "*", "api"}
	if !matchOrder(started, wantStart, workers) {
		t.Fatalf("`actor started` records %v, want %v with * the two workers in any order", started, wantStart)
	}
	// Stop: the exact reverse, each fully stopped before the next.
	wantStop := []string{"api", "*", "*", "miner", "peers", "mempool", "consensus", "storage", "node"}
	if !matchOrder(stopped, wantStop, workers) {
		t.Fatalf("`actor stopped` records %v, want %v with * the two workers in any order", stopped, wantStop)
	}
	checkStoppedLast(t, recs, stopped)
	consensus := indexOf(recs, 0, "actor stopped", "consensus")
	for i, r := range recs {
		if r["msg"] == "store closed" && i < consensus {
			t.Fatalf("the store was closed (record %d) before consensus stopped (record %d)", i, consensus)
		}
	}
	stopping := -1
	for i, r := range recs {
		switch r["msg"] {
		case "node stopping":
			if stopping < 0 {
				stopping = i
			}
		case "actor crashed", "actor stop timed out", "actor stop handler panicked":
			t.Errorf("unexpected record during a clean stop: %v", r)
		}
	}
	if first := indexOf(recs, 0, "actor stopped", "api"); stopping < 0 || stopping > first {
		t.Errorf("`node stopping` (record %d) not logged before the first `actor stopped` (record %d)", stopping, first)
	}
	// The tree says so too, and the API's socket is closed.
	for name, a := range flatten(nd.n.Actors()) {
		if a.State != supervisor.StateStopped {
			t.Errorf("%s is %s after Stop", name, a.State)
		}
	}
	if c, err := net.DialTimeout("tcp", nd.n.APIAddr(), time.Second); err == nil {
		c.Close()
		t.Errorf("the API at %s still accepts connections after Stop", nd.n.APIAddr())
	}

	// The home reopens at once, with every acknowledged transfer.
	re, err := h.tryStart(t, actors.Options{})
	if err != nil {
		t.Fatalf("reopening right after the stop: %v", err)
	}
	acked, unexpected, _ := stream.result()
	if len(unexpected) > 0 {
		t.Fatalf("unexpected rejections: %v", unexpected)
	}
	checkAcked(t, acked, nodeLookup(re.n))
	re.stop()
	if lockError(nd.log) || lockError(re.log) {
		t.Fatalf("a lock error was logged: %s", re.log.Tail())
	}
}

// matchOrder reports whether got is want, where each "*" matches one of wild (each used once,
// in any order).
func matchOrder(got, want, wild []string) bool {
	if len(got) != len(want) {
		return false
	}
	left := slices.Clone(wild)
	for i, w := range want {
		if w != "*" {
			if got[i] != w {
				return false
			}
			continue
		}
		j := slices.Index(left, got[i])
		if j < 0 {
			return false
		}
		left = slices.Delete(left, j, j+1)
	}
	return len(left) == 0
}

// TestReopenAfterCrashAndKill reopens the same home in this process immediately after (a) a clean
// stop, (b) a crash of storage followed by a stop, (c) a kill of storage followed by a stop and
// (d) SIGKILL of a node process: no open fails, nothing logs a lock error, the chain is at least
// where the API last reported it, and the stored chain verifies.
func TestReopenAfterCrashAndKill(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Debug.FaultInjection = true
	})
	p, err := actors.ParamsFromConfig(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reopen := func(step string, last api.Status) {
		t.Helper()
		began := time.Now()
		re, err := h.tryStart(t, actors.Options{})
		if err != nil {
			t.Fatalf("%s: reopening failed: %v", step, err)
		}
		took := time.Since(began)
		st := re.status()
		if st.Height < last.Height {
			t.Fatalf("%s: height %d after reopening, %d was reported before", step, st.Height, last.Height)
		}
		if _, err := re.n.BlockByHash(ctx, mustHash(t, last.TipHash)); err != nil {
			t.Fatalf("%s: the last reported tip %s is gone: %v", step, last.TipHash, err)
		}
		re.stop()
		if lockError(re.log) {
			t.Fatalf("%s: the reopened node logged a lock error: %s", step, re.log.Tail())
		}
		rep, err := chainstate.Verify(h.cfg.Storage.Path, p, time.Second)
		if err != nil {
			t.Fatalf("%s: verify: %v", step, err)
		}
		t.Logf("%s: reopened in %v; verified %d blocks to height %d", step, took.Round(time.Millisecond), rep.Blocks, rep.Height)
	}
	fault := func(step, kind string) {
		t.Helper()
		nd := h.start(t, actors.Options{})
		nd.waitGrows(nd.status().Height, 10*time.Second, step+": mining")
		if kind != "" {
			before, _ := treeNode(nd.n.Actors(), "storage")
			var err error
			if kind == "crash" {
				err = nd.n.CrashActor("storage")
			} else {
				err = nd.n.KillActor("storage")
			}
			if err != nil {
				t.Fatalf("%s: %v", step, err)
			}
			testutil.WaitFor(t, 5*time.Second, step+": storage running again", func() bool {
				a, ok := treeNode(nd.n.Actors(), "storage")
				return ok && a.Restarts > before.Restarts && a.State == supervisor.StateRunning
			})
		}
		var last api.Status
		testutil.WaitFor(t, 5*time.Second, step+": status", func() bool {
			var err error
			last, err = nd.n.Status(ctx)
			return err == nil
		})
		nd.stop()
		if lockError(nd.log) {
			t.Fatalf("%s: a lock error was logged: %s", step, nd.log.Tail())
		}
		reopen(step, last)
	}
	fault("(a) after a clean stop", "")
	fault("(b) after a crash of storage and a stop", "crash")
	fault("(c) after a kill of storage and a stop", "kill")

	c := h.startChild(t)
	testutil.WaitFor(t, 10*time.Second, "(d) the node process mining", func() bool {
		st, err := c.api.Status(ctx)
		return err == nil && st.Height >= 3
	})
	last, err := c.api.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.kill()
	reopen("(d) after SIGKILL of the node process", last)
}

// inUseRE is what the error of a second node on a home in use must say.
var inUseRE = regexp.MustCompile(`(?i)in use`)

// TestHomeInUseFailsFast: a second node on a home whose node runs (in this process, or in another
// process) fails within storage.open_timeout (plus a margin) with an error that says the database
// is in use and names its file; the running node is unaffected.
func TestHomeInUseFailsFast(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Chain.PowBits = 10 })
	second := func(t *testing.T) {
		t.Helper()
		cfg := *h.cfg
		cfg.Storage.OpenTimeout = 500 * time.Millisecond
		cfg.API.Listen = "127.0.0.1:0"
		lb := &testutil.LogBuffer{}
		began := time.Now()
		n2, err := actors.Start(&cfg, actors.Options{Logger: slog.New(slog.NewJSONHandler(lb, nil))})
		took := time.Since(began)
		if err == nil {
			_ = n2.Stop(context.Background())
			t.Fatal("a second node started on a home in use")
		}
		t.Logf("the second start failed after %v: %v", took.Round(time.Millisecond), err)
		if took > 3*time.Second {
			t.Errorf("the second start took %v to fail, open_timeout is %v", took, cfg.Storage.OpenTimeout)
		}
		if !inUseRE.MatchString(err.Error()) {
			t.Errorf("error %q does not say the home is in use", err)
		}
		db := cfg.Storage.Path
		if !filepath.IsAbs(db) {
			db = filepath.Join(h.dir, db)
		}
		if !strings.Contains(err.Error(), db) {
			t.Errorf("error %q does not name the database file %s", err, db)
		}
	}

	t.Run("in-process", func(t *testing.T) {
		nd := h.start(t, actors.Options{})
		nd.waitHeight(1, 10*time.Second)
		second(t)
		nd.waitGrows(nd.status().Height, 10*time.Second, "the running node to go on mining")
		if _, err := nd.api.Status(context.Background()); err != nil {
			t.Fatalf("the running node's API: %v", err)
		}
		if !allRunning(nd.n.Actors()) {
			t.Fatalf("the running node's tree changed: %+v", nd.n.Actors())
		}
		nd.stop()
		if err := nd.n.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("other process", func(t *testing.T) {
		c := h.startChild(t)
		ctx := context.Background()
		var h0 uint64
		testutil.WaitFor(t, 10*time.Second, "the node process to mine", func() bool {
			st, err := c.api.Status(ctx)
			h0 = st.Height
			return err == nil && st.Height >= 1
		})
		second(t)
		testutil.WaitFor(t, 10*time.Second, "the node process to go on mining", func() bool {
			st, err := c.api.Status(ctx)
			return err == nil && st.Mining && st.Height > h0
		})
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-c.done:
			c.done <- err
			if err != nil {
				t.Fatalf("the node process exited with %v after SIGTERM: %s", err, c.logs.Tail())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the node process did not exit within 10s of SIGTERM")
		}
	})
}

// TestKeyFileReadableByOthersWarns: a node whose key files others can read starts (the key
// still works) and logs one warning per such file naming it; with mode 0600 it logs none.
func TestKeyFileReadableByOthersWarns(t *testing.T) {
	h := newHome(t, func(c *config.Config) { c.Chain.PowBits = 10; c.Mining.Enabled = false })
	warnings := func(t *testing.T) string {
		t.Helper()
		lb := &testutil.LogBuffer{}
		n, err := actors.Start(h.cfg, actors.Options{Logger: slog.New(slog.NewJSONHandler(lb, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range lb.Records("key file is readable or writable by others: chmod 600 it") {
			out = append(out, fmt.Sprint(r["err"]))
		}
		return strings.Join(out, "\n")
	}
	if w := warnings(t); w != "" {
		t.Fatalf("mode 0600 keys logged %s", w)
	}
	if err := os.Chmod(h.cfg.Mining.KeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	w := warnings(t)
	if !strings.Contains(w, h.cfg.Mining.KeyFile) || !strings.Contains(w, "0644") || strings.Contains(w, h.cfg.Node.KeyFile) {
		t.Fatalf("a 0644 miner key: warnings %q, want one naming %s and its mode", w, h.cfg.Mining.KeyFile)
	}
}
