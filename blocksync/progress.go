package blocksync

import "time"

// ReportKind says what a Report is.
type ReportKind int

const (
	// ProgressReport is the periodic report while a sync runs (`sync progress`).
	ProgressReport ReportKind = iota + 1
	// FinishedReport is the summary when a sync ends (`sync finished`).
	FinishedReport
)

// Report is one progress report or one summary.
type Report struct {
	Kind ReportKind
	// Height is the node's height, Target the best height its peers announced.
	Height, Target uint64
	// BlocksPerSecond is the rate since the previous report (ProgressReport) or over the whole
	// sync (FinishedReport).
	BlocksPerSecond float64
	// ETA is the time left at that rate, or -1 when the rate is zero (unknown).
	ETA time.Duration
	// Blocks and Elapsed (FinishedReport) are the height gained and the time the sync took.
	Blocks  uint64
	Elapsed time.Duration
	// CaughtUp (FinishedReport) is false when the sync ended below its target (no peer ahead is
	// connected any more).
	CaughtUp bool
}

// Progress rate-limits the reports of a sync. Its zero value is not usable; use NewProgress.
type Progress struct {
	every     time.Duration
	minBlocks uint64

	active      bool
	reported    bool // a ProgressReport was made in this sync
	start, last time.Time
	startHeight uint64
	lastHeight  uint64
}

// NewProgress reports at most once every every while a sync runs, and summarises a sync that
// made at least one report or gained at least minBlocks (a short catch-up of a few gossiped
// blocks is not worth a record).
func NewProgress(every time.Duration, minBlocks uint64) *Progress {
	return &Progress{every: every, minBlocks: minBlocks}
}

// Observe takes, at now, the node's height, the best height its peers announced, and whether
// it is syncing (a peer is ahead), and returns a report when one is due. The first report of
// a sync comes every after it began, then at most one every every; one FinishedReport comes
// when the sync ends.
func (p *Progress) Observe(now time.Time, height, target uint64, syncing bool) (Report, bool) {
	switch {
	case syncing && !p.active:
		p.active, p.reported = true, false
		p.start, p.last = now, now
		p.startHeight, p.lastHeight = height, height
		return Report{}, false
	case syncing:
		if now.Sub(p.last) < p.every {
			return Report{}, false
		}
		rate := perSecond(sub(height, p.lastHeight), now.Sub(p.last))
		p.last, p.lastHeight, p.reported = now, height, true
		return Report{Kind: ProgressReport, Height: height, Target: target, BlocksPerSecond: rate, ETA: eta(sub(target, height), rate)}, true
	case p.active:
		p.active = false
		blocks, elapsed := sub(height, p.startHeight), now.Sub(p.start)
		if !p.reported && blocks < p.minBlocks {
			return Report{}, false
		}
		return Report{Kind: FinishedReport, Height: height, Target: target, Blocks: blocks, Elapsed: elapsed,
			BlocksPerSecond: perSecond(blocks, elapsed), ETA: 0, CaughtUp: height >= target}, true
	}
	return Report{}, false
}

// sub is a-b, or 0 when b > a (a reorg can lower the height).
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func perSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func eta(left uint64, rate float64) time.Duration {
	if left == 0 {
		return 0
	}
	if rate <= 0 {
		return -1
	}
	return time.Duration(float64(left) / rate * float64(time.Second))
}
