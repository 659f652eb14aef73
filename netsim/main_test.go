package netsim

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) {
	flag.Parse()
	if v := os.Getenv("RAPID_CHECKS"); v != "" {
		_ = flag.Set("rapid.checks", v)
	}
	goleak.VerifyTestMain(m)
}
