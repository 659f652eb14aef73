package localnet

import (
	"os"
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// TestMain checks with goleak (testutil.VerifyMain) that no test leaves a goroutine behind. A test binary started with
// LOCALNET_TEST_HELPER set is not a test run but a small network helper that netns_test.go runs
// inside a namespace.
func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(runHelper(h))
	}
	testutil.VerifyMain(m)
}
