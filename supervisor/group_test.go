package supervisor

import (
	"encoding/json"
	"errors"
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

func fourChildren(e *env) []Spec {
	return []Spec{
		leafSpec("a", e.rec, leafOpts{}),
		leafSpec("b", e.rec, leafOpts{goroutine: true}),
		leafSpec("c", e.rec, leafOpts{}),
		leafSpec("d", e.rec, leafOpts{goroutine: true}),
	}
}

func TestStartAndStopOrder(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	eq(t, "start journal", e.rec.list(), []string{
		"started node", "started a", "started b", "started c", "started d", "ready node"})
	for _, n := range e.tree.Snapshot().Children {
		if n.State != StateRunning || n.Restarts != 0 {
			t.Fatalf("%s: %s with %d restarts, want running with 0", n.Name, n.State, n.Restarts)
		}
	}

	e.stop()
	eq(t, "stop journal", e.rec.since("stopping d"), []string{
		"stopping d", "stopped d", "stopping c", "stopped c", "stopping b", "stopped b",
		"stopping a", "stopped a", "done final", "stopping node", "stopped node"})
	snap := e.tree.Snapshot()
	if snap.State != StateStopped {
		t.Fatalf("root state %s, want stopped", snap.State)
	}
	for _, n := range snap.Children {
		if n.State != StateStopped {
			t.Fatalf("%s: %s after the stop, want stopped", n.Name, n.State)
		}
		if _, ok := e.tree.PID(n.Name); ok {
			t.Fatalf("%s still has a PID after the stop", n.Name)
		}
	}
}

func TestStopAllIsIdempotent(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	e.sys.Root.Send(e.root, &stopAllMsg{label: "keep1"})
	e.sys.Root.Send(e.root, &stopAllMsg{label: "keep2"})
	testutil.WaitFor(t, waitTimeout, "both dones", func() bool { return e.rec.has("done keep1") && e.rec.has("done keep2") })
	e.sys.Root.Send(e.root, &stopAllMsg{label: "keep3"}) // after the end: done at once
	testutil.WaitFor(t, waitTimeout, "late done", func() bool { return e.rec.has("done keep3") })
	for _, d := range []string{"done keep1", "done keep2", "done keep3"} {
		if n := e.rec.count(d); n != 1 {
			t.Fatalf("%q recorded %d times, want once", d, n)
		}
	}
	for _, x := range []string{"a", "b", "c", "d"} {
		if n := e.rec.count("stopping " + x); n != 1 {
			t.Fatalf("%s stopped %d times, want once", x, n)
		}
	}
	res, err := e.sys.Root.RequestFuture(e.root, &addChild{spec: leafSpec("late", e.rec, leafOpts{})}, waitTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := res.(*addResult).err; !errors.Is(err, ErrStopping) {
		t.Fatalf("Add after StopAll: %v, want ErrStopping", err)
	}
}

func TestStopDeadline(t *testing.T) {
	block := make(chan struct{})
	e := newEnv(t, func(e *env) []Spec {
		b := leafSpec("b", e.rec, leafOpts{block: block})
		b.Shutdown = 30 * time.Millisecond
		return []Spec{leafSpec("a", e.rec, leafOpts{}), b, leafSpec("c", e.rec, leafOpts{goroutine: true})}
	}, nil)
	release := sync.OnceFunc(func() { close(block) })
	t.Cleanup(release) // runs before the env's stop, even when the test fails

	e.sys.Root.Send(e.root, &stopAllMsg{label: "final"})
	testutil.WaitFor(t, waitTimeout, "done despite the blocked child", func() bool { return e.rec.has("done final") })
	got := e.rec.since("stopping c")
	got = got[:slices.Index(got, "done final")+1]
	eq(t, "stop journal", got, []string{
		"stopping c", "stopped c", "stopping b", "stopping a", "stopped a", "done final"})
	recs := e.logs.Find("actor stop timed out", "b")
	if len(recs) != 1 || recs[0].Str("level") != "ERROR" {
		t.Fatalf("want one ERROR record \"actor stop timed out\" for b, got %v", recs)
	}
	if e.rec.has("stopped b") {
		t.Fatal("b stopped while its Stopping handler was blocked")
	}

	release() // b finishes its stop; then the root can finalize
	e.stop()
	if l := e.rec.list(); !slices.Contains(l, "stopped b") || l[len(l)-1] != "stopped node" {
		t.Fatalf("journal after release: %v", l)
	}
}

func TestCrashRestartsChild(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	before := e.state("b").Instance
	siblings := map[string]int64{"a": e.state("a").Instance, "c": e.state("c").Instance}

	pid, _ := e.tree.PID("b")
	e.crash("b", "boom")
	for range 3 {
		e.sys.Root.Send(pid, &inc{}) // queued behind the crash: the new instance handles them
	}
	e.waitRunning("b", 1)
	after := e.state("b")
	if after.Instance == before {
		t.Fatal("b was not restarted with a fresh instance")
	}
	if after.Count != 3 {
		t.Fatalf("restarted b counted %d queued incs, want 3", after.Count)
	}
	if p2, _ := e.tree.PID("b"); !p2.Equal(pid) {
		t.Fatalf("restart changed the PID: %v -> %v", pid, p2)
	}
	for name, inst := range siblings {
		if s := e.state(name); s.Instance != inst || e.node(name).Restarts != 0 {
			t.Fatalf("sibling %s was touched by b's restart", name)
		}
	}
	if !e.rec.has("restarting b") || e.rec.count("started b") != 2 {
		t.Fatalf("journal: %v", e.rec.list())
	}

	crashed := e.logs.Find("actor crashed", "b")
	if len(crashed) != 1 || crashed[0].Str("reason") != "boom" || crashed[0].Str("action") != "restart" {
		t.Fatalf("actor crashed records: %v", crashed)
	}
	restarted := e.logs.Find("actor restarted", "b")
	if len(restarted) != 1 || restarted[0].Str("cause") != "panic" || restarted[0].Str("restarts") != "1" {
		t.Fatalf("actor restarted records: %v", restarted)
	}
	stack := e.logs.Find("actor panicked", "b")
	if len(stack) != 1 || stack[0].Str("level") != "DEBUG" || !strings.Contains(stack[0].Str("stack"), "faultInjection") {
		t.Fatalf("want one DEBUG record with the panic's stack, got %v", stack)
	}

	e.stop()
	eq(t, "stop order after a restart", e.rec.since("stopping d")[:8], []string{
		"stopping d", "stopped d", "stopping c", "stopped c", "stopping b", "stopped b", "stopping a", "stopped a"})
}

func TestKillReplacesChild(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	pid, _ := e.tree.PID("b")
	e.sys.Root.Send(pid, &inc{})
	before := e.state("b") // after the inc
	if before.Count != 1 {
		t.Fatalf("count %d, want 1", before.Count)
	}

	e.kill("b")
	e.waitRunning("b", 1)
	after := e.state("b")
	if after.Instance == before.Instance || after.Count != 0 {
		t.Fatalf("b after kill: %+v, want a fresh instance (before %+v)", after, before)
	}
	eq(t, "kill journal", e.rec.since("stopping b"), []string{"stopping b", "stopped b", "started b"})
	restarted := e.logs.Find("actor restarted", "b")
	if len(restarted) != 1 || restarted[0].Str("cause") != "kill" || restarted[0].Str("restarts") != "1" {
		t.Fatalf("actor restarted records: %v", restarted)
	}

	e.kill("b")
	e.waitRunning("b", 2)

	e.stop()
	eq(t, "the replaced child keeps its place in the stop order", e.rec.since("stopping d")[:8], []string{
		"stopping d", "stopped d", "stopping c", "stopped c", "stopping b", "stopped b", "stopping a", "stopped a"})
}

func TestGiveUp(t *testing.T) {
	e := newEnv(t, func(e *env) []Spec {
		b := leafSpec("b", e.rec, leafOpts{goroutine: true})
		b.Intensity = Intensity{MaxRestarts: 2, Window: time.Hour}
		c := leafSpec("c", e.rec, leafOpts{})
		c.Intensity = Intensity{MaxRestarts: 1, Window: time.Hour}
		w := leafSpec("w", e.rec, leafOpts{})
		w.Intensity = Intensity{MaxRestarts: 1, Window: 10 * time.Second}
		return []Spec{leafSpec("a", e.rec, leafOpts{}), b, c, w}
	}, nil)

	e.crash("b", "first")
	e.waitRunning("b", 1)
	e.crash("b", "second")
	e.waitRunning("b", 2)
	e.crash("b", "third")
	testutil.WaitFor(t, waitTimeout, "b given up", func() bool { return e.rec.has("gave up b: third") })
	e.sync()
	if n := e.rec.count("gave up b: third"); n != 1 {
		t.Fatalf("OnGiveUp called %d times, want once", n)
	}
	if n := e.node("b"); n.State != StateStopped || n.Restarts != 2 {
		t.Fatalf("b after give-up: %+v, want stopped with 2 restarts", n)
	}
	if err := Kill(e.sys, e.tree, "b"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Kill of a given-up child: %v, want ErrNotRunning", err)
	}
	gaveUp := e.logs.Find("actor gave up", "b")
	if len(gaveUp) != 1 || gaveUp[0].Str("level") != "ERROR" || gaveUp[0].Str("restarts") != "3" ||
		gaveUp[0].Str("max_restarts") != "2" || gaveUp[0].Str("window") == "" {
		t.Fatalf("actor gave up records: %v", gaveUp)
	}

	// Kills count too.
	e.kill("c")
	e.waitRunning("c", 1)
	e.kill("c")
	testutil.WaitFor(t, waitTimeout, "c given up", func() bool { return e.rec.has("gave up c: killed") })

	// Restarts leave the window as the clock moves on.
	e.crash("w", "1")
	e.waitRunning("w", 1)
	e.clock.Advance(11 * time.Second)
	e.crash("w", "2")
	e.waitRunning("w", 2)

	e.sync()
	if n := e.rec.count("started b"); n != 3 {
		t.Fatalf("b started %d times, want 3 (no restart after the give-up)", n)
	}
	e.stop()
	eq(t, "stop skips the given-up children", e.rec.since("stopping w")[:4], []string{
		"stopping w", "stopped w", "stopping a", "stopped a"})
}

func TestTemporaryAndTransient(t *testing.T) {
	e := newEnv(t, func(e *env) []Spec { return []Spec{leafSpec("a", e.rec, leafOpts{})} }, nil)
	add := func(name string, r Restart) error {
		t.Helper()
		s := leafSpec(name, e.rec, leafOpts{goroutine: true})
		s.Restart = r
		res, err := e.sys.Root.RequestFuture(e.root, &addChild{spec: s}, waitTimeout).Result()
		if err != nil {
			t.Fatal(err)
		}
		if err := res.(*addResult).err; err != nil {
			return err
		}
		e.waitRunning(name, 0)
		return nil
	}
	for _, c := range []struct {
		name string
		r    Restart
	}{{"p1", Temporary}, {"p2", Temporary}, {"t1", Transient}, {"t2", Transient}} {
		if err := add(c.name, c.r); err != nil {
			t.Fatal(err)
		}
	}
	if err := add("p1", Temporary); !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("duplicate Add: %v, want ErrDuplicateName", err)
	}

	e.crash("p1", "conn broke")
	testutil.WaitFor(t, waitTimeout, "p1 dropped", func() bool { return e.rec.has("child stopped p1") })
	if _, ok := e.tree.Lookup("p1"); ok {
		t.Fatal("a crashed Temporary child is still in the tree")
	}
	if e.rec.has("restarting p1") || e.rec.count("started p1") != 1 {
		t.Fatalf("Temporary child restarted: %v", e.rec.list())
	}

	e.kill("p2")
	testutil.WaitFor(t, waitTimeout, "p2 dropped", func() bool { return e.rec.has("child stopped p2") })
	if _, ok := e.tree.Lookup("p2"); ok {
		t.Fatal("a killed Temporary child is still in the tree")
	}

	e.kill("t1")
	testutil.WaitFor(t, waitTimeout, "t1 dropped", func() bool { return e.rec.has("child stopped t1") })
	if n := e.node("t1"); n.State != StateStopped || e.rec.count("started t1") != 1 {
		t.Fatalf("killed Transient child: %+v, want stopped and not replaced", n)
	}

	e.crash("t2", "boom")
	e.waitRunning("t2", 1)

	// A Permanent child stopped on purpose is not replaced.
	if _, err := e.sys.Root.RequestFuture(e.root, &stopChild{name: "a"}, waitTimeout).Result(); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "a stopped", func() bool { return e.rec.has("child stopped a") })
	e.sync()
	if n := e.node("a"); n.State != StateStopped || e.rec.count("started a") != 1 {
		t.Fatalf("a after StopChild: %+v", n)
	}

	// A dropped name can be used again.
	if err := add("p1", Temporary); err != nil {
		t.Fatalf("re-adding p1: %v", err)
	}
	e.stop()
}

func TestPanicInStarted(t *testing.T) {
	var flaky, broken atomic.Int32
	flaky.Store(2)
	broken.Store(1000)
	e := newEnv(t, func(e *env) []Spec {
		f := leafSpec("flaky", e.rec, leafOpts{panicStarts: &flaky})
		f.Intensity = Intensity{MaxRestarts: 3, Window: time.Hour}
		b := leafSpec("broken", e.rec, leafOpts{panicStarts: &broken})
		b.Intensity = Intensity{MaxRestarts: 3, Window: time.Hour}
		return []Spec{leafSpec("a", e.rec, leafOpts{}), f, b, leafSpec("c", e.rec, leafOpts{})}
	}, nil)
	// Start went on after each panicking Started, in order.
	eq(t, "first starts", firstStarts(e.rec.list()), []string{"a", "flaky", "broken", "c"})
	e.waitRunning("flaky", 2)
	testutil.WaitFor(t, waitTimeout, "broken given up", func() bool { return e.rec.has("gave up broken: cannot start") })
	if n := e.rec.count("started broken"); n != 4 {
		t.Fatalf("broken started %d times, want 4 (1 + 3 restarts)", n)
	}
	if n := e.node("broken"); n.State != StateStopped || n.Restarts != 3 {
		t.Fatalf("broken: %+v", n)
	}
	e.stop()
}

// firstStarts lists the actors in the order of their first "started" event.
func firstStarts(events []string) []string {
	var out []string
	for _, ev := range events {
		if name, ok := strings.CutPrefix(ev, "started "); ok && name != "node" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func TestUnknownChildFailureStopsIt(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	res, err := e.sys.Root.RequestFuture(e.root, &spawnRaw{}, waitTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	raw := res.(*actor.PID)
	testutil.WaitFor(t, waitTimeout, "raw started", func() bool { return e.rec.has("started raw") })
	e.sys.Root.Send(raw, &boom{})
	testutil.WaitFor(t, waitTimeout, "raw stopped", func() bool { return e.rec.has("stopped raw") })
	if e.rec.has("restarting raw") {
		t.Fatal("a child unknown to the group was restarted")
	}
	if recs := e.logs.Find("actor crashed", "node/raw"); len(recs) != 1 || recs[0].Str("action") != "stop" {
		t.Fatalf("records: %v", recs)
	}
	e.stop()
}

func TestNoRespawnDuringParentStop(t *testing.T) {
	e := newEnv(t, fourChildren, nil)
	e.sys.Root.Stop(e.root) // protoactor's own cascade: every child terminates, none is replaced
	select {
	case <-e.cfg.stopped:
	case <-time.After(waitTimeout):
		t.Fatalf("root did not stop: %v", e.rec.list())
	}
	for _, x := range []string{"a", "b", "c", "d"} {
		if n := e.rec.count("started " + x); n != 1 {
			t.Fatalf("%s started %d times", x, n)
		}
	}
}

func TestStopHandlerPanic(t *testing.T) {
	e := newEnv(t, func(e *env) []Spec {
		return []Spec{leafSpec("a", e.rec, leafOpts{}), leafSpec("b", e.rec, leafOpts{panicStopping: true, goroutine: true})}
	}, nil)
	e.stop()
	eq(t, "stop journal", e.rec.since("stopping b"), []string{
		"stopping b", "stopped b", "stopping a", "stopped a", "done final", "stopping node", "stopped node"})
	if recs := e.logs.Find("actor stop handler panicked", "b"); len(recs) != 1 || recs[0].Str("level") != "ERROR" {
		t.Fatalf("records: %v", recs)
	}
}

func workers(e *env) []Spec {
	return []Spec{leafSpec("worker-0", e.rec, leafOpts{goroutine: true}), leafSpec("worker-1", e.rec, leafOpts{goroutine: true})}
}

func nodeTree(e *env) []Spec {
	return []Spec{
		leafSpec("storage", e.rec, leafOpts{goroutine: true}),
		e.nested("miner", workers(e)),
		leafSpec("api", e.rec, leafOpts{}),
	}
}

func TestNestedGroup(t *testing.T) {
	e := newEnv(t, nodeTree, nil)
	eq(t, "start journal", e.rec.list(), []string{
		"started node", "started storage", "started miner", "started worker-0", "started worker-1",
		"ready miner", "started api", "ready node"})
	js, err := json.Marshal(e.tree.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"node","state":"running","restarts":0,"children":[` +
		`{"name":"storage","state":"running","restarts":0,"children":[]},` +
		`{"name":"miner","state":"running","restarts":0,"children":[` +
		`{"name":"miner/worker-0","state":"running","restarts":0,"children":[]},` +
		`{"name":"miner/worker-1","state":"running","restarts":0,"children":[]}]},` +
		`{"name":"api","state":"running","restarts":0,"children":[]}]}`
	if string(js) != want {
		t.Fatalf("snapshot JSON:\n got  %s\n want %s", js, want)
	}

	e.crash("miner/worker-0", "worker bug")
	e.waitRunning("miner/worker-0", 1)

	// The miner restarts: its workers are stopped and re-spawned by the new miner instance, into
	// the same tree entries with their counts.
	e.crash("miner", "miner bug")
	e.waitRunning("miner", 1)
	testutil.WaitFor(t, waitTimeout, "workers re-spawned", func() bool {
		return e.rec.count("started worker-0") == 3 && e.rec.count("started worker-1") == 2
	})
	e.waitRunning("miner/worker-0", 1)
	e.waitRunning("miner/worker-1", 0)
	checkWorkers := func() {
		t.Helper()
		m := e.node("miner")
		var names []string
		for _, c := range m.Children {
			names = append(names, fmt.Sprintf("%s:%d", c.Name, c.Restarts))
		}
		eq(t, "miner's children", names, []string{"miner/worker-0:1", "miner/worker-1:0"})
	}
	checkWorkers()

	e.kill("miner")
	e.waitRunning("miner", 2)
	testutil.WaitFor(t, waitTimeout, "workers re-spawned after the kill", func() bool { return e.rec.count("started worker-1") == 3 })
	e.waitRunning("miner/worker-0", 1)
	e.waitRunning("miner/worker-1", 0)
	checkWorkers()

	// Only the actor that was restarted logs "actor restarted".
	var restarted []string
	for _, r := range e.logs.Find("actor restarted", "") {
		restarted = append(restarted, r.Str("actor")+":"+r.Str("cause"))
	}
	eq(t, "actor restarted records", restarted, []string{"miner/worker-0:panic", "miner:panic", "miner:kill"})

	e.stop()
	eq(t, "stop journal", e.rec.since("stopping api"), []string{
		"stopping api", "stopped api",
		"stopping worker-1", "stopped worker-1", "stopping worker-0", "stopped worker-0",
		"stopping miner", "stopped miner",
		"stopping storage", "stopped storage",
		"done final", "stopping node", "stopped node"})
}

func TestLifecycleLog(t *testing.T) {
	e := newEnv(t, nodeTree, nil)
	e.stop()
	started := e.logs.ActorsOf("actor started")
	eq(t, "actor started records", started, []string{
		"node", "storage", "miner", "miner/worker-0", "miner/worker-1", "api"})
	stopped := e.logs.ActorsOf("actor stopped")
	reversed := slices.Clone(started)
	slices.Reverse(reversed)
	eq(t, "actor stopped records (reverse start order, parents after their children)", stopped, reversed)
	for _, r := range e.logs.MustRecords(t) {
		switch r.Msg() {
		case "actor started", "actor stopped":
			if r.Str("level") != "INFO" || r.Str("actor") == "" {
				t.Fatalf("lifecycle record %v: want level INFO and an actor attribute", r)
			}
		case "actor restarted", "actor crashed", "actor stop timed out", "actor gave up":
			t.Fatalf("unexpected record %v", r)
		}
	}
}

func TestFaultErrors(t *testing.T) {
	e := newEnv(t, fourChildren, func(e *env, o *GroupOptions) { o.FaultInjection = false })
	for _, c := range []struct {
		name string
		err  error
	}{{"node", ErrRootActor}, {"nope", ErrUnknownActor}, {"", ErrUnknownActor}, {"a/x", ErrUnknownActor}} {
		if err := Kill(e.sys, e.tree, c.name); !errors.Is(err, c.err) {
			t.Fatalf("Kill(%q) = %v, want %v", c.name, err, c.err)
		}
		if err := CrashActor(e.sys, e.tree, c.name, "x"); !errors.Is(err, c.err) {
			t.Fatalf("CrashActor(%q) = %v, want %v", c.name, err, c.err)
		}
	}
	if !errors.Is(ErrRootActor, ErrUnknownActor) || !errors.Is(ErrNotRunning, ErrUnknownActor) {
		t.Fatal("ErrRootActor and ErrNotRunning must wrap ErrUnknownActor")
	}
	if err := CrashActor(e.sys, e.tree, "a", "x"); !errors.Is(err, ErrNoFaultInjection) {
		t.Fatalf("CrashActor without fault injection = %v", err)
	}
	// A Crash message without the middleware is just an unknown message.
	pid, _ := e.tree.PID("a")
	e.sys.Root.Send(pid, &Crash{Reason: "ignored"})
	if s := e.state("a"); e.node("a").Restarts != 0 || s.Count != 0 {
		t.Fatal("a crashed without fault injection")
	}
	e.stop()
}

func TestStartErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		specs func(rec *recorder) []Spec
		want  error
	}{
		{"duplicate", func(rec *recorder) []Spec {
			return []Spec{leafSpec("a", rec, leafOpts{}), leafSpec("a", rec, leafOpts{})}
		}, ErrDuplicateName},
		{"slash", func(rec *recorder) []Spec { return []Spec{leafSpec("a/b", rec, leafOpts{})} }, ErrInvalidSpec},
		{"no producer", func(rec *recorder) []Spec { return []Spec{{Name: "a"}} }, ErrInvalidSpec},
		{"bad restart type", func(rec *recorder) []Spec {
			s := leafSpec("a", rec, leafOpts{})
			s.Restart = Restart(7)
			return []Spec{s}
		}, ErrInvalidSpec},
		{"root name", func(rec *recorder) []Spec { return []Spec{leafSpec("node", rec, leafOpts{})} }, ErrInvalidSpec},
	} {
		t.Run(c.name, func(t *testing.T) {
			sys := newSystem()
			defer sys.Shutdown()
			rec := &recorder{}
			errs := make(chan error, 1)
			cfg := parentCfg{name: "node", root: true, tree: NewTree("node"), rec: rec,
				log: slog.New(slog.DiscardHandler), stopped: make(chan struct{}), specs: c.specs(rec),
				startErr: func(err error) { errs <- err }}
			pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(cfg.producer()), "node")
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-errs:
				if !errors.Is(err, c.want) {
					t.Fatalf("Start = %v, want %v", err, c.want)
				}
			case <-time.After(waitTimeout):
				t.Fatal("Start did not fail")
			}
			sys.Root.Send(pid, &stopAllMsg{label: "final"})
			select {
			case <-cfg.stopped:
			case <-time.After(waitTimeout):
				t.Fatal("root did not stop")
			}
		})
	}
}

// TestBudgetGiveUp: a child that crashes slower than its intensity notices is given up by its
// long budget, with the limit in the "actor gave up" record and from GaveUp, and its restart
// times are in the Tree.
func TestBudgetGiveUp(t *testing.T) {
	var limits []string
	e := newEnv(t, func(e *env) []Spec {
		s := leafSpec("s", e.rec, leafOpts{})
		s.Intensity = Intensity{MaxRestarts: 5, Window: 10 * time.Second}
		s.Budget = Intensity{MaxRestarts: 3, Window: time.Minute}
		return []Spec{leafSpec("a", e.rec, leafOpts{}), s}
	}, func(e *env, o *GroupOptions) {
		give := o.OnGiveUp
		o.OnGiveUp = func(ctx actor.Context, name string, reason any) {
			// On the parent's goroutine, like every Group method.
			l, in := ctx.Actor().(*parent).g.GaveUp(name)
			limits = append(limits, fmt.Sprintf("%s %s %d %s", name, l, in.MaxRestarts, in.Window))
			give(ctx, name, reason)
		}
	})
	t0 := e.clock.Now()
	for i := 1; i <= 3; i++ {
		e.crash("s", fmt.Sprintf("crash %d", i))
		e.waitRunning("s", i)
		e.clock.Advance(6 * time.Second) // slower than 5 in 10 s
	}
	times := e.tree.RestartTimes("s")
	if len(times) != 3 || !times[0].Equal(t0) || !times[2].Equal(t0.Add(12*time.Second)) {
		t.Fatalf("RestartTimes(s) = %v, want 3 restarts 6 s apart from %v", times, t0)
	}
	e.crash("s", "crash 4")
	testutil.WaitFor(t, waitTimeout, "s given up", func() bool { return e.rec.has("gave up s: crash 4") })
	e.sync()
	gave := e.logs.Find("actor gave up", "s")
	if len(gave) != 1 || gave[0].Str("limit") != "budget" || gave[0].Str("max_restarts") != "3" || gave[0].Str("restarts") != "4" {
		t.Fatalf("actor gave up records: %v, want one with limit budget, max_restarts 3, restarts 4", gave)
	}
	eq(t, "GaveUp", limits, []string{"s budget 3 1m0s"})
	if n := e.node("s"); n.State != StateStopped || n.Restarts != 3 {
		t.Fatalf("s after give-up: %+v, want stopped with 3 restarts", n)
	}
	e.stop()
}
