package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
)

// TestChaosBadInput: impossible settings exit 2 with a message naming the flag, before anything
// starts.
func TestChaosBadInput(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "node0"), 0o755); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no nodes", []string{"--nodes", "0"}, "--nodes must be in 2..64, got 0"},
		{"one node", []string{"--nodes", "1"}, "--nodes"},
		{"too many nodes", []string{"--nodes", "65"}, "--nodes"},
		{"zero duration", []string{"--duration", "0"}, "--duration must be > 0"},
		{"negative duration", []string{"--duration", "-5s"}, "--duration must be > 0"},
		{"zero rounds", []string{"--rounds", "0"}, "--rounds must be >= 1"},
		{"duration and rounds", []string{"--duration", "10s", "--rounds", "3"}, "--duration or --rounds"},
		{"no senders", []string{"--senders", "0"}, "--senders"},
		{"zero interval", []string{"--interval", "0s"}, "--interval"},
		{"zero converge", []string{"--converge", "0s"}, "--converge"},
		{"bad pow bits", []string{"--pow-bits", "65"}, "--pow-bits"},
		{"bad link mode", []string{"--links", "proxy"}, `--links: want auto|netns|filter, got "proxy"`},
		{"port out of range", []string{"--base-port", "65534"}, "--base-port 65534"},
		{"port in use", []string{"--links", "filter", "--base-port", fmt.Sprint(port)}, "choose another --base-port"},
		{"port in use, one below", []string{"--links", "filter", "--base-port", fmt.Sprint(port - 1)}, "choose another --base-port"},
		{"dir not empty", []string{"--dir", full}, "--dir " + full + " exists and is not empty"},
		{"not a number", []string{"--seed", "x"}, "invalid argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"chaos", "--dir", filepath.Join(dir, "unused")}, tc.args...)...)
			r.want(t, exitUsage)
			if !strings.Contains(r.err.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", r.err.String(), tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "unused")); len(entries) > 0 {
		t.Fatalf("a refused run left %d entries in its --dir", len(entries))
	}
}

// TestChaosInterrupted: a SIGTERM while the schedule runs stops every node process and removes
// every namespace of the run, and the command exits 1 saying so. It runs the test binary as the
// node command (asNodeEnv); in both link modes.
func TestChaosInterrupted(t *testing.T) {
	t.Setenv(asNodeEnv, "1")
	for _, links := range []string{"auto", "filter"} {
		t.Run(links, func(t *testing.T) { testChaosInterrupted(t, links) })
	}
}

func testChaosInterrupted(t *testing.T, links string) {
	dir := filepath.Join(t.TempDir(), "chaos")
	base := freePorts(t, 6)
	r := cliStart(t, "chaos", "--seed", "5", "--duration", "5m", "--dir", dir, "--base-port", fmt.Sprint(base),
		"--pow-bits", "8", "--converge", "90s", "--links", links)
	testutil.WaitFor(t, 2*time.Minute, "the schedule to start", func() bool {
		return strings.Contains(r.out.String(), "schedule starts") || r.exited()
	})
	if r.exited() {
		t.Fatalf("chaos ended before its schedule started (exit %d):\n%s\n%s", r.code, r.out.String(), tail(r.err.String(), 20))
	}
	if n := len(nodeProcesses(t, dir)); n != 3 {
		t.Fatalf("%d node processes run on %s, want 3", n, dir)
	}
	if code := r.stop(t, time.Minute); code != exitFailure {
		t.Fatalf("exit %d after SIGTERM, want %d", code, exitFailure)
	}
	if !strings.Contains(r.err.String(), "interrupted") || !strings.Contains(r.out.String(), "interrupted") {
		t.Fatalf("the run does not say it was interrupted:\n%s\n%s", r.out.String(), r.err.String())
	}
	if ps := nodeProcesses(t, dir); len(ps) > 0 {
		t.Fatalf("node processes left behind: %v", ps)
	}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		if prefix := fmt.Sprintf("chaos-%d-", os.Getpid()); strings.Contains(string(out), prefix) {
			t.Fatalf("namespaces left behind:\n%s", out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "transcript.json")); err != nil {
		t.Fatalf("an interrupted run writes its transcript: %v", err)
	}
}

// nodeProcesses lists the pids of live processes whose command line mentions dir.
func nodeProcesses(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), dir) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(stat), ") Z ") {
			continue // a zombie is dead
		}
		if syscall.Kill(pid, 0) == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
