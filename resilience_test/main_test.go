package resilience_test

import (
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind. A test binary started with
// RESILIENCE_CHILD_HOME set is not a test run but a node process (see child_test.go), which the
// crash tests kill with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv(childHomeEnv) != "" {
		os.Exit(runChild())
	}
	flag.Parse()
	if v := os.Getenv("RAPID_CHECKS"); v != "" {
		_ = flag.Set("rapid.checks", v)
	}
	goleak.VerifyTestMain(m)
}
