package actors

import (
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyMain(m) }
