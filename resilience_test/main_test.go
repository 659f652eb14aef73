package resilience_test

import (
	"os"
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// TestMain checks that no test leaves a goroutine behind. A test binary started with
// RESILIENCE_CHILD_HOME set is not a test run but a node process (see child_test.go), which the
// crash tests kill with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv(childHomeEnv) != "" {
		os.Exit(runChild())
	}
	testutil.VerifyMain(m)
}
