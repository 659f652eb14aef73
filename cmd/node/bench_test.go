package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/perf"
)

// TestBenchQuickImport runs `node bench --quick --only import` as JSON and as a table: one row,
// well formed, its ratio computed from the two numbers measured in the run. No figure is
// asserted (make check runs on shared machines).
func TestBenchQuickImport(t *testing.T) {
	out := cli(t, "bench", "--quick", "--only", "import", "--json").want(t, exitOK)
	got := decode[struct{ Results []perf.Result }](t, out)
	if len(got.Results) != 1 {
		t.Fatalf("%d rows, want 1:\n%s", len(got.Results), out)
	}
	r := got.Results[0]
	if r.Name != "import" || !strings.HasPrefix(r.Figure, "block import of 1,000 transfers") || r.Unit != "tx/s" || r.LimitUnit != "sig/s" {
		t.Errorf("row: %+v", r)
	}
	if r.Value <= 0 || r.Limit <= 0 || r.Ratio != r.Value/r.Limit {
		t.Errorf("ratio %v is not value %v / limit %v", r.Ratio, r.Value, r.Limit)
	}
	if len(r.Goals) != 1 || r.Met == nil || *r.Met != (r.Ratio >= r.Goals[0].Bound) {
		t.Errorf("goals %+v met %v for ratio %v", r.Goals, r.Met, r.Ratio)
	}

	table := cli(t, "bench", "--quick", "--only", "import").want(t, exitOK)
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "FIGURE") || !strings.HasPrefix(lines[1], "block import of 1,000 transfers") {
		t.Errorf("table:\n%s", table)
	}

	if r := cli(t, "bench", "--only", "nope"); r.code != exitUsage || !strings.Contains(r.err.String(), `unknown measurement "nope"`) {
		t.Errorf("unknown measurement: exit %d, %s", r.code, r.err.String())
	}
}

// TestRunPprof checks that `node run` serves /debug/pprof/ on the API listener only with
// debug.pprof: true.
func TestRunPprof(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("pprof=%v", on), func(t *testing.T) {
			home, _ := initHome(t, t.TempDir(), "a")
			port := freePorts(t, 1)
			editConfig(t, home, func(c *config.Config) {
				c.P2P.Listen = ""
				c.API.Listen = fmt.Sprintf("127.0.0.1:%d", port)
				c.Mining.Enabled = false
				c.Debug.Pprof = on
			})
			node := cliStart(t, "run", "--home", home)
			url := fmt.Sprintf("http://127.0.0.1:%d", port)
			client := apiClient(t, url)
			testutil.WaitFor(t, 20*time.Second, "the node's API answers", func() bool {
				if node.exited() {
					t.Fatalf("node exited %d: %s", node.code, tail(node.err.String(), 20))
				}
				_, err := client.Status(reqCtx(t))
				return err == nil
			})
			hc := &http.Client{Timeout: 5 * time.Second}
			for path, want := range map[string]int{"/debug/pprof/": 200, "/debug/pprof/heap?debug=1": 200, "/debug/pprof/cmdline": 200} {
				if !on {
					want = 404
				}
				resp, err := hc.Get(url + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s: %d, want %d: %.200s", path, resp.StatusCode, want, body)
				}
				if on && path == "/debug/pprof/heap?debug=1" && !strings.Contains(string(body), "heap profile") {
					t.Errorf("GET %s is not a heap profile: %.200s", path, body)
				}
			}
			if code := node.stop(t, 20*time.Second); code != exitOK {
				t.Fatalf("exit %d", code)
			}
		})
	}
}

// TestBenchSignalCancels: a signal during `node bench` stops the run (exit 1, naming the
// cancellation) and leaves no benchmark directory behind.
func TestBenchSignalCancels(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := cliStart(t, "bench", "--only", "ready")
	// A node of the run has opened its database: the run is under way (mining its chain).
	testutil.WaitFor(t, 20*time.Second, "a node of the run", func() bool {
		dbs, _ := filepath.Glob(filepath.Join(tmp, "actorchain-bench-*", "home-*", "data", "chain.db"))
		return len(dbs) > 0
	})
	if code := r.stop(t, 60*time.Second); code != exitFailure {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailure, r.err.String())
	}
	if !strings.Contains(r.err.String(), "cancel") {
		t.Errorf("stderr does not say the run was cancelled:\n%s", r.err.String())
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind in TMPDIR: %v", entries)
	}
}

// TestBenchQuickUser runs the user rows at quick sizes: child `node run` processes (this test
// binary in its node mode), `node tx send --count` senders and a `node peers add` sync. The rows
// must be well formed, each ratio the quotient of its two measured numbers, and the senders' and
// node's CPU reported; no figure is asserted (make check runs on shared machines).
func TestBenchQuickUser(t *testing.T) {
	t.Setenv(asNodeEnv, "1")
	out := cli(t, "bench", "--quick", "--only", "user-ingest,user-sync", "--json").want(t, exitOK)
	got := decode[struct{ Results []perf.Result }](t, out)
	want := []struct{ name, figure, unit, limitUnit string }{
		{"user-ingest", "durable ingest from 4 `node tx send --count 200 --concurrency 8` processes", "tx/s", "tx/s"},
		{"user-sync", "sync of 2,000 transfers between two `node run` processes", "tx/s", "sig/s"},
		{"user-sync-batch", "sync of 2,000 transfers between two `node run` processes", "tx/s", "tx/s"},
	}
	if len(got.Results) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(got.Results), len(want), out)
	}
	for i, w := range want {
		r := got.Results[i]
		if r.Name != w.name || !strings.HasPrefix(r.Figure, w.figure) || r.Unit != w.unit || r.LimitUnit != w.limitUnit {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
		if r.Value <= 0 || r.Limit <= 0 || r.Ratio != r.Value/r.Limit {
			t.Errorf("row %s: ratio %v is not value %v / limit %v", r.Name, r.Ratio, r.Value, r.Limit)
		}
		if len(r.Goals) != 1 || r.Met == nil {
			t.Fatalf("row %s: goals %+v met %v", r.Name, r.Goals, r.Met)
		}
		g := r.Goals[0]
		v := r.Ratio
		if g.On == "value" {
			v = r.Value
		}
		if *r.Met != (v >= g.Bound) || g.Op != ">=" {
			t.Errorf("row %s: goal %+v met %v for value %v ratio %v", r.Name, g, *r.Met, r.Value, r.Ratio)
		}
	}
	if g := got.Results[0].Goals[0]; g.On != "value" || g.Bound != 5000 {
		t.Errorf("user-ingest goal %+v, want value >= 5000", g)
	}
	for _, r := range got.Results[1:] {
		if g := r.Goals[0]; g.On != "ratio" || g.Bound != 0.8 {
			t.Errorf("%s goal %+v, want ratio >= 0.8", r.Name, g)
		}
	}
	if n := got.Results[0].Note; !strings.Contains(n, "CPU per transfer: node") || !strings.Contains(n, "group commits") {
		t.Errorf("user-ingest note: %q", n)
	}
	if got.Results[1].Value != got.Results[2].Value {
		t.Errorf("the two sync rows measure one sync: %v and %v", got.Results[1].Value, got.Results[2].Value)
	}
}
