package supervisor

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Crash makes a child of a group built with GroupOptions.FaultInjection panic inside its own
// message handler, with Reason as the panic value, so the real supervision path runs (the
// failure goes to the parent's HandleFailure). Send it with CrashActor.
type Crash struct {
	Reason string
}

// orderedStop asks a child that is itself a group parent to stop its own children in reverse
// order (Group.StopAll) and then itself. It is a user message: the child first handles what is
// already queued.
type orderedStop struct{}

// Restart causes written in "actor restarted" records.
const (
	causePanic = "panic"
	causeKill  = "kill"
)

// startSignal is closed when a spawn's first Started handler returned (or panicked).
type startSignal struct {
	once sync.Once
	ch   chan struct{}
}

func newStartSignal() *startSignal { return &startSignal{ch: make(chan struct{})} }

func (s *startSignal) done() { s.once.Do(func() { close(s.ch) }) }

// lifecycle is the receiver middleware of one spawn of a child: it keeps the child's Tree entry
// current and writes the lifecycle log records.
type lifecycle struct {
	tree  *Tree
	log   *slog.Logger
	full  string
	gen   uint64
	start *startSignal
}

func (l *lifecycle) middleware(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		switch env.Message.(type) {
		case *actor.Started:
			// Logged before the handler runs, so a parent's record comes before those of the
			// children its Started spawns.
			cause, restarts := l.tree.started(l.full, l.gen, c.Self())
			if cause == "" {
				l.log.Info("actor started", "actor", l.full)
			} else {
				l.log.Info("actor restarted", "actor", l.full, "cause", cause, "restarts", restarts)
			}
			defer l.start.done()
			next(c, env)
		case *actor.Restarting:
			l.tree.restarting(l.full, l.gen)
			next(c, env)
		case *actor.Stopping:
			l.guard(c, env, next)
		case *actor.Stopped:
			// Delivered after the Stopping handler returned and every child terminated, so the
			// records give the real stop order.
			l.guard(c, env, next)
			l.tree.stopped(l.full, l.gen)
			l.log.Info("actor stopped", "actor", l.full)
		case *orderedStop:
			if !l.tree.hasGroup(l.full) {
				// No Group consumes it: stop at once instead of waiting for the deadline.
				c.ActorSystem().Root.Stop(c.Self())
				return
			}
			next(c, env)
		default:
			next(c, env)
		}
	}
}

// guard runs a Stopping or Stopped handler and recovers its panic: in protoactor a panic there
// turns the stop into a failure and the actor is restarted (or, in Stopped, never reports
// Terminated), which would hang the parent's ordered stop.
func (l *lifecycle) guard(c actor.ReceiverContext, env *actor.MessageEnvelope, next actor.ReceiverFunc) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("actor stop handler panicked", "actor", l.full, "reason", fmt.Sprint(r))
		}
	}()
	next(c, env)
}

// panicStack logs the stack of a panic at Debug level and re-panics, so that the supervision
// path still runs (protoactor keeps only the panic value).
func panicStack(log *slog.Logger, full string) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			defer func() {
				if r := recover(); r != nil {
					log.Debug("actor panicked", "actor", full, "reason", fmt.Sprint(r),
						"message", fmt.Sprintf("%T", env.Message), "stack", string(debug.Stack()))
					panic(r)
				}
			}()
			next(c, env)
		}
	}
}

// faultInjection panics inside the actor's own handler when it receives *Crash.
func faultInjection(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		if m, ok := env.Message.(*Crash); ok {
			panic(m.Reason)
		}
		next(c, env)
	}
}
