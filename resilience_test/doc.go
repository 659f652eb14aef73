// Package resilience (directory resilience_test) holds whole-node tests: nodes run in this process (one actor system each)
// or as child processes of the test binary that the tests kill with SIGKILL. They cover the seed
// plan's scenarios (mempool across restarts, crash replay, reorgs), fault injection into every
// actor, the stop order read from the event log, reopening a home after every kind of stop, a home
// in use, and benchmarks of ingest, restart readiness and stop time. They poll with deadlines and
// assert from recorded events, never from timing.
package resilience
