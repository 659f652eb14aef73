package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNetsimBadInput: impossible settings exit 2 with a message naming the flag, before anything
// starts (no home is made).
func TestNetsimBadInput(t *testing.T) {
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
		{"two nodes", []string{"--nodes", "2"}, "--nodes must be in 3..64, got 2"},
		{"too many nodes", []string{"--nodes", "65"}, "--nodes"},
		{"no blocks", []string{"--blocks", "0"}, "--blocks must be >= 1"},
		{"zero block time", []string{"--block-time", "0s"}, "--block-time must be > 0"},
		{"bad pow bits", []string{"--pow-bits", "65"}, "--pow-bits"},
		{"latency backwards", []string{"--latency-min", "200ms", "--latency-max", "100ms"}, "--latency-min 200ms and --latency-max 100ms"},
		{"latency too long", []string{"--latency-max", "2m"}, "--latency-max"},
		{"bad miners", []string{"--miners", "2,x"}, `--miners: want worker counts 1..64 separated by commas, got "2,x"`},
		{"zero workers", []string{"--miners", "0"}, "--miners"},
		{"more miners than nodes", []string{"--nodes", "3", "--miners", "1,1,1,1"}, "--miners lists 4 miners for 3 nodes"},
		{"no outbound", []string{"--max-outbound", "0"}, "--max-outbound"},
		{"no senders", []string{"--senders", "0"}, "--senders"},
		{"zero tx interval", []string{"--tx-interval", "0s"}, "--tx-interval"},
		{"negative idle", []string{"--idle", "-1s"}, "--idle"},
		{"bad link mode", []string{"--links", "proxy"}, `--links: want auto|netns|filter, got "proxy"`},
		{"port out of range", []string{"--base-port", "65530"}, "--base-port 65530"},
		{"port in use", []string{"--links", "filter", "--nodes", "3", "--base-port", fmt.Sprint(port)}, "choose another --base-port"},
		{"dir not empty", []string{"--dir", full}, "--dir " + full + " exists and is not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"netsim", "--dir", filepath.Join(dir, "unused")}, tc.args...)...)
			r.want(t, exitUsage)
			if !strings.Contains(r.err.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", r.err.String(), tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "unused")); len(entries) > 0 {
		t.Fatalf("a refused run made %d entries in its dir", len(entries))
	}
}
