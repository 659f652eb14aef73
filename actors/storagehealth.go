package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The storage actor's part of health: it records the outcome of every write and, while commits
// fail, probes the database with an empty write transaction until one commits.
//
// Why a probe and not the next real write: while commits fail the node makes no writes of its
// own. The miners are paused and new transfers are refused (both would only fail), so a quiet
// node (no peers, no transfers) would never write again and never learn that the disk came back.
// The probe is the smallest real write: an empty mempool update, which runs the same bbolt
// commit, with its meta page write and fsync, and the same before-commit hook as every write, and
// changes nothing. It runs only while commits fail, every storageProbeInterval.

// storageProbeInterval is how often a failing store is probed.
const storageProbeInterval = 500 * time.Millisecond

type (
	// storageProbe makes the storage actor try an empty commit while commits fail.
	storageProbe struct{}
	// storageHealthChanged tells the miner that storage commits began to fail (Failing) or
	// commit again.
	storageHealthChanged struct{ Failing bool }
)

// observeCommit records the outcome of one write and acts on a change: failing commits pause
// the miner and start the probe; a success resumes the miner.
func (a *storageActor) observeCommit(ctx actor.Context, err error) {
	if err != nil && !isCommitFailure(err) {
		return // an answer about the request (an invalid block), not about the disk
	}
	st, changed := a.d.health.commitObserved(err, a.d.local.Now())
	if !changed {
		return
	}
	if st.Failing {
		a.d.log.Error("storage commits are failing: transfers are refused and mining is paused until a commit succeeds",
			"actor", nameStorage, "err", st.Err)
		a.scheduleProbe(ctx)
	} else {
		a.d.log.Info("storage commits succeed again", "actor", nameStorage)
	}
	ctx.Send(a.d.pid(nameMiner), &storageHealthChanged{Failing: st.Failing})
}

// scheduleProbe arms the next probe if commits fail and none is armed.
func (a *storageActor) scheduleProbe(ctx actor.Context) {
	if a.probe != nil {
		return
	}
	if failing, _ := a.d.health.storageFailing(); !failing {
		return
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.probe = time.AfterFunc(storageProbeInterval, func() { root.Send(self, &storageProbe{}) })
}

// runProbe tries one empty commit while commits fail.
func (a *storageActor) runProbe(ctx actor.Context) {
	a.probe = nil
	if failing, _ := a.d.health.storageFailing(); !failing || a.s == nil {
		return
	}
	a.observeCommit(ctx, a.s.PutMempool(nil, nil))
	a.scheduleProbe(ctx)
}

func (a *storageActor) stopProbe() {
	if a.probe != nil {
		a.probe.Stop()
		a.probe = nil
	}
}
