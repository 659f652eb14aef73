package actors

import (
	"sync/atomic"
	"time"
)

// commitPause is a test's commit hook (Options.beforeCommit): it holds the next write d
// nanoseconds before its commit, as a frozen process would (SIGSTOP); the write that takes the
// pause sets d back to 0. The hold is the fault itself, not a synchronisation.
type commitPause struct{ d atomic.Int64 }

func (p *commitPause) hook() error {
	if d := p.d.Swap(0); d > 0 {
		time.Sleep(time.Duration(d))
	}
	return nil
}
