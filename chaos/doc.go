// Package chaos runs a seeded, replayable fault schedule against a local network of node
// processes and checks that nothing acknowledged was lost and that the network healed.
//
// The package has three layers, each usable on its own:
//
//   - Plan (schedule.go): the fault schedule as a pure function of a seed and Settings. The same
//     seed and settings always give the same []Fault; nothing in it reads a clock.
//   - Links (links.go) and the checks (checks.go): pure functions over data, the effective link
//     table of a set of active faults and the invariants over what a run collected.
//   - Run (run.go): the runner. It sets up the links (network namespaces with tc netem, or the
//     nodes' own link filter), starts one `node run` child process per home, drives transfer load
//     through the API, applies the schedule, heals everything and checks the invariants, writing
//     a transcript as text and JSON.
//
// # Usage
//
// The command `node chaos` (cmd/node) is a thin wrapper of Run; docs/chaos.md describes the
// flags, the transcript and how to replay a seed.
//
// # Concurrency
//
// Run owns every goroutine it starts (one watcher per child process, one per sender) and joins
// them before it returns. Cancelling Run's context stops the schedule, kills every child process
// it started and removes every namespace, bridge and veth it created, then returns.
//
// # Shutdown
//
// Whatever happens (success, a failed invariant, an error, a cancelled context) Run returns only
// after every child process it started has exited and every network namespace it created has
// been deleted.
package chaos
