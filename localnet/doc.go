// Package localnet is what the harnesses that run a network of node processes on one machine
// share (node chaos in package chaos, node netsim in package netsim): the link modes (one network
// namespace per node on a bridge, or loopback with the nodes' own link filter), the node
// processes (started in their own process group, watched by a goroutine the caller joins), and
// `node verify` on a home.
//
// # Concurrency
//
// Start's watcher goroutine is joined through the WaitGroup the caller passes; Netns is used from
// one goroutine at a time. Nothing here keeps state between calls but a Netns, which Close
// removes (idempotent).
package localnet
