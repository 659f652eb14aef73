package localnet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The kernel's neighbour (ARP) table is one table for every network namespace together, bounded
// by net.ipv4.neigh.default.gc_thresh2 (kept a while) and gc_thresh3 (the hard limit; 512 and
// 1024 by default). n nodes on one bridge resolve about n*(n+1) neighbours (each node its peers
// and the harness, the harness every node): at 64 nodes over 4,000, and past the limit the kernel
// drops what it cannot resolve ("neighbor table overflow!"), so whole nodes went silent in a
// 64-node netsim run. SetupNetns raises the two limits for the run and Close puts them back.
const neighDir = "/proc/sys/net/ipv4/neigh/default/"

// neighbourLimits returns the gc_thresh2 and gc_thresh3 that n nodes need, never below cur.
func neighbourLimits(n int, cur [2]int) [2]int {
	need := n * (n + 1)
	return [2]int{max(cur[0], need), max(cur[1], 2*need)}
}

// neighbourRoom raises the limits for n nodes and returns the values to restore (nil when none
// changed).
func neighbourRoom(n int) (restore map[string]string, err error) {
	names := [2]string{"gc_thresh2", "gc_thresh3"}
	var cur [2]int
	old := map[string]string{}
	for i, name := range names {
		b, err := os.ReadFile(neighDir + name)
		if err != nil {
			return nil, fmt.Errorf("neighbour table limits: %w", err)
		}
		old[name] = strings.TrimSpace(string(b))
		if cur[i], err = strconv.Atoi(old[name]); err != nil {
			return nil, fmt.Errorf("neighbour table limits: %s is %q", name, old[name])
		}
	}
	want := neighbourLimits(n, cur)
	if want == cur {
		return nil, nil
	}
	// gc_thresh3 first: the kernel wants thresh2 <= thresh3 at every step.
	for _, i := range []int{1, 0} {
		if want[i] == cur[i] {
			continue
		}
		if err := os.WriteFile(neighDir+names[i], []byte(strconv.Itoa(want[i])), 0o644); err != nil {
			restoreNeighbour(old)
			return nil, fmt.Errorf("neighbour table limits for %d nodes: %w", n, err)
		}
	}
	return old, nil
}

// restoreNeighbour writes back what neighbourRoom changed (gc_thresh2 first, then gc_thresh3).
func restoreNeighbour(old map[string]string) error {
	var first error
	for _, name := range []string{"gc_thresh2", "gc_thresh3"} {
		if v, ok := old[name]; ok {
			if err := os.WriteFile(neighDir+name, []byte(v), 0o644); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
