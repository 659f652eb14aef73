// Package testchain builds chains for tests outside any node, on an in-memory ledger, in the
// manner of btcd's fullblocktests: a Builder mines blocks of given transfers on its tip, forks
// at any height and clones, so that a test can feed a running node a main chain, competing
// branches, reorgs at depth and invalid blocks, and know every account after each block.
//
// Only tests import it (resilience_test/TestImportDirection fails when a production package
// does). `node bench` mines its chains with perf's own small miner; both rest on
// powworker.MineBlock (the Builder on MineBlockAt with its own blocks as ancestors, so that it
// also builds chains that adjust their difficulty: each block gets the scheduled bits).
//
// # Usage
//
//	main := testchain.New(params)
//	main.Mine(t, sealer, nil)
//	alt := main.Fork(t, 0) // from genesis
//	alt.Mine(t, other, []*chainstate.Tx{tx})
//	alt.Mine(t, other, nil) // more work: a node fed both reorgs to alt
//
// Every method that can fail takes the test and fails it (t.Fatal) instead of returning an error.
package testchain
