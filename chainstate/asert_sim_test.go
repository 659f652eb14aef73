package chainstate

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// asertSim mines a simulated chain under ASERT: a network of hashrate hashes per ms finds the
// block after each parent in an exponentially distributed time whose mean is the block's work
// over the hashrate (work = 2^256/(target+1)), the target going through its compact form as in a
// header. It records each block's interval.
type asertSim struct {
	a         ASERT
	rng       *rand.Rand
	height    uint64
	timeMs    float64
	hashrate  float64 // hashes per ms
	intervals []float64
}

func newASERTSim(seed uint64, idealMs, halfLifeMs int64, startFactor float64) *asertSim {
	// The hashrate finds a block of the anchor's target in startFactor x the ideal interval.
	anchor := new(big.Int).Lsh(big.NewInt(1), 220)
	anchor, _ = CompactToTarget(TargetToCompact(anchor))
	work, _ := new(big.Float).SetInt(WorkForTarget(anchor)).Float64()
	return &asertSim{
		a:        ASERT{AnchorHeight: 1, AnchorTimeMs: 1_796_000_000_000, AnchorTarget: anchor, IdealMs: idealMs, HalfLifeMs: halfLifeMs},
		rng:      rand.New(rand.NewPCG(seed, 0x5eed)),
		height:   1,
		timeMs:   1_796_000_000_000,
		hashrate: work / (startFactor * float64(idealMs)),
	}
}

// mine adds n blocks.
func (s *asertSim) mine(n int) {
	for range n {
		target, err := CompactToTarget(TargetToCompact(s.a.Next(s.height, uint64(s.timeMs))))
		if err != nil {
			panic(err)
		}
		work, _ := new(big.Float).SetInt(WorkForTarget(target)).Float64()
		dt := s.rng.ExpFloat64() * work / s.hashrate
		dt = math.Max(1, math.Round(dt)) // whole ms, and time moves on
		s.timeMs += dt
		s.height++
		s.intervals = append(s.intervals, dt)
	}
}

// expected is the mean interval, in ms, the network's hashrate gives the next block.
func (s *asertSim) expected() float64 {
	target, err := CompactToTarget(TargetToCompact(s.a.Next(s.height, uint64(s.timeMs))))
	if err != nil {
		panic(err)
	}
	work, _ := new(big.Float).SetInt(WorkForTarget(target)).Float64()
	return work / s.hashrate
}

// TestASERTConverges (CONTRACT §10, issue 11 §1): from a start 16x too easy or 16x too hard the
// block interval comes within 20% of the target over 200 blocks (the mean of blocks 200 to 400;
// ideal 1 s, half-life 30 s: ASERT makes up a 16x error as 4 half-lives of schedule, so the
// half-life bounds how fast it can).
func TestASERTConverges(t *testing.T) {
	const ideal, halfLife = int64(1000), int64(30_000)
	for _, start := range []float64{1.0 / 16, 16} {
		for seed := uint64(1); seed <= 8; seed++ {
			s := newASERTSim(seed, ideal, halfLife, start)
			s.mine(400)
			sum := 0.0
			for _, d := range s.intervals[200:400] {
				sum += d
			}
			if mean := sum / 200; math.Abs(mean/float64(ideal)-1) > 0.2 {
				t.Errorf("start %gx the ideal interval, seed %d: blocks 200-400 came every %.0f ms, want %d ms +-20%%", start, seed, mean, ideal)
			}
		}
	}
}

// TestASERTFollowsHashrate: after the network's hashrate halves or doubles, the interval its
// targets give (the expected interval, free of the sampling noise of a few blocks) is back
// within 25% of the ideal over the third half-life after the change, and within 10% after six.
// ASERT's own arithmetic bounds this: a halving leaves 1.25x at 2 half-lives, 1.12x at 3
// (dL/dt = (1 - 2^(L-1)) per half-life, L the half-lives of easing made up); a doubling 0.875x
// at 2. Ideal 1 s, half-life 100 s, 8 seeds each.
func TestASERTFollowsHashrate(t *testing.T) {
	const ideal, halfLife = int64(1000), int64(100_000)
	hl := float64(halfLife)
	for _, change := range []float64{0.5, 2} {
		for seed := uint64(1); seed <= 8; seed++ {
			s := newASERTSim(seed, ideal, halfLife, 1)
			s.mine(300)
			at := s.timeMs
			s.hashrate *= change
			sum, n := 0.0, 0
			for s.timeMs < at+3*hl {
				if s.timeMs >= at+2*hl {
					sum, n = sum+s.expected(), n+1
				}
				s.mine(1)
			}
			if mean := sum / float64(n) / float64(ideal); math.Abs(mean-1) > 0.25 {
				t.Errorf("hashrate x%g, seed %d: the third half-life after the change gives %.2fx the ideal interval, want within 25%%", change, seed, mean)
			}
			for s.timeMs < at+6*hl {
				s.mine(1)
			}
			if e := s.expected() / float64(ideal); math.Abs(e-1) > 0.1 {
				t.Errorf("hashrate x%g, seed %d: six half-lives after the change the target gives %.2fx the ideal interval, want within 10%%", change, seed, e)
			}
		}
	}
}
