// Command node runs an Actorchain node and talks to a running one.
//
//	node init | run | devnet | chaos | status | peers export|import|add|list | keys new|show | tx send | verify | version
//
// The commands are thin: they load the configuration (package config), start the actor tree
// (actors.Start) or talk to a running node over its HTTP API (api.Client); `chaos` wraps
// chaos.Run, making its homes with the devnet code. Exit codes: 0 success,
// 1 runtime failure, 2 bad usage or invalid config (the message names the key), 130 forced by a
// second signal. See README.md, docs/config.md, docs/api.md and docs/operations.md; the interface
// is fixed by CONTRACT §1.
package main
