package chaos

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The fault kinds. Every schedule of at least len(Kinds) faults contains each of them.
const (
	KindKill      Kind = "kill"      // kill -9 a node process; restart it at once or after For
	KindFreeze    Kind = "freeze"    // SIGSTOP a node process for For, then SIGCONT
	KindActor     Kind = "actor"     // crash or kill one actor through /v1/debug/actors
	KindPartition Kind = "partition" // cut every link between Group and the other nodes for For
	KindLink      Kind = "link"      // delay and drop traffic between Node and Peer for For
	KindStorage   Kind = "storage"   // fail every storage commit of Node for For
	KindClock     Kind = "clock"     // skew Node's clock by SkewS seconds for For
	// KindDamage stops Node (SIGTERM), damages its database (Damage), expects `node run` to
	// refuse it, salvages it with `node db salvage` and restarts it after For: it catches up
	// from its peers.
	KindDamage Kind = "damage"
	// KindFlood connects a hostile peer to Node that floods it with junk addresses for For.
	KindFlood Kind = "flood"
	// KindCrashLoop crashes Node's consensus actor every CrashLoopInterval until the node gives
	// up (unhealthy first, then an ordered stop with exit 1 and `node gave up`: expected), and
	// restarts it after For.
	KindCrashLoop Kind = "crashloop"
)

// Kinds lists every fault kind in a fixed order.
var Kinds = []Kind{KindKill, KindFreeze, KindActor, KindPartition, KindLink, KindStorage, KindClock,
	KindDamage, KindFlood, KindCrashLoop}

// Damages are the ways a damage fault breaks a database file: truncated to half of the extent
// in use, both meta pages overwritten, or live pages overwritten.
var Damages = []string{"truncate", "meta", "pages"}

// The crash loop: consensus crashes every CrashLoopInterval; the chaos homes' restart budget
// (supervision.max_restarts CrashLoopBudget in supervision.window CrashLoopWindow) gives up at
// crash CrashLoopBudget+1, so the loop lasts about (CrashLoopBudget+1) intervals; CrashLoopFor
// is how long the node is given before its restart.
const (
	CrashLoopInterval = 1500 * time.Millisecond
	CrashLoopBudget   = 4
	CrashLoopWindow   = time.Minute
	CrashLoopFor      = 12 * time.Second
)

// Actor roles a KindActor fault targets. ActorConn and ActorWorker name one of several children;
// the runner picks the child with Fault.Pick among the live ones (GET /v1/actors).
const (
	ActorConn   = "peers/*"
	ActorWorker = "miner/worker-*"
)

// Actors lists the actor roles a KindActor fault draws from.
var Actors = []string{"storage", "consensus", "mempool", "peers", ActorConn, "miner", ActorWorker, "api"}

// MaxSkewSeconds bounds a clock fault's skew. Two nodes skewed in opposite directions stay
// within the 120 s future-drift rule of each other (2*55 < 120).
const MaxSkewSeconds = 55

// Fault is one scheduled fault.
type Fault struct {
	At   time.Duration // offset from the start of the schedule
	Kind Kind
	// Node is the target node (every kind but partition); for a link, one end.
	Node int
	// Peer is a link's other end.
	Peer int
	// Group is one side of a partition (sorted); the other side is every other node.
	Group []int
	// For is how long the fault lasts; for a kill, how long the node stays down (0: restarted at
	// once).
	For time.Duration
	// Actor and Action (crash or kill) of an actor fault; Pick chooses among several children.
	Actor  string
	Action string
	Pick   uint32
	// DelayMs and Loss of a link fault.
	DelayMs int
	Loss    float64
	// SkewS is a clock fault's skew in seconds (non-zero, |SkewS| <= MaxSkewSeconds).
	SkewS int
	// Damage is a damage fault's way of breaking the database (one of Damages).
	Damage string
}

// Ends reports whether the fault has an end step (it lasts For and is then undone).
func (f Fault) Ends() bool { return f.For > 0 }

// String describes the fault's target and parameters, e.g. "node1 actor peers/* crash".
func (f Fault) String() string {
	switch f.Kind {
	case KindKill:
		if f.For == 0 {
			return fmt.Sprintf("kill -9 node%d, restart at once", f.Node)
		}
		return fmt.Sprintf("kill -9 node%d, restart after %s", f.Node, f.For)
	case KindFreeze:
		return fmt.Sprintf("SIGSTOP node%d for %s", f.Node, f.For)
	case KindActor:
		return fmt.Sprintf("%s actor %s of node%d", f.Action, f.Actor, f.Node)
	case KindPartition:
		return fmt.Sprintf("partition %v from the rest for %s", nodeNames(f.Group), f.For)
	case KindLink:
		return fmt.Sprintf("link node%d<->node%d delay %dms loss %.0f%% for %s", f.Node, f.Peer, f.DelayMs, f.Loss*100, f.For)
	case KindStorage:
		return fmt.Sprintf("fail storage commits of node%d for %s", f.Node, f.For)
	case KindClock:
		return fmt.Sprintf("skew node%d's clock by %+ds for %s", f.Node, f.SkewS, f.For)
	case KindDamage:
		return fmt.Sprintf("stop node%d, damage its database (%s), salvage, restart after %s", f.Node, f.Damage, f.For)
	case KindFlood:
		return fmt.Sprintf("flood node%d with junk addresses from a hostile peer for %s", f.Node, f.For)
	case KindCrashLoop:
		return fmt.Sprintf("crash node%d's consensus every %s until it gives up, restart after %s", f.Node, CrashLoopInterval, f.For)
	}
	return string(f.Kind)
}

func nodeNames(ks []int) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = fmt.Sprintf("node%d", k)
	}
	return out
}

// Settings shape a schedule. Either Duration or Rounds is set.
type Settings struct {
	Nodes int
	// Duration: faults start and end within it. Rounds: exactly this many faults.
	Duration time.Duration
	Rounds   int
	// MinGap and MaxGap bound the time between two fault starts; MinFor and MaxFor how long a
	// lasting fault lasts. Zero values take the defaults below.
	MinGap, MaxGap time.Duration
	MinFor, MaxFor time.Duration
}

// Schedule defaults.
const (
	DefaultMinGap = 1 * time.Second
	DefaultMaxGap = 3 * time.Second
	DefaultMinFor = 1 * time.Second
	DefaultMaxFor = 5 * time.Second
)

func (s Settings) withDefaults() Settings {
	if s.MinGap <= 0 {
		s.MinGap = DefaultMinGap
	}
	if s.MaxGap < s.MinGap {
		s.MaxGap = max(DefaultMaxGap, s.MinGap)
	}
	if s.MinFor <= 0 {
		s.MinFor = DefaultMinFor
	}
	if s.MaxFor < s.MinFor {
		s.MaxFor = max(DefaultMaxFor, s.MinFor)
	}
	return s
}

// Validate checks the settings; errors name the setting.
func (s Settings) Validate() error {
	switch {
	case s.Nodes < 2:
		return fmt.Errorf("nodes: a chaos network needs at least 2 nodes, got %d", s.Nodes)
	case s.Duration < 0:
		return fmt.Errorf("duration: must be > 0, got %s", s.Duration)
	case s.Rounds < 0:
		return fmt.Errorf("rounds: must be > 0, got %d", s.Rounds)
	case s.Duration == 0 && s.Rounds == 0:
		return fmt.Errorf("duration: must be > 0 (or give rounds)")
	case s.Duration > 0 && s.Rounds > 0:
		return fmt.Errorf("duration and rounds: give one of them, not both")
	}
	return nil
}

// Plan draws the fault schedule of seed: a pure function of its arguments. The first len(Kinds)
// faults are a seeded permutation of every kind (so a schedule of at least that many faults
// contains each); the rest are drawn uniformly. A process fault (kill, freeze) leaves at least
// one node running and never hits a node that is down or frozen; actor faults take the actor
// roles in a seeded order (every len(Actors) consecutive actor faults hit each role once); actor, storage and clock faults
// only target running nodes, and a node has at most one storage, one clock and one flood fault at
// a time. Damage and crash-loop faults are process faults (the node goes down); a crash loop lasts
// CrashLoopFor.
// With Duration set every fault starts and ends within it.
func Plan(seed int64, s Settings) ([]Fault, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p := newPlanner(seed, s.withDefaults())
	for p.s.Rounds == 0 || len(p.out) < p.s.Rounds {
		if !p.next() {
			break
		}
	}
	return p.out, nil
}

// nodeBusy is when each kind of per-node fault on a node ends (process faults share one entry).
type nodeBusy struct{ proc, storage, clock, flood time.Duration }

// planner is Plan's state while it draws one schedule. Its draws from rng happen in a fixed
// order, so a seed always gives the same schedule.
type planner struct {
	s     Settings
	rng   *rand.Rand
	nodes []nodeBusy
	// alone[k] is when the last partition that leaves node k on its own ends: a connection
	// actor fault on it then would find no connection to hit.
	alone []time.Duration
	order []int // the seeded order of the first len(Kinds) faults' kinds
	// Actor faults go through the roles in a seeded order, so every len(Actors) of them hit each.
	roles  []int
	nactor int
	t      time.Duration
	out    []Fault
}

func newPlanner(seed int64, s Settings) *planner {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x63686173))
	p := &planner{s: s, rng: rng, nodes: make([]nodeBusy, s.Nodes), alone: make([]time.Duration, s.Nodes)}
	p.order = rng.Perm(len(Kinds))
	p.roles = rng.Perm(len(Actors))
	return p
}

// between draws a duration in [lo, hi], in whole milliseconds.
func (p *planner) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	d := lo + time.Duration(p.rng.Int64N(int64(hi-lo)+1))
	return d.Truncate(time.Millisecond)
}

// next draws the next fault and appends it; false when the duration leaves no room for it.
func (p *planner) next() bool {
	p.t += p.between(p.s.MinGap, p.s.MaxGap)
	kind := p.nextKind()
	cands := p.free(kind, p.t)
	for len(cands) == 0 && kind != KindPartition && kind != KindLink {
		p.t = p.nextEnd() // some fault ends after t, else cands would not be empty
		cands = p.free(kind, p.t)
	}
	dur := p.between(p.s.MinFor, p.s.MaxFor)
	least := p.s.MinFor
	if kind == KindCrashLoop {
		dur, least = CrashLoopFor, CrashLoopFor
	}
	if p.s.Duration > 0 {
		if p.t+least > p.s.Duration {
			return false
		}
		dur = min(dur, p.s.Duration-p.t)
	}
	f := Fault{At: p.t, Kind: kind}
	if kind == KindActor && Actors[p.roles[p.nactor%len(p.roles)]] == ActorConn {
		cands = connected(cands, p.alone, p.t)
	}
	if kind != KindPartition && kind != KindLink {
		f.Node = cands[p.rng.IntN(len(cands))]
	}
	p.fill(&f, dur)
	p.out = append(p.out, f)
	return true
}

// nextKind is the kind of the next fault: the seeded permutation first, then uniform draws.
func (p *planner) nextKind() Kind {
	if i := len(p.out); i < len(Kinds) {
		return Kinds[p.order[i]]
	}
	return Kinds[p.rng.IntN(len(Kinds))]
}

// free lists the nodes a fault of kind may hit at: running nodes (a process fault needs two, so
// that one stays up) without a fault of the same kind in force.
func (p *planner) free(kind Kind, at time.Duration) []int {
	var up, ks []int
	for k, b := range p.nodes {
		if b.proc <= at {
			up = append(up, k)
		}
	}
	for _, k := range up {
		b := p.nodes[k]
		var ok bool
		switch kind {
		case KindKill, KindFreeze, KindDamage, KindCrashLoop:
			ok = len(up) >= 2
		case KindFlood:
			ok = b.flood <= at
		case KindStorage:
			ok = b.storage <= at
		case KindClock:
			ok = b.clock <= at
		default:
			ok = true
		}
		if ok {
			ks = append(ks, k)
		}
	}
	return ks
}

// nextEnd is the earliest end of a per-node fault after p.t, or -1 when none.
func (p *planner) nextEnd() time.Duration {
	next := time.Duration(-1)
	for _, b := range p.nodes {
		for _, e := range []time.Duration{b.proc, b.storage, b.clock, b.flood} {
			if e > p.t && (next < 0 || e < next) {
				next = e
			}
		}
	}
	return next
}

// fill draws the parameters of f (whose kind, time and node are set), lasting dur where it
// lasts, and books the node's busy time.
func (p *planner) fill(f *Fault, dur time.Duration) {
	rng, b, t := p.rng, &p.nodes[f.Node], p.t
	switch f.Kind {
	case KindKill:
		if rng.IntN(2) == 0 {
			f.For = dur
		}
		b.proc = t + f.For
	case KindFreeze:
		f.For = dur
		b.proc = t + f.For
	case KindActor:
		f.Actor = Actors[p.roles[p.nactor%len(p.roles)]]
		p.nactor++
		f.Action = []string{"crash", "kill"}[rng.IntN(2)]
		f.Pick = rng.Uint32()
	case KindPartition:
		f.For = dur
		perm := rng.Perm(p.s.Nodes)
		f.Group = perm[:1+rng.IntN(p.s.Nodes-1)]
		slices.Sort(f.Group)
		p.markAlone(f, perm)
	case KindLink:
		f.For = dur
		perm := rng.Perm(p.s.Nodes)
		f.Node, f.Peer = perm[0], perm[1]
		f.DelayMs = 20 + rng.IntN(281)
		f.Loss = float64(rng.IntN(31)) / 100
	case KindStorage:
		f.For = dur
		b.storage = t + f.For
	case KindClock:
		f.For = dur
		f.SkewS = 5 + rng.IntN(MaxSkewSeconds-4)
		if rng.IntN(2) == 0 {
			f.SkewS = -f.SkewS
		}
		b.clock = t + f.For
	case KindDamage:
		f.For = dur
		f.Damage = Damages[rng.IntN(len(Damages))]
		f.Pick = rng.Uint32() // which live pages
		b.proc = t + f.For
	case KindFlood:
		f.For = dur
		b.flood = t + f.For
	case KindCrashLoop:
		f.For = dur
		b.proc = t + f.For
	}
}

// markAlone books the node a partition leaves on its own (a group of one, or a rest of one;
// perm is the permutation the group was cut from).
func (p *planner) markAlone(f *Fault, perm []int) {
	end := f.At + f.For
	switch {
	case len(f.Group) == 1:
		p.alone[f.Group[0]] = max(p.alone[f.Group[0]], end)
	case len(f.Group) == p.s.Nodes-1:
		rest := perm[len(f.Group)]
		p.alone[rest] = max(p.alone[rest], end)
	}
}

// connected keeps the candidates that some partition does not leave alone at t (all of them when
// every candidate is alone: the fault is then skipped at run time, as it would be anyway).
func connected(cands []int, alone []time.Duration, t time.Duration) []int {
	var ks []int
	for _, k := range cands {
		if alone[k] <= t {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return cands
	}
	return ks
}

// Step is one action of a run's timeline: the start of a fault, or the end of a lasting one.
type Step struct {
	At    time.Duration
	Fault int // index into the schedule
	End   bool
}

// Timeline orders the starts and ends of a schedule by time; at equal times ends come first (a
// link is healed before the next fault starts), then schedule order.
func Timeline(faults []Fault) []Step {
	var steps []Step
	for i, f := range faults {
		steps = append(steps, Step{At: f.At, Fault: i})
		if f.Ends() {
			steps = append(steps, Step{At: f.At + f.For, Fault: i, End: true})
		}
	}
	slices.SortStableFunc(steps, func(a, b Step) int {
		switch {
		case a.At != b.At:
			return cmp.Compare(a.At, b.At)
		case a.End != b.End:
			if a.End {
				return -1
			}
			return 1
		}
		return a.Fault - b.Fault
	})
	return steps
}
