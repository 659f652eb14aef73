package actors

import (
	"log/slog"
	"math"
	"time"

	"github.com/actorchain/actorchain/blocksync"
)

const (
	// syncReportEvery is the least time between two `sync progress` records (CONTRACT §11).
	syncReportEvery = 5 * time.Second
	// syncSummaryMin is the fewest blocks a sync must gain for a `sync finished` record when it
	// wrote no `sync progress` (catching up a gossiped block or two is not news).
	syncSummaryMin = 100
)

// logSyncReport writes a report of the sync as its info record: `sync progress` (height,
// target_height, blocks_per_second over the last interval, eta at that rate: "unknown" when
// nothing arrived) or `sync finished` (blocks, seconds, blocks_per_second over the whole sync,
// height, target_height, caught_up: false when no peer ahead is connected any more).
func logSyncReport(log *slog.Logger, r blocksync.Report) {
	rate := math.Round(r.BlocksPerSecond*10) / 10
	switch r.Kind {
	case blocksync.ProgressReport:
		eta := "unknown"
		if r.ETA >= 0 {
			eta = r.ETA.Round(time.Second).String()
		}
		log.Info("sync progress", "actor", namePeers, "height", r.Height, "target_height", r.Target,
			"blocks_per_second", rate, "eta", eta)
	case blocksync.FinishedReport:
		log.Info("sync finished", "actor", namePeers, "blocks", r.Blocks, "seconds", math.Round(r.Elapsed.Seconds()*10)/10,
			"blocks_per_second", rate, "height", r.Height, "target_height", r.Target, "caught_up", r.CaughtUp)
	}
}
