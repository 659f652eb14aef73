package chaos

import (
	"slices"

	"github.com/actorchain/actorchain/localnet"
)

// Link is the state of the traffic from one node to another (localnet.Link): cut, or delayed and
// lossy. The zero Link is a healthy link.
type Link = localnet.Link

// Pair is a directed link, From's traffic to To.
type Pair struct{ From, To int }

// LinkTable is the effective state of every unhealthy directed link while the faults active
// (indexes into faults) are in force: a partition cuts both directions of every link across it;
// a link fault delays and drops both directions between its two nodes. Overlapping faults merge:
// a link is cut if any fault cuts it, its delay and loss are the largest any fault sets. Healthy
// links are absent, so no active faults give an empty table.
func LinkTable(faults []Fault, active []int, nodes int) map[Pair]Link {
	t := map[Pair]Link{}
	merge := func(p Pair, l Link) {
		old := t[p]
		t[p] = Link{Cut: old.Cut || l.Cut, DelayMs: max(old.DelayMs, l.DelayMs), Loss: max(old.Loss, l.Loss)}
	}
	for _, i := range active {
		f := faults[i]
		switch f.Kind {
		case KindPartition:
			for a := 0; a < nodes; a++ {
				for b := 0; b < nodes; b++ {
					if slices.Contains(f.Group, a) && !slices.Contains(f.Group, b) {
						merge(Pair{a, b}, Link{Cut: true})
						merge(Pair{b, a}, Link{Cut: true})
					}
				}
			}
		case KindLink:
			l := Link{DelayMs: f.DelayMs, Loss: f.Loss}
			if l == (Link{}) {
				continue
			}
			merge(Pair{f.Node, f.Peer}, l)
			merge(Pair{f.Peer, f.Node}, l)
		}
	}
	return t
}

// LinkChanges lists the directed links whose state differs between two tables, with their new
// state (the zero Link for a link that healed), in a stable order.
func LinkChanges(old, new map[Pair]Link) []LinkChange {
	var out []LinkChange
	for p, l := range new {
		if old[p] != l {
			out = append(out, LinkChange{p, l})
		}
	}
	for p := range old {
		if _, ok := new[p]; !ok {
			out = append(out, LinkChange{p, Link{}})
		}
	}
	slices.SortFunc(out, func(a, b LinkChange) int {
		if a.From != b.From {
			return a.From - b.From
		}
		return a.To - b.To
	})
	return out
}

// LinkChange is the new state of one directed link.
type LinkChange struct {
	Pair
	Link Link
}
