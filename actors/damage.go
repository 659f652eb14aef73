package actors

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
)

// A damaged database is never served (CONTRACT §9): whoever meets the damage first (a read on
// any goroutine, a commit, the background page walk) calls storeDamaged through the store's
// damage hook, and the node stops in order with the error (exit 1 from `node run`).

// storeDamaged records err as the reason the node stops and asks the root for the ordered stop.
// Only the first call logs and asks; it is safe from any goroutine.
func (n *Node) storeDamaged(err error) {
	if !n.handle.damaged.CompareAndSwap(false, true) {
		return
	}
	n.setErr(err)
	n.log.Error("stopping the node: the database is damaged", "actor", nameStorage, "err", err)
	// The root's PID by name: n.root is set by Start after the tree is spawned.
	n.sys.Root.Send(actor.NewPID(n.sys.Address(), rootName), &shutdownRequest{})
}

// walkHold bounds how long writes wait for the page walk after the start: the walk of a 30,000
// block chain takes about a second; on a longer one writes go ahead after this while it goes on.
const walkHold = 3 * time.Second

// pageWalk is the background walk of every page of the store, started by the storage actor with
// the store and stopped (and joined) by it before it closes the store.
type pageWalk struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startPageWalk walks s once ready is closed; damage found goes to damaged.
func startPageWalk(ready <-chan struct{}, log *slog.Logger, damaged func(error), s *chainstate.Store) *pageWalk {
	ctx, cancel := context.WithCancel(context.Background())
	w := &pageWalk{cancel: cancel, done: make(chan struct{})}
	// Writes wait from the open until the walk is done (at most walkHold), so that a damaged file
	// the walk finds has not been written to meanwhile: not by the start either (a mempool prune,
	// the first mined block). Found by node chaos (seed 24): a file with damaged pages that the
	// open check cannot see was written to between the open and the walk.
	release := s.HoldWrites(walkHold)
	go func() {
		defer close(w.done)
		// The walk starts once the node is ready, so that it does not slow the start.
		select {
		case <-ready:
		case <-ctx.Done():
			release(nil)
			return
		}
		start := time.Now()
		rep, err := s.WalkPages(ctx, 0)
		release(err)
		switch {
		case err == nil:
			log.Info("database page walk done", "actor", nameStorage, "path", s.Path(), "buckets", rep.Buckets,
				"keys", rep.Keys, "read_txs", rep.Chunks, "seconds", time.Since(start).Seconds())
		case ctx.Err() != nil, errors.Is(err, chainstate.ErrClosed):
		case errors.Is(err, chainstate.ErrDamaged):
			damaged(err) // the hook has already done it; this keeps the walk's own path explicit
		default:
			log.Warn("database page walk stopped", "actor", nameStorage, "path", s.Path(), "err", err)
		}
	}()
	return w
}

// stop cancels the walk and waits for it (at most one chunk's read).
func (w *pageWalk) stop() {
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
}
