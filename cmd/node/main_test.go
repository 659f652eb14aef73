package main

import (
	"os"
	"testing"

	"github.com/actorchain/actorchain/internal/testutil"
)

// asNodeEnv makes the test binary run as the node command itself (its arguments are a node
// command line), so that `node chaos` run in a test can start its node processes from
// os.Executable().
const asNodeEnv = "NODE_TEST_AS_NODE"

// TestMain checks that no test leaves a goroutine behind (nodes run in-process by `run` and
// `devnet` must stop completely).
func TestMain(m *testing.M) {
	if os.Getenv(asNodeEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	testutil.VerifyMain(m)
}
