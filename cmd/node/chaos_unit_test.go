package main

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestChaosOutcome(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name            string
		interrupted, ok bool
		err             error
		want            string // "" for no error
	}{
		{"clean", false, true, nil, ""},
		{"interrupted wins over an error", true, false, boom, "chaos: interrupted; every node it started is stopped and its namespaces removed"},
		{"error", false, true, boom, "chaos: boom"},
		{"error wins over a failed invariant", false, false, boom, "chaos: boom"},
		{"failed invariant", false, false, nil, "chaos: seed 7: an invariant failed (see the checks above)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := chaosOutcome(tc.interrupted, tc.ok, tc.err, 7)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.err != nil && !tc.interrupted && !errors.Is(err, tc.err) {
				t.Fatalf("error %v does not wrap %v", err, tc.err)
			}
		})
	}
}

func TestChaosJSONPath(t *testing.T) {
	tests := []struct {
		name, json string
		keep       bool
		want       string
	}{
		{"kept, no --json", "", true, filepath.Join("/d", "transcript.json")},
		{"not kept, no --json", "", false, ""},
		{"--json, kept", "/x.json", true, "/x.json"},
		{"--json, not kept", "/x.json", false, "/x.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chaosJSONPath(tc.json, tc.keep, "/d"); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
