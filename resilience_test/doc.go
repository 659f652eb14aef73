// Package resilience (directory resilience_test) holds whole-node tests: nodes run in this process (one actor system each)
// or as child processes of the test binary that the tests kill with SIGKILL. They cover the seed
// plan's scenarios (mempool across restarts, crash replay, reorgs), fault injection into every
// actor, the debug fault hooks (storage commit faults, clock skew, link cut/delay/loss), the stop
// order read from the event log, reopening a home after every kind of stop, a home in use, an
// in-process chaos run (chaos_test.go: a seeded fault schedule over three nodes under transfer
// load, then convergence and exactly-once checks; CHAOS_SEED=N replays a schedule,
// CHAOS_SEED=random draws one), and benchmarks of ingest, restart readiness and stop time. They
// poll with deadlines and assert from recorded events, never from timing.
package resilience
