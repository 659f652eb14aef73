package resilience_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/actors"
	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/config"
	"github.com/actorchain/actorchain/internal/testutil"
	"github.com/actorchain/actorchain/supervisor"
)

// In-process chaos: three nodes in this process (one actor system each, real loopback TCP) take
// transfers through their APIs while a seeded schedule crashes and kills single actors, stops and
// restarts whole nodes on their homes, fails storage commits, skews clocks, and cuts, delays and
// drops links. Then everything is healed and the invariants are checked. The schedule is a pure
// function of the seed (CHAOS_SEED, logged); replaying a seed replays the schedule, not the exact
// interleaving of goroutines.

// chaosKind is one kind of fault of the schedule.
type chaosKind string

const (
	chaosCrash   chaosKind = "crash"   // an actor panics in its handler (debug hook)
	chaosKill    chaosKind = "kill"    // an actor is stopped abruptly (debug hook)
	chaosRestart chaosKind = "restart" // the node is stopped in order and started again on its home
	chaosStorage chaosKind = "storage" // storage commits fail (debug hook)
	chaosClock   chaosKind = "clock"   // the node's clock is skewed (debug hook)
	chaosCut     chaosKind = "cut"     // a link is cut (debug hook, on one end)
	chaosDelay   chaosKind = "delay"   // a link delays messages
	chaosLoss    chaosKind = "loss"    // a link drops messages
)

var chaosKinds = []chaosKind{chaosCrash, chaosKill, chaosRestart, chaosStorage, chaosClock, chaosCut, chaosDelay, chaosLoss}

// chaosActors are the targets of crashes and kills; "connection" is one of the peers manager's
// connection actors, picked when the fault runs.
var chaosActors = []string{"storage", "consensus", "mempool", "peers", "connection", "miner", "miner/worker-0", "api"}

// chaosMaxSkew bounds the clock skews drawn (seconds): two nodes skewed opposite ways stay within
// the chain's future drift (120 s) of each other.
const chaosMaxSkew = 40

// chaosAction is one step of a schedule: a fault starts, or (Heal) a lasting fault ends.
type chaosAction struct {
	At      time.Duration // since the start of the chaos
	Kind    chaosKind
	Heal    bool
	Node    int
	Actor   string  // crash, kill
	Peer    int     // cut, delay, loss: the other end; the filter is set on Node
	Skew    int64   // clock: seconds
	DelayMs int     // delay
	Loss    float64 // loss
}

func (a chaosAction) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.2fs node%d ", a.At.Seconds(), a.Node)
	if a.Heal {
		b.WriteString("heal ")
	}
	b.WriteString(string(a.Kind))
	switch a.Kind {
	case chaosCrash, chaosKill:
		b.WriteString(" " + a.Actor)
	case chaosClock:
		if !a.Heal {
			fmt.Fprintf(&b, " %+ds", a.Skew)
		}
	case chaosCut, chaosDelay, chaosLoss:
		fmt.Fprintf(&b, " ->node%d", a.Peer)
		if !a.Heal && a.Kind == chaosDelay {
			fmt.Fprintf(&b, " %dms", a.DelayMs)
		}
		if !a.Heal && a.Kind == chaosLoss {
			fmt.Fprintf(&b, " %.2f", a.Loss)
		}
	}
	return b.String()
}

// lasting reports whether a kind of fault lasts until a heal action.
func (k chaosKind) lasting() bool { return k != chaosCrash && k != chaosKill }

// link reports whether a kind of fault is a link filter (one filter per ordered pair of nodes).
func (k chaosKind) link() bool { return k == chaosCut || k == chaosDelay || k == chaosLoss }

// chaosSchedule draws the schedule of faults actions over span for a network of nodes (>= 2):
// faults start spread over the span in slots, the first len(chaosKinds) of them one of each kind in
// a drawn order (so every kind appears once faults >= len(chaosKinds)), the rest of drawn kinds. A
// lasting fault is healed within 0.3 to 4 s, by span at the latest. It never overlaps a fault of
// the same kind on the same node (links: any link fault on the same ordered pair), never targets a
// node that is down (but a heal may come while its node is down: the restart ended the fault), and
// restarts a node only while no other node is down.
// A fault that cannot be placed becomes a crash. The same arguments always give the same
// schedule, ordered by time.
func chaosSchedule(seed uint64, nodes int, span time.Duration, faults int) []chaosAction {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	kinds := make([]chaosKind, faults)
	first := slices.Clone(chaosKinds)
	rng.Shuffle(len(first), func(i, j int) { first[i], first[j] = first[j], first[i] })
	for i := range kinds {
		if i < len(first) {
			kinds[i] = first[i]
		} else {
			kinds[i] = chaosKinds[rng.IntN(len(chaosKinds))]
		}
	}
	dur := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }

	type resource struct {
		kind       chaosKind
		node, peer int
	}
	busy := map[resource]time.Duration{} // until when a fault holds it
	downUntil := make([]time.Duration, nodes)
	free := func(r resource, at time.Duration) bool { return busy[r] <= at }
	up := func(n int, at time.Duration) bool { return downUntil[n] <= at }
	anyDown := func(at time.Duration) bool {
		return slices.ContainsFunc(downUntil, func(d time.Duration) bool { return d > at })
	}
	// place finds a node for a fault of kind at at, or reports false.
	place := func(kind chaosKind, at time.Duration) (chaosAction, bool) {
		a := chaosAction{At: at, Kind: kind}
		start := rng.IntN(nodes)
		for k := 0; k < nodes; k++ {
			n := (start + k) % nodes
			if !up(n, at) {
				continue
			}
			a.Node = n
			switch {
			case kind == chaosRestart:
				if !anyDown(at) {
					return a, true
				}
			case kind.link():
				a.Peer = (n + 1 + rng.IntN(nodes-1)) % nodes
				if free(resource{"link", n, a.Peer}, at) {
					return a, true
				}
			case kind.lasting():
				if free(resource{kind, n, 0}, at) {
					return a, true
				}
			default:
				return a, true
			}
		}
		return a, false
	}

	var out []chaosAction
	var pending []chaosKind // drawn kinds not placed yet, oldest first
	slot := span / time.Duration(faults+1)
	for i, kind := range kinds {
		at := slot*time.Duration(i) + time.Duration(rng.Int64N(int64(slot)))
		pending = append(pending, kind)
		var a chaosAction
		placed := false
		for j, k := range pending {
			if a, placed = place(k, at); placed {
				pending = slices.Delete(pending, j, j+1)
				break
			}
		}
		if !placed {
			// Nothing drawn fits now (it stays pending): a crash does.
			a, _ = place(chaosCrash, at)
		}
		switch a.Kind {
		case chaosCrash, chaosKill:
			a.Actor = chaosActors[rng.IntN(len(chaosActors))]
		case chaosClock:
			a.Skew = int64(5 + rng.IntN(chaosMaxSkew-4))
			if rng.IntN(2) == 0 {
				a.Skew = -a.Skew
			}
		case chaosDelay:
			a.DelayMs = 20 + rng.IntN(180)
		case chaosLoss:
			a.Loss = float64(10+rng.IntN(41)) / 100
		}
		out = append(out, a)
		if !a.Kind.lasting() {
			continue
		}
		end := min(at+dur(300*time.Millisecond, 4*time.Second), span)
		if a.Kind == chaosRestart {
			end = min(at+dur(0, 1500*time.Millisecond), span)
			downUntil[a.Node] = end
		} else if a.Kind.link() {
			busy[resource{"link", a.Node, a.Peer}] = end
		} else {
			busy[resource{a.Kind, a.Node, 0}] = end
		}
		h := a
		h.At, h.Heal = end, true
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(x, y chaosAction) int { return int(x.At - y.At) })
	return out
}

// chaosSeed is CHAOS_SEED (a number, or "random" for one drawn from the clock), else 1.
func chaosSeed(t *testing.T) uint64 {
	t.Helper()
	switch s := os.Getenv("CHAOS_SEED"); s {
	case "":
		return 1
	case "random":
		return uint64(time.Now().UnixNano())
	default:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: want an unsigned integer or \"random\"", s)
		}
		return v
	}
}

// chaosNet is the network under chaos: the homes, and the running node of each (nil while down).
// Only the test goroutine changes it.
type chaosNet struct {
	t       *testing.T
	homes   []*home
	opts    actors.Options
	mu      sync.Mutex
	nodes   []*node // guarded by mu
	clients []*api.Client
	ids     []string              // node ids
	logs    []*testutil.LogBuffer // every instance's log, for the final lock-error check
	began   time.Time
}

func (c *chaosNet) node(i int) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

func (c *chaosNet) logf(format string, args ...any) {
	c.t.Logf("chaos %6.2fs: %s", time.Since(c.began).Seconds(), fmt.Sprintf(format, args...))
}

// start starts node i on its home and records it.
func (c *chaosNet) start(i int) {
	nd := c.homes[i].start(c.t, c.opts)
	nd.dumpOnFailure()
	c.mu.Lock()
	c.nodes[i] = nd
	c.logs = append(c.logs, nd.log)
	c.mu.Unlock()
}

// stop stops node i in order; it is down until start.
func (c *chaosNet) stop(i int) {
	nd := c.node(i)
	nd.stop()
	if err := nd.n.Err(); err != nil {
		c.t.Fatalf("node%d stopped with an error: %v", i, err)
	}
	c.mu.Lock()
	c.nodes[i] = nil
	c.mu.Unlock()
}

// must retries a heal until the node's API takes it (the api actor may be restarting), bounded.
func (c *chaosNet) must(what string, do func(ctx context.Context) error) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := do(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond) // retry pacing of a bounded retry loop
	}
}

// connectionActor returns one of node i's connection actors ("" when it has none).
func (c *chaosNet) connectionActor(i int) string {
	for _, k := range c.node(i).n.Actors().Children {
		if k.Name != "peers" {
			continue
		}
		var names []string
		for _, conn := range k.Children {
			if conn.State == supervisor.StateRunning {
				names = append(names, conn.Name)
			}
		}
		slices.Sort(names)
		if len(names) > 0 {
			return names[0]
		}
	}
	return ""
}

// apply runs one action of the schedule. Faults go through the API; an injection the node does
// not take (its api actor restarting, the actor already gone) is logged and skipped; a heal must
// be taken.
func (c *chaosNet) apply(a chaosAction) {
	if c.node(a.Node) == nil && !(a.Kind == chaosRestart && a.Heal) {
		c.logf("%s: skipped, the node is down (its restart ended the fault)", a)
		return
	}
	cl := c.clients[a.Node]
	peerID := func() string { return c.ids[a.Peer] }
	try := func(err error) {
		if err != nil {
			c.logf("%s: not injected: %v", a, err)
			return
		}
		c.logf("%s", a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	switch {
	case a.Kind == chaosCrash || a.Kind == chaosKill:
		name := a.Actor
		if name == "connection" {
			if name = c.connectionActor(a.Node); name == "" {
				c.logf("%s: no connection actor to hit", a)
				return
			}
		}
		if a.Kind == chaosCrash {
			try(cl.Crash(ctx, name))
		} else {
			try(cl.Kill(ctx, name))
		}
	case a.Kind == chaosRestart && !a.Heal:
		c.stop(a.Node)
		c.logf("%s: stopped", a)
	case a.Kind == chaosRestart:
		c.start(a.Node)
		c.logf("%s: started again", a)
	case a.Kind == chaosStorage:
		c.must(a.String(), func(ctx context.Context) error { _, err := cl.DebugStorageFault(ctx, !a.Heal); return err })
		c.logf("%s", a)
	case a.Kind == chaosClock:
		skew := a.Skew
		if a.Heal {
			skew = 0
		}
		c.must(a.String(), func(ctx context.Context) error { _, err := cl.DebugClockSkew(ctx, skew); return err })
		c.logf("%s", a)
	case a.Kind.link():
		f := api.LinkFilter{Peer: peerID()}
		if !a.Heal {
			f.Cut, f.DelayMs, f.Loss = a.Kind == chaosCut, a.DelayMs, a.Loss
		}
		c.must(a.String(), func(ctx context.Context) error { _, err := cl.DebugSetLink(ctx, f); return err })
		c.logf("%s", a)
	}
}

// pacedSubmit submits through the API after a short pause, so the load leaves the two cores
// some room for the nodes under -race.
func pacedSubmit(c *api.Client) submitFunc {
	sub := apiSubmit(c)
	return func(ctx context.Context, tx *chainstate.Tx) (string, error) {
		time.Sleep(30 * time.Millisecond) // load pacing, not synchronisation
		return sub(ctx, tx)
	}
}

func TestChaosInProcess(t *testing.T) {
	const (
		nodes  = 3
		span   = 20 * time.Second
		faults = 36
		bound  = 30 * time.Second // convergence bound after healing
	)
	seed := chaosSeed(t)
	t.Logf("chaos seed %d (replay with CHAOS_SEED=%d)", seed, seed)
	schedule := chaosSchedule(seed, nodes, span, faults)

	senders := []ed25519.PrivateKey{newKey(t, 61), newKey(t, 62), newKey(t, 63)}
	edit := func(c *config.Config) {
		c.Debug.FaultInjection = true
		c.P2P.MaxOutbound = 4
		c.Supervision.MaxRestarts = 100000 // many faults on purpose: no restart budget
	}
	first := netHome(t, edit)
	for _, k := range senders {
		first.cfg.Chain.Alloc[addrOf(k).String()] = 1 << 40
	}
	rewrite(t, first)
	net := &chaosNet{t: t, opts: actors.Options{
		Intensity:        supervisor.Intensity{MaxRestarts: 1000, Window: 10 * time.Second},
		MinBlockInterval: 100 * time.Millisecond,
	}}
	net.homes = append(net.homes, first)
	net.nodes = make([]*node, nodes)
	for i := 1; i < nodes; i++ {
		net.homes = append(net.homes, joinHome(t, first, edit))
	}
	for i := range net.homes {
		if i > 0 {
			var seeds []*node
			for j := 0; j < i; j++ {
				seeds = append(seeds, net.node(j))
			}
			seedWith(t, net.homes[i], seeds...)
		}
		net.start(i)
		// Pin the bound ports: a restarted node is found where it was (seeds, API clients).
		h, nd := net.homes[i], net.node(i)
		h.cfg.P2P.Listen, h.cfg.API.Listen = nd.n.P2PAddr(), nd.n.APIAddr()
		net.ids = append(net.ids, nd.n.NodeID())
		rewrite(t, h)
		net.clients = append(net.clients, api.NewClient("http://"+nd.n.APIAddr(), &http.Client{Timeout: 5 * time.Second}))
	}
	for i := 1; i < nodes; i++ {
		waitConnected(t, net.node(i), net.node(0))
	}
	p := net.node(0).n.Params()
	var streams []*txStream
	for k, key := range senders {
		streams = append(streams, startStream(t, p, key, addrOf(newKey(t, 70)), 0, pacedSubmit(net.clients[k%nodes])))
	}

	// The chaos.
	net.began = time.Now()
	kinds := map[chaosKind]int{}
	for _, a := range schedule {
		if wait := a.At - time.Since(net.began); wait > 0 {
			time.Sleep(wait) // the schedule's own clock
		}
		net.apply(a)
		if !a.Heal {
			kinds[a.Kind]++
		}
	}
	t.Logf("chaos: %d actions over %v, faults by kind %v", len(schedule), time.Since(net.began).Round(time.Millisecond), kinds)

	// Heal everything (the schedule healed its own faults; this is the belt to those braces).
	for i := 0; i < nodes; i++ {
		cl := net.clients[i]
		net.must("clear links", func(ctx context.Context) error { return cl.DebugClearLinks(ctx) })
		net.must("clear storage fault", func(ctx context.Context) error { _, err := cl.DebugStorageFault(ctx, false); return err })
		net.must("clear clock skew", func(ctx context.Context) error { _, err := cl.DebugClockSkew(ctx, 0); return err })
	}
	healed := time.Now()
	healedAt := make([]int, nodes) // log offsets at the heal
	for i := range healedAt {
		healedAt[i] = net.node(i).log.Len()
	}
	for _, s := range streams {
		s.stop()
	}
	var acked []chainstate.Hash
	for k, s := range streams {
		a, unexpected, gap := s.result()
		if len(unexpected) > 0 {
			t.Fatalf("sender %d: unexpected rejections: %v", k, unexpected)
		}
		t.Logf("sender %d: %d transfers acknowledged, longest gap %v", k, len(a), gap.Round(time.Millisecond))
		acked = append(acked, a...)
	}
	if len(acked) == 0 {
		t.Fatal("no transfer was acknowledged during the chaos")
	}

	// Every acknowledged transfer gets mined (all nodes mine), then node0 alone extends the best
	// chain so that one tip wins, and every node takes it.
	for i := 0; i < nodes; i++ {
		nd := net.node(i)
		testutil.WaitFor(t, bound, fmt.Sprintf("every acknowledged transfer confirmed at node%d", i), func() bool {
			for _, h := range acked {
				info, err := nd.n.Tx(context.Background(), h)
				if err != nil || !info.Confirmed {
					return false
				}
			}
			return true
		})
	}
	// Every node mines again after the heal: its own block connected since (a forward skew that
	// was cleared, a storage fault, a restarted miner must not leave it idle).
	for i := 0; i < nodes; i++ {
		nd := net.node(i)
		testutil.WaitFor(t, bound, fmt.Sprintf("node%d mining a block after the heal", i), func() bool {
			for _, r := range nd.log.RecordsSince(healedAt[i], "block mined") {
				if r["status"] == "connected" {
					return true
				}
			}
			return false
		})
	}
	tip, height := settle(t, bound, net.node(0), net.nodes[1:]...)
	t.Logf("converged on %s at height %d, %v after healing", tip[:16], height, time.Since(healed).Round(time.Millisecond))

	// Exactly once on the common chain, and every node agrees where.
	count := map[chainstate.Hash]int{}
	n0 := net.node(0).n
	for h := uint64(1); h <= height; h++ {
		bi, err := n0.BlockAt(context.Background(), h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		for _, tx := range bi.Block.Txs {
			count[tx.Hash()]++
		}
	}
	for _, h := range acked {
		if count[h] != 1 {
			t.Fatalf("acknowledged transfer %s is %d times on the common chain", h, count[h])
		}
		want, _ := n0.Tx(context.Background(), h)
		for i := 1; i < nodes; i++ {
			if got, err := net.node(i).n.Tx(context.Background(), h); err != nil || got.BlockHash != want.BlockHash {
				t.Fatalf("transfer %s: node%d has it in %v (%v), node0 in %v", h, i, got.BlockHash, err, want.BlockHash)
			}
		}
	}
	t.Logf("%d acknowledged transfers, each confirmed exactly once on the common chain", len(acked))

	// No node stopped by itself; nothing logged a lock error; every home verifies.
	for i := 0; i < nodes; i++ {
		select {
		case <-net.node(i).n.Done():
			t.Fatalf("node%d stopped by itself: %v", i, net.node(i).n.Err())
		default:
		}
	}
	for i := 0; i < nodes; i++ {
		net.stop(i)
	}
	// Nothing logged a lock error, and no actor crashed but by the test's hand (the restart
	// intensity is raised so that the schedule's own crashes never stop a node; this keeps it from
	// hiding a crash loop).
	for i, lb := range net.logs {
		if lockError(lb) {
			t.Fatalf("instance %d logged a lock error", i)
		}
		for _, r := range lb.Records("actor crashed") {
			if reason, _ := r["reason"].(string); !strings.Contains(reason, "fault injection") {
				t.Fatalf("instance %d: an actor crashed by itself: %v", i, r)
			}
		}
	}
	for i, h := range net.homes {
		rep, err := chainstate.Verify(h.cfg.Storage.Path, p, 5*time.Second)
		if err != nil {
			t.Fatalf("verify node%d: %v", i, err)
		}
		t.Logf("node%d verified: %+v", i, rep)
	}
	goleak.VerifyNone(t)
}

// waitSameTipWithin is waitSameTip with its own bound.
func waitSameTipWithin(t *testing.T, d time.Duration, nodes ...*node) (string, uint64) {
	t.Helper()
	var tip string
	var height uint64
	testutil.WaitFor(t, d, "one tip on every node", func() bool {
		for i, nd := range nodes {
			st := nd.status()
			if i == 0 {
				tip, height = st.TipHash, st.Height
			} else if st.TipHash != tip {
				return false
			}
		}
		return true
	})
	return tip, height
}

// TestChaosSchedule: the schedule is a function of its arguments; once long enough (three faults
// per kind, 0.3 s apart on average; the chaos test's 36 in 20 s is) it has every kind; and it
// keeps its rules (time order, heals, no overlaps, nothing aimed at a node that is
// down, one node down at a time, skews within the bound).
func TestChaosSchedule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64().Draw(t, "seed")
		nodes := rapid.IntRange(2, 5).Draw(t, "nodes")
		// Long enough: three times as many faults as kinds, at least 0.3 s apart on average.
		faults := rapid.IntRange(3*len(chaosKinds), 80).Draw(t, "faults")
		span := time.Duration(faults)*300*time.Millisecond + time.Duration(rapid.IntRange(0, 30).Draw(t, "extra_s"))*time.Second
		s := chaosSchedule(seed, nodes, span, faults)
		if again := chaosSchedule(seed, nodes, span, faults); !reflect.DeepEqual(s, again) {
			t.Fatal("the same seed gave another schedule")
		}
		checkChaosSchedule(t, s, nodes, span, faults)
	})
	// Different seeds give different schedules.
	if reflect.DeepEqual(chaosSchedule(1, 3, 20*time.Second, 36), chaosSchedule(2, 3, 20*time.Second, 36)) {
		t.Fatal("seeds 1 and 2 gave the same schedule")
	}
}

func checkChaosSchedule(t *rapid.T, s []chaosAction, nodes int, span time.Duration, faults int) {
	starts := 0
	seen := map[chaosKind]bool{}
	type key struct {
		kind       chaosKind
		node, peer int
	}
	open := map[key]bool{}
	down := map[int]bool{}
	for i, a := range s {
		if i > 0 && a.At < s[i-1].At {
			t.Fatalf("action %d (%s) before action %d", i, a, i-1)
		}
		if a.At < 0 || a.At > span || a.Node < 0 || a.Node >= nodes {
			t.Fatalf("action %s out of the span or the network", a)
		}
		k := key{a.Kind, a.Node, 0}
		if a.Kind.link() {
			k = key{"link", a.Node, a.Peer}
			if a.Peer == a.Node || a.Peer < 0 || a.Peer >= nodes {
				t.Fatalf("%s: bad link", a)
			}
		}
		if a.Heal {
			if a.Kind == chaosRestart {
				if !down[a.Node] {
					t.Fatalf("%s: the node is not down", a)
				}
				delete(down, a.Node)
				continue
			}
			if !open[k] {
				t.Fatalf("%s heals nothing", a)
			}
			delete(open, k)
			continue
		}
		starts++
		seen[a.Kind] = true
		if down[a.Node] {
			t.Fatalf("%s aims at a node that is down", a)
		}
		switch a.Kind {
		case chaosCrash, chaosKill:
			if !slices.Contains(chaosActors, a.Actor) {
				t.Fatalf("%s: unknown actor", a)
			}
		case chaosRestart:
			if len(down) > 0 {
				t.Fatalf("%s while another node is down", a)
			}
			down[a.Node] = true
			continue
		case chaosClock:
			if a.Skew == 0 || a.Skew > chaosMaxSkew || a.Skew < -chaosMaxSkew {
				t.Fatalf("%s: skew out of bounds", a)
			}
		case chaosDelay:
			if a.DelayMs <= 0 || a.DelayMs > 1000 {
				t.Fatalf("%s: delay", a)
			}
		case chaosLoss:
			if a.Loss <= 0 || a.Loss > 1 {
				t.Fatalf("%s: loss", a)
			}
		}
		if a.Kind.lasting() {
			if open[k] {
				t.Fatalf("%s overlaps a fault of its kind", a)
			}
			open[k] = true
		}
	}
	if len(open) > 0 || len(down) > 0 {
		t.Fatalf("faults never healed: %v, nodes left down: %v", open, down)
	}
	if starts != faults {
		t.Fatalf("%d faults, want %d", starts, faults)
	}
	for _, k := range chaosKinds {
		if !seen[k] {
			t.Fatalf("no %s fault in a schedule of %d", k, faults)
		}
	}
}
