package supervisor

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// State is the lifecycle state of an actor in the Tree.
type State string

// The states of CONTRACT §3 GET /v1/actors.
const (
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateStopped    State = "stopped"
)

// Node is one actor in a Snapshot of the Tree; its JSON is the format of GET /v1/actors. Name is
// the full name ("node", "storage", "miner/worker-0"), which is also what Kill and CrashActor
// take. Children are in start order and never nil.
type Node struct {
	Name     string `json:"name"`
	State    State  `json:"state"`
	Restarts int    `json:"restarts"`
	Children []Node `json:"children"`
}

// Tree is the live supervision tree of one node, shared by every Group of that node and safe for
// concurrent use. Groups register their children in it and the lifecycle middleware keeps their
// states current; readers take deep copies (Snapshot) or look up PIDs by full name.
//
// Entries are keyed by full name, so a child's restart count survives its restarts and
// replacements, and also its parent's restarts (the new parent instance re-spawns its children
// into the same entries). Entries of stopped children stay in the tree with state "stopped",
// except Temporary children, which leave it when they end.
type Tree struct {
	mu     sync.Mutex
	root   *entry            // guarded by mu
	byName map[string]*entry // full name -> entry, root excluded; guarded by mu
	gen    uint64            // last spawn generation handed out; guarded by mu
}

// entry is one actor of the tree. All fields are guarded by Tree.mu.
type entry struct {
	name     string // full name
	state    State
	restarts int
	pid      *actor.PID
	parent   *entry
	children []*entry

	gen       uint64      // the spawn (props instance) that owns the entry now
	recent    []time.Time // times of the latest restarts, oldest first, at most maxRecentRestarts
	cause     string      // restart cause the next Started logs: "panic", "kill" or "" (plain start)
	temporary bool        // leaves the tree when it stops
	fault     bool        // its props carry the fault-injection middleware
	group     bool        // a live Group has this actor as its parent (it handles orderedStop)
}

// NewTree returns a tree whose root is named rootName (e.g. "node"); the root starts stopped
// until SetRoot registers it.
func NewTree(rootName string) *Tree {
	return &Tree{
		root:   &entry{name: rootName, state: StateStopped},
		byName: make(map[string]*entry),
	}
}

// RootName returns the name of the root.
func (t *Tree) RootName() string { return t.root.name }

// SetRoot registers the root actor's PID and state. The root actor calls it from its own
// Started (StateRunning) and Stopped (StateStopped) handlers.
func (t *Tree) SetRoot(pid *actor.PID, state State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.root.pid = pid
	t.root.state = state
}

// Snapshot returns a deep copy of the whole tree.
func (t *Tree) Snapshot() Node {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.root.node()
}

// Lookup returns a deep copy of the subtree of the actor with the given full name (the root's
// name for the root).
func (t *Tree) Lookup(name string) (Node, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.lookupLocked(name)
	if e == nil {
		return Node{}, false
	}
	return e.node(), true
}

// PID returns the current PID of a live (running or restarting) actor by full name; the root's
// name gives the root. It returns false for unknown and stopped actors.
func (t *Tree) PID(name string) (*actor.PID, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.lookupLocked(name)
	if e == nil || e.pid == nil || e.state == StateStopped {
		return nil, false
	}
	return e.pid, true
}

func (e *entry) node() Node {
	n := Node{Name: e.name, State: e.state, Restarts: e.restarts, Children: make([]Node, 0, len(e.children))}
	for _, c := range e.children {
		n.Children = append(n.Children, c.node())
	}
	return n
}

func (t *Tree) lookupLocked(name string) *entry {
	if name == t.root.name {
		return t.root
	}
	return t.byName[name]
}

// ensureLocked returns the entry of path ("" is the root), creating missing ancestors as running
// placeholders (a group whose parent was never registered still shows up in Snapshot).
func (t *Tree) ensureLocked(path string) *entry {
	if path == "" || path == t.root.name {
		return t.root
	}
	if e := t.byName[path]; e != nil {
		return e
	}
	parentPath := ""
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		parentPath = path[:i]
	}
	parent := t.ensureLocked(parentPath)
	e := &entry{name: path, state: StateRunning, parent: parent}
	parent.children = append(parent.children, e)
	t.byName[path] = e
	return e
}

// maxRecentRestarts bounds the restart times an entry keeps (RestartTimes).
const maxRecentRestarts = 64

// RestartTimes returns the times of the latest restarts (and replacements) of the actor with the
// given full name, oldest first: at most the last 64, as the group's clock gave them. Health
// checks count them over their own window. nil for an unknown name or one never restarted.
func (t *Tree) RestartTimes(name string) []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.lookupLocked(name)
	if e == nil {
		return nil
	}
	return slices.Clone(e.recent)
}

func (e *entry) noteRestart(now time.Time) {
	if len(e.recent) == maxRecentRestarts {
		e.recent = append(e.recent[:0], e.recent[1:]...)
	}
	e.recent = append(e.recent, now)
}

// prepare registers (or takes over) the entry of a child about to be spawned as generation gen.
// A non-empty cause marks a replacement at now: restarts++, state restarting, and the next
// Started logs "actor restarted". It reports whether the entry was created.
func (t *Tree) prepare(path, full string, gen uint64, temporary, fault bool, cause string, now time.Time) (created bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byName[full]
	if e == nil {
		parent := t.ensureLocked(path)
		e = &entry{name: full, parent: parent}
		parent.children = append(parent.children, e)
		t.byName[full] = e
		created = true
	}
	e.gen, e.temporary, e.fault, e.pid = gen, temporary, fault, nil
	e.group = false
	if cause != "" {
		e.restarts++
		e.noteRestart(now)
		e.state, e.cause = StateRestarting, cause
	} else {
		e.state, e.cause = StateRunning, ""
	}
	return created
}

// abandon undoes prepare after a failed spawn.
func (t *Tree) abandon(full string, gen uint64, created bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byName[full]
	if e == nil || e.gen != gen {
		return
	}
	if created {
		t.removeLocked(e)
		return
	}
	e.state, e.pid, e.cause = StateStopped, nil, ""
}

func (t *Tree) nextGen() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	return t.gen
}

func (t *Tree) setPID(full string, gen uint64, pid *actor.PID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byName[full]; e != nil && e.gen == gen {
		e.pid = pid
	}
}

// started marks the entry running and returns (and clears) the pending restart cause.
func (t *Tree) started(full string, gen uint64, pid *actor.PID) (cause string, restarts int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byName[full]
	if e == nil || e.gen != gen {
		return "", 0
	}
	cause, e.cause = e.cause, ""
	e.state, e.pid = StateRunning, pid
	return cause, e.restarts
}

// restartStarted records a restart after a panic at now: restarts++, state restarting, and the
// next Started logs "actor restarted" with cause.
func (t *Tree) restartStarted(full string, gen uint64, cause string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byName[full]; e != nil && e.gen == gen {
		e.restarts++
		e.noteRestart(now)
		e.state, e.cause = StateRestarting, cause
	}
}

// restarting marks the entry restarting when its actor gets *actor.Restarting. A restart that the
// group did not record (another strategy) still logs "actor restarted" with cause panic.
func (t *Tree) restarting(full string, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.byName[full]; e != nil && e.gen == gen {
		e.state = StateRestarting
		e.group = false
		if e.cause == "" {
			e.cause = causePanic
		}
	}
}

// stopped marks the entry stopped, or removes it for a Temporary child.
func (t *Tree) stopped(full string, gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byName[full]
	if e == nil || e.gen != gen {
		return
	}
	if e.temporary {
		t.removeLocked(e)
		return
	}
	e.state, e.pid, e.cause, e.group = StateStopped, nil, "", false
}

func (t *Tree) removeLocked(e *entry) {
	var drop func(e *entry)
	drop = func(e *entry) {
		delete(t.byName, e.name)
		for _, c := range e.children {
			drop(c)
		}
	}
	drop(e)
	if p := e.parent; p != nil {
		for i, c := range p.children {
			if c == e {
				p.children = append(p.children[:i:i], p.children[i+1:]...)
				break
			}
		}
	}
}

// setGroup records whether a live Group has the actor named path ("" for the root) as its
// parent.
func (t *Tree) setGroup(path string, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if path == "" {
		path = t.root.name
	}
	if e := t.lookupLocked(path); e != nil {
		e.group = on
	}
}

func (t *Tree) hasGroup(path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.lookupLocked(path)
	return e != nil && e.group
}

// target resolves a name for Kill and CrashActor.
func (t *Tree) target(name string) (pid *actor.PID, fault bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if name == t.root.name {
		return nil, false, ErrRootActor
	}
	e := t.byName[name]
	if e == nil {
		return nil, false, ErrUnknownActor
	}
	if e.pid == nil || e.state == StateStopped {
		return nil, false, ErrNotRunning
	}
	return e.pid, e.fault, nil
}
