package compact

import (
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// TestMain checks with goleak (testutil.VerifyMain) that no test leaves a goroutine behind.
func TestMain(m *testing.M) { testutil.VerifyMain(m) }
