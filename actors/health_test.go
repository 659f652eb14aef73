package actors

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/actorchain/actorchain/chainstate"
	"github.com/actorchain/actorchain/supervisor"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sec(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func secs(ss ...float64) []time.Time {
	out := make([]time.Time, len(ss))
	for i, s := range ss {
		out[i] = sec(s)
	}
	return out
}

func TestCommitStateObserve(t *testing.T) {
	fault := errors.New("connect block ab: injected storage fault")
	var s commitState
	steps := []struct {
		err         error
		at          float64
		wantFailing bool
		wantSince   float64
		wantChanged bool
	}{
		{nil, 1, false, -1, false}, // success while healthy: nothing changes (Since stays zero)
		{fault, 2, true, 2, true},
		{fault, 3, true, 2, false}, // still failing since the first failure
		{nil, 4, false, 4, true},   // recovered at 4
		{nil, 5, false, 4, false},
		{fault, 6, true, 6, true},
	}
	for i, st := range steps {
		var changed bool
		s, changed = s.observe(st.err, sec(st.at))
		wantSince := time.Time{}
		if st.wantSince >= 0 {
			wantSince = sec(st.wantSince)
		}
		if s.Failing != st.wantFailing || !s.Since.Equal(wantSince) || changed != st.wantChanged {
			t.Fatalf("step %d: %+v changed %v, want failing %v since %v changed %v", i, s, changed, st.wantFailing, wantSince, st.wantChanged)
		}
		if s.Failing && s.Err != fault.Error() {
			t.Fatalf("step %d: Err %q, want the store's error", i, s.Err)
		}
	}
}

func TestIsCommitFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ErrInjectedStorageFault, true},
		{fmt.Errorf("connect block 00: %w", ErrInjectedStorageFault), true},
		{errors.New("write /db: no space left on device"), true},
		{&chainstate.RuleError{Code: chainstate.CodeBadNonce, Reason: "nonce"}, false},
		{fmt.Errorf("connect: %w", chainstate.ErrNotTip), false},
		{fmt.Errorf("mark invalid: %w", chainstate.ErrNotFound), false},
		{fmt.Errorf("mark invalid: %w", chainstate.ErrMainChain), false},
		{fmt.Errorf("put: %w", chainstate.ErrClosed), false},
	} {
		if got := isCommitFailure(tc.err); got != tc.want {
			t.Errorf("isCommitFailure(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestRestartLoop(t *testing.T) {
	for _, tc := range []struct {
		name       string
		times      []time.Time
		now        float64
		wantActive bool
		wantSince  float64 // -1: zero
		wantCount  int
	}{
		{"none", nil, 100, false, -1, 0},
		{"two", secs(0, 10), 20, false, -1, 2},
		{"three within a minute", secs(0, 10, 20), 25, true, 20, 3},
		{"the third restart at the instant", secs(0, 10, 20), 20, true, 20, 3},
		{"the first left the window", secs(0, 10, 20), 60, false, 60, 2},
		{"just before it leaves", secs(0, 10, 20), 59.999, true, 20, 3},
		{"four, unhealthy since the third", secs(0, 10, 20, 30), 35, true, 20, 4},
		{"a crash every 3 s", secs(0, 3, 6, 9), 10, true, 6, 4},
		{"slow: one every 30 s never three", secs(0, 30, 60, 90, 120), 125, false, -1, 2},
		{"leaving and entering at one instant keep it on", secs(0, 30, 50, 60), 61, true, 50, 3},
		{"healthy again after a burst", secs(0, 1, 2), 200, false, 60, 0},
		{"future restarts ignored", secs(0, 1, 300), 10, false, -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, n := restartLoop(tc.times, sec(tc.now), healthWindow, healthRestarts)
			want := time.Time{}
			if tc.wantSince >= 0 {
				want = sec(tc.wantSince)
			}
			if c.active != tc.wantActive || !c.since.Equal(want) || n != tc.wantCount {
				t.Fatalf("restartLoop = %+v, %d; want active %v since %v, %d", c, n, tc.wantActive, want, tc.wantCount)
			}
		})
	}
}

// TestRestartLoopModel checks restartLoop against a brute-force count at every instant.
func TestRestartLoopModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var times []time.Time
		at := 0
		for i := rapid.IntRange(0, 8).Draw(t, "n"); i > 0; i-- {
			at += rapid.IntRange(0, 40).Draw(t, "gap_s")
			times = append(times, sec(float64(at)))
		}
		now := rapid.IntRange(0, at+120).Draw(t, "now_s")
		count := func(x int) int { // restarts in (x-60, x]
			n := 0
			for _, r := range times {
				d := sec(float64(x)).Sub(r)
				if d >= 0 && d < healthWindow {
					n++
				}
			}
			return n
		}
		c, n := restartLoop(times, sec(float64(now)), healthWindow, healthRestarts)
		if n != count(now) {
			t.Fatalf("count %d, want %d", n, count(now))
		}
		if c.active != (count(now) >= healthRestarts) {
			t.Fatalf("active %v with %d restarts in the window", c.active, count(now))
		}
		// since is the latest whole second at which the verdict changed (every time here is a
		// whole second, so the brute force steps by seconds).
		var want time.Time
		for x := 0; x <= now; x++ {
			if (count(x) >= healthRestarts) != (x > 0 && count(x-1) >= healthRestarts) {
				if x > 0 || count(0) >= healthRestarts {
					want = sec(float64(x))
				}
			}
		}
		if !c.since.Equal(want) {
			t.Fatalf("since %v, want %v (times %v, now %d)", c.since, want, times, now)
		}
	})
}

func healthyActors() []actorHealthInput {
	var out []actorHealthInput
	for _, n := range healthComponents {
		out = append(out, actorHealthInput{Name: n, State: supervisor.StateRunning})
	}
	return out
}

func withActor(as []actorHealthInput, name string, f func(a *actorHealthInput)) []actorHealthInput {
	for i := range as {
		if as[i].Name == name {
			f(&as[i])
		}
	}
	return as
}

func TestComputeHealth(t *testing.T) {
	started := sec(0)
	failing := commitState{Failing: true, Since: sec(50), Err: "connect block ab: injected storage fault"}
	tests := []struct {
		name        string
		in          healthInput
		wantHealthy bool
		// per component: "" healthy, else a piece of its error
		wantErr      map[string]string
		wantSince    map[string]float64
		wantRestarts map[string]int
	}{
		{"all well", healthInput{Now: sec(100), Started: started, Actors: healthyActors()}, true,
			nil, map[string]float64{"storage": 0, "miner": 0}, nil},
		{"storage commits failing", healthInput{Now: sec(100), Started: started, Storage: failing, Actors: healthyActors()}, false,
			map[string]string{"storage": "injected storage fault", "miner": "paused"}, map[string]float64{"storage": 50, "miner": 50, "consensus": 0}, nil},
		{"storage recovered", healthInput{Now: sec(100), Started: started, Storage: commitState{Since: sec(70)}, Actors: healthyActors()}, true,
			nil, map[string]float64{"storage": 70, "miner": 70, "mempool": 0}, nil},
		{"consensus restarted three times in a minute", healthInput{Now: sec(100), Started: started,
			Actors: withActor(healthyActors(), "consensus", func(a *actorHealthInput) { a.Restarts = secs(60, 80, 95) })}, false,
			map[string]string{"consensus": "restarted 3 times"}, map[string]float64{"consensus": 95}, map[string]int{"consensus": 3, "storage": 0}},
		{"two restarts are not a loop", healthInput{Now: sec(100), Started: started,
			Actors: withActor(healthyActors(), "mempool", func(a *actorHealthInput) { a.Restarts = secs(80, 95) })}, true,
			nil, nil, map[string]int{"mempool": 2}},
		{"old restarts forgotten", healthInput{Now: sec(200), Started: started,
			Actors: withActor(healthyActors(), "peers", func(a *actorHealthInput) { a.Restarts = secs(10, 20, 30) })}, true,
			nil, map[string]float64{"peers": 70}, map[string]int{"peers": 0}},
		{"a miner crash loop is the miner's, not the node's", healthInput{Now: sec(100), Started: started,
			Actors: withActor(healthyActors(), "miner", func(a *actorHealthInput) { a.Restarts = secs(90, 91, 92) })}, true,
			map[string]string{"miner": "restarted 3 times"}, nil, map[string]int{"miner": 3}},
		{"a given-up vital actor", healthInput{Now: sec(100), Started: started,
			Actors: withActor(healthyActors(), "consensus", func(a *actorHealthInput) { a.State = supervisor.StateStopped; a.Restarts = secs(5) })}, false,
			map[string]string{"consensus": "stopped"}, map[string]float64{"consensus": 5}, nil},
		{"a restarting actor is not unhealthy by itself", healthInput{Now: sec(100), Started: started,
			Actors: withActor(healthyActors(), "storage", func(a *actorHealthInput) { a.State = supervisor.StateRestarting; a.Restarts = secs(99) })}, true,
			nil, nil, map[string]int{"storage": 1}},
		{"the tree is not running", healthInput{Now: sec(100), Started: started, Stopping: true, StoppingSince: sec(98), Actors: healthyActors()}, false,
			map[string]string{"storage": "stopping", "consensus": "stopping", "mempool": "stopping", "peers": "stopping", "miner": "stopping", "api": "stopping"},
			map[string]float64{"storage": 98}, nil},
		{"not started yet", healthInput{Now: sec(1), Started: started,
			Actors: withActor(healthyActors(), "api", func(a *actorHealthInput) { a.State = "" })}, true,
			map[string]string{"api": "not started"}, nil, nil},
		{"two reasons at once, since the earliest", healthInput{Now: sec(100), Started: started, Storage: failing,
			Actors: withActor(healthyActors(), "storage", func(a *actorHealthInput) { a.Restarts = secs(45, 48, 49) })}, false,
			map[string]string{"storage": "restarted 3 times in the last 1m0s; commits failing", "miner": "paused"}, map[string]float64{"storage": 49}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := computeHealth(tt.in)
			if h.Healthy != tt.wantHealthy {
				t.Fatalf("Healthy %v, want %v: %+v", h.Healthy, tt.wantHealthy, h)
			}
			if len(h.Components) != len(healthComponents) {
				t.Fatalf("%d components, want %d", len(h.Components), len(healthComponents))
			}
			for i, c := range h.Components {
				if c.Name != healthComponents[i] {
					t.Fatalf("component %d is %q, want %q", i, c.Name, healthComponents[i])
				}
				want := tt.wantErr[c.Name]
				if c.Healthy != (want == "") || (want != "" && !strings.Contains(c.Error, want)) || (want == "" && c.Error != "") {
					t.Errorf("%s: healthy %v error %q, want error containing %q", c.Name, c.Healthy, c.Error, want)
				}
				if s, ok := tt.wantSince[c.Name]; ok && !c.Since.Equal(sec(s)) {
					t.Errorf("%s: since %v, want %v", c.Name, c.Since, sec(s))
				}
				if r, ok := tt.wantRestarts[c.Name]; ok && c.RestartsRecent != r {
					t.Errorf("%s: restarts_recent %d, want %d", c.Name, c.RestartsRecent, r)
				}
			}
		})
	}
}
