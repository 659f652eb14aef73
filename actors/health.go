package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/actorchain/actorchain/api"
	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/errcode"
	"github.com/actorchain/actorchain/supervisor"
)

// Health (CONTRACT §9): GET /v1/health, "healthy" in GET /v1/status and actorchain_healthy. The
// verdict is a pure function (computeHealth) of what the node records: the restart times of
// each actor (supervisor.Tree.RestartTimes), the outcome of the storage commits (commitState,
// fed by the storage actor), the tree's state and the time. The actors only feed it; the API
// only reads it.

// ErrStorageUnavailable is returned for a transfer while storage commits fail: the node cannot
// make it durable. It wraps ErrUnavailable; the API maps it to 503 storage_unavailable.
var ErrStorageUnavailable = &errcode.Error{Code: errcode.StorageUnavailable, Reason: "storage commits are failing: " + ErrUnavailable.Reason, Err: ErrUnavailable}

// Health thresholds of CONTRACT §9: a vital actor restarted healthRestarts times or more within
// healthWindow makes the node unhealthy.
const (
	healthRestarts = 3
	healthWindow   = 60 * time.Second
)

// healthComponents are the actors GET /v1/health reports, in tree order; vitalActors are those
// whose health is the node's (the miner and the API are reported but never make the node
// unhealthy: a node whose miner gave up still serves and relays).
var (
	healthComponents = []string{nameStorage, nameConsensus, nameMempool, namePeers, nameMiner, nameAPI}
	vitalActors      = []string{nameStorage, nameConsensus, nameMempool, namePeers}
)

func isVital(name string) bool { return slices.Contains(vitalActors, name) }

// commitState is the outcome of the storage actor's latest commits: a pure value, the time is an
// argument. Since is when the current state began (the first failure of a run of failures, or
// the success that ended it; zero before any change).
type commitState struct {
	Failing bool
	Since   time.Time
	Err     string // the latest failure, as the store reported it ("connect block …: …")
}

// observe returns the state after one commit that ended with err at now (nil: it committed) and
// whether the state changed between failing and not.
func (s commitState) observe(err error, now time.Time) (commitState, bool) {
	switch {
	case err != nil && !s.Failing:
		return commitState{Failing: true, Since: now, Err: err.Error()}, true
	case err != nil:
		s.Err = err.Error()
		return s, false
	case s.Failing:
		return commitState{Since: now}, true
	}
	return s, false
}

// isCommitFailure reports whether a storage write's error means the database could not commit
// (an I/O error, a full disk, the injected fault), as opposed to an answer about the request
// itself: a block that breaks a rule, a block that no longer extends the tip, an unknown block,
// a main-chain block, or a store closed by a restart.
func isCommitFailure(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := chainstate.IsRuleError(err); ok {
		return false
	}
	var be *chainstate.BlockError
	switch {
	case errors.As(err, &be),
		errors.Is(err, chainstate.ErrNotTip), errors.Is(err, chainstate.ErrNotFound),
		errors.Is(err, chainstate.ErrMainChain), errors.Is(err, chainstate.ErrClosed):
		return false
	}
	return true
}

// actorHealthInput is what computeHealth needs of one actor.
type actorHealthInput struct {
	Name     string
	State    supervisor.State // "" when the actor is not in the tree (not started yet)
	Restarts []time.Time      // restart times, oldest first (Tree.RestartTimes)
}

// healthInput is everything the verdict depends on.
type healthInput struct {
	Now           time.Time
	Started       time.Time // the node's start: Since of a verdict that never changed
	Stopping      bool      // the tree is not running (the ordered stop began, or it ended)
	StoppingSince time.Time
	Storage       commitState
	Actors        []actorHealthInput
}

// condition is one reason a component may be unhealthy: active now or not, and since when (when
// it began if active, when it last ended if not; zero if it never changed).
type condition struct {
	active bool
	since  time.Time
	err    string
}

// computeHealth is the verdict of CONTRACT §9 at in.Now: the node is unhealthy when storage
// commits are failing, a vital actor restarted healthRestarts or more times in the last
// healthWindow, a vital actor is not running, or the tree is not running. Each component is
// unhealthy for its own reasons (the miner also while storage commits fail: it is paused); a
// component's Since is the start of the earliest active reason, or the end of the latest one.
func computeHealth(in healthInput) api.Health {
	h := api.Health{Healthy: !in.Stopping, Components: make([]api.HealthComponent, 0, len(in.Actors))}
	for _, a := range in.Actors {
		var conds []condition
		loop, recent := restartLoop(a.Restarts, in.Now, healthWindow, healthRestarts)
		if loop.active {
			loop.err = fmt.Sprintf("restarted %d times in the last %s", recent, healthWindow)
		}
		conds = append(conds, loop)
		switch {
		case in.Stopping:
			conds = append(conds, condition{active: true, since: in.StoppingSince, err: "the node is stopping"})
		case a.State == supervisor.StateStopped:
			conds = append(conds, condition{active: true, since: lastOr(a.Restarts, in.Started), err: "stopped: it restarted too often and was given up"})
		case a.State == "":
			conds = append(conds, condition{active: true, since: in.Started, err: "not started"})
		}
		st := in.Storage
		storageCond := condition{active: st.Failing, since: st.Since}
		switch {
		case a.Name == nameStorage && st.Failing:
			storageCond.err = "commits failing: " + st.Err
			conds = append(conds, storageCond)
		case a.Name == nameStorage:
			conds = append(conds, storageCond)
		case a.Name == nameMiner && st.Failing:
			storageCond.err = "paused: storage commits are failing"
			conds = append(conds, storageCond)
		case a.Name == nameMiner:
			conds = append(conds, storageCond)
		}
		c := combine(a.Name, conds, in.Started)
		c.RestartsRecent = recent
		if !c.Healthy && isVital(a.Name) {
			h.Healthy = false
		}
		h.Components = append(h.Components, c)
	}
	return h
}

// combine folds a component's conditions into its verdict.
func combine(name string, conds []condition, started time.Time) api.HealthComponent {
	c := api.HealthComponent{Name: name, Healthy: true, Since: started}
	var errs []string
	var first time.Time
	for _, k := range conds {
		if !k.active {
			continue
		}
		c.Healthy = false
		errs = append(errs, k.err)
		if first.IsZero() || k.since.Before(first) {
			first = k.since
		}
	}
	if !c.Healthy {
		c.Error = joinErrs(errs)
		if !first.IsZero() {
			c.Since = first
		}
		return c
	}
	for _, k := range conds {
		if k.since.After(c.Since) {
			c.Since = k.since
		}
	}
	return c
}

func joinErrs(errs []string) string {
	out := ""
	for i, e := range errs {
		if i > 0 {
			out += "; "
		}
		out += e
	}
	return out
}

func lastOr(ts []time.Time, def time.Time) time.Time {
	if len(ts) == 0 {
		return def
	}
	return ts[len(ts)-1]
}

// restartLoop tells whether limit or more of the restarts lie in the window before now (a
// restart at t counts while now-t < window), how many do, and since when that verdict holds:
// it replays the restarts (each counts from its time t until t+window) up to now and returns the
// time of the latest change of the verdict (zero if it never changed).
func restartLoop(times []time.Time, now time.Time, window time.Duration, limit int) (condition, int) {
	type event struct {
		at    time.Time
		delta int
	}
	events := make([]event, 0, 2*len(times))
	for _, t := range times {
		if t.After(now) {
			continue
		}
		events = append(events, event{t, +1})
		if end := t.Add(window); !end.After(now) {
			events = append(events, event{end, -1})
		}
	}
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	var c condition
	n := 0
	for i, e := range events {
		n += e.delta
		if i+1 < len(events) && events[i+1].at.Equal(e.at) {
			continue // the verdict at an instant counts every event of that instant
		}
		if on := n >= limit; on != c.active {
			c.active, c.since = on, e.at
		}
	}
	return c, n
}

// healthState is the node's record of what health depends on besides the tree: the storage
// commits' outcome and the ordered stop. Safe for concurrent use.
type healthState struct {
	mu            sync.Mutex
	started       time.Time
	commits       commitState
	stoppingSince time.Time
}

func (h *healthState) commitObserved(err error, now time.Time) (commitState, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, changed := h.commits.observe(err, now)
	h.commits = s
	return s, changed
}

func (h *healthState) storageFailing() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.commits.Failing, h.commits.Err
}

func (h *healthState) markStopping(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stoppingSince.IsZero() {
		h.stoppingSince = now
	}
}

// healthInput gathers the inputs of computeHealth at now.
func (n *Node) healthInput(now time.Time) healthInput {
	n.healthState.mu.Lock()
	in := healthInput{Now: now, Started: n.healthState.started, Storage: n.healthState.commits,
		StoppingSince: n.healthState.stoppingSince}
	n.healthState.mu.Unlock()
	root := n.tree.Snapshot()
	in.Stopping = n.stopping.Load() || root.State != supervisor.StateRunning
	if in.Stopping && in.StoppingSince.IsZero() {
		in.StoppingSince = in.Started
	}
	for _, name := range healthComponents {
		a := actorHealthInput{Name: name, Restarts: n.tree.RestartTimes(name)}
		for _, c := range root.Children {
			if c.Name == name {
				a.State = c.State
			}
		}
		in.Actors = append(in.Actors, a)
	}
	return in
}

// Health reports the node's health (GET /v1/health; CONTRACT §9).
func (n *Node) Health(ctx context.Context) (api.Health, error) {
	return computeHealth(n.healthInput(n.opts.Clock.Now())), nil
}

// Logger is the node's logger: the one given in Options, behind the rate limit of repeated
// warnings (logthrottle). Give it to the API handler so that its records are limited too.
func (n *Node) Logger() *slog.Logger { return n.log }

// Healthy is Health's verdict alone (GET /v1/status "healthy", actorchain_healthy).
func (n *Node) Healthy() bool {
	return computeHealth(n.healthInput(n.opts.Clock.Now())).Healthy
}

// storageUnavailable is the error a submitter gets while storage commits fail, naming the last
// failure.
func (n *Node) storageUnavailable() error {
	failing, last := n.healthState.storageFailing()
	if !failing {
		return nil
	}
	return fmt.Errorf("the node cannot store transfers now (%s): %w", last, ErrStorageUnavailable)
}

// commitError is what a mempool submitter gets when the commit holding its transfer failed.
func commitError(err error) error {
	if isCommitFailure(err) {
		return fmt.Errorf("mempool commit failed: %v: %w", err, ErrStorageUnavailable)
	}
	return unavailable(fmt.Errorf("mempool commit failed: %w", err))
}
