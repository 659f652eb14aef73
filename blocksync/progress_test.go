package blocksync

import (
	"testing"
	"time"
)

func TestProgressReports(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	p := NewProgress(5*time.Second, 100)
	type obs struct {
		at             float64
		height, target uint64
		syncing        bool
		want           *Report
	}
	for i, o := range []obs{
		{0, 1000, 5000, true, nil},   // the sync begins: nothing yet
		{4.9, 1400, 5000, true, nil}, // not 5 s yet
		{5, 1500, 5000, true, &Report{Kind: ProgressReport, Height: 1500, Target: 5000, BlocksPerSecond: 100, ETA: 35 * time.Second}},
		{9, 1900, 5000, true, nil},
		{10, 2000, 6000, true, &Report{Kind: ProgressReport, Height: 2000, Target: 6000, BlocksPerSecond: 100, ETA: 40 * time.Second}},
		{16, 2000, 6000, true, &Report{Kind: ProgressReport, Height: 2000, Target: 6000, BlocksPerSecond: 0, ETA: -1}}, // stalled: ETA unknown
		{20, 6000, 6000, false, &Report{Kind: FinishedReport, Height: 6000, Target: 6000, Blocks: 5000, Elapsed: 20 * time.Second, BlocksPerSecond: 250, CaughtUp: true}},
		{30, 6000, 6000, false, nil}, // caught up: silent
		{40, 6000, 6001, true, nil},  // one gossiped block: a short catch-up
		{40.2, 6001, 6001, false, nil},
		{50, 6001, 6500, true, nil}, // 499 blocks behind, the peer goes away after 2 s
		{52, 6200, 6500, false, &Report{Kind: FinishedReport, Height: 6200, Target: 6500, Blocks: 199, Elapsed: 2 * time.Second, BlocksPerSecond: 99.5}},
	} {
		got, ok := p.Observe(at(o.at), o.height, o.target, o.syncing)
		switch {
		case ok != (o.want != nil):
			t.Fatalf("step %d (t=%vs): report %v %+v, want %+v", i, o.at, ok, got, o.want)
		case ok && got != *o.want:
			t.Fatalf("step %d (t=%vs): got %+v, want %+v", i, o.at, got, *o.want)
		}
	}
}

// TestProgressLongSync is issue 12's rule on a synthetic timeline: a sync of 18,000 blocks at
// about 124 blocks a second (observed at every block and at every 1 s tick, as the peer manager
// sees it) gives at most one progress report per 5 s and exactly one summary, of all 18,000
// blocks.
func TestProgressLongSync(t *testing.T) {
	const blocks, target = 18_000, 18_000
	p := NewProgress(5*time.Second, 100)
	var progress []time.Time
	var summaries []Report
	observe := func(now time.Time, h uint64, syncing bool) {
		r, ok := p.Observe(now, h, target, syncing)
		switch {
		case !ok:
		case r.Kind == ProgressReport:
			progress = append(progress, now)
		case r.Kind == FinishedReport:
			summaries = append(summaries, r)
		}
	}
	perBlock := 8063 * time.Microsecond // 18,000 blocks in about 145 s
	now := t0
	nextTick := t0.Add(time.Second)
	for h := uint64(0); h < blocks; h++ {
		observe(now, h, true)
		now = now.Add(perBlock)
		for !nextTick.After(now) {
			observe(nextTick, h, true)
			nextTick = nextTick.Add(time.Second)
		}
	}
	observe(now, blocks, false)
	elapsed := now.Sub(t0)
	if max := int(elapsed / (5 * time.Second)); len(progress) > max || len(progress) < max-1 {
		t.Errorf("%d progress reports in %v; want about one per 5 s (%d)", len(progress), elapsed, max)
	}
	for i := 1; i < len(progress); i++ {
		if d := progress[i].Sub(progress[i-1]); d < 5*time.Second {
			t.Errorf("reports %d and %d only %v apart", i-1, i, d)
		}
	}
	if len(summaries) != 1 || summaries[0].Blocks != blocks || !summaries[0].CaughtUp || summaries[0].Elapsed != elapsed {
		t.Fatalf("summaries %+v; want one of %d blocks over %v", summaries, blocks, elapsed)
	}
	if r := summaries[0].BlocksPerSecond; r < 123 || r > 125 {
		t.Errorf("summary rate %.1f blocks/s; want about 124", r)
	}
}
