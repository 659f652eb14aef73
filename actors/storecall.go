package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
)

const (
	// storageTimeout bounds a block write as a whole; storageAttempt one request to the storage
	// actor, which is retried when it goes unanswered (a killed storage actor drops its mailbox).
	storageTimeout = 30 * time.Second
	storageAttempt = 2 * time.Second
	retryPause     = 50 * time.Millisecond
)

// replier is a reply that carries the answering actor's own error (its Err field).
type replier interface{ replyErr() error }

func (r *connectBlockResponse) replyErr() error { return r.Err }
func (r *reorgResponse) replyErr() error        { return r.Err }
func (r *storageDone) replyErr() error          { return r.Err }
func (r *submitBlockResponse) replyErr() error  { return r.Err }
func (r *submitTxResponse) replyErr() error     { return r.Err }

// reply is the one shape of a retried call's outcome. Exactly one of these holds:
//   - Err == nil and !Applied: the actor answered and did it; Val is its answer;
//   - Applied: no answer came, but the store shows the request took effect (Val is zero);
//   - Err != nil: the call failed (no answer: ErrUnavailable, ErrStopped) or the actor answered
//     with an error (its reply's Err; Val is the reply all the same).
type reply[T replier] struct {
	Val     T
	Err     error
	Applied bool
}

// storageCall sends a write to the storage actor and waits for its reply (see callRetry).
func storageCall[T replier](ctx actor.Context, r retrier, msg any, applied func(*chainstate.Store) bool) reply[T] {
	return callRetry[T](ctx, r, nameStorage, msg, applied)
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
// store shows; if so the reply is Applied, otherwise the request is sent again (every request
// sent this way is idempotent or fails harmlessly when repeated), up to storageTimeout in all.
func callRetry[T replier](ctx actor.Context, n retrier, name string, msg any, applied func(*chainstate.Store) bool) reply[T] {
	deadline := time.Now().Add(storageTimeout)
	for {
		r, err := askFrom[T](ctx, n.pid(name), msg, storageAttempt)
		if err == nil {
			return reply[T]{Val: r, Err: r.replyErr()}
		}
		if applied != nil {
			if s, serr := n.waitStore(storageAttempt); serr == nil && applied(s) {
				return reply[T]{Applied: true}
			}
		}
		if time.Now().After(deadline) {
			return reply[T]{Err: err}
		}
		if n.stopping() {
			return reply[T]{Err: ErrStopped}
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

// storeErr is the error of a failed write: a rule violation as it is (the block's fault),
// anything else as the node's (nodeErr).
func storeErr(err error) error {
	var re *chainstate.RuleError
	if errors.As(err, &re) {
		return err
	}
	return nodeErr(err)
}

// nodeErr is a failed call's error as the node's: a coded one (ErrUnavailable, ErrStopped, ...)
// as it is, anything else (a storage failure) wrapped in ErrUnavailable.
func nodeErr(err error) error {
	if _, ok := errcode.Of(err); ok {
		return err
	}
	return unavailable(err)
}
