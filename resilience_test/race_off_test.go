//go:build !race

package resilience_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
