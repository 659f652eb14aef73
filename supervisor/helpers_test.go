package supervisor

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/asynkron/protoactor-go/actor"
)

const waitTimeout = 5 * time.Second

// recorder is the ordered event journal of a test's actors.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) has(e string) bool { return slices.Contains(r.list(), e) }

func (r *recorder) count(e string) int {
	n := 0
	for _, x := range r.list() {
		if x == e {
			n++
		}
	}
	return n
}

// since returns the events from the first occurrence of e on (nil if none).
func (r *recorder) since(e string) []string {
	l := r.list()
	if i := slices.Index(l, e); i >= 0 {
		return l[i:]
	}
	return nil
}

// Messages of the test actors.
type (
	inc      struct{}
	getState struct{}
	state    struct {
		Count    int
		Instance int64
	}
	stopAllMsg struct{ label string }
	addChild   struct{ spec Spec }
	addResult  struct {
		pid *actor.PID
		err error
	}
	stopChild struct{ name string }
	ping      struct{}
	pong      struct{}
	boom      struct{} // a leaf panics on it (no fault injection needed)
	spawnRaw  struct{} // the test parent spawns "raw", a child the group does not know
)

var instances atomic.Int64

// leafOpts shape a leaf test actor.
type leafOpts struct {
	goroutine     bool          // owns a goroutine joined in Stopping/Restarting
	block         chan struct{} // Stopping waits until it is closed
	panicStopping bool          // Stopping panics (after joining)
	panicStarts   *atomic.Int32 // Started panics while this is positive (and decrements it)
}

// leaf is a test child: it counts incs, records its lifecycle and may own a goroutine.
type leaf struct {
	name     string
	rec      *recorder
	o        leafOpts
	instance int64
	count    int
	quit     chan struct{}
	wg       sync.WaitGroup
}

func leafSpec(name string, rec *recorder, o leafOpts) Spec {
	return Spec{Name: name, Producer: func() actor.Actor {
		return &leaf{name: name, rec: rec, o: o, instance: instances.Add(1)}
	}}
}

func (l *leaf) join() {
	if l.quit != nil {
		close(l.quit)
		l.wg.Wait()
		l.quit = nil
	}
}

func (l *leaf) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		l.rec.add("started %s", l.name)
		if l.o.panicStarts != nil && l.o.panicStarts.Add(-1) >= 0 {
			panic("cannot start")
		}
		if l.o.goroutine {
			l.quit = make(chan struct{})
			l.wg.Add(1)
			go func(quit chan struct{}) {
				defer l.wg.Done()
				<-quit
			}(l.quit)
		}
	case *actor.Stopping:
		l.rec.add("stopping %s", l.name)
		if l.o.block != nil {
			<-l.o.block
		}
		l.join()
		if l.o.panicStopping {
			panic("stopping fails")
		}
	case *actor.Restarting:
		l.rec.add("restarting %s", l.name)
		l.join()
	case *actor.Stopped:
		l.rec.add("stopped %s", l.name)
	case *inc:
		l.count++
	case *boom:
		panic("boom")
	case *getState:
		ctx.Respond(&state{Count: l.count, Instance: l.instance})
	}
}

// parentCfg builds a test parent: an actor that owns a Group, like the node root or the miner.
type parentCfg struct {
	name    string // full name, for the journal ("node" for the root)
	root    bool   // registers itself with SetRoot and writes its own records
	tree    *Tree
	rec     *recorder
	log     *slog.Logger
	specs   []Spec
	opts    func(*GroupOptions)
	stopped chan struct{} // closed on the root's Stopped
	// startErr, if set, is told Start's error instead of panicking on it.
	startErr func(error)
}

type parent struct {
	cfg parentCfg
	g   *Group
}

func (c parentCfg) producer() actor.Producer {
	return func() actor.Actor {
		p := &parent{cfg: c}
		o := GroupOptions{
			Tree:   c.tree,
			Logger: c.log,
			Specs:  c.specs,
			OnGiveUp: func(ctx actor.Context, name string, reason any) {
				c.rec.add("gave up %s: %v", fullName(pathOf(c), name), reason)
			},
			OnChildStopped: func(ctx actor.Context, name string) {
				c.rec.add("child stopped %s", fullName(pathOf(c), name))
			},
		}
		if !c.root {
			o.Path = c.name
		}
		if c.opts != nil {
			c.opts(&o)
		}
		p.g = NewGroup(o)
		return p
	}
}

func pathOf(c parentCfg) string {
	if c.root {
		return ""
	}
	return c.name
}

func (p *parent) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	p.g.HandleFailure(sys, sup, child, rs, reason, msg)
}

func (p *parent) Receive(ctx actor.Context) {
	if p.g.Receive(ctx) {
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if p.cfg.root {
			p.cfg.tree.SetRoot(ctx.Self(), StateRunning)
			p.cfg.log.Info("actor started", "actor", p.cfg.name)
		}
		p.cfg.rec.add("started %s", p.cfg.name)
		if err := p.g.Start(ctx); err != nil {
			if p.cfg.startErr == nil {
				panic(err)
			}
			p.cfg.startErr(err)
		}
		p.cfg.rec.add("ready %s", p.cfg.name)
	case *actor.Stopping:
		p.cfg.rec.add("stopping %s", p.cfg.name)
	case *actor.Restarting:
		p.cfg.rec.add("restarting %s", p.cfg.name)
	case *actor.Stopped:
		p.cfg.rec.add("stopped %s", p.cfg.name)
		if p.cfg.root {
			p.cfg.tree.SetRoot(ctx.Self(), StateStopped)
			p.cfg.log.Info("actor stopped", "actor", p.cfg.name)
			close(p.cfg.stopped)
		}
	case *stopAllMsg:
		label := m.label
		p.g.StopAll(ctx, func() {
			p.cfg.rec.add("done %s", label)
			if !strings.HasPrefix(label, "keep") {
				ctx.Stop(ctx.Self())
			}
		})
	case *addChild:
		pid, err := p.g.Add(ctx, m.spec)
		ctx.Respond(&addResult{pid: pid, err: err})
	case *stopChild:
		p.g.StopChild(ctx, m.name)
		ctx.Respond(&pong{})
	case *ping:
		ctx.Respond(&pong{})
	case *spawnRaw:
		pid, err := ctx.SpawnNamed(actor.PropsFromProducer(leafSpec("raw", p.cfg.rec, leafOpts{}).Producer), "raw")
		if err != nil {
			panic(err)
		}
		ctx.Respond(pid)
	}
}

// env is one actor system with a test root "node" and its group.
type env struct {
	t     *testing.T
	sys   *actor.ActorSystem
	tree  *Tree
	rec   *recorder
	logs  *testutil.LogBuffer
	log   *slog.Logger
	clock *testutil.Clock
	root  *actor.PID
	cfg   parentCfg
	once  sync.Once
}

func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}

// newEnv starts a root with the given child specs (built with the env's recorder) and waits
// until its Start returned. opts may change the root group's options.
func newEnv(t *testing.T, specs func(e *env) []Spec, opts func(e *env, o *GroupOptions)) *env {
	t.Helper()
	e := &env{t: t, sys: newSystem(), tree: NewTree("node"), rec: &recorder{}, logs: &testutil.LogBuffer{},
		clock: testutil.NewClock(time.Unix(1_000_000, 0))}
	e.log = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.cfg = parentCfg{name: "node", root: true, tree: e.tree, rec: e.rec, log: e.log, specs: specs(e),
		stopped: make(chan struct{}),
		opts: func(o *GroupOptions) {
			o.Clock = e.clock.Now
			o.FaultInjection = true
			if opts != nil {
				opts(e, o)
			}
		}}
	pid, err := e.sys.Root.SpawnNamed(actor.PropsFromProducer(e.cfg.producer()), "node")
	if err != nil {
		t.Fatal(err)
	}
	e.root = pid
	t.Cleanup(e.stop)
	testutil.WaitFor(t, waitTimeout, "root ready", func() bool { return e.rec.has("ready node") })
	return e
}

// nested returns the spec of a group parent named name (under the root) with the given specs.
func (e *env) nested(name string, specs []Spec) Spec {
	c := parentCfg{name: name, tree: e.tree, rec: e.rec, log: e.log, specs: specs,
		opts: func(o *GroupOptions) { o.Clock = e.clock.Now; o.FaultInjection = true }}
	return Spec{Name: name, Producer: c.producer()}
}

// stop runs the root's ordered stop, waits for the root's Stopped and shuts the system down.
func (e *env) stop() {
	e.once.Do(func() {
		e.sys.Root.Send(e.root, &stopAllMsg{label: "final"})
		select {
		case <-e.cfg.stopped:
		case <-time.After(waitTimeout):
			e.t.Errorf("root did not stop within %v; journal: %v", waitTimeout, e.rec.list())
			e.sys.Root.Stop(e.root)
			select {
			case <-e.cfg.stopped:
			case <-time.After(waitTimeout):
				e.t.Errorf("root did not stop after a Stop either")
			}
		}
		e.sys.Shutdown()
	})
}

func (e *env) node(name string) Node {
	e.t.Helper()
	n, ok := e.tree.Lookup(name)
	if !ok {
		e.t.Fatalf("%s is not in the tree: %+v", name, e.tree.Snapshot())
	}
	return n
}

// waitRunning waits until name is running with the given restart count.
func (e *env) waitRunning(name string, restarts int) {
	e.t.Helper()
	// The tree shows the child running once the lifecycle middleware saw Started, a moment
	// before the child's own handler records it: a child that records its starts is waited for
	// until it has, so that what a test does next is journalled after it.
	started, recorded := "started "+name, e.rec != nil && e.rec.has("started "+name)
	testutil.WaitFor(e.t, waitTimeout, fmt.Sprintf("%s running with %d restarts", name, restarts), func() bool {
		n, ok := e.tree.Lookup(name)
		return ok && n.State == StateRunning && n.Restarts == restarts && (!recorded || e.rec.count(started) > restarts)
	})
}

func (e *env) state(name string) state {
	e.t.Helper()
	pid, ok := e.tree.PID(name)
	if !ok {
		e.t.Fatalf("%s has no PID", name)
	}
	res, err := e.sys.Root.RequestFuture(pid, &getState{}, waitTimeout).Result()
	if err != nil {
		e.t.Fatalf("get state of %s: %v", name, err)
	}
	return *res.(*state)
}

// sync makes a round trip through the root's mailbox, so everything it was sent before is done.
func (e *env) sync() {
	e.t.Helper()
	if _, err := e.sys.Root.RequestFuture(e.root, &ping{}, waitTimeout).Result(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) crash(name, reason string) {
	e.t.Helper()
	if err := CrashActor(e.sys, e.tree, name, reason); err != nil {
		e.t.Fatalf("crash %s: %v", name, err)
	}
}

func (e *env) kill(name string) {
	e.t.Helper()
	if err := Kill(e.sys, e.tree, name); err != nil {
		e.t.Fatalf("kill %s: %v", name, err)
	}
}

func eq(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, strings.Join(got, ", "), strings.Join(want, ", "))
	}
}
