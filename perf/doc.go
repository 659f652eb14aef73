// Package perf is the benchmark harness behind `node bench` and the Go benchmarks of
// resilience_test: it measures every figure of the performance table (hash rate, durable ingest,
// block import, sync, ready after restart, SIGTERM to exit, block hop, resident memory, bytes on
// the wire, and how import and sync scale with transfers and peers) next to the limit it is
// measured against in the same run (bare double SHA-256, bare ed25519 verification on all cores,
// a fresh home, the encoded transfer size), with their ratio and the goal.
//
// # Usage
//
//	results, err := perf.Run(ctx, perf.Options{Sizes: perf.Quick, Only: []string{"import"}})
//	perf.WriteTable(os.Stdout, results)
//
// Nodes run in this process on loopback (one actor system each) under a temporary directory;
// the figures that need a process of their own (resident memory, SIGTERM to exit) start a child
// node process through Options.Child, `node run` of this executable by default.
//
// # Concurrency
//
// Run runs the measurements one after another; each owns the goroutines it starts (load
// generators, the byte-counting proxy) and joins them before it returns.
//
// # Shutdown
//
// Run stops every node and child process it started and removes its directory before returning,
// also on an error; cancelling its context tears everything down at once.
//
// No figure is asserted anywhere: the tests check that a run produces well-formed rows whose
// ratio is computed from the two measured numbers, never a timing.
package perf
