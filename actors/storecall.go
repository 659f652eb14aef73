package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
)

const (
	// storageTimeout bounds a block write as a whole; storageAttempt one request to the storage
	// actor, which is retried when it goes unanswered (a killed storage actor drops its mailbox).
	storageTimeout = 30 * time.Second
	storageAttempt = 2 * time.Second
	retryPause     = 50 * time.Millisecond
)

// storageCall sends a write to the storage actor and waits for its reply (see callRetry).
func storageCall[T any](ctx actor.Context, n *Node, msg any, applied func(*chainstate.Store) bool) (T, error) {
	return callRetry[T](ctx, n.retrier(), nameStorage, msg, applied)
}

// retrier is what callRetry needs from the node.
type retrier struct {
	pid       func(name string) *actor.PID
	waitStore func(time.Duration) (*chainstate.Store, error)
	stopping  func() bool
	log       *slog.Logger
}

func (n *Node) retrier() retrier {
	return retrier{pid: n.pid, waitStore: n.handle.wait, stopping: n.stopping.Load, log: n.log}
}

// callRetry sends msg to the named actor and waits for its reply. When no reply comes within
// storageAttempt (the actor was killed and its replacement never saw the request, since a stop
// drops the mailbox; or it is slow), applied tells whether the request took effect anyway, as the
// store shows; if so the reply is nil, otherwise the request is sent again (every request sent
// this way is idempotent or fails harmlessly when repeated), up to storageTimeout in all.
func callRetry[T any](ctx actor.Context, n retrier, name string, msg any, applied func(*chainstate.Store) bool) (T, error) {
	var zero T
	deadline := time.Now().Add(storageTimeout)
	for {
		r, err := askFrom[T](ctx, n.pid(name), msg, storageAttempt)
		if err == nil {
			return r, nil
		}
		if applied != nil {
			if s, serr := n.waitStore(storageAttempt); serr == nil && applied(s) {
				return zero, nil
			}
		}
		if time.Now().After(deadline) {
			return zero, err
		}
		if n.stopping() {
			return zero, ErrStopped
		}
		n.log.Warn("no answer; retrying", "to", name, "request", fmt.Sprintf("%T", msg), "err", err)
		// A backoff, not a synchronisation: a dead letter answers at once while the actor is
		// being replaced, so the loop is paced (and bounded by the deadline).
		time.Sleep(retryPause)
	}
}

// tipIs is an applied check: the store's tip is h.
func tipIs(h chainstate.Hash) func(*chainstate.Store) bool {
	return func(s *chainstate.Store) bool {
		tip, err := s.Tip()
		return err == nil && tip.Hash == h
	}
}

// indexed is an applied check: the store has an index entry for h.
func indexed(h chainstate.Hash) func(*chainstate.Store) bool {
	return func(s *chainstate.Store) bool {
		_, ok, err := s.Entry(h)
		return err == nil && ok
	}
}

// storeErr is the error of a write the storage actor answered: a rule violation as it is (the
// block's fault), anything else as the node's (ErrUnavailable).
func storeErr(err error) error {
	var re *chainstate.RuleError
	if errors.As(err, &re) {
		return err
	}
	return unavailable(err)
}
