package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/internal/testutil"
)

// scrapeMetric returns the value of an unlabelled metric from the node's /metrics.
func scrapeMetric(t *testing.T, n *actors.Node, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s in /metrics", name)
	return 0
}

func (nd *node) health() api.Health {
	nd.t.Helper()
	h, err := nd.api.Health(context.Background())
	if err != nil {
		nd.t.Fatalf("GET /v1/health: %v", err)
	}
	return h
}

func component(h api.Health, name string) api.HealthComponent {
	for _, c := range h.Components {
		if c.Name == name {
			return c
		}
	}
	return api.HealthComponent{Name: name + " (missing)"}
}

// hashesStill waits (bounded) until the hash counter stands still over a 200 ms window and
// returns the still value; it fails if it keeps moving.
func hashesStill(t *testing.T, n *actors.Node, d time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(d)
	prev := scrapeMetric(t, n, "actorchain_miner_hashes_total")
	for {
		time.Sleep(200 * time.Millisecond) // the measuring window
		cur := scrapeMetric(t, n, "actorchain_miner_hashes_total")
		if cur == prev {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("actorchain_miner_hashes_total still grows after %s (%v -> %v): the miners are not paused", d, prev, cur)
		}
		prev = cur
	}
}

// TestStorageFaultHealth (CONTRACT §9): while storage commits fail the node reports itself
// unhealthy (health 503 naming the storage failure, status and metric agree), refuses transfers
// with 503 storage_unavailable, pauses its miners, keeps serving reads and writes few warnings;
// once commits succeed it is healthy again by itself and mines on.
func TestStorageFaultHealth(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Chain.PowBits = 10
		c.Mining.Workers = 1
		c.Debug.FaultInjection = true
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	nd.waitHeight(2, 20*time.Second)
	if hl := nd.health(); !hl.Healthy || len(hl.Components) < 5 {
		t.Fatalf("health of a fresh mining node: %+v", hl)
	}
	if !nd.status().Healthy || scrapeMetric(t, nd.n, "actorchain_healthy") != 1 {
		t.Fatalf("status healthy %v, actorchain_healthy %v; want true and 1", nd.status().Healthy, scrapeMetric(t, nd.n, "actorchain_healthy"))
	}
	// Control: the miners hash while commits succeed.
	c0 := scrapeMetric(t, nd.n, "actorchain_miner_hashes_total")
	testutil.WaitFor(t, 5*time.Second, "the hash counter to grow", func() bool { return scrapeMetric(t, nd.n, "actorchain_miner_hashes_total") > c0 })

	logOff := nd.log.Len()
	if _, err := nd.n.SetStorageFault(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	testutil.WaitFor(t, 5*time.Second, "health to turn unhealthy", func() bool { return !nd.health().Healthy })
	hl := nd.health()
	st := component(hl, "storage")
	if st.Healthy || !strings.Contains(st.Error, "injected storage fault") || st.Since.IsZero() {
		t.Fatalf("storage component while commits fail: %+v, want unhealthy naming the fault", st)
	}
	if m := component(hl, "miner"); m.Healthy || !strings.Contains(m.Error, "paused") {
		t.Errorf("miner component while commits fail: %+v, want paused", m)
	}
	if nd.status().Healthy || scrapeMetric(t, nd.n, "actorchain_healthy") != 0 {
		t.Errorf("status healthy %v, actorchain_healthy %v while commits fail; want false and 0", nd.status().Healthy, scrapeMetric(t, nd.n, "actorchain_healthy"))
	}

	// A valid transfer is refused: it could not be made durable.
	p, err := actors.ParamsFromConfig(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tx := transfer(p, h.wallet, addrOf(newKey(t, 7)), 5, 1, 0)
	_, err = nd.api.SubmitTx(context.Background(), api.TxFromChain(tx))
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != errcode.StorageUnavailable {
		t.Fatalf("POST /v1/txs while commits fail: %v, want 503 storage_unavailable", err)
	}
	// The miners pause: the hash counter stands still, and so does the height.
	still := hashesStill(t, nd.n, 3*time.Second)
	height := nd.status().Height
	// Reads are served.
	if _, err := nd.n.BlockAt(context.Background(), 1); err != nil {
		t.Fatalf("GET /v1/blocks/1 while commits fail: %v", err)
	}
	if _, err := nd.api.Status(context.Background()); err != nil {
		t.Fatalf("GET /v1/status while commits fail: %v", err)
	}
	// Let the fault last a second more: still no hashing, no block.
	time.Sleep(time.Second) // the measuring window
	if now := scrapeMetric(t, nd.n, "actorchain_miner_hashes_total"); now != still {
		t.Errorf("hash counter moved from %v to %v while paused", still, now)
	}
	if now := nd.status().Height; now != height {
		t.Errorf("height moved from %d to %d while commits fail", height, now)
	}
	// Warnings are few (rate-limited, and nothing loops on the failure).
	var warns []string
	for _, r := range nd.log.RecordsSince(logOff) {
		if l := r["level"]; l == "WARN" || l == "ERROR" {
			warns = append(warns, fmt.Sprint(r["msg"]))
		}
	}
	if len(warns) > 20 {
		t.Errorf("%d warn/error records in %s of failing commits, want <= 20: %v", len(warns), time.Since(began).Round(time.Millisecond), warns)
	}

	if _, err := nd.n.SetStorageFault(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	cleared := time.Now()
	testutil.WaitFor(t, 10*time.Second, "health to recover by itself", func() bool { return nd.health().Healthy })
	t.Logf("healthy again %v after commits succeed; %d warn/error records while they failed", time.Since(cleared).Round(time.Millisecond), len(warns))
	if st := component(nd.health(), "storage"); !st.Healthy || st.Error != "" || !st.Since.After(began) {
		t.Errorf("storage component after recovery: %+v, want healthy since the recovery", st)
	}
	nd.waitGrows(height, 20*time.Second, "mining to resume after recovery")
	if _, err := nd.api.SubmitTx(context.Background(), api.TxFromChain(tx)); err != nil {
		t.Fatalf("the transfer after recovery: %v", err)
	}
}

// TestRestartBudgetStopsNode (CONTRACT §9): a vital actor that restarts more often than
// supervision.max_restarts within supervision.window, slowly enough for the restart intensity,
// turns the node unhealthy at 3 restarts and then stops it in order with an error naming it and
// exactly one `node gave up` record.
func TestRestartBudgetStopsNode(t *testing.T) {
	h := newHome(t, func(c *config.Config) {
		c.Debug.FaultInjection = true
		c.Mining.Enabled = false
		c.Supervision = config.Supervision{MaxRestarts: 3, Window: time.Minute}
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	if !nd.health().Healthy {
		t.Fatalf("fresh node unhealthy: %+v", nd.health())
	}
	crashTimes(t, nd, "mempool", 3)
	hl := nd.health()
	if hl.Healthy {
		t.Fatalf("health after 3 mempool restarts in a few seconds: %+v, want unhealthy", hl)
	}
	if c := component(hl, "mempool"); c.Healthy || c.RestartsRecent != 3 || !strings.Contains(c.Error, "restarted 3 times") {
		t.Fatalf("mempool component after 3 restarts: %+v", c)
	}
	select {
	case <-nd.n.Done():
		t.Fatal("the node stopped within its restart budget")
	default:
	}
	if err := nd.n.CrashActor("mempool"); err != nil {
		t.Fatalf("fourth crash: %v", err)
	}
	select {
	case <-nd.n.Done():
	case <-time.After(15 * time.Second):
		t.Fatal("the node did not stop within 15 s after mempool exceeded its restart budget")
	}
	err := nd.n.Err()
	if err == nil || !strings.Contains(err.Error(), "node gave up") || !strings.Contains(err.Error(), "mempool") ||
		!strings.Contains(err.Error(), "fault injection") {
		t.Fatalf("Err() = %v, want `node gave up` naming mempool and its last error", err)
	}
	gave := nd.log.Records("node gave up")
	if len(gave) != 1 || gave[0]["actor"] != "mempool" || gave[0]["limit"] != "budget" || !strings.Contains(fmt.Sprint(gave[0]["err"]), "fault injection") {
		t.Fatalf("`node gave up` records %v, want one naming mempool, the budget and the last error", gave)
	}
	stopped := testutil.ActorsOf(nd.log.Records(), "actor stopped")
	checkStoppedLast(t, nd.log.Records(), stopped)
}

// TestBusyPortFailsAtOnce: an API or p2p address in use fails Start at once with an error naming
// the address, and no actor is restarted (a restart cannot free a port).
func TestBusyPortFailsAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	for _, which := range []string{"api", "p2p"} {
		t.Run(which, func(t *testing.T) {
			h := newHome(t, func(c *config.Config) {
				if which == "api" {
					c.API.Listen = busy
				} else {
					c.P2P.Listen = busy
				}
			})
			lb := &testutil.LogBuffer{}
			began := time.Now()
			n, err := actors.Start(h.cfg, actors.Options{Logger: slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err == nil {
				_ = n.Stop(context.Background())
				t.Fatalf("Start with the %s address %s in use succeeded", which, busy)
			}
			if took := time.Since(began); took > 5*time.Second || !strings.Contains(err.Error(), busy) {
				t.Fatalf("Start: %v after %v, want an error naming %s within 5 s", err, took, busy)
			}
			if r := lb.Records("actor restarted", "actor crashed"); len(r) != 0 {
				t.Fatalf("records %v: nothing should be restarted", r)
			}
		})
	}
}

// TestFullDiskHealth: a real full disk (a small tmpfs, needs root) makes storage commits fail
// with the disk's own error; the node turns unhealthy, and healthy again once space is freed.
func TestFullDiskHealth(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: TestFullDiskHealth needs root to mount a small tmpfs (the full disk); run it as root")
	}
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: TestFullDiskHealth could not mount a tmpfs at %s (%v: %s); it needs mount rights", mnt, err, strings.TrimSpace(string(out)))
	}
	// Cleanups run last-in first-out: this one runs after the node's stop.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	h := newHome(t, func(c *config.Config) {
		c.Storage.Path = filepath.Join(mnt, "chain.db")
		c.Chain.PowBits = 8
		c.Mining.Workers = 1
	})
	nd := h.start(t, actors.Options{})
	nd.dumpOnFailure()
	nd.waitHeight(3, 20*time.Second)
	if !nd.health().Healthy {
		t.Fatalf("node on the tmpfs unhealthy before the disk is full: %+v", nd.health())
	}
	// Fill the disk.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break // ENOSPC: full
		}
	}
	_ = f.Close()
	testutil.WaitFor(t, 20*time.Second, "health to turn unhealthy on the full disk", func() bool { return !nd.health().Healthy })
	st := component(nd.health(), "storage")
	if st.Healthy || !strings.Contains(st.Error, "no space left on device") {
		t.Fatalf("storage component on a full disk: %+v, want the disk's error", st)
	}
	hashesStill(t, nd.n, 3*time.Second)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "health to recover once space is freed", func() bool { return nd.health().Healthy })
	nd.waitGrows(nd.status().Height, 20*time.Second, "mining to resume once space is freed")
	// The failed commits left nothing half-written.
	nd.stop()
	p, err := actors.ParamsFromConfig(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chainstate.Verify(h.cfg.Storage.Path, p, time.Second); err != nil {
		t.Fatalf("verify after the full disk: %v", err)
	}
}
