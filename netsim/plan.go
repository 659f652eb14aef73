package netsim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Plan is the shape of one run, a pure function of the seed and the settings: which nodes are
// the seeds, which mine with how many workers, and the one-way latency of every link.
type Plan struct {
	Nodes int `json:"nodes"`
	// Seeds are the seed nodes (p2p.seeds of every node: both seeds; of a seed: the other one).
	Seeds []int `json:"seeds"`
	// Workers[k] is node k's mining.workers; 0 for a node that does not mine.
	Workers []int `json:"workers"`
	// LatencyMs[a][b] is the one-way delay of the traffic from a to b, equal to LatencyMs[b][a].
	LatencyMs [][]int `json:"-"`
}

// PlanSettings are what a plan is drawn from.
type PlanSettings struct {
	Nodes int
	// MinerWorkers lists the miners' worker counts (their hash-rate shares on a machine with a
	// core per worker; on fewer cores the scheduler shares them out in the same proportion).
	MinerWorkers []int
	LatencyMin   time.Duration
	LatencyMax   time.Duration
}

// NumSeeds is how many seed nodes a network has.
const NumSeeds = 2

// Validate reports the first problem of s.
func (s PlanSettings) Validate() error {
	switch {
	case s.Nodes < NumSeeds+1:
		return fmt.Errorf("netsim: nodes must be at least %d, got %d", NumSeeds+1, s.Nodes)
	case len(s.MinerWorkers) == 0:
		return errors.New("netsim: at least one miner")
	case len(s.MinerWorkers) > s.Nodes:
		return fmt.Errorf("netsim: %d miners for %d nodes", len(s.MinerWorkers), s.Nodes)
	case s.LatencyMin < 0 || s.LatencyMax < s.LatencyMin:
		return fmt.Errorf("netsim: latency range %s..%s: want 0 <= min <= max", s.LatencyMin, s.LatencyMax)
	case s.LatencyMax > 60*time.Second:
		return fmt.Errorf("netsim: latency %s over the link filter's 60 s", s.LatencyMax)
	}
	for i, w := range s.MinerWorkers {
		if w < 1 || w > 64 {
			return fmt.Errorf("netsim: miner %d has %d workers, want 1..64", i, w)
		}
	}
	return nil
}

// MakePlan draws the plan of seed and s: nodes 0 and 1 are the seeds; the miners are drawn among
// the other nodes (a seed mines only when every node mines); each link's one-way latency is drawn
// uniformly from [LatencyMin, LatencyMax] in whole milliseconds, the same both ways.
func MakePlan(seed int64, s PlanSettings) (Plan, error) {
	if err := s.Validate(); err != nil {
		return Plan{}, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e657473696d))
	p := Plan{Nodes: s.Nodes, Seeds: []int{0, 1}, Workers: make([]int, s.Nodes)}
	candidates := rng.Perm(s.Nodes - NumSeeds)
	for i := range candidates {
		candidates[i] += NumSeeds
	}
	candidates = append(candidates, 0, 1)
	for i, w := range s.MinerWorkers {
		p.Workers[candidates[i]] = w
	}
	lo, hi := int(s.LatencyMin/time.Millisecond), int(s.LatencyMax/time.Millisecond)
	p.LatencyMs = make([][]int, s.Nodes)
	for a := range p.LatencyMs {
		p.LatencyMs[a] = make([]int, s.Nodes)
	}
	for a := 0; a < s.Nodes; a++ {
		for b := a + 1; b < s.Nodes; b++ {
			d := lo + rng.IntN(hi-lo+1)
			p.LatencyMs[a][b], p.LatencyMs[b][a] = d, d
		}
	}
	return p, nil
}

// SeedsOf are the seed nodes node k lists in p2p.seeds.
func (p Plan) SeedsOf(k int) []int {
	return slices.DeleteFunc(slices.Clone(p.Seeds), func(s int) bool { return s == k })
}

// Miners lists the mining nodes in index order.
func (p Plan) Miners() []int {
	var out []int
	for k, w := range p.Workers {
		if w > 0 {
			out = append(out, k)
		}
	}
	return out
}

// PowBits is the fixed difficulty that gives about target between blocks when the miners' workers
// hash at perThread hashes a second each on cores CPUs (never more threads than cores at once):
// the expected interval is 2^bits / rate, so bits = round(log2(rate * target)), at least 1. The
// interval it gives lies within a factor sqrt 2 of target when the rate holds.
func PowBits(perThread float64, workers, cores int, target time.Duration) int {
	rate := perThread * float64(min(workers, max(cores, 1)))
	if rate <= 0 || target <= 0 {
		return 1
	}
	return max(1, int(math.Round(math.Log2(rate*target.Seconds()))))
}
