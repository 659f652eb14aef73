//go:build race

package resilience_test

// raceEnabled: this test binary (and so every child node it starts) runs with the race detector,
// which slows a node several times; timing goals are logged, not asserted, in this mode.
const raceEnabled = true
