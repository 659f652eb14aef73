package netsim

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestMakePlanProperties: for any seed and settings, the plan is the same when drawn again,
// nodes 0 and 1 are the seeds and every other node lists both (a seed the other one), the
// miners get exactly the workers asked for, and every link's latency is in range and the same
// both ways.
func TestMakePlanProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(3, 64).Draw(t, "nodes")
		ws := rapid.SliceOfN(rapid.IntRange(1, 8), 1, n).Draw(t, "workers")
		lo := rapid.IntRange(0, 200).Draw(t, "lo")
		hi := lo + rapid.IntRange(0, 200).Draw(t, "span")
		seed := rapid.Int64().Draw(t, "seed")
		s := PlanSettings{Nodes: n, MinerWorkers: ws, LatencyMin: time.Duration(lo) * time.Millisecond, LatencyMax: time.Duration(hi) * time.Millisecond}
		p, err := MakePlan(seed, s)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := MakePlan(seed, s)
		if !reflect.DeepEqual(p, again) {
			t.Fatal("the same seed and settings gave two plans")
		}
		for k := 0; k < n; k++ {
			want := []int{0, 1}
			if k < 2 {
				want = []int{1 - k}
			}
			if got := p.SeedsOf(k); !slices.Equal(got, want) {
				t.Fatalf("node%d seeds %v, want %v", k, got, want)
			}
			for j := 0; j < n; j++ {
				d := p.LatencyMs[k][j]
				if d != p.LatencyMs[j][k] {
					t.Fatalf("latency %d->%d = %d, back %d", k, j, d, p.LatencyMs[j][k])
				}
				if k != j && (d < lo || d > hi) {
					t.Fatalf("latency %d->%d = %d outside %d..%d", k, j, d, lo, hi)
				}
			}
		}
		var got []int
		for _, m := range p.Miners() {
			got = append(got, p.Workers[m])
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(ws))
		if !slices.Equal(got, want) {
			t.Fatalf("miners' workers %v, want %v", got, want)
		}
		if len(ws) <= n-NumSeeds && (p.Workers[0] != 0 || p.Workers[1] != 0) {
			t.Fatalf("a seed mines although %d miners fit among the %d other nodes", len(ws), n-NumSeeds)
		}
	})
}

func TestPlanSettingsRejected(t *testing.T) {
	ok := PlanSettings{Nodes: 8, MinerWorkers: []int{1}, LatencyMin: time.Millisecond, LatencyMax: 2 * time.Millisecond}
	for name, edit := range map[string]func(*PlanSettings){
		"two nodes":       func(s *PlanSettings) { s.Nodes = 2 },
		"no miner":        func(s *PlanSettings) { s.MinerWorkers = nil },
		"more miners":     func(s *PlanSettings) { s.MinerWorkers = make([]int, 9) },
		"zero workers":    func(s *PlanSettings) { s.MinerWorkers = []int{0} },
		"max below min":   func(s *PlanSettings) { s.LatencyMax = 0 },
		"over the filter": func(s *PlanSettings) { s.LatencyMax = time.Hour },
	} {
		s := ok
		edit(&s)
		if _, err := MakePlan(1, s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := MakePlan(1, ok); err != nil {
		t.Fatal(err)
	}
}

// TestPowBits: the interval 2^bits/rate lies within sqrt 2 of the target, threads beyond the
// cores add nothing, and a rate of zero gives the smallest difficulty.
func TestPowBits(t *testing.T) {
	for _, tc := range []struct {
		rate           float64
		workers, cores int
		target         time.Duration
		want           int
	}{
		{1 << 20, 1, 2, time.Second, 20},
		{1 << 20, 4, 2, 4 * time.Second, 23},
		{1 << 20, 8, 8, time.Second, 23},
		{0, 1, 1, time.Second, 1},
		{1000, 1, 1, time.Millisecond, 1},
	} {
		if got := PowBits(tc.rate, tc.workers, tc.cores, tc.target); got != tc.want {
			t.Errorf("PowBits(%v, %d, %d, %s) = %d, want %d", tc.rate, tc.workers, tc.cores, tc.target, got, tc.want)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		rate := rapid.Float64Range(1e3, 1e9).Draw(t, "rate")
		target := time.Duration(rapid.Int64Range(int64(100*time.Millisecond), int64(time.Minute)).Draw(t, "target"))
		bits := PowBits(rate, 1, 1, target)
		interval := math.Exp2(float64(bits)) / rate
		if bits > 1 && (interval > target.Seconds()*math.Sqrt2*1.0001 || interval < target.Seconds()/math.Sqrt2/1.0001) {
			t.Fatalf("bits %d give %.3fs for a target of %s", bits, interval, target)
		}
	})
}
