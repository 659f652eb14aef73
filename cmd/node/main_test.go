package main

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (nodes run in-process by `run` and
// `devnet` must stop completely).
func TestMain(m *testing.M) {
	flag.Parse()
	if v := os.Getenv("RAPID_CHECKS"); v != "" {
		_ = flag.Set("rapid.checks", v)
	}
	goleak.VerifyTestMain(m)
}
