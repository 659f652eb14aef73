package supervisor

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// GroupOptions configures a Group.
type GroupOptions struct {
	// Tree is the node's supervision tree; nil gives the group a private tree.
	Tree *Tree
	// Path is the full name of the parent actor: "" for the root's children, "miner" for the
	// miner's workers.
	Path string
	// Logger receives the lifecycle records; nil discards them.
	Logger *slog.Logger
	// Specs are the children Start spawns, in this order.
	Specs []Spec
	// OnGiveUp is called on the parent's goroutine, with the parent's context, once a child has
	// exceeded its intensity and terminated; it will not be restarted. name is the child's
	// Spec.Name; reason is the last panic value, or "killed" when the last failure was a kill. The
	// parent decides what follows (stop the node, stop mining, ...).
	OnGiveUp func(ctx actor.Context, name string, reason any)
	// OnChildStopped, if set, is told (on the parent's goroutine) when a child terminated and is
	// not replaced: a Temporary child that crashed or ended, a Transient child that stopped, a
	// child stopped with StopChild. It is not called for children given up (OnGiveUp is) nor
	// while the group or its parent is stopping.
	OnChildStopped func(ctx actor.Context, name string)
	// Clock is the time source of the restart windows; nil means time.Now.
	Clock func() time.Time
	// FaultInjection adds the middleware that panics on *Crash to every child.
	FaultInjection bool
}

// Group supervises the children of one parent actor with OTP semantics: start in spec order,
// restart or replace per Restart type within an Intensity, stop in reverse order one child at a
// time. The parent actor owns it and calls every method on its own goroutine (a Group is not safe
// for concurrent use); create it in the parent's producer so that each parent instance has its
// own, and delegate to it:
//
//   - the parent implements actor.SupervisorStrategy by calling HandleFailure (protoactor uses
//     the parent actor's HandleFailure when the actor implements that interface);
//   - the parent's Receive calls Receive first and returns if it returned true;
//   - the parent's Started handler calls Start.
type Group struct {
	tree           *Tree
	path           string
	log            *slog.Logger
	specs          []Spec
	onGiveUp       func(actor.Context, string, any)
	onChildStopped func(actor.Context, string)
	clock          func() time.Time
	fault          bool

	started  bool
	children []*child          // live children (not yet terminated, or being replaced) in start order
	byName   map[string]*child // by Spec.Name
	byID     map[string]*child // by PID.Id (stable across restarts and replacements)
	gaveUp   map[string]*child // children given up, by Spec.Name (for GaveUp)

	parentStopping bool // the parent got Stopping or Restarting: nothing is respawned
	stopAll        bool // StopAll began
	stopDone       bool // StopAll finished
	pending        []*child
	current        *child // the child StopAll waits for
	dones          []func(actor.Context)
	seq            uint64 // last stop-deadline sequence number
}

// child is the group's record of one child; it survives the child's restarts and replacements.
type child struct {
	spec          Spec // with defaults applied
	full          string
	pid           *actor.PID // nil once terminated
	id            string     // PID.Id, the same for every incarnation
	budget        *Budget
	limit         Limit  // the limit that gave it up (see GaveUp)
	gen           uint64 // spawn generation, see Tree.prepare
	stopRequested bool   // the group stopped it itself: its Terminated is not a kill
	givenUp       bool   // intensity exceeded: OnGiveUp on Terminated
	graceful      bool   // StopAll sent it orderedStop rather than a stop
	reason        any    // last panic value
	timer         *time.Timer
	timerSeq      uint64
}

// stopDeadline is the private message a child's Shutdown timer sends to the parent.
type stopDeadline struct {
	group *Group
	seq   uint64
}

// reasonKilled is OnGiveUp's reason when the last failure was a kill.
const reasonKilled = "killed"

// NewGroup returns a group that has not started any child yet.
func NewGroup(o GroupOptions) *Group {
	g := &Group{
		tree:           o.Tree,
		path:           o.Path,
		log:            o.Logger,
		specs:          slices.Clone(o.Specs),
		onGiveUp:       o.OnGiveUp,
		onChildStopped: o.OnChildStopped,
		clock:          o.Clock,
		fault:          o.FaultInjection,
		byName:         make(map[string]*child),
		byID:           make(map[string]*child),
		gaveUp:         make(map[string]*child),
	}
	if g.tree == nil {
		g.tree = NewTree("root")
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.clock == nil {
		g.clock = time.Now
	}
	return g
}

// Start spawns the specs in order under their names and registers them in the Tree. Like OTP it
// starts one child at a time: it returns to spawn the next child only after the previous child's
// Started handler returned (or panicked: the failure is handled afterwards), or after its
// StartTimeout, so start order is spec order and an earlier sibling is ready when a later one
// starts. A child's Started handler must therefore not wait for its parent. Call it from the
// parent's Started handler, once (ErrStarted otherwise). On an error the children started so far
// keep running.
func (g *Group) Start(ctx actor.Context) error {
	if g.started {
		return ErrStarted
	}
	g.started = true
	if g.Stopping() {
		return ErrStopping
	}
	g.tree.setGroup(g.path, true)
	for _, s := range g.specs {
		c, st, err := g.add(ctx, s)
		if err != nil {
			return fmt.Errorf("start %s: %w", fullName(g.path, s.Name), err)
		}
		g.waitStarted(c, st)
	}
	return nil
}

// Add spawns a dynamic child (e.g. one per peer connection), appended to the start order (so it
// is stopped before the children started earlier). It does not wait for the child's Started.
func (g *Group) Add(ctx actor.Context, s Spec) (*actor.PID, error) {
	if g.Stopping() {
		return nil, ErrStopping
	}
	c, _, err := g.add(ctx, s)
	if err != nil {
		return nil, err
	}
	return c.pid, nil
}

// PID returns the current PID of a live child by its Spec.Name, or nil.
func (g *Group) PID(name string) *actor.PID {
	if c := g.byName[name]; c != nil {
		return c.pid
	}
	return nil
}

// StopChild stops one live child on purpose: it is not restarted or replaced, and
// OnChildStopped is told when it terminated. It reports whether there was such a child. It does
// not wait.
func (g *Group) StopChild(ctx actor.Context, name string) bool {
	c := g.byName[name]
	if c == nil || c.pid == nil {
		return false
	}
	c.stopRequested = true
	ctx.Stop(c.pid)
	return true
}

// Stopping reports whether the group no longer respawns anything: StopAll began, or the parent
// is stopping or restarting.
func (g *Group) Stopping() bool { return g.stopAll || g.parentStopping }

// Receive handles the group's messages and reports whether it consumed the current one: the
// *actor.Terminated of its children, its stop-deadline timers and the ordered-stop request of a
// grandparent's StopAll. It also notes the parent's own *actor.Stopping and *actor.Restarting (so
// that it never respawns during them) and *actor.Stopped, which it does not consume. Call it
// first in the parent's Receive. The parent must not Watch its group's children: a watcher gets
// a second Terminated, which the group would take for the end of the next incarnation.
func (g *Group) Receive(ctx actor.Context) bool {
	switch m := ctx.Message().(type) {
	case *actor.Terminated:
		c := g.byID[m.Who.Id]
		if c == nil {
			return false
		}
		if c.pid != nil {
			g.terminated(ctx, c)
		}
		return true
	case *stopDeadline:
		if m.group == g {
			g.deadline(ctx, m.seq)
		}
		return true // a timer of an earlier instance of the parent: drop it
	case *orderedStop:
		g.stopAllWith(ctx, func(ctx actor.Context) { ctx.Stop(ctx.Self()) })
		return true
	case *actor.Stopping:
		g.parentStopping = true
		g.tree.setGroup(g.path, false)
	case *actor.Restarting:
		g.parentStopping = true
		g.tree.setGroup(g.path, false)
		g.stopTimers()
	case *actor.Stopped:
		g.stopTimers()
	}
	return false
}

// HandleFailure is the parent's actor.SupervisorStrategy. A Permanent or Transient child is
// restarted while its intensity allows it, else stopped and given up (OnGiveUp once it
// terminated); a Temporary child is stopped. While the group or its parent is stopping, or for
// a child the group is stopping, the child is stopped. Failures of children the group does not
// know are stopped too: protoactor's default strategies never run.
func (g *Group) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	c := g.byID[child.Id]
	if c == nil || c.pid == nil {
		g.log.Warn("actor crashed", "actor", child.Id, "reason", fmt.Sprint(reason), "action", "stop")
		sup.StopChildren(child)
		return
	}
	c.reason = reason
	if g.Stopping() || c.stopRequested || c.spec.Restart == Temporary {
		g.log.Warn("actor crashed", "actor", c.full, "reason", fmt.Sprint(reason), "action", "stop")
		c.stopRequested = true
		sup.StopChildren(child)
		return
	}
	now := g.clock()
	if l := c.budget.Record(now); l != LimitNone {
		g.log.Warn("actor crashed", "actor", c.full, "reason", fmt.Sprint(reason), "action", "give_up")
		g.logGiveUp(c, now, l)
		c.givenUp, c.stopRequested = true, true
		sup.StopChildren(child)
		return
	}
	g.log.Warn("actor crashed", "actor", c.full, "reason", fmt.Sprint(reason), "action", "restart")
	g.tree.restartStarted(c.full, c.gen, causePanic, now)
	sup.RestartChildren(child)
}

// StopAll stops the children in reverse start order, one at a time: it stops child k (a child
// that is itself a group parent first stops its own children the same way), waits for its
// *actor.Terminated or its Spec.Shutdown deadline (then it logs "actor stop timed out" and moves
// on), and only then stops child k-1. When the last one is done, done (if not nil) is called on
// the parent's goroutine. From the first call on, nothing is respawned or replaced. It is
// idempotent: a later call's done is called when the stop finishes, or at once if it has.
func (g *Group) StopAll(ctx actor.Context, done func()) {
	var d func(actor.Context)
	if done != nil {
		d = func(actor.Context) { done() }
	}
	g.stopAllWith(ctx, d)
}

func (g *Group) stopAllWith(ctx actor.Context, done func(actor.Context)) {
	if g.stopDone {
		if done != nil {
			done(ctx)
		}
		return
	}
	if done != nil {
		g.dones = append(g.dones, done)
	}
	if g.stopAll {
		return
	}
	g.stopAll = true
	g.tree.setGroup(g.path, false)
	g.pending = slices.Clone(g.children)
	slices.Reverse(g.pending)
	g.stopNext(ctx)
}

// stopNext stops the next live child of the pending list, or finishes StopAll.
func (g *Group) stopNext(ctx actor.Context) {
	for len(g.pending) > 0 {
		c := g.pending[0]
		g.pending = g.pending[1:]
		if c.pid == nil {
			continue
		}
		g.current = c
		c.stopRequested = true
		if g.tree.hasGroup(c.full) {
			c.graceful = true
			ctx.Send(c.pid, &orderedStop{})
		} else {
			ctx.Stop(c.pid)
		}
		g.armDeadline(ctx, c)
		return
	}
	g.current = nil
	g.stopDone = true
	dones := g.dones
	g.dones = nil
	for _, d := range dones {
		d(ctx)
	}
}

func (g *Group) armDeadline(ctx actor.Context, c *child) {
	if c.spec.Shutdown < 0 {
		return
	}
	g.seq++
	c.timerSeq = g.seq
	self, root := ctx.Self(), ctx.ActorSystem().Root
	msg := &stopDeadline{group: g, seq: g.seq}
	c.timer = time.AfterFunc(c.spec.Shutdown, func() { root.Send(self, msg) })
}

func (g *Group) deadline(ctx actor.Context, seq uint64) {
	c := g.current
	if c == nil || c.timerSeq != seq || c.timer == nil {
		return
	}
	c.timer = nil
	g.log.Error("actor stop timed out", "actor", c.full, "shutdown", c.spec.Shutdown)
	if c.graceful && c.pid != nil {
		ctx.Stop(c.pid) // its own ordered stop is too slow: stop it and the rest of its subtree now
	}
	g.current = nil
	g.stopNext(ctx)
}

func (g *Group) stopTimers() {
	for _, c := range g.children {
		stopTimer(c)
	}
	if g.current != nil {
		stopTimer(g.current)
	}
}

func stopTimer(c *child) {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

// terminated handles the *actor.Terminated of a live child.
func (g *Group) terminated(ctx actor.Context, c *child) {
	c.pid = nil
	stopTimer(c)
	switch {
	case g.stopAll:
		g.drop(c)
		if c == g.current {
			g.current = nil
			g.stopNext(ctx)
		}
	case g.parentStopping:
		g.drop(c)
	case c.givenUp:
		g.drop(c)
		if g.onGiveUp != nil {
			g.onGiveUp(ctx, c.spec.Name, c.reason)
		}
	case c.stopRequested:
		g.drop(c)
		g.notifyStopped(ctx, c)
	case c.spec.Restart != Permanent:
		// A Transient or Temporary child that ended (a closed connection, or a kill): not
		// replaced. That is how such children normally end, hence Debug.
		g.log.Debug("actor ended", "actor", c.full, "action", "drop")
		g.drop(c)
		g.notifyStopped(ctx, c)
	default:
		g.replace(ctx, c)
	}
}

// replace respawns a Permanent child that was stopped by someone else (a kill).
func (g *Group) replace(ctx actor.Context, c *child) {
	now := g.clock()
	if l := c.budget.Record(now); l != LimitNone {
		g.log.Warn("actor killed", "actor", c.full, "action", "give_up")
		g.logGiveUp(c, now, l)
		g.drop(c)
		if g.onGiveUp != nil {
			g.onGiveUp(ctx, c.spec.Name, reasonKilled)
		}
		return
	}
	g.log.Warn("actor killed", "actor", c.full, "action", "replace")
	c.stopRequested, c.graceful = false, false
	if _, err := g.spawn(ctx, c, causeKill, now); err != nil {
		g.log.Error("actor replace failed", "actor", c.full, "err", err)
		g.drop(c)
		if g.onGiveUp != nil {
			g.onGiveUp(ctx, c.spec.Name, err)
		}
	}
}

func (g *Group) logGiveUp(c *child, now time.Time, l Limit) {
	c.limit = l
	g.gaveUp[c.spec.Name] = c
	in := c.budget.Intensity(l)
	g.log.Error("actor gave up", "actor", c.full, "limit", string(l), "restarts", c.budget.Count(l, now),
		"max_restarts", in.MaxRestarts, "window", in.Window)
}

// GaveUp tells, for a child given up (from inside OnGiveUp), which limit it went over and that
// limit's configuration; LimitNone for a child the group knows nothing of or did not give up on
// because of a limit (a failed replacement).
func (g *Group) GaveUp(name string) (Limit, Intensity) {
	if c := g.gaveUp[name]; c != nil {
		return c.limit, c.budget.Intensity(c.limit)
	}
	return LimitNone, Intensity{}
}

func (g *Group) notifyStopped(ctx actor.Context, c *child) {
	if g.onChildStopped != nil {
		g.onChildStopped(ctx, c.spec.Name)
	}
}

// drop forgets a child that terminated and is not replaced.
func (g *Group) drop(c *child) {
	g.children = slices.DeleteFunc(g.children, func(x *child) bool { return x == c })
	if g.byName[c.spec.Name] == c {
		delete(g.byName, c.spec.Name)
	}
	if g.byID[c.id] == c {
		delete(g.byID, c.id)
	}
}

// add validates s, spawns it and appends it to the start order.
func (g *Group) add(ctx actor.Context, s Spec) (*child, *startSignal, error) {
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	s = s.withDefaults()
	full := fullName(g.path, s.Name)
	if full == g.tree.RootName() {
		return nil, nil, fmt.Errorf("%w: %q is the root's name", ErrInvalidSpec, full)
	}
	if g.byName[s.Name] != nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrDuplicateName, full)
	}
	c := &child{spec: s, full: full, budget: NewBudget(s.Intensity, s.Budget)}
	st, err := g.spawn(ctx, c, "", time.Time{})
	if err != nil {
		return nil, nil, err
	}
	g.children = append(g.children, c)
	g.byName[s.Name] = c
	return c, st, nil
}

// spawn spawns one incarnation of c under its name; a non-empty cause marks a replacement at
// now.
func (g *Group) spawn(ctx actor.Context, c *child, cause string, now time.Time) (*startSignal, error) {
	c.gen = g.tree.nextGen()
	st := newStartSignal()
	l := &lifecycle{tree: g.tree, log: g.log, full: c.full, gen: c.gen, start: st}
	mw := []actor.ReceiverMiddleware{l.middleware, panicStack(g.log, c.full)}
	if g.fault {
		mw = append(mw, faultInjection)
	}
	opts := append([]actor.PropsOption{actor.WithReceiverMiddleware(mw...)}, c.spec.Options...)
	props := actor.PropsFromProducer(c.spec.Producer, opts...)
	created := g.tree.prepare(g.path, c.full, c.gen, c.spec.Restart == Temporary, g.fault, cause, now)
	pid, err := ctx.SpawnNamed(props, c.spec.Name)
	if err != nil {
		g.tree.abandon(c.full, c.gen, created)
		return nil, err
	}
	c.pid, c.id = pid, pid.Id
	g.byID[c.id] = c
	g.tree.setPID(c.full, c.gen, pid)
	return st, nil
}

// waitStarted blocks until the first Started handler of c returned, or its StartTimeout.
func (g *Group) waitStarted(c *child, st *startSignal) {
	if c.spec.StartTimeout < 0 {
		<-st.ch
		return
	}
	t := time.NewTimer(c.spec.StartTimeout)
	defer t.Stop()
	select {
	case <-st.ch:
	case <-t.C:
		g.log.Warn("actor start timed out", "actor", c.full, "timeout", c.spec.StartTimeout)
	}
}
